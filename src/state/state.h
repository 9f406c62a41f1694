/*
 * src/state/state.h — the work directory and its state.db.
 *
 * Layout of --dir:
 *   pgshift.pid   the running process (flock'ed: a dead owner frees it)
 *   pgshift.log   every log line of every run, appended
 *   state.db      SQLite, WAL mode: settings, catalog, tasks, steps, CDC positions
 *   schema/       pg_dump archive and the pg_restore lists
 *   cdc/          change journal segments
 *   summary.json  the last run's summary
 *
 * state.db has one connection per process, used under a mutex by all threads:
 * one writer at a time by construction, never "database is locked".
 *
 * Only src/state/ talks to SQLite (sqlite3.h is included by
 * src/state/internal.h alone): modules above it use the typed functions
 * below, or keep their own SQL and run it through a StateStmt, which checks
 * every SQLite return code and logs the first failure once, with the
 * statement's name.
 */
#ifndef PGSHIFT_STATE_H
#define PGSHIFT_STATE_H

#include <stdbool.h>
#include <stdint.h>

#define STATE_SCHEMA_VERSION 2

typedef struct WorkDir
{
	char *path;
	char *schema_dir;
	char *cdc_dir;
	char *pid_file;
	char *log_file;
	char *state_file;
	char *summary_file;
	int pid_fd;
} WorkDir;

/*
 * Creates the directory tree (0700), takes the pid-file lock and opens the log
 * file. A live pgshift holding the lock is an error naming its pid; a stale
 * pid file is taken over.
 */
bool workdir_open(WorkDir *w, const char *path);
/* Like workdir_open but without taking the lock (list progress, readers). */
bool workdir_open_readonly(WorkDir *w, const char *path);
void workdir_close(WorkDir *w);
/* Whether another process holds the lock of pid_file (a work directory's or snapshot.pid). */
bool workdir_lock_held(const char *pid_file);

typedef struct StateDb StateDb;

/* Opens (creating or upgrading the schema) state.db. */
StateDb *state_open(const char *path);
StateDb *state_open_readonly(const char *path);
void state_close(StateDb *db);

/* "3.40.1": the SQLite library linked in (pgshift version). */
const char *state_sqlite_version(void);

/*
 * A transaction: state_begin takes the database lock and holds it until
 * state_commit or state_rollback, so no other thread's statement lands in
 * the middle. A failed COMMIT is rolled back. Each returns false on error
 * (logged).
 */
bool state_begin(StateDb *db);
bool state_commit(StateDb *db);
bool state_rollback(StateDb *db);

/*
 * A prepared statement with checked steps, for modules that keep their own
 * SQL. It holds the database lock from prepare to finish (the lock is
 * recursive: statements nest inside state_begin/commit and each other in
 * one thread), so keep it short. name ("catalog tables") names it in every
 * message. The first failure is logged once, then every call on the
 * statement is a no-op that reports failure: callers check the result of
 * state_stmt_step and state_stmt_finish only. A NULL statement (prepare
 * failed) is accepted everywhere as a failed one.
 *
 *   StateStmt *st = state_stmt_prepare(db, "meta value", "SELECT ...");
 *   state_stmt_bind_text(st, 1, key);
 *   while (state_stmt_step(st) == 1) { ... state_stmt_int64(st, 0) ... }
 *   ok = state_stmt_finish(st);
 */
typedef struct StateStmt StateStmt;

StateStmt *state_stmt_prepare(StateDb *db, const char *name, const char *sql);
/* Parameters are numbered from 1; text is copied; a NULL text binds SQL NULL. */
bool state_stmt_bind_text(StateStmt *st, int i, const char *v);
bool state_stmt_bind_int64(StateStmt *st, int i, int64_t v);
bool state_stmt_bind_double(StateStmt *st, int i, double v);
bool state_stmt_bind_null(StateStmt *st, int i);
/* 1: a row is ready; 0: done; -1: error (logged). */
int state_stmt_step(StateStmt *st);
/* Rewinds the statement and clears its parameters, to run it again. */
bool state_stmt_reset(StateStmt *st);
/* Columns of the current row, numbered from 0. NULL reads as 0 / NULL. */
bool state_stmt_is_null(StateStmt *st, int col);
int64_t state_stmt_int64(StateStmt *st, int col);
double state_stmt_double(StateStmt *st, int col);
/* Valid until the next step, reset or finish. */
const char *state_stmt_text(StateStmt *st, int col);
/* A copy (caller frees), or NULL. */
char *state_stmt_text_dup(StateStmt *st, int col);
/* Frees the statement and releases the lock; false if any call on it failed. */
bool state_stmt_finish(StateStmt *st);

/*
 * Runs one statement with text parameters (NULL = SQL NULL), under the lock.
 * Returns false on error (logged).
 */
bool state_exec(StateDb *db, const char *sql, int nparams, const char *const *params);
/* Single integer result of a query; def when no row. */
int64_t state_query_int(StateDb *db, const char *sql, int nparams, const char *const *params,
						int64_t def);
/* Single text result (caller frees) or NULL. */
char *state_query_text(StateDb *db, const char *sql, int nparams, const char *const *params);

/* meta key/value */
bool state_set_meta(StateDb *db, const char *key, const char *value);
char *state_get_meta(StateDb *db, const char *key);
/* Removes every key that starts with prefix. */
bool state_clear_meta(StateDb *db, const char *prefix);

