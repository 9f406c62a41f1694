/*
 * src/report/list_catalog.c — the listings of the catalog a clone reads:
 * tables (and those left out, and those without a primary key), their COPY
 * parts, sequences and indexes.
 *
 * All of them read the catalog with catalog_fetch() and plan the parts with
 * split_tables(), in one read-only transaction on the source: the same code
 * and the same rule as a clone, so they show what a clone started now with
 * the same options would copy. --list-skipped turns each list around: the
 * objects left out instead of those copied.
 */
#include "report/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.inc"

static const char *
contype_name(char contype)
{
	switch (contype)
	{
		case 'p':
			return "primary key";
		case 'u':
			return "unique";
		case 'x':
			return "exclusion";
		default:
			return NULL;
	}
}

/* ------------------------------------------------------------------------
 * JSON of catalog entries (list tables, sequences, indexes, schema)
 * ------------------------------------------------------------------------ */

json_t *
list_table_json(const CatTable *t)
{
	char kind[2] = { t->relkind, '\0' };
	char *sz = fmt_size(t->bytes);
	json_t *o = json_object();
	jset(o, "oid", jint(t->oid));
	jset(o, "schema", jstr(t->nspname));
	jset(o, "name", jstr(t->relname));
	jset(o, "qname", jstr(t->qname));
	jset(o, "relkind", jstr(kind));
	jset(o, "persistence", jstr(t->persistence == 'u' ? "unlogged" : "permanent"));
	jset(o, "parent_oid", t->parent_oid != 0 ? jint(t->parent_oid) : json_null());
	jset(o, "bytes", jint(t->bytes));
	jset(o, "size", jstr(sz));
	jset(o, "relpages", jint(t->relpages));
	jset(o, "rows_estimate", t->reltuples >= 0 ? jint((int64_t) t->reltuples) : json_null());
	jset(o, "parts", json_integer(split_copy_parts(t)));
	jset(o, "binary_ok", json_boolean(t->binary_ok));
	jset(o, "schema_only", json_boolean(t->exclude_data));
	jset(o, "excluded", json_boolean(t->excluded));
	free(sz);
	return o;
}

static const char *
sequence_kind(const CatSequence *s)
{
	if (s->is_identity)
	{
		return "identity";
	}
	return s->owner_table_oid != 0 ? "serial" : NULL;
}

/* "schema.table.column" of the owner (caller frees), NULL when none. */
static char *
sequence_owner(const Catalog *cat, const CatSequence *s)
{
	if (s->owner_table_oid == 0)
	{
		return NULL;
	}
	const CatTable *t = catalog_table(cat, s->owner_table_oid);
	char *col = s->owner_column != NULL ? pg_quote_ident(s->owner_column) : xstrdup("?");
	char *r = t != NULL ? xasprintf("%s.%s", t->qname, col)
						: xasprintf("table %u column %s", s->owner_table_oid, col);
	free(col);
	return r;
}

json_t *
list_sequence_json(const Catalog *cat, const CatSequence *s)
{
	json_t *o = json_object();
	jset(o, "oid", jint(s->oid));
	jset(o, "schema", jstr(s->nspname));
	jset(o, "name", jstr(s->relname));
	jset(o, "last_value",
		 s->last_value != NULL ? jint(strtoll(s->last_value, NULL, 10)) : json_null());
	jset(o, "is_called", json_boolean(s->is_called));
	jset(o, "kind", jstr(sequence_kind(s)));
	jset(o, "excluded", json_boolean(s->excluded));
	if (s->owner_table_oid != 0)
	{
		const CatTable *t = catalog_table(cat, s->owner_table_oid);
		char *owner = sequence_owner(cat, s);
		json_t *ob = json_object();
		jset(ob, "table_oid", jint(s->owner_table_oid));
		jset(ob, "schema", jstr(t != NULL ? t->nspname : NULL));
		jset(ob, "table", jstr(t != NULL ? t->relname : NULL));
		jset(ob, "column", jstr(s->owner_column));
		jset(ob, "qname", jstr(owner));
		jset(o, "owned_by", ob);
		free(owner);
	}
	else
	{
		jset(o, "owned_by", json_null());
	}
	return o;
}

