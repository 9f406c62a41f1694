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

#include "cdc/cdc.h"
#include "cli/cli.h"
#include "core/core.h"
#include "pg/pg.h"

typedef struct Command Command;
struct Command
{
	const char *name;
	const char *summary;
	const char *opts; /* the options it accepts (options.h) */
	CommandFn fn;
	const Command *children; /* NULL-name terminated */
	const char *usage;       /* positional arguments */
	CommandStepsFn steps_fn; /* instead of fn: a handler shared by rows, given steps */
	int steps;               /* STEP_* or SCHEMA_CMD_* mask for steps_fn */
	const char *noop_why;    /* why the "~id" options of opts have no effect here */
};

/*
 * Each command's options (see options.h): pgcopydb's for the same command,
 * and pgshift's own where they mean something there. --help lists exactly
 * these; tests/integration/t/080_compat.pl checks pgcopydb's are accepted.
 */
#define O_CONN OPT_G_CONN
#define O_SPLIT                                                                 \
	" table-jobs split-tables-larger-than split-max-parts estimate-table-sizes" \
	" skip-split-by-ctid"
#define O_COPY_JOBS                                                                      \
	O_SPLIT " index-jobs restore-jobs large-objects-jobs use-copy-binary no-copy-binary" \
			" recompress-toast"
#define O_RESTORE                                                                \
	" restore-jobs restore-tolerance drop-if-exists no-owner no-acl no-comments" \
	" no-tablespaces skip-extensions skip-ext-comments skip-collations skip-publications"
#define O_SCHEMA O_RESTORE " skip-db-properties roles no-role-passwords requirements"
/* a follow that rides out faults and can be watched (issue 14) */
#define O_WATCH " retry-timeout metrics-port journal-min-free"

#define O_STEPS                                                                           \
	" skip-large-objects skip-vacuum skip-analyze fail-fast skip-xid-check defer-indexes" \
	" defer-analyze defer-validate-fks"
#define O_SLOT " plugin wal2json-numeric-as-string slot-name publication"
#define O_CDC \
	O_SLOT " origin create-slot endpos prune-threshold prune-min-age ddl ddl-errors" O_WATCH
#define O_STATE OPT_G_RESUME OPT_G_SNAPSHOT
#define G_CLONE_ALL                                                                               \
	O_CONN O_COPY_JOBS O_STATE O_SCHEMA O_STEPS OPT_G_FILTER " follow replay-no-op-updates" O_CDC \
															 " clone-dry-run"
/* check: what a clone (--follow) with the same options needs */
#define G_CHECK                                                                                  \
	OPT_G_SOURCE OPT_G_TARGET OPT_G_JSON OPT_G_FILTER O_SPLIT O_SLOT                             \
		" origin follow drop-if-exists no-owner no-acl roles skip-extensions skip-large-objects" \
		" skip-publications"
#define G_LIST_OBJ                                   \
	OPT_G_SOURCE OPT_G_DIR OPT_G_JSON OPT_G_SNAPSHOT \
		" filters filter force cache drop-cache list-skipped"
#define G_LIST_REL G_LIST_OBJ " schema-name table-name"
/*
 * pgcopydb's stream commands take --resume, --restart, --not-consistent and
 * --snapshot; pgshift's have no use for them (WHY_STREAM).
 */
#define G_STREAM O_CONN OPT_G_FILTER " ~resume ~restart ~snapshot ~not-consistent"
#define WHY_STREAM                                                                       \
	"the follower always goes on from its journal and the target's replication origin, " \
	"and reads under no snapshot (to start over: \"pgshift stream cleanup\")"
#define G_SENTINEL OPT_G_SOURCE OPT_G_DIR " current"
#define WHY_SOURCE "it reads or writes the work directory only"

/* A row run by a shared handler with its mask (no fn, no children, no usage). */
#define STEPS(fn, mask) NULL, NULL, NULL, fn, mask

