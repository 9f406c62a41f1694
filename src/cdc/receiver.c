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
 * What a message is (BEGIN, COMMIT, Relation, other) is the plugin module's
 * answer (cdc_plugin_frame_role); the COMMIT goes into the journal as a
 * JF_COMMIT frame whose LSN is the commit's end, so that nothing after the
 * receiver reads payloads to find transaction boundaries.
 *
 * pgoutput describes a relation (a Relation message) once per session, before
 * its first change. Each new segment starts with the last Relation message of
 * every relation seen in this session, so that a segment never depends on one
 * removed once applied (journal_prune) when a later run reads the journal.
 */
#include "cdc/cdc.h"
#include "cdc/cdc_int.h"
#include "cdc/decode_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

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

/* One receive loop's state. */
typedef struct Receiver
{
	const CdcOptions *co;
	CdcShared *sh;
	PgConn c;
	JournalWriter jw;
	RelMsgs relmsgs;
	/*
	 * false once a write or fsync of the journal failed: nothing more may be
	 * reported as flushed (the source would then never send it again).
	 */
	bool journal_ok;
	bool in_txn;
	Lsn written_commit; /* end of the last complete transaction written */
	Lsn flushed;        /* ... and fsync'd */
	Lsn stream_pos;
	double last_status;
	bool want_reply;
	bool reached_end;
	bool stream_ended; /* the source ended the COPY */
	CdcRetry retry;
	char sqlstate[6]; /* the last session's error, for the retry decision */
	char *errmsg;
	char *timeline;    /* the source's timeline (IDENTIFY_SYSTEM) at the first session */
	CdcSpace space;    /* back-pressure: paused while the journal's disk is low */
	StreamSpool spool; /* pgoutput's streamed transactions (decode_stream.c) */
	uint64_t emitted;  /* messages copied from spools */
} Receiver;

static bool
journal_failed(Receiver *rv)
{
	rv->journal_ok = false;
	return false;
}

/* fsync at least every 200ms, then let the source (and the sentinel) know. */
static bool
recv_report(Receiver *rv)
{
	double now = time_now();
	if (rv->jw.unsynced > 0 && (now - rv->jw.last_sync > 0.2 || rv->want_reply))
	{
		Lsn boundary = rv->written_commit;
		if (!journal_sync(&rv->jw))
		{
			return journal_failed(rv);
		}
		rv->flushed = boundary;
		atomic_store(&rv->sh->flushed_lsn, rv->flushed);
	}
	if (rv->want_reply || now - rv->last_status >= 1.0)
	{
		Lsn applied = atomic_load(&rv->sh->applied_lsn);
		Lsn write = rv->stream_pos > rv->flushed ? rv->stream_pos : rv->flushed;
		if (!send_status(&rv->c, write, rv->flushed, applied ? applied : rv->flushed, false))
		{
			return false;
		}
		if (rv->co->state != NULL)
		{
			sentinel_update_positions(rv->co->state, rv->stream_pos, rv->flushed, LSN_INVALID);
		}
		rv->last_status = now;
		rv->want_reply = false;
	}
	return true;
}

/* Nothing to read: wait up to 100ms for the socket. */
static bool
recv_wait(Receiver *rv)
{
	fd_set rfds;
	FD_ZERO(&rfds);
	int sock = PQsocket(rv->c.conn);
	FD_SET(sock, &rfds);
	struct timeval tv = { 0, 100000 };
	if (select(sock + 1, &rfds, NULL, NULL, &tv) < 0 && errno != EINTR)
	{
		log_error("source: select() failed: %s", strerror(errno));
		return false;
	}
	if (!PQconsumeInput(rv->c.conn))
	{
		pg_set_error(&rv->c, NULL, "while receiving changes");
		return false;
	}
	return true;
}

static void
check_endpos(Receiver *rv, Lsn pos)
{
	Lsn endpos = atomic_load(&rv->sh->endpos);
	if (endpos != LSN_INVALID && pos >= endpos)
	{
		rv->reached_end = true;
		rv->want_reply = true;
	}
}

