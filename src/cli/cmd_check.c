/*
 * src/cli/cmd_check.c — `pgshift check` and `clone --dry-run`: the
 * pre-flight from the command line's options, its exit code.
 *
 * Both run the same checks (src/check/) and change nothing on either
 * server, and open no work directory; --dry-run then prints the plan.
 * Exit 0 when nothing blocks, 12 (EXIT_CHECK_BLOCKING) otherwise.
 */
#include "check/check.h"
#include "cli/cli.h"

static int
check_main(Options *opts, bool plan)
{
	if (!cli_require_uris(opts, true, true))
	{
		return EXIT_USAGE;
	}
	CheckSpec spec = { .source = opts->source,
					   .target = opts->target,
					   .filters = opts->filters,
					   .follow = opts->follow,
					   .slot = opts->slot_name ? opts->slot_name : "pgshift",
					   .origin = opts->origin ? opts->origin : "pgshift",
					   .publication = opts->publication ? opts->publication : "pgshift",
					   .drop_if_exists = opts->drop_if_exists,
					   .no_owner = opts->no_owner,
					   .no_acl = opts->no_acl,
					   .roles = opts->roles,
					   .skip_extensions = opts->skip_extensions,
					   .skip_large_objects = opts->skip_large_objects,
					   .skip_publications = opts->skip_publications,
					   .estimate_table_sizes = opts->estimate_table_sizes,
					   .split = cli_split_spec(opts),
					   .table_jobs = opts->table_jobs,
					   .plan = plan };
	if (!cdc_plugin_parse(opts->plugin ? opts->plugin : "pgoutput", &spec.plugin))
	{
		return EXIT_USAGE;
	}
	CheckReport r;
	ExitCode rc = check_run(&spec, &r);
	if (rc != EXIT_USAGE)
	{
		check_print(&r, opts->json);
		if (plan)
		{
			check_print_plan(&r, opts->json);
		}
	}
	check_report_free(&r);
	return rc;
}

int
cmd_check(Options *opts)
{
	return check_main(opts, false);
}

int
cmd_clone_dry_run(Options *opts)
{
	return check_main(opts, true);
}
