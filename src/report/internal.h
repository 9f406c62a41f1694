/*
 * src/report/internal.h — what the report files share: aligned columns,
 * JSON helpers, the table-driven renderer of query results, and the source
 * connection of the `list` commands.
 *
 * Private to src/report/. Every listing prints either aligned columns under a
 * header line and a line of dashes, or (--json) one JSON document on stdout;
 * messages go to stderr.
 */
#ifndef PGSHIFT_REPORT_INTERNAL_H
#define PGSHIFT_REPORT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "core/core.h"
#include "pg/pg.h"
#include "report/report.h"

/* ---- aligned columns (render.c) ---- */

typedef struct Grid
{
	int ncols;
	const char *const *headers;
	const char *align; /* one 'l' or 'r' per column */
	StrList cells;     /* row-major */
} Grid;

void grid_init(Grid *g, int ncols, const char *const *headers, const char *align);
/* Appends the next cell; NULL prints as empty, line breaks as spaces. */
void grid_add(Grid *g, const char *s);
void grid_addf(Grid *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int grid_rows(const Grid *g);
/* Prints the header, a line of dashes and the rows; frees the cells. */
void grid_print(Grid *g);

/*
 * A listing: a JSON array (--json) or a grid. Callers add to whichever is
 * active (arr != NULL for JSON), then listing_print() prints and frees it.
 */
typedef struct Listing
{
	json_t *arr;
	Grid grid;
} Listing;

void listing_init(Listing *l, bool json, int ncols, const char *const *headers, const char *align);
/* Prints the listing (the JSON array, or the grid) and frees it. */
void listing_print(Listing *l);

/* ---- JSON (render.c) ---- */

/* A JSON string, null for NULL; bytes that are not UTF-8 become '?'. */
json_t *jstr(const char *s);
json_t *jint(int64_t v);
void jset(json_t *obj, const char *key, json_t *value);
/* Prints with a 2-space indent and frees. */
void json_print(json_t *j);

/* ---- formatting (render.c) ---- */

char *fmt_size(int64_t bytes);
char *fmt_wall(int64_t us);
char *fmt_duration(double seconds);

/* ---- query results, table-driven (render.c) ---- */

typedef enum ColKind
{
	COL_TEXT = 0, /* the value as text */
	COL_INT,      /* an integer (JSON number) */
	COL_BOOL,     /* t/f: JSON boolean, yes/no text in the grid */
	COL_SIZE,     /* bytes: JSON "bytes" and "size", the readable size in the grid */
	COL_JSON      /* JSON text, embedded as is (JSON only) */
} ColKind;

/* One column of a listing read from a query result. */
typedef struct Column
{
	int col;             /* result column */
	ColKind kind;        /* how it prints */
	const char *key;     /* JSON key (NULL: not in JSON) */
	const char *header;  /* grid header (NULL: not in the grid) */
	char align;          /* 'l' or 'r' */
	const char *if_null; /* grid text for SQL NULL (NULL: empty) */
	const char *yes;     /* COL_BOOL grid texts */
	const char *no;
} Column;

/* Decides whether row i of res is listed (e.g. --schema-name). */
typedef bool (*RowKeep)(const PGresult *res, int row, const ListSpec *spec);

/*
 * Prints res as described by cols: a JSON array of objects (spec->json) or
 * the grid. keep may be NULL (every row).
 */
void render_result(const PGresult *res, const Column *cols, int ncols, const ListSpec *spec,
				   RowKeep keep);

const char *pval(const PGresult *res, int row, int col);
int64_t pint(const PGresult *res, int row, int col);
bool pbool(const PGresult *res, int row, int col);

/* ---- the source (list_source.c) ---- */

/* --schema-name / --table-name, each when given. */
bool list_name_selected(const ListSpec *spec, const char *nspname, const char *relname);
/*
 * Connects to the source and opens the read-only REPEATABLE READ transaction
 * the command reads in, in the spec's snapshot when given.
 */
ExitCode list_source_open(const ListSpec *spec, PgConn *c);
/*
 * Opens the source and reads the catalog as a clone would (--filters
 * applied), then plans the table parts. On success the connection is left
 * open, in its transaction, for more queries.
 */
ExitCode list_fetch_catalog(const ListSpec *spec, PgConn *c, Catalog *cat, int lo_batch,
							bool seq_values);
/* Prints a report of the catalog. */
typedef ExitCode (*CatalogReport)(const ListSpec *spec, const Catalog *cat);
/* Reads the catalog (as list_fetch_catalog), closes the connection, runs fn. */
ExitCode list_catalog_run(const ListSpec *spec, int lo_batch, bool seq_values, CatalogReport fn);
/* "tables larger than 1.0 MB are copied in up to 4 parts" (caller frees). */
char *list_split_description(const ListSpec *spec, const Catalog *cat);

/* ---- catalog objects as JSON (list_catalog.c) ---- */

json_t *list_table_json(const CatTable *t);
json_t *list_index_json(const Catalog *cat, const CatIndex *x);
json_t *list_sequence_json(const Catalog *cat, const CatSequence *s);

#endif /* PGSHIFT_REPORT_INTERNAL_H */
