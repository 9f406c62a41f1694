/*
 * src/report/progress.c — `list progress`: how far a run has got, read from
 * its work directory.
 *
 * It opens state.db read-only and never takes the work directory's lock, so
 * it can watch a running clone. A task still queued is shown with what it
 * waits for, worked out from the tasks of its table (the same dependencies
 * the scheduler follows): a copy not finished, indexes not built, or
 * something that failed (then it is "skipped": the scheduler will never run
 * it). --summary shows instead the run's summary: summary.json once the run
 * has ended, else the same figures from state.db as far as the run has got.
 */
#include "report/internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "state/state.h"

/* Human output shows at most this many waiting tasks. */
#define PROGRESS_MAX_WAITING 50

static const char *const g_kinds[] = { "copy",   "index", "constraint", "foreign-key",
									   "vacuum", "blobs", "matview" };
#define NKINDS ((int) (sizeof(g_kinds) / sizeof(g_kinds[0])))
static const char *const g_statuses[] = { "queued", "running", "done", "failed" };
#define NSTATUSES ((int) (sizeof(g_statuses) / sizeof(g_statuses[0])))

/* The pid in DIR/pgshift.pid (0 when none) and whether that process lives. */
static long
read_pid(const char *pid_file, bool *alive)
{
	*alive = false;
	size_t len = 0;
	char *s = file_exists(pid_file) ? file_read_all(pid_file, &len) : NULL;
	long pid = s != NULL ? strtol(s, NULL, 10) : 0;
	free(s);
	if (pid > 0)
	{
		*alive = kill((pid_t) pid, 0) == 0 || errno == EPERM;
	}
	return pid;
}

/* What a table's tasks have done so far, for the tasks that wait on them. */
typedef struct TableAgg
{
	int64_t oid;
	char *name; /* quoted */
	int copy_total, copy_done, copy_failed;
	int idx_total, idx_done, idx_failed;
	int keys_total, keys_done, keys_failed; /* indexes and constraints */
} TableAgg;

static int
agg_cmp(const void *a, const void *b)
{
	int64_t x = ((const TableAgg *) a)->oid, y = ((const TableAgg *) b)->oid;
	return x < y ? -1 : x > y;
}

static TableAgg *
agg_find(TableAgg *aggs, int n, int64_t oid)
{
	TableAgg key;
	memset(&key, 0, sizeof(key));
	key.oid = oid;
	return oid != 0 ? bsearch(&key, aggs, (size_t) n, sizeof(TableAgg), agg_cmp) : NULL;
}

/*
 * Why a task waiting on a table's copy (keys 0), on its copy and indexes
 * (keys 1), or on its copy, indexes and constraints (keys 2) cannot run
 * yet; NULL when that table is not in the way.
 */
static char *
agg_blocker(const TableAgg *a, int keys)
{
	if (a == NULL)
	{
		return NULL;
	}
	if (a->copy_failed > 0)
	{
		return xasprintf("skipped: copy of %s failed", a->name);
	}
	if (a->copy_done < a->copy_total)
	{
		if (a->copy_total > 1)
		{
			return xasprintf("waiting: copy of %s not finished (%d of %d parts done)", a->name,
							 a->copy_done, a->copy_total);
		}
		return xasprintf("waiting: copy of %s not finished", a->name);
	}
	if (keys == 1 && a->idx_failed > 0)
	{
		return xasprintf("skipped: an index of %s failed", a->name);
	}
	if (keys == 1 && a->idx_done < a->idx_total)
	{
		return xasprintf("waiting: %d of %d indexes of %s not built", a->idx_total - a->idx_done,
						 a->idx_total, a->name);
	}
	if (keys == 2 && a->keys_failed > 0)
	{
		return xasprintf("skipped: an index or constraint of %s failed", a->name);
	}
	if (keys == 2 && a->keys_done < a->keys_total)
	{
		return xasprintf("waiting: %d of %d indexes and constraints of %s not built",
						 a->keys_total - a->keys_done, a->keys_total, a->name);
	}
	return NULL;
}