/* Primary keepalive: outside a transaction, the stream's position goes to the journal. */
static bool
recv_keepalive(Receiver *rv, const char *buf)
{
	Lsn walend = cdc_get_be64(buf + 1);
	if (buf[17])
	{
		rv->want_reply = true;
	}
	if (!rv->in_txn && walend > rv->stream_pos)
	{
		rv->stream_pos = walend;
		if (walend > rv->written_commit)
		{
			if (!journal_write(&rv->jw, JF_KEEPALIVE, walend, "", 0))
			{
				return journal_failed(rv);
			}
			rv->written_commit = walend;
		}
	}
	if (!rv->in_txn)
	{
		check_endpos(rv, rv->stream_pos);
	}
	return true;
}

/* After a commit: a new segment when due, starting with the relations' descriptions. */
static bool
recv_rotate(Receiver *rv)
{
	uint32_t segno = rv->jw.segno;
	if (!journal_rotate(&rv->jw))
	{
		return journal_failed(rv);
	}
	if (rv->jw.segno == segno)
	{
		return true;
	}
	for (int i = 0; i < rv->relmsgs.n; i++)
	{
		if (!journal_write(&rv->jw, JF_DATA, rv->written_commit, rv->relmsgs.data[i],
						   rv->relmsgs.lens[i]))
		{
			return journal_failed(rv);
		}
	}
	/* those do not count towards the next rotation */
	rv->jw.seg_header = rv->jw.seg_bytes;
	return true;
}

/*
 * A message of a streamed transaction, into the journal at its Stream Commit.
 * Copying millions of them takes a while: the source still hears from us
 * (status updates) so that wal_sender_timeout does not end the stream.
 */
static bool
recv_emit(void *arg, const char *data, uint32_t len, Lsn lsn)
{
	Receiver *rv = arg;
	if (!journal_write(&rv->jw, JF_DATA, lsn, data, len))
	{
		return journal_failed(rv);
	}
	if ((++rv->emitted & 4095) == 0 && !recv_report(rv))
	{
		return false;
	}
	if (data[0] == 'R')
	{
		relmsgs_keep(&rv->relmsgs, data, len);
	}
	rv->in_txn = rv->in_txn || data[0] == 'B';
	return true;
}

/* XLogData: one plugin message into the journal, its commit marked. */
static bool
recv_data(Receiver *rv, const char *buf, int n)
{
	Lsn wal_start = cdc_get_be64(buf + 1);
	const char *payload = buf + 25;
	uint32_t plen = (uint32_t) (n - 25);
	/* streamed transactions: spooled, then written whole at their commit */
	char commit_msg[STREAM_COMMIT_MSG_LEN];
	StreamResult sr =
		stream_spool_take(&rv->spool, payload, plen, wal_start, recv_emit, rv, commit_msg);
	if (sr == STREAM_FAILED || sr == STREAM_CONSUMED)
	{
		return sr == STREAM_CONSUMED && rv->journal_ok;
	}
	if (sr == STREAM_COMMIT)
	{
		payload = commit_msg;
		plen = sizeof(commit_msg);
	}
	Lsn end_lsn = LSN_INVALID, commit_lsn = LSN_INVALID;
	CdcFrameRole role =
		cdc_plugin_frame_role(rv->co->plugin, payload, plen, wal_start, &commit_lsn, &end_lsn);
	bool commit = role == CDC_ROLE_COMMIT;
	if (!journal_write(&rv->jw, commit ? JF_COMMIT : JF_DATA, commit ? end_lsn : wal_start, payload,
					   plen))
	{
		return journal_failed(rv);
	}
	if (role == CDC_ROLE_RELATION)
	{
		relmsgs_keep(&rv->relmsgs, payload, plen);
	}
	else if (role == CDC_ROLE_BEGIN)
	{
		rv->in_txn = true;
	}
	else if (commit)
	{
		rv->in_txn = false;
		rv->written_commit = end_lsn;
		if (end_lsn > rv->stream_pos)
		{
			rv->stream_pos = end_lsn;
		}
		if (!recv_rotate(rv))
		{
			return false;
		}
		check_endpos(rv, commit_lsn);
	}
	atomic_store(&rv->sh->received_lsn, rv->stream_pos);
	return true;
}

