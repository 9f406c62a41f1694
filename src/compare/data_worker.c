/*
 * src/compare/data_worker.c — compare data's job queue and worker threads.
 *
 * Jobs wait in a max-heap on their size, so the biggest run first; a PLAN job
 * (key ranges of a big table, computed on the source) adds the table's PART
 * jobs while the others run, which is why an idle worker waits while any PLAN
 * job is still running. Each worker owns one source and one target
 * connection, both in the run's snapshots, sends each query to the two
 * servers at once and collects both results; after a failure it drops both
 * transactions and the next job reconnects. Results go into the shared
 * report under sh->lock.
 */
#include "compare/data_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* count and checksum: ROW(...) of the common columns, the table, " WHERE range" */
#define CHECKSUM_SQL                                                      \
	"SELECT count(*), coalesce(sum(('x' || substr(md5(%s::text), 1, 16))" \
	"::bit(64)::bigint::numeric), 0) FROM ONLY %s t%s"
/* --show-rows: the hash of each row and how many rows have it, sorted */
#define ROWS_CURSOR_SQL                                                         \
	"DECLARE pgshift_cmp_rows NO SCROLL CURSOR FOR "                            \
	"SELECT s.h, count(*) FROM (SELECT md5(%s::text) AS h FROM ONLY %s t%s) s " \
	"GROUP BY s.h ORDER BY s.h COLLATE \"C\""
#define FETCH_SQL "FETCH 10000 FROM pgshift_cmp_rows"

/* ---- jobs ---- */

static bool
job_before(const Job *a, const Job *b)
{
	return a->priority > b->priority || (a->priority == b->priority && a->seq < b->seq);
}

static void
job_swap(Job *a, Job *b)
{
	Job x = *a;
	*a = *b;
	*b = x;
}

