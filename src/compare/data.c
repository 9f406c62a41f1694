/*
 * src/compare/data.c — compare data: row counts and checksums, in parallel.
 *
 * Each table is read on both servers with the same query, which returns the
 * row count and the checksum:
 *
 *   SELECT count(*), coalesce(sum(('x' || substr(md5(ROW(t.c1, ...)::text), 1, 16))
 *                                 ::bit(64)::bigint::numeric), 0)
 *     FROM ONLY tbl t [WHERE range]
 *
 * i.e. the sum of the first 64 bits of the md5 of each row's text: it does
 * not depend on the order rows are read in, and counts duplicate rows. Only
 * the columns both sides have go in ROW(), in the source's order. The sum is
 * kept modulo 2^64.
 *
 * Tables bigger than the split threshold (catalog/split.c, as clone does)
 * are read in parts, each part a job: with a primary key, parts are key
 * ranges computed on the source (ntile over the key, text keys in the "C"
 * collation so both servers order them alike), the same range read on each
 * side, so a difference is narrowed to a range; without one, ctid block
 * ranges of each server (row placement differs between servers, so only the
 * totals are compared). --show-rows lists, within a differing range, the
 * rows only one side has: both sides stream the md5 of each row, grouped and
 * sorted, through a cursor; a merge finds the hashes whose counts differ, and
 * their rows' texts are fetched.
 *
 * --table-jobs threads take jobs, biggest first; each owns one source and one
 * target connection, both in the run's snapshots, and runs each query on the
 * two servers at the same time (src/compare/data_worker.c).
 */
#include "compare/data_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "sql.inc"

/* One side's view of a table, from sql/compare_data_tables.sql. */
typedef struct SideTable
{
	char *nspname;
	char *relname;
	char *display;
	int64_t bytes;
	int64_t relpages;
	json_t *columns; /* array of names */
	json_t *pkey;    /* array of {name, type, collatable}, or NULL */
} SideTable;

const char *
cmp_status_name(CmpStatus s)
{
	switch (s)
	{
		case CMP_EQUAL:
			return "equal";
		case CMP_DIFFERENT:
			return "different";
		case CMP_ONLY_SOURCE:
			return "only on source";
		case CMP_ONLY_TARGET:
			return "only on target";
		case CMP_ERROR:
			return "error";
	}
	return "?";
}

/* ---- reading the table lists ---- */

static bool
fetch_side(PgConn *c, SideTable **out, int *n)
{
	*out = NULL;
	*n = 0;
	PGresult *res = pg_query(c, SQL_COMPARE_DATA_TABLES, 0, NULL);
	if (res == NULL)
	{
		return false;
	}
	int nt = PQntuples(res);
	SideTable *st = xcalloc((size_t) nt + 1, sizeof(SideTable));
	int k = 0;
	for (int i = 0; i < nt; i++)
	{
		/* HOOK(filters): tables the filters leave out are not compared */
		if (!compare_filter_keep("table-data", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)))
		{
			continue;
		}
		SideTable *t = &st[k++];
		t->nspname = xstrdup(PQgetvalue(res, i, 0));
		t->relname = xstrdup(PQgetvalue(res, i, 1));
		t->display = xstrdup(PQgetvalue(res, i, 2));
		t->bytes = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		t->relpages = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		t->columns =
			PQgetisnull(res, i, 5) ? json_array() : json_loads(PQgetvalue(res, i, 5), 0, NULL);
		t->pkey = PQgetisnull(res, i, 6) ? NULL : json_loads(PQgetvalue(res, i, 6), 0, NULL);
		if (t->columns == NULL)
		{
			t->columns = json_array();
		}
	}
	PQclear(res);
	*out = st;
	*n = k;
	return true;
}

static void
side_free(SideTable *st, int n)
{
	for (int i = 0; i < n; i++)
	{
		free(st[i].nspname);
		free(st[i].relname);
		free(st[i].display);
		json_decref(st[i].columns);
		json_decref(st[i].pkey);
	}
	free(st);
}

static int
side_cmp(const void *a, const void *b)
{
	const SideTable *x = a;
	const SideTable *y = b;
	int c = strcmp(x->nspname, y->nspname);
	return c != 0 ? c : strcmp(x->relname, y->relname);
}

static bool
json_has_string(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
		{
			return true;
		}
	}
	return false;
}

