/*
 * src/compare/schema.c — compare schema: the same catalog queries on both
 * servers, the sorted sets of objects compared attribute by attribute.
 *
 * Each sql/compare_<kind>.sql returns the object's name first, then the
 * attributes compared; columns named "_..." are not compared (_nspname and
 * _objname feed the filters, _parent names the table the object belongs
 * to). A column, index, constraint or trigger of a table missing on one side
 * is not reported again: the missing table says it (counted as implied).
 * Sequence values (last_value, is_called) are read from each sequence.
 */
#include "compare/compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.inc"

typedef struct SchemaKind
{
	const char *kind;
	const char *sql;
	bool seq_values;   /* read last_value / is_called from each object */
	bool parent_table; /* the "table" kind: others are implied by it */
} SchemaKind;

static const SchemaKind g_kinds[] = {
	{ "schema", SQL_COMPARE_SCHEMAS, false, false },
	{ "extension", SQL_COMPARE_EXTENSIONS, false, false },
	{ "type", SQL_COMPARE_TYPES, false, false },
	{ "table", SQL_COMPARE_TABLES, false, true },
	{ "column", SQL_COMPARE_COLUMNS, false, false },
	{ "index", SQL_COMPARE_INDEXES, false, false },
	{ "constraint", SQL_COMPARE_CONSTRAINTS, false, false },
	{ "sequence", SQL_COMPARE_SEQUENCES, true, false },
	{ "view", SQL_COMPARE_VIEWS, false, false },
	{ "function", SQL_COMPARE_FUNCTIONS, false, false },
	{ "trigger", SQL_COMPARE_TRIGGERS, false, false },
};

#define N_KINDS ((int) (sizeof(g_kinds) / sizeof(g_kinds[0])))

typedef struct ObjRow
{
	char *name;
	char *nspname;
	char *objname;
	char *parent;
	char **vals; /* nattrs values, NULL for SQL NULL */
} ObjRow;

typedef struct ObjSet
{
	ObjRow *rows;
	int n;
	StrList attrs; /* attribute names, in order */
} ObjSet;

