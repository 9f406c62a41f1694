/*
 * src/cli/options.h — every command-line option, its environment variable,
 * and the Options struct the commands read.
 *
 * One table describes each option once: long name, short letter, argument
 * kind, group, environment suffix (PGSHIFT_<SUFFIX>, or PGCOPYDB_<SUFFIX> as an
 * alias so pgcopydb scripts work unchanged) and help text. Precedence:
 * command line, then PGSHIFT_*, then PGCOPYDB_*, then the default.
 */
#ifndef PGSHIFT_CLI_OPTIONS_H
#define PGSHIFT_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct Options
{
	/* connections and work directory */
	char *source;
	char *target;
	char *dir;

	/* parallelism */
	int table_jobs;
	int index_jobs;
	int restore_jobs;
	int lo_jobs;
	int64_t split_larger_than; /* bytes; 0 = never split */
	int split_max_parts;
	bool use_copy_binary;
	bool no_copy_binary;

	/* snapshot and resume */
	char *snapshot;
	bool not_consistent;
	bool resume;
	bool restart;

	/* schema */
	bool drop_if_exists;
	bool no_owner;
	bool no_acl;
	bool no_comments;
	bool no_tablespaces;
	bool skip_extensions;
	bool skip_collations;
	bool skip_db_properties;
	bool roles;
	bool no_role_passwords;

	/* clone steps */
	bool skip_large_objects;
	bool skip_vacuum;
	bool skip_analyze;
	bool recompress_toast;
	bool fail_fast;
	bool follow;
	char *filters;

	/* change data capture */
	char *plugin;
	char *slot_name;
	char *origin;
	char *publication;
	bool create_slot;
	char *endpos;
	char *startpos;
	bool current;

	/* list / compare / output */
	bool json;
	bool list_skipped;
	bool show_rows;
	char *schema_name;
	char *table_name;

	/* logging */
	bool verbose;
	bool debug;
	bool quiet;
	bool log_json;

	/* positional arguments left after the options */
	int nargs;
	char **args;

	/* h-flow */
	/* stream sentinel get: the one field to print (startpos, endpos, apply, write_lsn, ...) */
	char *sentinel_field;
	/* stream sentinel get --startpos ... --replay-lsn (for now; then sentinel_field) */
	bool sentinel_get_startpos;
	bool sentinel_get_endpos;
	bool sentinel_get_apply;
	bool sentinel_get_write_lsn;
	bool sentinel_get_flush_lsn;
	bool sentinel_get_replay_lsn;
	/* end h-flow */
} Options;

/* Option groups a command accepts (bit mask). */
enum
{
	OPT_G_SOURCE = 1 << 0,
	OPT_G_TARGET = 1 << 1,
	OPT_G_DIR = 1 << 2,
	OPT_G_JOBS = 1 << 3,
	OPT_G_SNAPSHOT = 1 << 4,
	OPT_G_RESUME = 1 << 5,
	OPT_G_SCHEMA = 1 << 6,
	OPT_G_CLONE = 1 << 7,
	OPT_G_FILTER = 1 << 8,
	OPT_G_CDC = 1 << 9,
	OPT_G_JSON = 1 << 10,
	OPT_G_LIST = 1 << 11,
	OPT_G_FOLLOW = 1 << 12,
	OPT_G_SENTINEL = 1 << 13,
	OPT_G_COMPARE = 1 << 14,
	OPT_G_LOG = 1 << 15 /* always on */
};

/* h-flow */
enum
{
	OPT_G_SENTINEL_GET = 1 << 16 /* stream sentinel get's field flags */
};
/* end h-flow */

#define OPT_G_CONN (OPT_G_SOURCE | OPT_G_TARGET | OPT_G_DIR)

void options_init(Options *o);
void options_free(Options *o);

/*
 * Parses argv (argv[0] being the command's last word) for a command accepting
 * the given groups; applies environment variables for options not given.
 * On a usage error prints it and returns false.
 */
bool options_parse(Options *o, int groups, const char *cmdname, int argc, char **argv);

/* Prints the options of these groups, for --help. */
void options_print_help(int groups);

/* Value of PGSHIFT_<suffix>, else PGCOPYDB_<suffix>, else NULL. */
const char *options_getenv(const char *suffix);

/* Parses "true/false/on/off/yes/no/1/0". */
bool options_parse_bool(const char *s, bool *out);

#endif /* PGSHIFT_CLI_OPTIONS_H */
