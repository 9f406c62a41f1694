/*
 * src/cli/commands.c — the command tree, --help, and dispatch.
 *
 * The tree mirrors pgcopydb's so its scripts work by changing the binary
 * name. A leaf without a handler is a command not built yet: it says so and
 * exits with EXIT_NOT_BUILT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"
#include "pg/pg.h"

typedef struct Command Command;
struct Command
{
	const char *name;
	const char *summary;
	int groups;
	CommandFn fn;
	const Command *children; /* NULL-name terminated */
	const char *usage;       /* positional arguments */
};

#define G_CLONE_ALL                                                                         \
	(OPT_G_CONN | OPT_G_JOBS | OPT_G_SNAPSHOT | OPT_G_RESUME | OPT_G_SCHEMA | OPT_G_CLONE | \
	 OPT_G_FILTER | OPT_G_FOLLOW | OPT_G_CDC)
#define G_COPY                                                                              \
	(OPT_G_CONN | OPT_G_JOBS | OPT_G_SNAPSHOT | OPT_G_RESUME | OPT_G_SCHEMA | OPT_G_CLONE | \
	 OPT_G_FILTER)
#define G_LIST   (OPT_G_SOURCE | OPT_G_DIR | OPT_G_JSON | OPT_G_FILTER | OPT_G_LIST | OPT_G_SNAPSHOT)
#define G_STREAM (OPT_G_CONN | OPT_G_CDC | OPT_G_RESUME | OPT_G_FILTER | OPT_G_SNAPSHOT)

static const Command copy_cmds[] = {
	{ "db", "copy a whole database (same as clone)", G_CLONE_ALL, cmd_clone, NULL, NULL },
	{ "roles", "copy the roles of the source cluster", OPT_G_CONN | OPT_G_SCHEMA, cmd_copy_roles,
	  NULL, NULL },
	{ "extensions", "create the source's extensions on the target", G_COPY, cmd_copy_extensions,
	  NULL, NULL },
	{ "schema", "create the schema (pre-data section) on the target", G_COPY, cmd_copy_schema, NULL,
	  NULL },
	{ "data", "copy rows, indexes, constraints, sequences, large objects, then post-data", G_COPY,
	  cmd_copy_data, NULL, NULL },
	{ "table-data", "copy table data only", G_COPY, cmd_copy_table_data, NULL, NULL },
	{ "blobs", "copy large objects' contents", G_COPY, cmd_copy_blobs, NULL, NULL },
	{ "sequences", "set every sequence's value on the target", G_COPY, cmd_copy_sequences, NULL,
	  NULL },
	{ "indexes", "create the indexes on the target", G_COPY, cmd_copy_indexes, NULL, NULL },
	{ "constraints", "add primary keys, unique, exclusion and foreign keys on the target", G_COPY,
	  cmd_copy_constraints, NULL, NULL },
	{ NULL }
};

static const Command dump_cmds[] = {
	{ "schema", "dump the source schema (pre-data and post-data) into the work directory",
	  OPT_G_SOURCE | OPT_G_DIR | OPT_G_SNAPSHOT | OPT_G_RESUME | OPT_G_FILTER, cmd_dump_schema,
	  NULL, NULL },
	{ "roles", "dump the source cluster's roles into the work directory",
	  OPT_G_SOURCE | OPT_G_DIR | OPT_G_SCHEMA, cmd_dump_roles, NULL, NULL },
	{ NULL }
};

static const Command restore_cmds[] = {
	{ "schema", "restore the dumped schema on the target", G_COPY, cmd_restore_schema, NULL, NULL },
	{ "pre-data", "restore the dumped pre-data section on the target", G_COPY, cmd_restore_pre_data,
	  NULL, NULL },
	{ "post-data", "restore the dumped post-data section on the target", G_COPY,
	  cmd_restore_post_data, NULL, NULL },
	{ "roles", "create the dumped roles on the target", OPT_G_CONN | OPT_G_SCHEMA,
	  cmd_restore_roles, NULL, NULL },
	{ "parse-list", "show the pg_restore list pgshift would use, with what it leaves out",
	  G_COPY | OPT_G_JSON, cmd_restore_parse_list, NULL, NULL },
	{ NULL }
};

