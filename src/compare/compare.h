/*
 * src/compare/compare.h — comparing the source and the target: schema and data.
 *
 * compare schema runs the same catalog queries (sql/compare_<kind>.sql) on
 * both servers and compares the sorted sets of objects, attribute by
 * attribute. compare data computes, on each server, a row count and an
 * order-independent checksum of every table (the sum of a 64-bit hash of
 * each row's text), in parallel; big tables are checked in parts (primary
 * key ranges when there is a key, so a difference is narrowed to a range)
 * and the rows present on one side only can be listed.
 *
 * Every connection gets the same session settings (sql/compare_session.sql)
 * so both servers print values the same way, and runs in one REPEATABLE READ
 * READ ONLY transaction; on the source, in the snapshot given with --snapshot
 * (or one compare exports itself so its workers agree).
 */
#ifndef PGSHIFT_COMPARE_H
#define PGSHIFT_COMPARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "pg/pg.h"

/*
 * What a compare is asked to do, built by the command line from its options:
 * compare/ never sees the command line's Options.
 */
typedef struct CompareSpec
{
	const char *source; /* connection strings */
	const char *target;
	const char *snapshot; /* source snapshot to read in, or NULL */
	const char *filters;  /* --filters file, or NULL */
	SplitSpec split;      /* big tables are checked in parts, split as clone does */
	int jobs;             /* worker threads (compare data) */
	bool show_rows;       /* list the rows only one side has */
} CompareSpec;

/* At most this many rows listed per table and side with --show-rows. */
#define CMP_MAX_ROWS_SHOWN 1000

/* ---- session.c ---- */

/*
 * Connects and applies compare's session settings (UTC, ISO dates, ...).
 * Failures are logged with the side.
 */
bool compare_connect(PgConn *c, const char *conninfo, const char *side, const char *app,
					 int retry_seconds);
/* BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY, then SET TRANSACTION SNAPSHOT if given. */
bool compare_begin(PgConn *c, const char *snapshot);
/* pg_export_snapshot() of the connection's transaction (caller frees), or NULL. */
char *compare_export_snapshot(PgConn *c);

/* ---- filters.c ---- */

/*
 * Whether --filters keeps the object of this kind ("table", "index", ...)
 * given its schema and name (for a column, index, constraint or trigger: its
 * table's).
 */
bool compare_filter_keep(const char *kind, const char *nspname, const char *objname);
/* Loads --filters once, before threads start; false on a bad file (logged). */
bool compare_filter_load(const CompareSpec *spec);

/* ---- schema.c ---- */

typedef enum CmpDiffKind
{
	CMP_DIFF_ONLY_SOURCE = 0,
	CMP_DIFF_ONLY_TARGET,
	CMP_DIFF_DIFFERS
} CmpDiffKind;

typedef struct CmpAttrDiff
{
	char *attr;
	char *source; /* NULL for SQL NULL */
	char *target;
} CmpAttrDiff;

typedef struct CmpDiff
{
	const char *kind; /* static: "table", "index", ... */
	char *name;
	CmpDiffKind what;
	CmpAttrDiff *attrs; /* CMP_DIFF_DIFFERS only */
	int nattrs;
} CmpDiff;

typedef struct CmpKindResult
{
	const char *kind;
	int nsource;
	int ntarget;
	int ndiffs;   /* differences reported */
	int nimplied; /* left out: their table is missing on that side */
} CmpKindResult;

#define CMP_MAX_KINDS 16

typedef struct CmpSchemaReport
{
	CmpKindResult kinds[CMP_MAX_KINDS];
	int nkinds;
	CmpDiff *diffs;
	int ndiffs;
	int capdiffs;
	double seconds;
} CmpSchemaReport;

/*
 * Compares the schemas. On a query failure returns false with *failed_side
 * set to 's' (source) or 't' (target); 'i' when interrupted.
 */
bool compare_schema(PgConn *src, PgConn *tgt, CmpSchemaReport *r, char *failed_side);
void compare_schema_free(CmpSchemaReport *r);

/* ---- data.c ---- */

typedef enum CmpStatus
{
	CMP_EQUAL = 0,
	CMP_DIFFERENT,
	CMP_ONLY_SOURCE,
	CMP_ONLY_TARGET,
	CMP_ERROR
} CmpStatus;

typedef enum CmpSplit
{
	CMP_SPLIT_NONE = 0, /* one part: the whole table */
	CMP_SPLIT_KEY,      /* primary key ranges computed on the source (ntile) */
	CMP_SPLIT_CTID      /* ctid block ranges, each server its own: totals only */
} CmpSplit;

typedef struct CmpSum
{
	int64_t rows;
	uint64_t sum; /* sum of the rows' 64-bit hashes, modulo 2^64 */
	bool done;
} CmpSum;

typedef struct CmpPart
{
	int num;   /* 0-based */
	char **lo; /* key split: npk values, inclusive lower bound; NULL = unbounded */
	char **hi; /* key split: exclusive upper bound; NULL = unbounded */
	char *range;
	int64_t src_min_block, src_max_block; /* ctid split: [min, max); max -1 = end */
	int64_t tgt_min_block, tgt_max_block;
	CmpSum src;
	CmpSum tgt;
	bool failed;
} CmpPart;

typedef struct CmpRowList
{
	StrList rows;  /* row texts listed (at most CMP_MAX_ROWS_SHOWN) */
	int64_t total; /* rows on this side only, listed or not */
} CmpRowList;

typedef struct CmpTable
{
	char *nspname;
	char *relname;
	char *display; /* nsp.rel, quoted where needed */
	char *qname;   /* "nsp"."rel" */
	bool on_source;
	bool on_target;
	int64_t src_bytes;
	int64_t src_relpages;
	int64_t tgt_relpages;
	char *row_expr; /* ROW(t."a", ...) over the columns both sides have */
	char *col_diff; /* which columns only one side has, or NULL */
	int npk;
	char **pk_names;
	char **pk_types;
	bool *pk_collatable;
	CmpSplit split;
	int nparts;
	CmpPart *parts;
	int parts_left;
	CmpSum src;
	CmpSum tgt;
	CmpStatus status;
	char *error;
	char error_side; /* 's' or 't' */
	bool rows_listed;
	CmpRowList only_src;
	CmpRowList only_tgt;
} CmpTable;

typedef struct CmpDataReport
{
	CmpTable *tables; /* sorted by display name */
	int ntables;
	int jobs;
	int64_t split_threshold; /* bytes; 0 = never */
	bool show_rows;
	bool interrupted;
	double seconds;
} CmpDataReport;

/*
 * Compares the data of every table. src and tgt are the main connections,
 * already in their transactions; workers import src_snapshot / tgt_snapshot
 * (either may be NULL). On a query failure on the main connections returns
 * false with *failed_side set; per-table failures are in the tables.
 */
bool compare_data(const CompareSpec *spec, PgConn *src, PgConn *tgt, const char *src_snapshot,
				  const char *tgt_snapshot, CmpDataReport *r, char *failed_side);
void compare_data_free(CmpDataReport *r);
const char *cmp_status_name(CmpStatus s);

/* ---- report.c ---- */

void compare_schema_print(const CmpSchemaReport *r, bool json);
void compare_data_print(const CmpDataReport *r, bool json);
/*
 * A JSON string of text read from a server. jansson takes only UTF-8: text
 * of a SQL_ASCII database may not be, and then has its other bytes as "?".
 */
json_t *cmp_json_text(const char *s);
/* Hex form of a checksum: 16 digits. */
void cmp_format_sum(uint64_t sum, char *buf, size_t size);

#endif /* PGSHIFT_COMPARE_H */
