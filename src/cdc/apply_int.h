/*
 * src/cdc/apply_int.h — the applier's state, shared by apply.c (the journal
 * replayed in pipeline mode) and apply_ddl.c (captured DDL, --ddl). Nothing
 * outside these two files sees it.
 */
#ifndef PGSHIFT_APPLY_INT_H
#define PGSHIFT_APPLY_INT_H

#include "cdc/cdc.h"

typedef struct Stmt
{
	struct Stmt *next;
	char kind;  /* 'I', 'U', 'D' */
	char *mask; /* which columns take part: one char per column */
	char *name;
	int nparams;
	int *map; /* parameter i <- column map[i] (>= ncols: old tuple column - ncols) */
	int version;
	char *sql; /* for error messages */
} Stmt;

typedef struct Pending
{
	char what; /* 'q' query, 's' sync */
	Lsn lsn;   /* source LSN of the change or the commit's end */
	Lsn commit_end;
	uint32_t segno;
	char *desc;        /* for error messages: owned (rare statements), or NULL */
	const char *cdesc; /* ... or a constant string */
	const Stmt *stmt;  /* ... or the prepared statement of a change */
	PGresult **out;    /* apply_catalog_query: the result is kept there */
} Pending;

typedef struct Applier
{
	const CdcOptions *co;
	CdcShared *sh;
	PgConn c;
	PgConn meta; /* catalog look-ups, outside the pipeline */
	Pending *q;
	int qcap, qhead, qlen;
	bool failed;
	int nstmts;
	Lsn progress; /* origin progress at start */
	Lsn applied;
	Lsn keepalive_lsn; /* the last keepalive read outside a transaction */
	int64_t txns;
	int64_t rows;
	int64_t cur_ts;
	uint32_t confirmed_segno;
	const char **vals; /* parameter values of one change, reused */
	int valscap;
	char *mask; /* statement shape of one change, reused */
	int maskcap;
	/* the journal, read and decoded */
	JournalReader jr;
	CdcDecoder dec;
	CdcMessage m;
	bool in_txn;
	bool skipping; /* a transaction the target has already */
	bool done;     /* the end position is reached */
	bool past_progress;
	double last_sentinel;
	uint32_t pruned_before;
	int idle_rounds;
	bool paused; /* the sentinel said prefetch only (logged once per change) */
	/*
	 * test_decoding: a BEGIN put back until its COMMIT is in the journal. The
	 * round after goes through the idle path (results, receiver state), and
	 * reading that BEGIN again is not progress.
	 */
	enum
	{
		READ,      /* read the next frame */
		IDLE_ONCE, /* a BEGIN was put back: one round on the idle path first */
		REREAD     /* the next frame is that BEGIN again */
	} next;
	/*
	 * TRUNCATE messages of one statement, joined into one TRUNCATE (wal2json
	 * sends one message per table: tables linked by foreign keys must go
	 * together).
	 */
	CdcRelation **trunc;
	int ntrunc;
	int trunc_cap;
	uint8_t trunc_flags;
	Lsn trunc_lsn;
	/* --ddl (apply_ddl.c) */
	bool ddl_in_txn; /* a captured statement ran in this transaction */
	struct ApplyDdl *ddl;
} Applier;

/* ---- apply.c ---- */
/* Sends a statement in the pipeline; sql must outlive the result (a constant), or be copied. */
bool apply_send_query(Applier *a, const char *sql, int n, const char *const *vals, Lsn lsn,
					  bool copy_sql);
/*
 * A catalog look-up on the target: on the look-up connection, or, once a
 * captured statement ran in the open transaction (whose effects only that
 * transaction sees), in the pipeline, waiting for its result. NULL on error
 * (logged, a->failed set).
 */
PGresult *apply_catalog_query(Applier *a, const char *sql, int n, const char *const *p);

/* ---- apply_ddl.c ---- */
/*
 * A change of pgshift.ddl_log (--ddl): replays the captured statement, or
 * reports it. *apply_row: the row itself is to be applied too (the target
 * has that table). false on failure (a->failed set).
 */
bool apply_ddl_change(Applier *a, const CdcMessage *m, Lsn lsn, bool *apply_row);
/* true for pgshift.ddl_log */
bool apply_ddl_is_log(const CdcRelation *r);
/*
 * A change the target rejected (sqlstate): when it says a table or column is
 * missing, the source's schema changed: says so (table, change, what to do)
 * and returns true.
 */
bool apply_ddl_explain_error(Applier *a, const char *sqlstate);
/* The target lacks table qname that the stream changes: reported, a->failed set. */
void apply_ddl_missing_table(Applier *a, const char *qname);
void apply_ddl_free(Applier *a);

#endif /* PGSHIFT_APPLY_INT_H */
