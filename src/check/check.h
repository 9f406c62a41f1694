/*
 * src/check/check.h — the pre-flight: will this migration work, before
 * anything changes?
 *
 * `pgshift check` (and `clone --dry-run`) read both servers and change
 * nothing: every query is a read of the catalogs, settings and privilege
 * functions (no slot, publication, origin, table or lock is taken). Each
 * finding is an item: ok, warning or blocking, what was found, and the
 * statement or setting that fixes it. A blocking item is one the clone (or
 * the follower) would stop on; a warning is one it goes on with, but the
 * user should know (the result may differ, or a step is skipped).
 */
#ifndef PGSHIFT_CHECK_H
#define PGSHIFT_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "cdc/cdc.h"
#include "core/core.h"

typedef enum CheckLevel
{
	CHECK_OK = 0,
	CHECK_WARNING,
	CHECK_BLOCKING
} CheckLevel;

typedef struct CheckItem
{
	char *id; /* stable: "source.read", "follow.wal_level", ... */
	CheckLevel level;
	char *found; /* what was found */
	char *fix;   /* the statement or setting that fixes it, or NULL */
} CheckItem;

/* Built by the command line from its options (cli/cmd_check.c); strings borrowed. */
typedef struct CheckSpec
{
	const char *source;
	const char *target;
	const char *filters; /* --filters file, or NULL */
	bool follow;
	CdcPlugin plugin;
	const char *slot;
	const char *origin;
	const char *publication;
	bool drop_if_exists;
	bool no_owner;
	bool no_acl;
	bool roles;
	bool skip_extensions;
	bool skip_large_objects;
	bool skip_publications;
	bool estimate_table_sizes;
	SplitSpec split;
	int table_jobs;
	bool plan; /* clone --dry-run: keep the catalog for check_print_plan */
} CheckSpec;

typedef struct CheckReport
{
	CheckItem *items;
	int n;
	int cap;
	int nblocking;
	int nwarning;
	/* the plan (spec.plan): the source catalog, filtered, sized and split */
	bool have_catalog;
	Catalog cat;
	int64_t db_bytes;    /* pg_database_size of the source, -1 unknown */
	double copy_seconds; /* estimated from CHECK_CLONE_MB_PER_S */
	int table_jobs;
} CheckReport;

/*
 * The clone's throughput on the benchmark machine (docs/benchmarks.md, "Full
 * run": 2,075 MB cloned — rows, indexes, keys — in 55.2 s with
 * --table-jobs 2 on 2 cores, i.e. 37.6 MB/s of source database size). The
 * estimate divides the source's size by it: a machine with more cores and
 * jobs goes faster, one with slower disks slower.
 */
#define CHECK_CLONE_MB_PER_S 37.6

/*
 * Runs every check (a server that cannot be reached is a blocking item, and
 * the checks needing it are left out). EXIT_OK when nothing blocks,
 * EXIT_CHECK_BLOCKING otherwise, EXIT_USAGE for a bad filters file.
 */
ExitCode check_run(const CheckSpec *spec, CheckReport *out);
void check_report_free(CheckReport *r);
/* Prints the items: text (one block per item), or one JSON document. */
void check_print(const CheckReport *r, bool json);
/* clone --dry-run: the tables, parts, indexes, their order, the estimate. */
void check_print_plan(const CheckReport *r, bool json);
const char *check_level_name(CheckLevel l);

#endif /* PGSHIFT_CHECK_H */