void
cmp_push_job(Shared *sh, JobKind kind, int table, int part, int64_t priority)
{
	if (sh->njobs == sh->capjobs)
	{
		sh->capjobs = sh->capjobs ? sh->capjobs * 2 : 64;
		sh->jobs = xrealloc(sh->jobs, sizeof(Job) * (size_t) sh->capjobs);
	}
	int i = sh->njobs++;
	Job *j = &sh->jobs[i];
	j->kind = kind;
	j->table = table;
	j->part = part;
	j->priority = priority;
	j->seq = sh->nextseq++;
	while (i > 0 && job_before(&sh->jobs[i], &sh->jobs[(i - 1) / 2]))
	{
		job_swap(&sh->jobs[i], &sh->jobs[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static Job
pop_job(Shared *sh)
{
	Job top = sh->jobs[0];
	sh->jobs[0] = sh->jobs[--sh->njobs];
	int i = 0;
	for (;;)
	{
		int l = 2 * i + 1, r = l + 1, best = i;
		if (l < sh->njobs && job_before(&sh->jobs[l], &sh->jobs[best]))
		{
			best = l;
		}
		if (r < sh->njobs && job_before(&sh->jobs[r], &sh->jobs[best]))
		{
			best = r;
		}
		if (best == i)
		{
			break;
		}
		job_swap(&sh->jobs[i], &sh->jobs[best]);
		i = best;
	}
	return top;
}

/* Takes the biggest job waiting; false when there is none left. */
static bool
take_job(Shared *sh, Job *out)
{
	pthread_mutex_lock(&sh->lock);
	while (sh->njobs == 0 && sh->nplanning > 0 && !signals_interrupted())
	{
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L)
		{
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&sh->cond, &sh->lock, &ts);
	}
	if (sh->njobs == 0 || signals_interrupted())
	{
		pthread_mutex_unlock(&sh->lock);
		return false;
	}
	*out = pop_job(sh);
	if (out->kind == JOB_PLAN)
	{
		sh->nplanning++;
	}
	pthread_mutex_unlock(&sh->lock);
	return true;
}

/* ---- connections and queries ---- */

static bool
worker_connect(CmpWorker *w, char *failed_side)
{
	const CompareSpec *o = w->sh->spec;
	if (!w->src_ok)
	{
		w->src_ok = compare_connect(&w->src, o->source, "source", w->role, 10) &&
					compare_begin(&w->src, w->sh->src_snapshot);
		if (!w->src_ok)
		{
			*failed_side = 's';
			return false;
		}
	}
	if (!w->dst_ok)
	{
		w->dst_ok = compare_connect(&w->dst, o->target, "target", w->role, 10) &&
					compare_begin(&w->dst, w->sh->tgt_snapshot);
		if (!w->dst_ok)
		{
			*failed_side = 't';
			return false;
		}
	}
	return true;
}

/* After a failure: both transactions are dropped, the next job reconnects. */
static void
worker_reset(CmpWorker *w)
{
	pg_disconnect(&w->src);
	pg_disconnect(&w->dst);
	w->src_ok = w->dst_ok = false;
}

static bool
send_query(PgConn *c, const char *sql, const StrList *params)
{
	pg_clear_error(c);
	if (!PQsendQueryParams(c->conn, sql, params->n, NULL, (const char *const *) params->items, NULL,
						   NULL, 0))
	{
		char *ctx = pg_query_context(sql);
		pg_set_error(c, NULL, ctx);
		free(ctx);
		return false;
	}
	return true;
}

static PGresult *
get_result(PgConn *c, const char *sql)
{
	PGresult *res = PQgetResult(c->conn);
	PGresult *more;
	while ((more = PQgetResult(c->conn)) != NULL)
	{
		PQclear(more);
	}
	ExecStatusType st = PQresultStatus(res);
	if (res == NULL || (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK))
	{
		char *ctx = pg_query_context(sql);
		pg_set_error(c, res, ctx);
		free(ctx);
		PQclear(res);
		return NULL;
	}
	return res;
}

/*
 * Runs one query on each side at the same time. On failure returns false
 * with *failed_side set.
 */
static bool
run_both(CmpWorker *w, const char *sql_s, const StrList *par_s, const char *sql_t,
		 const StrList *par_t, PGresult **rs, PGresult **rt, char *failed_side)
{
	*rs = *rt = NULL;
	if (!send_query(&w->src, sql_s, par_s))
	{
		*failed_side = 's';
		return false;
	}
	if (!send_query(&w->dst, sql_t, par_t))
	{
		*failed_side = 't';
		return false;
	}
	*rs = get_result(&w->src, sql_s);
	*rt = get_result(&w->dst, sql_t);
	if (*rs == NULL || *rt == NULL)
	{
		*failed_side = *rs == NULL ? 's' : 't';
		PQclear(*rs);
		PQclear(*rt);
		*rs = *rt = NULL;
		return false;
	}
	return true;
}

/* numeric text -> value modulo 2^64 */
static uint64_t
parse_wrap64(const char *s)
{
	bool neg = *s == '-';
	if (*s == '-' || *s == '+')
	{
		s++;
	}
	uint64_t v = 0;
	for (; *s >= '0' && *s <= '9'; s++)
	{
		v = v * 10u + (uint64_t) (*s - '0');
	}
	return neg ? (uint64_t) 0 - v : v;
}

/* ---- ranges ---- */

/*
 * The key (vals NULL: its columns, text ones in the "C" collation) or a bound
 * of it (vals: $n::type parameters added to params), as a ROW() when the key
 * has several columns.
 */
static void
append_key(StrBuf *sb, const CmpTable *t, char **vals, StrList *params)
{
	sb_append(sb, t->npk > 1 ? "ROW(" : "");
	for (int k = 0; k < t->npk; k++)
	{
		if (vals == NULL)
		{
			sb_append(sb, k ? ", t." : "t.");
			sb_append_ident(sb, t->pk_names[k]);
			sb_append(sb, t->pk_collatable[k] ? " COLLATE \"C\"" : "");
			continue;
		}
		strlist_add(params, vals[k]);
		/* the type is format_type()'s output: a type name, quoted as needed */
		sb_printf(sb, "%s$%d::%s", k ? ", " : "", params->n, t->pk_types[k]);
	}
	sb_append(sb, t->npk > 1 ? ")" : "");
}

/* " WHERE ..." (or "") for a part on one side, its values added to params. */
static void
part_where(const CmpTable *t, const CmpPart *p, bool target, StrBuf *where, StrList *params)
{
	if (p == NULL)
	{
		return;
	}
	if (t->split == CMP_SPLIT_KEY)
	{
		if (p->lo != NULL)
		{
			sb_append(where, " WHERE ");
			append_key(where, t, NULL, NULL);
			sb_append(where, " >= ");
			append_key(where, t, p->lo, params);
		}
		if (p->hi != NULL)
		{
			sb_append(where, p->lo != NULL ? " AND " : " WHERE ");
			append_key(where, t, NULL, NULL);
			sb_append(where, " < ");
			append_key(where, t, p->hi, params);
		}
	}
	else if (t->split == CMP_SPLIT_CTID)
	{
		int64_t min = target ? p->tgt_min_block : p->src_min_block;
		int64_t max = target ? p->tgt_max_block : p->src_max_block;
		strlist_add_owned(params, xasprintf("(%lld,0)", (long long) min));
		sb_printf(where, " WHERE t.ctid >= $%d::pg_catalog.tid", params->n);
		if (max >= 0)
		{
			strlist_add_owned(params, xasprintf("(%lld,0)", (long long) max));
			sb_printf(where, " AND t.ctid < $%d::pg_catalog.tid", params->n);
		}
	}
}

/* One query of a part on both servers: its WHERE clauses, parameters and SQL. */
typedef struct PartQuery
{
	StrBuf ws, wt;
	StrList ps, pt;
	char *sql_s, *sql_t;
} PartQuery;

/* The count-and-checksum query (checksum) or the --show-rows cursor of a part. */
static void
part_query_init(PartQuery *q, const CmpTable *t, const CmpPart *p, bool checksum)
{
	memset(q, 0, sizeof(*q));
	sb_init(&q->ws);
	sb_init(&q->wt);
	part_where(t, p, false, &q->ws, &q->ps);
	part_where(t, p, true, &q->wt, &q->pt);
	const char *ws = q->ws.data ? q->ws.data : "";
	const char *wt = q->wt.data ? q->wt.data : "";
	q->sql_s = checksum ? xasprintf(CHECKSUM_SQL, t->row_expr, t->qname, ws)
						: xasprintf(ROWS_CURSOR_SQL, t->row_expr, t->qname, ws);
	q->sql_t = checksum ? xasprintf(CHECKSUM_SQL, t->row_expr, t->qname, wt)
						: xasprintf(ROWS_CURSOR_SQL, t->row_expr, t->qname, wt);
}

static void
part_query_free(PartQuery *q)
{
	strlist_free(&q->ps);
	strlist_free(&q->pt);
	sb_free(&q->ws);
	sb_free(&q->wt);
	free(q->sql_s);
	free(q->sql_t);
}

/*
 * The key as "(a, b)" (one column: "a"): the values given (text-like ones
 * quoted, so spaces and commas read unambiguously), or the column names.
 */
static void
append_key_text(StrBuf *sb, const CmpTable *t, char **vals)
{
	if (t->npk > 1)
	{
		sb_append_char(sb, '(');
	}
	for (int k = 0; k < t->npk; k++)
	{
		sb_append(sb, k ? ", " : "");
		if (vals == NULL)
		{
			sb_append_ident(sb, t->pk_names[k]);
		}
		else if (t->pk_collatable[k])
		{
			sb_append_literal(sb, vals[k]);
		}
		else
		{
			sb_append(sb, vals[k]);
		}
	}
	if (t->npk > 1)
	{
		sb_append_char(sb, ')');
	}
}

static char *
key_text(const CmpTable *t, char **vals)
{
	StrBuf sb;
	sb_init(&sb);
	append_key_text(&sb, t, vals);
	return sb_steal(&sb);
}

static char *
range_text(const CmpTable *t, const CmpPart *p)
{
	StrBuf sb;
	sb_init(&sb);
	append_key_text(&sb, t, NULL);
	char *lo = p->lo ? key_text(t, p->lo) : NULL;
	char *hi = p->hi ? key_text(t, p->hi) : NULL;
	if (lo && hi)
	{
		sb_printf(&sb, " >= %s and < %s", lo, hi);
	}
	else if (lo)
	{
		sb_printf(&sb, " >= %s", lo);
	}
	else if (hi)
	{
		sb_printf(&sb, " < %s", hi);
	}
	else
	{
		sb_reset(&sb);
		sb_append(&sb, "whole table");
	}
	free(lo);
	free(hi);
	return sb_steal(&sb);
}

/* ---- failures ---- */

static void
table_fail(Shared *sh, CmpTable *t, CmpWorker *w, char side)
{
	PgConn *c = side == 's' ? &w->src : &w->dst;
	pthread_mutex_lock(&sh->lock);
	if (t->error == NULL)
	{
		t->error = xasprintf("%s: %s", side == 's' ? "source" : "target",
							 c->errmsg ? c->errmsg : "query failed");
		t->error_side = side;
	}
	pthread_mutex_unlock(&sh->lock);
	worker_reset(w);
}

/* ---- --show-rows ---- */

typedef struct HashCount
{
	char h[33];
	int64_t n;
} HashCount;

typedef struct HashList
{
	HashCount *items;
	int n;
	int cap;
	int64_t total;
} HashList;

static void
hashlist_add(HashList *l, const char *h, int64_t n)
{
	l->total += n;
	if (l->n >= CMP_MAX_ROWS_SHOWN)
	{
		return;
	}
	if (l->n == l->cap)
	{
		l->cap = l->cap ? l->cap * 2 : 32;
		l->items = xrealloc(l->items, sizeof(HashCount) * (size_t) l->cap);
	}
	snprintf(l->items[l->n].h, sizeof(l->items[l->n].h), "%s", h);
	l->items[l->n].n = n;
	l->n++;
}

/* Reads a cursor of (hash, count) sorted by hash, 10000 at a time. */
typedef struct Reader
{
	PgConn *c;
	PGresult *res;
	int row;
	bool eof;
} Reader;

static bool
reader_next(Reader *rd, const char **h, int64_t *n)
{
	if (rd->eof)
	{
		return true;
	}
	if (rd->res == NULL || rd->row >= PQntuples(rd->res))
	{
		PQclear(rd->res);
		rd->res = pg_query(rd->c, FETCH_SQL, 0, NULL);
		rd->row = 0;
		if (rd->res == NULL)
		{
			return false;
		}
		if (PQntuples(rd->res) == 0)
		{
			rd->eof = true;
			return true;
		}
	}
	*h = PQgetvalue(rd->res, rd->row, 0);
	*n = strtoll(PQgetvalue(rd->res, rd->row, 1), NULL, 10);
	rd->row++;
	return true;
}

/* Texts of the rows whose hash is in the list, with how many times each counts. */
static bool
fetch_row_texts(PgConn *c, const CmpTable *t, const char *where, const StrList *params,
				const HashList *hl, StrList *out)
{
	if (hl->n == 0)
	{
		return true;
	}
	StrList p = { 0 };
	for (int i = 0; i < params->n; i++)
	{
		strlist_add(&p, params->items[i]);
	}
	StrBuf arr;
	sb_init(&arr);
	sb_append_char(&arr, '{');
	for (int i = 0; i < hl->n; i++)
	{
		if (i)
		{
			sb_append_char(&arr, ',');
		}
		sb_append_array_elem(&arr, hl->items[i].h);
	}
	sb_append_char(&arr, '}');
	strlist_add_owned(&p, sb_steal(&arr));
	char *sql = xasprintf("SELECT DISTINCT ON (s.h) s.h, s.r FROM (SELECT md5(s0.r) AS h, s0.r "
						  "FROM (SELECT %s::text AS r FROM ONLY %s t%s) s0) s "
						  "WHERE s.h = ANY ($%d::text[])",
						  t->row_expr, t->qname, where, p.n);
	PGresult *res = pg_query(c, sql, p.n, (const char *const *) p.items);
	free(sql);
	strlist_free(&p);
	if (res == NULL)
	{
		return false;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		const char *h = PQgetvalue(res, r, 0);
		int64_t n = 1;
		for (int i = 0; i < hl->n; i++)
		{
			if (strcmp(hl->items[i].h, h) == 0)
			{
				n = hl->items[i].n;
				break;
			}
		}
		if (n > 1)
		{
			strlist_add_owned(out,
							  xasprintf("%s (%lld times)", PQgetvalue(res, r, 1), (long long) n));
		}
		else
		{
			strlist_add(out, PQgetvalue(res, r, 1));
		}
	}
	PQclear(res);
	return true;
}

/*
 * Merges the two sorted streams of (hash, count): the hashes one side has
 * more often than the other go to that side's list.
 */
static bool
merge_hashes(Reader *rs, Reader *rt, HashList *only_s, HashList *only_t, char *failed_side)
{
	const char *hs = NULL, *ht = NULL;
	int64_t ns = 0, nt = 0;
	bool have_s = false, have_t = false;
	for (;;)
	{
		if (!have_s)
		{
			if (!reader_next(rs, &hs, &ns))
			{
				*failed_side = 's';
				return false;
			}
			have_s = !rs->eof;
		}
		if (!have_t)
		{
			if (!reader_next(rt, &ht, &nt))
			{
				*failed_side = 't';
				return false;
			}
			have_t = !rt->eof;
		}
		if (!have_s && !have_t)
		{
			break;
		}
		int c = !have_s ? 1 : !have_t ? -1 : strcmp(hs, ht);
		if (c < 0)
		{
			hashlist_add(only_s, hs, ns);
			have_s = false;
		}
		else if (c > 0)
		{
			hashlist_add(only_t, ht, nt);
			have_t = false;
		}
		else
		{
			if (ns > nt)
			{
				hashlist_add(only_s, hs, ns - nt);
			}
			else if (nt > ns)
			{
				hashlist_add(only_t, ht, nt - ns);
			}
			have_s = have_t = false;
		}
		if (signals_interrupted())
		{
			*failed_side = 'i';
			return false;
		}
	}
	return true;
}

/*
 * Lists the rows of one part (p NULL: the whole table) present on one side
 * only, into the table's lists.
 */
static bool
list_rows(CmpWorker *w, CmpTable *t, const CmpPart *p, char *failed_side)
{
	Shared *sh = w->sh;
	PartQuery q;
	part_query_init(&q, t, p, false);
	HashList only_s = { 0 }, only_t = { 0 };
	StrList rows_s = { 0 }, rows_t = { 0 };
	Reader rs = { .c = &w->src }, rt = { .c = &w->dst };
	bool ok = false;

	if (!pg_exec_params(&w->src, q.sql_s, q.ps.n, (const char *const *) q.ps.items))
	{
		*failed_side = 's';
		goto done;
	}
	if (!pg_exec_params(&w->dst, q.sql_t, q.pt.n, (const char *const *) q.pt.items))
	{
		*failed_side = 't';
		goto done;
	}
	if (!merge_hashes(&rs, &rt, &only_s, &only_t, failed_side))
	{
		goto done;
	}
	PQclear(rs.res);
	PQclear(rt.res);
	rs.res = rt.res = NULL;
	if (!pg_exec(&w->src, "CLOSE pgshift_cmp_rows"))
	{
		*failed_side = 's';
		goto done;
	}
	if (!pg_exec(&w->dst, "CLOSE pgshift_cmp_rows"))
	{
		*failed_side = 't';
		goto done;
	}
	if (!fetch_row_texts(&w->src, t, q.ws.data ? q.ws.data : "", &q.ps, &only_s, &rows_s))
	{
		*failed_side = 's';
		goto done;
	}
	if (!fetch_row_texts(&w->dst, t, q.wt.data ? q.wt.data : "", &q.pt, &only_t, &rows_t))
	{
		*failed_side = 't';
		goto done;
	}
	pthread_mutex_lock(&sh->lock);
	t->rows_listed = true;
	t->only_src.total += only_s.total;
	t->only_tgt.total += only_t.total;
	for (int i = 0; i < rows_s.n && t->only_src.rows.n < CMP_MAX_ROWS_SHOWN; i++)
	{
		strlist_add(&t->only_src.rows, rows_s.items[i]);
	}
	for (int i = 0; i < rows_t.n && t->only_tgt.rows.n < CMP_MAX_ROWS_SHOWN; i++)
	{
		strlist_add(&t->only_tgt.rows, rows_t.items[i]);
	}
	pthread_mutex_unlock(&sh->lock);
	ok = true;

done:
	PQclear(rs.res);
	PQclear(rt.res);
	free(only_s.items);
	free(only_t.items);
	strlist_free(&rows_s);
	strlist_free(&rows_t);
	part_query_free(&q);
	return ok;
}

/* ---- the jobs ---- */

static void
table_finalize(CmpTable *t)
{
	t->src.rows = t->tgt.rows = 0;
	t->src.sum = t->tgt.sum = 0;
	bool all = t->nparts > 0;
	for (int p = 0; p < t->nparts; p++)
	{
		CmpPart *pp = &t->parts[p];
		if ((t->on_source && !pp->src.done) || (t->on_target && !pp->tgt.done))
		{
			all = false;
			continue;
		}
		t->src.rows += pp->src.rows;
		t->tgt.rows += pp->tgt.rows;
		t->src.sum += pp->src.sum;
		t->tgt.sum += pp->tgt.sum;
	}
	t->src.done = t->on_source && all;
	t->tgt.done = t->on_target && all;
	if (t->error != NULL || !all)
	{
		t->status = CMP_ERROR;
	}
	else if (!t->on_source || !t->on_target)
	{
		/* counted on the side that has it: still a difference */
		t->status = t->on_source ? CMP_ONLY_SOURCE : CMP_ONLY_TARGET;
	}
	else if (t->col_diff != NULL || t->src.rows != t->tgt.rows || t->src.sum != t->tgt.sum)
	{
		t->status = CMP_DIFFERENT;
	}
	else
	{
		t->status = CMP_EQUAL;
	}
}

static bool
sums_differ(const CmpPart *p)
{
	return p->src.rows != p->tgt.rows || p->src.sum != p->tgt.sum;
}

static void
run_part(CmpWorker *w, const Job *job)
{
	Shared *sh = w->sh;
	CmpTable *t = &sh->r->tables[job->table];
	CmpPart *p = &t->parts[job->part];
	char side = 0;
	PartQuery q;
	part_query_init(&q, t, p, true);
	PGresult *rs = NULL, *rt = NULL;
	double t0 = time_now();
	pthread_mutex_lock(&sh->lock);
	bool failed_before = t->error != NULL;
	pthread_mutex_unlock(&sh->lock);

	if (failed_before)
	{
		/* another part of the table failed: the table is not compared */
		p->failed = true;
	}
	else if (!t->on_source || !t->on_target)
	{
		/* a table one side lacks: its count, for the report */
		PgConn *c = t->on_source ? &w->src : &w->dst;
		side = t->on_source ? 's' : 't';
		PGresult *res = NULL;
		if (worker_connect(w, &side) &&
			(res = pg_query(c, t->on_source ? q.sql_s : q.sql_t, 0, NULL)) != NULL)
		{
			CmpSum *sum = t->on_source ? &p->src : &p->tgt;
			sum->rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			sum->sum = parse_wrap64(PQgetvalue(res, 0, 1));
			sum->done = true;
		}
		else
		{
			table_fail(sh, t, w, side);
			p->failed = true;
		}
		PQclear(res);
	}
	else if (!worker_connect(w, &side) ||
			 !run_both(w, q.sql_s, &q.ps, q.sql_t, &q.pt, &rs, &rt, &side))
	{
		table_fail(sh, t, w, side);
		p->failed = true;
	}
	else
	{
		p->src.rows = strtoll(PQgetvalue(rs, 0, 0), NULL, 10);
		p->src.sum = parse_wrap64(PQgetvalue(rs, 0, 1));
		p->src.done = true;
		p->tgt.rows = strtoll(PQgetvalue(rt, 0, 0), NULL, 10);
		p->tgt.sum = parse_wrap64(PQgetvalue(rt, 0, 1));
		p->tgt.done = true;
		log_debug("%s part %d/%d: %lld/%lld rows in %.2fs", t->display, p->num + 1, t->nparts,
				  (long long) p->src.rows, (long long) p->tgt.rows, time_now() - t0);
		/* key ranges and single parts are the same rows on both sides: list them now */
		if (sh->spec->show_rows && t->split != CMP_SPLIT_CTID && sums_differ(p) &&
			!list_rows(w, t, t->split == CMP_SPLIT_KEY ? p : NULL, &side))
		{
			if (side != 'i')
			{
				table_fail(sh, t, w, side);
			}
		}
	}
	PQclear(rs);
	PQclear(rt);
	part_query_free(&q);

	pthread_mutex_lock(&sh->lock);
	bool last = --t->parts_left == 0;
	pthread_mutex_unlock(&sh->lock);
	if (!last)
	{
		return;
	}
	table_finalize(t);
	/* ctid parts are not the same rows on both sides: list over the whole table */
	if (sh->spec->show_rows && t->split == CMP_SPLIT_CTID && t->status == CMP_DIFFERENT &&
		(t->src.rows != t->tgt.rows || t->src.sum != t->tgt.sum))
	{
		if (!list_rows(w, t, NULL, &side) && side != 'i')
		{
			table_fail(sh, t, w, side);
			t->status = CMP_ERROR;
		}
	}
	log_debug("%s: %s", t->display, cmp_status_name(t->status));
}

static void
run_plan(CmpWorker *w, const Job *job)
{
	Shared *sh = w->sh;
	CmpTable *t = &sh->r->tables[job->table];
	char side = 0;
	StrBuf inner, outer;
	sb_init(&inner);
	sb_init(&outer);
	for (int k = 0; k < t->npk; k++)
	{
		sb_append(&inner, k ? ", t." : "t.");
		sb_append_ident(&inner, t->pk_names[k]);
		sb_printf(&inner, " AS k%d", k + 1);
		sb_printf(&outer, ", s.k%d%s", k + 1, t->pk_collatable[k] ? " COLLATE \"C\"" : "");
	}
	StrBuf order;
	sb_init(&order);
	for (int k = 0; k < t->npk; k++)
	{
		sb_append(&order, k ? ", t." : "t.");
		sb_append_ident(&order, t->pk_names[k]);
		if (t->pk_collatable[k])
		{
			sb_append(&order, " COLLATE \"C\"");
		}
	}
	/* the first key of each of n equal parts, in key order */
	char *sql = xasprintf("SELECT DISTINCT ON (s.part) s.* FROM (SELECT ntile($1::int) OVER "
						  "(ORDER BY %s) AS part, %s FROM ONLY %s t) s ORDER BY s.part%s",
						  order.data, inner.data, t->qname, outer.data);
	char nparts[16];
	snprintf(nparts, sizeof(nparts), "%d", t->nparts);
	const char *params[1] = { nparts };
	PGresult *res = NULL;
	double t0 = time_now();
	if (!worker_connect(w, &side) || (res = pg_query(&w->src, sql, 1, params)) == NULL)
	{
		if (side == 0)
		{
			side = 's';
		}
		table_fail(sh, t, w, side);
		pthread_mutex_lock(&sh->lock);
		t->nparts = 0;
		t->parts_left = 0;
		sh->nplanning--;
		pthread_cond_broadcast(&sh->cond);
		pthread_mutex_unlock(&sh->lock);
		table_finalize(t);
		log_debug("%s: %s", t->display, cmp_status_name(t->status));
	}
	else
	{
		int nb = PQntuples(res);
		int n = nb > 0 ? nb : 1;
		t->parts = xcalloc((size_t) n, sizeof(CmpPart));
		char **keys = xcalloc((size_t) n + 1, sizeof(char *) * (size_t) t->npk);
		for (int r = 0; r < nb; r++)
		{
			for (int k = 0; k < t->npk; k++)
			{
				keys[r * t->npk + k] = xstrdup(PQgetvalue(res, r, k + 1));
			}
		}
		for (int i = 0; i < n; i++)
		{
			CmpPart *p = &t->parts[i];
			p->num = i;
			if (i > 0)
			{
				p->lo = xcalloc((size_t) t->npk, sizeof(char *));
				for (int k = 0; k < t->npk; k++)
				{
					p->lo[k] = xstrdup(keys[i * t->npk + k]);
				}
			}
			if (i < n - 1)
			{
				p->hi = xcalloc((size_t) t->npk, sizeof(char *));
				for (int k = 0; k < t->npk; k++)
				{
					p->hi[k] = xstrdup(keys[(i + 1) * t->npk + k]);
				}
			}
			p->range = range_text(t, p);
		}
		for (int i = 0; i < nb * t->npk; i++)
		{
			free(keys[i]);
		}
		free(keys);
		PQclear(res);
		log_debug("%s: %d key ranges in %.2fs", t->display, n, time_now() - t0);
		pthread_mutex_lock(&sh->lock);
		t->nparts = n;
		t->parts_left = n;
		for (int i = 0; i < n; i++)
		{
			cmp_push_job(sh, JOB_PART, job->table, i, t->src_bytes / n);
		}
		sh->nplanning--;
		pthread_cond_broadcast(&sh->cond);
		pthread_mutex_unlock(&sh->lock);
	}
	free(sql);
	sb_free(&inner);
	sb_free(&outer);
	sb_free(&order);
}

void *
cmp_worker_main(void *arg)
{
	CmpWorker *w = arg;
	log_set_role(w->role);
	Job job;
	while (take_job(w->sh, &job))
	{
		if (job.kind == JOB_PLAN)
		{
			run_plan(w, &job);
		}
		else
		{
			run_part(w, &job);
		}
	}
	worker_reset(w);
	return NULL;
}
