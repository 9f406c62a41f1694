/*
 * src/catalog/catalog.h — what pgshift reads from the source catalog.
 *
 * Read once, under the run's snapshot, then saved in state.db (and loaded
 * from there on --resume). Tables are kept biggest first: the planner takes
 * them in that order. The SQL lives in sql/catalog_*.sql.
 */
#ifndef PGSHIFT_CATALOG_H
#define PGSHIFT_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "pg/pg.h"
#include "state/state.h"

typedef uint32_t Oid;

typedef struct CatTable
{
	Oid oid;
	char *nspname;
	char *relname;
	char *qname;      /* "nsp"."rel", quoted */
	char relkind;     /* 'r' or 'p' */
	char persistence; /* 'p', 'u' */
	Oid parent_oid;   /* partition parent or inheritance parent, 0 if none */
	int64_t bytes;    /* heap + TOAST */
	double reltuples;
	int64_t relpages;
	char *copy_columns; /* quoted, generated columns excluded; NULL if none */
	bool binary_ok;     /* every column type has built-in send/receive */
	bool excluded;      /* filtered out entirely */
	bool exclude_data;  /* schema copied, rows not */
	int nparts;         /* set by the planner */
} CatTable;

typedef struct CatIndex
{
	Oid oid;
	Oid table_oid;
	char *nspname;
	char *relname;
	char *indexdef; /* pg_get_indexdef */
	Oid conoid;     /* backing constraint, 0 if none */
	char *conname;
	char contype; /* 'p', 'u', 'x' or 0 */
	char *condef; /* pg_get_constraintdef */
	bool condeferrable;
	bool condeferred;
	int64_t bytes;
	int slow_keys; /* key columns compared with strcoll (libc collation other than C/POSIX) */
	bool isclustered;
	bool isreplident;
	bool excluded;
} CatIndex;

typedef struct CatFkey
{
	Oid oid;
	Oid table_oid;
	char *conname;
	char *condef;
	Oid ref_table_oid;
	bool excluded;
} CatFkey;

typedef struct CatSequence
{
	Oid oid;
	char *nspname;
	char *relname;
	char *last_value; /* text: int8 */
	bool is_called;
	Oid owner_table_oid;
	char *owner_column;
	bool is_identity;
	bool excluded;
} CatSequence;

typedef struct CatExtension
{
	Oid oid;
	char *extname;
	char *extversion;
	char *nspname;
} CatExtension;

typedef struct CatCollation
{
	Oid oid;
	char *nspname;
	char *collname;
	char *provider;
} CatCollation;

typedef struct CatLoBatch
{
	int batch;
	Oid min_oid;
	Oid max_oid;
	int count;
} CatLoBatch;

typedef struct Catalog
{
	CatTable *tables;
	int ntables;
	CatIndex *indexes;
	int nindexes;
	CatFkey *fkeys;
	int nfkeys;
	CatSequence *sequences;
	int nsequences;
	CatExtension *extensions;
	int nextensions;
	CatCollation *collations;
	int ncollations;
	CatLoBatch *lo_batches;
	int nlo_batches;
	int64_t nlargeobjects;
	StrList db_settings; /* "name=value" */
} Catalog;

/*
 * Reads the catalog from the source (the connection already in the run's
 * snapshot). lo_batch_size: at most that many large objects per batch (0 =
 * skip them); batches aim at 32 per run, 10 objects at least.
 */
bool catalog_fetch(PgConn *src, Catalog *cat, int lo_batch_size);
/*
 * Reads the tables' and indexes' sizes, then sorts the tables biggest first.
 * Use a connection outside the snapshot's transaction (see catalog_sizes.sql).
 * estimate: from pg_class.relpages (--estimate-table-sizes), not the files.
 */
bool catalog_fetch_sizes(PgConn *c, Catalog *cat, bool estimate);
/*
 * Reads every sequence's last_value/is_called. Sequences are not
 * transactional: use a connection outside the snapshot's transaction, so no
 * lock on them outlives the read.
 */
bool catalog_fetch_sequence_values(PgConn *src, Catalog *cat);
/* Saves into state.db (replacing what was there) / loads it back. */
bool catalog_save(StateDb *db, const Catalog *cat);
bool catalog_load(StateDb *db, Catalog *cat);
void catalog_free(Catalog *cat);

CatTable *catalog_table(const Catalog *cat, Oid oid);
/* setval() of every (not excluded) sequence on the target, in one statement. */
bool catalog_apply_sequences(PgConn *target, const Catalog *cat, int *count);

/* ---- splitting tables into COPY parts (src/catalog/split.c) ---- */
typedef struct SplitSpec
{
	int64_t larger_than; /* bytes; -1 automatic, 0 never split */
	int max_parts;       /* at most this many parts; 0: table_jobs */
	int table_jobs;      /* concurrent copies (the automatic threshold's share) */
} SplitSpec;

/* Size above which a table is split (0: never). */
int64_t split_threshold(const SplitSpec *s, const Catalog *cat);
/* Most parts one table is split into (at least 1). */
int split_max_parts(const SplitSpec *s);
/* Parts table t is split into under this threshold and cap (at least 1). */
int split_table_parts(const CatTable *t, int64_t threshold, int maxparts);
/* Sets every table's nparts. */
void split_tables(Catalog *cat, const SplitSpec *s);
/* COPY parts a table is copied in once split (0: its rows are not copied). */
int split_copy_parts(const CatTable *t);
/* Block range [*min, *max) of part p of n (0-based); *max = -1: open-ended. */
void split_part_range(const CatTable *t, int n, int p, int64_t *min, int64_t *max);

/* ---- filters (src/catalog/filters.c) ---- */
typedef struct QualName
{
	char *nspname; /* NULL for schema and extension entries */
	char *relname; /* object name */
} QualName;

typedef struct Filters
{
	bool active;
	QualName *include_only_schema, *exclude_schema, *include_only_table, *exclude_table,
		*exclude_index, *exclude_table_data, *exclude_extension, *include_only_extension;
	int n_include_only_schema, n_exclude_schema, n_include_only_table, n_exclude_table,
		n_exclude_index, n_exclude_table_data, n_exclude_extension, n_include_only_extension;
} Filters;

/*
 * Reads a pgcopydb-style ini filters file. Sections: include-only-schema,
 * exclude-schema, include-only-table, exclude-table, exclude-index,
 * exclude-table-data, exclude-extension, include-only-extension. One name per
 * line ("schema"."table" quoting allowed), # and ; start comments.
 * Contradictory sections are rejected with the line number.
 */
bool filters_load(const char *path, Filters *f);
/*
 * The source's relations (SQL_SOURCE_RELATION_NAMES) as two parallel text[]
 * literals, schema names and relation names, for a query on the target; those
 * outside the filters left out when f is given. false: the query failed (logged).
 */
bool catalog_relation_name_arrays(PgConn *src, const Filters *f, StrBuf *nsps, StrBuf *rels);
void filters_free(Filters *f);
/* Marks excluded tables, indexes, foreign keys and sequences in the catalog. */
void filters_apply(const Filters *f, Catalog *cat);
bool filters_schema_excluded(const Filters *f, const char *nspname);
/* By its name alone (no parent): does the table fall outside the filters? */
bool filters_table_excluded(const Filters *f, const char *nspname, const char *relname);
/* Whether name (in schema nsp; NULL: any) is among the n entries of l. */
bool filters_name_listed(const QualName *l, int n, const char *nsp, const char *name);
bool filters_extension_excluded(const Filters *f, const char *extname);

#endif /* PGSHIFT_CATALOG_H */
