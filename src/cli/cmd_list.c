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

/* The source listings, by LIST_* (cli.h): their name and their report. */
static const struct
{
	const char *name;
	ExitCode (*report)(const ListSpec *spec);
} g_lists[] = {
	[LIST_DATABASES] = { "list databases", report_list_databases },
	[LIST_EXTENSIONS] = { "list extensions", report_list_extensions },
	[LIST_COLLATIONS] = { "list collations", report_list_collations },
	[LIST_TABLES] = { "list tables", report_list_tables },
	[LIST_TABLE_PARTS] = { "list table-parts", report_list_table_parts },
	[LIST_SEQUENCES] = { "list sequences", report_list_sequences },
	[LIST_INDEXES] = { "list indexes", report_list_indexes },
	[LIST_VIEWS] = { "list views", report_list_views },
	[LIST_TRIGGERS] = { "list triggers", report_list_triggers },
	[LIST_DEPENDS] = { "list depends", report_list_depends },
	[LIST_SCHEMA] = { "list schema", report_list_schema },
};

int
cmd_list(Options *opts, int which)
{
	if (!list_check(opts, g_lists[which].name))
	{
		return EXIT_USAGE;
	}
	ListSpec spec = list_spec(opts);
	return g_lists[which].report(&spec);
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
