/*
 * src/state/progress.c — what a run has done so far, read from its state.db
 * for `list progress`.
 *
 * Read-only: the functions only SELECT, so they work on a state.db opened
 * with state_open_readonly() while the run that owns it writes (WAL mode).
 * Each returns plain structs the caller owns; SQLite stays inside state/.
 * Every statement's last step must end in SQLITE_DONE: a read cut short by
 * an error is reported, not shown as a shorter list.
 */
#include "state/internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

typedef void (*RowFn)(sqlite3_stmt *st, void *arg);

/* Runs sql under the lock, calling fn for each row. */
static bool
progress_query(StateDb *db, const char *sql, RowFn fn, void *arg)
{
	sqlite3 *h = state_lock(db);
	sqlite3_stmt *st = NULL;
	bool ok = false;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
	{
		log_error("state.db: %s", sqlite3_errmsg(h));
		log_detail(LOG_LEVEL_ERROR, "while preparing: %s", sql);
	}
	else
	{
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		{
			fn(st, arg);
		}
		ok = rc == SQLITE_DONE;
		if (!ok)
		{
			log_error("state.db: %s", sqlite3_errmsg(h));
			log_detail(LOG_LEVEL_ERROR, "while running: %s", sql);
		}
	}
	sqlite3_finalize(st);
	state_unlock(db);
	return ok;
}

static char *
col_dup(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL
			   ? NULL
			   : xstrdup((const char *) sqlite3_column_text(st, col));
}

static bool
col_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL;
}

/* A growing array of rows of size elem. */
typedef struct Rows
{
	void *items;
	int n;
	int cap;
	size_t elem;
} Rows;

static void *
rows_next(Rows *r)
{
	if (r->n == r->cap)
	{
		r->cap = r->cap ? r->cap * 2 : 32;
		r->items = xrealloc(r->items, r->elem * (size_t) r->cap);
	}
	void *row = (char *) r->items + r->elem * (size_t) r->n++;
	memset(row, 0, r->elem);
	return row;
}

/* ---- steps ---- */

static void
step_row(sqlite3_stmt *st, void *arg)
{
	ProgressStep *s = rows_next(arg);
	s->name = col_dup(st, 0);
	s->status = col_dup(st, 1);
	s->started_at = col_null(st, 2) ? 0 : sqlite3_column_int64(st, 2);
	s->finished_at = col_null(st, 3) ? 0 : sqlite3_column_int64(st, 3);
	s->duration = col_null(st, 4) ? -1 : sqlite3_column_double(st, 4);
}

bool
state_progress_steps(StateDb *db, ProgressStep **steps, int *n)
{
	Rows r = { .elem = sizeof(ProgressStep) };
	bool ok = progress_query(db,
							 "SELECT name, status, started_at, finished_at, duration FROM steps "
							 "ORDER BY started_at, name",
							 step_row, &r);
	*steps = r.items;
	*n = r.n;
	return ok;
}

void
state_progress_steps_free(ProgressStep *steps, int n)
{
	for (int i = 0; i < n; i++)
	{
		free(steps[i].name);
		free(steps[i].status);
	}
	free(steps);
}

/* ---- tasks ---- */

static void
task_row(sqlite3_stmt *st, void *arg)
{
	ProgressTask *t = rows_next(arg);
	t->kind = col_dup(st, 0);
	t->status = col_dup(st, 1);
	t->label = col_dup(st, 2);
	t->worker = col_dup(st, 3);
	t->error = col_dup(st, 4);
	t->started_at = col_null(st, 5) ? 0 : sqlite3_column_int64(st, 5);
	t->attempts = sqlite3_column_int(st, 6);
	t->table_oid = sqlite3_column_int64(st, 7);
	t->ref_oid = sqlite3_column_int64(st, 8);
	const char *ct = (const char *) sqlite3_column_text(st, 9);
	t->contype = ct != NULL ? ct[0] : '\0';
	t->bytes = sqlite3_column_int64(st, 10);
	t->rows = sqlite3_column_int64(st, 11);
	if (t->kind == NULL)
	{
		t->kind = xstrdup("?");
	}
	if (t->status == NULL)
	{
		t->status = xstrdup("?");
	}
}

bool
state_progress_tasks(StateDb *db, ProgressTask **tasks, int *n)
{
	Rows r = { .elem = sizeof(ProgressTask) };
	/* every task with the table it belongs to (and the one a foreign key references) */
	bool ok = progress_query(
		db,
		"SELECT t.kind, t.status, t.label, t.worker, t.error, t.started_at, t.attempts,"
		" CASE WHEN t.kind IN ('copy', 'vacuum') THEN t.obj_oid"
		"      WHEN t.kind = 'index' THEN ix.table_oid"
		"      WHEN t.kind = 'constraint' THEN ic.table_oid"
		"      WHEN t.kind = 'foreign-key' THEN fk.table_oid END,"
		" fk.ref_table_oid, ic.contype, t.bytes, t.rows"
		" FROM tasks t"
		" LEFT JOIN indexes ix ON t.kind = 'index' AND ix.oid = t.obj_oid"
		" LEFT JOIN indexes ic ON t.kind = 'constraint' AND ic.conoid = t.obj_oid"
		" LEFT JOIN constraints fk ON t.kind = 'foreign-key' AND fk.oid = t.obj_oid"
		" ORDER BY t.id",
		task_row, &r);
	*tasks = r.items;
	*n = r.n;
	return ok;
}

