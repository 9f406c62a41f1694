/*
 * src/report/list_source.c — the source connection of the `list` commands,
 * and the listings that print a query result: databases, extensions (and
 * the versions the server offers), collations, and the objects depending
 * on one table.
 *
 * The catalog listings read through catalog_fetch(), with --filters applied
 * and the parts planned by the clone's split rule (catalog/split.c), so they
 * show what a clone would do. --filters is read before connecting: a bad file
 * is a usage error, not a source error.
 */
#include "report/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare/compare.h"
#include "sql.inc"

/* ------------------------------------------------------------------------
 * Source connection and catalog
 * ------------------------------------------------------------------------ */

bool
list_name_selected(const ListSpec *spec, const char *nspname, const char *relname)
{
	if (spec->schema_name != NULL && strcmp(spec->schema_name, nspname) != 0)
	{
		return false;
	}
	if (spec->table_name != NULL && (relname == NULL || strcmp(spec->table_name, relname) != 0))
	{
		return false;
	}
	return true;
}

ExitCode
list_source_open(const ListSpec *spec, PgConn *c)
{
	memset(c, 0, sizeof(*c));
	if (spec->source == NULL || spec->source[0] == '\0')
	{
		log_error("no source database given: use --source or set PGSHIFT_SOURCE_PGURI");
		return EXIT_USAGE;
	}
	if (!pg_connect(c, spec->source, "source", "list", 0))
	{
		pg_disconnect(c);
		return EXIT_SOURCE;
	}
	/* JSON is UTF-8 whatever the database encoding */
	if (spec->json && PQsetClientEncoding(c->conn, "UTF8") != 0)
	{
		log_error("source: could not set client_encoding to UTF8: %s", PQerrorMessage(c->conn));
		pg_disconnect(c);
		return EXIT_SOURCE;
	}
	/* the read-only transaction compare reads in, in the snapshot when given */
	if (!compare_begin(c, spec->snapshot))
	{
		bool snapshot = spec->snapshot != NULL && pg_is_connected(c);
		if (snapshot)
		{
			log_hint(LOG_LEVEL_ERROR, "A snapshot lives as long as the session that exported "
									  "it: keep that session (or `pgshift snapshot`) open.");
		}
		pg_disconnect(c);
		return snapshot ? EXIT_PRECONDITION : EXIT_SOURCE;
	}
	return EXIT_OK;
}

/*
 * FILTERS: the place where --filters applies to what the list commands show.
 *
 * The file is read before connecting (a bad file is a usage error) and
 * applied to the catalog as clone applies it, before the parts are planned:
 * filters_apply() marks CatTable.excluded (not copied at all),
 * CatTable.exclude_data (schema only) and CatIndex/CatFkey/CatSequence
 * .excluded. Everything honours those flags: excluded objects leave the
 * lists (or are the lists, with --list-skipped), excluded tables show in
 * `list tables --list-skipped` with the reason "excluded by filters", and
 * schema-only tables are listed with 0 parts.
 */
ExitCode
list_fetch_catalog(const ListSpec *spec, PgConn *c, Catalog *cat, int lo_batch, bool seq_values)
{
	memset(cat, 0, sizeof(*cat));
	Filters filters;
	memset(&filters, 0, sizeof(filters));
	if (spec->filters != NULL && !filters_load(spec->filters, &filters))
	{
		filters_free(&filters);
		return EXIT_USAGE;
	}
	ExitCode rc = list_source_open(spec, c);
	if (rc != EXIT_OK)
	{
		filters_free(&filters);
		return rc;
	}
	if (!catalog_fetch(c, cat, lo_batch) ||
		!catalog_fetch_sizes(c, cat, spec->estimate_table_sizes) ||
		(seq_values && !catalog_fetch_sequence_values(c, cat)))
	{
		filters_free(&filters);
		catalog_free(cat);
		pg_disconnect(c);
		return EXIT_SOURCE;
	}
	if (filters.active)
	{
		filters_apply(&filters, cat);
	}
	filters_free(&filters);
	split_tables(cat, &spec->split);
	return EXIT_OK;
}