/* Columns both sides have (source order), and which ones only one side has. */
static void
table_columns(CmpTable *t, const SideTable *s, const SideTable *g)
{
	StrBuf row, only_s, only_t;
	sb_init(&row);
	sb_init(&only_s);
	sb_init(&only_t);
	sb_append(&row, "ROW(");
	size_t i;
	json_t *v;
	int ncommon = 0;
	json_array_foreach(s->columns, i, v)
	{
		const char *col = json_string_value(v);
		if (col == NULL)
		{
			continue;
		}
		if (json_has_string(g->columns, col))
		{
			sb_append(&row, ncommon++ ? ", t." : "t.");
			sb_append_ident(&row, col);
		}
		else
		{
			sb_append(&only_s, only_s.len ? ", " : "");
			sb_append_ident(&only_s, col);
		}
	}
	sb_append_char(&row, ')');
	json_array_foreach(g->columns, i, v)
	{
		const char *col = json_string_value(v);
		if (col != NULL && !json_has_string(s->columns, col))
		{
			sb_append(&only_t, only_t.len ? ", " : "");
			sb_append_ident(&only_t, col);
		}
	}
	t->row_expr = sb_steal(&row);
	if (only_s.len || only_t.len)
	{
		StrBuf d;
		sb_init(&d);
		if (only_s.len)
		{
			sb_printf(&d, "columns only on source: %s", only_s.data);
		}
		if (only_t.len)
		{
			sb_printf(&d, "%scolumns only on target: %s", d.len ? "; " : "", only_t.data);
		}
		t->col_diff = sb_steal(&d);
	}
	sb_free(&only_s);
	sb_free(&only_t);

	/* the key: used for ranges only when the target has every key column */
	if (s->pkey == NULL || !json_is_array(s->pkey) || json_array_size(s->pkey) == 0)
	{
		return;
	}
	json_array_foreach(s->pkey, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		if (name == NULL || !json_has_string(g->columns, name) ||
			json_string_value(json_object_get(v, "type")) == NULL)
		{
			return;
		}
	}
	size_t npk = json_array_size(s->pkey);
	t->npk = (int) npk;
	t->pk_names = xcalloc(npk, sizeof(char *));
	t->pk_types = xcalloc(npk, sizeof(char *));
	t->pk_collatable = xcalloc(npk, sizeof(bool));
	json_array_foreach(s->pkey, i, v)
	{
		t->pk_names[i] = xstrdup(json_string_value(json_object_get(v, "name")));
		t->pk_types[i] = xstrdup(json_string_value(json_object_get(v, "type")));
		t->pk_collatable[i] = json_is_true(json_object_get(v, "collatable"));
	}
}

static CmpTable *
add_table(CmpDataReport *r, int *cap, const SideTable *any)
{
	if (r->ntables == *cap)
	{
		*cap = *cap ? *cap * 2 : 64;
		r->tables = xrealloc(r->tables, sizeof(CmpTable) * (size_t) *cap);
	}
	CmpTable *t = &r->tables[r->ntables++];
	memset(t, 0, sizeof(*t));
	t->nspname = xstrdup(any->nspname);
	t->relname = xstrdup(any->relname);
	t->display = xstrdup(any->display);
	t->qname = pg_qualname(any->nspname, any->relname);
	return t;
}

/* Merges both sides' lists (sorted by name) into r->tables. */
static void
build_tables(CmpDataReport *r, SideTable *s, int ns, SideTable *g, int ng)
{
	qsort(s, (size_t) ns, sizeof(SideTable), side_cmp);
	qsort(g, (size_t) ng, sizeof(SideTable), side_cmp);
	int cap = 0;
	int i = 0, j = 0;
	while (i < ns || j < ng)
	{
		int c = i >= ns ? 1 : j >= ng ? -1 : side_cmp(&s[i], &g[j]);
		if (c < 0)
		{
			CmpTable *t = add_table(r, &cap, &s[i]);
			t->on_source = true;
			t->src_bytes = s[i].bytes;
			t->row_expr = xstrdup("t");
			t->status = CMP_ONLY_SOURCE;
			i++;
		}
		else if (c > 0)
		{
			CmpTable *t = add_table(r, &cap, &g[j]);
			t->on_target = true;
			t->src_bytes = g[j].bytes;
			t->row_expr = xstrdup("t");
			t->status = CMP_ONLY_TARGET;
			j++;
		}
		else
		{
			CmpTable *t = add_table(r, &cap, &s[i]);
			t->on_source = t->on_target = true;
			t->src_bytes = s[i].bytes;
			t->src_relpages = s[i].relpages;
			t->tgt_relpages = g[j].relpages;
			table_columns(t, &s[i], &g[j]);
			i++;
			j++;
		}
	}
}

