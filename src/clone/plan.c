/*
 * src/clone/plan.c — splitting tables into parts and building the task graph.
 *
 * Parts are ctid block ranges [min, max) taken from the table's size at the
 * snapshot; the last part is open-ended. Any table splits, with or without a
 * key, and PostgreSQL 14+ reads each range with a TID range scan.
 *
 * Also a task's names and its row in state.db: (kind, object oid, part)
 * is the same for the same work in every run of a work directory, which is
 * what lets --resume (plan_apply_resume) find what an earlier run did.
 */
#include "clone/clone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Task *
graph_add(Graph *g, TaskKind kind, PoolKind pool)
{
	if (g->ntasks == g->cap)
	{
		g->cap = g->cap ? g->cap * 2 : 64;
		g->tasks = xrealloc(g->tasks, sizeof(Task *) * (size_t) g->cap);
	}
	Task *t = xcalloc(1, sizeof(Task));
	t->id = g->ntasks;
	t->kind = kind;
	t->pool = pool;
	g->tasks[g->ntasks++] = t;
	return t;
}

static void
task_depends(Task *t, Task *on)
{
	if (on == NULL || t == NULL)
	{
		return;
	}
	if (on->ndependents == on->cap_dependents)
	{
		on->cap_dependents = on->cap_dependents ? on->cap_dependents * 2 : 4;
		on->dependents = xrealloc(on->dependents, sizeof(Task *) * (size_t) on->cap_dependents);
	}
	on->dependents[on->ndependents++] = t;
	t->ndeps_left++;
}

/* Per-table lists of the tasks that make it "ready" (keys built). */
typedef struct TableTasks
{
	Task **copy;
	int ncopy;
	Task **keys; /* index + constraint tasks */
	int nkeys;
	int capkeys;
} TableTasks;

static void
keys_add(TableTasks *tt, Task *t)
{
	if (tt->nkeys == tt->capkeys)
	{
		tt->capkeys = tt->capkeys ? tt->capkeys * 2 : 4;
		tt->keys = xrealloc(tt->keys, sizeof(Task *) * (size_t) tt->capkeys);
	}
	tt->keys[tt->nkeys++] = t;
}

static int
table_pos(const Catalog *cat, Oid oid)
{
	/* tables are few enough next to indexes; a linear scan per index is fine
	 * up to tens of thousands (called once per index at plan time) */
	for (int i = 0; i < cat->ntables; i++)
	{
		if (cat->tables[i].oid == oid)
		{
			return i;
		}
	}
	return -1;
}

/* Is table i a partition (at any depth) of table parent? */
static bool
descends_from(const Catalog *cat, int i, int parent)
{
	for (int depth = 0; i >= 0 && cat->tables[i].parent_oid != 0 && depth < 64; depth++)
	{
		i = table_pos(cat, cat->tables[i].parent_oid);
		if (i == parent)
		{
			return true;
		}
	}
	return false;
}

static void
lock_add(Task *t, Oid oid)
{
	t->lock_oids = xrealloc(t->lock_oids, sizeof(Oid) * (size_t) (t->nlock_oids + 1));
	t->lock_oids[t->nlock_oids++] = oid;
}

/* t waits for every part of the table's rows and every one of its keys */
static void
depends_on_table(Task *t, const TableTasks *x)
{
	for (int c = 0; c < x->ncopy; c++)
	{
		task_depends(t, x->copy[c]);
	}
	for (int j = 0; j < x->nkeys; j++)
	{
		task_depends(t, x->keys[j]);
	}
}

/*
 * t (a foreign key, a VACUUM) works on table i once it is whole: it locks the
 * table and waits for its rows and keys; a partitioned table's work is done
 * on its partitions, so the same for every one of them.
 */
static void
needs_table(Task *t, const Catalog *cat, const TableTasks *tt, int i)
{
	lock_add(t, cat->tables[i].oid);
	depends_on_table(t, &tt[i]);
	for (int j = 0; cat->tables[i].relkind == 'p' && j < cat->ntables; j++)
	{
		if (j != i && descends_from(cat, j, i))
		{
			lock_add(t, cat->tables[j].oid);
			depends_on_table(t, &tt[j]);
		}
	}
}