static const Command list_cmds[] = {
	{ "databases", "list the source cluster's databases", G_LIST, cmd_list_databases, NULL, NULL },
	{ "extensions", "list the source database's extensions", G_LIST, cmd_list_extensions, NULL,
	  NULL },
	{ "collations", "list the source database's collations", G_LIST, cmd_list_collations, NULL,
	  NULL },
	{ "tables", "list the tables pgshift would copy", G_LIST | OPT_G_JOBS, cmd_list_tables, NULL,
	  NULL },
	{ "table-parts", "list how tables would be split into parts", G_LIST | OPT_G_JOBS,
	  cmd_list_table_parts, NULL, NULL },
	{ "sequences", "list the sequences and their values", G_LIST, cmd_list_sequences, NULL, NULL },
	{ "indexes", "list the indexes and the constraints they back", G_LIST, cmd_list_indexes, NULL,
	  NULL },
	{ "depends", "list the objects that depend on a table", G_LIST, cmd_list_depends, NULL, NULL },
	{ "schema", "list everything pgshift reads from the source catalog", G_LIST, cmd_list_schema,
	  NULL, NULL },
	{ "progress", "show the progress of the running (or last) run", OPT_G_DIR | OPT_G_JSON,
	  cmd_list_progress, NULL, NULL },
	{ NULL }
};

static const Command sentinel_set_cmds[] = {
	{ "startpos", "set the sentinel start position", OPT_G_CONN | OPT_G_SENTINEL,
	  cmd_sentinel_set_startpos, NULL, "LSN" },
	{ "endpos", "set the end position (LSN, or --current)", OPT_G_CONN | OPT_G_SENTINEL,
	  cmd_sentinel_set_endpos, NULL, "[LSN]" },
	{ "apply", "allow the applier to start", OPT_G_CONN | OPT_G_SENTINEL, cmd_sentinel_set_apply,
	  NULL, NULL },
	{ NULL }
};

static const Command sentinel_cmds[] = {
	{ "setup", "create the sentinel", OPT_G_CONN | OPT_G_SENTINEL, cmd_sentinel_setup, NULL, NULL },
	{ "get", "show the sentinel's positions", OPT_G_CONN | OPT_G_SENTINEL_GET | OPT_G_JSON,
	  cmd_sentinel_get, NULL, NULL },
	{ "set", "set a sentinel position", 0, NULL, sentinel_set_cmds, NULL },
	{ NULL }
};

static const Command stream_cmds[] = {
	{ "setup", "create the publication, slot and origin", G_STREAM, cmd_stream_setup, NULL, NULL },
	{ "cleanup", "drop the slot, publication, origin and journal", G_STREAM, cmd_stream_cleanup,
	  NULL, NULL },
	{ "prune", "remove journal segments already applied", G_STREAM, cmd_stream_prune, NULL, NULL },
	{ "receive", "receive changes into the journal", G_STREAM, cmd_stream_receive, NULL, NULL },
	{ "apply", "apply the journal to the target", G_STREAM, cmd_stream_apply, NULL, NULL },
	{ "replay", "receive and apply, live", G_STREAM, cmd_stream_replay, NULL, NULL },
	{ "sentinel", "the follower's start/end positions", 0, NULL, sentinel_cmds, NULL },
	{ NULL }
};

static const Command compare_cmds[] = {
	{ "schema", "compare the schemas of source and target",
	  OPT_G_CONN | OPT_G_JSON | OPT_G_FILTER | OPT_G_SNAPSHOT, cmd_compare_schema, NULL, NULL },
	{ "data", "compare row counts and checksums of every table",
	  OPT_G_CONN | OPT_G_JSON | OPT_G_FILTER | OPT_G_JOBS | OPT_G_COMPARE | OPT_G_SNAPSHOT,
	  cmd_compare_data, NULL, NULL },
	{ NULL }
};

static const Command root_cmds[] = {
	{ "clone", "copy a database from source to target (schema, data, indexes, ...)", G_CLONE_ALL,
	  cmd_clone, NULL, NULL },
	{ "fork", "same as clone", G_CLONE_ALL, cmd_clone, NULL, NULL },
	{ "follow", "replay the changes made on the source since the copy's snapshot", G_STREAM,
	  cmd_follow, NULL, NULL },
	{ "snapshot", "export a snapshot on the source and hold it until interrupted",
	  OPT_G_CONN | OPT_G_CDC | OPT_G_FOLLOW, cmd_snapshot, NULL, NULL },
	{ "compare", "compare source and target", 0, NULL, compare_cmds, NULL },
	{ "copy", "run one step of a clone", 0, NULL, copy_cmds, NULL },
	{ "dump", "dump the schema or roles of the source", 0, NULL, dump_cmds, NULL },
	{ "restore", "restore a dumped schema or roles on the target", 0, NULL, restore_cmds, NULL },
	{ "list", "list what pgshift sees on the source", 0, NULL, list_cmds, NULL },
	{ "stream", "change data capture, step by step", 0, NULL, stream_cmds, NULL },
	{ "ping", "check that the source and target can be reached", OPT_G_CONN, cmd_ping, NULL, NULL },
	{ "help", "show the commands", 0, NULL, NULL, NULL },
	{ "version", "show the version", OPT_G_JSON, cmd_version, NULL, NULL },
	{ NULL }
};