static char *
task_wait_reason(const ProgressTask *t, TableAgg *aggs, int naggs)
{
	TableAgg *a = agg_find(aggs, naggs, t->table_oid);
	char *r = NULL;
	const char *pool = "an index worker";
	if (strcmp(t->kind, "copy") == 0)
	{
		pool = "a copy worker";
	}
	else if (strcmp(t->kind, "blobs") == 0)
	{
		pool = "a large-object worker";
	}
	else if (strcmp(t->kind, "matview") == 0)
	{
		return xstrdup("waiting: every table and large object copied (and the views before "
					   "it refreshed), then an index worker");
	}
	else if (strcmp(t->kind, "index") == 0 ||
			 (strcmp(t->kind, "constraint") == 0 && t->contype == 'x'))
	{
		r = agg_blocker(a, 0);
	}
	else if (strcmp(t->kind, "constraint") == 0)
	{
		r = agg_blocker(a, 1);
	}
	else if (strcmp(t->kind, "vacuum") == 0)
	{
		r = agg_blocker(a, 2);
		pool = "a copy worker";
	}
	else if (strcmp(t->kind, "foreign-key") == 0)
	{
		r = agg_blocker(a, 2);
		if (r == NULL && t->ref_oid != t->table_oid)
		{
			r = agg_blocker(agg_find(aggs, naggs, t->ref_oid), 2);
		}
	}
	return r != NULL ? r : xasprintf("ready: waiting for %s", pool);
}

/* What the report reads once from state.db, and where it prints. */
typedef struct Progress
{
	json_t *json; /* NULL for the human output */
	bool alive;
	int64_t now;
	ProgressTask *tasks;
	int ntasks;
	ProgressTable *tables;
	int ntables;
} Progress;

static bool
progress_steps(Progress *pr, StateDb *sdb)
{
	ProgressStep *steps;
	int n;
	if (!state_progress_steps(sdb, &steps, &n))
	{
		state_progress_steps_free(steps, n);
		return false;
	}
	static const char *const hdr[] = { "Step", "Status", "Started", "Duration" };
	Listing l;
	listing_init(&l, pr->json != NULL, 4, hdr, "lllr");
	for (int i = 0; i < n; i++)
	{
		const ProgressStep *s = &steps[i];
		double dur = s->duration >= 0    ? s->duration
					 : s->started_at > 0 ? (double) (pr->now - s->started_at) / 1e6
										 : 0;
		char *ws = s->started_at > 0 ? fmt_wall(s->started_at) : NULL;
		if (l.arr != NULL)
		{
			char *wf = s->finished_at > 0 ? fmt_wall(s->finished_at) : NULL;
			json_t *o = json_object();
			jset(o, "name", jstr(s->name));
			jset(o, "status", jstr(s->status));
			jset(o, "started_at", jstr(ws));
			jset(o, "finished_at", jstr(wf));
			jset(o, "duration", json_real(dur));
			json_array_append_new(l.arr, o);
			free(wf);
		}
		else
		{
			char *d = fmt_duration(dur);
			bool stopped = s->status != NULL && strcmp(s->status, "running") == 0 && !pr->alive;
			grid_add(&l.grid, s->name);
			grid_add(&l.grid, stopped ? "running (stopped)" : s->status);
			grid_add(&l.grid, ws);
			grid_add(&l.grid, d);
			free(d);
		}
		free(ws);
	}
	state_progress_steps_free(steps, n);
	if (l.arr != NULL)
	{
		jset(pr->json, "steps", l.arr);
	}
	else if (n > 0)
	{
		printf("\n");
		grid_print(&l.grid);
	}
	else
	{
		printf("\nNo step started yet.\n");
	}
	return true;
}

static int
name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
	{
		if (strcmp(s, names[i]) == 0)
		{
			return i;
		}
	}
	return n;
}

