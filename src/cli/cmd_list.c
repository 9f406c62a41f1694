/*
 * src/cli/cmd_list.c — the `list` commands: options in, a ListSpec (or a
 * ProgressSpec) to src/report/, its exit code out.
 *
 * pgcopydb's list options that mean nothing here are accepted, each with a
 * one-line notice that says why it has no effect, so its scripts run
 * unchanged; the table below is the one place that decides which command
 * uses which of them.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"
#include "report/report.h"

/* The list commands, as bits: which command uses an option. */
enum
{
	L_DATABASES = 1 << 0,
	L_EXTENSIONS = 1 << 1,
	L_COLLATIONS = 1 << 2,
	L_TABLES = 1 << 3,
	L_TABLE_PARTS = 1 << 4,
	L_SEQUENCES = 1 << 5,
	L_INDEXES = 1 << 6,
	L_DEPENDS = 1 << 7,
	L_SCHEMA = 1 << 8,
	L_PROGRESS = 1 << 9
};

/* A boolean option only some list commands use, and why it is ignored elsewhere. */
typedef struct ListFlag
{
	const char *name;
	size_t offset; /* bool in Options */
	int used_by;   /* L_* of the commands it changes */
	const char *why;
} ListFlag;

#define FLAG(f) offsetof(Options, f)

static const ListFlag g_flags[] = {
	{ "--list-skipped", FLAG(list_skipped), L_TABLES | L_SEQUENCES | L_INDEXES,
	  "it lists what the filters leave out of tables, sequences and indexes" },
	{ "--without-pkey", FLAG(without_pkey), L_TABLES, "it narrows list tables only" },
	{ "--available-versions", FLAG(available_versions), L_EXTENSIONS,
	  "it is an option of list extensions" },
	{ "--requirements", FLAG(requirements), L_EXTENSIONS, "it is an option of list extensions" },
	{ "--summary", FLAG(summary), L_PROGRESS, "it is an option of list progress" },
	{ "--force", FLAG(force), 0,
	  "pgshift keeps no catalog cache: every list command reads the source catalog afresh" },
	{ "--cache", FLAG(cache), 0,
	  "pgshift creates no size cache on the source: sizes are read by each command" },
	{ "--drop-cache", FLAG(drop_cache), 0,
	  "pgshift creates no size cache on the source, so there is none to drop" },
	{ "--estimate-table-sizes", FLAG(estimate_table_sizes), 0,
	  "sizes are read exactly (pg_table_size) in one catalog query" },
};

/*
 * Checks the positional arguments (none) and says which given options this
 * command does not use. False on a usage error.
 */
static bool
list_check(const Options *opts, const char *cmd, int self)
{
	if (opts->nargs > 0)
	{
		log_error("unexpected argument \"%s\" for \"pgshift %s\"", opts->args[0], cmd);
		log_hint(LOG_LEVEL_ERROR, "Run \"pgshift %s --help\" for the options.", cmd);
		return false;
	}
	for (size_t i = 0; i < sizeof(g_flags) / sizeof(g_flags[0]); i++)
	{
		const ListFlag *f = &g_flags[i];
		if (*(const bool *) ((const char *) opts + f->offset) && !(f->used_by & self))
		{
			log_notice("%s has no effect on \"pgshift %s\": %s", f->name, cmd, f->why);
		}
	}
	return true;
}

static ListSpec
list_spec(const Options *opts)
{
	ListSpec s = { .source = opts->source,
				   .snapshot = opts->snapshot,
				   .filters = opts->filters,
				   .schema_name = opts->schema_name,
				   .table_name = opts->table_name,
				   .split = cli_split_spec(opts),
				   .json = opts->json,
				   .list_skipped = opts->list_skipped,
				   .without_pkey = opts->without_pkey,
				   .available_versions = opts->available_versions,
				   .requirements = opts->requirements };
	return s;
}

/* The source listings: check, build the spec, report. */
static int
list_run(const Options *opts, const char *cmd, int self, ExitCode (*fn)(const ListSpec *))
{
	if (!list_check(opts, cmd, self))
	{
		return EXIT_USAGE;
	}
	ListSpec spec = list_spec(opts);
	return fn(&spec);
}

int
cmd_list_databases(Options *opts)
{
	return list_run(opts, "list databases", L_DATABASES, report_list_databases);
}

int
cmd_list_extensions(Options *opts)
{
	return list_run(opts, "list extensions", L_EXTENSIONS, report_list_extensions);
}

int
cmd_list_collations(Options *opts)
{
	return list_run(opts, "list collations", L_COLLATIONS, report_list_collations);
}

int
cmd_list_tables(Options *opts)
{
	return list_run(opts, "list tables", L_TABLES, report_list_tables);
}

int
cmd_list_table_parts(Options *opts)
{
	return list_run(opts, "list table-parts", L_TABLE_PARTS, report_list_table_parts);
}

int
cmd_list_sequences(Options *opts)
{
	return list_run(opts, "list sequences", L_SEQUENCES, report_list_sequences);
}

int
cmd_list_indexes(Options *opts)
{
	return list_run(opts, "list indexes", L_INDEXES, report_list_indexes);
}

int
cmd_list_depends(Options *opts)
{
	return list_run(opts, "list depends", L_DEPENDS, report_list_depends);
}

int
cmd_list_schema(Options *opts)
{
	return list_run(opts, "list schema", L_SCHEMA, report_list_schema);
}

int
cmd_list_progress(Options *opts)
{
	if (!list_check(opts, "list progress", L_PROGRESS))
	{
		return EXIT_USAGE;
	}
	ProgressSpec spec = { .dir = opts->dir, .json = opts->json, .summary = opts->summary };
	return report_progress(&spec);
}