/*
 * Estimated cost of each kind of task, in seconds of one core of the machine
 * the benchmark runs on (docs/benchmarks.md). Only the ratios matter: they
 * rank the tasks so that the longest chain of work starts first. Calibrated
 * on the benchmark dataset, each build run alone: a btree costs a heap scan
 * plus about 0.7 us per row, and 4.5 us more per row when a key column sorts
 * with strcoll (a text key under a libc collation other than C: 13.4 s for
 * 2.5M rows, against 2.0-3.2 s for the same table's integer, timestamp and
 * uuid keys); GIN and GiST extract entries from every value, about 11 ns per
 * heap byte (7.8 s for a jsonb_path_ops GIN on 690 MB).
 */
#define COST_COPY_PER_BYTE     20e-9
#define COST_SCAN_PER_BYTE     1.5e-9
#define COST_BTREE_PER_ROW     0.7e-6
#define COST_STRCOLL_PER_ROW   4.5e-6
#define COST_GIN_PER_BYTE      11e-9
#define COST_ANALYZE_MAX_BYTES (30000.0 * 8192) /* ANALYZE reads at most 30000 pages */

static double
table_rows(const CatTable *tb)
{
	/* never analyzed (-1) or empty at the last ANALYZE: guess from the size */
	return tb->reltuples > 0 ? tb->reltuples : (double) tb->bytes / 200.0;
}

/* number of key columns of an index definition: commas at depth 1 */
static int
indexdef_ncols(const char *am)
{
	int ncols = 1;
	int depth = 0;
	bool quoted = false;
	for (const char *p = strchr(am, '('); p != NULL && *p != '\0'; p++)
	{
		if (*p == '"' || *p == '\'')
		{
			quoted = !quoted;
		}
		else if (quoted)
		{
			continue;
		}
		else if (*p == '(')
		{
			depth++;
		}
		else if (*p == ')' && --depth == 0)
		{
			break;
		}
		else if (*p == ',' && depth == 1)
		{
			ncols++;
		}
	}
	return ncols;
}

static double
index_build_cost(const CatTable *tb, const CatIndex *x)
{
	const char *def = x->indexdef != NULL ? x->indexdef : "";
	const char *using = strstr(def, " USING ");
	const char *am = using != NULL ? using + 7 : "btree ";
	double heap = (double) tb->bytes;
	double rows = table_rows(tb);
	if (strncmp(am, "gin ", 4) == 0 || strncmp(am, "gist ", 5) == 0 ||
		strncmp(am, "spgist ", 7) == 0)
	{
		return heap * COST_GIN_PER_BYTE + rows * COST_BTREE_PER_ROW;
	}
	if (strncmp(am, "brin ", 5) == 0)
	{
		return heap * COST_SCAN_PER_BYTE;
	}
	int ncols = indexdef_ncols(am);
	return heap * COST_SCAN_PER_BYTE + rows * (COST_BTREE_PER_ROW * (1.0 + 0.5 * (ncols - 1)) +
											   COST_STRCOLL_PER_ROW * (x->slow_keys > 0 ? 1 : 0));
}

/* a foreign key's validation: a scan of the referencing table, a hash probe per row */
static double
fkey_cost(const CatTable *tb)
{
	return (double) tb->bytes * COST_SCAN_PER_BYTE + table_rows(tb) * 0.2e-6;
}

/* ANALYZE reads a sample; VACUUM (tables copied in parts, without FREEZE) reads it all */
static double
vacuum_cost(const CatTable *tb, bool full)
{
	double bytes = (double) tb->bytes;
	double sample = bytes < COST_ANALYZE_MAX_BYTES ? bytes : COST_ANALYZE_MAX_BYTES;
	return sample * 3e-9 + (full ? bytes * COST_SCAN_PER_BYTE : 0.0);
}

