/*
 * src/cdc/decode_stream.c — pgoutput's streamed transactions (protocol 2).
 *
 * The invariant: the main journal stays a sequence of whole transactions in
 * commit order, so the applier never sees a transaction that may still
 * abort. With `streaming 'on'` (14+), the source sends a large transaction
 * while it is still open, in blocks: Stream Start ('S', xid, first-segment
 * flag), changes that carry the xid of their (sub)transaction, Stream Stop
 * ('E'); other transactions may come between the blocks. It ends with
 * Stream Commit ('c') or Stream Abort ('A', xid, subxid; a subtransaction
 * when subxid differs).
 *
 * Each block's messages are written as they arrive to the spool file of
 * their transaction, <journal dir>/stream-<xid>.spool, one record per
 * message tagged with its subtransaction's xid (the receiver never holds a
 * large transaction in memory, and the source never waits on us to decode
 * it at its commit). At Stream Commit, the records of the subtransactions
 * not aborted are copied into the journal between a Begin and a Commit
 * built from the Stream Commit, as the version 1 messages they would have
 * been (xid field removed): the applier and the decoder do not know about
 * streaming. At Stream Abort of the transaction, its spool is removed.
 *
 * Nothing here is acknowledged to the source: the flush position only
 * moves past a transaction's commit once the journal holding it is on disk,
 * so after a crash the source streams an open transaction again from its
 * first block (first-segment flag set), and the spool starts over.
 *
 * Spool record: u32 length of the message, u32 subxid, then the message
 * (already in version 1 form); native byte order (the file never leaves
 * this machine or outlives the receiver's session).
 */
#include "cdc/decode_stream.h"
#include "cdc/cdc_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *
spool_path(const char *dir, uint32_t xid)
{
	return xasprintf("%s/stream-%u.spool", dir, xid);
}