static void
print_children(const char *path, const Command *children, int depth)
{
	for (const Command *c = children; c->name != NULL; c++)
	{
		char full[256];
		snprintf(full, sizeof(full), "%s%s%s", path, path[0] ? " " : "", c->name);
		if (c->children != NULL && depth < 3)
		{
			printf("  %-34s %s\n", full, c->summary);
			print_children(full, c->children, depth + 1);
		}
		else
		{
			printf("  %-34s %s%s\n", full, c->summary,
				   c->fn == NULL && c->children == NULL && strcmp(c->name, "help") != 0
					   ? " (not built yet)"
					   : "");
		}
	}
}

static void
print_root_help(void)
{
	printf("pgshift %s — copy a live PostgreSQL database to another server, fast, and keep it "
		   "in sync until cut-over\n\n",
		   PGSHIFT_VERSION);
	printf("Usage: pgshift COMMAND [SUBCOMMAND] [OPTIONS]\n\nCommands:\n");
	print_children("", root_cmds, 0);
	printf("\nRun \"pgshift COMMAND --help\" for a command's options.\n");
	printf("Connection strings may also come from PGSHIFT_SOURCE_PGURI and PGSHIFT_TARGET_PGURI\n"
		   "(or PGCOPYDB_SOURCE_PGURI / PGCOPYDB_TARGET_PGURI); libpq's PG* variables and\n"
		   ".pgpass apply as usual.\n");
}

static void
print_command_help(const char *path, const Command *c)
{
	if (c->children != NULL)
	{
		printf("pgshift %s — %s\n\nSubcommands:\n", path, c->summary);
		print_children(path, c->children, 1);
		return;
	}
	printf("pgshift %s — %s\n\nUsage: pgshift %s [OPTIONS]%s%s\n\nOptions:\n", path, c->summary,
		   path, c->usage ? " " : "", c->usage ? c->usage : "");
	options_print_help(c->groups);
	if (c->fn == NULL)
	{
		printf("\nThis command is not built yet.\n");
	}
}

int
main(int argc, char **argv)
{
	signals_install();
	signals_on_interrupt(pg_cancel_all, NULL);

	if (argc < 2)
	{
		print_root_help();
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
		strcmp(argv[1], "help") == 0)
	{
		print_root_help();
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
	{
		printf("pgshift %s\n", PGSHIFT_VERSION);
		return EXIT_OK;
	}

	const Command *level = root_cmds;
	const Command *cmd = NULL;
	char path[256] = "";
	int argi = 1;
	while (argi < argc && level != NULL)
	{
		const Command *found = NULL;
		for (const Command *c = level; c->name != NULL; c++)
		{
			if (strcmp(c->name, argv[argi]) == 0)
			{
				found = c;
				break;
			}
		}
		if (found == NULL)
		{
			break;
		}
		cmd = found;
		size_t pl = strlen(path);
		snprintf(path + pl, sizeof(path) - pl, "%s%s", pl ? " " : "", found->name);
		argi++;
		level = found->children;
	}
	if (cmd == NULL)
	{
		log_error("unknown command \"%s\"", argv[1]);
		log_hint(LOG_LEVEL_ERROR, "Run \"pgshift --help\" for the list of commands.");
		return EXIT_USAGE;
	}
	if (cmd->children != NULL)
	{
		bool want_help =
			argi < argc && (strcmp(argv[argi], "--help") == 0 || strcmp(argv[argi], "-h") == 0);
		if (want_help)
		{
			print_command_help(path, cmd);
			return EXIT_OK;
		}
		if (argi < argc)
		{
			log_error("unknown command \"pgshift %s %s\"", path, argv[argi]);
		}
		else
		{
			log_error("\"pgshift %s\" needs a subcommand", path);
		}
		print_command_help(path, cmd);
		return EXIT_USAGE;
	}

	Options opts;
	options_init(&opts);
	/* getopt wants argv[0] to be the program: shift so the command word is argv[0] */
	int sub_argc = argc - argi + 1;
	char **sub_argv = argv + argi - 1;
	if (!options_parse(&opts, cmd->groups, path, sub_argc, sub_argv))
	{
		int rc = EXIT_USAGE;
		if (opts.nargs == -1)
		{
			print_command_help(path, cmd);
			rc = EXIT_OK;
		}
		opts.nargs = 0;
		options_free(&opts);
		return rc;
	}
	cli_setup_logging(&opts);
	/* what ps and /proc/PID/cmdline show: no password (the values were copied) */
	for (int i = 1; i < argc; i++)
	{
		log_scrub_secrets(argv[i]);
	}
	if (cmd->fn == NULL)
	{
		log_error("\"pgshift %s\" is not implemented yet", path);
		log_hint(LOG_LEVEL_ERROR, "This command is part of the interface but has not been built; "
								  "see \"pgshift --help\" for the commands available.");
		options_free(&opts);
		return EXIT_NOT_BUILT;
	}
	int rc = cmd->fn(&opts);
	options_free(&opts);
	log_close_file();
	return rc;
}
