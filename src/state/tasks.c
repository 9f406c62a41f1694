/*
 * src/state/tasks.c — the tasks table of state.db: a clone's task graph and
 * what became of each task.
 *
 * A task is known by (kind, object oid, part), the same in every run of a
 * work directory, so that --resume finds what an earlier run did and `list
 * progress` can read a running one. Once recorded done, a task stays done:
 * recording the graph again (resume) never turns it back to queued. Every
 * SQLite call is checked and a failure is logged here once, with the
 * statement it came from; the caller only learns that it failed.
 */
#include "state/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static const char *const g_status_names[] = { "queued", "done", "failed" };

/* Logs the handle's last error with what was being done; returns false. */
static bool
tasks_error(sqlite3 *db, const char *what)
{
	log_error("state.db: %s", sqlite3_errmsg(db));
	log_detail(LOG_LEVEL_ERROR, "while %s in the tasks table", what);
	return false;
}

/* The end of every function here: the error logged once, the statement and the lock let go. */
static bool
tasks_done_with(StateDb *s, sqlite3 *db, sqlite3_stmt *st, bool ok, const char *what)
{
	if (!ok)
	{
		tasks_error(db, what);
	}
	sqlite3_finalize(st);
	state_unlock(s);
	return ok;
}

static bool
bind_key(sqlite3_stmt *st, const StateTaskKey *key)
{
	return sqlite3_bind_text(st, 1, key->kind, -1, SQLITE_STATIC) == SQLITE_OK &&
		   sqlite3_bind_int64(st, 2, key->obj_oid) == SQLITE_OK &&
		   sqlite3_bind_int(st, 3, key->part) == SQLITE_OK;
}

/* NULL binds SQL NULL */
static bool
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return (s == NULL ? sqlite3_bind_null(st, i)
					  : sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT)) == SQLITE_OK;
}

/* One row written by a prepared statement, then reset for the next. */
static bool
step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	return sqlite3_reset(st) == SQLITE_OK && rc == SQLITE_DONE;
}

static bool
exec_plain(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

bool
state_tasks_record(StateDb *s, const StateTaskRow *rows, int n)
{
	sqlite3 *db = state_lock(s);
	sqlite3_stmt *st = NULL;
	bool ok = exec_plain(db, "BEGIN");
	if (!ok)
	{
		tasks_error(db, "beginning to record the graph");
		state_unlock(s);
		return false;
	}
	ok = sqlite3_prepare_v2(
			 db,
			 "INSERT INTO tasks(kind, obj_oid, part, label, status) VALUES (?1, ?2, ?3, ?4, ?5) "
			 "ON CONFLICT(kind, obj_oid, part) DO UPDATE SET label = excluded.label, "
			 "status = CASE WHEN tasks.status = 'done' THEN 'done' ELSE excluded.status END",
			 -1, &st, NULL) == SQLITE_OK;
	for (int i = 0; ok && i < n; i++)
	{
		ok = bind_key(st, &rows[i].key) && bind_text(st, 4, rows[i].label) &&
			 sqlite3_bind_text(st, 5, rows[i].done ? "done" : "queued", -1, SQLITE_STATIC) ==
				 SQLITE_OK &&
			 step_done(st);
	}
	if (!ok)
	{
		tasks_error(db, "recording the graph");
	}
	sqlite3_finalize(st);
	if (ok && !exec_plain(db, "COMMIT"))
	{
		ok = tasks_error(db, "committing the graph");
	}
	if (!ok)
	{
		exec_plain(db, "ROLLBACK");
	}
	state_unlock(s);
	return ok;
}

bool
state_task_start(StateDb *s, const StateTaskKey *key, const char *worker)
{
	sqlite3 *db = state_lock(s);
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(db,
								 "UPDATE tasks SET status = 'running', started_at = ?4, "
								 "finished_at = NULL, worker = ?5, attempts = attempts + 1, "
								 "error = NULL WHERE kind = ?1 AND obj_oid = ?2 AND part = ?3",
								 -1, &st, NULL) == SQLITE_OK &&
			  bind_key(st, key) && sqlite3_bind_int64(st, 4, time_wall_us()) == SQLITE_OK &&
			  bind_text(st, 5, worker) && step_done(st);
	return tasks_done_with(s, db, st, ok, "starting a task");
}

bool
state_task_end(StateDb *s, const StateTaskKey *key, const StateTaskResult *r)
{
	sqlite3 *db = state_lock(s);
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(
				  db,
				  "UPDATE tasks SET status = ?5, finished_at = ?4, duration = ?6, bytes = ?7, "
				  "rows = ?8, error = ?9, sql = ?10 WHERE kind = ?1 AND obj_oid = ?2 AND part = ?3",
				  -1, &st, NULL) == SQLITE_OK &&
			  bind_key(st, key) && sqlite3_bind_int64(st, 4, time_wall_us()) == SQLITE_OK &&
			  sqlite3_bind_text(st, 5, g_status_names[r->status], -1, SQLITE_STATIC) == SQLITE_OK &&
			  sqlite3_bind_double(st, 6, r->duration) == SQLITE_OK &&
			  sqlite3_bind_int64(st, 7, r->bytes) == SQLITE_OK &&
			  sqlite3_bind_int64(st, 8, r->rows) == SQLITE_OK && bind_text(st, 9, r->error) &&
			  bind_text(st, 10, r->sql) && step_done(st);
	return tasks_done_with(s, db, st, ok, "ending a task");
}

bool
state_tasks_done(StateDb *s, const StateTaskKey *keys, int n, bool *done)
{
	sqlite3 *db = state_lock(s);
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(
				  db, "SELECT status FROM tasks WHERE kind = ?1 AND obj_oid = ?2 AND part = ?3", -1,
				  &st, NULL) == SQLITE_OK;
	for (int i = 0; ok && i < n; i++)
	{
		done[i] = false;
		ok = bind_key(st, &keys[i]);
		int rc = ok ? sqlite3_step(st) : SQLITE_ERROR;
		if (rc == SQLITE_ROW)
		{
			const unsigned char *status = sqlite3_column_text(st, 0);
			done[i] = status != NULL && strcmp((const char *) status, "done") == 0;
		}
		ok = ok && (rc == SQLITE_ROW || rc == SQLITE_DONE) && sqlite3_reset(st) == SQLITE_OK;
	}
	return tasks_done_with(s, db, st, ok, "reading what is done");
}