/* Reads what the stream has; false on an error or the end of the stream. */
static bool
recv_step(Receiver *rv)
{
	char *buf = NULL;
	int n = PQgetCopyData(rv->c.conn, &buf, 1);
	if (n == 0)
	{
		return recv_wait(rv);
	}
	if (n == -1)
	{
		PGresult *r = PQgetResult(rv->c.conn);
		bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
		{
			pg_set_error(&rv->c, r, "the replication stream ended");
		}
		PQclear(r);
		rv->stream_ended = true;
		return ok;
	}
	if (n < 0)
	{
		pg_set_error(&rv->c, NULL, "while receiving changes");
		return false;
	}
	bool ok = true;
	if (buf[0] == 'k' && n >= 18)
	{
		ok = recv_keepalive(rv, buf);
	}
	else if (buf[0] == 'w' && n >= 25)
	{
		ok = recv_data(rv, buf, n);
	}
	PQfreemem(buf);
	return ok;
}

/* Last words: what is on disk (unless the journal failed: then nothing more). */
static void
recv_finish(Receiver *rv)
{
	if (rv->journal_ok && rv->jw.fd >= 0 && journal_sync(&rv->jw))
	{
		rv->flushed = rv->written_commit;
		atomic_store(&rv->sh->flushed_lsn, rv->flushed);
		if (rv->c.conn != NULL && PQstatus(rv->c.conn) == CONNECTION_OK && !rv->stream_ended)
		{
			send_status(&rv->c, rv->flushed, rv->flushed, rv->flushed, false);
		}
		if (rv->co->state != NULL)
		{
			sentinel_update_positions(rv->co->state, rv->stream_pos, rv->flushed, LSN_INVALID);
		}
	}
	if (rv->c.conn != NULL && PQstatus(rv->c.conn) == CONNECTION_OK && !rv->stream_ended)
	{
		PQputCopyEnd(rv->c.conn, NULL);
		PQflush(rv->c.conn);
	}
	char fb[32];
	lsn_format(rv->flushed, fb, sizeof(fb));
	log_info("receiver stopped at %s%s", fb, rv->reached_end ? " (end position reached)" : "");
}

/*
 * IDENTIFY_SYSTEM's timeline, compared with the one recorded at the first
 * session in this work directory: a new timeline means the source was
 * promoted or restored (a failover). Said once; the slot decides whether
 * the stream can go on (a missing slot stops it: recv_slot_lost).
 */
static bool
recv_check_timeline(Receiver *rv)
{
	PGresult *res = PQexec(rv->c.conn, "IDENTIFY_SYSTEM");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) < 2)
	{
		pg_set_error(&rv->c, res, "while running IDENTIFY_SYSTEM");
		PQclear(res);
		return false;
	}
	char *tli = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	StateDb *st = rv->co->state;
	char *known = rv->timeline ? xstrdup(rv->timeline)
							   : (st ? state_get_meta(st, "cdc_source_timeline") : NULL);
	if (known != NULL && strcmp(known, tli) != 0)
	{
		log_warn("source: the server's timeline changed from %s to %s: it was promoted or "
				 "restored (a failover) since this follower last connected",
				 known, tli);
		log_detail(LOG_LEVEL_WARN,
				   "The stream goes on only if the replication slot \"%s\" is "
				   "there on the new timeline.",
				   rv->co->slot);
	}
	if (st != NULL && (known == NULL || strcmp(known, tli) != 0))
	{
		state_set_meta(st, "cdc_source_timeline", tli);
	}
	free(known);
	free(rv->timeline);
	rv->timeline = tli;
	return true;
}

/* START_REPLICATION found no slot (42704): what is lost and how to start over. */
static void
recv_slot_lost(Receiver *rv)
{
	char pos[32];
	lsn_format(rv->written_commit, pos, sizeof(pos));
	log_detail(LOG_LEVEL_ERROR,
			   "The slot \"%s\" held the source's changes after %s, the last one in the journal. "
			   "It was dropped, or the source failed over to a server that does not have it: the "
			   "changes made since then cannot be received any more, so this follower stops "
			   "rather than go on from another position.",
			   rv->co->slot, pos);
	log_hint(LOG_LEVEL_ERROR,
			 "Start over: \"pgshift stream cleanup\", then \"pgshift clone --follow --restart\" "
			 "(a new copy under a new slot).");
}

/*
 * One replication session from start: connect, START_REPLICATION, receive
 * until the end, a stop or an error. On an error, its SQLSTATE and message
 * are kept in rv for the retry decision (the connection is gone by then).
 */
