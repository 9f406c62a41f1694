/*
 * src/cli/cmd_clone.c — the clone's spec from the command line, and the
 * `copy` steps on clone_main().
 *
 * The clone (src/clone) never sees Options: it gets a CloneSpec built here,
 * whose strings point into the Options and so live as long as the command.
 * The steps of `copy schema|data|table-data|...` are rows of the command
 * table (commands.c) naming their step mask; cmd_copy_steps runs them.
 */
#include "cli/cli.h"
#include "clone/clone.h"
#include "report/report.h"

CloneSpec
clone_spec_from_options(const Options *opts)
{
	CloneSpec s = { .source = opts->source,
					.target = opts->target,
					.dir = opts->dir,
					.table_jobs = opts->table_jobs,
					.index_jobs = opts->index_jobs,
					.restore_jobs = opts->restore_jobs,
					.lo_jobs = opts->lo_jobs,
					.split = cli_split_spec(opts),
					.use_copy_binary = opts->use_copy_binary,
					.no_copy_binary = opts->no_copy_binary,
					.snapshot = opts->snapshot,
					.not_consistent = opts->not_consistent,
					.resume = opts->resume,
					.restart = opts->restart,
					.drop_if_exists = opts->drop_if_exists,
					.no_owner = opts->no_owner,
					.no_acl = opts->no_acl,
					.no_comments = opts->no_comments,
					.no_tablespaces = opts->no_tablespaces,
					.skip_extensions = opts->skip_extensions,
					.skip_collations = opts->skip_collations,
					.skip_ext_comments = opts->skip_ext_comments,
					.skip_publications = opts->skip_publications,
					.restore_tolerance = opts->restore_tolerance,
					.requirements = opts->requirements,
					.estimate_table_sizes = opts->estimate_table_sizes,
					.skip_db_properties = opts->skip_db_properties,
					.roles = opts->roles,
					.no_role_passwords = opts->no_role_passwords,
					.skip_large_objects = opts->skip_large_objects,
					.skip_vacuum = opts->skip_vacuum,
					.skip_analyze = opts->skip_analyze,
					.recompress_toast = opts->recompress_toast,
					.fail_fast = opts->fail_fast,
					.filters = opts->filters,
					.quiet = opts->quiet,
					.summary = report_summary };
	return s;
}

/*
 * copy schema + copy data = clone. The schema step is the pre-data section
 * (and the database settings): what must exist before rows go in. The
 * post-data section (triggers, rules, policies, the keys and indexes pgshift
 * does not build) comes with copy data, once the rows are in: triggers must
 * not fire on the copy, and foreign keys are checked once.
 */
int
cmd_copy_steps(Options *opts, int steps)
{
	if (!cli_require_uris(opts, true, true))
	{
		return EXIT_USAGE;
	}
	cli_use_held_snapshot(opts);
	CloneSpec spec = clone_spec_from_options(opts);
	return clone_main(&spec, steps);
}

/* clone, fork, copy db: the whole copy, then the follow with --follow */
int
cmd_clone(Options *opts)
{
	if (opts->dry_run)
	{
		return cmd_clone_dry_run(opts);
	}
	if (opts->follow)
	{
		return cli_clone_follow(opts);
	}
	return cmd_copy_steps(opts, STEP_ALL);
}

int
cli_clone_precheck(const Options *opts)
{
	CloneSpec spec = clone_spec_from_options(opts);
	return clone_precheck(&spec);
}

int
cli_clone_main_in(const Options *opts, int steps, WorkDir *wd, StateDb *state)
{
	CloneSpec spec = clone_spec_from_options(opts);
	return clone_main_in(&spec, steps, wd, state);
}