/*
 * A task's rank: its own cost plus the longest chain of work that waits for
 * it (the "upward rank" of list scheduling). Workers take the ready task of
 * highest rank, so the chain that decides when the run ends — the biggest
 * table's copy, then its slowest index build, then its foreign keys — starts
 * first, and short tasks with nothing after them fill the gaps.
 */
static double
task_rank(Task *t, double *rank, bool *seen, int depth)
{
	if (seen[t->id])
	{
		return rank[t->id];
	}
	double longest = 0.0;
	for (int i = 0; i < t->ndependents && depth < 10000; i++)
	{
		double r = task_rank(t->dependents[i], rank, seen, depth + 1);
		longest = r > longest ? r : longest;
	}
	seen[t->id] = true;
	rank[t->id] = t->cost + longest;
	return rank[t->id];
}

static void
plan_rank(Graph *g)
{
	double *rank = xcalloc((size_t) g->ntasks + 1, sizeof(double));
	bool *seen = xcalloc((size_t) g->ntasks + 1, sizeof(bool));
	for (int i = g->ntasks - 1; i >= 0; i--)
	{
		Task *t = g->tasks[i];
		/* microseconds; blob batches rank among themselves (their own pool) */
		t->priority = (int64_t) (task_rank(t, rank, seen, 0) * 1e6);
	}
	free(rank);
	free(seen);
}

/* The graph being built, and each table's tasks so far. */
typedef struct Planner
{
	CloneRun *run;
	Catalog *cat;
	Graph *g;
	int steps;
	TableTasks *tt; /* parallel to cat->tables */
	Task **blobs;
	int nblobs;
} Planner;

/* One COPY task per part of each table whose rows are copied. */
static void
plan_copies(Planner *p)
{
	for (int i = 0; i < p->cat->ntables; i++)
	{
		CatTable *tb = &p->cat->tables[i];
		if (tb->relkind != 'r' || tb->excluded || tb->exclude_data)
		{
			continue;
		}
		TableTasks *tt = &p->tt[i];
		tt->copy = xcalloc((size_t) tb->nparts, sizeof(Task *));
		for (int part = 0; part < tb->nparts; part++)
		{
			Task *t = graph_add(p->g, TASK_COPY, POOL_COPY);
			t->table = tb;
			t->part = part;
			t->nparts = tb->nparts;
			split_part_range(tb, tb->nparts, part, &t->min_block, &t->max_block);
			t->cost = (double) tb->bytes / tb->nparts * COST_COPY_PER_BYTE;
			tt->copy[tt->ncopy++] = t;
		}
	}
}

/* t waits for every part of table ti's rows, locks the table, and is one of its keys. */
static void
plan_key(Planner *p, Task *t, int ti)
{
	lock_add(t, p->cat->tables[ti].oid);
	for (int c = 0; c < p->tt[ti].ncopy; c++)
	{
		task_depends(t, p->tt[ti].copy[c]);
	}
	keys_add(&p->tt[ti], t);
}

/* Index builds (sharing their table's lock), and exclusion constraints (built as one). */
static void
plan_indexes(Planner *p)
{
	for (int k = 0; k < p->cat->nindexes; k++)
	{
		CatIndex *x = &p->cat->indexes[k];
		int ti = table_pos(p->cat, x->table_oid);
		if (ti < 0 || x->excluded || p->cat->tables[ti].excluded)
		{
			continue;
		}
		CatTable *tb = &p->cat->tables[ti];
		bool exclusion = x->contype == 'x';
		if (!(p->steps & (exclusion ? STEP_CONSTRAINTS : STEP_INDEXES)))
		{
			continue;
		}
		Task *t = graph_add(p->g, exclusion ? TASK_CONSTRAINT : TASK_INDEX, POOL_INDEX);
		t->table = tb;
		t->index = x;
		t->cost = index_build_cost(tb, x);
		t->lock_shared = !exclusion;
		plan_key(p, t, ti);
	}
}