static bool
recv_session(Receiver *rv, Lsn start)
{
	const CdcOptions *co = rv->co;
	rv->in_txn = false;
	rv->stream_ended = false;
	rv->want_reply = false;
	rv->stream_pos = start;
	bool ok = pg_connect_replication(&rv->c, co->source, "source", "receive") &&
			  recv_check_timeline(rv) &&
			  cdc_plugin_start(&rv->c, co->plugin, co->slot, start, co->publication);
	bool started = ok;
	if (ok)
	{
		char startbuf[32];
		lsn_format(start, startbuf, sizeof(startbuf));
		log_info("receiving changes from slot \"%s\" (%s) from %s into \"%s\"", co->slot,
				 cdc_plugin_name(co->plugin), startbuf, co->journal_dir);
		cdc_retry_ok(&rv->retry);
		if (co->plugin == CDC_PLUGIN_PGOUTPUT)
		{
			/* per session: the source streams an open transaction again from its start */
			stream_spool_init(&rv->spool, co->journal_dir);
		}
	}
	else if (strcmp(rv->c.sqlstate, "42704") == 0 && rv->c.errmsg != NULL &&
			 strstr(rv->c.errmsg, "replication slot") != NULL)
	{
		recv_slot_lost(rv);
	}
	while (ok && !rv->stream_ended && !atomic_load(&rv->sh->stop) && !signals_interrupted())
	{
		ok = recv_report(rv);
		if (!rv->in_txn)
		{
			/* an end position set after the stream got there (cutover) */
			check_endpos(rv, rv->stream_pos);
		}
		if (!ok || rv->reached_end)
		{
			break;
		}
		if (cdc_space_low(&rv->space, co->journal_dir, co->journal_min_free, rv->sh))
		{
			usleep(100000); /* the status updates above go on: the walsender waits */
			continue;
		}
		ok = recv_step(rv);
	}
	if (ok && rv->stream_ended && !rv->reached_end)
	{
		/* a walsender ends its stream cleanly when its server shuts down */
		ok = false;
		pg_clear_error(&rv->c);
		snprintf(rv->c.sqlstate, sizeof(rv->c.sqlstate), "57P01");
		rv->c.errmsg = xstrdup("the source ended the replication stream (shutting down)");
	}
	/* the error that ended the session, before the last words can add another */
	snprintf(rv->sqlstate, sizeof(rv->sqlstate), "%s", rv->c.sqlstate);
	free(rv->errmsg);
	rv->errmsg = rv->c.errmsg ? xstrdup(rv->c.errmsg) : NULL;
	if (started)
	{
		rv->c.quiet_errors = !ok;
		recv_finish(rv);
	}
	stream_spool_close(&rv->spool);
	pg_disconnect(&rv->c);
	return ok;
}

/*
 * Sessions until the end, a stop, or an error no new session gets past: a
 * new one starts where the journal's last complete transaction (or
 * keepalive) ends. What a lost session left of a transaction stays in the
 * journal and is followed by the whole transaction again; the applier drops
 * the partial one when it meets the second BEGIN.
 */
static bool
cdc_receive_loop(const CdcOptions *co, CdcShared *sh, Lsn startpos, JournalWriter *jwp,
				 Lsn last_commit_end)
{
	Receiver rv = { .co = co, .sh = sh, .jw = *jwp, .journal_ok = true };
	rv.written_commit = rv.flushed = last_commit_end;
	cdc_retry_init(&rv.retry, "source", co->retry_timeout, sh);
	bool ok;
	for (;;)
	{
		Lsn start = rv.written_commit > startpos ? rv.written_commit : startpos;
		ok = recv_session(&rv, start);
		if (ok || !rv.journal_ok || !cdc_retry_wait(&rv.retry, rv.sqlstate, rv.errmsg))
		{
			break;
		}
	}
	relmsgs_free(&rv.relmsgs);
	free(rv.errmsg);
	free(rv.timeline);
	*jwp = rv.jw;
	return ok;
}

bool
cdc_receive(const CdcOptions *co, CdcShared *sh, Lsn startpos, JournalWriter *jw,
			Lsn last_commit_end)
{
	bool ok = cdc_receive_loop(co, sh, startpos, jw, last_commit_end);
	journal_writer_close(jw);
	/* whatever the way out, the applier must know the receiver is gone */
	if (!ok)
	{
		atomic_store(&sh->receiver_failed, 1);
	}
	atomic_store(&sh->receiver_done, 1);
	return ok;
}
