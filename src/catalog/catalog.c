/*
 * src/catalog/catalog.c — reading the source catalog, saving it in state.db.
 */
#include "catalog/catalog.h"

#include <math.h>
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

static bool
fetch_tables(PgConn *src, Catalog *cat)
{
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
	return true;
}

static bool
fetch_indexes(PgConn *src, Catalog *cat)
{
	PGresult *res = pg_query(src, SQL_CATALOG_INDEXES, 0, NULL);
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
	return true;
}

static bool
fetch_fkeys(PgConn *src, Catalog *cat)
{
	PGresult *res = pg_query(src, SQL_CATALOG_FKEYS, 0, NULL);
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
	return true;
}

static bool
fetch_sequences(PgConn *src, Catalog *cat)
{
	PGresult *res = pg_query(src, SQL_CATALOG_SEQUENCES, 0, NULL);
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
	return true;
}

static bool
fetch_extensions(PgConn *src, Catalog *cat)
{
	PGresult *res = pg_query(src, SQL_CATALOG_EXTENSIONS, 0, NULL);
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
	return true;
}

static bool
fetch_collations(PgConn *src, Catalog *cat)
{
	PGresult *res = pg_query(src, SQL_CATALOG_COLLATIONS, 0, NULL);
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
	return true;
}

static bool
fetch_db_settings(PgConn *src, Catalog *cat)
{
	PGresult *res = pg_query(src, SQL_CATALOG_DB_SETTINGS, 0, NULL);
	if (res == NULL)
	{
		return false;
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		strlist_add(&cat->db_settings, PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return true;
}

static bool
fetch_lo_batches(PgConn *src, Catalog *cat, int lo_batch_size)
{
	if (lo_batch_size <= 0)
	{
		return true;
	}
	PGresult *res = pg_query(src, SQL_CATALOG_LARGE_OBJECTS, 0, NULL);
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
	return true;
}

bool
catalog_fetch(PgConn *src, Catalog *cat, int lo_batch_size)
{
	memset(cat, 0, sizeof(*cat));
	return fetch_tables(src, cat) && fetch_indexes(src, cat) && fetch_fkeys(src, cat) &&
		   fetch_sequences(src, cat) && fetch_extensions(src, cat) && fetch_collations(src, cat) &&
		   fetch_db_settings(src, cat) && fetch_lo_batches(src, cat, lo_batch_size);
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
catalog_fetch_sizes(PgConn *c, Catalog *cat, bool estimate)
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
	PGresult *res = pg_query(c, estimate ? SQL_CATALOG_SIZES_ESTIMATE : SQL_CATALOG_SIZES, 1, p);
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

/*
 * The catalog's rows are written by a statement per table prepared once and
 * run per row (bind, step, reset), all in one transaction: a resume loads
 * either the whole catalog of one run or, if the save failed, none of it.
 */

static bool
save_row(StateStmt *st)
{
	return state_stmt_step(st) == 0 && state_stmt_reset(st);
}

/* A one-character text column ('r', 'p'...): NULL for '\0'. */
static bool
bind_char(StateStmt *st, int i, char c)
{
	char v[2] = { c, '\0' };
	return state_stmt_bind_text(st, i, c ? v : NULL);
}

static bool
save_tables(StateDb *db, const Catalog *cat)
{
	StateStmt *st = state_stmt_prepare(
		db, "catalog save tables",
		"INSERT INTO tables(oid, nspname, relname, relkind, persistence, parent_oid, bytes,"
		" reltuples, relpages, copy_columns, binary_ok, excluded, exclude_data, nparts)"
		" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)");
	bool ok = st != NULL;
	for (int i = 0; ok && i < cat->ntables; i++)
	{
		const CatTable *t = &cat->tables[i];
		state_stmt_bind_int64(st, 1, t->oid);
		state_stmt_bind_text(st, 2, t->nspname);
		state_stmt_bind_text(st, 3, t->relname);
		bind_char(st, 4, t->relkind);
		bind_char(st, 5, t->persistence ? t->persistence : 'p');
		state_stmt_bind_int64(st, 6, t->parent_oid);
		state_stmt_bind_int64(st, 7, t->bytes);
		/* saved rounded, as the planner's estimate needs no fraction */
		state_stmt_bind_double(st, 8, nearbyint(t->reltuples));
		state_stmt_bind_int64(st, 9, t->relpages);
		state_stmt_bind_text(st, 10, t->copy_columns);
		state_stmt_bind_int64(st, 11, t->binary_ok);
		state_stmt_bind_int64(st, 12, t->excluded);
		state_stmt_bind_int64(st, 13, t->exclude_data);
		state_stmt_bind_int64(st, 14, t->nparts);
		ok = save_row(st);
	}
	return state_stmt_finish(st) && ok;
}

static bool
save_indexes(StateDb *db, const Catalog *cat)
{
	StateStmt *st = state_stmt_prepare(
		db, "catalog save indexes",
		"INSERT INTO indexes(oid, table_oid, nspname, relname, indexdef, conoid, conname,"
		" contype, condef, condeferrable, condeferred, bytes, excluded, isclustered,"
		" isreplident, slow_keys)"
		" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)");
	bool ok = st != NULL;
	for (int i = 0; ok && i < cat->nindexes; i++)
	{
		const CatIndex *x = &cat->indexes[i];
		state_stmt_bind_int64(st, 1, x->oid);
		state_stmt_bind_int64(st, 2, x->table_oid);
		state_stmt_bind_text(st, 3, x->nspname);
		state_stmt_bind_text(st, 4, x->relname);
		state_stmt_bind_text(st, 5, x->indexdef);
		state_stmt_bind_int64(st, 6, x->conoid);
		state_stmt_bind_text(st, 7, x->conname);
		bind_char(st, 8, x->contype);
		state_stmt_bind_text(st, 9, x->condef);
		state_stmt_bind_int64(st, 10, x->condeferrable);
		state_stmt_bind_int64(st, 11, x->condeferred);
		state_stmt_bind_int64(st, 12, x->bytes);
		state_stmt_bind_int64(st, 13, x->excluded);
		state_stmt_bind_int64(st, 14, x->isclustered);
		state_stmt_bind_int64(st, 15, x->isreplident);
		state_stmt_bind_int64(st, 16, x->slow_keys);
		ok = save_row(st);
	}
	return state_stmt_finish(st) && ok;
}

static bool
save_fkeys(StateDb *db, const Catalog *cat)
{
	StateStmt *st = state_stmt_prepare(
		db, "catalog save foreign keys",
		"INSERT INTO constraints(oid, table_oid, conname, contype, condef, ref_table_oid,"
		" excluded) VALUES (?1,?2,?3,'f',?4,?5,?6)");
	bool ok = st != NULL;
	for (int i = 0; ok && i < cat->nfkeys; i++)
	{
		const CatFkey *f = &cat->fkeys[i];
		state_stmt_bind_int64(st, 1, f->oid);
		state_stmt_bind_int64(st, 2, f->table_oid);
		state_stmt_bind_text(st, 3, f->conname);
		state_stmt_bind_text(st, 4, f->condef);
		state_stmt_bind_int64(st, 5, f->ref_table_oid);
		state_stmt_bind_int64(st, 6, f->excluded);
		ok = save_row(st);
	}
	return state_stmt_finish(st) && ok;
}

static bool
save_sequences(StateDb *db, const Catalog *cat)
{
	StateStmt *st = state_stmt_prepare(db, "catalog save sequences",
									   "INSERT INTO sequences(oid, nspname, relname, last_value,"
									   " is_called, owner_table_oid, owner_column, is_identity,"
									   " excluded) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)");
	bool ok = st != NULL;
	for (int i = 0; ok && i < cat->nsequences; i++)
	{
		const CatSequence *s = &cat->sequences[i];
		state_stmt_bind_int64(st, 1, s->oid);
		state_stmt_bind_text(st, 2, s->nspname);
		state_stmt_bind_text(st, 3, s->relname);
		state_stmt_bind_text(st, 4, s->last_value);
		state_stmt_bind_int64(st, 5, s->is_called);
		state_stmt_bind_int64(st, 6, s->owner_table_oid);
		state_stmt_bind_text(st, 7, s->owner_column);
		state_stmt_bind_int64(st, 8, s->is_identity);
		state_stmt_bind_int64(st, 9, s->excluded);
		ok = save_row(st);
	}
	return state_stmt_finish(st) && ok;
}

static bool
save_extensions(StateDb *db, const Catalog *cat)
{
	StateStmt *st = state_stmt_prepare(
		db, "catalog save extensions",
		"INSERT INTO extensions(oid, extname, extversion, nspname) VALUES (?1,?2,?3,?4)");
	bool ok = st != NULL;
	for (int i = 0; ok && i < cat->nextensions; i++)
	{
		const CatExtension *e = &cat->extensions[i];
		state_stmt_bind_int64(st, 1, e->oid);
		state_stmt_bind_text(st, 2, e->extname);
		state_stmt_bind_text(st, 3, e->extversion);
		state_stmt_bind_text(st, 4, e->nspname);
		ok = save_row(st);
	}
	return state_stmt_finish(st) && ok;
}

static bool
save_collations(StateDb *db, const Catalog *cat)
{
	StateStmt *st = state_stmt_prepare(
		db, "catalog save collations",
		"INSERT INTO collations(oid, nspname, collname, provider) VALUES (?1,?2,?3,?4)");
	bool ok = st != NULL;
	for (int i = 0; ok && i < cat->ncollations; i++)
	{
		const CatCollation *k = &cat->collations[i];
		state_stmt_bind_int64(st, 1, k->oid);
		state_stmt_bind_text(st, 2, k->nspname);
		state_stmt_bind_text(st, 3, k->collname);
		state_stmt_bind_text(st, 4, k->provider);
		ok = save_row(st);
	}
	return state_stmt_finish(st) && ok;
}

static bool
save_lo_batches(StateDb *db, const Catalog *cat)
{
	StateStmt *st = state_stmt_prepare(
		db, "catalog save large objects",
		"INSERT INTO large_objects(batch, min_oid, max_oid, count) VALUES (?1,?2,?3,?4)");
	bool ok = st != NULL;
	for (int i = 0; ok && i < cat->nlo_batches; i++)
	{
		const CatLoBatch *b = &cat->lo_batches[i];
		state_stmt_bind_int64(st, 1, b->batch);
		state_stmt_bind_int64(st, 2, b->min_oid);
		state_stmt_bind_int64(st, 3, b->max_oid);
		state_stmt_bind_int64(st, 4, b->count);
		ok = save_row(st);
	}
	return state_stmt_finish(st) && ok;
}

static bool
save_meta(StateDb *db, const Catalog *cat)
{
	StrBuf js;
	sb_init(&js);
	for (int i = 0; i < cat->db_settings.n; i++)
	{
		sb_append(&js, cat->db_settings.items[i]);
		sb_append_char(&js, '\n');
	}
	char *settings = sb_steal(&js);
	char *nlo = xasprintf("%lld", (long long) cat->nlargeobjects);
	bool ok =
		state_set_meta(db, "db_settings", settings) && state_set_meta(db, "large_objects", nlo);
	free(settings);
	free(nlo);
	return ok;
}

bool
catalog_save(StateDb *db, const Catalog *cat)
{
	if (!state_begin(db))
	{
		return false;
	}
	static const char *const clear[] = { "DELETE FROM tables",       "DELETE FROM indexes",
										 "DELETE FROM constraints",  "DELETE FROM sequences",
										 "DELETE FROM extensions",   "DELETE FROM collations",
										 "DELETE FROM large_objects" };
	bool ok = true;
	for (size_t i = 0; ok && i < sizeof(clear) / sizeof(clear[0]); i++)
	{
		ok = state_exec(db, clear[i], 0, NULL);
	}
	ok = ok && save_tables(db, cat) && save_indexes(db, cat) && save_fkeys(db, cat) &&
		 save_sequences(db, cat) && save_extensions(db, cat) && save_collations(db, cat) &&
		 save_lo_batches(db, cat) && save_meta(db, cat);
	if (!ok)
	{
		state_rollback(db);
		return false;
	}
	return state_commit(db);
}

/* A one-character text column: its first character, '\0' for NULL or "". */
static char
col_char(StateStmt *st, int i)
{
	const char *t = state_stmt_text(st, i);
	return t ? t[0] : '\0';
}

/* Rows of one table: count(*) sizes the array (one spare), then one row each. */
static int
load_count(StateDb *db, const char *table)
{
	char *sql = xasprintf("SELECT count(*) FROM %s", table);
	int n = (int) state_query_int(db, sql, 0, NULL, 0);
	free(sql);
	return n;
}

static bool
load_tables(StateDb *db, Catalog *cat)
{
	cat->ntables = load_count(db, "tables");
	cat->tables = xcalloc((size_t) cat->ntables + 1, sizeof(CatTable));
	StateStmt *st = state_stmt_prepare(
		db, "catalog load tables",
		"SELECT oid, nspname, relname, relkind, persistence, parent_oid, bytes, reltuples,"
		" relpages, copy_columns, binary_ok, excluded, exclude_data, nparts FROM tables"
		" ORDER BY bytes DESC, nspname, relname");
	for (int i = 0; i < cat->ntables && state_stmt_step(st) == 1; i++)
	{
		CatTable *t = &cat->tables[i];
		t->oid = (Oid) state_stmt_int64(st, 0);
		t->nspname = state_stmt_text_dup(st, 1);
		t->relname = state_stmt_text_dup(st, 2);
		t->qname = pg_qualname(t->nspname, t->relname);
		t->relkind = col_char(st, 3);
		t->persistence = col_char(st, 4);
		t->parent_oid = (Oid) state_stmt_int64(st, 5);
		t->bytes = state_stmt_int64(st, 6);
		t->reltuples = state_stmt_double(st, 7);
		t->relpages = state_stmt_int64(st, 8);
		t->copy_columns = state_stmt_text_dup(st, 9);
		t->binary_ok = state_stmt_int64(st, 10) != 0;
		t->excluded = state_stmt_int64(st, 11) != 0;
		t->exclude_data = state_stmt_int64(st, 12) != 0;
		t->nparts = (int) state_stmt_int64(st, 13);
	}
	return state_stmt_finish(st);
}

static bool
load_indexes(StateDb *db, Catalog *cat)
{
	cat->nindexes = load_count(db, "indexes");
	cat->indexes = xcalloc((size_t) cat->nindexes + 1, sizeof(CatIndex));
	StateStmt *st = state_stmt_prepare(
		db, "catalog load indexes",
		"SELECT oid, table_oid, nspname, relname, indexdef, conoid, conname, contype, condef,"
		" condeferrable, condeferred, bytes, excluded, isclustered, isreplident, slow_keys"
		" FROM indexes ORDER BY table_oid, relname");
	for (int i = 0; i < cat->nindexes && state_stmt_step(st) == 1; i++)
	{
		CatIndex *x = &cat->indexes[i];
		x->oid = (Oid) state_stmt_int64(st, 0);
		x->table_oid = (Oid) state_stmt_int64(st, 1);
		x->nspname = state_stmt_text_dup(st, 2);
		x->relname = state_stmt_text_dup(st, 3);
		x->indexdef = state_stmt_text_dup(st, 4);
		x->conoid = (Oid) state_stmt_int64(st, 5);
		x->conname = state_stmt_text_dup(st, 6);
		x->contype = col_char(st, 7);
		x->condef = state_stmt_text_dup(st, 8);
		x->condeferrable = state_stmt_int64(st, 9) != 0;
		x->condeferred = state_stmt_int64(st, 10) != 0;
		x->bytes = state_stmt_int64(st, 11);
		x->excluded = state_stmt_int64(st, 12) != 0;
		x->isclustered = state_stmt_int64(st, 13) != 0;
		x->isreplident = state_stmt_int64(st, 14) != 0;
		x->slow_keys = (int) state_stmt_int64(st, 15);
	}
	return state_stmt_finish(st);
}

static bool
load_fkeys(StateDb *db, Catalog *cat)
{
	cat->nfkeys = load_count(db, "constraints");
	cat->fkeys = xcalloc((size_t) cat->nfkeys + 1, sizeof(CatFkey));
	StateStmt *st = state_stmt_prepare(
		db, "catalog load foreign keys",
		"SELECT oid, table_oid, conname, condef, ref_table_oid, excluded FROM constraints"
		" ORDER BY table_oid, conname");
	for (int i = 0; i < cat->nfkeys && state_stmt_step(st) == 1; i++)
	{
		CatFkey *f = &cat->fkeys[i];
		f->oid = (Oid) state_stmt_int64(st, 0);
		f->table_oid = (Oid) state_stmt_int64(st, 1);
		f->conname = state_stmt_text_dup(st, 2);
		f->condef = state_stmt_text_dup(st, 3);
		f->ref_table_oid = (Oid) state_stmt_int64(st, 4);
		f->excluded = state_stmt_int64(st, 5) != 0;
	}
	return state_stmt_finish(st);
}

static bool
load_sequences(StateDb *db, Catalog *cat)
{
	cat->nsequences = load_count(db, "sequences");
	cat->sequences = xcalloc((size_t) cat->nsequences + 1, sizeof(CatSequence));
	StateStmt *st = state_stmt_prepare(
		db, "catalog load sequences",
		"SELECT oid, nspname, relname, last_value, is_called, owner_table_oid, owner_column,"
		" is_identity, excluded FROM sequences ORDER BY nspname, relname");
	for (int i = 0; i < cat->nsequences && state_stmt_step(st) == 1; i++)
	{
		CatSequence *s = &cat->sequences[i];
		s->oid = (Oid) state_stmt_int64(st, 0);
		s->nspname = state_stmt_text_dup(st, 1);
		s->relname = state_stmt_text_dup(st, 2);
		s->last_value = state_stmt_text_dup(st, 3);
		s->is_called = state_stmt_int64(st, 4) != 0;
		s->owner_table_oid = (Oid) state_stmt_int64(st, 5);
		s->owner_column = state_stmt_text_dup(st, 6);
		s->is_identity = state_stmt_int64(st, 7) != 0;
		s->excluded = state_stmt_int64(st, 8) != 0;
	}
	return state_stmt_finish(st);
}

static bool
load_extensions(StateDb *db, Catalog *cat)
{
	cat->nextensions = load_count(db, "extensions");
	cat->extensions = xcalloc((size_t) cat->nextensions + 1, sizeof(CatExtension));
	StateStmt *st = state_stmt_prepare(
		db, "catalog load extensions",
		"SELECT oid, extname, extversion, nspname FROM extensions ORDER BY extname");
	for (int i = 0; i < cat->nextensions && state_stmt_step(st) == 1; i++)
	{
		CatExtension *e = &cat->extensions[i];
		e->oid = (Oid) state_stmt_int64(st, 0);
		e->extname = state_stmt_text_dup(st, 1);
		e->extversion = state_stmt_text_dup(st, 2);
		e->nspname = state_stmt_text_dup(st, 3);
	}
	return state_stmt_finish(st);
}

static bool
load_collations(StateDb *db, Catalog *cat)
{
	cat->ncollations = load_count(db, "collations");
	cat->collations = xcalloc((size_t) cat->ncollations + 1, sizeof(CatCollation));
	StateStmt *st = state_stmt_prepare(
		db, "catalog load collations",
		"SELECT oid, nspname, collname, provider FROM collations ORDER BY nspname, collname");
	for (int i = 0; i < cat->ncollations && state_stmt_step(st) == 1; i++)
	{
		CatCollation *k = &cat->collations[i];
		k->oid = (Oid) state_stmt_int64(st, 0);
		k->nspname = state_stmt_text_dup(st, 1);
		k->collname = state_stmt_text_dup(st, 2);
		k->provider = state_stmt_text_dup(st, 3);
	}
	return state_stmt_finish(st);
}

static bool
load_lo_batches(StateDb *db, Catalog *cat)
{
	cat->nlo_batches = load_count(db, "large_objects");
	cat->lo_batches = xcalloc((size_t) cat->nlo_batches + 1, sizeof(CatLoBatch));
	StateStmt *st = state_stmt_prepare(
		db, "catalog load large objects",
		"SELECT batch, min_oid, max_oid, count FROM large_objects ORDER BY batch");
	for (int i = 0; i < cat->nlo_batches && state_stmt_step(st) == 1; i++)
	{
		CatLoBatch *b = &cat->lo_batches[i];
		b->batch = (int) state_stmt_int64(st, 0);
		b->min_oid = (Oid) state_stmt_int64(st, 1);
		b->max_oid = (Oid) state_stmt_int64(st, 2);
		b->count = (int) state_stmt_int64(st, 3);
	}
	return state_stmt_finish(st);
}

bool
catalog_load(StateDb *db, Catalog *cat)
{
	memset(cat, 0, sizeof(*cat));
	/* one transaction: the counts and the rows come from the same saved catalog */
	if (!state_begin(db))
	{
		return false;
	}
	bool ok = load_tables(db, cat) && load_indexes(db, cat) && load_fkeys(db, cat) &&
			  load_sequences(db, cat) && load_extensions(db, cat) && load_collations(db, cat) &&
			  load_lo_batches(db, cat);
	char *settings = state_get_meta(db, "db_settings");
	char *nlo = state_get_meta(db, "large_objects");
	ok = state_commit(db) && ok;
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

bool
catalog_relation_name_arrays(PgConn *src, const Filters *f, StrBuf *nsps, StrBuf *rels)
{
	PGresult *res = pg_query(src, SQL_SOURCE_RELATION_NAMES, 0, NULL);
	if (res == NULL)
	{
		return false;
	}
	sb_init(nsps);
	sb_init(rels);
	sb_append_char(nsps, '{');
	sb_append_char(rels, '{');
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *nsp = PQgetvalue(res, i, 0), *rel = PQgetvalue(res, i, 1);
		if (f != NULL && filters_table_excluded(f, nsp, rel))
		{
			continue;
		}
		if (nsps->len > 1)
		{
			sb_append_char(nsps, ',');
			sb_append_char(rels, ',');
		}
		sb_append_array_elem(nsps, nsp);
		sb_append_array_elem(rels, rel);
	}
	sb_append_char(nsps, '}');
	sb_append_char(rels, '}');
	PQclear(res);
	return true;
}