void
stream_spool_remove_all(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
	{
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
	{
		size_t n = strlen(de->d_name);
		if (strncmp(de->d_name, "stream-", 7) == 0 && n > 6 &&
			strcmp(de->d_name + n - 6, ".spool") == 0)
		{
			char *p = xasprintf("%s/%s", dir, de->d_name);
			unlink(p);
			free(p);
		}
	}
	closedir(d);
}

void
stream_spool_init(StreamSpool *s, const char *dir)
{
	memset(s, 0, sizeof(*s));
	s->dir = xstrdup(dir);
	stream_spool_remove_all(dir);
}

/* Ends the open block; false (logged) when its buffered writes could not be made. */
static bool
block_close(StreamSpool *s)
{
	bool ok = true;
	if (s->f != NULL && fclose(s->f) != 0)
	{
		log_error("could not write the spool of streamed transaction %u: %s", s->xid,
				  strerror(errno));
		ok = false;
	}
	s->f = NULL;
	s->xid = 0;
	return ok;
}

void
stream_spool_close(StreamSpool *s)
{
	if (s->dir == NULL)
	{
		return;
	}
	(void) block_close(s);
	if (s->committed + s->aborts > 0)
	{
		log_info("streamed transactions: %lld committed, %lld aborted, %lld bytes spooled",
				 (long long) s->committed, (long long) s->aborts, (long long) s->spooled);
	}
	free(s->aborted);
	free(s->dir);
	memset(s, 0, sizeof(*s));
}

/* Forgets the aborted subtransactions of xid. */
static void
aborts_forget(StreamSpool *s, uint32_t xid)
{
	int k = 0;
	for (int i = 0; i < s->naborted; i++)
	{
		if (s->aborted[i].xid != xid)
		{
			s->aborted[k++] = s->aborted[i];
		}
	}
	s->naborted = k;
}

static bool
aborted(const StreamSpool *s, uint32_t xid, uint32_t subxid)
{
	for (int i = 0; i < s->naborted; i++)
	{
		if (s->aborted[i].xid == xid && s->aborted[i].subxid == subxid)
		{
			return true;
		}
	}
	return false;
}

/* Stream Start: the spool of xid, emptied on the transaction's first block. */
static bool
block_open(StreamSpool *s, uint32_t xid, bool first)
{
	if (!block_close(s))
	{
		return false;
	}
	char *path = spool_path(s->dir, xid);
	/* buffered: a block holds many changes, read back only at the commit */
	s->f = fopen(path, first ? "wbe" : "abe");
	if (s->f == NULL)
	{
		log_error("could not open \"%s\": %s", path, strerror(errno));
		free(path);
		return false;
	}
	setvbuf(s->f, NULL, _IOFBF, 1 << 20);
	free(path);
	if (first)
	{
		aborts_forget(s, xid);
	}
	s->xid = xid;
	return true;
}

/* One change of the open block: type byte, xid (removed), the rest. */
static bool
block_write(StreamSpool *s, const char *msg, uint32_t len)
{
	if (s->f == NULL || len < 5)
	{
		log_error("malformed pgoutput stream: a '%c' message outside a stream block",
				  len ? msg[0] : '?');
		return false;
	}
	uint32_t hdr[2] = { len - 4, cdc_get_be32(msg + 1) };
	if (fwrite(hdr, sizeof(hdr), 1, s->f) != 1 || fwrite(msg, 1, 1, s->f) != 1 ||
		fwrite(msg + 5, 1, len - 5, s->f) != len - 5)
	{
		log_error("could not write the spool of streamed transaction %u: %s", s->xid,
				  strerror(errno));
		return false;
	}
	s->spooled += (int64_t) len + 4;
	return true;
}

static bool
read_exact(FILE *f, void *buf, size_t n)
{
	return fread(buf, 1, n, f) == n;
}

/* Copies the spooled changes of xid, minus aborted subtransactions, into the journal. */
static bool
spool_replay(StreamSpool *s, uint32_t xid, Lsn lsn, StreamEmitFn emit, void *arg)
{
	char *path = spool_path(s->dir, xid);
	FILE *f = fopen(path, "rbe");
	if (f == NULL)
	{
		/* a streamed transaction with no change we publish has no spool */
		bool none = errno == ENOENT;
		if (!none)
		{
			log_error("could not open \"%s\": %s", path, strerror(errno));
		}
		free(path);
		return none;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	bool ok = true;
	size_t cap = 0;
	char *buf = NULL;
	uint32_t hdr[2];
	while (ok && read_exact(f, hdr, sizeof(hdr)))
	{
		if (hdr[0] > cap)
		{
			cap = hdr[0];
			buf = xrealloc(buf, cap);
		}
		if (!read_exact(f, buf, hdr[0]))
		{
			log_error("\"%s\" ends in the middle of a message", path);
			ok = false;
			break;
		}
		if (!aborted(s, xid, hdr[1]))
		{
			ok = emit(arg, buf, hdr[0], lsn);
		}
	}
	free(buf);
	fclose(f);
	unlink(path);
	free(path);
	return ok;
}

/* Stream Commit: Begin, the changes, and the Commit for the caller. */
static StreamResult
stream_commit(StreamSpool *s, const char *msg, Lsn wal_start, StreamEmitFn emit, void *arg,
			  char commit_msg[STREAM_COMMIT_MSG_LEN])
{
	/* 'c', xid(4), flags(1), commit_lsn(8), end_lsn(8), timestamp(8) */
	uint32_t xid = cdc_get_be32(msg + 1);
	char begin[21];
	begin[0] = 'B';
	memcpy(begin + 1, msg + 6, 8);  /* final_lsn: the commit's LSN */
	memcpy(begin + 9, msg + 22, 8); /* commit timestamp */
	memcpy(begin + 17, msg + 1, 4); /* xid */
	if (!block_close(s) || !emit(arg, begin, sizeof(begin), wal_start) ||
		!spool_replay(s, xid, wal_start, emit, arg))
	{
		return STREAM_FAILED;
	}
	aborts_forget(s, xid);
	commit_msg[0] = 'C';
	commit_msg[1] = 0;
	memcpy(commit_msg + 2, msg + 6, 24); /* commit_lsn, end_lsn, timestamp */
	s->committed++;
	return STREAM_COMMIT;
}

static StreamResult
stream_abort(StreamSpool *s, const char *msg)
{
	uint32_t xid = cdc_get_be32(msg + 1), subxid = cdc_get_be32(msg + 5);
	if (xid != subxid)
	{
		if (s->naborted == s->capaborted)
		{
			s->capaborted = s->capaborted ? 2 * s->capaborted : 16;
			s->aborted = xrealloc(s->aborted, sizeof(StreamAbort) * (size_t) s->capaborted);
		}
		s->aborted[s->naborted++] = (StreamAbort){ xid, subxid };
		return STREAM_CONSUMED;
	}
	if (s->xid == xid)
	{
		(void) block_close(s);
	}
	char *path = spool_path(s->dir, xid);
	unlink(path);
	free(path);
	aborts_forget(s, xid);
	s->aborts++;
	return STREAM_CONSUMED;
}

StreamResult
stream_spool_take(StreamSpool *s, const char *msg, uint32_t len, Lsn wal_start, StreamEmitFn emit,
				  void *arg, char commit_msg[STREAM_COMMIT_MSG_LEN])
{
	if (s->dir == NULL || len == 0)
	{
		return STREAM_NOT_MINE;
	}
	switch (msg[0])
	{
		case 'S':
			if (len < 6)
			{
				break;
			}
			return block_open(s, cdc_get_be32(msg + 1), msg[5] == 1) ? STREAM_CONSUMED
																	 : STREAM_FAILED;
		case 'E':
			return block_close(s) ? STREAM_CONSUMED : STREAM_FAILED;
		case 'A':
			if (len < 9)
			{
				break;
			}
			return stream_abort(s, msg);
		case 'c':
			if (len < 30)
			{
				break;
			}
			return stream_commit(s, msg, wal_start, emit, arg, commit_msg);
		default:
			if (s->xid != 0)
			{
				return block_write(s, msg, len) ? STREAM_CONSUMED : STREAM_FAILED;
			}
			return STREAM_NOT_MINE;
	}
	log_error("malformed pgoutput stream message '%c' (%u bytes)", msg[0], len);
	return STREAM_FAILED;
}