static const Command copy_cmds[] = {
	{ "db", "copy a whole database (same as clone)", G_CLONE_ALL, cmd_clone, NULL, NULL },
	{ "roles", "copy the roles of the source cluster", O_CONN " no-role-passwords",
	  STEPS(cmd_schema_steps, SCHEMA_CMD_DUMP_ROLES | SCHEMA_CMD_RESTORE_ROLES) },
	{ "extensions", "create the source's extensions on the target",
	  O_CONN O_STATE OPT_G_FILTER " requirements skip-ext-comments",
	  STEPS(cmd_schema_steps, SCHEMA_CMD_DUMP | SCHEMA_CMD_EXTENSIONS) },
	/*
	 * copy schema + copy data = clone. The schema step is the pre-data
	 * section (and the database settings): what must exist before rows go
	 * in. The post-data section (triggers, rules, policies, the keys and
	 * indexes pgshift does not build) comes with copy data, once the rows
	 * are in: triggers must not fire on the copy, and foreign keys are
	 * checked once.
	 */
	{ "schema", "create the schema (pre-data section) on the target",
	  O_CONN O_STATE OPT_G_FILTER O_SCHEMA,
	  STEPS(cmd_copy_steps, STEP_SCHEMA_PRE | STEP_DB_PROPS) },
	{ "data", "copy rows, indexes, constraints, sequences, large objects, then post-data",
	  O_CONN O_STATE OPT_G_FILTER O_COPY_JOBS O_STEPS
	  " no-owner no-acl no-comments no-tablespaces skip-publications",
	  STEPS(cmd_copy_steps, STEP_TABLE_DATA | STEP_INDEXES | STEP_CONSTRAINTS | STEP_SEQUENCES |
								STEP_BLOBS | STEP_VACUUM | STEP_SCHEMA_POST) },
	{ "table-data", "copy table data only",
	  O_CONN O_STATE OPT_G_FILTER O_SPLIT
	  " use-copy-binary no-copy-binary recompress-toast fail-fast",
	  STEPS(cmd_copy_steps, STEP_TABLE_DATA) },
	{ "blobs", "copy large objects' contents",
	  O_CONN O_STATE " large-objects-jobs drop-if-exists fail-fast",
	  STEPS(cmd_copy_steps, STEP_BLOBS) },
	{ "sequences", "set every sequence's value on the target", O_CONN O_STATE OPT_G_FILTER,
	  STEPS(cmd_copy_steps, STEP_SEQUENCES) },
	{ "indexes", "create the indexes on the target",
	  O_CONN O_STATE OPT_G_FILTER " index-jobs restore-jobs fail-fast",
	  STEPS(cmd_copy_steps, STEP_INDEXES) },
	{ "constraints", "add primary keys, unique, exclusion and foreign keys on the target",
	  O_CONN O_STATE OPT_G_FILTER " index-jobs fail-fast",
	  STEPS(cmd_copy_steps, STEP_CONSTRAINTS) },
	{ NULL }
};

static const Command dump_cmds[] = {
	{ "schema", "dump the source schema (pre-data and post-data) into the work directory",
	  OPT_G_SOURCE OPT_G_DIR O_STATE OPT_G_FILTER " ~target skip-extensions",
	  STEPS(cmd_schema_steps, SCHEMA_CMD_DUMP), .noop_why = "a dump reads the source only" },
	{ "roles", "dump the source cluster's roles into the work directory",
	  OPT_G_SOURCE OPT_G_DIR " ~target no-role-passwords",
	  STEPS(cmd_schema_steps, SCHEMA_CMD_DUMP_ROLES), .noop_why = "a dump reads the source only" },
	{ NULL }
};

static const Command restore_cmds[] = {
	{ "schema", "restore the dumped schema on the target", O_CONN O_STATE OPT_G_FILTER O_RESTORE,
	  STEPS(cmd_schema_steps, SCHEMA_CMD_RESTORE_PRE | SCHEMA_CMD_RESTORE_POST) },
	{ "pre-data", "restore the dumped pre-data section on the target",
	  O_CONN O_STATE OPT_G_FILTER O_RESTORE, STEPS(cmd_schema_steps, SCHEMA_CMD_RESTORE_PRE) },
	{ "post-data", "restore the dumped post-data section on the target",
	  O_CONN O_STATE OPT_G_FILTER O_RESTORE, STEPS(cmd_schema_steps, SCHEMA_CMD_RESTORE_POST) },
	{ "roles", "create the dumped roles on the target",
	  O_CONN " restore-jobs restore-tolerance no-role-passwords",
	  STEPS(cmd_schema_steps, SCHEMA_CMD_RESTORE_ROLES) },
	{ "parse-list", "show the pg_restore list pgshift would use, with what it leaves out",
	  O_CONN O_STATE OPT_G_FILTER O_RESTORE OPT_G_JSON,
	  STEPS(cmd_schema_steps, SCHEMA_CMD_PARSE_LIST) },
	{ NULL }
};

