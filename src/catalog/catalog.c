/*
 * src/catalog/catalog.c — reading the source catalog, saving it in state.db.
 */
#include "catalog/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.inc"

static char *
val(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

static int64_t
ival(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool
bval(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

static char
cval(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? '\0' : PQgetvalue(res, row, col)[0];
}

bool
catalog_fetch(PgConn *src, Catalog *cat, int lo_batch_size)
{
	memset(cat, 0, sizeof(*cat));

	PGresult *res = pg_query(src, SQL_CATALOG_TABLES, 0, NULL);
	if (res == NULL)
	{
		return false;
	}
	cat->ntables = PQntuples(res);
	cat->tables = xcalloc((size_t) cat->ntables + 1, sizeof(CatTable));
	for (int i = 0; i < cat->ntables; i++)
	{
		CatTable *t = &cat->tables[i];
		t->oid = (Oid) ival(res, i, 0);
		t->nspname = val(res, i, 1);
		t->relname = val(res, i, 2);
		t->qname = pg_qualname(t->nspname, t->relname);
		t->relkind = cval(res, i, 3);
		t->persistence = cval(res, i, 4);
		t->parent_oid = (Oid) ival(res, i, 5);
		t->bytes = ival(res, i, 6);
		t->reltuples = PQgetisnull(res, i, 7) ? 0 : strtod(PQgetvalue(res, i, 7), NULL);
		t->relpages = ival(res, i, 8);
		t->copy_columns = val(res, i, 9);
		t->binary_ok = bval(res, i, 10);
		t->nparts = 1;
	}
	PQclear(res);

	res = pg_query(src, SQL_CATALOG_INDEXES, 0, NULL);
	if (res == NULL)
	{
		return false;
	}
	cat->nindexes = PQntuples(res);
	cat->indexes = xcalloc((size_t) cat->nindexes + 1, sizeof(CatIndex));
	for (int i = 0; i < cat->nindexes; i++)
	{
		CatIndex *x = &cat->indexes[i];
		x->oid = (Oid) ival(res, i, 0);
		x->table_oid = (Oid) ival(res, i, 1);
		x->nspname = val(res, i, 2);
		x->relname = val(res, i, 3);
		x->indexdef = val(res, i, 4);
		x->conoid = (Oid) ival(res, i, 5);
		x->conname = val(res, i, 6);
		x->contype = cval(res, i, 7);
		x->condef = val(res, i, 8);
		x->condeferrable = bval(res, i, 9);
		x->condeferred = bval(res, i, 10);
		x->bytes = ival(res, i, 11);
		x->isclustered = bval(res, i, 12);
		x->isreplident = bval(res, i, 13);
		x->slow_keys = (int) ival(res, i, 14);
	}
	PQclear(res);

	res = pg_query(src, SQL_CATALOG_FKEYS, 0, NULL);
	if (res == NULL)
	{
		return false;
	}
	cat->nfkeys = PQntuples(res);
	cat->fkeys = xcalloc((size_t) cat->nfkeys + 1, sizeof(CatFkey));
	for (int i = 0; i < cat->nfkeys; i++)
	{
		CatFkey *f = &cat->fkeys[i];
		f->oid = (Oid) ival(res, i, 0);
		f->table_oid = (Oid) ival(res, i, 1);
		f->conname = val(res, i, 2);
		f->condef = val(res, i, 3);
		f->ref_table_oid = (Oid) ival(res, i, 4);
	}
	PQclear(res);

	res = pg_query(src, SQL_CATALOG_SEQUENCES, 0, NULL);
	if (res == NULL)
	{
		return false;
	}
	cat->nsequences = PQntuples(res);
	cat->sequences = xcalloc((size_t) cat->nsequences + 1, sizeof(CatSequence));
	for (int i = 0; i < cat->nsequences; i++)
	{
		CatSequence *s = &cat->sequences[i];
		s->oid = (Oid) ival(res, i, 0);
		s->nspname = val(res, i, 1);
		s->relname = val(res, i, 2);
		s->owner_table_oid = (Oid) ival(res, i, 3);
		s->owner_column = val(res, i, 4);
		s->is_identity = bval(res, i, 5);
	}
	PQclear(res);

	res = pg_query(src, SQL_CATALOG_EXTENSIONS, 0, NULL);
	if (res == NULL)
	{
		return false;
	}
	cat->nextensions = PQntuples(res);
	cat->extensions = xcalloc((size_t) cat->nextensions + 1, sizeof(CatExtension));
	for (int i = 0; i < cat->nextensions; i++)
	{
		CatExtension *e = &cat->extensions[i];
		e->oid = (Oid) ival(res, i, 0);
		e->extname = val(res, i, 1);
		e->extversion = val(res, i, 2);
		e->nspname = val(res, i, 3);
	}
	PQclear(res);

	res = pg_query(src, SQL_CATALOG_COLLATIONS, 0, NULL);
	if (res == NULL)
	{
		return false;
	}
	cat->ncollations = PQntuples(res);
	cat->collations = xcalloc((size_t) cat->ncollations + 1, sizeof(CatCollation));
	for (int i = 0; i < cat->ncollations; i++)
	{
		CatCollation *c = &cat->collations[i];
		c->oid = (Oid) ival(res, i, 0);
		c->nspname = val(res, i, 1);
		c->collname = val(res, i, 2);
		c->provider = val(res, i, 3);
	}
	PQclear(res);

	res = pg_query(src, SQL_CATALOG_DB_SETTINGS, 0, NULL);
	if (res == NULL)
	{
		return false;
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		strlist_add(&cat->db_settings, PQgetvalue(res, i, 0));
	}
	PQclear(res);

	if (lo_batch_size > 0)
	{
		res = pg_query(src, SQL_CATALOG_LARGE_OBJECTS, 0, NULL);
		if (res == NULL)
		{
			return false;
		}
		int n = PQntuples(res);
		cat->nlargeobjects = n;
		/* about 32 batches (some to share among workers, small ones to resume), 10 to max each */
		int want = n / 32;
		lo_batch_size = want < 10 ? 10 : (want > lo_batch_size ? lo_batch_size : want);
		cat->nlo_batches = (n + lo_batch_size - 1) / lo_batch_size;
		cat->lo_batches = xcalloc((size_t) cat->nlo_batches + 1, sizeof(CatLoBatch));
		for (int b = 0; b < cat->nlo_batches; b++)
		{
			int first = b * lo_batch_size;
			int last = first + lo_batch_size - 1 < n - 1 ? first + lo_batch_size - 1 : n - 1;
			cat->lo_batches[b].batch = b;
			cat->lo_batches[b].min_oid = (Oid) ival(res, first, 0);
			cat->lo_batches[b].max_oid = (Oid) ival(res, last, 0);
			cat->lo_batches[b].count = last - first + 1;
		}
		PQclear(res);
	}
	return true;
}

bool
catalog_fetch_sequence_values(PgConn *src, Catalog *cat)
{
	/* one query per batch of 200 sequences: SELECT ... UNION ALL SELECT ... */
	const int batch = 200;
	for (int start = 0; start < cat->nsequences; start += batch)
	{
		StrBuf sql;
		sb_init(&sql);
		int end = start + batch < cat->nsequences ? start + batch : cat->nsequences;
		for (int i = start; i < end; i++)
		{
			CatSequence *s = &cat->sequences[i];
			char *q = pg_qualname(s->nspname, s->relname);
			sb_printf(&sql, "%sSELECT %d, last_value, is_called FROM %s",
					  i > start ? " UNION ALL " : "", i, q);
			free(q);
		}
		PGresult *res = pg_query(src, sql.data, 0, NULL);
		sb_free(&sql);
		if (res == NULL)
		{
			return false;
		}
		for (int r = 0; r < PQntuples(res); r++)
		{
			int i = (int) ival(res, r, 0);
			CatSequence *s = &cat->sequences[i];
			free(s->last_value);
			s->last_value = val(res, r, 1);
			s->is_called = bval(res, r, 2);
		}
		PQclear(res);
	}
	return true;
}

static int
table_cmp(const void *a, const void *b)
{
	const CatTable *x = a, *y = b;
	if (x->bytes != y->bytes)
	{
		return x->bytes < y->bytes ? 1 : -1;
	}
	int c = strcmp(x->nspname, y->nspname);
	return c != 0 ? c : strcmp(x->relname, y->relname);
}

bool
catalog_fetch_sizes(PgConn *c, Catalog *cat)
{
	StrBuf oids;
	sb_init(&oids);
	sb_append_char(&oids, '{');
	int n = 0;
	for (int i = 0; i < cat->ntables; i++)
	{
		if (cat->tables[i].relkind == 'r')
		{
			sb_printf(&oids, "%s%u", n++ ? "," : "", cat->tables[i].oid);
		}
	}
	for (int i = 0; i < cat->nindexes; i++)
	{
		sb_printf(&oids, "%s%u", n++ ? "," : "", cat->indexes[i].oid);
	}
	sb_append_char(&oids, '}');
	const char *p[] = { oids.data };
	PGresult *res = pg_query(c, SQL_CATALOG_SIZES, 1, p);
	sb_free(&oids);
	if (res == NULL)
	{
		return false;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		Oid oid = (Oid) ival(res, r, 0);
		int64_t bytes = ival(res, r, 1);
		int64_t pages = ival(res, r, 2);
		CatTable *t = catalog_table(cat, oid);
		if (t != NULL)
		{
			t->bytes = bytes;
			t->relpages = pages;
			continue;
		}
		for (int i = 0; i < cat->nindexes; i++)
		{
			if (cat->indexes[i].oid == oid)
			{
				cat->indexes[i].bytes = bytes;
			}
		}
	}
	PQclear(res);
	/* the catalog's pointers into tables[] are taken later (planner): sorting is safe here */
	qsort(cat->tables, (size_t) cat->ntables, sizeof(CatTable), table_cmp);
	return true;
}

bool
catalog_apply_sequences(PgConn *target, const Catalog *cat, int *count)
{
	StrBuf names, values, called;
	sb_init(&names);
	sb_init(&values);
	sb_init(&called);
	int n = 0;
	for (int i = 0; i < cat->nsequences; i++)
	{
		const CatSequence *s = &cat->sequences[i];
		if (s->excluded || s->last_value == NULL)
		{
			continue;
		}
		char *q = pg_qualname(s->nspname, s->relname);
		sb_append(&names, n ? "," : "{");
		sb_append_array_elem(&names, q);
		sb_printf(&values, "%s%s", n ? "," : "{", s->last_value);
		sb_printf(&called, "%s%s", n ? "," : "{", s->is_called ? "t" : "f");
		free(q);
		n++;
	}
	bool ok = true;
	if (n > 0)
	{
		sb_append_char(&names, '}');
		sb_append_char(&values, '}');
		sb_append_char(&called, '}');
		const char *p[] = { names.data, values.data, called.data };
		ok = pg_exec_params(target,
							"SELECT pg_catalog.setval(s.name::regclass, s.v, s.c) "
							"FROM unnest($1::text[], $2::bigint[], $3::bool[]) AS s(name, v, c)",
							3, p);
	}
	sb_free(&names);
	sb_free(&values);
	sb_free(&called);
	*count = n;
	return ok;
}

CatTable *
catalog_table(const Catalog *cat, Oid oid)
{
	for (int i = 0; i < cat->ntables; i++)
	{
		if (cat->tables[i].oid == oid)
		{
			return &cat->tables[i];
		}
	}
	return NULL;
}

/* ---- state.db ---- */

static char *
fmt_i(int64_t v)
{
	return xasprintf("%lld", (long long) v);
}

static bool
run_rows(sqlite3 *db, const char *sql, int ncols, char **cols)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
	{
		log_error("state.db: %s", sqlite3_errmsg(db));
		return false;
	}
	for (int i = 0; i < ncols; i++)
	{
		if (cols[i] == NULL)
		{
			sqlite3_bind_null(st, i + 1);
		}
		else
		{
			sqlite3_bind_text(st, i + 1, cols[i], -1, SQLITE_TRANSIENT);
		}
	}
	bool ok = sqlite3_step(st) == SQLITE_DONE;
	if (!ok)
	{
		log_error("state.db: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return ok;
}

static void
free_cols(char **cols, int n)
{
	for (int i = 0; i < n; i++)
	{
		free(cols[i]);
		cols[i] = NULL;
	}
}

bool
catalog_save(StateDb *sdb, const Catalog *cat)
{
	sqlite3 *db = state_lock(sdb);
	bool ok =
		sqlite3_exec(db,
					 "BEGIN; DELETE FROM tables; DELETE FROM indexes; DELETE FROM constraints;"
					 "DELETE FROM sequences; DELETE FROM extensions; DELETE FROM collations;"
					 "DELETE FROM large_objects;",
					 NULL, NULL, NULL) == SQLITE_OK;
	char *c[16] = { 0 };
	for (int i = 0; ok && i < cat->ntables; i++)
	{
		const CatTable *t = &cat->tables[i];
		c[0] = fmt_i(t->oid);
		c[1] = xstrdup(t->nspname);
		c[2] = xstrdup(t->relname);
		c[3] = xasprintf("%c", t->relkind);
		c[4] = xasprintf("%c", t->persistence ? t->persistence : 'p');
		c[5] = fmt_i(t->parent_oid);
		c[6] = fmt_i(t->bytes);
		c[7] = xasprintf("%.0f", t->reltuples);
		c[8] = fmt_i(t->relpages);
		c[9] = xstrdup(t->copy_columns);
		c[10] = fmt_i(t->binary_ok);
		c[11] = fmt_i(t->excluded);
		c[12] = fmt_i(t->exclude_data);
		c[13] = fmt_i(t->nparts);
		ok = run_rows(
			db,
			"INSERT INTO tables(oid, nspname, relname, relkind, persistence, parent_oid, bytes,"
			" reltuples, relpages, copy_columns, binary_ok, excluded, exclude_data, nparts)"
			" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
			14, c);
		free_cols(c, 14);
	}
	for (int i = 0; ok && i < cat->nindexes; i++)
	{
		const CatIndex *x = &cat->indexes[i];
		c[0] = fmt_i(x->oid);
		c[1] = fmt_i(x->table_oid);
		c[2] = xstrdup(x->nspname);
		c[3] = xstrdup(x->relname);
		c[4] = xstrdup(x->indexdef);
		c[5] = fmt_i(x->conoid);
		c[6] = xstrdup(x->conname);
		c[7] = x->contype ? xasprintf("%c", x->contype) : NULL;
		c[8] = xstrdup(x->condef);
		c[9] = fmt_i(x->condeferrable);
		c[10] = fmt_i(x->condeferred);
		c[11] = fmt_i(x->bytes);
		c[12] = fmt_i(x->excluded);
		c[13] = fmt_i(x->isclustered);
		c[14] = fmt_i(x->isreplident);
		c[15] = fmt_i(x->slow_keys);
		ok = run_rows(
			db,
			"INSERT INTO indexes(oid, table_oid, nspname, relname, indexdef, conoid, conname,"
			" contype, condef, condeferrable, condeferred, bytes, excluded, isclustered,"
			" isreplident, slow_keys)"
			" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)",
			16, c);
		free_cols(c, 16);
	}
	for (int i = 0; ok && i < cat->nfkeys; i++)
	{
		const CatFkey *f = &cat->fkeys[i];
		c[0] = fmt_i(f->oid);
		c[1] = fmt_i(f->table_oid);
		c[2] = xstrdup(f->conname);
		c[3] = xstrdup(f->condef);
		c[4] = fmt_i(f->ref_table_oid);
		c[5] = fmt_i(f->excluded);
		ok = run_rows(
			db,
			"INSERT INTO constraints(oid, table_oid, conname, contype, condef, ref_table_oid,"
			" excluded) VALUES (?1,?2,?3,'f',?4,?5,?6)",
			6, c);
		free_cols(c, 6);
	}
	for (int i = 0; ok && i < cat->nsequences; i++)
	{
		const CatSequence *s = &cat->sequences[i];
		c[0] = fmt_i(s->oid);
		c[1] = xstrdup(s->nspname);
		c[2] = xstrdup(s->relname);
		c[3] = xstrdup(s->last_value);
		c[4] = fmt_i(s->is_called);
		c[5] = fmt_i(s->owner_table_oid);
		c[6] = xstrdup(s->owner_column);
		c[7] = fmt_i(s->is_identity);
		c[8] = fmt_i(s->excluded);
		ok = run_rows(db,
					  "INSERT INTO sequences(oid, nspname, relname, last_value, is_called,"
					  " owner_table_oid, owner_column, is_identity, excluded)"
					  " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
					  9, c);
		free_cols(c, 9);
	}
	for (int i = 0; ok && i < cat->nextensions; i++)
	{
		const CatExtension *e = &cat->extensions[i];
		c[0] = fmt_i(e->oid);
		c[1] = xstrdup(e->extname);
		c[2] = xstrdup(e->extversion);
		c[3] = xstrdup(e->nspname);
		ok = run_rows(
			db, "INSERT INTO extensions(oid, extname, extversion, nspname) VALUES (?1,?2,?3,?4)", 4,
			c);
		free_cols(c, 4);
	}
	for (int i = 0; ok && i < cat->ncollations; i++)
	{
		const CatCollation *k = &cat->collations[i];
		c[0] = fmt_i(k->oid);
		c[1] = xstrdup(k->nspname);
		c[2] = xstrdup(k->collname);
		c[3] = xstrdup(k->provider);
		ok = run_rows(
			db, "INSERT INTO collations(oid, nspname, collname, provider) VALUES (?1,?2,?3,?4)", 4,
			c);
		free_cols(c, 4);
	}
	for (int i = 0; ok && i < cat->nlo_batches; i++)
	{
		const CatLoBatch *b = &cat->lo_batches[i];
		c[0] = fmt_i(b->batch);
		c[1] = fmt_i(b->min_oid);
		c[2] = fmt_i(b->max_oid);
		c[3] = fmt_i(b->count);
		ok = run_rows(
			db, "INSERT INTO large_objects(batch, min_oid, max_oid, count) VALUES (?1,?2,?3,?4)", 4,
			c);
		free_cols(c, 4);
	}
	if (ok)
	{
		StrBuf js;
		sb_init(&js);
		for (int i = 0; i < cat->db_settings.n; i++)
		{
			sb_append(&js, cat->db_settings.items[i]);
			sb_append_char(&js, '\n');
		}
		c[0] = xstrdup("db_settings");
		c[1] = sb_steal(&js);
		ok = run_rows(
			db,
			"INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value "
			"= excluded.value",
			2, c);
		free_cols(c, 2);
		c[0] = xstrdup("large_objects");
		c[1] = fmt_i(cat->nlargeobjects);
		ok = ok &&
			 run_rows(db,
					  "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE "
					  "SET value = excluded.value",
					  2, c);
		free_cols(c, 2);
	}
	ok = sqlite3_exec(db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK && ok;
	state_unlock(sdb);
	return ok;
}

static char *
col_text(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL
			   ? NULL
			   : xstrdup((const char *) sqlite3_column_text(st, i));
}

static char
col_char(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (char) t[0] : '\0';
}

/* Runs a query and calls fn for each row; returns rows or -1. */
static int
each_row(sqlite3 *db, const char *sql, void (*fn)(sqlite3_stmt *, void *, int), void *arg)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
	{
		log_error("state.db: %s", sqlite3_errmsg(db));
		return -1;
	}
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW)
	{
		fn(st, arg, n++);
	}
	sqlite3_finalize(st);
	return n;
}

static int
count_rows(sqlite3 *db, const char *table)
{
	char *sql = xasprintf("SELECT count(*) FROM %s", table);
	sqlite3_stmt *st;
	int n = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
	{
		n = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	free(sql);
	return n;
}

static void
load_table(sqlite3_stmt *st, void *arg, int i)
{
	CatTable *t = &((Catalog *) arg)->tables[i];
	t->oid = (Oid) sqlite3_column_int64(st, 0);
	t->nspname = col_text(st, 1);
	t->relname = col_text(st, 2);
	t->qname = pg_qualname(t->nspname, t->relname);
	t->relkind = col_char(st, 3);
	t->persistence = col_char(st, 4);
	t->parent_oid = (Oid) sqlite3_column_int64(st, 5);
	t->bytes = sqlite3_column_int64(st, 6);
	t->reltuples = sqlite3_column_double(st, 7);
	t->relpages = sqlite3_column_int64(st, 8);
	t->copy_columns = col_text(st, 9);
	t->binary_ok = sqlite3_column_int(st, 10) != 0;
	t->excluded = sqlite3_column_int(st, 11) != 0;
	t->exclude_data = sqlite3_column_int(st, 12) != 0;
	t->nparts = sqlite3_column_int(st, 13);
}

static void
load_index(sqlite3_stmt *st, void *arg, int i)
{
	CatIndex *x = &((Catalog *) arg)->indexes[i];
	x->oid = (Oid) sqlite3_column_int64(st, 0);
	x->table_oid = (Oid) sqlite3_column_int64(st, 1);
	x->nspname = col_text(st, 2);
	x->relname = col_text(st, 3);
	x->indexdef = col_text(st, 4);
	x->conoid = (Oid) sqlite3_column_int64(st, 5);
	x->conname = col_text(st, 6);
	x->contype = col_char(st, 7);
	x->condef = col_text(st, 8);
	x->condeferrable = sqlite3_column_int(st, 9) != 0;
	x->condeferred = sqlite3_column_int(st, 10) != 0;
	x->bytes = sqlite3_column_int64(st, 11);
	x->excluded = sqlite3_column_int(st, 12) != 0;
	x->isclustered = sqlite3_column_int(st, 13) != 0;
	x->isreplident = sqlite3_column_int(st, 14) != 0;
	x->slow_keys = sqlite3_column_int(st, 15);
}

static void
load_fkey(sqlite3_stmt *st, void *arg, int i)
{
	CatFkey *f = &((Catalog *) arg)->fkeys[i];
	f->oid = (Oid) sqlite3_column_int64(st, 0);
	f->table_oid = (Oid) sqlite3_column_int64(st, 1);
	f->conname = col_text(st, 2);
	f->condef = col_text(st, 3);
	f->ref_table_oid = (Oid) sqlite3_column_int64(st, 4);
	f->excluded = sqlite3_column_int(st, 5) != 0;
}

static void
load_sequence(sqlite3_stmt *st, void *arg, int i)
{
	CatSequence *s = &((Catalog *) arg)->sequences[i];
	s->oid = (Oid) sqlite3_column_int64(st, 0);
	s->nspname = col_text(st, 1);
	s->relname = col_text(st, 2);
	s->last_value = col_text(st, 3);
	s->is_called = sqlite3_column_int(st, 4) != 0;
	s->owner_table_oid = (Oid) sqlite3_column_int64(st, 5);
	s->owner_column = col_text(st, 6);
	s->is_identity = sqlite3_column_int(st, 7) != 0;
	s->excluded = sqlite3_column_int(st, 8) != 0;
}

static void
load_extension(sqlite3_stmt *st, void *arg, int i)
{
	CatExtension *e = &((Catalog *) arg)->extensions[i];
	e->oid = (Oid) sqlite3_column_int64(st, 0);
	e->extname = col_text(st, 1);
	e->extversion = col_text(st, 2);
	e->nspname = col_text(st, 3);
}

static void
load_collation(sqlite3_stmt *st, void *arg, int i)
{
	CatCollation *k = &((Catalog *) arg)->collations[i];
	k->oid = (Oid) sqlite3_column_int64(st, 0);
	k->nspname = col_text(st, 1);
	k->collname = col_text(st, 2);
	k->provider = col_text(st, 3);
}

static void
load_lo_batch(sqlite3_stmt *st, void *arg, int i)
{
	CatLoBatch *b = &((Catalog *) arg)->lo_batches[i];
	b->batch = sqlite3_column_int(st, 0);
	b->min_oid = (Oid) sqlite3_column_int64(st, 1);
	b->max_oid = (Oid) sqlite3_column_int64(st, 2);
	b->count = sqlite3_column_int(st, 3);
}

bool
catalog_load(StateDb *sdb, Catalog *cat)
{
	memset(cat, 0, sizeof(*cat));
	sqlite3 *db = state_lock(sdb);
	cat->ntables = count_rows(db, "tables");
	cat->tables = xcalloc((size_t) cat->ntables + 1, sizeof(CatTable));
	cat->nindexes = count_rows(db, "indexes");
	cat->indexes = xcalloc((size_t) cat->nindexes + 1, sizeof(CatIndex));
	cat->nfkeys = count_rows(db, "constraints");
	cat->fkeys = xcalloc((size_t) cat->nfkeys + 1, sizeof(CatFkey));
	cat->nsequences = count_rows(db, "sequences");
	cat->sequences = xcalloc((size_t) cat->nsequences + 1, sizeof(CatSequence));
	cat->nextensions = count_rows(db, "extensions");
	cat->extensions = xcalloc((size_t) cat->nextensions + 1, sizeof(CatExtension));
	cat->ncollations = count_rows(db, "collations");
	cat->collations = xcalloc((size_t) cat->ncollations + 1, sizeof(CatCollation));
	cat->nlo_batches = count_rows(db, "large_objects");
	cat->lo_batches = xcalloc((size_t) cat->nlo_batches + 1, sizeof(CatLoBatch));
	bool ok =
		each_row(db,
				 "SELECT oid, nspname, relname, relkind, persistence, parent_oid, bytes, reltuples,"
				 " relpages, copy_columns, binary_ok, excluded, exclude_data, nparts FROM tables"
				 " ORDER BY bytes DESC, nspname, relname",
				 load_table, cat) >= 0 &&
		each_row(
			db,
			"SELECT oid, table_oid, nspname, relname, indexdef, conoid, conname, contype, condef,"
			" condeferrable, condeferred, bytes, excluded, isclustered, isreplident, slow_keys"
			" FROM indexes"
			" ORDER BY table_oid, relname",
			load_index, cat) >= 0 &&
		each_row(db,
				 "SELECT oid, table_oid, conname, condef, ref_table_oid, excluded FROM constraints"
				 " ORDER BY table_oid, conname",
				 load_fkey, cat) >= 0 &&
		each_row(
			db,
			"SELECT oid, nspname, relname, last_value, is_called, owner_table_oid, owner_column,"
			" is_identity, excluded FROM sequences ORDER BY nspname, relname",
			load_sequence, cat) >= 0 &&
		each_row(db, "SELECT oid, extname, extversion, nspname FROM extensions ORDER BY extname",
				 load_extension, cat) >= 0 &&
		each_row(
			db,
			"SELECT oid, nspname, collname, provider FROM collations ORDER BY nspname, collname",
			load_collation, cat) >= 0 &&
		each_row(db, "SELECT batch, min_oid, max_oid, count FROM large_objects ORDER BY batch",
				 load_lo_batch, cat) >= 0;
	state_unlock(sdb);
	char *settings = state_get_meta(sdb, "db_settings");
	if (settings != NULL)
	{
		char *save = NULL;
		for (char *line = strtok_r(settings, "\n", &save); line != NULL;
			 line = strtok_r(NULL, "\n", &save))
		{
			strlist_add(&cat->db_settings, line);
		}
		free(settings);
	}
	char *nlo = state_get_meta(sdb, "large_objects");
	cat->nlargeobjects = nlo ? strtoll(nlo, NULL, 10) : 0;
	free(nlo);
	return ok;
}

void
catalog_free(Catalog *cat)
{
	for (int i = 0; i < cat->ntables; i++)
	{
		CatTable *t = &cat->tables[i];
		free(t->nspname);
		free(t->relname);
		free(t->qname);
		free(t->copy_columns);
	}
	free(cat->tables);
	for (int i = 0; i < cat->nindexes; i++)
	{
		CatIndex *x = &cat->indexes[i];
		free(x->nspname);
		free(x->relname);
		free(x->indexdef);
		free(x->conname);
		free(x->condef);
	}
	free(cat->indexes);
	for (int i = 0; i < cat->nfkeys; i++)
	{
		free(cat->fkeys[i].conname);
		free(cat->fkeys[i].condef);
	}
	free(cat->fkeys);
	for (int i = 0; i < cat->nsequences; i++)
	{
		CatSequence *s = &cat->sequences[i];
		free(s->nspname);
		free(s->relname);
		free(s->last_value);
		free(s->owner_column);
	}
	free(cat->sequences);
	for (int i = 0; i < cat->nextensions; i++)
	{
		free(cat->extensions[i].extname);
		free(cat->extensions[i].extversion);
		free(cat->extensions[i].nspname);
	}
	free(cat->extensions);
	for (int i = 0; i < cat->ncollations; i++)
	{
		free(cat->collations[i].nspname);
		free(cat->collations[i].collname);
		free(cat->collations[i].provider);
	}
	free(cat->collations);
	free(cat->lo_batches);
	strlist_free(&cat->db_settings);
	memset(cat, 0, sizeof(*cat));
}