static void
progress_counts(Progress *pr)
{
	int counts[NKINDS + 2][NSTATUSES + 1]; /* + other kind, + all; + other status */
	memset(counts, 0, sizeof(counts));
	for (int i = 0; i < pr->ntasks; i++)
	{
		int k = name_index(g_kinds, NKINDS, pr->tasks[i].kind);
		int s = name_index(g_statuses, NSTATUSES, pr->tasks[i].status);
		counts[k][s]++;
		counts[NKINDS + 1][s]++;
	}
	json_t *obj = pr->json != NULL ? json_object() : NULL;
	static const char *const hdr[] = { "Kind", "Queued", "Running", "Done", "Failed", "Total" };
	Grid g;
	grid_init(&g, 6, hdr, "lrrrrr");
	for (int k = 0; k < NKINDS + 2; k++)
	{
		int total = 0;
		for (int s = 0; s <= NSTATUSES; s++)
		{
			total += counts[k][s];
		}
		const char *name = k < NKINDS ? g_kinds[k] : (k == NKINDS ? "other" : "all");
		if (total == 0 && k == NKINDS)
		{
			continue;
		}
		if (obj != NULL)
		{
			json_t *o = json_object();
			for (int s = 0; s < NSTATUSES; s++)
			{
				jset(o, g_statuses[s], json_integer(counts[k][s]));
			}
			jset(o, "total", json_integer(total));
			jset(obj, name, o);
			continue;
		}
		if (total == 0 && k < NKINDS)
		{
			continue;
		}
		grid_add(&g, name);
		for (int s = 0; s < NSTATUSES; s++)
		{
			grid_addf(&g, "%d", counts[k][s]);
		}
		grid_addf(&g, "%d", total);
	}
	if (obj != NULL)
	{
		jset(pr->json, "tasks", obj);
		strlist_free(&g.cells);
	}
	else
	{
		printf("\n");
		grid_print(&g);
	}
}

static int
table_cmp(const void *a, const void *b)
{
	int64_t x = ((const ProgressTable *) a)->oid, y = ((const ProgressTable *) b)->oid;
	return x < y ? -1 : x > y;
}

/* The table of this oid (the tables are sorted by oid), or NULL. */
static const ProgressTable *
progress_table(const Progress *pr, int64_t oid)
{
	ProgressTable key;
	memset(&key, 0, sizeof(key));
	key.oid = oid;
	return bsearch(&key, pr->tables, (size_t) pr->ntables, sizeof(ProgressTable), table_cmp);
}

static void
progress_copied(Progress *pr)
{
	/* done copy tasks: rows and bytes of their COPY streams, and their share of the tables */
	int ndone = 0, ntotal = 0;
	int64_t bytes = 0, rows = 0;
	double done_share = 0, total_share = 0;
	for (int i = 0; i < pr->ntasks; i++)
	{
		const ProgressTask *t = &pr->tasks[i];
		if (strcmp(t->kind, "copy") != 0)
		{
			continue;
		}
		bool done = strcmp(t->status, "done") == 0;
		const ProgressTable *tb = progress_table(pr, t->table_oid);
		double share = tb != NULL ? (double) tb->bytes / (tb->nparts > 1 ? tb->nparts : 1) : 0;
		ntotal++;
		total_share += share;
		if (done)
		{
			ndone++;
			bytes += t->bytes;
			rows += t->rows;
			done_share += share;
		}
	}
	double pct = total_share > 0 ? 100.0 * done_share / total_share
								 : (ntotal > 0 && ndone == ntotal ? 100.0 : 0.0);
	if (pr->json != NULL)
	{
		json_t *o = json_object();
		jset(o, "tasks_done", json_integer(ndone));
		jset(o, "tasks_total", json_integer(ntotal));
		jset(o, "bytes", jint(bytes));
		jset(o, "rows", jint(rows));
		jset(o, "table_bytes_done", jint((int64_t) done_share));
		jset(o, "table_bytes_total", jint((int64_t) total_share));
		jset(o, "percent", json_real(pct));
		jset(pr->json, "copied", o);
		return;
	}
	char *sz = fmt_size(bytes);
	char *td = fmt_size((int64_t) done_share);
	char *tt = fmt_size((int64_t) total_share);
	printf("\nCopied: %lld rows, %s of COPY data, in %d of %d copy tasks (%.0f%% of the table "
		   "data: %s of %s)\n",
		   (long long) rows, sz, ndone, ntotal, pct, td, tt);
	free(sz);
	free(td);
	free(tt);
}

static int
running_cmp(const void *a, const void *b)
{
	const ProgressTask *x = *(const ProgressTask *const *) a;
	const ProgressTask *y = *(const ProgressTask *const *) b;
	if (x->started_at != y->started_at)
	{
		return x->started_at < y->started_at ? -1 : 1;
	}
	return x < y ? -1 : x > y; /* tasks are in id order */
}

