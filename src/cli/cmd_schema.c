/*
 * src/cli/cmd_schema.c — dump schema|roles, restore schema|pre-data|
 * post-data|roles|parse-list, copy roles|extensions.
 *
 * Each is a row of the command table (commands.c) naming what it does as a
 * SCHEMA_CMD_* mask; cmd_schema_steps checks the connection strings those
 * steps need and hands the rest to the clone's schema steps.
 */
#include "cli/cli.h"
#include "clone/clone.h"

int
cmd_schema_steps(Options *opts, int what)
{
	if (what & SCHEMA_CMD_DUMP)
	{
		cli_use_held_snapshot(opts);
	}
	CloneSpec spec = clone_spec_from_options(opts);
	int roles = SCHEMA_CMD_DUMP_ROLES | SCHEMA_CMD_RESTORE_ROLES;
	if (what & roles)
	{
		if (!cli_require_uris(opts, (what & SCHEMA_CMD_DUMP_ROLES) != 0,
							  (what & SCHEMA_CMD_RESTORE_ROLES) != 0))
		{
			return EXIT_USAGE;
		}
		return clone_roles_command(&spec, what);
	}
	bool need_target =
		(what & (SCHEMA_CMD_RESTORE_PRE | SCHEMA_CMD_RESTORE_POST | SCHEMA_CMD_EXTENSIONS)) != 0;
	bool need_source = (what & SCHEMA_CMD_DUMP) != 0 || opts->filters != NULL;
	if (!cli_require_uris(opts, need_source, need_target))
	{
		return EXIT_USAGE;
	}
	return clone_schema_command(&spec, what);
}