/* ---- the run ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *
ctid_range_text(const CmpPart *p)
{
	char smax[32] = "end", tmax[32] = "end";
	if (p->src_max_block >= 0)
	{
		snprintf(smax, sizeof(smax), "%lld", (long long) p->src_max_block);
	}
	if (p->tgt_max_block >= 0)
	{
		snprintf(tmax, sizeof(tmax), "%lld", (long long) p->tgt_max_block);
	}
	return xasprintf("blocks [%lld, %s) on the source, [%lld, %s) on the target",
					 (long long) p->src_min_block, smax, (long long) p->tgt_min_block, tmax);
}

/* Decides each table's split with the clone's rule, and queues the jobs. */
static int
plan_jobs(Shared *sh)
{
	CmpDataReport *r = sh->r;
	Catalog cat;
	memset(&cat, 0, sizeof(cat));
	cat.tables = xcalloc((size_t) r->ntables + 1, sizeof(CatTable));
	int *index = xcalloc((size_t) r->ntables + 1, sizeof(int));
	for (int i = 0; i < r->ntables; i++)
	{
		CmpTable *t = &r->tables[i];
		if (!t->on_source || !t->on_target)
		{
			t->split = CMP_SPLIT_NONE;
			t->nparts = 1;
			t->parts = xcalloc(1, sizeof(CmpPart));
			t->parts[0].src_max_block = t->parts[0].tgt_max_block = -1;
			t->parts[0].range = xstrdup("whole table");
			t->parts_left = 1;
			cmp_push_job(sh, JOB_PART, i, 0, t->src_bytes);
			continue;
		}
		CatTable *c = &cat.tables[cat.ntables];
		c->oid = (Oid) i;
		c->nspname = t->nspname;
		c->relname = t->relname;
		c->qname = t->qname;
		c->relkind = 'r';
		c->persistence = 'p';
		c->bytes = t->src_bytes;
		c->relpages = t->src_relpages;
		c->nparts = 1;
		index[cat.ntables++] = i;
	}
	split_tables(&cat, &sh->spec->split);
	r->split_threshold = split_threshold(&sh->spec->split, &cat);
	int expected = sh->njobs;
	for (int c = 0; c < cat.ntables; c++)
	{
		CmpTable *t = &r->tables[index[c]];
		int n = cat.tables[c].nparts > 0 ? cat.tables[c].nparts : 1;
		expected += n;
		t->nparts = n;
		if (n > 1 && t->npk > 0)
		{
			/* the parts come from the PLAN job */
			t->split = CMP_SPLIT_KEY;
			cmp_push_job(sh, JOB_PLAN, index[c], 0, t->src_bytes + 1);
			continue;
		}
		t->split = n > 1 ? CMP_SPLIT_CTID : CMP_SPLIT_NONE;
		t->parts = xcalloc((size_t) n, sizeof(CmpPart));
		t->parts_left = n;
		int64_t sper = n > 1 ? (t->src_relpages + n - 1) / n : 0;
		int64_t tper = n > 1 ? (t->tgt_relpages + n - 1) / n : 0;
		for (int p = 0; p < n; p++)
		{
			CmpPart *pp = &t->parts[p];
			pp->num = p;
			pp->src_min_block = sper * p;
			pp->src_max_block = p == n - 1 ? -1 : sper * (p + 1);
			pp->tgt_min_block = tper * p;
			pp->tgt_max_block = p == n - 1 ? -1 : tper * (p + 1);
			pp->range = n > 1 ? ctid_range_text(pp) : xstrdup("whole table");
			cmp_push_job(sh, JOB_PART, index[c], p, t->src_bytes / n);
		}
	}
	free(cat.tables);
	free(index);
	return expected;
}