ExitCode
list_catalog_run(const ListSpec *spec, int lo_batch, bool seq_values, CatalogReport fn)
{
	PgConn c;
	Catalog cat;
	ExitCode rc = list_fetch_catalog(spec, &c, &cat, lo_batch, seq_values);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	pg_disconnect(&c);
	rc = fn(spec, &cat);
	catalog_free(&cat);
	return rc;
}

char *
list_split_description(const ListSpec *spec, const Catalog *cat)
{
	int64_t threshold = split_threshold(&spec->split, cat);
	if (threshold <= 0)
	{
		return xstrdup("tables are not split (--split-tables-larger-than 0)");
	}
	char *sz = fmt_size(threshold);
	char *s = xasprintf("tables larger than %s%s are copied in up to %d parts", sz,
						spec->split.larger_than < 0 ? " (automatic threshold)" : "",
						split_max_parts(&spec->split));
	free(sz);
	return s;
}

/* One query on the source, printed as cols describe. */
static ExitCode
list_query(const ListSpec *spec, const char *sql, const Column *cols, int ncols, RowKeep keep)
{
	PgConn c;
	ExitCode rc = list_source_open(spec, &c);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	PGresult *res = pg_query(&c, sql, 0, NULL);
	pg_disconnect(&c);
	if (res == NULL)
	{
		return EXIT_SOURCE;
	}
	render_result(res, cols, ncols, spec, keep);
	PQclear(res);
	return EXIT_OK;
}

#define NCOLS(a) ((int) (sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------------------
 * list databases / extensions / collations
 * ------------------------------------------------------------------------ */

ExitCode
report_list_databases(const ListSpec *spec)
{
	static const Column cols[] = {
		{ 0, COL_INT, "oid", NULL, 'r' },
		{ 1, COL_TEXT, "name", "Name", 'l' },
		{ 2, COL_TEXT, "owner", "Owner", 'l' },
		{ 3, COL_TEXT, "encoding", "Encoding", 'l' },
		{ 4, COL_TEXT, "collate", "Collate", 'l' },
		{ 5, COL_TEXT, "ctype", "Ctype", 'l' },
		{ 6, COL_SIZE, "bytes", "Size", 'r', "(no access)" },
	};
	return list_query(spec, SQL_LIST_DATABASES, cols, NCOLS(cols), NULL);
}

ExitCode
report_list_extensions(const ListSpec *spec)
{
	static const Column installed[] = {
		{ 0, COL_INT, "oid", NULL, 'r' },
		{ 1, COL_TEXT, "name", "Name", 'l' },
		{ 2, COL_TEXT, "version", "Version", 'l' },
		{ 3, COL_TEXT, "schema", "Schema", 'l' },
		{ 4, COL_TEXT, "default_version", "Available", 'l', "(not installed)" },
		{ 5, COL_BOOL, "update_available", "Update", 'l', NULL, "available", "" },
		{ 6, COL_BOOL, "relocatable", NULL, 'l' },
		{ 7, COL_TEXT, "comment", "Description", 'l' },
	};
	/* pgcopydb's requirements file: [{"name": ..., "version": ...}] */
	static const Column requirements[] = {
		{ 1, COL_TEXT, "name", "Name", 'l' },
		{ 2, COL_TEXT, "version", "Version", 'l' },
	};
	static const Column versions[] = {
		{ 0, COL_TEXT, "name", "Name", 'l' },
		{ 1, COL_TEXT, "default_version", "Default", 'l' },
		{ 2, COL_TEXT, "installed_version", "Installed", 'l' },
		{ 3, COL_JSON, "versions", NULL, 'l' },
		{ 4, COL_TEXT, NULL, "Available versions", 'l' },
		{ 5, COL_TEXT, "comment", "Description", 'l' },
	};
	if (spec->available_versions)
	{
		return list_query(spec, SQL_LIST_EXTENSION_VERSIONS, versions, NCOLS(versions), NULL);
	}
	if (spec->requirements)
	{
		return list_query(spec, SQL_LIST_EXTENSIONS, requirements, NCOLS(requirements), NULL);
	}
	return list_query(spec, SQL_LIST_EXTENSIONS, installed, NCOLS(installed), NULL);
}

static bool
collation_keep(const PGresult *res, int row, const ListSpec *spec)
{
	return spec->schema_name == NULL || strcmp(spec->schema_name, pval(res, row, 1)) == 0;
}

