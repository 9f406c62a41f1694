/*
 * src/report/list_schema.c — `list schema`: the whole catalog as a clone
 * reads it, counted (aligned columns) or in full (--json).
 *
 * Large objects are read in batches of 100, as a clone plans them, and the
 * sequences' values are read, so the JSON holds everything a clone would
 * save in its state.db.
 */
#include "report/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the human output counts. */
typedef struct SchemaCounts
{
	int ordinary, partitioned, unlogged, excluded, schema_only, parts;
	int64_t bytes;
	double rows;
	int pkeys, unique, exclusion;
	int64_t index_bytes;
	int identity, serial;
} SchemaCounts;

static void
schema_count(const Catalog *cat, SchemaCounts *n)
{
	memset(n, 0, sizeof(*n));
	for (int i = 0; i < cat->ntables; i++)
	{
		const CatTable *t = &cat->tables[i];
		n->partitioned += t->relkind == 'p';
		n->ordinary += t->relkind != 'p';
		n->unlogged += t->persistence == 'u';
		n->excluded += t->excluded;
		n->schema_only += t->exclude_data && !t->excluded;
		n->parts += split_copy_parts(t);
		n->bytes += t->bytes;
		n->rows += t->reltuples > 0 ? t->reltuples : 0;
	}
	for (int i = 0; i < cat->nindexes; i++)
	{
		n->pkeys += cat->indexes[i].contype == 'p';
		n->unique += cat->indexes[i].contype == 'u';
		n->exclusion += cat->indexes[i].contype == 'x';
		n->index_bytes += cat->indexes[i].bytes;
	}
	for (int i = 0; i < cat->nsequences; i++)
	{
		n->identity += cat->sequences[i].is_identity;
		n->serial += !cat->sequences[i].is_identity && cat->sequences[i].owner_table_oid != 0;
	}
}

static json_t *
fkey_json(const Catalog *cat, const CatFkey *f)
{
	const CatTable *t = catalog_table(cat, f->table_oid);
	const CatTable *r = catalog_table(cat, f->ref_table_oid);
	json_t *o = json_object();
	jset(o, "oid", jint(f->oid));
	jset(o, "name", jstr(f->conname));
	jset(o, "table_oid", jint(f->table_oid));
	jset(o, "table", jstr(t != NULL ? t->qname : NULL));
	jset(o, "ref_table_oid", jint(f->ref_table_oid));
	jset(o, "ref_table", jstr(r != NULL ? r->qname : NULL));
	jset(o, "definition", jstr(f->condef));
	jset(o, "excluded", json_boolean(f->excluded));
	return o;
}

static void
schema_json(const ListSpec *spec, const Catalog *cat, const SchemaCounts *n)
{
	json_t *top = json_object();
	json_t *counts =
		json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:i, s:i, s:i}", "tables", cat->ntables,
				  "table_parts", n->parts, "indexes", cat->nindexes, "foreign_keys", cat->nfkeys,
				  "sequences", cat->nsequences, "large_object_batches", cat->nlo_batches,
				  "large_objects", (json_int_t) cat->nlargeobjects, "extensions", cat->nextensions,
				  "collations", cat->ncollations, "db_settings", cat->db_settings.n);
	jset(top, "counts", counts);
	int64_t threshold = split_threshold(&spec->split, cat);
	jset(top, "split_threshold", jint(threshold > 0 ? threshold : 0));
	jset(top, "split_max_parts", json_integer(split_max_parts(&spec->split)));
	json_t *a = json_array();
	for (int i = 0; i < cat->ntables; i++)
	{
		json_array_append_new(a, list_table_json(&cat->tables[i]));
	}
	jset(top, "tables", a);
	a = json_array();
	for (int i = 0; i < cat->nindexes; i++)
	{
		json_array_append_new(a, list_index_json(cat, &cat->indexes[i]));
	}
	jset(top, "indexes", a);
	a = json_array();
	for (int i = 0; i < cat->nfkeys; i++)
	{
		json_array_append_new(a, fkey_json(cat, &cat->fkeys[i]));
	}
	jset(top, "foreign_keys", a);
	a = json_array();
	for (int i = 0; i < cat->nsequences; i++)
	{
		json_array_append_new(a, list_sequence_json(cat, &cat->sequences[i]));
	}
	jset(top, "sequences", a);
	a = json_array();
	for (int i = 0; i < cat->nextensions; i++)
	{
		const CatExtension *e = &cat->extensions[i];
		json_array_append_new(a, json_pack("{s:I, s:o, s:o, s:o}", "oid", (json_int_t) e->oid,
										   "name", jstr(e->extname), "version", jstr(e->extversion),
										   "schema", jstr(e->nspname)));
	}
	jset(top, "extensions", a);
	a = json_array();
	for (int i = 0; i < cat->ncollations; i++)
	{
		const CatCollation *k = &cat->collations[i];
		json_array_append_new(a, json_pack("{s:I, s:o, s:o, s:o}", "oid", (json_int_t) k->oid,
										   "schema", jstr(k->nspname), "name", jstr(k->collname),
										   "provider", jstr(k->provider)));
	}
	jset(top, "collations", a);
	a = json_array();
	for (int i = 0; i < cat->nlo_batches; i++)
	{
		const CatLoBatch *b = &cat->lo_batches[i];
		json_array_append_new(a, json_pack("{s:i, s:I, s:I, s:i}", "batch", b->batch, "min_oid",
										   (json_int_t) b->min_oid, "max_oid",
										   (json_int_t) b->max_oid, "count", b->count));
	}
	jset(top, "large_objects",
		 json_pack("{s:I, s:o}", "count", (json_int_t) cat->nlargeobjects, "batches", a));
	a = json_array();
	for (int i = 0; i < cat->db_settings.n; i++)
	{
		json_array_append_new(a, jstr(cat->db_settings.items[i]));
	}
	jset(top, "db_settings", a);
	json_print(top);
}