void
state_progress_tasks_free(ProgressTask *tasks, int n)
{
	for (int i = 0; i < n; i++)
	{
		free(tasks[i].kind);
		free(tasks[i].status);
		free(tasks[i].label);
		free(tasks[i].worker);
		free(tasks[i].error);
	}
	free(tasks);
}

/* ---- tables ---- */

static void
table_row(sqlite3_stmt *st, void *arg)
{
	ProgressTable *t = rows_next(arg);
	t->oid = sqlite3_column_int64(st, 0);
	t->nspname = col_dup(st, 1);
	t->relname = col_dup(st, 2);
	t->bytes = sqlite3_column_int64(st, 3);
	t->nparts = sqlite3_column_int(st, 4);
	t->relkind = col_null(st, 5) ? '\0' : sqlite3_column_text(st, 5)[0];
}

bool
state_progress_tables(StateDb *db, ProgressTable **tables, int *n)
{
	Rows r = { .elem = sizeof(ProgressTable) };
	bool ok = progress_query(
		db, "SELECT oid, nspname, relname, bytes, nparts, relkind FROM tables ORDER BY oid",
		table_row, &r);
	*tables = r.items;
	*n = r.n;
	return ok;
}

void
state_progress_tables_free(ProgressTable *tables, int n)
{
	for (int i = 0; i < n; i++)
	{
		free(tables[i].nspname);
		free(tables[i].relname);
	}
	free(tables);
}

/* ---- per-table summary ---- */

static void
summary_row(sqlite3_stmt *st, void *arg)
{
	ProgressTableSummary *s = rows_next(arg);
	s->nspname = col_dup(st, 0);
	s->relname = col_dup(st, 1);
	s->parts = sqlite3_column_int(st, 2);
	s->copy_wall = sqlite3_column_double(st, 3);
	s->copy_sum = sqlite3_column_double(st, 4);
	s->bytes = sqlite3_column_int64(st, 5);
	s->rows = sqlite3_column_int64(st, 6);
	s->indexes = sqlite3_column_int(st, 7);
	s->index_sum = sqlite3_column_double(st, 8);
	s->vacuum_sum = sqlite3_column_double(st, 9);
}

bool
state_progress_table_summary(StateDb *db, ProgressTableSummary **rows, int *n)
{
	Rows r = { .elem = sizeof(ProgressTableSummary) };
	/*
	 * The same figures as the end-of-run summary (src/report/summary.c): copy
	 * wall time from the first part's start to the last part's end, and the
	 * indexes a table's index tasks and exclusion constraints build.
	 */
	bool ok = progress_query(
		db,
		"WITH tt AS (SELECT t.*,"
		"  CASE WHEN t.kind IN ('copy', 'vacuum') THEN t.obj_oid"
		"       WHEN t.kind = 'index' THEN (SELECT table_oid FROM indexes WHERE oid = t.obj_oid)"
		"       WHEN t.kind = 'constraint'"
		"       THEN (SELECT table_oid FROM indexes WHERE conoid = t.obj_oid) END AS table_oid,"
		"  CASE WHEN t.kind = 'constraint'"
		"       THEN (SELECT contype FROM indexes WHERE conoid = t.obj_oid) END AS contype"
		"  FROM tasks t),"
		" s AS (SELECT tb.nspname, tb.relname,"
		"  sum(tt.kind = 'copy') AS parts,"
		"  coalesce((max(CASE WHEN tt.kind = 'copy' THEN tt.started_at + tt.duration * 1e6 END)"
		"   - min(CASE WHEN tt.kind = 'copy' THEN tt.started_at END)) / 1e6, 0) AS copy_wall,"
		"  total(CASE WHEN tt.kind = 'copy' THEN tt.duration END) AS copy_sum,"
		"  total(CASE WHEN tt.kind = 'copy' THEN tt.bytes END) AS bytes,"
		"  total(CASE WHEN tt.kind = 'copy' THEN tt.rows END) AS rows,"
		"  sum(tt.kind = 'index' OR (tt.kind = 'constraint' AND tt.contype = 'x')) AS nindexes,"
		"  total(CASE WHEN tt.kind IN ('index', 'constraint') THEN tt.duration END) AS index_sum,"
		"  total(CASE WHEN tt.kind = 'vacuum' THEN tt.duration END) AS vacuum_sum"
		"  FROM tables tb JOIN tt ON tt.table_oid = tb.oid"
		"  WHERE tb.relkind = 'r' AND tb.excluded = 0 GROUP BY tb.oid)"
		" SELECT * FROM s ORDER BY copy_wall DESC, nspname, relname",
		summary_row, &r);
	*rows = r.items;
	*n = r.n;
	return ok;
}

void
state_progress_table_summary_free(ProgressTableSummary *rows, int n)
{
	for (int i = 0; i < n; i++)
	{
		free(rows[i].nspname);
		free(rows[i].relname);
	}
	free(rows);
}