static void
progress_running(Progress *pr)
{
	const ProgressTask **run = xcalloc((size_t) pr->ntasks + 1, sizeof(ProgressTask *));
	int n = 0;
	for (int i = 0; i < pr->ntasks; i++)
	{
		if (strcmp(pr->tasks[i].status, "running") == 0)
		{
			run[n++] = &pr->tasks[i];
		}
	}
	qsort(run, (size_t) n, sizeof(ProgressTask *), running_cmp);
	static const char *const hdr[] = { "Kind", "Task", "Worker", "Since", "For" };
	Listing l;
	listing_init(&l, pr->json != NULL, 5, hdr, "lllll");
	for (int i = 0; i < n; i++)
	{
		const ProgressTask *t = run[i];
		double secs = t->started_at != 0 ? (double) (pr->now - t->started_at) / 1e6 : 0;
		char *ws = t->started_at != 0 ? fmt_wall(t->started_at) : NULL;
		if (l.arr != NULL)
		{
			json_t *o = json_object();
			jset(o, "kind", jstr(t->kind));
			jset(o, "label", jstr(t->label));
			jset(o, "worker", jstr(t->worker));
			jset(o, "started_at", jstr(ws));
			jset(o, "seconds", json_real(secs));
			jset(o, "attempts", json_integer(t->attempts));
			json_array_append_new(l.arr, o);
		}
		else
		{
			char *d = fmt_duration(secs);
			grid_add(&l.grid, t->kind);
			grid_add(&l.grid, t->label);
			grid_add(&l.grid, t->worker);
			grid_add(&l.grid, ws);
			grid_add(&l.grid, d);
			free(d);
		}
		free(ws);
	}
	free(run);
	if (l.arr != NULL)
	{
		jset(pr->json, "in_progress", l.arr);
	}
	else if (n > 0)
	{
		printf(pr->alive ? "\nRunning now:\n"
						 : "\nRunning when the run stopped (the process is gone):\n");
		grid_print(&l.grid);
	}
	else
	{
		printf("\nRunning now: nothing\n");
	}
}

static void
progress_failed(Progress *pr)
{
	static const char *const hdr[] = { "Kind", "Task", "Attempts", "Error" };
	Listing l;
	listing_init(&l, pr->json != NULL, 4, hdr, "llrl");
	for (int i = 0; i < pr->ntasks; i++)
	{
		const ProgressTask *t = &pr->tasks[i];
		if (strcmp(t->status, "failed") != 0)
		{
			continue;
		}
		if (l.arr != NULL)
		{
			json_t *o = json_object();
			jset(o, "kind", jstr(t->kind));
			jset(o, "label", jstr(t->label));
			jset(o, "attempts", json_integer(t->attempts));
			jset(o, "error", jstr(t->error));
			json_array_append_new(l.arr, o);
		}
		else
		{
			grid_add(&l.grid, t->kind);
			grid_add(&l.grid, t->label);
			grid_addf(&l.grid, "%d", t->attempts);
			grid_add(&l.grid, t->error);
		}
	}
	if (l.arr != NULL)
	{
		jset(pr->json, "failed", l.arr);
	}
	else if (grid_rows(&l.grid) > 0)
	{
		printf("\nFailed:\n");
		grid_print(&l.grid);
	}
	else
	{
		strlist_free(&l.grid.cells);
	}
}

/* Each table's tasks: done, failed and total, by what waits on them. */
static TableAgg *
progress_aggregate(const Progress *pr)
{
	TableAgg *aggs = xcalloc((size_t) pr->ntables + 1, sizeof(TableAgg));
	for (int i = 0; i < pr->ntables; i++)
	{
		const ProgressTable *tb = &pr->tables[i];
		aggs[i].oid = tb->oid;
		aggs[i].name =
			pg_qualname(tb->nspname ? tb->nspname : "?", tb->relname ? tb->relname : "?");
	}
	for (int i = 0; i < pr->ntasks; i++)
	{
		const ProgressTask *t = &pr->tasks[i];
		TableAgg *a = agg_find(aggs, pr->ntables, t->table_oid);
		if (a == NULL)
		{
			continue;
		}
		bool done = strcmp(t->status, "done") == 0;
		bool failed = strcmp(t->status, "failed") == 0;
		bool copy = strcmp(t->kind, "copy") == 0;
		bool index = strcmp(t->kind, "index") == 0;
		bool key = index || strcmp(t->kind, "constraint") == 0;
		a->copy_total += copy;
		a->copy_done += copy && done;
		a->copy_failed += copy && failed;
		a->idx_total += index;
		a->idx_done += index && done;
		a->idx_failed += index && failed;
		a->keys_total += key;
		a->keys_done += key && done;
		a->keys_failed += key && failed;
	}
	return aggs;
}

