/*
 * src/state/stmt.c — checked statements and transactions over state.db.
 *
 * Invariant: every SQLite return code is checked, and a statement's first
 * failure is logged once, naming the statement; after it the statement only
 * reports failure. Callers thus test two things (a step's -1 and finish's
 * false) instead of each bind and column call. A statement holds the
 * (recursive) database lock from prepare to finish, as a transaction does
 * from begin to commit: a multi-row read or a write and its transaction are
 * never interleaved with another thread's statements.
 */
#include "state/internal.h"

#include <stdlib.h>

#include "core/core.h"

struct StateStmt
{
	StateDb *sdb;
	sqlite3_stmt *st;
	char *name;
	bool failed;
};

/* Logs the statement's first failure; later ones are consequences of it. */
static void
stmt_fail(StateStmt *s, const char *doing)
{
	if (!s->failed)
	{
		log_error("state.db: %s: %s", s->name, sqlite3_errmsg(s->sdb->db));
		log_detail(LOG_LEVEL_ERROR, "while %s: %s", doing, sqlite3_sql(s->st));
	}
	s->failed = true;
}

StateStmt *
state_stmt_prepare(StateDb *sdb, const char *name, const char *sql)
{
	sqlite3 *db = state_lock(sdb);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
	{
		log_error("state.db: %s: %s", name, sqlite3_errmsg(db));
		log_detail(LOG_LEVEL_ERROR, "while preparing: %s", sql);
		sqlite3_finalize(st);
		state_unlock(sdb);
		return NULL;
	}
	StateStmt *s = xcalloc(1, sizeof(StateStmt));
	s->sdb = sdb;
	s->st = st;
	s->name = xstrdup(name);
	return s;
}

static bool
stmt_bound(StateStmt *s, int rc)
{
	if (rc != SQLITE_OK)
	{
		stmt_fail(s, "binding a parameter of");
		return false;
	}
	return true;
}

bool
state_stmt_bind_text(StateStmt *s, int i, const char *v)
{
	if (s == NULL || s->failed)
	{
		return false;
	}
	return stmt_bound(s, v == NULL ? sqlite3_bind_null(s->st, i)
								   : sqlite3_bind_text(s->st, i, v, -1, SQLITE_TRANSIENT));
}

bool
state_stmt_bind_int64(StateStmt *s, int i, int64_t v)
{
	if (s == NULL || s->failed)
	{
		return false;
	}
	return stmt_bound(s, sqlite3_bind_int64(s->st, i, (sqlite3_int64) v));
}

bool
state_stmt_bind_double(StateStmt *s, int i, double v)
{
	if (s == NULL || s->failed)
	{
		return false;
	}
	return stmt_bound(s, sqlite3_bind_double(s->st, i, v));
}

bool
state_stmt_bind_null(StateStmt *s, int i)
{
	if (s == NULL || s->failed)
	{
		return false;
	}
	return stmt_bound(s, sqlite3_bind_null(s->st, i));
}

int
state_stmt_step(StateStmt *s)
{
	if (s == NULL || s->failed)
	{
		return -1;
	}
	int rc = sqlite3_step(s->st);
	if (rc == SQLITE_ROW)
	{
		return 1;
	}
	if (rc == SQLITE_DONE)
	{
		return 0;
	}
	stmt_fail(s, "running");
	return -1;
}

bool
state_stmt_reset(StateStmt *s)
{
	if (s == NULL || s->failed)
	{
		return false;
	}
	if (sqlite3_reset(s->st) != SQLITE_OK || sqlite3_clear_bindings(s->st) != SQLITE_OK)
	{
		stmt_fail(s, "resetting");
		return false;
	}
	return true;
}

bool
state_stmt_is_null(StateStmt *s, int col)
{
	return s == NULL || s->failed || sqlite3_column_type(s->st, col) == SQLITE_NULL;
}

int64_t
state_stmt_int64(StateStmt *s, int col)
{
	return state_stmt_is_null(s, col) ? 0 : (int64_t) sqlite3_column_int64(s->st, col);
}

double
state_stmt_double(StateStmt *s, int col)
{
	return state_stmt_is_null(s, col) ? 0 : sqlite3_column_double(s->st, col);
}

const char *
state_stmt_text(StateStmt *s, int col)
{
	if (state_stmt_is_null(s, col))
	{
		return NULL;
	}
	const char *v = (const char *) sqlite3_column_text(s->st, col);
	if (v == NULL)
	{
		/* a non-NULL value without text: SQLite ran out of memory converting it */
		stmt_fail(s, "reading a column of");
	}
	return v;
}

char *
state_stmt_text_dup(StateStmt *s, int col)
{
	const char *v = state_stmt_text(s, col);
	return v ? xstrdup(v) : NULL;
}

bool
state_stmt_finish(StateStmt *s)
{
	if (s == NULL)
	{
		return false;
	}
	/* finalize repeats the last step's error, already logged */
	if (sqlite3_finalize(s->st) != SQLITE_OK && !s->failed)
	{
		log_error("state.db: %s: %s", s->name, sqlite3_errmsg(s->sdb->db));
		s->failed = true;
	}
	bool ok = !s->failed;
	state_unlock(s->sdb);
	free(s->name);
	free(s);
	return ok;
}

bool
state_begin(StateDb *sdb)
{
	sqlite3 *db = state_lock(sdb);
	if (!state_exec_raw(db, "begin", "BEGIN"))
	{
		state_unlock(sdb);
		return false;
	}
	return true;
}

static bool
state_end(StateDb *sdb, bool commit)
{
	bool ok = !commit || state_exec_raw(sdb->db, "commit", "COMMIT");
	/* a failed COMMIT leaves the transaction open; some errors roll it back themselves */
	if ((!commit || !ok) && !sqlite3_get_autocommit(sdb->db))
	{
		ok = state_exec_raw(sdb->db, "rollback", "ROLLBACK") && ok;
	}
	state_unlock(sdb);
	return ok;
}

bool
state_commit(StateDb *sdb)
{
	return state_end(sdb, true);
}

bool
state_rollback(StateDb *sdb)
{
	return state_end(sdb, false);
}
