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
 */
#ifndef PGSHIFT_STATE_H
#define PGSHIFT_STATE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#if SQLITE_VERSION_NUMBER < 3035000
#error "SQLite 3.35 or later is required (RETURNING)"
#endif

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

typedef struct StateDb StateDb;

/* Opens (creating or upgrading the schema) state.db. */
StateDb *state_open(const char *path);
StateDb *state_open_readonly(const char *path);
void state_close(StateDb *db);

/* Locked access for modules that run their own statements. */
sqlite3 *state_lock(StateDb *db);
void state_unlock(StateDb *db);

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

/* steps: "catalog", "dump-schema", "pre-data", ... */
bool state_step_start(StateDb *db, const char *name);
bool state_step_done(StateDb *db, const char *name, bool ok);
bool state_step_is_done(StateDb *db, const char *name);

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

#endif /* PGSHIFT_STATE_H */
