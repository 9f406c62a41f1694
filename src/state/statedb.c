/*
 * src/state/statedb.c — state.db: schema, versioning and locked access.
 *
 * One sqlite3 handle per process, serialised by a mutex: every thread writes
 * through it, so there is never more than one writer. WAL mode lets a second
 * process (`list progress`) read while a run writes. busy_timeout covers
 * that reader's short locks.
 */
#include "state/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static const char *const g_schema_v1 =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS steps(name TEXT PRIMARY KEY, status TEXT NOT NULL,"
	"  started_at INTEGER, finished_at INTEGER, duration REAL);"
	"CREATE TABLE IF NOT EXISTS tables(oid INTEGER PRIMARY KEY, nspname TEXT NOT NULL,"
	"  relname TEXT NOT NULL, relkind TEXT NOT NULL, persistence TEXT, parent_oid INTEGER,"
	"  bytes INTEGER, reltuples REAL, relpages INTEGER, copy_columns TEXT, select_columns TEXT,"
	"  binary_ok INTEGER NOT NULL DEFAULT 0, excluded INTEGER NOT NULL DEFAULT 0,"
	"  exclude_data INTEGER NOT NULL DEFAULT 0, nparts INTEGER NOT NULL DEFAULT 1);"
	"CREATE TABLE IF NOT EXISTS indexes(oid INTEGER PRIMARY KEY, table_oid INTEGER NOT NULL,"
	"  nspname TEXT NOT NULL, relname TEXT NOT NULL, indexdef TEXT NOT NULL,"
	"  conoid INTEGER, conname TEXT, contype TEXT, condef TEXT, condeferrable INTEGER,"
	"  condeferred INTEGER, bytes INTEGER, excluded INTEGER NOT NULL DEFAULT 0,"
	"  isclustered INTEGER NOT NULL DEFAULT 0, isreplident INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS constraints(oid INTEGER PRIMARY KEY, table_oid INTEGER NOT NULL,"
	"  conname TEXT NOT NULL, contype TEXT NOT NULL, condef TEXT NOT NULL,"
	"  ref_table_oid INTEGER, excluded INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS sequences(oid INTEGER PRIMARY KEY, nspname TEXT NOT NULL,"
	"  relname TEXT NOT NULL, last_value TEXT, is_called INTEGER, owner_table_oid INTEGER,"
	"  owner_column TEXT, is_identity INTEGER NOT NULL DEFAULT 0,"
	"  excluded INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS extensions(oid INTEGER PRIMARY KEY, extname TEXT NOT NULL,"
	"  extversion TEXT, nspname TEXT);"
	"CREATE TABLE IF NOT EXISTS collations(oid INTEGER PRIMARY KEY, nspname TEXT NOT NULL,"
	"  collname TEXT NOT NULL, provider TEXT, collcollate TEXT, collctype TEXT);"
	"CREATE TABLE IF NOT EXISTS large_objects(batch INTEGER PRIMARY KEY, min_oid INTEGER,"
	"  max_oid INTEGER, count INTEGER, bytes INTEGER);"
	"CREATE TABLE IF NOT EXISTS tasks(id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
	"  obj_oid INTEGER NOT NULL, part INTEGER NOT NULL DEFAULT 0, label TEXT,"
	"  status TEXT NOT NULL DEFAULT 'queued', started_at INTEGER, finished_at INTEGER,"
	"  duration REAL, bytes INTEGER, rows INTEGER, target_xid TEXT,"
	"  attempts INTEGER NOT NULL DEFAULT 0, error TEXT, sql TEXT, worker TEXT,"
	"  UNIQUE(kind, obj_oid, part));"
	"CREATE TABLE IF NOT EXISTS sentinel(id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  startpos TEXT, endpos TEXT, apply INTEGER NOT NULL DEFAULT 0, write_lsn TEXT,"
	"  flush_lsn TEXT, replay_lsn TEXT, updated_at INTEGER);";

/* version 2: per index, the key columns sorted under a libc collation other than C */
static const char *const g_schema_v2 =
	"ALTER TABLE indexes ADD COLUMN slow_keys INTEGER NOT NULL DEFAULT 0;";

