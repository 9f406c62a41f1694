/*
 * src/cli/cmd_list.c — the `list` commands: what pgshift sees on the source,
 * and the progress of a run read from its state.db.
 *
 * The source commands open one connection and read everything inside one
 * REPEATABLE READ READ ONLY transaction (in --snapshot when given), through
 * the same catalog code and split planner a clone uses, so what they print
 * is what a clone started now would do. `list progress` only reads the work
 * directory: it never takes its lock, so it can watch a running clone.
 *
 * Every command prints aligned columns under a header line, or with --json
 * one JSON document on stdout; messages go to stderr.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cli/cli.h"
#include "clone/clone.h"
#include "core/core.h"
#include "pg/pg.h"
#include "state/state.h"

#include "sql.inc"
#include "state/internal.h" /* TEMPORARY (h-state): raw SQLite until this file's owner converts it */

/* Human output of `list progress` shows at most this many waiting tasks. */
#define PROGRESS_MAX_WAITING 50

/* ------------------------------------------------------------------------
 * Aligned columns
 * ------------------------------------------------------------------------ */

typedef struct Grid
{
	int ncols;
	const char *const *headers;
	const char *align; /* one 'l' or 'r' per column */
	StrList cells;     /* row-major */
} Grid;

static void
grid_init(Grid *g, int ncols, const char *const *headers, const char *align)
{
	memset(g, 0, sizeof(*g));
	g->ncols = ncols;
	g->headers = headers;
	g->align = align;
}

/* Appends the next cell; NULL prints as empty, line breaks as spaces. */
static void
grid_add(Grid *g, const char *s)
{
	char *c = xstrdup(s != NULL ? s : "");
	for (char *p = c; *p != '\0'; p++)
	{
		if (*p == '\n' || *p == '\r' || *p == '\t')
		{
			*p = ' ';
		}
	}
	strlist_add_owned(&g->cells, c);
}

static void grid_addf(Grid *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
grid_addf(Grid *g, const char *fmt, ...)
{
	StrBuf sb;
	sb_init(&sb);
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	grid_add(g, sb.data);
	sb_free(&sb);
}

static int
grid_rows(const Grid *g)
{
	return g->cells.n / g->ncols;
}

/* Width on a terminal: UTF-8 code points. */
static size_t
text_width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
	{
		if ((*p & 0xC0) != 0x80)
		{
			w++;
		}
	}
	return w;
}

static void
put_cell(StrBuf *line, const char *s, size_t width, char align)
{
	size_t w = text_width(s);
	size_t pad = width > w ? width - w : 0;
	if (align == 'r')
	{
		for (size_t k = 0; k < pad; k++)
		{
			sb_append_char(line, ' ');
		}
		sb_append(line, s);
	}
	else
	{
		sb_append(line, s);
		for (size_t k = 0; k < pad; k++)
		{
			sb_append_char(line, ' ');
		}
	}
}

/* Prints a line without its trailing blanks, and empties it. */
static void
put_line(StrBuf *line)
{
	size_t len = line->len;
	while (len > 0 && line->data[len - 1] == ' ')
	{
		len--;
	}
	fwrite(line->data, 1, len, stdout);
	putchar('\n');
	sb_reset(line);
}

/* Prints the header, a line of dashes and the rows; frees the cells. */
static void
grid_print(Grid *g)
{
	size_t *width = xcalloc((size_t) g->ncols, sizeof(size_t));
	for (int c = 0; c < g->ncols; c++)
	{
		width[c] = text_width(g->headers[c]);
	}
	for (int i = 0; i < g->cells.n; i++)
	{
		size_t w = text_width(g->cells.items[i]);
		if (w > width[i % g->ncols])
		{
			width[i % g->ncols] = w;
		}
	}
	StrBuf line;
	sb_init(&line);
	for (int c = 0; c < g->ncols; c++)
	{
		sb_append(&line, c > 0 ? "  " : "");
		put_cell(&line, g->headers[c], width[c], g->align[c]);
	}
	put_line(&line);
	for (int c = 0; c < g->ncols; c++)
	{
		sb_append(&line, c > 0 ? "  " : "");
		for (size_t k = 0; k < width[c]; k++)
		{
			sb_append_char(&line, '-');
		}
	}
	put_line(&line);
	for (int i = 0; i < g->cells.n; i++)
	{
		int c = i % g->ncols;
		sb_append(&line, c > 0 ? "  " : "");
		put_cell(&line, g->cells.items[i], width[c], g->align[c]);
		if (c == g->ncols - 1)
		{
			put_line(&line);
		}
	}
	sb_free(&line);
	free(width);
	strlist_free(&g->cells);
}

/* ------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------ */

/* A JSON string, null for NULL; bytes that are not UTF-8 become '?'. */
static json_t *
jstr(const char *s)
{
	if (s == NULL)
	{
		return json_null();
	}
	json_t *j = json_string(s);
	if (j != NULL)
	{
		return j;
	}
	char *c = xstrdup(s);
	for (char *p = c; *p != '\0'; p++)
	{
		if ((unsigned char) *p >= 0x80)
		{
			*p = '?';
		}
	}
	j = json_string(c);
	free(c);
	return j != NULL ? j : json_null();
}

static json_t *
jint(int64_t v)
{
	return json_integer((json_int_t) v);
}

static void
jset(json_t *obj, const char *key, json_t *value)
{
	json_object_set_new(obj, key, value != NULL ? value : json_null());
}

static void
json_print(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
	if (s != NULL)
	{
		printf("%s\n", s);
		free(s);
	}
	else
	{
		log_error("could not format the JSON output");
	}
	json_decref(j);
}

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