static void
progress_waiting(Progress *pr)
{
	TableAgg *aggs = progress_aggregate(pr);
	static const char *const hdr[] = { "Kind", "Task", "Waiting for" };
	Listing l;
	listing_init(&l, pr->json != NULL, 3, hdr, "lll");
	int nwaiting = 0;
	for (int i = 0; i < pr->ntasks; i++)
	{
		const ProgressTask *t = &pr->tasks[i];
		if (strcmp(t->status, "queued") != 0)
		{
			continue;
		}
		nwaiting++;
		char *why = task_wait_reason(t, aggs, pr->ntables);
		if (l.arr != NULL)
		{
			json_array_append_new(l.arr, json_pack("{s:o, s:o, s:o}", "kind", jstr(t->kind),
												   "label", jstr(t->label), "reason", jstr(why)));
		}
		else if (nwaiting <= PROGRESS_MAX_WAITING)
		{
			grid_add(&l.grid, t->kind);
			grid_add(&l.grid, t->label);
			grid_add(&l.grid, why);
		}
		free(why);
	}
	if (l.arr != NULL)
	{
		jset(pr->json, "waiting", l.arr);
	}
	else if (nwaiting > 0)
	{
		printf(pr->alive ? "\nWaiting:\n" : "\nNot done:\n");
		grid_print(&l.grid);
		if (nwaiting > PROGRESS_MAX_WAITING)
		{
			printf("... and %d more (--json lists them all)\n", nwaiting - PROGRESS_MAX_WAITING);
		}
	}
	else
	{
		strlist_free(&l.grid.cells);
	}
	for (int i = 0; i < pr->ntables; i++)
	{
		free(aggs[i].name);
	}
	free(aggs);
}

/* ------------------------------------------------------------------------
 * --summary
 * ------------------------------------------------------------------------ */

/* The summary's tables from state.db, in summary.json's shape. */
static json_t *
summary_tables(StateDb *sdb)
{
	ProgressTableSummary *rows;
	int n;
	if (!state_progress_table_summary(sdb, &rows, &n))
	{
		state_progress_table_summary_free(rows, n);
		return NULL;
	}
	json_t *arr = json_array();
	for (int i = 0; i < n; i++)
	{
		const ProgressTableSummary *r = &rows[i];
		json_t *o = json_object();
		jset(o, "schema", jstr(r->nspname));
		jset(o, "table", jstr(r->relname));
		jset(o, "parts", json_integer(r->parts));
		jset(o, "copy_seconds", json_real(r->copy_wall));
		jset(o, "copy_seconds_cumulative", json_real(r->copy_sum));
		jset(o, "bytes", jint(r->bytes));
		jset(o, "rows", jint(r->rows));
		jset(o, "indexes", json_integer(r->indexes));
		jset(o, "index_seconds", json_real(r->index_sum));
		jset(o, "vacuum_seconds", json_real(r->vacuum_sum));
		json_array_append_new(arr, o);
	}
	state_progress_table_summary_free(rows, n);
	return arr;
}

/* The summary's steps from state.db: {name: seconds}, a running step so far. */
static json_t *
summary_steps(StateDb *sdb, int64_t now)
{
	ProgressStep *steps;
	int n;
	if (!state_progress_steps(sdb, &steps, &n))
	{
		state_progress_steps_free(steps, n);
		return NULL;
	}
	json_t *o = json_object();
	for (int i = 0; i < n; i++)
	{
		const ProgressStep *s = &steps[i];
		double d = s->duration >= 0
					   ? s->duration
					   : (s->started_at > 0 ? (double) (now - s->started_at) / 1e6 : 0);
		jset(o, s->name, json_real(d));
	}
	state_progress_steps_free(steps, n);
	return o;
}

/*
 * The run's summary: summary.json when the run has ended and written it,
 * else built from state.db (same "tables" entries; "steps" from the steps
 * table). NULL on a read error (logged).
 */