/* Primary key / unique constraints: after every index of their table. */
static void
plan_constraints(Planner *p)
{
	for (int k = 0; k < p->cat->nindexes; k++)
	{
		CatIndex *x = &p->cat->indexes[k];
		int ti = table_pos(p->cat, x->table_oid);
		if (ti < 0 || x->excluded || p->cat->tables[ti].excluded ||
			(x->contype != 'p' && x->contype != 'u'))
		{
			continue;
		}
		Task *t = graph_add(p->g, TASK_CONSTRAINT, POOL_INDEX);
		t->table = &p->cat->tables[ti];
		t->index = x;
		t->cost = 0.01; /* ALTER TABLE ... ADD CONSTRAINT ... USING INDEX */
		int nk = p->tt[ti].nkeys;
		for (int j = 0; j < nk; j++)
		{
			if (p->tt[ti].keys[j]->kind == TASK_INDEX)
			{
				task_depends(t, p->tt[ti].keys[j]);
			}
		}
		plan_key(p, t, ti);
	}
}

static void
plan_vacuums(Planner *p)
{
	const CloneSpec *o = p->run->spec;
	for (int i = 0; i < p->cat->ntables; i++)
	{
		CatTable *tb = &p->cat->tables[i];
		if (tb->relkind != 'r' || tb->excluded || p->tt[i].ncopy == 0)
		{
			continue;
		}
		/* a FROZEN single part needs no VACUUM: only ANALYZE, or nothing */
		if (tb->nparts == 1 && o->skip_analyze && p->run->frozen_ok)
		{
			continue;
		}
		Task *t = graph_add(p->g, TASK_VACUUM, POOL_COPY);
		t->table = tb;
		t->cost = vacuum_cost(tb, tb->nparts > 1 || !p->run->frozen_ok);
		needs_table(t, p->cat, p->tt, i);
	}
}

static void
plan_foreign_keys(Planner *p)
{
	Catalog *cat = p->cat;
	for (int k = 0; k < cat->nfkeys; k++)
	{
		CatFkey *f = &cat->fkeys[k];
		int ti = table_pos(cat, f->table_oid);
		int ri = table_pos(cat, f->ref_table_oid);
		if (ti < 0 || ri < 0 || f->excluded || cat->tables[ti].excluded || cat->tables[ri].excluded)
		{
			continue;
		}
		Task *t = graph_add(p->g, TASK_FKEY, POOL_INDEX);
		t->table = &cat->tables[ti];
		t->fkey = f;
		t->cost = fkey_cost(&cat->tables[ti]);
		/* both tables copied and keyed (a partitioned one: all its partitions) */
		needs_table(t, cat, p->tt, ti);
		if (ri != ti)
		{
			needs_table(t, cat, p->tt, ri);
		}
	}
}

static void
plan_blobs(Planner *p)
{
	p->blobs = xcalloc((size_t) p->cat->nlo_batches + 1, sizeof(Task *));
	if (!(p->steps & STEP_BLOBS) || p->run->spec->skip_large_objects)
	{
		return;
	}
	for (int b = 0; b < p->cat->nlo_batches; b++)
	{
		Task *t = graph_add(p->g, TASK_BLOBS, POOL_BLOB);
		t->lob = &p->cat->lo_batches[b];
		t->cost = p->cat->lo_batches[b].count * 1e-3;
		p->blobs[p->nblobs++] = t;
	}
}

/*
 * Materialized views: refreshed as soon as every table and large object is
 * on the target, while the indexes build, rather than at the very end of
 * post-data on one core. In dump order, one after the other (a view may
 * read another). Their cost is about a scan of what they read: guessed as
 * a scan of everything copied.
 */
