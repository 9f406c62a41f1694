/*
 * src/cdc/receiver.c — logical replication stream into the journal.
 *
 * The loop follows pg_recvlogical: START_REPLICATION, then XLogData ('w') and
 * keepalive ('k') messages, with standby status updates ('r') at least every
 * second and whenever the server asks. The flush position sent to the source
 * is the end of the last transaction (or keepalive position) that is on disk
 * (fsync'd) in the journal: the source frees WAL only for changes we cannot
 * lose. Keepalives seen outside a transaction go to the journal too, so the
 * applier knows how far the stream has gone when the source is idle.
 *
 * pgoutput describes a relation (a Relation message) once per session, before
 * its first change. Each new segment starts with the last Relation message of
 * every relation seen in this session, so that a segment never depends on one
 * removed once applied (journal_prune) when a later run reads the journal.
 */
#include "cdc/cdc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

/* Microseconds between the Unix epoch and 2000-01-01, PostgreSQL's epoch. */
#define PG_EPOCH_OFFSET_US 946684800000000LL

static void
put64(char *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--)
	{
		b[i] = (char) (v & 0xFF);
		v >>= 8;
	}
}

static uint64_t
get64(const char *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
	{
		v = v << 8 | (unsigned char) b[i];
	}
	return v;
}

static bool
send_status(PgConn *c, Lsn write, Lsn flush, Lsn apply, bool reply)
{
	char msg[34];
	msg[0] = 'r';
	put64(msg + 1, write);
	put64(msg + 9, flush);
	put64(msg + 17, apply);
	put64(msg + 25, (uint64_t) (time_wall_us() - PG_EPOCH_OFFSET_US));
	msg[33] = reply ? 1 : 0;
	if (PQputCopyData(c->conn, msg, sizeof(msg)) <= 0 || PQflush(c->conn) != 0)
	{
		pg_set_error(c, NULL, "while sending a standby status update");
		return false;
	}
	return true;
}

static bool
is_begin(bool td, const char *p, uint32_t len)
{
	return td ? (len >= 5 && strncmp(p, "BEGIN", 5) == 0) : (len >= 1 && p[0] == 'B');
}

static bool
is_commit(bool td, const char *p, uint32_t len, Lsn wal_start, Lsn *end_lsn, Lsn *commit_lsn)
{
	if (td)
	{
		if (len >= 6 && strncmp(p, "COMMIT", 6) == 0)
		{
			*end_lsn = wal_start;
			*commit_lsn = wal_start;
			return true;
		}
		return false;
	}
	if (len >= 26 && p[0] == 'C')
	{
		*commit_lsn = get64(p + 2);
		*end_lsn = get64(p + 10);
		return true;
	}
	return false;
}

/* The last Relation message of each relation (pgoutput). */
typedef struct RelMsgs
{
	uint32_t *relids;
	char **data;
	uint32_t *lens;
	int n;
	int cap;
} RelMsgs;

static void
relmsgs_keep(RelMsgs *r, const char *p, uint32_t len)
{
	if (len < 5)
	{
		return;
	}
	uint32_t relid = (uint32_t) (unsigned char) p[1] << 24 | (uint32_t) (unsigned char) p[2] << 16 |
					 (uint32_t) (unsigned char) p[3] << 8 | (unsigned char) p[4];
	int i = 0;
	while (i < r->n && r->relids[i] != relid)
	{
		i++;
	}
	if (i == r->n)
	{
		if (r->n == r->cap)
		{
			r->cap = r->cap ? 2 * r->cap : 16;
			r->relids = xrealloc(r->relids, sizeof(uint32_t) * (size_t) r->cap);
			r->data = xrealloc(r->data, sizeof(char *) * (size_t) r->cap);
			r->lens = xrealloc(r->lens, sizeof(uint32_t) * (size_t) r->cap);
		}
		r->relids[i] = relid;
		r->data[i] = NULL;
		r->n++;
	}
	free(r->data[i]);
	r->data[i] = xmalloc(len);
	memcpy(r->data[i], p, len);
	r->lens[i] = len;
}

static void
relmsgs_free(RelMsgs *r)
{
	for (int i = 0; i < r->n; i++)
	{
		free(r->data[i]);
	}
	free(r->relids);
	free(r->data);
	free(r->lens);
	memset(r, 0, sizeof(*r));
}

bool
cdc_receive_open(const CdcOptions *co, JournalWriter *jw, Lsn *last_commit_end)
{
	Lsn last_lsn;
	return journal_writer_open(jw, co->journal_dir, &last_lsn, last_commit_end);
}