static json_t *
summary_load(const WorkDir *wd, StateDb *sdb, const char *status, int64_t now)
{
	bool ended = status != NULL && strcmp(status, "running") != 0;
	if (ended && file_exists(wd->summary_file))
	{
		json_error_t err;
		json_t *doc = json_load_file(wd->summary_file, 0, &err);
		if (doc == NULL)
		{
			log_error("could not read \"%s\": %s (line %d)", wd->summary_file, err.text, err.line);
			return NULL;
		}
		jset(doc, "source", jstr("summary.json"));
		return doc;
	}
	json_t *tables = summary_tables(sdb);
	json_t *steps = tables != NULL ? summary_steps(sdb, now) : NULL;
	if (steps == NULL)
	{
		json_decref(tables);
		return NULL;
	}
	json_t *doc = json_object();
	jset(doc, "source", jstr("state.db"));
	jset(doc, "run_status", jstr(status));
	jset(doc, "tables", tables);
	jset(doc, "steps", steps);
	return doc;
}

static double
jreal(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* The human form of a summary document: a line per table, then per step. */
static void
summary_print(json_t *doc)
{
	static const char *const hdr[] = { "Table", "Parts",   "Copy",    "Bytes",
									   "Rows",  "Indexes", "Idx time" };
	Grid g;
	grid_init(&g, 7, hdr, "lrrrrrr");
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(doc, "tables"), i, t)
	{
		char *q = pg_qualname(json_string_value(json_object_get(t, "schema")),
							  json_string_value(json_object_get(t, "table")));
		char *copy = fmt_duration(jreal(t, "copy_seconds"));
		char *sz = fmt_size((int64_t) jreal(t, "bytes"));
		char *idx = fmt_duration(jreal(t, "index_seconds"));
		grid_add(&g, q);
		grid_addf(&g, "%lld", (long long) jreal(t, "parts"));
		grid_add(&g, copy);
		grid_add(&g, sz);
		grid_addf(&g, "%lld", (long long) jreal(t, "rows"));
		grid_addf(&g, "%lld", (long long) jreal(t, "indexes"));
		grid_add(&g, idx);
		free(q);
		free(copy);
		free(sz);
		free(idx);
	}
	grid_print(&g);
	static const char *const shdr[] = { "Step", "Time" };
	grid_init(&g, 2, shdr, "lr");
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(doc, "steps"), key, v)
	{
		char *d = fmt_duration(json_number_value(v));
		grid_add(&g, key);
		grid_add(&g, d);
		free(d);
	}
	printf("\n");
	grid_print(&g);
}

/* ------------------------------------------------------------------------
 * list progress
 * ------------------------------------------------------------------------ */

/* The run: its status, process and snapshot. */
static void
progress_run(Progress *pr, const WorkDir *wd, StateDb *sdb, const char *status)
{
	char *started = state_get_meta(sdb, "run_started");
	char *snapshot = state_get_meta(sdb, "snapshot");
	char *meta_pid = state_get_meta(sdb, "pid");
	long pid = read_pid(wd->pid_file, &pr->alive);
	if (pid <= 0 && meta_pid != NULL)
	{
		/* no pid file: the run ended (or never locked the directory) */
		pid = strtol(meta_pid, NULL, 10);
		pr->alive = false;
	}
	bool running = status != NULL && strcmp(status, "running") == 0;
	int64_t start_us = started != NULL ? strtoll(started, NULL, 10) : 0;
	char *started_s = started != NULL ? fmt_wall(start_us) : NULL;
	char *elapsed = started != NULL ? fmt_duration((double) (pr->now - start_us) / 1e6) : NULL;
	if (pr->json != NULL)
	{
		jset(pr->json, "dir", jstr(wd->path));
		jset(pr->json, "run_status", jstr(status));
		jset(pr->json, "pid", pid > 0 ? jint(pid) : json_null());
		jset(pr->json, "alive", json_boolean(pr->alive));
		jset(pr->json, "running", json_boolean(running && pr->alive));
		jset(pr->json, "started_at", jstr(started_s));
		jset(pr->json, "snapshot", jstr(snapshot));
	}
	else
	{
		printf("Work directory: %s\n", wd->path);
		if (running && pr->alive)
		{
			printf("Run: running (pid %ld), started %s, %s ago\n", pid, started_s ? started_s : "?",
				   elapsed ? elapsed : "?");
		}
		else if (running)
		{
			printf("Run: stopped: state.db says running but process %ld is gone (interrupted or "
				   "killed; continue it with --resume)\n",
				   pid);
		}
		else
		{
			printf("Run: %s%s%s%s\n", status == NULL ? "not started" : status,
				   started_s ? " (started " : "", started_s ? started_s : "", started_s ? ")" : "");
			if (pr->alive)
			{
				printf("A pgshift process (pid %ld) holds the work directory now.\n", pid);
			}
		}
		if (snapshot != NULL)
		{
			printf("Snapshot: %s\n", snapshot);
		}
	}
	free(started);
	free(snapshot);
	free(meta_pid);
	free(started_s);
	free(elapsed);
}