static const Command list_cmds[] = {
	{ "databases", "list the source cluster's databases", OPT_G_SOURCE OPT_G_DIR OPT_G_JSON,
	  STEPS(cmd_list, LIST_DATABASES) },
	{ "extensions", "list the source database's extensions",
	  G_LIST_OBJ " available-versions list-requirements", STEPS(cmd_list, LIST_EXTENSIONS) },
	{ "collations", "list the source database's collations", G_LIST_OBJ,
	  STEPS(cmd_list, LIST_COLLATIONS) },
	{ "tables", "list the tables pgshift would copy", G_LIST_REL O_SPLIT " without-pkey split-at",
	  STEPS(cmd_list, LIST_TABLES) },
	{ "table-parts", "list how tables would be split into parts", G_LIST_REL O_SPLIT " split-at",
	  STEPS(cmd_list, LIST_TABLE_PARTS) },
	{ "sequences", "list the sequences and their values", G_LIST_REL,
	  STEPS(cmd_list, LIST_SEQUENCES) },
	{ "indexes", "list the indexes and the constraints they back", G_LIST_REL,
	  STEPS(cmd_list, LIST_INDEXES) },
	{ "views", "list the views and materialized views",
	  OPT_G_SOURCE OPT_G_DIR OPT_G_JSON OPT_G_SNAPSHOT " schema-name table-name",
	  STEPS(cmd_list, LIST_VIEWS) },
	{ "triggers", "list the triggers of the tables (restored with post-data)",
	  OPT_G_SOURCE OPT_G_DIR OPT_G_JSON OPT_G_SNAPSHOT " schema-name table-name",
	  STEPS(cmd_list, LIST_TRIGGERS) },
	{ "depends", "list the objects that depend on a table", G_LIST_REL,
	  STEPS(cmd_list, LIST_DEPENDS) },
	{ "schema", "list everything pgshift reads from the source catalog", G_LIST_REL O_SPLIT,
	  STEPS(cmd_list, LIST_SCHEMA) },
	{ "progress", "show the progress of the running (or last) run",
	  OPT_G_DIR OPT_G_JSON " ~source summary", cmd_list_progress, NULL, NULL,
	  .noop_why = WHY_SOURCE },
	{ NULL }
};

static const Command sentinel_set_cmds[] = {
	{ "startpos", "set the sentinel start position", G_SENTINEL " startpos", NULL, NULL, "LSN",
	  cmd_sentinel_set, SENTINEL_SET_STARTPOS },
	{ "endpos", "set the end position (LSN, or --current)", G_SENTINEL " endpos", NULL, NULL,
	  "[LSN]", cmd_sentinel_set, SENTINEL_SET_ENDPOS },
	{ "apply", "allow the applier to start", OPT_G_DIR " ~source",
	  STEPS(cmd_sentinel_set, SENTINEL_SET_APPLY), .noop_why = WHY_SOURCE },
	{ "prefetch", "receive only: the applier waits until \"set apply\"", OPT_G_DIR " ~source",
	  STEPS(cmd_sentinel_set, SENTINEL_SET_PREFETCH), .noop_why = WHY_SOURCE },
	{ NULL }
};

static const Command sentinel_cmds[] = {
	{ "setup", "create the sentinel", OPT_G_DIR " ~source startpos endpos", cmd_sentinel_setup,
	  NULL, NULL, .noop_why = WHY_SOURCE },
	{ "get", "show the sentinel's positions",
	  OPT_G_DIR " ~source get-json get-startpos get-endpos get-apply get-write-lsn get-flush-lsn"
				" get-replay-lsn",
	  cmd_sentinel_get, NULL, NULL, .noop_why = WHY_SOURCE },
	{ "set", "set a sentinel position", NULL, NULL, sentinel_set_cmds, NULL },
	{ NULL }
};

static const Command stream_cmds[] = {
	{ "setup", "create the publication, slot and origin",
	  G_STREAM O_SLOT " origin create-slot replay-no-op-updates ddl", cmd_stream_setup, NULL, NULL,
	  .noop_why = WHY_STREAM },
	{ "cleanup", "drop the slot, publication, origin and journal",
	  G_STREAM " plugin slot-name origin publication", cmd_stream_cleanup, NULL, NULL,
	  .noop_why = WHY_STREAM },
	{ "prune", "remove journal segments already applied", OPT_G_DIR " dry-run host port",
	  cmd_stream_prune, NULL, NULL },
	{ "receive", "receive changes into the journal", G_STREAM O_CDC " max-replaydb-size to-stdout",
	  STEPS(cmd_stream, FOLLOW_RECEIVE), .noop_why = WHY_STREAM },
	{ "apply", "apply the journal to the target", G_STREAM O_CDC, STEPS(cmd_stream, FOLLOW_APPLY),
	  .noop_why = WHY_STREAM },
	{ "replay", "receive and apply, live", G_STREAM O_CDC " max-replaydb-size",
	  STEPS(cmd_stream, FOLLOW_RECEIVE | FOLLOW_APPLY), .noop_why = WHY_STREAM },
	{ "prefetch", "same as receive (pgcopydb's name)", G_STREAM O_CDC " max-replaydb-size",
	  STEPS(cmd_stream, FOLLOW_RECEIVE), .noop_why = WHY_STREAM },
	{ "catchup", "same as apply (pgcopydb's name)", G_STREAM O_CDC " max-replaydb-size",
	  STEPS(cmd_stream, FOLLOW_APPLY), .noop_why = WHY_STREAM },
	{ "transform", "not supported: the journal is applied directly (no SQL files)", G_STREAM,
	  cmd_stream_transform, NULL, "[INPUT OUTPUT]", .noop_why = WHY_STREAM },
	{ "sentinel", "the follower's start/end positions", NULL, NULL, sentinel_cmds, NULL },
	{ NULL }
};