/* steps: "catalog", "dump-schema", "pre-data", ... */
bool state_step_start(StateDb *db, const char *name);
bool state_step_done(StateDb *db, const char *name, bool ok);
bool state_step_is_done(StateDb *db, const char *name);

/* ---- tasks (state/tasks.c) ---- */
/* A task's key in the tasks table: (kind, object oid, part). */
typedef struct StateTaskKey
{
	const char *kind; /* "copy", "index", ... */
	int64_t obj_oid;
	int part;
} StateTaskKey;

/* One task of a clone's graph, as recorded before the run. */
typedef struct StateTaskRow
{
	StateTaskKey key;
	const char *label;
	bool done; /* done in an earlier run (resume) */
} StateTaskRow;

/* How a task ended, or went back to the queue. */
typedef enum StateTaskStatus
{
	STATE_TASK_QUEUED = 0,
	STATE_TASK_DONE,
	STATE_TASK_FAILED
} StateTaskStatus;

typedef struct StateTaskResult
{
	StateTaskStatus status;
	double duration; /* seconds */
	int64_t bytes;
	int64_t rows;
	const char *error; /* or NULL */
	const char *sql;   /* the failed statement, or NULL */
} StateTaskResult;

/*
 * Records the graph in one transaction: new tasks queued (or done), known
 * ones relabelled; a task recorded done stays done.
 */
bool state_tasks_record(StateDb *db, const StateTaskRow *rows, int n);
/* The task started in worker: running, one more attempt, no error. */
bool state_task_start(StateDb *db, const StateTaskKey *key, const char *worker);
/* The task ended (done, failed) or went back to the queue, with its results. */
bool state_task_end(StateDb *db, const StateTaskKey *key, const StateTaskResult *r);
/* Resume: done[i] is whether keys[i] was recorded done. */
bool state_tasks_done(StateDb *db, const StateTaskKey *keys, int n, bool *done);

/* Wipes the run's state (tables, tasks, steps, meta) for --restart. */
bool state_reset(StateDb *db);

/* ---- progress (state/progress.c) ---- */

/* A step of the run; times in microseconds since the epoch, 0 when not set. */
typedef struct ProgressStep
{
	char *name;
	char *status;
	int64_t started_at;
	int64_t finished_at;
	double duration; /* seconds; -1 while the step runs */
} ProgressStep;

/* A task with the table it works on (its index's or constraint's table). */
typedef struct ProgressTask
{
	char *kind;   /* "copy", "index", ... ("?" when unknown) */
	char *status; /* "queued", "running", "done", "failed" */
	char *label;
	char *worker;
	char *error;
	int64_t started_at; /* 0 when not started */
	int attempts;
	int64_t table_oid; /* 0 when none */
	int64_t ref_oid;   /* foreign key: the referenced table */
	char contype;      /* constraint task: its index's constraint type */
	int64_t bytes;     /* COPY stream of a copy task done */
	int64_t rows;
} ProgressTask;

typedef struct ProgressTable
{
	int64_t oid;
	char *nspname;
	char *relname;
	int64_t bytes;
	int nparts;
	char relkind;
} ProgressTable;

/* One table's line of the run's summary, as far as the run has got. */
typedef struct ProgressTableSummary
{
	char *nspname;
	char *relname;
	int parts;
	double copy_wall; /* seconds from its first part's start to its last part's end */
	double copy_sum;
	int64_t bytes;
	int64_t rows;
	int indexes;
	double index_sum;
	double vacuum_sum;
} ProgressTableSummary;

/* The steps, by start time. */
bool state_progress_steps(StateDb *db, ProgressStep **steps, int *n);
void state_progress_steps_free(ProgressStep *steps, int n);
/* Every task, by id. */
bool state_progress_tasks(StateDb *db, ProgressTask **tasks, int *n);
void state_progress_tasks_free(ProgressTask *tasks, int n);
/* The catalog's tables, by oid. */
bool state_progress_tables(StateDb *db, ProgressTable **tables, int *n);
void state_progress_tables_free(ProgressTable *tables, int n);
/* Per copied table: parts, copy and index times, bytes and rows; longest copy first. */
bool state_progress_table_summary(StateDb *db, ProgressTableSummary **rows, int *n);
void state_progress_table_summary_free(ProgressTableSummary *rows, int n);

/* ---- sentinel (state/sentinel.c) ---- */

/*
 * The follower's positions (LSNs as integers; 0 = not set). endpos is read
 * by the follower only (cdc/follow.c), which publishes it to its threads.
 */
typedef struct Sentinel
{
	uint64_t startpos;
	uint64_t endpos;
	bool apply;    /* applying is allowed (switched on, or never switched) */
	bool prefetch; /* switched off: changes are received, not applied */
	uint64_t write_lsn;
	uint64_t flush_lsn;
	uint64_t replay_lsn;
} Sentinel;

/* false (and *out zeroed) when there is no sentinel row yet, or on error (logged) */
bool sentinel_get(StateDb *db, Sentinel *out);
bool sentinel_set_startpos(StateDb *db, uint64_t lsn);
bool sentinel_set_endpos(StateDb *db, uint64_t lsn);
bool sentinel_set_apply(StateDb *db, bool apply);
/* Sets the positions given (0 leaves one as it is). */
bool sentinel_update_positions(StateDb *db, uint64_t write_lsn, uint64_t flush_lsn,
							   uint64_t replay_lsn);
/* Removes the row (stream cleanup). */
bool sentinel_clear(StateDb *db);

#endif /* PGSHIFT_STATE_H */