json_t *
list_index_json(const Catalog *cat, const CatIndex *x)
{
	const CatTable *t = catalog_table(cat, x->table_oid);
	char *sz = fmt_size(x->bytes);
	json_t *o = json_object();
	jset(o, "oid", jint(x->oid));
	jset(o, "schema", jstr(x->nspname));
	jset(o, "name", jstr(x->relname));
	jset(o, "table_oid", jint(x->table_oid));
	jset(o, "table", jstr(t != NULL ? t->relname : NULL));
	jset(o, "table_qname", jstr(t != NULL ? t->qname : NULL));
	jset(o, "constraint", jstr(x->conoid != 0 ? x->conname : NULL));
	jset(o, "constraint_type", jstr(contype_name(x->contype)));
	jset(o, "constraint_def", jstr(x->conoid != 0 ? x->condef : NULL));
	jset(o, "deferrable", json_boolean(x->condeferrable));
	jset(o, "deferred", json_boolean(x->condeferred));
	jset(o, "indexdef", jstr(x->indexdef));
	jset(o, "bytes", jint(x->bytes));
	jset(o, "size", jstr(sz));
	jset(o, "clustered", json_boolean(x->isclustered));
	jset(o, "replica_identity", json_boolean(x->isreplident));
	jset(o, "excluded", json_boolean(x->excluded));
	free(sz);
	return o;
}

/* ------------------------------------------------------------------------
 * list tables
 * ------------------------------------------------------------------------ */

static int
oid_cmp(const void *a, const void *b)
{
	Oid x = *(const Oid *) a, y = *(const Oid *) b;
	return x < y ? -1 : x > y;
}

/* The relations that have a primary key, sorted (--without-pkey). */
typedef struct OidSet
{
	Oid *oids;
	int n;
} OidSet;

static bool
fetch_pkey_oids(PgConn *c, OidSet *set)
{
	PGresult *res = pg_query(c, SQL_LIST_TABLES_PKEY, 0, NULL);
	if (res == NULL)
	{
		return false;
	}
	set->n = PQntuples(res);
	set->oids = xcalloc((size_t) set->n + 1, sizeof(Oid));
	for (int i = 0; i < set->n; i++)
	{
		set->oids[i] = (Oid) strtoul(PQgetvalue(res, i, 0), NULL, 10);
	}
	PQclear(res);
	qsort(set->oids, (size_t) set->n, sizeof(Oid), oid_cmp);
	return true;
}

/* Whether --without-pkey (pk loaded: pk->oids not NULL) keeps this table. */
static bool
pkey_keep(const OidSet *pk, Oid oid)
{
	return pk->oids == NULL ||
		   bsearch(&oid, pk->oids, (size_t) pk->n, sizeof(Oid), oid_cmp) == NULL;
}

/* One row of `list tables --list-skipped`. */
static void
skipped_add(Listing *l, int64_t oid, const char *nsp, const char *rel, const char *kind,
			int64_t bytes, const char *reason)
{
	char *sz = fmt_size(bytes);
	if (l->arr != NULL)
	{
		json_t *o = json_object();
		jset(o, "oid", jint(oid));
		jset(o, "schema", jstr(nsp));
		jset(o, "name", jstr(rel));
		jset(o, "relkind", jstr(kind));
		jset(o, "bytes", jint(bytes));
		jset(o, "size", jstr(sz));
		jset(o, "reason", jstr(reason));
		json_array_append_new(l->arr, o);
	}
	else
	{
		grid_addf(&l->grid, "%lld", (long long) oid);
		grid_add(&l->grid, nsp);
		grid_add(&l->grid, rel);
		grid_add(&l->grid, kind);
		grid_add(&l->grid, sz);
		grid_add(&l->grid, reason);
	}
	free(sz);
}

