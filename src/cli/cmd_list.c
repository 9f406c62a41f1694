/*
 * src/cli/cmd_list.c — the `list` commands: options in, a ListSpec (or a
 * ProgressSpec) to src/report/, its exit code out.
 *
 * Which command takes which option is the command table's business
 * (commands.c); pgcopydb's options without effect here print their notice
 * from options.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"
#include "report/report.h"

/* Checks the positional arguments (none). False on a usage error. */
static bool
list_check(const Options *opts, const char *cmd)
{
	if (opts->nargs > 0)
	{
		log_error("unexpected argument \"%s\" for \"pgshift %s\"", opts->args[0], cmd);
		log_hint(LOG_LEVEL_ERROR, "Run \"pgshift %s --help\" for the options.", cmd);
		return false;
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
				   .estimate_table_sizes = opts->estimate_table_sizes,
				   .json = opts->json,
				   .list_skipped = opts->list_skipped,
				   .without_pkey = opts->without_pkey,
				   .available_versions = opts->available_versions,
				   .requirements = opts->list_requirements };
	return s;
}

/* The source listings: check, build the spec, report. */
static int
list_run(const Options *opts, const char *cmd, ExitCode (*fn)(const ListSpec *))
{
	if (!list_check(opts, cmd))
	{
		return EXIT_USAGE;
	}
	ListSpec spec = list_spec(opts);
	return fn(&spec);
}

int
cmd_list_databases(Options *opts)
{
	return list_run(opts, "list databases", report_list_databases);
}

int
cmd_list_extensions(Options *opts)
{
	return list_run(opts, "list extensions", report_list_extensions);
}

int
cmd_list_views(Options *opts)
{
	return list_run(opts, "list views", report_list_views);
}

int
cmd_list_triggers(Options *opts)
{
	return list_run(opts, "list triggers", report_list_triggers);
}

int
cmd_list_collations(Options *opts)
{
	return list_run(opts, "list collations", report_list_collations);
}

int
cmd_list_tables(Options *opts)
{
	return list_run(opts, "list tables", report_list_tables);
}

int
cmd_list_table_parts(Options *opts)
{
	return list_run(opts, "list table-parts", report_list_table_parts);
}

int
cmd_list_sequences(Options *opts)
{
	return list_run(opts, "list sequences", report_list_sequences);
}

int
cmd_list_indexes(Options *opts)
{
	return list_run(opts, "list indexes", report_list_indexes);
}

int
cmd_list_depends(Options *opts)
{
	return list_run(opts, "list depends", report_list_depends);
}

int
cmd_list_schema(Options *opts)
{
	return list_run(opts, "list schema", report_list_schema);
}

int
cmd_list_progress(Options *opts)
{
	if (!list_check(opts, "list progress"))
	{
		return EXIT_USAGE;
	}
	ProgressSpec spec = { .dir = opts->dir, .json = opts->json, .summary = opts->summary };
	return report_progress(&spec);
}
