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
	bool ddl;
	char *ddl_errors;
	bool local_only;
	char *endpos;
	char *startpos;
	bool current;
	double retry_timeout;     /* seconds; 0 = forever */
	int metrics_port;         /* 0: none */
	int64_t journal_min_free; /* bytes; -1 = automatic */

	/* cutover (durations as given: "10s", "5min") */
	char *max_lag;
	char *wait;
	char *timeout;
	char *fence;
	char *fence_command;
	char *unfence_command;
	char *switch_command;
	bool reverse;

	/* list / compare / output */
	bool json;
	bool list_skipped;
	bool show_rows;
	char *schema_name;
	char *table_name;

	/* pgcopydb's options with a meaning here (docs/compatibility.md) */
	bool estimate_table_sizes;
	bool skip_ext_comments;
	bool skip_publications;
	bool skip_split_by_ctid;
	char *requirements;
	int restore_tolerance;
	bool dry_run;
	bool to_stdout;
	const char *sentinel_field; /* stream sentinel get: the one field to print, or NULL */

	/* logging */
	bool verbose;
	bool debug;
	bool trace;
	bool notice;
	bool quiet;
	bool log_json;
	bool show_version;

	/*
	 * pgcopydb options accepted without effect: where their values land, and
	 * the reasons to print once logging is set up (at most one per option).
	 */
	char *noop_value;
	bool noop_flag;
	const char *noop_given[16];
	bool noop_here[16]; /* "~id" in the command's list: no effect on this command */
	int nnoop_given;
	const char *cmdname;  /* the command parsed for */
	const char *noop_why; /* why "~id" options have no effect on it (the command row's) */

	/* positional arguments left after the options */
	int nargs;
	char **args;

	/* list commands */
	bool without_pkey;
	bool available_versions;
	bool list_requirements;
	bool summary;
} Options;

/*
 * The options a command accepts: a string of option ids separated by spaces
 * (an id is the long name, or the name with a suffix where one long name
 * means different things to different commands, e.g. "get-endpos"; "~id":
 * accepted without effect, with a notice, for pgcopydb's scripts). These
 * bundles name the usual sets; a command row in commands.c concatenates
 * them with its own ids, so its --help lists exactly what it reads.
 */
#define OPT_G_SOURCE   " source"
#define OPT_G_TARGET   " target"
#define OPT_G_DIR      " dir"
#define OPT_G_CONN     OPT_G_SOURCE OPT_G_TARGET OPT_G_DIR
#define OPT_G_SNAPSHOT " snapshot not-consistent"
#define OPT_G_RESUME   " resume restart"
#define OPT_G_JSON     " json"
#define OPT_G_FILTER   " filters"
/* always accepted: logging */
#define OPT_G_LOG " verbose notice debug trace quiet log-json version"

void options_init(Options *o);
void options_free(Options *o);

/*
 * Parses argv (argv[0] being the command's last word) for a command accepting
 * the options of optlist (and OPT_G_LOG's); applies environment variables for options not given.
 * On a usage error prints it and returns false.
 */
bool options_parse(Options *o, const char *optlist, const char *cmdname, int argc, char **argv);

/*
 * Prints the options of this list, for --help; "~id" ones (accepted without
 * effect) after the others, with noop_why.
 */
void options_print_help(const char *optlist, const char *noop_why);
/* Whether the list (as above) holds this option id. */
bool options_list_has(const char *optlist, const char *id);

/* Value of PGSHIFT_<suffix>, else PGCOPYDB_<suffix>, else NULL. */
const char *options_getenv(const char *suffix);

/* Logs, as notices, the options given that have no effect here, and why. */
void options_report_noops(const Options *o);

/* Parses "true/false/on/off/yes/no/1/0". */
bool options_parse_bool(const char *s, bool *out);

/* A duration ("90", "500ms", "10s", "5min", "1h", "2d") in seconds; false when malformed. */
bool duration_parse(const char *s, double *out);

#endif /* PGSHIFT_CLI_OPTIONS_H */