/* The cut-over (cdc/cutover.c keeps its cutover.json in meta "cutover"), if one ran. */
static void
progress_cutover(Progress *pr, StateDb *sdb)
{
	char *text = state_get_meta(sdb, "cutover");
	json_t *doc = text != NULL ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (doc == NULL)
	{
		return;
	}
	if (pr->json != NULL)
	{
		jset(pr->json, "cutover", doc);
		return;
	}
	json_t *st = json_object_get(doc, "status");
	json_t *w = json_object_get(doc, "write_unavailable_seconds");
	json_t *e = json_object_get(doc, "endpos");
	printf("Cut-over: %s, writes unavailable for %.3f s%s%s%s\n",
		   json_is_string(st) ? json_string_value(st) : "?", json_number_value(w),
		   json_is_string(e) && json_string_length(e) > 0 ? " (end position " : "",
		   json_is_string(e) ? json_string_value(e) : "",
		   json_is_string(e) && json_string_length(e) > 0 ? ")" : "");
	json_t *tl = json_object_get(doc, "timeline");
	size_t i;
	json_t *ev;
	json_array_foreach(tl, i, ev)
	{
		printf("  %-16s %+8.3f s\n", json_string_value(json_object_get(ev, "event")),
			   json_number_value(json_object_get(ev, "seconds")));
	}
	json_decref(doc);
}

/* The progress report proper; false on a state.db read error. */
static bool
progress_report(const ProgressSpec *spec, const WorkDir *wd, StateDb *sdb, const char *status)
{
	Progress pr;
	memset(&pr, 0, sizeof(pr));
	pr.now = time_wall_us();
	pr.json = spec->json ? json_object() : NULL;
	progress_run(&pr, wd, sdb, status);
	progress_cutover(&pr, sdb);
	bool ok = state_progress_tasks(sdb, &pr.tasks, &pr.ntasks) &&
			  state_progress_tables(sdb, &pr.tables, &pr.ntables) && progress_steps(&pr, sdb);
	if (ok)
	{
		progress_counts(&pr);
		progress_copied(&pr);
		progress_running(&pr);
		progress_failed(&pr);
		progress_waiting(&pr);
	}
	state_progress_tasks_free(pr.tasks, pr.ntasks);
	state_progress_tables_free(pr.tables, pr.ntables);
	if (pr.json != NULL && ok)
	{
		json_print(pr.json);
	}
	else
	{
		json_decref(pr.json);
	}
	return ok;
}

ExitCode
report_progress(const ProgressSpec *spec)
{
	WorkDir wd;
	if (!workdir_open_readonly(&wd, spec->dir))
	{
		log_error("work directory \"%s\" does not exist", spec->dir);
		log_hint(LOG_LEVEL_ERROR, "Give the --dir of the run to watch.");
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}
	if (!file_exists(wd.state_file))
	{
		log_error("no state.db in \"%s\": no pgshift run has used this work directory", wd.path);
		log_hint(LOG_LEVEL_ERROR, "Give the --dir of the run to watch.");
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}
	StateDb *sdb = state_open_readonly(wd.state_file);
	if (sdb == NULL)
	{
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}
	char *status = state_get_meta(sdb, "run_status");
	bool ok;
	if (spec->summary)
	{
		json_t *doc = summary_load(&wd, sdb, status, time_wall_us());
		ok = doc != NULL;
		if (ok && spec->json)
		{
			json_print(doc);
		}
		else if (ok)
		{
			summary_print(doc);
			json_decref(doc);
		}
	}
	else
	{
		ok = progress_report(spec, &wd, sdb, status);
	}
	free(status);
	state_close(sdb);
	workdir_close(&wd);
	return ok ? EXIT_OK : EXIT_WORKDIR;
}