static const char *
pval(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int64_t
pint(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool
pbool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

static char *
fmt_size(int64_t bytes)
{
	char buf[32];
	size_format(bytes, buf, sizeof(buf));
	return xstrdup(buf);
}

/* The commands take no positional argument. */
static bool
list_no_args(const Options *opts, const char *cmd)
{
	if (opts->nargs > 0)
	{
		log_error("unexpected argument \"%s\" for \"pgshift %s\"", opts->args[0], cmd);
		log_hint(LOG_LEVEL_ERROR, "Run \"pgshift %s --help\" for the options.", cmd);
		return false;
	}
	return true;
}

/* --schema-name / --table-name, each when given. */
static bool
name_selected(const Options *opts, const char *nspname, const char *relname)
{
	if (opts->schema_name != NULL && strcmp(opts->schema_name, nspname) != 0)
	{
		return false;
	}
	if (opts->table_name != NULL && (relname == NULL || strcmp(opts->table_name, relname) != 0))
	{
		return false;
	}
	return true;
}

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
 * Source connection and catalog
 * ------------------------------------------------------------------------ */

/*
 * Connects to the source and opens the read-only REPEATABLE READ transaction
 * the command reads in, in --snapshot when given. Returns an ExitCode.
 */
static int
list_source_open(const Options *opts, PgConn *c)
{
	memset(c, 0, sizeof(*c));
	if (!cli_require_uris(opts, true, false))
	{
		return EXIT_USAGE;
	}
	if (!pg_connect(c, opts->source, "source", "list", 0))
	{
		pg_disconnect(c);
		return EXIT_SOURCE;
	}
	/* JSON is UTF-8 whatever the database encoding */
	if (opts->json && PQsetClientEncoding(c->conn, "UTF8") != 0)
	{
		log_error("source: could not set client_encoding to UTF8: %s", PQerrorMessage(c->conn));
		pg_disconnect(c);
		return EXIT_SOURCE;
	}
	if (!pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
	{
		pg_disconnect(c);
		return EXIT_SOURCE;
	}
	if (opts->snapshot != NULL)
	{
		/* SET TRANSACTION SNAPSHOT takes no parameter: a quoted literal */
		char *q = pg_quote_literal(opts->snapshot);
		char *sql = xasprintf("SET TRANSACTION SNAPSHOT %s", q);
		bool ok = pg_exec(c, sql);
		free(q);
		free(sql);
		if (!ok)
		{
			log_hint(LOG_LEVEL_ERROR, "A snapshot lives as long as the session that exported "
									  "it: keep that session (or `pgshift snapshot`) open.");
			pg_disconnect(c);
			return EXIT_PRECONDITION;
		}
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
 * .excluded. Everything below honours those flags: excluded objects leave the
 * lists, excluded tables show in `list tables --list-skipped` with the reason
 * "excluded by filters", and schema-only tables are listed with 0 parts.
 */
static int
list_load_filters(const Options *opts, Filters *f)
{
	memset(f, 0, sizeof(*f));
	if (opts->filters != NULL && !filters_load(opts->filters, f))
	{
		filters_free(f);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/*
 * Opens the source and reads the catalog as a clone would, then plans the
 * table parts with the current options. On success the connection is left
 * open (in its transaction) for more queries.
 */
static int
list_fetch_catalog(const Options *opts, PgConn *c, Catalog *cat, int lo_batch, bool seq_values)
{
	memset(cat, 0, sizeof(*cat));
	Filters filters;
	int rc = list_load_filters(opts, &filters);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	rc = list_source_open(opts, c);
	if (rc != EXIT_OK)
	{
		filters_free(&filters);
		return rc;
	}
	if (!catalog_fetch(c, cat, lo_batch) || !catalog_fetch_sizes(c, cat) ||
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
	SplitSpec split = cli_split_spec(opts);
	split_tables(cat, &split);
	return EXIT_OK;
}

/*
 * The start the simple source listings share: no positional argument, a
 * source connection, one query. Returns the result, or NULL with *rc set.
 */
static PGresult *
list_simple_query(Options *opts, const char *cmdname, const char *sql, int *rc)
{
	*rc = EXIT_OK;
	if (!list_no_args(opts, cmdname))
	{
		*rc = EXIT_USAGE;
		return NULL;
	}
	PgConn c;
	*rc = list_source_open(opts, &c);
	if (*rc != EXIT_OK)
	{
		return NULL;
	}
	PGresult *res = pg_query(&c, sql, 0, NULL);
	pg_disconnect(&c);
	if (res == NULL)
	{
		*rc = EXIT_SOURCE;
	}
	return res;
}

/* ------------------------------------------------------------------------
 * list databases / extensions / collations
 * ------------------------------------------------------------------------ */

int
cmd_list_databases(Options *opts)
{
	int rc;
	PGresult *res = list_simple_query(opts, "list databases", SQL_LIST_DATABASES, &rc);
	if (res == NULL)
	{
		return rc;
	}
	int n = PQntuples(res);
	if (opts->json)
	{
		json_t *arr = json_array();
		for (int i = 0; i < n; i++)
		{
			json_t *o = json_object();
			jset(o, "oid", jint(pint(res, i, 0)));
			jset(o, "name", jstr(pval(res, i, 1)));
			jset(o, "owner", jstr(pval(res, i, 2)));
			jset(o, "encoding", jstr(pval(res, i, 3)));
			jset(o, "collate", jstr(pval(res, i, 4)));
			jset(o, "ctype", jstr(pval(res, i, 5)));
			if (PQgetisnull(res, i, 6))
			{
				jset(o, "bytes", json_null());
				jset(o, "size", json_null());
			}
			else
			{
				char *sz = fmt_size(pint(res, i, 6));
				jset(o, "bytes", jint(pint(res, i, 6)));
				jset(o, "size", jstr(sz));
				free(sz);
			}
			json_array_append_new(arr, o);
		}
		json_print(arr);
	}
	else
	{
		static const char *const hdr[] = {
			"Name", "Owner", "Encoding", "Collate", "Ctype", "Size"
		};
		Grid g;
		grid_init(&g, 6, hdr, "lllllr");
		for (int i = 0; i < n; i++)
		{
			for (int col = 1; col <= 5; col++)
			{
				grid_add(&g, pval(res, i, col));
			}
			if (PQgetisnull(res, i, 6))
			{
				grid_add(&g, "(no access)");
			}
			else
			{
				char *sz = fmt_size(pint(res, i, 6));
				grid_add(&g, sz);
				free(sz);
			}
		}
		grid_print(&g);
	}
	PQclear(res);
	return EXIT_OK;
}

int
cmd_list_extensions(Options *opts)
{
	int rc;
	PGresult *res = list_simple_query(opts, "list extensions", SQL_LIST_EXTENSIONS, &rc);
	if (res == NULL)
	{
		return rc;
	}
	int n = PQntuples(res);
	if (opts->json)
	{
		json_t *arr = json_array();
		for (int i = 0; i < n; i++)
		{
			json_t *o = json_object();
			jset(o, "oid", jint(pint(res, i, 0)));
			jset(o, "name", jstr(pval(res, i, 1)));
			jset(o, "version", jstr(pval(res, i, 2)));
			jset(o, "schema", jstr(pval(res, i, 3)));
			jset(o, "default_version", jstr(pval(res, i, 4)));
			jset(o, "update_available", json_boolean(pbool(res, i, 5)));
			jset(o, "relocatable", json_boolean(pbool(res, i, 6)));
			jset(o, "comment", jstr(pval(res, i, 7)));
			json_array_append_new(arr, o);
		}
		json_print(arr);
	}
	else
	{
		static const char *const hdr[] = { "Name",      "Version", "Schema",
										   "Available", "Update",  "Description" };
		Grid g;
		grid_init(&g, 6, hdr, "llllll");
		for (int i = 0; i < n; i++)
		{
			grid_add(&g, pval(res, i, 1));
			grid_add(&g, pval(res, i, 2));
			grid_add(&g, pval(res, i, 3));
			grid_add(&g, PQgetisnull(res, i, 4) ? "(not installed)" : pval(res, i, 4));
			grid_add(&g, pbool(res, i, 5) ? "available" : "");
			grid_add(&g, pval(res, i, 7));
		}
		grid_print(&g);
	}
	PQclear(res);
	return EXIT_OK;
}

int
cmd_list_collations(Options *opts)
{
	int rc;
	PGresult *res = list_simple_query(opts, "list collations", SQL_LIST_COLLATIONS, &rc);
	if (res == NULL)
	{
		return rc;
	}
	int n = PQntuples(res);
	if (opts->json)
	{
		json_t *arr = json_array();
		for (int i = 0; i < n; i++)
		{
			if (opts->schema_name != NULL && strcmp(opts->schema_name, pval(res, i, 1)) != 0)
			{
				continue;
			}
			json_t *o = json_object();
			jset(o, "oid", jint(pint(res, i, 0)));
			jset(o, "schema", jstr(pval(res, i, 1)));
			jset(o, "name", jstr(pval(res, i, 2)));
			jset(o, "provider", jstr(pval(res, i, 3)));
			jset(o, "collate", jstr(pval(res, i, 4)));
			jset(o, "ctype", jstr(pval(res, i, 5)));
			jset(o, "icu_locale", jstr(pval(res, i, 6)));
			jset(o, "deterministic", json_boolean(pbool(res, i, 7)));
			jset(o, "owner", jstr(pval(res, i, 8)));
			jset(o, "extension", jstr(pval(res, i, 9)));
			json_array_append_new(arr, o);
		}
		json_print(arr);
	}
	else
	{
		static const char *const hdr[] = { "Schema", "Name",       "Provider",      "Collate",
										   "Ctype",  "ICU locale", "Deterministic", "Extension" };
		Grid g;
		grid_init(&g, 8, hdr, "llllllll");
		for (int i = 0; i < n; i++)
		{
			if (opts->schema_name != NULL && strcmp(opts->schema_name, pval(res, i, 1)) != 0)
			{
				continue;
			}
			for (int col = 1; col <= 6; col++)
			{
				grid_add(&g, pval(res, i, col));
			}
			grid_add(&g, pbool(res, i, 7) ? "yes" : "no");
			grid_add(&g, pval(res, i, 9));
		}
		grid_print(&g);
	}
	PQclear(res);
	return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * JSON of catalog entries (list tables, sequences, indexes, schema)
 * ------------------------------------------------------------------------ */

static json_t *
table_json(const CatTable *t)
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

static json_t *
sequence_json(const Catalog *cat, const CatSequence *s)
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

static json_t *
index_json(const Catalog *cat, const CatIndex *x)
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

/* ------------------------------------------------------------------------
 * list tables
 * ------------------------------------------------------------------------ */

/* "tables larger than 1.0 MB are copied in up to 4 parts" */
static char *
split_description(const Options *opts, const Catalog *cat)
{
	SplitSpec split = cli_split_spec(opts);
	int64_t threshold = split_threshold(&split, cat);
	if (threshold <= 0)
	{
		return xstrdup("tables are not split (--split-tables-larger-than 0)");
	}
	char *sz = fmt_size(threshold);
	char *s = xasprintf("tables larger than %s%s are copied in up to %d parts", sz,
						opts->split_larger_than < 0 ? " (automatic threshold)" : "",
						split_max_parts(&split));
	free(sz);
	return s;
}

static int
list_tables_skipped(Options *opts, PgConn *c, Catalog *cat)
{
	PGresult *res = pg_query(c, SQL_LIST_TABLES_SKIPPED, 0, NULL);
	if (res == NULL)
	{
		return EXIT_SOURCE;
	}
	json_t *arr = opts->json ? json_array() : NULL;
	static const char *const hdr[] = { "OID", "Schema", "Name", "Kind", "Size", "Reason" };
	Grid g;
	grid_init(&g, 6, hdr, "rlllrl");

	/* left out by the filters first (none until the filters are built) */
	for (int i = 0; i < cat->ntables; i++)
	{
		const CatTable *t = &cat->tables[i];
		if (!t->excluded || !name_selected(opts, t->nspname, t->relname))
		{
			continue;
		}
		char kind[2] = { t->relkind, '\0' };
		char *sz = fmt_size(t->bytes);
		if (arr != NULL)
		{
			json_array_append_new(arr, json_pack("{s:I, s:o, s:o, s:s, s:I, s:s, s:s}", "oid",
												 (json_int_t) t->oid, "schema", jstr(t->nspname),
												 "name", jstr(t->relname), "relkind", kind, "bytes",
												 (json_int_t) t->bytes, "size", sz, "reason",
												 "excluded by filters"));
		}
		else
		{
			grid_addf(&g, "%u", t->oid);
			grid_add(&g, t->nspname);
			grid_add(&g, t->relname);
			grid_add(&g, kind);
			grid_add(&g, sz);
			grid_add(&g, "excluded by filters");
		}
		free(sz);
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		if (!name_selected(opts, pval(res, i, 1), pval(res, i, 2)))
		{
			continue;
		}
		char *sz = fmt_size(pint(res, i, 4));
		if (arr != NULL)
		{
			json_array_append_new(
				arr, json_pack("{s:I, s:o, s:o, s:o, s:I, s:s, s:o}", "oid",
							   (json_int_t) pint(res, i, 0), "schema", jstr(pval(res, i, 1)),
							   "name", jstr(pval(res, i, 2)), "relkind", jstr(pval(res, i, 3)),
							   "bytes", (json_int_t) pint(res, i, 4), "size", sz, "reason",
							   jstr(pval(res, i, 6))));
		}
		else
		{
			grid_add(&g, pval(res, i, 0));
			grid_add(&g, pval(res, i, 1));
			grid_add(&g, pval(res, i, 2));
			grid_add(&g, pval(res, i, 3));
			grid_add(&g, sz);
			grid_add(&g, pval(res, i, 6));
		}
		free(sz);
	}
	PQclear(res);
	if (arr != NULL)
	{
		json_print(arr);
		strlist_free(&g.cells);
	}
	else
	{
		int n = grid_rows(&g);
		grid_print(&g);
		printf("\n%d table%s left out\n", n, n == 1 ? "" : "s");
	}
	return EXIT_OK;
}

int
cmd_list_tables(Options *opts)
{
	if (!list_no_args(opts, "list tables"))
	{
		return EXIT_USAGE;
	}
	PgConn c;
	Catalog cat;
	int rc = list_fetch_catalog(opts, &c, &cat, 0, false);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	if (opts->list_skipped)
	{
		rc = list_tables_skipped(opts, &c, &cat);
		pg_disconnect(&c);
		catalog_free(&cat);
		return rc;
	}
	pg_disconnect(&c);

	if (opts->json)
	{
		json_t *arr = json_array();
		for (int i = 0; i < cat.ntables; i++)
		{
			const CatTable *t = &cat.tables[i];
			if (!t->excluded && name_selected(opts, t->nspname, t->relname))
			{
				json_array_append_new(arr, table_json(t));
			}
		}
		json_print(arr);
		catalog_free(&cat);
		return EXIT_OK;
	}

	static const char *const hdr[] = { "OID",  "Schema", "Name",      "Kind",
									   "Size", "Bytes",  "Est. rows", "Parts" };
	Grid g;
	grid_init(&g, 8, hdr, "rlllrrrr");
	int64_t total = 0;
	int ntables = 0, nparts = 0;
	for (int i = 0; i < cat.ntables; i++)
	{
		const CatTable *t = &cat.tables[i];
		if (t->excluded || !name_selected(opts, t->nspname, t->relname))
		{
			continue;
		}
		char kind[2] = { t->relkind, '\0' };
		char *sz = fmt_size(t->bytes);
		grid_addf(&g, "%u", t->oid);
		grid_add(&g, t->nspname);
		grid_add(&g, t->relname);
		grid_add(&g, kind);
		grid_add(&g, sz);
		grid_addf(&g, "%lld", (long long) t->bytes);
		if (t->reltuples >= 0)
		{
			grid_addf(&g, "%.0f", t->reltuples);
		}
		else
		{
			grid_add(&g, "-");
		}
		if (split_copy_parts(t) > 0)
		{
			grid_addf(&g, "%d", split_copy_parts(t));
		}
		else
		{
			grid_add(&g, t->relkind == 'p' ? "-" : "schema only");
		}
		free(sz);
		total += t->bytes;
		ntables++;
		nparts += split_copy_parts(t);
	}
	grid_print(&g);
	char *sz = fmt_size(total);
	char *split = split_description(opts, &cat);
	printf("\n%d table%s, %s, %d COPY part%s; %s\n", ntables, ntables == 1 ? "" : "s", sz, nparts,
		   nparts == 1 ? "" : "s", split);
	free(sz);
	free(split);
	catalog_free(&cat);
	return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * list table-parts
 * ------------------------------------------------------------------------ */

int
cmd_list_table_parts(Options *opts)
{
	if (!list_no_args(opts, "list table-parts"))
	{
		return EXIT_USAGE;
	}
	bool picked = opts->schema_name != NULL || opts->table_name != NULL;
	PgConn c;
	Catalog cat;
	int rc = list_fetch_catalog(opts, &c, &cat, 0, false);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	pg_disconnect(&c);

	json_t *arr = opts->json ? json_array() : NULL;
	static const char *const hdr[] = { "Schema",     "Table",    "Size",     "Part",
									   "From block", "To block", "Condition" };
	Grid g;
	grid_init(&g, 7, hdr, "llrrrrl");
	int ntables = 0;
	for (int i = 0; i < cat.ntables; i++)
	{
		const CatTable *t = &cat.tables[i];
		int n = split_copy_parts(t);
		if (n == 0 || (picked ? !name_selected(opts, t->nspname, t->relname) : n < 2))
		{
			continue;
		}
		ntables++;
		char *sz = fmt_size(t->bytes);
		json_t *parts = arr != NULL ? json_array() : NULL;
		for (int p = 0; p < n; p++)
		{
			int64_t min, max;
			split_part_range(t, n, p, &min, &max);
			if (parts != NULL)
			{
				json_array_append_new(parts, json_pack("{s:i, s:I, s:o}", "part", p + 1,
													   "min_block", (json_int_t) min, "max_block",
													   max >= 0 ? jint(max) : json_null()));
				continue;
			}
			grid_add(&g, t->nspname);
			grid_add(&g, t->relname);
			grid_add(&g, sz);
			grid_addf(&g, "%d/%d", p + 1, n);
			grid_addf(&g, "%lld", (long long) min);
			if (max >= 0)
			{
				grid_addf(&g, "%lld", (long long) max);
			}
			else
			{
				grid_add(&g, "end");
			}
			if (n == 1)
			{
				grid_add(&g, "whole table");
			}
			else if (max >= 0)
			{
				grid_addf(&g, "ctid >= '(%lld,0)' AND ctid < '(%lld,0)'", (long long) min,
						  (long long) max);
			}
			else
			{
				grid_addf(&g, "ctid >= '(%lld,0)'", (long long) min);
			}
		}
		if (arr != NULL)
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
			json_array_append_new(arr, o);
		}
		free(sz);
	}
	if (picked && ntables == 0)
	{
		log_error(
			"no table with rows to copy matches%s%s%s%s",
			opts->schema_name ? " --schema-name " : "", opts->schema_name ? opts->schema_name : "",
			opts->table_name ? " --table-name " : "", opts->table_name ? opts->table_name : "");
		log_hint(LOG_LEVEL_ERROR, "Run \"pgshift list tables\" for the tables pgshift copies.");
		json_decref(arr);
		strlist_free(&g.cells);
		catalog_free(&cat);
		return EXIT_USAGE;
	}
	char *split = split_description(opts, &cat);
	if (arr != NULL)
	{
		json_print(arr);
		strlist_free(&g.cells);
	}
	else if (ntables == 0)
	{
		printf("no table is split: %s\n", split);
	}
	else
	{
		grid_print(&g);
		printf("\n%s\n", split);
	}
	free(split);
	catalog_free(&cat);
	return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * list sequences
 * ------------------------------------------------------------------------ */

int
cmd_list_sequences(Options *opts)
{
	if (!list_no_args(opts, "list sequences"))
	{
		return EXIT_USAGE;
	}
	PgConn c;
	Catalog cat;
	int rc = list_fetch_catalog(opts, &c, &cat, 0, true);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	pg_disconnect(&c);

	json_t *arr = opts->json ? json_array() : NULL;
	static const char *const hdr[] = {
		"Schema", "Name", "Last value", "Called", "Kind", "Owned by"
	};
	Grid g;
	grid_init(&g, 6, hdr, "llrlll");
	for (int i = 0; i < cat.nsequences; i++)
	{
		const CatSequence *s = &cat.sequences[i];
		const CatTable *owner = catalog_table(&cat, s->owner_table_oid);
		if (s->excluded ||
			(opts->schema_name != NULL && strcmp(opts->schema_name, s->nspname) != 0) ||
			(opts->table_name != NULL &&
			 (owner == NULL || strcmp(opts->table_name, owner->relname) != 0)))
		{
			continue;
		}
		if (arr != NULL)
		{
			json_array_append_new(arr, sequence_json(&cat, s));
			continue;
		}
		char *by = sequence_owner(&cat, s);
		grid_add(&g, s->nspname);
		grid_add(&g, s->relname);
		grid_add(&g, s->last_value != NULL ? s->last_value : "?");
		grid_add(&g, s->is_called ? "yes" : "no");
		grid_add(&g, sequence_kind(s));
		grid_add(&g, by);
		free(by);
	}
	if (arr != NULL)
	{
		json_print(arr);
	}
	else
	{
		grid_print(&g);
	}
	catalog_free(&cat);
	return EXIT_OK;
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

int
cmd_list_indexes(Options *opts)
{
	if (!list_no_args(opts, "list indexes"))
	{
		return EXIT_USAGE;
	}
	PgConn c;
	Catalog cat;
	int rc = list_fetch_catalog(opts, &c, &cat, 0, false);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	pg_disconnect(&c);

	IndexRow *rows = xcalloc((size_t) cat.nindexes + 1, sizeof(IndexRow));
	int n = 0;
	for (int i = 0; i < cat.nindexes; i++)
	{
		const CatIndex *x = &cat.indexes[i];
		const CatTable *t = catalog_table(&cat, x->table_oid);
		const char *tname = t != NULL ? t->relname : "?";
		if (x->excluded || (t != NULL && t->excluded) || !name_selected(opts, x->nspname, tname))
		{
			continue;
		}
		rows[n].x = x;
		rows[n].table = tname;
		n++;
	}
	qsort(rows, (size_t) n, sizeof(IndexRow), index_row_cmp);

	if (opts->json)
	{
		json_t *arr = json_array();
		for (int i = 0; i < n; i++)
		{
			json_array_append_new(arr, index_json(&cat, rows[i].x));
		}
		json_print(arr);
	}
	else
	{
		static const char *const hdr[] = { "Schema",     "Table", "Index",
										   "Constraint", "Type",  "Definition" };
		Grid g;
		grid_init(&g, 6, hdr, "llllll");
		for (int i = 0; i < n; i++)
		{
			const CatIndex *x = rows[i].x;
			grid_add(&g, x->nspname);
			grid_add(&g, rows[i].table);
			grid_add(&g, x->relname);
			grid_add(&g, x->conoid != 0 ? x->conname : NULL);
			grid_add(&g, contype_name(x->contype));
			grid_add(&g, x->indexdef);
		}
		grid_print(&g);
	}
	free(rows);
	catalog_free(&cat);
	return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * list depends
 * ------------------------------------------------------------------------ */

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

int
cmd_list_depends(Options *opts)
{
	if (!list_no_args(opts, "list depends"))
	{
		return EXIT_USAGE;
	}
	if (opts->schema_name == NULL || opts->table_name == NULL)
	{
		log_error("\"pgshift list depends\" needs --schema-name and --table-name");
		log_hint(LOG_LEVEL_ERROR, "For example: pgshift list depends --schema-name public "
								  "--table-name orders");
		return EXIT_USAGE;
	}
	PgConn c;
	int rc = list_source_open(opts, &c);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	const char *p[] = { opts->schema_name, opts->table_name };
	PGresult *res = pg_query(&c, SQL_LIST_RELATION, 2, p);
	if (res == NULL)
	{
		pg_disconnect(&c);
		return EXIT_SOURCE;
	}
	if (PQntuples(res) == 0)
	{
		char *q = pg_qualname(opts->schema_name, opts->table_name);
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
	char *qname = pg_qualname(opts->schema_name, opts->table_name);
	if (opts->json)
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
		jset(top, "schema", jstr(opts->schema_name));
		jset(top, "name", jstr(opts->table_name));
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

/* ------------------------------------------------------------------------
 * list schema
 * ------------------------------------------------------------------------ */

int
cmd_list_schema(Options *opts)
{
	if (!list_no_args(opts, "list schema"))
	{
		return EXIT_USAGE;
	}
	PgConn c;
	Catalog cat;
	int rc = list_fetch_catalog(opts, &c, &cat, 100, true);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	pg_disconnect(&c);

	int nord = 0, npart = 0, nparts = 0, nunlogged = 0, nexcluded = 0, nschemaonly = 0;
	int64_t bytes = 0;
	double rows = 0;
	for (int i = 0; i < cat.ntables; i++)
	{
		const CatTable *t = &cat.tables[i];
		if (t->relkind == 'p')
		{
			npart++;
		}
		else
		{
			nord++;
		}
		nunlogged += t->persistence == 'u';
		nexcluded += t->excluded;
		nschemaonly += t->exclude_data && !t->excluded;
		nparts += split_copy_parts(t);
		bytes += t->bytes;
		rows += t->reltuples > 0 ? t->reltuples : 0;
	}
	int npk = 0, nuniq = 0, nexcl = 0;
	int64_t ibytes = 0;
	for (int i = 0; i < cat.nindexes; i++)
	{
		npk += cat.indexes[i].contype == 'p';
		nuniq += cat.indexes[i].contype == 'u';
		nexcl += cat.indexes[i].contype == 'x';
		ibytes += cat.indexes[i].bytes;
	}
	int nident = 0, nserial = 0;
	for (int i = 0; i < cat.nsequences; i++)
	{
		nident += cat.sequences[i].is_identity;
		nserial += !cat.sequences[i].is_identity && cat.sequences[i].owner_table_oid != 0;
	}

	if (opts->json)
	{
		json_t *top = json_object();
		json_t *counts = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:i, s:i, s:i}", "tables",
								   cat.ntables, "table_parts", nparts, "indexes", cat.nindexes,
								   "foreign_keys", cat.nfkeys, "sequences", cat.nsequences,
								   "large_object_batches", cat.nlo_batches, "large_objects",
								   (json_int_t) cat.nlargeobjects, "extensions", cat.nextensions,
								   "collations", cat.ncollations, "db_settings", cat.db_settings.n);
		jset(top, "counts", counts);
		SplitSpec split = cli_split_spec(opts);
		int64_t threshold = split_threshold(&split, &cat);
		jset(top, "split_threshold", jint(threshold > 0 ? threshold : 0));
		jset(top, "split_max_parts", json_integer(split_max_parts(&split)));
		json_t *a = json_array();
		for (int i = 0; i < cat.ntables; i++)
		{
			json_array_append_new(a, table_json(&cat.tables[i]));
		}
		jset(top, "tables", a);
		a = json_array();
		for (int i = 0; i < cat.nindexes; i++)
		{
			json_array_append_new(a, index_json(&cat, &cat.indexes[i]));
		}
		jset(top, "indexes", a);
		a = json_array();
		for (int i = 0; i < cat.nfkeys; i++)
		{
			json_array_append_new(a, fkey_json(&cat, &cat.fkeys[i]));
		}
		jset(top, "foreign_keys", a);
		a = json_array();
		for (int i = 0; i < cat.nsequences; i++)
		{
			json_array_append_new(a, sequence_json(&cat, &cat.sequences[i]));
		}
		jset(top, "sequences", a);
		a = json_array();
		for (int i = 0; i < cat.nextensions; i++)
		{
			const CatExtension *e = &cat.extensions[i];
			json_array_append_new(a, json_pack("{s:I, s:o, s:o, s:o}", "oid", (json_int_t) e->oid,
											   "name", jstr(e->extname), "version",
											   jstr(e->extversion), "schema", jstr(e->nspname)));
		}
		jset(top, "extensions", a);
		a = json_array();
		for (int i = 0; i < cat.ncollations; i++)
		{
			const CatCollation *k = &cat.collations[i];
			json_array_append_new(a, json_pack("{s:I, s:o, s:o, s:o}", "oid", (json_int_t) k->oid,
											   "schema", jstr(k->nspname), "name",
											   jstr(k->collname), "provider", jstr(k->provider)));
		}
		jset(top, "collations", a);
		a = json_array();
		for (int i = 0; i < cat.nlo_batches; i++)
		{
			const CatLoBatch *b = &cat.lo_batches[i];
			json_array_append_new(a, json_pack("{s:i, s:I, s:I, s:i}", "batch", b->batch, "min_oid",
											   (json_int_t) b->min_oid, "max_oid",
											   (json_int_t) b->max_oid, "count", b->count));
		}
		jset(top, "large_objects",
			 json_pack("{s:I, s:o}", "count", (json_int_t) cat.nlargeobjects, "batches", a));
		a = json_array();
		for (int i = 0; i < cat.db_settings.n; i++)
		{
			json_array_append_new(a, jstr(cat.db_settings.items[i]));
		}
		jset(top, "db_settings", a);
		json_print(top);
		catalog_free(&cat);
		return EXIT_OK;
	}

	static const char *const hdr[] = { "Object", "Count", "Details" };
	Grid g;
	grid_init(&g, 3, hdr, "lrl");
	char *sz = fmt_size(bytes);
	grid_add(&g, "tables");
	grid_addf(&g, "%d", cat.ntables);
	if (nexcluded > 0 || nschemaonly > 0)
	{
		grid_addf(&g,
				  "%d ordinary, %d partitioned, %d unlogged; %s, about %.0f rows; filters: %d "
				  "excluded, %d schema only",
				  nord, npart, nunlogged, sz, rows, nexcluded, nschemaonly);
	}
	else
	{
		grid_addf(&g, "%d ordinary, %d partitioned, %d unlogged; %s, about %.0f rows", nord, npart,
				  nunlogged, sz, rows);
	}
	free(sz);
	char *split = split_description(opts, &cat);
	grid_add(&g, "COPY parts");
	grid_addf(&g, "%d", nparts);
	grid_add(&g, split);
	free(split);
	sz = fmt_size(ibytes);
	grid_add(&g, "indexes");
	grid_addf(&g, "%d", cat.nindexes);
	grid_addf(&g, "%d primary keys, %d unique, %d exclusion constraints; %s", npk, nuniq, nexcl,
			  sz);
	free(sz);
	grid_add(&g, "foreign keys");
	grid_addf(&g, "%d", cat.nfkeys);
	grid_add(&g, "");
	grid_add(&g, "sequences");
	grid_addf(&g, "%d", cat.nsequences);
	grid_addf(&g, "%d identity, %d serial", nident, nserial);
	grid_add(&g, "large objects");
	grid_addf(&g, "%lld", (long long) cat.nlargeobjects);
	grid_addf(&g, "%d batch%s of up to 100", cat.nlo_batches, cat.nlo_batches == 1 ? "" : "es");
	StrBuf sb;
	sb_init(&sb);
	for (int i = 0; i < cat.nextensions; i++)
	{
		sb_printf(&sb, "%s%s %s", i > 0 ? ", " : "", cat.extensions[i].extname,
				  cat.extensions[i].extversion ? cat.extensions[i].extversion : "");
	}
	grid_add(&g, "extensions");
	grid_addf(&g, "%d", cat.nextensions);
	grid_add(&g, sb.data ? sb.data : "");
	sb_reset(&sb);
	for (int i = 0; i < cat.ncollations; i++)
	{
		sb_printf(&sb, "%s%s.%s", i > 0 ? ", " : "", cat.collations[i].nspname,
				  cat.collations[i].collname);
	}
	grid_add(&g, "collations");
	grid_addf(&g, "%d", cat.ncollations);
	grid_add(&g, sb.data ? sb.data : "");
	sb_reset(&sb);
	for (int i = 0; i < cat.db_settings.n; i++)
	{
		sb_printf(&sb, "%s%s", i > 0 ? ", " : "", cat.db_settings.items[i]);
	}
	grid_add(&g, "db settings");
	grid_addf(&g, "%d", cat.db_settings.n);
	grid_add(&g, sb.data ? sb.data : "");
	sb_free(&sb);
	grid_print(&g);
	catalog_free(&cat);
	return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * list progress
 * ------------------------------------------------------------------------ */

static const char *const g_kinds[] = { "copy",   "index", "constraint", "foreign-key",
									   "vacuum", "blobs", "matview" };
#define NKINDS ((int) (sizeof(g_kinds) / sizeof(g_kinds[0])))
static const char *const g_statuses[] = { "queued", "running", "done", "failed" };
#define NSTATUSES ((int) (sizeof(g_statuses) / sizeof(g_statuses[0])))

static sqlite3_stmt *
sq_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
	{
		log_error("state.db: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static const char *
sq_text(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL
			   ? NULL
			   : (const char *) sqlite3_column_text(st, col);
}

static char *
sq_dup(sqlite3_stmt *st, int col)
{
	const char *s = sq_text(st, col);
	return s != NULL ? xstrdup(s) : NULL;
}

static char *
fmt_wall(int64_t us)
{
	char buf[40];
	time_format_wall(us, buf, sizeof(buf));
	return xasprintf("%s UTC", buf);
}

static char *
fmt_duration(double seconds)
{
	char buf[32];
	time_format_duration(seconds < 0 ? 0 : seconds, buf, sizeof(buf));
	return xstrdup(buf);
}

/* The pid in DIR/pgshift.pid (0 when none) and whether that process lives. */
static long
read_pid(const char *pid_file, bool *alive)
{
	*alive = false;
	size_t len = 0;
	char *s = file_exists(pid_file) ? file_read_all(pid_file, &len) : NULL;
	long pid = s != NULL ? strtol(s, NULL, 10) : 0;
	free(s);
	if (pid > 0)
	{
		*alive = kill((pid_t) pid, 0) == 0 || errno == EPERM;
	}
	return pid;
}

/* What a table's tasks have done so far, for the tasks that wait on them. */
typedef struct TableAgg
{
	int64_t oid;
	char *name;
	int copy_total, copy_done, copy_failed;
	int idx_total, idx_done, idx_failed;
	int keys_total, keys_done, keys_failed; /* indexes and constraints */
} TableAgg;

typedef struct TaskRow
{
	char *kind;
	char *status;
	char *label;
	int64_t table_oid;
	int64_t ref_oid;
	char contype;
} TaskRow;

static int
agg_cmp(const void *a, const void *b)
{
	int64_t x = ((const TableAgg *) a)->oid, y = ((const TableAgg *) b)->oid;
	return x < y ? -1 : x > y;
}

static TableAgg *
agg_find(TableAgg *aggs, int n, int64_t oid)
{
	TableAgg key;
	memset(&key, 0, sizeof(key));
	key.oid = oid;
	return oid != 0 ? bsearch(&key, aggs, (size_t) n, sizeof(TableAgg), agg_cmp) : NULL;
}

/*
 * Why a task waiting on a table's copy (keys 0), on its copy and indexes
 * (keys 1), or on its copy, indexes and constraints (keys 2) cannot run
 * yet; NULL when that table is not in the way.
 */
static char *
agg_blocker(const TableAgg *a, int keys)
{
	if (a == NULL)
	{
		return NULL;
	}
	if (a->copy_failed > 0)
	{
		return xasprintf("skipped: copy of %s failed", a->name);
	}
	if (a->copy_done < a->copy_total)
	{
		if (a->copy_total > 1)
		{
			return xasprintf("waiting: copy of %s not finished (%d of %d parts done)", a->name,
							 a->copy_done, a->copy_total);
		}
		return xasprintf("waiting: copy of %s not finished", a->name);
	}
	if (keys == 1 && a->idx_failed > 0)
	{
		return xasprintf("skipped: an index of %s failed", a->name);
	}
	if (keys == 1 && a->idx_done < a->idx_total)
	{
		return xasprintf("waiting: %d of %d indexes of %s not built", a->idx_total - a->idx_done,
						 a->idx_total, a->name);
	}
	if (keys == 2 && a->keys_failed > 0)
	{
		return xasprintf("skipped: an index or constraint of %s failed", a->name);
	}
	if (keys == 2 && a->keys_done < a->keys_total)
	{
		return xasprintf("waiting: %d of %d indexes and constraints of %s not built",
						 a->keys_total - a->keys_done, a->keys_total, a->name);
	}
	return NULL;
}

static char *
task_wait_reason(const TaskRow *t, TableAgg *aggs, int naggs)
{
	TableAgg *a = agg_find(aggs, naggs, t->table_oid);
	char *r = NULL;
	const char *pool = "an index worker";
	if (strcmp(t->kind, "copy") == 0)
	{
		pool = "a copy worker";
	}
	else if (strcmp(t->kind, "blobs") == 0)
	{
		pool = "a large-object worker";
	}
	else if (strcmp(t->kind, "matview") == 0)
	{
		return xstrdup("waiting: every table and large object copied (and the views before "
					   "it refreshed), then an index worker");
	}
	else if (strcmp(t->kind, "index") == 0 ||
			 (strcmp(t->kind, "constraint") == 0 && t->contype == 'x'))
	{
		r = agg_blocker(a, 0);
	}
	else if (strcmp(t->kind, "constraint") == 0)
	{
		r = agg_blocker(a, 1);
	}
	else if (strcmp(t->kind, "vacuum") == 0)
	{
		r = agg_blocker(a, 2);
		pool = "a copy worker";
	}
	else if (strcmp(t->kind, "foreign-key") == 0)
	{
		r = agg_blocker(a, 2);
		if (r == NULL && t->ref_oid != t->table_oid)
		{
			r = agg_blocker(agg_find(aggs, naggs, t->ref_oid), 2);
		}
	}
	return r != NULL ? r : xasprintf("ready: waiting for %s", pool);
}

typedef struct Progress
{
	sqlite3 *db;
	json_t *json; /* NULL for the human output */
	bool alive;
	int64_t now;
} Progress;

static bool
progress_steps(Progress *pr)
{
	sqlite3_stmt *st =
		sq_prepare(pr->db, "SELECT name, status, started_at, finished_at, duration FROM steps "
						   "ORDER BY started_at, name");
	if (st == NULL)
	{
		return false;
	}
	json_t *arr = pr->json != NULL ? json_array() : NULL;
	static const char *const hdr[] = { "Step", "Status", "Started", "Duration" };
	Grid g;
	grid_init(&g, 4, hdr, "lllr");
	while (sqlite3_step(st) == SQLITE_ROW)
	{
		const char *status = sq_text(st, 1);
		bool has_start = sqlite3_column_type(st, 2) != SQLITE_NULL;
		int64_t started = sqlite3_column_int64(st, 2);
		double dur = sqlite3_column_type(st, 4) != SQLITE_NULL ? sqlite3_column_double(st, 4)
					 : has_start                               ? (double) (pr->now - started) / 1e6
															   : 0;
		char *ws = has_start ? fmt_wall(started) : NULL;
		if (arr != NULL)
		{
			json_t *o = json_object();
			jset(o, "name", jstr(sq_text(st, 0)));
			jset(o, "status", jstr(status));
			jset(o, "started_at", jstr(ws));
			char *wf = sqlite3_column_type(st, 3) != SQLITE_NULL
						   ? fmt_wall(sqlite3_column_int64(st, 3))
						   : NULL;
			jset(o, "finished_at", jstr(wf));
			free(wf);
			jset(o, "duration", json_real(dur));
			json_array_append_new(arr, o);
		}
		else
		{
			char *d = fmt_duration(dur);
			grid_add(&g, sq_text(st, 0));
			grid_add(&g, status != NULL && strcmp(status, "running") == 0 && !pr->alive
							 ? "running (stopped)"
							 : status);
			grid_add(&g, ws);
			grid_add(&g, d);
			free(d);
		}
		free(ws);
	}
	sqlite3_finalize(st);
	if (arr != NULL)
	{
		jset(pr->json, "steps", arr);
	}
	else if (grid_rows(&g) > 0)
	{
		printf("\n");
		grid_print(&g);
	}
	else
	{
		printf("\nNo step started yet.\n");
		strlist_free(&g.cells);
	}
	return true;
}

static bool
progress_counts(Progress *pr)
{
	int counts[NKINDS + 2][NSTATUSES + 1]; /* + other kind, + all; + other status */
	memset(counts, 0, sizeof(counts));
	sqlite3_stmt *st =
		sq_prepare(pr->db, "SELECT kind, status, count(*) FROM tasks GROUP BY kind, status");
	if (st == NULL)
	{
		return false;
	}
	while (sqlite3_step(st) == SQLITE_ROW)
	{
		const char *kind = sq_text(st, 0);
		const char *status = sq_text(st, 1);
		int k = NKINDS, s = NSTATUSES;
		for (int i = 0; i < NKINDS; i++)
		{
			if (kind != NULL && strcmp(kind, g_kinds[i]) == 0)
			{
				k = i;
			}
		}
		for (int i = 0; i < NSTATUSES; i++)
		{
			if (status != NULL && strcmp(status, g_statuses[i]) == 0)
			{
				s = i;
			}
		}
		int n = sqlite3_column_int(st, 2);
		counts[k][s] += n;
		counts[NKINDS + 1][s] += n;
	}
	sqlite3_finalize(st);

	json_t *obj = pr->json != NULL ? json_object() : NULL;
	static const char *const hdr[] = { "Kind", "Queued", "Running", "Done", "Failed", "Total" };
	Grid g;
	grid_init(&g, 6, hdr, "lrrrrr");
	for (int k = 0; k < NKINDS + 2; k++)
	{
		int total = 0;
		for (int s = 0; s <= NSTATUSES; s++)
		{
			total += counts[k][s];
		}
		const char *name = k < NKINDS ? g_kinds[k] : (k == NKINDS ? "other" : "all");
		if (total == 0 && k == NKINDS)
		{
			continue;
		}
		if (obj != NULL)
		{
			json_t *o = json_object();
			for (int s = 0; s < NSTATUSES; s++)
			{
				jset(o, g_statuses[s], json_integer(counts[k][s]));
			}
			jset(o, "total", json_integer(total));
			jset(obj, name, o);
			continue;
		}
		if (total == 0 && k < NKINDS)
		{
			continue;
		}
		grid_add(&g, name);
		for (int s = 0; s < NSTATUSES; s++)
		{
			grid_addf(&g, "%d", counts[k][s]);
		}
		grid_addf(&g, "%d", total);
	}
	if (obj != NULL)
	{
		jset(pr->json, "tasks", obj);
	}
	else
	{
		printf("\n");
		grid_print(&g);
	}
	return true;
}

static bool
progress_copied(Progress *pr)
{
	/* done copy tasks: rows and bytes of their COPY streams */
	sqlite3_stmt *st = sq_prepare(
		pr->db, "SELECT count(*), coalesce(sum(bytes), 0), coalesce(sum(rows), 0) FROM tasks "
				"WHERE kind = 'copy' AND status = 'done'");
	if (st == NULL)
	{
		return false;
	}
	int ndone = 0;
	int64_t bytes = 0, rows = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
	{
		ndone = sqlite3_column_int(st, 0);
		bytes = sqlite3_column_int64(st, 1);
		rows = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	/* share of the tables' on-disk size in the copy tasks done */
	st = sq_prepare(
		pr->db, "SELECT count(*),"
				" coalesce(sum(CASE WHEN t.status = 'done' THEN tb.bytes * 1.0 / max(tb.nparts, 1) "
				"END), 0),"
				" coalesce(sum(tb.bytes * 1.0 / max(tb.nparts, 1)), 0)"
				" FROM tasks t LEFT JOIN tables tb ON tb.oid = t.obj_oid WHERE t.kind = 'copy'");
	if (st == NULL)
	{
		return false;
	}
	int ntotal = 0;
	double done_share = 0, total_share = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
	{
		ntotal = sqlite3_column_int(st, 0);
		done_share = sqlite3_column_double(st, 1);
		total_share = sqlite3_column_double(st, 2);
	}
	sqlite3_finalize(st);
	double pct = total_share > 0 ? 100.0 * done_share / total_share
								 : (ntotal > 0 && ndone == ntotal ? 100.0 : 0.0);

	if (pr->json != NULL)
	{
		json_t *o = json_object();
		jset(o, "tasks_done", json_integer(ndone));
		jset(o, "tasks_total", json_integer(ntotal));
		jset(o, "bytes", jint(bytes));
		jset(o, "rows", jint(rows));
		jset(o, "table_bytes_done", jint((int64_t) done_share));
		jset(o, "table_bytes_total", jint((int64_t) total_share));
		jset(o, "percent", json_real(pct));
		jset(pr->json, "copied", o);
		return true;
	}
	char *sz = fmt_size(bytes);
	char *td = fmt_size((int64_t) done_share);
	char *tt = fmt_size((int64_t) total_share);
	printf("\nCopied: %lld rows, %s of COPY data, in %d of %d copy tasks (%.0f%% of the table "
		   "data: %s of %s)\n",
		   (long long) rows, sz, ndone, ntotal, pct, td, tt);
	free(sz);
	free(td);
	free(tt);
	return true;
}

static bool
progress_running(Progress *pr)
{
	sqlite3_stmt *st = sq_prepare(
		pr->db,
		"SELECT kind, label, worker, started_at, attempts FROM tasks WHERE status = 'running' "
		"ORDER BY started_at, id");
	if (st == NULL)
	{
		return false;
	}
	json_t *arr = pr->json != NULL ? json_array() : NULL;
	static const char *const hdr[] = { "Kind", "Task", "Worker", "Since", "For" };
	Grid g;
	grid_init(&g, 5, hdr, "lllll");
	while (sqlite3_step(st) == SQLITE_ROW)
	{
		int64_t started = sqlite3_column_int64(st, 3);
		double secs =
			sqlite3_column_type(st, 3) != SQLITE_NULL ? (double) (pr->now - started) / 1e6 : 0;
		char *ws = sqlite3_column_type(st, 3) != SQLITE_NULL ? fmt_wall(started) : NULL;
		if (arr != NULL)
		{
			json_t *o = json_object();
			jset(o, "kind", jstr(sq_text(st, 0)));
			jset(o, "label", jstr(sq_text(st, 1)));
			jset(o, "worker", jstr(sq_text(st, 2)));
			jset(o, "started_at", jstr(ws));
			jset(o, "seconds", json_real(secs));
			jset(o, "attempts", json_integer(sqlite3_column_int(st, 4)));
			json_array_append_new(arr, o);
		}
		else
		{
			char *d = fmt_duration(secs);
			grid_add(&g, sq_text(st, 0));
			grid_add(&g, sq_text(st, 1));
			grid_add(&g, sq_text(st, 2));
			grid_add(&g, ws);
			grid_add(&g, d);
			free(d);
		}
		free(ws);
	}
	sqlite3_finalize(st);
	if (arr != NULL)
	{
		jset(pr->json, "in_progress", arr);
	}
	else if (grid_rows(&g) > 0)
	{
		printf(pr->alive ? "\nRunning now:\n"
						 : "\nRunning when the run stopped (the process is gone):\n");
		grid_print(&g);
	}
	else
	{
		printf("\nRunning now: nothing\n");
		strlist_free(&g.cells);
	}
	return true;
}

static bool
progress_failed(Progress *pr)
{
	sqlite3_stmt *st = sq_prepare(
		pr->db,
		"SELECT kind, label, attempts, error, finished_at FROM tasks WHERE status = 'failed' "
		"ORDER BY id");
	if (st == NULL)
	{
		return false;
	}
	json_t *arr = pr->json != NULL ? json_array() : NULL;
	static const char *const hdr[] = { "Kind", "Task", "Attempts", "Error" };
	Grid g;
	grid_init(&g, 4, hdr, "llrl");
	while (sqlite3_step(st) == SQLITE_ROW)
	{
		if (arr != NULL)
		{
			json_t *o = json_object();
			jset(o, "kind", jstr(sq_text(st, 0)));
			jset(o, "label", jstr(sq_text(st, 1)));
			jset(o, "attempts", json_integer(sqlite3_column_int(st, 2)));
			jset(o, "error", jstr(sq_text(st, 3)));
			json_array_append_new(arr, o);
		}
		else
		{
			grid_add(&g, sq_text(st, 0));
			grid_add(&g, sq_text(st, 1));
			grid_addf(&g, "%d", sqlite3_column_int(st, 2));
			grid_add(&g, sq_text(st, 3));
		}
	}
	sqlite3_finalize(st);
	if (arr != NULL)
	{
		jset(pr->json, "failed", arr);
	}
	else if (grid_rows(&g) > 0)
	{
		printf("\nFailed:\n");
		grid_print(&g);
	}
	else
	{
		strlist_free(&g.cells);
	}
	return true;
}

static bool
progress_waiting(Progress *pr)
{
	/* the tables, for names and for what their tasks have done */
	sqlite3_stmt *st = sq_prepare(pr->db, "SELECT oid, nspname, relname FROM tables ORDER BY oid");
	if (st == NULL)
	{
		return false;
	}
	int naggs = 0, capaggs = 64;
	TableAgg *aggs = xcalloc((size_t) capaggs, sizeof(TableAgg));
	while (sqlite3_step(st) == SQLITE_ROW)
	{
		if (naggs == capaggs)
		{
			capaggs *= 2;
			aggs = xrealloc(aggs, sizeof(TableAgg) * (size_t) capaggs);
		}
		TableAgg *a = &aggs[naggs++];
		memset(a, 0, sizeof(*a));
		a->oid = sqlite3_column_int64(st, 0);
		a->name = pg_qualname(sq_text(st, 1) ? sq_text(st, 1) : "?",
							  sq_text(st, 2) ? sq_text(st, 2) : "?");
	}
	sqlite3_finalize(st);

	/* every task with the table it belongs to (and the referenced one) */
	st = sq_prepare(pr->db,
					"SELECT t.kind, t.status, t.label,"
					" CASE WHEN t.kind IN ('copy', 'vacuum') THEN t.obj_oid"
					"      WHEN t.kind = 'index' THEN ix.table_oid"
					"      WHEN t.kind = 'constraint' THEN ic.table_oid"
					"      WHEN t.kind = 'foreign-key' THEN fk.table_oid END,"
					" fk.ref_table_oid, ic.contype"
					" FROM tasks t"
					" LEFT JOIN indexes ix ON t.kind = 'index' AND ix.oid = t.obj_oid"
					" LEFT JOIN indexes ic ON t.kind = 'constraint' AND ic.conoid = t.obj_oid"
					" LEFT JOIN constraints fk ON t.kind = 'foreign-key' AND fk.oid = t.obj_oid"
					" ORDER BY t.id");
	if (st == NULL)
	{
		for (int i = 0; i < naggs; i++)
		{
			free(aggs[i].name);
		}
		free(aggs);
		return false;
	}
	int ntasks = 0, captasks = 64;
	TaskRow *tasks = xcalloc((size_t) captasks, sizeof(TaskRow));
	while (sqlite3_step(st) == SQLITE_ROW)
	{
		if (ntasks == captasks)
		{
			captasks *= 2;
			tasks = xrealloc(tasks, sizeof(TaskRow) * (size_t) captasks);
		}
		TaskRow *t = &tasks[ntasks++];
		t->kind = sq_dup(st, 0);
		t->status = sq_dup(st, 1);
		t->label = sq_dup(st, 2);
		t->table_oid = sqlite3_column_int64(st, 3);
		t->ref_oid = sqlite3_column_int64(st, 4);
		const char *ct = sq_text(st, 5);
		t->contype = ct != NULL ? ct[0] : '\0';
		if (t->kind == NULL)
		{
			t->kind = xstrdup("?");
		}
		if (t->status == NULL)
		{
			t->status = xstrdup("?");
		}
	}
	sqlite3_finalize(st);

	for (int i = 0; i < ntasks; i++)
	{
		const TaskRow *t = &tasks[i];
		TableAgg *a = agg_find(aggs, naggs, t->table_oid);
		if (a == NULL)
		{
			continue;
		}
		bool done = strcmp(t->status, "done") == 0;
		bool failed = strcmp(t->status, "failed") == 0;
		if (strcmp(t->kind, "copy") == 0)
		{
			a->copy_total++;
			a->copy_done += done;
			a->copy_failed += failed;
		}
		if (strcmp(t->kind, "index") == 0)
		{
			a->idx_total++;
			a->idx_done += done;
			a->idx_failed += failed;
		}
		if (strcmp(t->kind, "index") == 0 || strcmp(t->kind, "constraint") == 0)
		{
			a->keys_total++;
			a->keys_done += done;
			a->keys_failed += failed;
		}
	}

	json_t *arr = pr->json != NULL ? json_array() : NULL;
	static const char *const hdr[] = { "Kind", "Task", "Waiting for" };
	Grid g;
	grid_init(&g, 3, hdr, "lll");
	int nwaiting = 0;
	for (int i = 0; i < ntasks; i++)
	{
		const TaskRow *t = &tasks[i];
		if (strcmp(t->status, "queued") != 0)
		{
			continue;
		}
		nwaiting++;
		char *why = task_wait_reason(t, aggs, naggs);
		if (arr != NULL)
		{
			json_array_append_new(arr, json_pack("{s:o, s:o, s:o}", "kind", jstr(t->kind), "label",
												 jstr(t->label), "reason", jstr(why)));
		}
		else if (nwaiting <= PROGRESS_MAX_WAITING)
		{
			grid_add(&g, t->kind);
			grid_add(&g, t->label);
			grid_add(&g, why);
		}
		free(why);
	}
	if (arr != NULL)
	{
		jset(pr->json, "waiting", arr);
	}
	else if (nwaiting > 0)
	{
		printf(pr->alive ? "\nWaiting:\n" : "\nNot done:\n");
		grid_print(&g);
		if (nwaiting > PROGRESS_MAX_WAITING)
		{
			printf("... and %d more (--json lists them all)\n", nwaiting - PROGRESS_MAX_WAITING);
		}
	}
	else
	{
		strlist_free(&g.cells);
	}

	for (int i = 0; i < ntasks; i++)
	{
		free(tasks[i].kind);
		free(tasks[i].status);
		free(tasks[i].label);
	}
	free(tasks);
	for (int i = 0; i < naggs; i++)
	{
		free(aggs[i].name);
	}
	free(aggs);
	return true;
}

int
cmd_list_progress(Options *opts)
{
	if (!list_no_args(opts, "list progress"))
	{
		return EXIT_USAGE;
	}
	WorkDir wd;
	if (!workdir_open_readonly(&wd, opts->dir))
	{
		log_error("work directory \"%s\" does not exist", opts->dir);
		log_hint(LOG_LEVEL_ERROR, "Give the --dir of the run to watch.");
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}
	if (!file_exists(wd.state_file))
	{
		log_error("no state.db in \"%s\": no pgshift run has used this work directory", wd.path);
		log_hint(LOG_LEVEL_ERROR, "Give the --dir of the run to watch.");
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}
	StateDb *sdb = state_open_readonly(wd.state_file);
	if (sdb == NULL)
	{
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}

	Progress pr;
	memset(&pr, 0, sizeof(pr));
	pr.now = time_wall_us();
	long pid = read_pid(wd.pid_file, &pr.alive);
	char *status = state_get_meta(sdb, "run_status");
	char *started = state_get_meta(sdb, "run_started");
	char *snapshot = state_get_meta(sdb, "snapshot");
	char *meta_pid = state_get_meta(sdb, "pid");
	if (pid <= 0 && meta_pid != NULL)
	{
		/* no pid file: the run ended (or never locked the directory) */
		pid = strtol(meta_pid, NULL, 10);
		pr.alive = false;
	}
	bool running = status != NULL && strcmp(status, "running") == 0;
	const char *shown = status == NULL ? "not started" : status;
	char *started_s = started != NULL ? fmt_wall(strtoll(started, NULL, 10)) : NULL;
	char *elapsed =
		started != NULL ? fmt_duration((double) (pr.now - strtoll(started, NULL, 10)) / 1e6) : NULL;

	if (opts->json)
	{
		pr.json = json_object();
		jset(pr.json, "dir", jstr(wd.path));
		jset(pr.json, "run_status", jstr(status));
		jset(pr.json, "pid", pid > 0 ? jint(pid) : json_null());
		jset(pr.json, "alive", json_boolean(pr.alive));
		jset(pr.json, "running", json_boolean(running && pr.alive));
		jset(pr.json, "started_at", jstr(started_s));
		jset(pr.json, "snapshot", jstr(snapshot));
	}
	else
	{
		printf("Work directory: %s\n", wd.path);
		if (running && pr.alive)
		{
			printf("Run: running (pid %ld), started %s, %s ago\n", pid, started_s ? started_s : "?",
				   elapsed ? elapsed : "?");
		}
		else if (running)
		{
			printf("Run: stopped: state.db says running but process %ld is gone (interrupted or "
				   "killed; continue it with --resume)\n",
				   pid);
		}
		else
		{
			printf("Run: %s%s%s%s\n", shown, started_s ? " (started " : "",
				   started_s ? started_s : "", started_s ? ")" : "");
			if (pr.alive)
			{
				printf("A pgshift process (pid %ld) holds the work directory now.\n", pid);
			}
		}
		if (snapshot != NULL)
		{
			printf("Snapshot: %s\n", snapshot);
		}
	}

	pr.db = state_lock(sdb);
	bool ok = progress_steps(&pr) && progress_counts(&pr) && progress_copied(&pr) &&
			  progress_running(&pr) && progress_failed(&pr) && progress_waiting(&pr);
	state_unlock(sdb);

	if (pr.json != NULL)
	{
		if (ok)
		{
			json_print(pr.json);
		}
		else
		{
			json_decref(pr.json);
		}
	}
	free(status);
	free(started);
	free(snapshot);
	free(meta_pid);
	free(started_s);
	free(elapsed);
	state_close(sdb);
	workdir_close(&wd);
	return ok ? EXIT_OK : EXIT_WORKDIR;
}
