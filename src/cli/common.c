/*
 * src/cli/common.c — what every command does first: logging, URI checks,
 * and the option groups several domains share (the table-split settings).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/core.h"
#include "pg/pg.h"

void
cli_setup_logging(const Options *opts)
{
	if (opts->debug || opts->trace)
	{
		log_set_level(LOG_LEVEL_DEBUG);
	}
	else if (opts->verbose || opts->notice)
	{
		log_set_level(LOG_LEVEL_INFO);
	}
	else if (opts->quiet)
	{
		log_set_level(LOG_LEVEL_ERROR);
	}
	else
	{
		log_set_level(LOG_LEVEL_INFO);
	}
	log_set_json(opts->log_json);
	/* before anything can print a connection string or a libpq message */
	pg_conninfo_register_secrets(opts->source);
	pg_conninfo_register_secrets(opts->target);
	options_report_noops(opts);
}

bool
cli_require_uris(const Options *opts, bool need_source, bool need_target)
{
	if (need_source && (opts->source == NULL || opts->source[0] == '\0'))
	{
		log_error("no source database given: use --source or set PGSHIFT_SOURCE_PGURI");
		return false;
	}
	if (need_target && (opts->target == NULL || opts->target[0] == '\0'))
	{
		log_error("no target database given: use --target or set PGSHIFT_TARGET_PGURI");
		return false;
	}
	return true;
}

SplitSpec
cli_split_spec(const Options *opts)
{
	/* pgshift splits by ctid ranges only: without them, tables are not split */
	SplitSpec s = { .larger_than = opts->skip_split_by_ctid ? 0 : opts->split_larger_than,
					.max_parts = opts->split_max_parts,
					.table_jobs = opts->table_jobs };
	return s;
}