ExitCode
report_list_collations(const ListSpec *spec)
{
	static const Column cols[] = {
		{ 0, COL_INT, "oid", NULL, 'r' },
		{ 1, COL_TEXT, "schema", "Schema", 'l' },
		{ 2, COL_TEXT, "name", "Name", 'l' },
		{ 3, COL_TEXT, "provider", "Provider", 'l' },
		{ 4, COL_TEXT, "collate", "Collate", 'l' },
		{ 5, COL_TEXT, "ctype", "Ctype", 'l' },
		{ 6, COL_TEXT, "icu_locale", "ICU locale", 'l' },
		{ 7, COL_BOOL, "deterministic", "Deterministic", 'l', NULL, "yes", "no" },
		{ 8, COL_TEXT, "owner", NULL, 'l' },
		{ 9, COL_TEXT, "extension", "Extension", 'l' },
	};
	return list_query(spec, SQL_LIST_COLLATIONS, cols, NCOLS(cols), collation_keep);
}

/* --schema-name / --table-name: a view by its name, a trigger by its table's */
static bool
relation_keep(const PGresult *res, int row, const ListSpec *spec)
{
	return list_name_selected(spec, pval(res, row, 1), pval(res, row, 2));
}

ExitCode
report_list_views(const ListSpec *spec)
{
	static const Column cols[] = {
		{ 0, COL_INT, "oid", NULL, 'r' },
		{ 1, COL_TEXT, "schema", "Schema", 'l' },
		{ 2, COL_TEXT, "name", "Name", 'l' },
		{ 3, COL_TEXT, "kind", "Kind", 'l' },
		{ 4, COL_TEXT, "owner", "Owner", 'l' },
		{ 5, COL_BOOL, "populated", "Populated", 'l', "", "yes", "no" },
	};
	return list_query(spec, SQL_LIST_VIEWS, cols, NCOLS(cols), relation_keep);
}

ExitCode
report_list_triggers(const ListSpec *spec)
{
	static const Column cols[] = {
		{ 0, COL_INT, "oid", NULL, 'r' },           { 1, COL_TEXT, "schema", "Schema", 'l' },
		{ 2, COL_TEXT, "table", "Table", 'l' },     { 3, COL_TEXT, "name", "Name", 'l' },
		{ 4, COL_TEXT, "enabled", "Enabled", 'l' }, { 5, COL_TEXT, "function", "Function", 'l' },
		{ 6, COL_TEXT, "definition", NULL, 'l' },
	};
	return list_query(spec, SQL_LIST_TRIGGERS, cols, NCOLS(cols), relation_keep);
}

/* ------------------------------------------------------------------------
 * list depends
 * ------------------------------------------------------------------------ */

static const char *
relkind_name(char relkind)
{
	switch (relkind)
	{
		case 'r':
			return "table";
		case 'p':
			return "partitioned table";
		case 'v':
			return "view";
		case 'm':
			return "materialized view";
		case 'f':
			return "foreign table";
		case 'S':
			return "sequence";
		default:
			return "relation";
	}
}

static const char *
deptype_name(const char *d)
{
	switch (d != NULL ? d[0] : '\0')
	{
		case 'n':
			return "normal";
		case 'a':
			return "auto";
		case 'i':
			return "internal";
		case 'P':
			return "partition";
		case 'S':
			return "partition (secondary)";
		case 'e':
			return "extension";
		case 'x':
			return "auto extension";
		default:
			return d != NULL ? d : "?";
	}
}

/*
 * pgcopydb's `list depends --filter FILE`: the objects that depend on the
 * tables the filters exclude, which clone leaves out with them (the query
 * clone uses to filter the archive list).
 */
static ExitCode
list_depends_filtered(const ListSpec *spec)
{
	PgConn c;
	Catalog cat;
	ExitCode rc = list_fetch_catalog(spec, &c, &cat, 0, false);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	StrBuf oids;
	sb_init(&oids);
	sb_append_char(&oids, '{');
	for (int i = 0; i < cat.ntables; i++)
	{
		if (cat.tables[i].excluded)
		{
			sb_printf(&oids, "%s%u", oids.len > 1 ? "," : "", cat.tables[i].oid);
		}
	}
	sb_append_char(&oids, '}');
	catalog_free(&cat);
	const char *p[] = { oids.data };
	PGresult *res = pg_query(&c, SQL_FILTER_DEPENDENTS, 1, p);
	pg_disconnect(&c);
	sb_free(&oids);
	if (res == NULL)
	{
		return EXIT_SOURCE;
	}
	static const Column cols[] = {
		{ 0, COL_INT, "oid", NULL, 'r' },
		{ 1, COL_TEXT, "description", "Object", 'l' },
		{ 2, COL_TEXT, "schema", "Schema", 'l' },
		{ 3, COL_TEXT, "name", "Name", 'l' },
	};
	render_result(res, cols, NCOLS(cols), spec, NULL);
	PQclear(res);
	return EXIT_OK;
}

