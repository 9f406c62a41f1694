/*
 * src/cdc/journal.c — the change journal: segment files of checksummed frames.
 *
 * A frame is: u32 payload length | u64 LSN | u8 kind | payload | u32 CRC-32C
 * (of everything before it), integers big-endian. Segments are
 * cdc/NNNNNNNNNN.journal, numbered from 1, rotated at transaction boundaries.
 * The writer appends and fsyncs; on open it cuts a torn tail (an incomplete
 * frame or a bad checksum at the end of the last segment) so a crash never
 * leaves garbage for the reader. The reader follows the files as they grow.
 *
 * The journal stores plugin messages but never reads them: the receiver
 * marks the frame that ends a transaction (JF_COMMIT, whose LSN is the end
 * of the commit), and a keepalive (JF_KEEPALIVE) is a boundary too. Those
 * two kinds alone decide where the torn tail is cut on open, how far the
 * journal goes (last_commit_end) and where journal_peek_commit stops.
 *
 * Every segment starts with a JF_HEADER frame holding the format version
 * ("pgshift-journal 2"). Segments written by earlier versions (no header,
 * no JF_COMMIT marks: their commits can only be found by parsing payloads)
 * are refused with an error saying so, by the writer and by the reader,
 * rather than read wrongly.
 */
#include "cdc/cdc.h"
#include "cdc/decode_stream.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FRAME_HEAD     13
#define FRAME_TAIL     4
#define SEGMENT_MAX    (64LL * 1024 * 1024)
#define JOURNAL_HEADER "pgshift-journal 2"

/*
 * Size at which the writer moves to a new segment: 64 MB, or
 * PGSHIFT_JOURNAL_SEGMENT_SIZE bytes (at least 64 kB; the tests use small
 * segments to rotate often).
 */
static int64_t
segment_max(void)
{
	const char *v = getenv("PGSHIFT_JOURNAL_SEGMENT_SIZE");
	if (v == NULL || *v == '\0')
	{
		return SEGMENT_MAX;
	}
	char *end;
	long long n = strtoll(v, &end, 10);
	if (*end != '\0' || n < 65536)
	{
		log_warn("PGSHIFT_JOURNAL_SEGMENT_SIZE=%s ignored: a size in bytes, at least 65536", v);
		return SEGMENT_MAX;
	}
	return n;
}
#define MAX_FRAME (1U << 30)

static uint32_t g_crc_table[8][256];
static atomic_int g_crc_ready = 0;