static ExitCode
list_tables_skipped(const ListSpec *spec, PgConn *c, const Catalog *cat, const OidSet *pk)
{
	PGresult *res = pg_query(c, SQL_LIST_TABLES_SKIPPED, 0, NULL);
	if (res == NULL)
	{
		return EXIT_SOURCE;
	}
	static const char *const hdr[] = { "OID", "Schema", "Name", "Kind", "Size", "Reason" };
	Listing l;
	listing_init(&l, spec->json, 6, hdr, "rlllrl");

	/* left out by the filters first */
	for (int i = 0; i < cat->ntables; i++)
	{
		const CatTable *t = &cat->tables[i];
		if (t->excluded && list_name_selected(spec, t->nspname, t->relname) &&
			pkey_keep(pk, t->oid))
		{
			char kind[2] = { t->relkind, '\0' };
			skipped_add(&l, t->oid, t->nspname, t->relname, kind, t->bytes, "excluded by filters");
		}
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		if (list_name_selected(spec, pval(res, i, 1), pval(res, i, 2)) &&
			pkey_keep(pk, (Oid) pint(res, i, 0)))
		{
			skipped_add(&l, pint(res, i, 0), pval(res, i, 1), pval(res, i, 2), pval(res, i, 3),
						pint(res, i, 4), pval(res, i, 6));
		}
	}
	PQclear(res);
	int n = grid_rows(&l.grid);
	bool json = l.arr != NULL;
	listing_print(&l);
	if (!json)
	{
		printf("\n%d table%s left out\n", n, n == 1 ? "" : "s");
	}
	return EXIT_OK;
}

static void
table_cells(Grid *g, const CatTable *t)
{
	char kind[2] = { t->relkind, '\0' };
	char *sz = fmt_size(t->bytes);
	grid_addf(g, "%u", t->oid);
	grid_add(g, t->nspname);
	grid_add(g, t->relname);
	grid_add(g, kind);
	grid_add(g, sz);
	grid_addf(g, "%lld", (long long) t->bytes);
	if (t->reltuples >= 0)
	{
		grid_addf(g, "%.0f", t->reltuples);
	}
	else
	{
		grid_add(g, "-");
	}
	if (split_copy_parts(t) > 0)
	{
		grid_addf(g, "%d", split_copy_parts(t));
	}
	else
	{
		grid_add(g, t->relkind == 'p' ? "-" : "schema only");
	}
	free(sz);
}

