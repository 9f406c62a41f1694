/*
 * src/cdc/cdc_int.h — what the files of src/cdc/ share, and no one else.
 *
 * decoder.c holds the common parts (tuples, the relation cache) and the
 * pgoutput decoder; decode_td.c (test_decoding) and decode_w2j.c (wal2json)
 * build the same CdcMessage from their plugin's text; apply_sql.c writes the
 * applier's statements. Not part of cdc.h: no other folder decodes plugin
 * messages or applies them.
 */
#ifndef PGSHIFT_CDC_INT_H
#define PGSHIFT_CDC_INT_H

#include "cdc/cdc.h"

/* A big-endian 64-bit integer of the replication protocol (plugin.c). */
uint64_t cdc_get_be64(const char *b);
uint32_t cdc_get_be32(const char *b);

/* ---- tuples (decoder.c) ---- */
void tuple_reset(CdcTuple *t, int ncols);
/* kind 't': val[0..len) is copied, NUL-terminated; 'n', 'u': no value */
void tuple_add(CdcTuple *t, char kind, const char *val, size_t len);
/* Points values[] into the store: call once every column is added. */
void tuple_finish(CdcTuple *t);
void tuple_free(CdcTuple *t);
/*
 * Replaces t (whose columns are named by names) with one column per column
 * of r, in r's order: a column t does not name is 'u' (not part of the key,
 * or an unchanged TOAST value).
 */
void tuple_spread(CdcTuple *t, const StrList *names, const CdcRelation *r);

/* ---- relations (decoder.c) ---- */
/* The relation of that name, created (without columns) the first time. */
CdcRelation *decoder_relation(CdcDecoder *d, const char *nsp, const char *rel);
/* Makes r's columns those named (version bumped and keys forgotten on change). */
void relation_set_columns(CdcRelation *r, const StrList *names);

/* ---- the text plugins ---- */
bool decode_test_decoding(CdcDecoder *d, const char *data, uint32_t len, Lsn wal_start,
						  CdcMessage *m);
bool decode_wal2json(CdcDecoder *d, const char *data, uint32_t len, CdcMessage *m);
void wal2json_free(CdcDecoder *d);
/* A wal2json COMMIT ("action":"C"): its "lsn" and "nextlsn"; false if malformed. */
bool wal2json_commit_lsns(const char *data, uint32_t len, Lsn *commit_lsn, Lsn *end_lsn);

/* ---- the applier's statements (apply_sql.c) ---- */
/*
 * The SQL of an INSERT ('I'), UPDATE ('U') or DELETE ('D') of r into sql;
 * returns the number of parameters, map[i] being the column of parameter i
 * (>= r->ncols: column map[i] - r->ncols of the old tuple). mask, one char
 * per column: 's' set/insert the value, '-' absent; then one per column for
 * the WHERE part: 'k' key from the old tuple, 'n' key from the new tuple,
 * 'z' IS NULL.
 */
int apply_sql_build(const CdcRelation *r, char kind, const char *mask, StrBuf *sql, int *map);

/* ---- reconnecting (retry.c) ---- */
typedef struct CdcRetry
{
	const char *side;      /* "source" (the receiver) or "target" (the applier) */
	double timeout;        /* --retry-timeout in seconds; 0: forever */
	CdcShared *sh;         /* stop flag; reconnect counters; gave_up */
	atomic_int *also_stop; /* another reason to stop waiting (may be NULL) */
	double failing_since;  /* time_now() of the outage's first failure; 0: none */
	double delay;          /* the next nominal delay */
	int attempts;
	bool ever_ok; /* a session worked in this process (a slot in use is then transient) */
	unsigned int seed;
} CdcRetry;

void cdc_retry_init(CdcRetry *r, const char *side, double timeout, CdcShared *sh);
/* A failure a new session may get past: connection class, too many clients, origin in use. */
bool cdc_retry_retryable(const char *sqlstate);
/*
 * After a failed session: true once the backoff delay has passed (logged with
 * the reason and the delay), so the caller runs its session again; false
 * when the error is not retryable, the follower stops, or --retry-timeout is
 * spent (logged; CdcShared.gave_up set).
 */
bool cdc_retry_wait(CdcRetry *r, const char *sqlstate, const char *errmsg);
/* The session works again: the outage (if any) is over, logged with its length. */
void cdc_retry_ok(CdcRetry *r);
/* ---- back-pressure (backpressure.c) ---- */
typedef struct CdcSpace
{
	double checked; /* time_now() of the last statvfs */
	bool paused;
	bool warned;
} CdcSpace;
/* The free bytes under which receiving pauses: min_free, or (-1) min(1 GiB, 5% of fs_bytes). */
int64_t cdc_space_threshold(int64_t min_free, int64_t fs_bytes);
/* true while dir's filesystem has less free space than the threshold (logged on each change). */
bool cdc_space_low(CdcSpace *s, const char *dir, int64_t min_free, CdcShared *sh);

/* ---- watching (metrics.c) ---- */
/* Serves GET /metrics on 127.0.0.1:port from a thread; NULL (logged) when it cannot listen. */
void *cdc_metrics_start(int port, const CdcShared *sh, const char *journal_dir);
void cdc_metrics_stop(void *server);
/* The last error either side met, for the metrics page. */
void cdc_metrics_note_error(const char *side, const char *sqlstate, const char *msg);

/* pg_replication_origin_session_setup failed on c: the detail and hint for its cause. */
void cdc_origin_setup_failed(const PgConn *c, const char *origin);
/* ---- captured DDL (ddl_text.c) ---- */
/* Appends each statement of sql (split at its top-level semicolons) to out. */
void ddl_split_statements(const char *sql, StrList *out);
/*
 * true when stmt's leading keywords are those of the command tag ("CREATE
 * INDEX" for CREATE UNIQUE INDEX ..., modifiers such as OR REPLACE, TEMP,
 * UNLOGGED skipped).
 */
bool ddl_statement_has_tag(const char *stmt, const char *tag);
/* ---- the target's triggers without session_replication_role (apply_triggers.c) ---- */
/*
 * On the applier's session: SET session_replication_role = replica, or when
 * the role may not, disable the enabled user triggers of the tables applied
 * to (recorded in state.db first). false: the applier cannot start.
 */
bool cdc_triggers_begin(PgConn *c, const CdcOptions *co);
/*
 * When applying starts after a pause (pgcopydb's prefetch: the copy's
 * post-data may have restored triggers since): the same on a connection of
 * its own.
 */
bool cdc_triggers_refresh(const CdcOptions *co);
/* Enables again what a degraded applier (this one, or one that crashed) disabled. */
bool cdc_triggers_restore(PgConn *c, StateDb *state);
/* Same on a connection of its own (the applier's may be in a broken pipeline). */
void cdc_triggers_end(const CdcOptions *co);

#endif /* PGSHIFT_CDC_INT_H */