static void
crc_init(void)
{
	if (atomic_load(&g_crc_ready))
	{
		return;
	}
	for (uint32_t i = 0; i < 256; i++)
	{
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
		{
			c = c & 1 ? (c >> 1) ^ 0x82F63B78U : c >> 1;
		}
		g_crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
	{
		for (int t = 1; t < 8; t++)
		{
			g_crc_table[t][i] =
				(g_crc_table[t - 1][i] >> 8) ^ g_crc_table[0][g_crc_table[t - 1][i] & 0xFF];
		}
	}
	atomic_store(&g_crc_ready, 1);
}

static uint32_t
crc32c(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	crc = ~crc;
	while (len >= 8)
	{
		uint32_t lo = crc ^ ((uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
							 (uint32_t) p[3] << 24);
		crc = g_crc_table[7][lo & 0xFF] ^ g_crc_table[6][(lo >> 8) & 0xFF] ^
			  g_crc_table[5][(lo >> 16) & 0xFF] ^ g_crc_table[4][lo >> 24] ^ g_crc_table[3][p[4]] ^
			  g_crc_table[2][p[5]] ^ g_crc_table[1][p[6]] ^ g_crc_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
	{
		crc = g_crc_table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	}
	return ~crc;
}

static void
put32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char) (v >> 24);
	b[1] = (unsigned char) (v >> 16);
	b[2] = (unsigned char) (v >> 8);
	b[3] = (unsigned char) v;
}

static uint32_t
get32(const unsigned char *b)
{
	return (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 | (uint32_t) b[2] << 8 | b[3];
}

static char *
segment_path(const char *dir, uint32_t segno)
{
	return xasprintf("%s/%010u.journal", dir, segno);
}

/* Lowest and highest segment numbers present (0 when none). */
static void
segment_range(const char *dir, uint32_t *lo, uint32_t *hi)
{
	*lo = *hi = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
	{
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
	{
		size_t n = strlen(de->d_name);
		if (n != 18 || strcmp(de->d_name + 10, ".journal") != 0)
		{
			continue;
		}
		uint32_t s = (uint32_t) strtoul(de->d_name, NULL, 10);
		if (s == 0)
		{
			continue;
		}
		if (*lo == 0 || s < *lo)
		{
			*lo = s;
		}
		if (s > *hi)
		{
			*hi = s;
		}
	}
	closedir(d);
}

static bool
read_full(int fd, void *buf, size_t len, int64_t off)
{
	size_t got = 0;
	while (got < len)
	{
		ssize_t n = pread(fd, (char *) buf + got, len - got, (off_t) (off + (int64_t) got));
		if (n <= 0)
		{
			if (n < 0 && errno == EINTR)
			{
				continue;
			}
			return false;
		}
		got += (size_t) n;
	}
	return true;
}

/* A segment that does not start with our header: written by an earlier version. */
static void
legacy_segment_error(const char *dir, uint32_t segno)
{
	log_error("journal segment %s/%010u.journal was written by an earlier version of pgshift", dir,
			  segno);
	log_detail(LOG_LEVEL_ERROR, "Its frames do not mark where transactions end, which this "
								"version needs to read it.");
	log_hint(LOG_LEVEL_ERROR,
			 "Apply it with the version that wrote it (follow --resume with --endpos), or "
			 "start over with a new slot (stream cleanup, then clone --follow).");
}

/*
 * Scans a segment; returns the offset after its last valid frame, -1 for a
 * segment of an earlier version. *boundary: the offset after the last
 * transaction boundary (header, commit, keepalive).
 */
static int64_t
segment_scan(int fd, Lsn *last_lsn, Lsn *last_commit_end, int64_t *boundary)
{
	int64_t off = 0;
	*boundary = 0;
	unsigned char head[FRAME_HEAD];
	char *buf = NULL;
	uint32_t cap = 0;
	for (;;)
	{
		if (!read_full(fd, head, FRAME_HEAD, off))
		{
			break;
		}
		uint32_t len = get32(head);
		if (len > MAX_FRAME)
		{
			break;
		}
		if (len + FRAME_TAIL > cap)
		{
			cap = len + FRAME_TAIL;
			buf = xrealloc(buf, cap);
		}
		if (!read_full(fd, buf, len + FRAME_TAIL, off + FRAME_HEAD))
		{
			break;
		}
		uint32_t crc = crc32c(crc32c(0, head, FRAME_HEAD), buf, len);
		if (crc != get32((unsigned char *) buf + len))
		{
			break;
		}
		Lsn lsn = (Lsn) get32(head + 4) << 32 | get32(head + 8);
		char kind = (char) head[12];
		if (off == 0 && kind != JF_HEADER)
		{
			free(buf);
			return -1;
		}
		off += FRAME_HEAD + len + FRAME_TAIL;
		if (kind == JF_HEADER)
		{
			*boundary = off;
			continue;
		}
		*last_lsn = lsn;
		if (kind == JF_COMMIT || kind == JF_KEEPALIVE)
		{
			*last_commit_end = lsn > *last_commit_end ? lsn : *last_commit_end;
			*boundary = off;
		}
	}
	free(buf);
	return off;
}

/* Writes the header frame of a new (empty) segment. */
static bool
write_header(JournalWriter *w)
{
	if (!journal_write(w, JF_HEADER, LSN_INVALID, JOURNAL_HEADER, sizeof(JOURNAL_HEADER) - 1))
	{
		return false;
	}
	w->seg_header = w->seg_bytes;
	return true;
}

/*
 * Opens the last segment for appending after its last complete transaction
 * (a partial one is sent again by the source: cut off).
 */
static bool
writer_open_last(JournalWriter *w, const char *path, int fd, int64_t boundary)
{
	struct stat st;
	fstat(fd, &st);
	int64_t good = boundary;
	if (st.st_size > good)
	{
		log_warn("journal segment \"%s\": cutting %lld bytes after offset %lld (a "
				 "transaction not completely received when the previous run stopped); "
				 "it will be received again",
				 path, (long long) (st.st_size - good), (long long) good);
		if (ftruncate(fd, good) != 0)
		{
			log_error("could not truncate \"%s\": %s", path, strerror(errno));
			return false;
		}
		fsync(fd);
	}
	if (lseek(fd, good, SEEK_SET) < 0)
	{
		log_error("could not seek in \"%s\": %s", path, strerror(errno));
		return false;
	}
	w->fd = fd;
	w->seg_bytes = good;
	return good > 0 || write_header(w);
}

bool
journal_writer_open(JournalWriter *w, const char *dir, Lsn *last_lsn, Lsn *last_commit_end)
{
	crc_init();
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->dir = xstrdup(dir);
	w->segment_max = segment_max();
	*last_lsn = *last_commit_end = LSN_INVALID;
	if (!file_mkdir_p(dir, 0700))
	{
		return false;
	}
	uint32_t lo, hi;
	segment_range(dir, &lo, &hi);
	w->segno = hi ? hi : 1;
	/* positions: scan every segment (cheap: applied ones are pruned) */
	for (uint32_t s = lo ? lo : 1; s <= w->segno; s++)
	{
		char *path = segment_path(dir, s);
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
		{
			log_error("could not open journal segment \"%s\": %s", path, strerror(errno));
			free(path);
			return false;
		}
		int64_t boundary = 0;
		bool ok = segment_scan(fd, last_lsn, last_commit_end, &boundary) >= 0;
		if (!ok)
		{
			legacy_segment_error(dir, s);
		}
		else if (s == w->segno)
		{
			ok = writer_open_last(w, path, fd, boundary);
		}
		if (w->fd != fd)
		{
			close(fd);
		}
		free(path);
		if (!ok)
		{
			return false;
		}
	}
	w->last_sync = time_now();
	return true;
}
bool
journal_write(JournalWriter *w, char kind, Lsn lsn, const char *data, uint32_t len)
{
	unsigned char head[FRAME_HEAD], tail[FRAME_TAIL];
	put32(head, len);
	put32(head + 4, (uint32_t) (lsn >> 32));
	put32(head + 8, (uint32_t) lsn);
	head[12] = (unsigned char) kind;
	put32(tail, crc32c(crc32c(0, head, FRAME_HEAD), data, len));
	struct iovec
	{
		const void *b;
		size_t l;
	} parts[3] = { { head, FRAME_HEAD }, { data, len }, { tail, FRAME_TAIL } };
	for (int i = 0; i < 3; i++)
	{
		const char *p = parts[i].b;
		size_t left = parts[i].l;
		while (left > 0)
		{
			ssize_t n = write(w->fd, p, left);
			if (n < 0)
			{
				if (errno == EINTR)
				{
					continue;
				}
				log_error("could not write the journal in \"%s\": %s", w->dir, strerror(errno));
				if (errno == ENOSPC)
				{
					log_hint(LOG_LEVEL_ERROR, "The disk holding the work directory is full. "
											  "Free space and run again with --resume: "
											  "nothing is lost, the source keeps the changes.");
				}
				/* drop the partial frame so the file stays readable */
				if (ftruncate(w->fd, w->seg_bytes) == 0)
				{
					lseek(w->fd, w->seg_bytes, SEEK_SET);
				}
				return false;
			}
			p += n;
			left -= (size_t) n;
		}
	}
	w->seg_bytes += FRAME_HEAD + len + FRAME_TAIL;
	w->unsynced += FRAME_HEAD + len + FRAME_TAIL;
	return true;
}

bool
journal_sync(JournalWriter *w)
{
	if (w->unsynced == 0)
	{
		return true;
	}
	if (fdatasync(w->fd) != 0)
	{
		log_error("could not fsync the journal in \"%s\": %s", w->dir, strerror(errno));
		return false;
	}
	w->unsynced = 0;
	w->last_sync = time_now();
	return true;
}

bool
journal_rotate(JournalWriter *w)
{
	if (w->seg_bytes - w->seg_header < w->segment_max)
	{
		return true;
	}
	if (!journal_sync(w))
	{
		return false;
	}
	close(w->fd);
	w->segno++;
	char *path = segment_path(w->dir, w->segno);
	w->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (w->fd < 0)
	{
		log_error("could not create journal segment \"%s\": %s", path, strerror(errno));
		free(path);
		return false;
	}
	free(path);
	w->seg_bytes = 0;
	w->seg_header = 0;
	file_fsync_dir(w->dir);
	return write_header(w);
}

void
journal_writer_close(JournalWriter *w)
{
	if (w->fd >= 0)
	{
		journal_sync(w);
		close(w->fd);
	}
	free(w->dir);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

bool
journal_reader_open(JournalReader *r, const char *dir)
{
	crc_init();
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->dir = xstrdup(dir);
	uint32_t lo, hi;
	segment_range(dir, &lo, &hi);
	r->segno = lo ? lo : 1;
	return true;
}

static bool
reader_open_segment(JournalReader *r)
{
	if (r->fd >= 0)
	{
		return true;
	}
	char *path = segment_path(r->dir, r->segno);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	r->offset = 0;
	return r->fd >= 0;
}

int
journal_read(JournalReader *r, JournalFrame *f)
{
	for (;;)
	{
		if (!reader_open_segment(r))
		{
			return 0;
		}
		unsigned char head[FRAME_HEAD];
		if (read_full(r->fd, head, FRAME_HEAD, r->offset))
		{
			uint32_t len = get32(head);
			if (len > MAX_FRAME)
			{
				log_error("journal segment %u: bad frame length at offset %lld", r->segno,
						  (long long) r->offset);
				return -1;
			}
			if (len + FRAME_TAIL > r->bufcap)
			{
				r->bufcap = len + FRAME_TAIL + 1;
				r->buf = xrealloc(r->buf, r->bufcap);
			}
			if (!read_full(r->fd, r->buf, len + FRAME_TAIL, r->offset + FRAME_HEAD))
			{
				return 0; /* being written */
			}
			uint32_t crc = crc32c(crc32c(0, head, FRAME_HEAD), r->buf, len);
			if (crc != get32((unsigned char *) r->buf + len))
			{
				/* a frame is visible only once written whole: a bad checksum is damage */
				log_error("journal segment %u: checksum mismatch at offset %lld", r->segno,
						  (long long) r->offset);
				return -1;
			}
			char kind = (char) head[12];
			if (r->offset == 0 && kind != JF_HEADER)
			{
				legacy_segment_error(r->dir, r->segno);
				return -1;
			}
			r->last_offset = r->offset;
			r->offset += FRAME_HEAD + len + FRAME_TAIL;
			if (kind == JF_HEADER)
			{
				continue;
			}
			f->len = len;
			f->lsn = (Lsn) get32(head + 4) << 32 | get32(head + 8);
			f->kind = kind;
			f->data = r->buf;
			r->buf[len] = '\0';
			return 1;
		}
		/* end of this segment: move on only if a next one exists */
		char *next = segment_path(r->dir, r->segno + 1);
		bool has_next = file_exists(next);
		free(next);
		if (!has_next)
		{
			return 0;
		}
		/* re-check this segment once more: the writer finishes it before rotating */
		struct stat st;
		fstat(r->fd, &st);
		if (st.st_size > r->offset)
		{
			continue;
		}
		close(r->fd);
		r->fd = -1;
		r->segno++;
	}
}

void
journal_segments_below(const char *dir, uint32_t before, StrList *out)
{
	uint32_t lo, hi;
	segment_range(dir, &lo, &hi);
	for (uint32_t s = lo; s != 0 && s <= hi && s < before; s++)
	{
		strlist_add_owned(out, segment_path(dir, s));
	}
}

void
journal_prune(const char *dir, uint32_t before)
{
	StrList paths = { 0 };
	journal_segments_below(dir, before, &paths);
	for (int i = 0; i < paths.n; i++)
	{
		unlink(paths.items[i]);
	}
	strlist_free(&paths);
}

void
journal_unread(JournalReader *r)
{
	r->offset = r->last_offset;
}

int
journal_peek_commit(JournalReader *r, Lsn *commit_end)
{
	JournalReader p;
	memset(&p, 0, sizeof(p));
	p.fd = -1;
	p.dir = r->dir;
	p.segno = r->segno;
	p.offset = r->offset;
	if (r->peek_segno != 0 && r->peek_from_segno == r->segno && r->peek_from_offset == r->offset)
	{
		/* looked from here before without finding the commit: go on from there */
		p.segno = r->peek_segno;
		p.offset = r->peek_offset;
	}
	char *path = segment_path(r->dir, p.segno);
	p.fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (p.fd < 0)
	{
		return 0;
	}
	int rc;
	JournalFrame f;
	while ((rc = journal_read(&p, &f)) == 1)
	{
		if (f.kind == JF_COMMIT)
		{
			*commit_end = f.lsn;
			break;
		}
	}
	if (rc == 0)
	{
		r->peek_from_segno = r->segno;
		r->peek_from_offset = r->offset;
		r->peek_segno = p.segno;
		r->peek_offset = p.offset;
	}
	else
	{
		r->peek_segno = 0;
	}
	if (p.fd >= 0)
	{
		close(p.fd);
	}
	free(p.buf);
	return rc;
}

void
journal_reader_close(JournalReader *r)
{
	if (r->fd >= 0)
	{
		close(r->fd);
	}
	free(r->buf);
	free(r->dir);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

bool
journal_remove_all(const char *dir)
{
	uint32_t lo, hi;
	segment_range(dir, &lo, &hi);
	for (uint32_t s = lo; s != 0 && s <= hi; s++)
	{
		char *path = segment_path(dir, s);
		unlink(path);
		free(path);
	}
	stream_spool_remove_all(dir); /* spools of streamed transactions (decode_stream.c) */
	return true;
}