bool
state_exec_raw(sqlite3 *db, const char *name, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
	{
		log_error("state.db: %s: %s", name, err ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return false;
	}
	return true;
}

const char *
state_sqlite_version(void)
{
	return sqlite3_libversion();
}

static StateDb *
state_open_flags(const char *path, int flags)
{
	sqlite3 *db = NULL;
	if (sqlite3_libversion_number() < 3035000)
	{
		log_error("SQLite %s is too old: 3.35 or later is required", sqlite3_libversion());
		return NULL;
	}
	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK ||
		sqlite3_busy_timeout(db, 10000) != SQLITE_OK)
	{
		log_error("could not open state database \"%s\": %s", path,
				  db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	StateDb *s = xcalloc(1, sizeof(StateDb));
	s->db = db;
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&s->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return s;
}

StateDb *
state_open(const char *path)
{
	StateDb *s = state_open_flags(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (s == NULL)
	{
		return NULL;
	}
	if (!state_exec_raw(s->db, "open",
						"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
						"PRAGMA foreign_keys=OFF;"))
	{
		state_close(s);
		return NULL;
	}
	int version = (int) state_query_int(s, "PRAGMA user_version", 0, NULL, -1);
	if (version < 0)
	{
		state_close(s);
		return NULL;
	}
	if (version > STATE_SCHEMA_VERSION)
	{
		log_error("state database \"%s\" has schema version %d, newer than this pgshift (%d)", path,
				  version, STATE_SCHEMA_VERSION);
		log_hint(LOG_LEVEL_ERROR, "Use the pgshift version that created it, or --restart.");
		state_close(s);
		return NULL;
	}
	if (version < STATE_SCHEMA_VERSION)
	{
		/* each version's changes in order, from what the file has */
		char *sql = xasprintf("BEGIN; %s %s PRAGMA user_version = %d; COMMIT;",
							  version < 1 ? g_schema_v1 : "", version < 2 ? g_schema_v2 : "",
							  STATE_SCHEMA_VERSION);
		bool ok = state_exec_raw(s->db, "schema upgrade", sql);
		free(sql);
		if (!ok)
		{
			state_close(s);
			return NULL;
		}
	}
	return s;
}

StateDb *
state_open_readonly(const char *path)
{
	if (!file_exists(path))
	{
		log_error("no state database at \"%s\"", path);
		return NULL;
	}
	return state_open_flags(path, SQLITE_OPEN_READONLY);
}

void
state_close(StateDb *s)
{
	if (s == NULL)
	{
		return;
	}
	/* SQLITE_BUSY here means a statement was never finished: a bug worth a line */
	if (sqlite3_close(s->db) != SQLITE_OK)
	{
		log_error("state.db: close: %s", sqlite3_errmsg(s->db));
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

sqlite3 *
state_lock(StateDb *s)
{
	pthread_mutex_lock(&s->lock);
	return s->db;
}

void
state_unlock(StateDb *s)
{
	pthread_mutex_unlock(&s->lock);
}

/* Prepares sql with its text parameters (NULL = SQL NULL); the statement is named by its SQL. */
static StateStmt *
state_prepare_text(StateDb *s, const char *sql, int nparams, const char *const *params)
{
	StateStmt *st = state_stmt_prepare(s, "statement", sql);
	for (int i = 0; i < nparams; i++)
	{
		state_stmt_bind_text(st, i + 1, params[i]);
	}
	return st;
}

bool
state_exec(StateDb *s, const char *sql, int nparams, const char *const *params)
{
	StateStmt *st = state_prepare_text(s, sql, nparams, params);
	while (state_stmt_step(st) == 1)
	{
	}
	return state_stmt_finish(st);
}

int64_t
state_query_int(StateDb *s, const char *sql, int nparams, const char *const *params, int64_t def)
{
	StateStmt *st = state_prepare_text(s, sql, nparams, params);
	int64_t v = def;
	if (state_stmt_step(st) == 1 && !state_stmt_is_null(st, 0))
	{
		v = state_stmt_int64(st, 0);
	}
	return state_stmt_finish(st) ? v : def;
}

char *
state_query_text(StateDb *s, const char *sql, int nparams, const char *const *params)
{
	StateStmt *st = state_prepare_text(s, sql, nparams, params);
	char *v = NULL;
	if (state_stmt_step(st) == 1)
	{
		v = state_stmt_text_dup(st, 0);
	}
	if (!state_stmt_finish(st))
	{
		free(v);
		v = NULL;
	}
	return v;
}
bool
state_set_meta(StateDb *s, const char *key, const char *value)
{
	const char *p[] = { key, value };
	return state_exec(s,
					  "INSERT INTO meta(key, value) VALUES (?1, ?2) "
					  "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
					  2, p);
}

char *
state_get_meta(StateDb *s, const char *key)
{
	const char *p[] = { key };
	return state_query_text(s, "SELECT value FROM meta WHERE key = ?1", 1, p);
}

bool
state_clear_meta(StateDb *s, const char *prefix)
{
	/* prefix is ours ("cdc_"): no LIKE wildcard in it but the one added */
	const char *p[] = { prefix };
	return state_exec(s, "DELETE FROM meta WHERE substr(key, 1, length(?1)) = ?1", 1, p);
}

bool
state_step_start(StateDb *s, const char *name)
{
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long) time_wall_us());
	const char *p[] = { name, now };
	return state_exec(s,
					  "INSERT INTO steps(name, status, started_at) VALUES (?1, 'running', ?2) "
					  "ON CONFLICT(name) DO UPDATE SET status = 'running', started_at = ?2, "
					  "finished_at = NULL, duration = NULL",
					  2, p);
}

bool
state_step_done(StateDb *s, const char *name, bool ok)
{
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long) time_wall_us());
	const char *p[] = { name, now, ok ? "done" : "failed" };
	return state_exec(s,
					  "UPDATE steps SET status = ?3, finished_at = ?2, "
					  "duration = (?2 - started_at) / 1e6 WHERE name = ?1",
					  3, p);
}

bool
state_step_is_done(StateDb *s, const char *name)
{
	const char *p[] = { name };
	return state_query_int(s, "SELECT count(*) FROM steps WHERE name = ?1 AND status = 'done'", 1,
						   p, 0) > 0;
}

bool
state_reset(StateDb *s)
{
	sqlite3 *db = state_lock(s);
	bool ok = state_exec_raw(
		db, "reset",
		"BEGIN; DELETE FROM meta; DELETE FROM steps; DELETE FROM tables; DELETE FROM indexes;"
		"DELETE FROM constraints; DELETE FROM sequences; DELETE FROM extensions;"
		"DELETE FROM collations; DELETE FROM large_objects; DELETE FROM tasks;"
		"DELETE FROM sentinel; COMMIT;");
	if (!ok && !sqlite3_get_autocommit(db))
	{
		(void) state_exec_raw(db, "reset", "ROLLBACK");
	}
	state_unlock(s);
	return ok;
}