bool
compare_data(const CompareSpec *spec, PgConn *src, PgConn *tgt, const char *src_snapshot,
			 const char *tgt_snapshot, CmpDataReport *r, char *failed_side)
{
	memset(r, 0, sizeof(*r));
	r->show_rows = spec->show_rows;
	double t0 = time_now();

	SideTable *s = NULL, *g = NULL;
	int ns = 0, ng = 0;
	if (!fetch_side(src, &s, &ns))
	{
		*failed_side = 's';
		return false;
	}
	if (!fetch_side(tgt, &g, &ng))
	{
		side_free(s, ns);
		*failed_side = 't';
		return false;
	}
	build_tables(r, s, ns, g, ng);
	side_free(s, ns);
	side_free(g, ng);

	Shared sh;
	memset(&sh, 0, sizeof(sh));
	sh.spec = spec;
	sh.r = r;
	sh.src_snapshot = src_snapshot;
	sh.tgt_snapshot = tgt_snapshot;
	pthread_mutex_init(&sh.lock, NULL);
	pthread_cond_init(&sh.cond, NULL);
	int expected = plan_jobs(&sh);

	int jobs = spec->jobs > 0 ? spec->jobs : 1;
	if (jobs > expected)
	{
		jobs = expected > 0 ? expected : 1;
	}
	r->jobs = jobs;
	log_info("comparing %d tables (%d parts) with %d jobs", r->ntables, expected, jobs);

	CmpWorker *workers = xcalloc((size_t) jobs, sizeof(CmpWorker));
	int started = 0;
	for (int i = 0; i < jobs && expected > 0; i++)
	{
		CmpWorker *w = &workers[i];
		w->sh = &sh;
		w->num = i + 1;
		snprintf(w->role, sizeof(w->role), "compare-%d", i + 1);
		if (pthread_create(&w->thread, NULL, cmp_worker_main, w) != 0)
		{
			log_error("could not start a compare thread");
			break;
		}
		started++;
	}
	if (started == 0 && expected > 0)
	{
		/* no thread: do the work here */
		workers[0].sh = &sh;
		snprintf(workers[0].role, sizeof(workers[0].role), "compare-1");
		cmp_worker_main(&workers[0]);
		log_set_role("main");
	}
	for (int i = 0; i < started; i++)
	{
		pthread_join(workers[i].thread, NULL);
	}
	free(workers);
	free(sh.jobs);
	pthread_mutex_destroy(&sh.lock);
	pthread_cond_destroy(&sh.cond);

	r->interrupted = signals_interrupted();
	for (int i = 0; i < r->ntables; i++)
	{
		CmpTable *t = &r->tables[i];
		if (t->parts_left > 0 || t->nparts == 0 || t->parts == NULL)
		{
			if (t->error == NULL)
			{
				t->error = xstrdup(r->interrupted ? "not compared: interrupted" : "not compared");
			}
			t->status = CMP_ERROR;
		}
		if (t->only_src.rows.n > 1)
		{
			qsort(t->only_src.rows.items, (size_t) t->only_src.rows.n, sizeof(char *), cmp_str);
		}
		if (t->only_tgt.rows.n > 1)
		{
			qsort(t->only_tgt.rows.items, (size_t) t->only_tgt.rows.n, sizeof(char *), cmp_str);
		}
	}
	r->seconds = time_now() - t0;
	return true;
}

void
compare_data_free(CmpDataReport *r)
{
	for (int i = 0; i < r->ntables; i++)
	{
		CmpTable *t = &r->tables[i];
		free(t->nspname);
		free(t->relname);
		free(t->display);
		free(t->qname);
		free(t->row_expr);
		free(t->col_diff);
		for (int k = 0; k < t->npk; k++)
		{
			free(t->pk_names[k]);
			free(t->pk_types[k]);
		}
		free(t->pk_names);
		free(t->pk_types);
		free(t->pk_collatable);
		for (int p = 0; p < t->nparts && t->parts != NULL; p++)
		{
			CmpPart *pp = &t->parts[p];
			for (int k = 0; k < t->npk; k++)
			{
				if (pp->lo)
				{
					free(pp->lo[k]);
				}
				if (pp->hi)
				{
					free(pp->hi[k]);
				}
			}
			free(pp->lo);
			free(pp->hi);
			free(pp->range);
		}
		free(t->parts);
		free(t->error);
		strlist_free(&t->only_src.rows);
		strlist_free(&t->only_tgt.rows);
	}
	free(r->tables);
	memset(r, 0, sizeof(*r));
}