static void
schema_grid(const ListSpec *spec, const Catalog *cat, const SchemaCounts *n)
{
	static const char *const hdr[] = { "Object", "Count", "Details" };
	Grid g;
	grid_init(&g, 3, hdr, "lrl");
	char *sz = fmt_size(n->bytes);
	grid_add(&g, "tables");
	grid_addf(&g, "%d", cat->ntables);
	if (n->excluded > 0 || n->schema_only > 0)
	{
		grid_addf(&g,
				  "%d ordinary, %d partitioned, %d unlogged; %s, about %.0f rows; filters: %d "
				  "excluded, %d schema only",
				  n->ordinary, n->partitioned, n->unlogged, sz, n->rows, n->excluded,
				  n->schema_only);
	}
	else
	{
		grid_addf(&g, "%d ordinary, %d partitioned, %d unlogged; %s, about %.0f rows", n->ordinary,
				  n->partitioned, n->unlogged, sz, n->rows);
	}
	free(sz);
	char *split = list_split_description(spec, cat);
	grid_add(&g, "COPY parts");
	grid_addf(&g, "%d", n->parts);
	grid_add(&g, split);
	free(split);
	sz = fmt_size(n->index_bytes);
	grid_add(&g, "indexes");
	grid_addf(&g, "%d", cat->nindexes);
	grid_addf(&g, "%d primary keys, %d unique, %d exclusion constraints; %s", n->pkeys, n->unique,
			  n->exclusion, sz);
	free(sz);
	grid_add(&g, "foreign keys");
	grid_addf(&g, "%d", cat->nfkeys);
	grid_add(&g, "");
	grid_add(&g, "sequences");
	grid_addf(&g, "%d", cat->nsequences);
	grid_addf(&g, "%d identity, %d serial", n->identity, n->serial);
	grid_add(&g, "large objects");
	grid_addf(&g, "%lld", (long long) cat->nlargeobjects);
	grid_addf(&g, "%d batch%s of up to 100", cat->nlo_batches, cat->nlo_batches == 1 ? "" : "es");
	StrBuf sb;
	sb_init(&sb);
	for (int i = 0; i < cat->nextensions; i++)
	{
		sb_printf(&sb, "%s%s %s", i > 0 ? ", " : "", cat->extensions[i].extname,
				  cat->extensions[i].extversion ? cat->extensions[i].extversion : "");
	}
	grid_add(&g, "extensions");
	grid_addf(&g, "%d", cat->nextensions);
	grid_add(&g, sb.data ? sb.data : "");
	sb_reset(&sb);
	for (int i = 0; i < cat->ncollations; i++)
	{
		sb_printf(&sb, "%s%s.%s", i > 0 ? ", " : "", cat->collations[i].nspname,
				  cat->collations[i].collname);
	}
	grid_add(&g, "collations");
	grid_addf(&g, "%d", cat->ncollations);
	grid_add(&g, sb.data ? sb.data : "");
	sb_reset(&sb);
	for (int i = 0; i < cat->db_settings.n; i++)
	{
		sb_printf(&sb, "%s%s", i > 0 ? ", " : "", cat->db_settings.items[i]);
	}
	grid_add(&g, "db settings");
	grid_addf(&g, "%d", cat->db_settings.n);
	grid_add(&g, sb.data ? sb.data : "");
	sb_free(&sb);
	grid_print(&g);
}

static ExitCode
schema_print(const ListSpec *spec, const Catalog *cat)
{
	SchemaCounts n;
	schema_count(cat, &n);
	if (spec->json)
	{
		schema_json(spec, cat, &n);
	}
	else
	{
		schema_grid(spec, cat, &n);
	}
	return EXIT_OK;
}

ExitCode
report_list_schema(const ListSpec *spec)
{
	return list_catalog_run(spec, 100, true, schema_print);
}