static bool cdc_receive_loop(const CdcOptions *co, CdcShared *sh, Lsn startpos, JournalWriter *jw,
							 Lsn last_commit_end);

bool
cdc_receive(const CdcOptions *co, CdcShared *sh, Lsn startpos, JournalWriter *jw,
			Lsn last_commit_end)
{
	bool ok = cdc_receive_loop(co, sh, startpos, jw, last_commit_end);
	journal_writer_close(jw);
	/* whatever the way out, the applier must know the receiver is gone */
	if (!ok)
	{
		__atomic_store_n(&sh->receiver_failed, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&sh->receiver_done, 1, __ATOMIC_RELEASE);
	return ok;
}

static bool
cdc_receive_loop(const CdcOptions *co, CdcShared *sh, Lsn startpos, JournalWriter *jwp,
				 Lsn last_commit_end)
{
	bool td = strcmp(co->plugin, "test_decoding") == 0;
	JournalWriter jw = *jwp; /* handed back below */
	RelMsgs relmsgs = { 0 };
	Lsn start = last_commit_end > startpos ? last_commit_end : startpos;

	PgConn c;
	if (!pg_connect_replication(&c, co->source, "source", "receive"))
	{
		*jwp = jw;
		return false;
	}
	char startbuf[32];
	lsn_format(start, startbuf, sizeof(startbuf));
	StrBuf sql;
	sb_init(&sql);
	sb_append(&sql, "START_REPLICATION SLOT ");
	sb_append_ident(&sql, co->slot);
	sb_printf(&sql, " LOGICAL %s ", startbuf);
	if (td)
	{
		sb_append(&sql, "(\"include-xids\" '1', \"skip-empty-xacts\" '1')");
	}
	else
	{
		char *qpub = pg_quote_ident(co->publication);
		char *lit = pg_quote_literal(qpub);
		sb_printf(&sql, "(proto_version '1', publication_names %s)", lit);
		free(qpub);
		free(lit);
	}
	PGresult *res = PQexec(c.conn, sql.data);
	if (PQresultStatus(res) != PGRES_COPY_BOTH)
	{
		pg_set_error(&c, res, sql.data);
		PQclear(res);
		sb_free(&sql);
		pg_disconnect(&c);
		*jwp = jw;
		return false;
	}
	PQclear(res);
	log_info("receiving changes from slot \"%s\" (%s) from %s into \"%s\"", co->slot, co->plugin,
			 startbuf, co->journal_dir);
	sb_free(&sql);

	bool ok = true;
	/*
	 * false once a write or fsync of the journal failed: nothing more may be
	 * reported as flushed (the source would then never send it again).
	 */
	bool journal_ok = true;
	bool in_txn = false;
	Lsn written_commit = last_commit_end; /* end of the last complete txn written */
	Lsn flushed = last_commit_end;        /* ... and fsync'd */
	Lsn stream_pos = start;
	double last_status = 0;
	bool want_reply = false;
	bool reached_end = false;

	while (ok && !sh->stop && !signals_interrupted())
	{
		double now = time_now();
		/* fsync at least every 200ms, then let the source know */
		if (jw.unsynced > 0 && (now - jw.last_sync > 0.2 || want_reply))
		{
			Lsn boundary = written_commit;
			if (!journal_sync(&jw))
			{
				ok = journal_ok = false;
				break;
			}
			flushed = boundary;
			__atomic_store_n(&sh->flushed_lsn, flushed, __ATOMIC_RELEASE);
		}
		if (want_reply || now - last_status >= 1.0)
		{
			Lsn applied = __atomic_load_n(&sh->applied_lsn, __ATOMIC_ACQUIRE);
			if (!send_status(&c, stream_pos > flushed ? stream_pos : flushed, flushed,
							 applied ? applied : flushed, false))
			{
				ok = false;
				break;
			}
			if (co->state != NULL)
			{
				sentinel_update_positions(co->state, stream_pos, flushed, LSN_INVALID);
			}
			last_status = now;
			want_reply = false;
		}
		if (reached_end)
		{
			break;
		}

		char *buf = NULL;
		int n = PQgetCopyData(c.conn, &buf, 1);
		if (n == 0)
		{
			fd_set rfds;
			FD_ZERO(&rfds);
			int sock = PQsocket(c.conn);
			FD_SET(sock, &rfds);
			struct timeval tv = { 0, 100000 };
			if (select(sock + 1, &rfds, NULL, NULL, &tv) < 0 && errno != EINTR)
			{
				log_error("source: select() failed: %s", strerror(errno));
				ok = false;
				break;
			}
			if (!PQconsumeInput(c.conn))
			{
				pg_set_error(&c, NULL, "while receiving changes");
				ok = false;
			}
			continue;
		}
		if (n == -1)
		{
			PGresult *r = PQgetResult(c.conn);
			if (PQresultStatus(r) != PGRES_COMMAND_OK)
			{
				pg_set_error(&c, r, "the replication stream ended");
				ok = false;
			}
			PQclear(r);
			break;
		}
		if (n < 0)
		{
			pg_set_error(&c, NULL, "while receiving changes");
			ok = false;
			break;
		}
		if (buf[0] == 'k' && n >= 18)
		{
			Lsn walend = get64(buf + 1);
			if (buf[17])
			{
				want_reply = true;
			}
			if (!in_txn && walend > stream_pos)
			{
				stream_pos = walend;
				if (walend > written_commit)
				{
					if (!journal_write(&jw, JF_KEEPALIVE, walend, "", 0))
					{
						ok = journal_ok = false;
						PQfreemem(buf);
						break;
					}
					written_commit = walend;
				}
			}
			if (!in_txn && sh->endpos != LSN_INVALID && stream_pos >= sh->endpos)
			{
				reached_end = true;
				want_reply = true;
			}
		}
		else if (buf[0] == 'w' && n >= 25)
		{
			Lsn wal_start = get64(buf + 1);
			const char *payload = buf + 25;
			uint32_t plen = (uint32_t) (n - 25);
			if (!journal_write(&jw, JF_DATA, wal_start, payload, plen))
			{
				ok = journal_ok = false;
				PQfreemem(buf);
				break;
			}
			Lsn end_lsn, commit_lsn;
			if (!td && plen >= 1 && payload[0] == 'R')
			{
				relmsgs_keep(&relmsgs, payload, plen);
			}
			if (is_begin(td, payload, plen))
			{
				in_txn = true;
			}
			else if (is_commit(td, payload, plen, wal_start, &end_lsn, &commit_lsn))
			{
				in_txn = false;
				written_commit = end_lsn;
				if (end_lsn > stream_pos)
				{
					stream_pos = end_lsn;
				}
				uint32_t segno = jw.segno;
				if (!journal_rotate(&jw))
				{
					ok = journal_ok = false;
					PQfreemem(buf);
					break;
				}
				/* a new segment: describe the relations again at its start */
				for (int i = 0; jw.segno != segno && i < relmsgs.n; i++)
				{
					if (!journal_write(&jw, JF_DATA, written_commit, relmsgs.data[i],
									   relmsgs.lens[i]))
					{
						ok = journal_ok = false;
						break;
					}
				}
				if (!journal_ok)
				{
					PQfreemem(buf);
					break;
				}
				if (jw.segno != segno)
				{
					/* those do not count towards the next rotation */
					jw.seg_header = jw.seg_bytes;
				}
				if (sh->endpos != LSN_INVALID && commit_lsn >= sh->endpos)
				{
					reached_end = true;
					want_reply = true;
				}
			}
			__atomic_store_n(&sh->received_lsn, stream_pos, __ATOMIC_RELEASE);
		}
		PQfreemem(buf);
	}

	/* last words: what is on disk (unless the journal failed: then nothing more) */
	if (journal_ok && jw.fd >= 0)
	{
		if (journal_sync(&jw))
		{
			flushed = written_commit;
			__atomic_store_n(&sh->flushed_lsn, flushed, __ATOMIC_RELEASE);
			if (c.conn != NULL && PQstatus(c.conn) == CONNECTION_OK)
			{
				send_status(&c, flushed, flushed, flushed, false);
			}
			if (co->state != NULL)
			{
				sentinel_update_positions(co->state, stream_pos, flushed, LSN_INVALID);
			}
		}
	}
	if (c.conn != NULL && PQstatus(c.conn) == CONNECTION_OK)
	{
		PQputCopyEnd(c.conn, NULL);
		PQflush(c.conn);
	}
	char fb[32];
	lsn_format(flushed, fb, sizeof(fb));
	log_info("receiver stopped at %s%s", fb, reached_end ? " (end position reached)" : "");
	pg_disconnect(&c);
	relmsgs_free(&relmsgs);
	*jwp = jw;
	return ok;
}
