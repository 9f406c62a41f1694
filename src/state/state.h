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

/* ---- sentinel (state/sentinel.c) ---- */

/*
 * The follower's positions (LSNs as integers; 0 = not set). endpos is read
 * by the follower only (cdc/follow.c), which publishes it to its threads.
 */
typedef struct Sentinel
{
	uint64_t startpos;
	uint64_t endpos;
	bool apply;
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