static char *
dup_val(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

static int
cmp_row_name(const void *a, const void *b)
{
	const ObjRow *x = a;
	const ObjRow *y = b;
	return strcmp(x->name, y->name);
}

static int
cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
objset_free(ObjSet *s)
{
	for (int i = 0; i < s->n; i++)
	{
		ObjRow *r = &s->rows[i];
		free(r->name);
		free(r->nspname);
		free(r->objname);
		free(r->parent);
		for (int a = 0; a < s->attrs.n; a++)
		{
			free(r->vals[a]);
		}
		free(r->vals);
	}
	free(s->rows);
	strlist_free(&s->attrs);
	memset(s, 0, sizeof(*s));
}

/* Reads last_value and is_called of every sequence in the set, in batches. */
static bool
read_sequence_values(PgConn *c, ObjSet *s, int col_last, int col_called)
{
	const int batch = 200;
	for (int start = 0; start < s->n; start += batch)
	{
		int end = start + batch < s->n ? start + batch : s->n;
		StrBuf sql;
		sb_init(&sql);
		for (int i = start; i < end; i++)
		{
			char *q = pg_qualname(s->rows[i].nspname, s->rows[i].objname);
			sb_printf(&sql, "%sSELECT %d, last_value, is_called FROM %s",
					  i > start ? " UNION ALL " : "", i, q);
			free(q);
		}
		PGresult *res = pg_query(c, sql.data, 0, NULL);
		sb_free(&sql);
		if (res == NULL)
		{
			return false;
		}
		for (int r = 0; r < PQntuples(res); r++)
		{
			int i = (int) strtol(PQgetvalue(res, r, 0), NULL, 10);
			if (i < start || i >= end)
			{
				continue;
			}
			ObjRow *row = &s->rows[i];
			free(row->vals[col_last]);
			free(row->vals[col_called]);
			row->vals[col_last] = dup_val(res, r, 1);
			row->vals[col_called] = dup_val(res, r, 2);
		}
		PQclear(res);
	}
	return true;
}

static bool
fetch_set(PgConn *c, const SchemaKind *k, ObjSet *s)
{
	memset(s, 0, sizeof(*s));
	PGresult *res = pg_query(c, k->sql, 0, NULL);
	if (res == NULL)
	{
		return false;
	}
	int nf = PQnfields(res);
	int col_nsp = -1, col_obj = -1, col_parent = -1;
	int *attr_col = xcalloc((size_t) nf + 1, sizeof(int));
	for (int f = 1; f < nf; f++)
	{
		const char *fname = PQfname(res, f);
		if (strcmp(fname, "_nspname") == 0)
		{
			col_nsp = f;
		}
		else if (strcmp(fname, "_objname") == 0)
		{
			col_obj = f;
		}
		else if (strcmp(fname, "_parent") == 0)
		{
			col_parent = f;
		}
		else if (fname[0] != '_')
		{
			attr_col[s->attrs.n] = f;
			strlist_add(&s->attrs, fname);
		}
	}
	int col_last = -1, col_called = -1;
	int ncols = s->attrs.n;
	if (k->seq_values)
	{
		col_last = s->attrs.n;
		strlist_add(&s->attrs, "last value");
		col_called = s->attrs.n;
		strlist_add(&s->attrs, "is called");
	}
	int ntuples = PQntuples(res);
	s->rows = xcalloc((size_t) ntuples + 1, sizeof(ObjRow));
	for (int i = 0; i < ntuples; i++)
	{
		const char *nsp = col_nsp >= 0 ? PQgetvalue(res, i, col_nsp) : "";
		const char *obj = col_obj >= 0 ? PQgetvalue(res, i, col_obj) : "";
		/* HOOK(filters): objects the filters leave out are not compared */
		if (!compare_filter_keep(k->kind, nsp, obj))
		{
			continue;
		}
		ObjRow *r = &s->rows[s->n++];
		r->name = xstrdup(PQgetvalue(res, i, 0));
		r->nspname = xstrdup(nsp);
		r->objname = xstrdup(obj);
		r->parent = col_parent >= 0 ? dup_val(res, i, col_parent) : NULL;
		r->vals = xcalloc((size_t) s->attrs.n + 1, sizeof(char *));
		for (int a = 0; a < ncols; a++)
		{
			r->vals[a] = dup_val(res, i, attr_col[a]);
		}
	}
	free(attr_col);
	PQclear(res);
	if (k->seq_values && !read_sequence_values(c, s, col_last, col_called))
	{
		return false;
	}
	qsort(s->rows, (size_t) s->n, sizeof(ObjRow), cmp_row_name);
	return true;
}

static CmpDiff *
add_diff(CmpSchemaReport *r, const char *kind, const char *name, CmpDiffKind what)
{
	if (r->ndiffs == r->capdiffs)
	{
		r->capdiffs = r->capdiffs ? r->capdiffs * 2 : 32;
		r->diffs = xrealloc(r->diffs, sizeof(CmpDiff) * (size_t) r->capdiffs);
	}
	CmpDiff *d = &r->diffs[r->ndiffs++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->name = xstrdup(name);
	d->what = what;
	return d;
}

static bool
same_val(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
	{
		return a == b;
	}
	return strcmp(a, b) == 0;
}

static bool
in_sorted(char **names, int n, const char *name)
{
	if (name == NULL || n == 0)
	{
		return false;
	}
	return bsearch(&name, names, (size_t) n, sizeof(char *), cmp_str_ptr) != NULL;
}

/* Names of the tables only on the source / only on the target (sorted). */
typedef struct OneSided
{
	char **src;
	int nsrc;
	char **tgt;
	int ntgt;
} OneSided;

static void
compare_sets(CmpSchemaReport *r, CmpKindResult *kr, const SchemaKind *k, const ObjSet *s,
			 const ObjSet *t, OneSided *one)
{
	int i = 0, j = 0;
	while (i < s->n || j < t->n)
	{
		int c = i >= s->n ? 1 : j >= t->n ? -1 : strcmp(s->rows[i].name, t->rows[j].name);
		if (c < 0)
		{
			const ObjRow *row = &s->rows[i++];
			if (k->parent_table)
			{
				one->src = xrealloc(one->src, sizeof(char *) * (size_t) (one->nsrc + 1));
				one->src[one->nsrc++] = xstrdup(row->name);
			}
			else if (in_sorted(one->src, one->nsrc, row->parent))
			{
				kr->nimplied++;
				continue;
			}
			add_diff(r, k->kind, row->name, CMP_DIFF_ONLY_SOURCE);
			kr->ndiffs++;
			continue;
		}
		if (c > 0)
		{
			const ObjRow *row = &t->rows[j++];
			if (k->parent_table)
			{
				one->tgt = xrealloc(one->tgt, sizeof(char *) * (size_t) (one->ntgt + 1));
				one->tgt[one->ntgt++] = xstrdup(row->name);
			}
			else if (in_sorted(one->tgt, one->ntgt, row->parent))
			{
				kr->nimplied++;
				continue;
			}
			add_diff(r, k->kind, row->name, CMP_DIFF_ONLY_TARGET);
			kr->ndiffs++;
			continue;
		}
		const ObjRow *a = &s->rows[i++];
		const ObjRow *b = &t->rows[j++];
		int nattrs = s->attrs.n < t->attrs.n ? s->attrs.n : t->attrs.n;
		CmpDiff *d = NULL;
		for (int x = 0; x < nattrs; x++)
		{
			if (same_val(a->vals[x], b->vals[x]))
			{
				continue;
			}
			if (d == NULL)
			{
				d = add_diff(r, k->kind, a->name, CMP_DIFF_DIFFERS);
				d->attrs = xcalloc((size_t) nattrs, sizeof(CmpAttrDiff));
				kr->ndiffs++;
			}
			CmpAttrDiff *ad = &d->attrs[d->nattrs++];
			ad->attr = xstrdup(s->attrs.items[x]);
			ad->source = a->vals[x] ? xstrdup(a->vals[x]) : NULL;
			ad->target = b->vals[x] ? xstrdup(b->vals[x]) : NULL;
		}
	}
	/* the merge walks sorted names: one->src and one->tgt come out sorted */
}

bool
compare_schema(PgConn *src, PgConn *tgt, CmpSchemaReport *r, char *failed_side)
{
	memset(r, 0, sizeof(*r));
	double t0 = time_now();
	OneSided one = { 0 };
	bool ok = true;
	for (int k = 0; k < N_KINDS && ok; k++)
	{
		if (signals_interrupted())
		{
			ok = false;
			*failed_side = 'i';
			break;
		}
		ObjSet s, t;
		if (!fetch_set(src, &g_kinds[k], &s))
		{
			objset_free(&s);
			*failed_side = 's';
			ok = false;
			break;
		}
		if (!fetch_set(tgt, &g_kinds[k], &t))
		{
			objset_free(&s);
			objset_free(&t);
			*failed_side = 't';
			ok = false;
			break;
		}
		CmpKindResult *kr = &r->kinds[r->nkinds++];
		kr->kind = g_kinds[k].kind;
		kr->nsource = s.n;
		kr->ntarget = t.n;
		compare_sets(r, kr, &g_kinds[k], &s, &t, &one);
		log_debug("compared %d/%d %s objects: %d differences", s.n, t.n, kr->kind, kr->ndiffs);
		objset_free(&s);
		objset_free(&t);
	}
	for (int i = 0; i < one.nsrc; i++)
	{
		free(one.src[i]);
	}
	for (int i = 0; i < one.ntgt; i++)
	{
		free(one.tgt[i]);
	}
	free(one.src);
	free(one.tgt);
	r->seconds = time_now() - t0;
	return ok;
}

void
compare_schema_free(CmpSchemaReport *r)
{
	for (int i = 0; i < r->ndiffs; i++)
	{
		CmpDiff *d = &r->diffs[i];
		free(d->name);
		for (int a = 0; a < d->nattrs; a++)
		{
			free(d->attrs[a].attr);
			free(d->attrs[a].source);
			free(d->attrs[a].target);
		}
		free(d->attrs);
	}
	free(r->diffs);
	memset(r, 0, sizeof(*r));
}