static const Command compare_cmds[] = {
	{ "schema", "compare the schemas of source and target",
	  O_CONN OPT_G_JSON OPT_G_FILTER OPT_G_SNAPSHOT, cmd_compare_schema, NULL, NULL },
	{ "data", "compare row counts and checksums of every table",
	  O_CONN OPT_G_JSON OPT_G_FILTER OPT_G_SNAPSHOT O_SPLIT " show-rows", cmd_compare_data, NULL,
	  NULL },
	{ NULL }
};

static const Command root_cmds[] = {
	{ "clone", "copy a database from source to target (schema, data, indexes, ...)", G_CLONE_ALL,
	  cmd_clone, NULL, NULL },
	{ "fork", "same as clone", G_CLONE_ALL, cmd_clone, NULL, NULL },
	{ "copy-db", "same as clone (pgcopydb's older name)", G_CLONE_ALL, cmd_clone, NULL, NULL },
	{ "follow", "replay the changes made on the source since the copy's snapshot",
	  G_STREAM O_CDC " replay-no-op-updates local-only",
	  STEPS(cmd_stream, FOLLOW_RECEIVE | FOLLOW_APPLY), .noop_why = WHY_STREAM },
	{ "cutover", "fence the source, drain the follower, switch to the target",
	  O_CONN " max-lag wait timeout fence fence-command unfence-command switch-command reverse",
	  cmd_cutover, NULL, NULL },
	{ "snapshot", "export a snapshot on the source and hold it until interrupted",
	  OPT_G_SOURCE OPT_G_TARGET OPT_G_DIR " follow filters" O_SLOT, cmd_snapshot, NULL, NULL },
	{ "compare", "compare source and target", NULL, NULL, compare_cmds, NULL },
	{ "copy", "run one step of a clone", NULL, NULL, copy_cmds, NULL },
	{ "dump", "dump the schema or roles of the source", NULL, NULL, dump_cmds, NULL },
	{ "restore", "restore a dumped schema or roles on the target", NULL, NULL, restore_cmds, NULL },
	{ "list", "list what pgshift sees on the source", NULL, NULL, list_cmds, NULL },
	{ "stream", "change data capture, step by step", NULL, NULL, stream_cmds, NULL },
	{ "check", "pre-flight: will the clone (--follow) work? reads both servers, changes nothing",
	  G_CHECK, cmd_check, NULL, NULL },
	{ "ping", "check that the source and target can be reached", O_CONN, cmd_ping, NULL, NULL },
	{ "help", "show the commands", NULL, NULL, NULL, NULL },
	{ "version", "show the version", OPT_G_JSON, cmd_version, NULL, NULL },
	{ NULL }
};

/* Has the leaf a handler (its own, or one shared with its mask)? */
static bool
command_built(const Command *c)
{
	return c->fn != NULL || c->steps_fn != NULL;
}

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
				   !command_built(c) && c->children == NULL && strcmp(c->name, "help") != 0
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
	options_print_help(c->opts, c->noop_why);
	if (!command_built(c))
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
	opts.noop_why = cmd->noop_why;
	if (!options_parse(&opts, cmd->opts, path, sub_argc, sub_argv))
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
	if (opts.show_version)
	{
		printf("pgshift %s\n", PGSHIFT_VERSION);
		options_free(&opts);
		return EXIT_OK;
	}
	cli_setup_logging(&opts);
	/* what ps and /proc/PID/cmdline show: no password (the values were copied) */
	for (int i = 1; i < argc; i++)
	{
		log_scrub_secrets(argv[i]);
	}
	if (!command_built(cmd))
	{
		log_error("\"pgshift %s\" is not implemented yet", path);
		log_hint(LOG_LEVEL_ERROR, "This command is part of the interface but has not been built; "
								  "see \"pgshift --help\" for the commands available.");
		options_free(&opts);
		return EXIT_NOT_BUILT;
	}
	int rc = cmd->fn != NULL ? cmd->fn(&opts) : cmd->steps_fn(&opts, cmd->steps);
	options_free(&opts);
	log_close_file();
	return rc;
}
