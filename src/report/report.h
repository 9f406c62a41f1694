/*
 * src/report/report.h — what pgshift shows: the `list` commands (what it sees
 * on the source), the progress of a run read from its work directory, and the
 * end-of-run summary.
 *
 * The source listings open one connection and read everything inside one
 * REPEATABLE READ READ ONLY transaction (in the snapshot given, if any),
 * through the same catalog code and split rule a clone uses, so what they
 * print is what a clone started now would do. The progress report only reads
 * the work directory: it never takes its lock, so it can watch a running
 * clone. Each function prints its report on stdout (aligned columns, or one
 * JSON document) and returns the exit code for the command line.
 */
#ifndef PGSHIFT_REPORT_H
#define PGSHIFT_REPORT_H

#include <stdbool.h>

#include "catalog/catalog.h"
#include "clone/clone.h"
#include "core/core.h"

/* What a `list` command on the source is asked to show. */
typedef struct ListSpec
{
	const char *source;        /* connection string */
	const char *snapshot;      /* read in this exported snapshot, or NULL */
	const char *filters;       /* --filters file, or NULL */
	const char *schema_name;   /* only this schema, or NULL */
	const char *table_name;    /* only this table, or NULL */
	SplitSpec split;           /* how tables are split into COPY parts */
	bool estimate_table_sizes; /* sizes from pg_class.relpages (catalog_sizes_estimate.sql) */
	bool json;
	bool list_skipped;       /* tables, sequences, indexes: those left out instead */
	bool without_pkey;       /* list tables: only tables without a primary key */
	bool available_versions; /* list extensions: the versions the server offers */
	bool requirements;       /* list extensions: a --requirements file */
} ListSpec;

ExitCode report_list_databases(const ListSpec *spec);
ExitCode report_list_extensions(const ListSpec *spec);
ExitCode report_list_collations(const ListSpec *spec);
/* Views and materialized views (--schema-name, --table-name narrow them). */
ExitCode report_list_views(const ListSpec *spec);
/* User triggers, by table (--schema-name, --table-name narrow them). */
ExitCode report_list_triggers(const ListSpec *spec);
ExitCode report_list_tables(const ListSpec *spec);
ExitCode report_list_table_parts(const ListSpec *spec);
ExitCode report_list_sequences(const ListSpec *spec);
ExitCode report_list_indexes(const ListSpec *spec);
/*
 * What depends on the table schema_name.table_name; without them, with
 * filters, what depends on the tables the filters exclude.
 */
ExitCode report_list_depends(const ListSpec *spec);
ExitCode report_list_schema(const ListSpec *spec);

/* What `list progress` is asked to show. */
typedef struct ProgressSpec
{
	const char *dir; /* the run's work directory */
	bool json;
	bool summary; /* the run's summary (per table and step) instead of the progress */
} ProgressSpec;

ExitCode report_progress(const ProgressSpec *spec);

/* ---- summary.c ---- */

/*
 * The end-of-run summary of a clone: saved as JSON in the work directory,
 * and printed as tables when print. A CloneSummaryFn (the command line hands
 * it to the clone in its CloneSpec).
 */
void report_summary(const CloneRun *run, bool print);

#endif /* PGSHIFT_REPORT_H */