static void
plan_matviews(Planner *p)
{
	CloneRun *run = p->run;
	int64_t all_bytes = 0;
	for (int i = 0; i < p->cat->ntables; i++)
	{
		all_bytes += p->tt[i].ncopy > 0 ? p->cat->tables[i].bytes : 0;
	}
	Task *prev = NULL;
	for (int m = 0; (p->steps & STEP_TABLE_DATA) && m < run->nmatviews; m++)
	{
		Task *t = graph_add(p->g, TASK_MATVIEW, POOL_INDEX);
		t->mv_oid = run->mv_oids[m];
		t->mv_name = run->mv_names[m];
		t->cost = (double) all_bytes * COST_SCAN_PER_BYTE / 2;
		for (int i = 0; i < p->cat->ntables; i++)
		{
			for (int c = 0; c < p->tt[i].ncopy; c++)
			{
				task_depends(t, p->tt[i].copy[c]);
			}
		}
		for (int b = 0; b < p->nblobs; b++)
		{
			task_depends(t, p->blobs[b]);
		}
		if (prev != NULL)
		{
			task_depends(t, prev);
		}
		prev = t;
	}
}

void
plan_build(CloneRun *run, int steps)
{
	const CloneSpec *o = run->spec;
	Planner p = { .run = run, .cat = &run->cat, .g = &run->graph, .steps = steps };
	p.tt = xcalloc((size_t) p.cat->ntables + 1, sizeof(TableTasks));
	if (steps & STEP_TABLE_DATA)
	{
		plan_copies(&p);
	}
	plan_indexes(&p);
	if (steps & STEP_CONSTRAINTS)
	{
		plan_constraints(&p);
	}
	if ((steps & STEP_VACUUM) && !(o->skip_vacuum && o->skip_analyze))
	{
		plan_vacuums(&p);
	}
	if (steps & STEP_CONSTRAINTS)
	{
		plan_foreign_keys(&p);
	}
	plan_blobs(&p);
	plan_matviews(&p);
	free(p.blobs);
	for (int i = 0; i < p.cat->ntables; i++)
	{
		free(p.tt[i].copy);
		free(p.tt[i].keys);
	}
	free(p.tt);

	Graph *g = &run->graph;
	plan_rank(g);
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *t = g->tasks[i];
		t->status = t->ndeps_left == 0 ? TS_READY : TS_WAITING;
	}
	g->unfinished = g->ntasks;
}

void
graph_free(Graph *g)
{
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *t = g->tasks[i];
		free(t->dependents);
		free(t->folded);
		free(t->lock_oids);
		free(t->error);
		free(t->sql);
		free(t);
	}
	free(g->tasks);
	g->tasks = NULL;
	g->ntasks = g->cap = 0;
}

/* ---- a task's names and its row in state.db ---- */

static const char *const g_kind_names[] = { "copy",   "index", "constraint", "foreign-key",
											"vacuum", "blobs", "matview" };

const char *
task_kind_name(TaskKind k)
{
	return g_kind_names[k];
}

static int64_t
task_obj_oid(const Task *t)
{
	switch (t->kind)
	{
		case TASK_COPY:
		case TASK_VACUUM:
			return t->table->oid;
		case TASK_INDEX:
			return t->index->oid;
		case TASK_CONSTRAINT:
			return t->index->conoid;
		case TASK_FKEY:
			return t->fkey->oid;
		case TASK_BLOBS:
			return t->lob->batch;
		case TASK_MATVIEW:
			return t->mv_oid;
		case TASK_NKINDS:
			break;
	}
	return 0;
}

static StateTaskKey
task_key(const Task *t)
{
	StateTaskKey k = { .kind = task_kind_name(t->kind),
					   .obj_oid = task_obj_oid(t),
					   .part = t->part };
	return k;
}

