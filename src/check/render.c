/*
 * src/check/render.c — what `pgshift check` and `clone --dry-run` print:
 * the items (text or JSON), and the plan of the copy.
 *
 * Text: one line per item "LEVEL  id: found", then "    fix: ..." when
 * there is one; a last line counts them. JSON: {"items": [...], "blocking":
 * n, "warnings": n} so that scripts read the level of each item by id.
 */
#include "check/check.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
print_json(const CheckReport *r)
{
	json_t *items = json_array();
	for (int i = 0; i < r->n; i++)
	{
		const CheckItem *it = &r->items[i];
		json_t *o = json_object();
		json_object_set_new(o, "id", json_string(it->id));
		json_object_set_new(o, "level", json_string(check_level_name(it->level)));
		json_object_set_new(o, "found", json_string(it->found));
		json_object_set_new(o, "fix", it->fix ? json_string(it->fix) : json_null());
		json_array_append_new(items, o);
	}
	json_t *root = json_object();
	json_object_set_new(root, "items", items);
	json_object_set_new(root, "blocking", json_integer(r->nblocking));
	json_object_set_new(root, "warnings", json_integer(r->nwarning));
	char *s = json_dumps(root, JSON_INDENT(2));
	printf("%s\n", s);
	free(s);
	json_decref(root);
}

void
check_print(const CheckReport *r, bool json)
{
	if (json)
	{
		print_json(r);
		fflush(stdout);
		return;
	}
	for (int i = 0; i < r->n; i++)
	{
		const CheckItem *it = &r->items[i];
		printf("%-8s %s: %s\n", check_level_name(it->level), it->id, it->found);
		if (it->fix != NULL)
		{
			printf("         fix: %s\n", it->fix);
		}
	}
	printf("\n%d blocking, %d warning(s), %d ok\n", r->nblocking, r->nwarning,
		   r->n - r->nblocking - r->nwarning);
	fflush(stdout);
}

static int
table_indexes(const Catalog *cat, Oid table)
{
	int n = 0;
	for (int i = 0; i < cat->nindexes; i++)
	{
		n += cat->indexes[i].table_oid == table && !cat->indexes[i].excluded;
	}
	return n;
}

void
check_print_plan(const CheckReport *r, bool json)
{
	if (!r->have_catalog)
	{
		return;
	}
	const Catalog *cat = &r->cat;
	json_t *tables = json ? json_array() : NULL;
	if (!json)
	{
		printf("\nplan (tables biggest first: the order the copy workers take them; each "
			   "table's indexes are built as soon as its parts are in):\n");
		printf("  %4s  %-40s %10s %6s %8s\n", "#", "table", "size", "parts", "indexes");
	}
	int order = 0, nparts = 0, nindexes = 0;
	for (int i = 0; i < cat->ntables; i++)
	{
		const CatTable *t = &cat->tables[i];
		if (t->excluded || t->relkind == 'p')
		{
			continue;
		}
		int parts = t->exclude_data ? 0 : split_copy_parts(t);
		int nx = table_indexes(cat, t->oid);
		order++;
		nparts += parts;
		nindexes += nx;
		if (json)
		{
			json_t *o = json_object();
			json_object_set_new(o, "order", json_integer(order));
			json_object_set_new(o, "table", json_string(t->qname));
			json_object_set_new(o, "bytes", json_integer(t->bytes));
			json_object_set_new(o, "parts", json_integer(parts));
			json_object_set_new(o, "indexes", json_integer(nx));
			json_array_append_new(tables, o);
			continue;
		}
		char b[32];
		size_format(t->bytes, b, sizeof(b));
		printf("  %4d  %-40s %10s %6d %8d\n", order, t->qname, b, parts, nx);
	}
	int nfk = 0;
	for (int i = 0; i < cat->nfkeys; i++)
	{
		nfk += !cat->fkeys[i].excluded;
	}
	if (json)
	{
		json_t *root = json_object();
		json_object_set_new(root, "tables", tables);
		json_object_set_new(root, "parts", json_integer(nparts));
		json_object_set_new(root, "indexes", json_integer(nindexes));
		json_object_set_new(root, "foreign_keys", json_integer(nfk));
		json_object_set_new(root, "bytes", json_integer(r->db_bytes));
		json_object_set_new(root, "estimated_seconds", json_real(r->copy_seconds));
		json_object_set_new(root, "calibration_mb_per_s", json_real(CHECK_CLONE_MB_PER_S));
		char *s = json_dumps(root, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
		json_decref(root);
		fflush(stdout);
		return;
	}
	char b[32], d[32];
	size_format(r->db_bytes, b, sizeof(b));
	time_format_duration(r->copy_seconds, d, sizeof(d));
	printf("\n%d tables in %d COPY parts, %d indexes, %d foreign keys; order: schema "
		   "(pre-data), copies with their indexes and keys, sequences, large objects, "
		   "post-data\n",
		   order, nparts, nindexes, nfk);
	printf("estimated copy time: %s for %s (%.1f MB/s, the benchmark's clone throughput on 2 "
		   "cores: docs/benchmarks.md)\n",
		   d, b, CHECK_CLONE_MB_PER_S);
	fflush(stdout);
}