ExitCode
report_list_depends(const ListSpec *spec)
{
	if (spec->schema_name == NULL && spec->table_name == NULL && spec->filters != NULL)
	{
		return list_depends_filtered(spec);
	}
	if (spec->schema_name == NULL || spec->table_name == NULL)
	{
		log_error("\"pgshift list depends\" needs --schema-name and --table-name, or --filters");
		log_hint(LOG_LEVEL_ERROR, "For example: pgshift list depends --schema-name public "
								  "--table-name orders");
		return EXIT_USAGE;
	}
	PgConn c;
	ExitCode rc = list_source_open(spec, &c);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	const char *p[] = { spec->schema_name, spec->table_name };
	PGresult *res = pg_query(&c, SQL_LIST_RELATION, 2, p);
	if (res == NULL)
	{
		pg_disconnect(&c);
		return EXIT_SOURCE;
	}
	if (PQntuples(res) == 0)
	{
		char *q = pg_qualname(spec->schema_name, spec->table_name);
		log_error("relation %s does not exist on the source", q);
		log_hint(LOG_LEVEL_ERROR, "Names are case-sensitive and given without quotes; run "
								  "\"pgshift list tables\" for the tables.");
		free(q);
		PQclear(res);
		pg_disconnect(&c);
		return EXIT_USAGE;
	}
	char *oid = xstrdup(PQgetvalue(res, 0, 0));
	char relkind = PQgetvalue(res, 0, 1)[0];
	PQclear(res);
	const char *dp[] = { oid };
	res = pg_query(&c, SQL_LIST_DEPENDS, 1, dp);
	pg_disconnect(&c);
	if (res == NULL)
	{
		free(oid);
		return EXIT_SOURCE;
	}
	int n = PQntuples(res);
	char *qname = pg_qualname(spec->schema_name, spec->table_name);
	if (spec->json)
	{
		json_t *deps = json_array();
		for (int i = 0; i < n; i++)
		{
			json_t *o = json_object();
			jset(o, "level", jint(pint(res, i, 0)));
			jset(o, "type", jstr(pval(res, i, 1)));
			jset(o, "identity", jstr(pval(res, i, 2)));
			jset(o, "description", jstr(pval(res, i, 3)));
			jset(o, "deptype", jstr(pval(res, i, 4)));
			jset(o, "dependency", jstr(deptype_name(pval(res, i, 4))));
			jset(o, "via", jstr(pval(res, i, 5)));
			json_array_append_new(deps, o);
		}
		json_t *top = json_object();
		jset(top, "oid", jint(strtoll(oid, NULL, 10)));
		jset(top, "schema", jstr(spec->schema_name));
		jset(top, "name", jstr(spec->table_name));
		jset(top, "qname", jstr(qname));
		jset(top, "relkind", jstr((char[]){ relkind, '\0' }));
		jset(top, "depends", deps);
		json_print(top);
	}
	else
	{
		printf("Objects depending on %s %s (oid %s):\n\n", relkind_name(relkind), qname, oid);
		static const char *const hdr[] = { "Level", "Type", "Object", "Dependency", "Via" };
		Grid g;
		grid_init(&g, 5, hdr, "rllll");
		for (int i = 0; i < n; i++)
		{
			grid_add(&g, pval(res, i, 0));
			grid_add(&g, pval(res, i, 1));
			grid_add(&g, pval(res, i, 2));
			grid_add(&g, deptype_name(pval(res, i, 4)));
			grid_add(&g, pval(res, i, 5));
		}
		grid_print(&g);
	}
	free(qname);
	free(oid);
	PQclear(res);
	return EXIT_OK;
}