char *
task_label(const Task *t)
{
	switch (t->kind)
	{
		case TASK_COPY:
			if (t->nparts > 1)
			{
				return xasprintf("%s part %d/%d", t->table->qname, t->part + 1, t->nparts);
			}
			return xstrdup(t->table->qname);
		case TASK_VACUUM:
			return xstrdup(t->table->qname);
		case TASK_INDEX:
			return xasprintf("%s.\"%s\"", t->index->nspname, t->index->relname);
		case TASK_CONSTRAINT:
			return xasprintf("%s \"%s\"", t->table->qname, t->index->conname);
		case TASK_FKEY:
			return xasprintf("%s \"%s\"", t->table->qname, t->fkey->conname);
		case TASK_BLOBS:
			return xasprintf("large objects %u..%u (%d)", t->lob->min_oid, t->lob->max_oid,
							 t->lob->count);
		case TASK_MATVIEW:
			return xstrdup(t->mv_name);
		case TASK_NKINDS:
			break;
	}
	return xstrdup("?");
}

bool
plan_record_tasks(CloneRun *run)
{
	Graph *g = &run->graph;
	StateTaskRow *rows = xcalloc((size_t) g->ntasks + 1, sizeof(StateTaskRow));
	char **labels = xcalloc((size_t) g->ntasks + 1, sizeof(char *));
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *t = g->tasks[i];
		labels[i] = task_label(t);
		rows[i].key = task_key(t);
		rows[i].label = labels[i];
		rows[i].done = t->status == TS_DONE;
	}
	bool ok = state_tasks_record(run->state, rows, g->ntasks);
	for (int i = 0; i < g->ntasks; i++)
	{
		free(labels[i]);
	}
	free(labels);
	free(rows);
	return ok;
}

void
task_record(CloneRun *run, const Task *t, TaskStatus status, const char *worker)
{
	StateTaskKey key = task_key(t);
	if (status == TS_RUNNING)
	{
		state_task_start(run->state, &key, worker);
		return;
	}
	StateTaskResult r = { .status = status == TS_DONE     ? STATE_TASK_DONE
									: status == TS_FAILED ? STATE_TASK_FAILED
														  : STATE_TASK_QUEUED,
						  .duration = t->duration,
						  .bytes = t->bytes,
						  .rows = t->rows,
						  .error = t->error,
						  .sql = t->sql };
	state_task_end(run->state, &key, &r);
}

/* Parts committed on the target, whatever state.db says (NULL: none recorded). */
static PGresult *
committed_parts(PgConn *target)
{
	PGresult *res = NULL;
	char *has = NULL;
	if (pg_query_value(target,
					   "SELECT pg_catalog.to_regclass('" CLONE_PROGRESS_TABLE "') IS NOT NULL", 0,
					   NULL, &has) &&
		has != NULL && strcmp(has, "t") == 0)
	{
		res = pg_query(target, "SELECT table_oid, part FROM " CLONE_PROGRESS_TABLE, 0, NULL);
	}
	free(has);
	return res;
}

bool
plan_apply_resume(CloneRun *run, PgConn *target)
{
	Graph *g = &run->graph;
	PGresult *res = committed_parts(target);
	StateTaskKey *keys = xcalloc((size_t) g->ntasks + 1, sizeof(StateTaskKey));
	bool *recorded = xcalloc((size_t) g->ntasks + 1, sizeof(bool));
	for (int i = 0; i < g->ntasks; i++)
	{
		keys[i] = task_key(g->tasks[i]);
	}
	/* recorded done: its COMMIT (or DDL) returned success */
	state_tasks_done(run->state, keys, g->ntasks, recorded);
	int ndone = 0, nfound = 0;
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *t = g->tasks[i];
		bool done = recorded[i];
		if (!done && t->kind == TASK_COPY)
		{
			for (int r = 0; res != NULL && r < PQntuples(res); r++)
			{
				if ((Oid) strtoul(PQgetvalue(res, r, 0), NULL, 10) == t->table->oid &&
					strtol(PQgetvalue(res, r, 1), NULL, 10) == t->part)
				{
					done = true;
					nfound++;
				}
			}
		}
		if (done)
		{
			t->status = TS_DONE;
			ndone++;
		}
	}
	free(keys);
	free(recorded);
	PQclear(res);
	log_info("resuming: %d of %d tasks already done (%d copies found committed on the target)",
			 ndone, g->ntasks, nfound);
	return true;
}