ExitCode
report_list_tables(const ListSpec *spec)
{
	PgConn c;
	Catalog cat;
	ExitCode rc = list_fetch_catalog(spec, &c, &cat, 0, false);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	OidSet pk = { 0 };
	if (spec->without_pkey && !fetch_pkey_oids(&c, &pk))
	{
		rc = EXIT_SOURCE;
	}
	else if (spec->list_skipped)
	{
		rc = list_tables_skipped(spec, &c, &cat, &pk);
	}
	pg_disconnect(&c);
	if (rc != EXIT_OK || spec->list_skipped)
	{
		free(pk.oids);
		catalog_free(&cat);
		return rc;
	}

	static const char *const hdr[] = { "OID",  "Schema", "Name",      "Kind",
									   "Size", "Bytes",  "Est. rows", "Parts" };
	Listing l;
	listing_init(&l, spec->json, 8, hdr, "rlllrrrr");
	int64_t total = 0;
	int ntables = 0, nparts = 0;
	for (int i = 0; i < cat.ntables; i++)
	{
		const CatTable *t = &cat.tables[i];
		if (t->excluded || !list_name_selected(spec, t->nspname, t->relname) ||
			!pkey_keep(&pk, t->oid))
		{
			continue;
		}
		if (l.arr != NULL)
		{
			json_array_append_new(l.arr, list_table_json(t));
		}
		else
		{
			table_cells(&l.grid, t);
		}
		total += t->bytes;
		ntables++;
		nparts += split_copy_parts(t);
	}
	bool json = l.arr != NULL;
	listing_print(&l);
	if (!json)
	{
		char *sz = fmt_size(total);
		char *split = list_split_description(spec, &cat);
		printf("\n%d table%s%s, %s, %d COPY part%s; %s\n", ntables, ntables == 1 ? "" : "s",
			   spec->without_pkey ? " without a primary key" : "", sz, nparts,
			   nparts == 1 ? "" : "s", split);
		free(sz);
		free(split);
	}
	free(pk.oids);
	catalog_free(&cat);
	return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * list table-parts
 * ------------------------------------------------------------------------ */

/* The rows (grid) or the JSON object of one table's parts. */
static void
table_parts_add(Listing *l, const CatTable *t, int n)
{
	char *sz = fmt_size(t->bytes);
	json_t *parts = l->arr != NULL ? json_array() : NULL;
	for (int p = 0; p < n; p++)
	{
		int64_t min, max;
		split_part_range(t, n, p, &min, &max);
		if (parts != NULL)
		{
			json_array_append_new(parts, json_pack("{s:i, s:I, s:o}", "part", p + 1, "min_block",
												   (json_int_t) min, "max_block",
												   max >= 0 ? jint(max) : json_null()));
			continue;
		}
		Grid *g = &l->grid;
		grid_add(g, t->nspname);
		grid_add(g, t->relname);
		grid_add(g, sz);
		grid_addf(g, "%d/%d", p + 1, n);
		grid_addf(g, "%lld", (long long) min);
		if (max >= 0)
		{
			grid_addf(g, "%lld", (long long) max);
		}
		else
		{
			grid_add(g, "end");
		}
		if (n == 1)
		{
			grid_add(g, "whole table");
		}
		else if (max >= 0)
		{
			grid_addf(g, "ctid >= '(%lld,0)' AND ctid < '(%lld,0)'", (long long) min,
					  (long long) max);
		}
		else
		{
			grid_addf(g, "ctid >= '(%lld,0)'", (long long) min);
		}
	}
	if (parts != NULL)
	{
		json_t *o = json_object();
		jset(o, "oid", jint(t->oid));
		jset(o, "schema", jstr(t->nspname));
		jset(o, "name", jstr(t->relname));
		jset(o, "qname", jstr(t->qname));
		jset(o, "bytes", jint(t->bytes));
		jset(o, "size", jstr(sz));
		jset(o, "relpages", jint(t->relpages));
		jset(o, "nparts", json_integer(n));
		jset(o, "parts", parts);
		json_array_append_new(l->arr, o);
	}
	free(sz);
}

static ExitCode
table_parts_print(const ListSpec *spec, const Catalog *cat)
{
	bool picked = spec->schema_name != NULL || spec->table_name != NULL;

	static const char *const hdr[] = { "Schema",     "Table",    "Size",     "Part",
									   "From block", "To block", "Condition" };
	Listing l;
	listing_init(&l, spec->json, 7, hdr, "llrrrrl");
	int ntables = 0;
	for (int i = 0; i < cat->ntables; i++)
	{
		const CatTable *t = &cat->tables[i];
		int n = split_copy_parts(t);
		if (n == 0 || (picked ? !list_name_selected(spec, t->nspname, t->relname) : n < 2))
		{
			continue;
		}
		ntables++;
		table_parts_add(&l, t, n);
	}
	if (picked && ntables == 0)
	{
		log_error(
			"no table with rows to copy matches%s%s%s%s",
			spec->schema_name ? " --schema-name " : "", spec->schema_name ? spec->schema_name : "",
			spec->table_name ? " --table-name " : "", spec->table_name ? spec->table_name : "");
		log_hint(LOG_LEVEL_ERROR, "Run \"pgshift list tables\" for the tables pgshift copies.");
		json_decref(l.arr);
		strlist_free(&l.grid.cells);
		return EXIT_USAGE;
	}
	char *split = list_split_description(spec, cat);
	if (l.arr == NULL && ntables == 0)
	{
		printf("no table is split: %s\n", split);
	}
	else
	{
		bool json = l.arr != NULL;
		listing_print(&l);
		if (!json)
		{
			printf("\n%s\n", split);
		}
	}
	free(split);
	return EXIT_OK;
}

ExitCode
report_list_table_parts(const ListSpec *spec)
{
	return list_catalog_run(spec, 0, false, table_parts_print);
}

/* ------------------------------------------------------------------------
 * list sequences
 * ------------------------------------------------------------------------ */

static ExitCode
sequences_print(const ListSpec *spec, const Catalog *cat)
{

	static const char *const hdr[] = {
		"Schema", "Name", "Last value", "Called", "Kind", "Owned by"
	};
	Listing l;
	listing_init(&l, spec->json, 6, hdr, "llrlll");
	for (int i = 0; i < cat->nsequences; i++)
	{
		const CatSequence *s = &cat->sequences[i];
		const CatTable *owner = catalog_table(cat, s->owner_table_oid);
		if (s->excluded != spec->list_skipped ||
			(spec->schema_name != NULL && strcmp(spec->schema_name, s->nspname) != 0) ||
			(spec->table_name != NULL &&
			 (owner == NULL || strcmp(spec->table_name, owner->relname) != 0)))
		{
			continue;
		}
		if (l.arr != NULL)
		{
			json_array_append_new(l.arr, list_sequence_json(cat, s));
			continue;
		}
		char *by = sequence_owner(cat, s);
		grid_add(&l.grid, s->nspname);
		grid_add(&l.grid, s->relname);
		grid_add(&l.grid, s->last_value != NULL ? s->last_value : "?");
		grid_add(&l.grid, s->is_called ? "yes" : "no");
		grid_add(&l.grid, sequence_kind(s));
		grid_add(&l.grid, by);
		free(by);
	}
	listing_print(&l);
	return EXIT_OK;
}

ExitCode
report_list_sequences(const ListSpec *spec)
{
	return list_catalog_run(spec, 0, true, sequences_print);
}

/* ------------------------------------------------------------------------
 * list indexes
 * ------------------------------------------------------------------------ */

typedef struct IndexRow
{
	const CatIndex *x;
	const char *table;
} IndexRow;

static int
index_row_cmp(const void *a, const void *b)
{
	const IndexRow *ra = a, *rb = b;
	int r = strcmp(ra->x->nspname, rb->x->nspname);
	if (r == 0)
	{
		r = strcmp(ra->table, rb->table);
	}
	if (r == 0)
	{
		r = strcmp(ra->x->relname, rb->x->relname);
	}
	return r;
}

static ExitCode
indexes_print(const ListSpec *spec, const Catalog *cat)
{

	IndexRow *rows = xcalloc((size_t) cat->nindexes + 1, sizeof(IndexRow));
	int n = 0;
	for (int i = 0; i < cat->nindexes; i++)
	{
		const CatIndex *x = &cat->indexes[i];
		const CatTable *t = catalog_table(cat, x->table_oid);
		const char *tname = t != NULL ? t->relname : "?";
		bool left_out = x->excluded || (t != NULL && t->excluded);
		if (left_out != spec->list_skipped || !list_name_selected(spec, x->nspname, tname))
		{
			continue;
		}
		rows[n].x = x;
		rows[n].table = tname;
		n++;
	}
	qsort(rows, (size_t) n, sizeof(IndexRow), index_row_cmp);

	static const char *const hdr[] = { "Schema",     "Table", "Index",
									   "Constraint", "Type",  "Definition" };
	Listing l;
	listing_init(&l, spec->json, 6, hdr, "llllll");
	for (int i = 0; i < n; i++)
	{
		const CatIndex *x = rows[i].x;
		if (l.arr != NULL)
		{
			json_array_append_new(l.arr, list_index_json(cat, x));
			continue;
		}
		grid_add(&l.grid, x->nspname);
		grid_add(&l.grid, rows[i].table);
		grid_add(&l.grid, x->relname);
		grid_add(&l.grid, x->conoid != 0 ? x->conname : NULL);
		grid_add(&l.grid, contype_name(x->contype));
		grid_add(&l.grid, x->indexdef);
	}
	listing_print(&l);
	free(rows);
	return EXIT_OK;
}

ExitCode
report_list_indexes(const ListSpec *spec)
{
	return list_catalog_run(spec, 0, false, indexes_print);
}
