/*
 * tests/unit/test_options.c — command-line and environment parsing of
 * src/cli/options.c: long and short options, value kinds, errors, --help,
 * positional arguments, PGSHIFT_* / PGCOPYDB_* variables and precedence.
 *
 * Every test starts with no PGSHIFT_* / PGCOPYDB_* variable set. The argv
 * arrays given to options_parse live until the end of the run: getopt keeps
 * pointers into the last argv it saw.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/options.h"
#include "core/core.h"

/* option bundles of the tests (commands.c has the commands' own lists) */
#define OPT_G_JOBS                                                                    \
	" table-jobs index-jobs restore-jobs large-objects-jobs split-tables-larger-than" \
	" split-max-parts use-copy-binary no-copy-binary"
#define ALL_GROUPS                                                                            \
	OPT_G_CONN OPT_G_JOBS OPT_G_SNAPSHOT OPT_G_RESUME OPT_G_FILTER OPT_G_JSON                 \
		" drop-if-exists no-owner no-acl no-comments no-tablespaces skip-extensions"          \
		" skip-collations skip-db-properties roles no-role-passwords skip-large-objects"      \
		" skip-vacuum skip-analyze recompress-toast fail-fast follow plugin slot-name origin" \
		" publication create-slot endpos list-skipped schema-name table-name show-rows"

/* ---- helpers ---- */

#define MAX_ARGVS 512
static char **g_argvs[MAX_ARGVS];
static int g_nargvs = 0;
static char *g_saved_tmpdir = NULL;

static bool
parse_words(Options *o, const char *groups, const char *const *words)
{
	int argc = 0;
	while (words[argc] != NULL)
	{
		argc++;
	}
	char **argv = xcalloc((size_t) argc + 1, sizeof(char *));
	for (int i = 0; i < argc; i++)
	{
		argv[i] = xstrdup(words[i]);
	}
	assert_true(g_nargvs < MAX_ARGVS);
	g_argvs[g_nargvs++] = argv;
	return options_parse(o, groups, words[0], argc, argv);
}

#define PARSE(o, groups, ...) parse_words((o), (groups), (const char *const[]){ __VA_ARGS__, NULL })

static void
clear_pgshift_env(void)
{
	/* collect first: unsetenv changes environ */
	StrList names = { 0 };
	for (char **e = environ; *e != NULL; e++)
	{
		if (strncmp(*e, "PGSHIFT_", 8) == 0 || strncmp(*e, "PGCOPYDB_", 9) == 0)
		{
			const char *eq = strchr(*e, '=');
			strlist_add_owned(&names, eq ? xstrndup(*e, (size_t) (eq - *e)) : xstrdup(*e));
		}
	}
	for (int i = 0; i < names.n; i++)
	{
		unsetenv(names.items[i]);
	}
	strlist_free(&names);
}

static int
test_setup(void **state)
{
	(void) state;
	clear_pgshift_env();
	setenv("TMPDIR", "/tmp", 1);
	return 0;
}

static int
test_teardown(void **state)
{
	(void) state;
	clear_pgshift_env();
	return 0;
}

static int
group_setup(void **state)
{
	(void) state;
	const char *t = getenv("TMPDIR");
	g_saved_tmpdir = t ? xstrdup(t) : NULL;
	/* usage errors are expected here: keep stderr to errors only */
	log_set_level(LOG_LEVEL_ERROR);
	return 0;
}

static int
group_teardown(void **state)
{
	(void) state;
	for (int i = 0; i < g_nargvs; i++)
	{
		for (char **a = g_argvs[i]; *a != NULL; a++)
		{
			free(*a);
		}
		free(g_argvs[i]);
	}
	g_nargvs = 0;
	if (g_saved_tmpdir != NULL)
	{
		setenv("TMPDIR", g_saved_tmpdir, 1);
		free(g_saved_tmpdir);
	}
	else
	{
		unsetenv("TMPDIR");
	}
	return 0;
}

static void
expect_usage_error(Options *o, bool ok, const char *what)
{
	int nargs = o->nargs;
	if (nargs < 0)
	{
		o->nargs = 0;
	}
	options_free(o);
	if (ok)
	{
		fail_msg("%s: options_parse returned true, expected a usage error", what);
	}
	if (nargs != -2)
	{
		fail_msg("%s: nargs = %d, expected -2 (usage error)", what, nargs);
	}
}

/* Runs fn in a forked child: getopt's global state stays in the child. */
static void
run_in_child(const char *(*fn)(void), const char *what)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
	{
		alarm(5);
		const char *err = fn();
		if (err != NULL)
		{
			fprintf(stdout, "# %s: %s\n", what, err);
			fflush(stdout);
			_exit(1);
		}
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
	{
		fail_msg("%s: child killed by signal %d", what, WTERMSIG(st));
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
	{
		fail_msg("%s: failed", what);
	}
}

/* ---- defaults ---- */

static void
test_defaults(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	assert_int_equal(o.table_jobs, 4);
	assert_int_equal(o.index_jobs, 4);
	assert_int_equal(o.restore_jobs, 4);
	assert_int_equal(o.lo_jobs, 4);
	assert_int_equal(o.split_larger_than, -1);
	assert_int_equal(o.split_max_parts, 0);
	assert_null(o.source);
	assert_null(o.target);
	assert_null(o.dir);

	assert_true(PARSE(&o, ALL_GROUPS, "clone"));
	assert_null(o.source);
	assert_null(o.target);
	assert_int_equal(o.table_jobs, 4);
	assert_int_equal(o.split_larger_than, -1);
	assert_false(o.drop_if_exists);
	assert_false(o.verbose);
	assert_false(o.resume);
	assert_int_equal(o.nargs, 0);
	assert_non_null(o.args);
	assert_null(o.args[0]);
	options_free(&o);
	assert_null(o.dir);
	assert_null(o.args);
}

/* ---- options and values ---- */

static void
test_long_options(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, ALL_GROUPS, "clone", "--source", "postgres://src/db",
					  "--target=postgres://tgt/db", "--dir", "/work/dir", "--table-jobs", "8",
					  "--index-jobs=2", "--restore-jobs", "3", "--large-objects-jobs", "5",
					  "--split-max-parts", "6", "--snapshot", "00000003-0000001B-1", "--filters",
					  "f.ini", "--slot-name", "myslot", "--origin=myorigin", "--plugin",
					  "test_decoding", "--publication", "mypub", "--endpos", "0/1234ABCD",
					  "--schema-name", "Sch", "--table-name", "Tab"));
	assert_string_equal(o.source, "postgres://src/db");
	assert_string_equal(o.target, "postgres://tgt/db");
	assert_string_equal(o.dir, "/work/dir");
	assert_int_equal(o.table_jobs, 8);
	assert_int_equal(o.index_jobs, 2);
	assert_int_equal(o.restore_jobs, 3);
	assert_int_equal(o.lo_jobs, 5);
	assert_int_equal(o.split_max_parts, 6);
	assert_string_equal(o.snapshot, "00000003-0000001B-1");
	assert_string_equal(o.filters, "f.ini");
	assert_string_equal(o.slot_name, "myslot");
	assert_string_equal(o.origin, "myorigin");
	assert_string_equal(o.plugin, "test_decoding");
	assert_string_equal(o.publication, "mypub");
	assert_string_equal(o.endpos, "0/1234ABCD");
	assert_string_equal(o.schema_name, "Sch");
	assert_string_equal(o.table_name, "Tab");
	assert_int_equal(o.nargs, 0);
	options_free(&o);
}

static void
test_short_options(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, ALL_GROUPS, "clone", "-S", "postgres://s", "-T", "postgres://t", "-D",
					  "/w", "-J", "8", "-I2", "-b", "3", "-F", "filters.ini", "-p", "pgoutput",
					  "-s", "sl", "-o", "orig", "-E", "0/16B6C50"));
	assert_string_equal(o.source, "postgres://s");
	assert_string_equal(o.target, "postgres://t");
	assert_string_equal(o.dir, "/w");
	assert_int_equal(o.table_jobs, 8);
	assert_int_equal(o.index_jobs, 2);
	assert_int_equal(o.lo_jobs, 3);
	assert_string_equal(o.filters, "filters.ini");
	assert_string_equal(o.plugin, "pgoutput");
	assert_string_equal(o.slot_name, "sl");
	assert_string_equal(o.origin, "orig");
	assert_string_equal(o.endpos, "0/16B6C50");
	options_free(&o);
}

static void
test_booleans(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, ALL_GROUPS, "clone", "--drop-if-exists", "-O", "-x", "--no-comments",
					  "--resume", "--not-consistent", "--fail-fast", "--use-copy-binary",
					  "--skip-vacuum", "--follow", "--json", "--log-json", "--create-slot",
					  "--roles", "-vq"));
	assert_true(o.drop_if_exists);
	assert_true(o.no_owner);
	assert_true(o.no_acl);
	assert_true(o.no_comments);
	assert_true(o.resume);
	assert_true(o.not_consistent);
	assert_true(o.fail_fast);
	assert_true(o.use_copy_binary);
	assert_true(o.skip_vacuum);
	assert_true(o.follow);
	assert_true(o.json);
	assert_true(o.log_json);
	assert_true(o.create_slot);
	assert_true(o.roles);
	assert_true(o.verbose);
	assert_true(o.quiet);
	/* not given: still false */
	assert_false(o.restart);
	assert_false(o.no_tablespaces);
	assert_false(o.skip_analyze);
	assert_false(o.skip_large_objects);
	assert_false(o.debug);
	assert_false(o.no_role_passwords);
	options_free(&o);
}

static void
test_boolean_rejects_value(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	expect_usage_error(&o, PARSE(&o, ALL_GROUPS, "clone", "--resume=yes"), "--resume=yes");
}

static void
test_sizes(void **state)
{
	(void) state;
	static const struct
	{
		const char *arg;
		int64_t bytes;
	} cases[] = {
		{ "8MB", 8LL * 1024 * 1024 },
		{ "1GB", 1024LL * 1024 * 1024 },
		{ "100kB", 100LL * 1024 },
		{ "12345", 12345 },
		{ "0", 0 },
		{ "2 TB", 2LL * 1024 * 1024 * 1024 * 1024 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		Options o;
		options_init(&o);
		if (!PARSE(&o, OPT_G_JOBS, "clone", "--split-tables-larger-than", cases[i].arg))
		{
			fail_msg("--split-tables-larger-than %s rejected", cases[i].arg);
		}
		if (o.split_larger_than != cases[i].bytes)
		{
			fail_msg("--split-tables-larger-than %s = %lld, expected %lld", cases[i].arg,
					 (long long) o.split_larger_than, (long long) cases[i].bytes);
		}
		options_free(&o);
	}
}

static void
test_sizes_invalid(void **state)
{
	(void) state;
	static const char *const bad[] = { "lots", "8XB", "-1", "", "GB", "1GB2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		Options o;
		options_init(&o);
		char what[64];
		snprintf(what, sizeof(what), "--split-tables-larger-than \"%s\"", bad[i]);
		expect_usage_error(&o, PARSE(&o, OPT_G_JOBS, "clone", "--split-tables-larger-than", bad[i]),
						   what);
	}
}

static void
test_durations(void **state)
{
	(void) state;
	static const struct
	{
		const char *arg;
		double seconds;
	} cases[] = { { "90", 90 },     { "90s", 90 },    { "5min", 300 }, { "1h", 3600 },
				  { "2d", 172800 }, { "500ms", 0.5 }, { "0", 0 },      { "1.5 h", 5400 } };
	Options o;
	options_init(&o);
	assert_true(o.retry_timeout == 3600);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		options_init(&o);
		if (!PARSE(&o, " retry-timeout", "follow", "--retry-timeout", cases[i].arg))
		{
			fail_msg("--retry-timeout %s rejected", cases[i].arg);
		}
		if (o.retry_timeout != cases[i].seconds)
		{
			fail_msg("--retry-timeout %s = %g, expected %g", cases[i].arg, o.retry_timeout,
					 cases[i].seconds);
		}
		options_free(&o);
	}
	static const char *const bad[] = { "soon", "-1", "", "5x", "1hour", "h" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		options_init(&o);
		char what[64];
		snprintf(what, sizeof(what), "--retry-timeout \"%s\"", bad[i]);
		expect_usage_error(&o, PARSE(&o, " retry-timeout", "follow", "--retry-timeout", bad[i]),
						   what);
	}
}

static void
test_integers(void **state)
{
	(void) state;
	static const struct
	{
		const char *arg;
		int value;
	} good[] = { { "0", 0 }, { "1", 1 }, { "16", 16 }, { "1024", 1024 } };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		Options o;
		options_init(&o);
		assert_true(PARSE(&o, OPT_G_JOBS, "clone", "--table-jobs", good[i].arg));
		assert_int_equal(o.table_jobs, good[i].value);
		options_free(&o);
	}
}

static void
test_integers_out_of_range(void **state)
{
	(void) state;
	static const char *const bad[] = { "1025",       "-1", "abc", "8x", "", "99999999999999999999",
									   "4294967300", "1.5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		Options o;
		options_init(&o);
		char what[64];
		snprintf(what, sizeof(what), "--table-jobs \"%s\"", bad[i]);
		expect_usage_error(&o, PARSE(&o, OPT_G_JOBS, "clone", "--table-jobs", bad[i]), what);
		options_init(&o);
		snprintf(what, sizeof(what), "-I \"%s\"", bad[i]);
		expect_usage_error(&o, PARSE(&o, OPT_G_JOBS, "clone", "-I", bad[i]), what);
	}
}

static void
test_unknown_option(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	expect_usage_error(&o, PARSE(&o, ALL_GROUPS, "clone", "--no-such-option"), "--no-such-option");
	options_init(&o);
	expect_usage_error(&o, PARSE(&o, ALL_GROUPS, "clone", "-Z"), "-Z");
	options_init(&o);
	expect_usage_error(&o, PARSE(&o, ALL_GROUPS, "clone", "--source", "s", "--bogus=1"),
					   "--bogus=1 after a good option");
}

static void
test_option_of_other_group_rejected(void **state)
{
	(void) state;
	Options o;
	/* ping takes connections only: schema, jobs and CDC options are unknown there */
	options_init(&o);
	expect_usage_error(&o, PARSE(&o, OPT_G_CONN, "ping", "--drop-if-exists"),
					   "--drop-if-exists for a OPT_G_CONN command");
	options_init(&o);
	expect_usage_error(&o, PARSE(&o, OPT_G_CONN, "ping", "-J", "4"), "-J for a OPT_G_CONN command");
	options_init(&o);
	expect_usage_error(&o, PARSE(&o, OPT_G_SOURCE, "ping", "--target", "t"),
					   "--target for a OPT_G_SOURCE command");
	/* the logging options are always accepted */
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_SOURCE, "ping", "--verbose", "-d", "--quiet"));
	assert_true(o.verbose);
	assert_true(o.debug);
	assert_true(o.quiet);
	options_free(&o);
}

static void
test_missing_value(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	expect_usage_error(&o, PARSE(&o, OPT_G_CONN, "ping", "--source"), "--source without value");
	options_init(&o);
	expect_usage_error(&o, PARSE(&o, OPT_G_CONN, "ping", "-S"), "-S without value");
	options_init(&o);
	expect_usage_error(&o, PARSE(&o, OPT_G_JOBS, "clone", "--table-jobs"),
					   "--table-jobs without value");
}

static void
test_help(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	assert_false(PARSE(&o, OPT_G_CONN, "ping", "--help"));
	assert_int_equal(o.nargs, -1);
	o.nargs = 0;
	options_free(&o);

	options_init(&o);
	assert_false(PARSE(&o, OPT_G_CONN, "ping", "-h"));
	assert_int_equal(o.nargs, -1);
	o.nargs = 0;
	options_free(&o);

	options_init(&o);
	assert_false(PARSE(&o, OPT_G_CONN, "ping", "--source", "s", "--help", "--no-such"));
	assert_int_equal(o.nargs, -1);
	o.nargs = 0;
	options_free(&o);
}

static void
test_positional_args(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "list", "--source", "s", "first", "second"));
	assert_string_equal(o.source, "s");
	assert_int_equal(o.nargs, 2);
	assert_string_equal(o.args[0], "first");
	assert_string_equal(o.args[1], "second");
	assert_null(o.args[2]);
	options_free(&o);

	/* "--" ends the options */
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "list", "-v", "--", "--source", "x"));
	assert_null(o.source);
	assert_true(o.verbose);
	assert_int_equal(o.nargs, 2);
	assert_string_equal(o.args[0], "--source");
	assert_string_equal(o.args[1], "x");
	options_free(&o);

	/* options stop at the first positional argument */
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN OPT_G_RESUME, "list", "pos", "--resume"));
	assert_false(o.resume);
	assert_int_equal(o.nargs, 2);
	assert_string_equal(o.args[0], "pos");
	assert_string_equal(o.args[1], "--resume");
	options_free(&o);
}

static void
test_repeated_option_last_wins(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN OPT_G_JOBS, "clone", "--source", "first", "-S", "second", "-J",
					  "2", "--table-jobs", "3"));
	assert_string_equal(o.source, "second");
	assert_int_equal(o.table_jobs, 3);
	options_free(&o);
}

/* ---- environment ---- */

static void
test_env_source(void **state)
{
	(void) state;
	setenv("PGSHIFT_SOURCE_PGURI", "postgres://from-pgshift-env/db", 1);
	setenv("PGSHIFT_TARGET_PGURI", "postgres://target-env/db", 1);
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "clone"));
	assert_string_equal(o.source, "postgres://from-pgshift-env/db");
	assert_string_equal(o.target, "postgres://target-env/db");
	options_free(&o);
}

static void
test_env_pgcopydb_alias(void **state)
{
	(void) state;
	setenv("PGCOPYDB_SOURCE_PGURI", "postgres://from-pgcopydb-env/db", 1);
	setenv("PGCOPYDB_TARGET_PGURI", "postgres://pgcopydb-target/db", 1);
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "clone"));
	assert_string_equal(o.source, "postgres://from-pgcopydb-env/db");
	assert_string_equal(o.target, "postgres://pgcopydb-target/db");
	options_free(&o);
}

static void
test_env_pgshift_precedes_pgcopydb(void **state)
{
	(void) state;
	setenv("PGSHIFT_SOURCE_PGURI", "postgres://pgshift/db", 1);
	setenv("PGCOPYDB_SOURCE_PGURI", "postgres://pgcopydb/db", 1);
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "clone"));
	assert_string_equal(o.source, "postgres://pgshift/db");
	options_free(&o);

	/* an empty PGSHIFT_ variable counts as not set */
	setenv("PGSHIFT_SOURCE_PGURI", "", 1);
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "clone"));
	assert_string_equal(o.source, "postgres://pgcopydb/db");
	options_free(&o);
}

static void
test_env_command_line_precedes(void **state)
{
	(void) state;
	setenv("PGSHIFT_SOURCE_PGURI", "postgres://pgshift/db", 1);
	setenv("PGCOPYDB_SOURCE_PGURI", "postgres://pgcopydb/db", 1);
	setenv("PGCOPYDB_TARGET_PGURI", "postgres://pgcopydb-target/db", 1);
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "clone", "--source", "postgres://cli/db"));
	assert_string_equal(o.source, "postgres://cli/db");
	/* the other option still comes from the environment */
	assert_string_equal(o.target, "postgres://pgcopydb-target/db");
	options_free(&o);

	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "clone", "-S", "postgres://cli-short/db"));
	assert_string_equal(o.source, "postgres://cli-short/db");
	options_free(&o);
}

static void
test_env_integers(void **state)
{
	(void) state;
	setenv("PGSHIFT_TABLE_JOBS", "16", 1);
	setenv("PGCOPYDB_INDEX_JOBS", "3", 1);
	setenv("PGCOPYDB_LARGE_OBJECTS_JOBS", "7", 1);
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_JOBS, "clone"));
	assert_int_equal(o.table_jobs, 16);
	assert_int_equal(o.index_jobs, 3);
	assert_int_equal(o.lo_jobs, 7);
	assert_int_equal(o.restore_jobs, 4);
	options_free(&o);

	/* PGSHIFT_ over PGCOPYDB_, command line over both */
	setenv("PGCOPYDB_TABLE_JOBS", "12", 1);
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_JOBS, "clone"));
	assert_int_equal(o.table_jobs, 16);
	options_free(&o);

	unsetenv("PGSHIFT_TABLE_JOBS");
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_JOBS, "clone"));
	assert_int_equal(o.table_jobs, 12);
	options_free(&o);

	options_init(&o);
	assert_true(PARSE(&o, OPT_G_JOBS, "clone", "-J", "2"));
	assert_int_equal(o.table_jobs, 2);
	options_free(&o);
}

static void
test_env_booleans(void **state)
{
	(void) state;
	setenv("PGCOPYDB_DROP_IF_EXISTS", "true", 1);
	setenv("PGSHIFT_NO_OWNER", "on", 1);
	setenv("PGSHIFT_RESUME", "yes", 1);
	setenv("PGCOPYDB_SKIP_VACUUM", "1", 1);
	setenv("PGSHIFT_FAIL_FAST", "false", 1);
	setenv("PGSHIFT_VERBOSE", "TRUE", 1);
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, ALL_GROUPS, "clone"));
	assert_true(o.drop_if_exists);
	assert_true(o.no_owner);
	assert_true(o.resume);
	assert_true(o.skip_vacuum);
	assert_false(o.fail_fast);
	assert_true(o.verbose);
	assert_false(o.no_acl);
	options_free(&o);

	/* PGSHIFT_ off beats PGCOPYDB_ true */
	setenv("PGSHIFT_DROP_IF_EXISTS", "off", 1);
	options_init(&o);
	assert_true(PARSE(&o, " drop-if-exists", "clone"));
	assert_false(o.drop_if_exists);
	options_free(&o);
}

/* pgcopydb's sentinel get flags: one field each, two of them a usage error */
static void
test_sentinel_get_flags(void **state)
{
	(void) state;
	const char *get = " source dir get-json get-startpos get-endpos get-flush-lsn";
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, get, "stream sentinel get", "--flush-lsn"));
	assert_string_equal(o.sentinel_field, "flush_lsn");
	options_free(&o);

	options_init(&o);
	assert_true(PARSE(&o, get, "stream sentinel get", "-J", "-s"));
	assert_true(o.json);
	assert_string_equal(o.sentinel_field, "startpos");
	options_free(&o);

	options_init(&o);
	expect_usage_error(&o, PARSE(&o, get, "stream sentinel get", "--startpos", "--endpos"),
					   "two field flags");

	/* the same long name takes a value for the commands that set it */
	options_init(&o);
	assert_true(PARSE(&o, " endpos", "follow", "--endpos", "0/1A"));
	assert_string_equal(o.endpos, "0/1A");
	options_free(&o);
}

/* accepted without effect: parsed (values consumed), remembered for the notice */
static void
test_noop_options(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, " prune-min-age defer-indexes table-jobs", "clone", "--prune-min-age",
					  "5", "--defer-indexes", "--defer-indexes", "-J", "3"));
	assert_int_equal(o.table_jobs, 3);
	assert_int_equal(o.nnoop_given, 2);
	assert_string_equal(o.noop_given[0], "prune-min-age");
	assert_string_equal(o.noop_given[1], "defer-indexes");
	options_free(&o);
}

/* two options of one command with the same name or letter: refused, not guessed */
static void
test_option_clash(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	expect_usage_error(&o, PARSE(&o, " json get-json", "x"), "--json twice");
	options_init(&o);
	expect_usage_error(&o, PARSE(&o, " table-jobs get-json", "x"), "-J twice");
}

/* --trace, --notice, -V are every command's */
static void
test_log_options_everywhere(void **state)
{
	(void) state;
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, "", "ping", "-z", "--notice", "-V"));
	assert_true(o.trace);
	assert_true(o.notice);
	assert_true(o.show_version);
	options_free(&o);
}

static void
test_env_sizes(void **state)
{
	(void) state;
	setenv("PGCOPYDB_SPLIT_TABLES_LARGER_THAN", "1GB", 1);
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_JOBS, "clone"));
	assert_int_equal(o.split_larger_than, 1024LL * 1024 * 1024);
	options_free(&o);

	setenv("PGSHIFT_SPLIT_TABLES_LARGER_THAN", "100kB", 1);
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_JOBS, "clone"));
	assert_int_equal(o.split_larger_than, 100LL * 1024);
	options_free(&o);
}

static void
test_env_invalid_values(void **state)
{
	(void) state;
	static const struct
	{
		const char *name;
		const char *value;
	} bad[] = {
		{ "PGSHIFT_TABLE_JOBS", "lots" }, { "PGCOPYDB_TABLE_JOBS", "2000" },
		{ "PGSHIFT_INDEX_JOBS", "-4" },   { "PGCOPYDB_DROP_IF_EXISTS", "maybe" },
		{ "PGSHIFT_RESUME", "2" },        { "PGSHIFT_SPLIT_TABLES_LARGER_THAN", "huge" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		clear_pgshift_env();
		setenv(bad[i].name, bad[i].value, 1);
		Options o;
		options_init(&o);
		char what[96];
		snprintf(what, sizeof(what), "%s=%s", bad[i].name, bad[i].value);
		expect_usage_error(&o, PARSE(&o, ALL_GROUPS, "clone"), what);
	}
}

static void
test_env_invalid_ignored_when_not_used(void **state)
{
	(void) state;
	/* given on the command line: the environment is not read */
	setenv("PGSHIFT_TABLE_JOBS", "lots", 1);
	Options o;
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_JOBS, "clone", "--table-jobs", "5"));
	assert_int_equal(o.table_jobs, 5);
	options_free(&o);

	/* an option of a group the command does not take: not read either */
	setenv("PGSHIFT_DROP_IF_EXISTS", "true", 1);
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "ping"));
	assert_false(o.drop_if_exists);
	assert_int_equal(o.table_jobs, 4);
	options_free(&o);
}

static void
test_default_dir(void **state)
{
	(void) state;
	Options o;

	setenv("TMPDIR", "/var/tmp/xyz", 1);
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "clone"));
	assert_string_equal(o.dir, "/var/tmp/xyz/pgshift");
	options_free(&o);

	unsetenv("TMPDIR");
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "clone"));
	assert_string_equal(o.dir, "/tmp/pgshift");
	options_free(&o);

	setenv("TMPDIR", "", 1);
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "clone"));
	assert_string_equal(o.dir, "/tmp/pgshift");
	options_free(&o);

	/* PGSHIFT_DIR / PGCOPYDB_DIR and --dir replace the default */
	setenv("TMPDIR", "/var/tmp/xyz", 1);
	setenv("PGCOPYDB_DIR", "/from/pgcopydb", 1);
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "clone"));
	assert_string_equal(o.dir, "/from/pgcopydb");
	options_free(&o);

	options_init(&o);
	assert_true(PARSE(&o, OPT_G_CONN, "clone", "--dir", "/from/cli"));
	assert_string_equal(o.dir, "/from/cli");
	options_free(&o);

	/* a command without a work directory gets none */
	options_init(&o);
	assert_true(PARSE(&o, OPT_G_SOURCE, "ping"));
	assert_null(o.dir);
	options_free(&o);
}

static void
test_options_getenv(void **state)
{
	(void) state;
	assert_null(options_getenv("SOURCE_PGURI"));
	setenv("PGCOPYDB_SOURCE_PGURI", "b", 1);
	assert_string_equal(options_getenv("SOURCE_PGURI"), "b");
	setenv("PGSHIFT_SOURCE_PGURI", "a", 1);
	assert_string_equal(options_getenv("SOURCE_PGURI"), "a");
	setenv("PGSHIFT_SOURCE_PGURI", "", 1);
	assert_string_equal(options_getenv("SOURCE_PGURI"), "b");
	setenv("PGCOPYDB_SOURCE_PGURI", "", 1);
	assert_null(options_getenv("SOURCE_PGURI"));
}

static void
test_parse_bool(void **state)
{
	(void) state;
	static const char *const yes[] = { "1",  "true", "TRUE", "True", "on",
									   "ON", "yes",  "Yes",  "t",    "y" };
	static const char *const no[] = { "0", "false", "FALSE", "off", "Off", "no", "NO", "f", "n" };
	static const char *const bad[] = { "",      "2",     "maybe", "truee", "yess",
									   " true", "true ", "-1",    "nope" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
	{
		bool b = false;
		if (!options_parse_bool(yes[i], &b) || !b)
		{
			fail_msg("options_parse_bool(\"%s\") is not true", yes[i]);
		}
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
	{
		bool b = true;
		if (!options_parse_bool(no[i], &b) || b)
		{
			fail_msg("options_parse_bool(\"%s\") is not false", no[i]);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		bool b = true;
		if (options_parse_bool(bad[i], &b))
		{
			fail_msg("options_parse_bool(\"%s\") accepted it", bad[i]);
		}
		assert_true(b); /* untouched */
	}
}

/* ---- getopt state between calls, and error messages (in a child) ---- */

static const char *
child_reparse_after_help_in_cluster(void)
{
	static char msg[128];
	Options o;
	options_init(&o);
	/* -h stops the parse in the middle of "-hv" */
	if (PARSE(&o, OPT_G_CONN, "ping", "-hv") || o.nargs != -1)
	{
		return "-hv is not --help";
	}
	o.nargs = 0;
	options_free(&o);

	/* a second, unrelated parse must not see the rest of the first one's "-hv" */
	options_init(&o);
	if (!PARSE(&o, OPT_G_CONN, "ping", "--source", "s"))
	{
		return "second parse failed";
	}
	if (o.verbose)
	{
		snprintf(msg, sizeof(msg),
				 "second parse of {\"ping\", \"--source\", \"s\"} set verbose "
				 "(left over from the first parse's \"-hv\")");
		return msg;
	}
	if (o.source == NULL || strcmp(o.source, "s") != 0)
	{
		return "second parse lost --source";
	}
	options_free(&o);
	return NULL;
}

static void
test_reparse_after_aborted_cluster(void **state)
{
	(void) state;
	run_in_child(child_reparse_after_help_in_cluster,
				 "options_parse after a previous parse stopped inside \"-hv\"");
}

static const char *
child_unknown_short_option_message(void)
{
	static char msg[512];
	char path[] = "/tmp/pgshift-test-options-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
	{
		return "mkstemp failed";
	}
	dup2(fd, STDERR_FILENO);
	close(fd);
	Options o;
	options_init(&o);
	bool ok = PARSE(&o, OPT_G_CONN, "ping", "-Zv");
	size_t len = 0;
	char *data = file_read_all(path, &len);
	unlink(path);
	if (ok || data == NULL)
	{
		return "-Zv accepted";
	}
	/* the message must name the bad option, not the command word */
	if (strstr(data, "-Z") == NULL)
	{
		snprintf(msg, sizeof(msg), "message for \"-Zv\" does not name it: %s", data);
		return msg;
	}
	free(data);
	return NULL;
}

static void
test_unknown_short_option_message(void **state)
{
	(void) state;
	run_in_child(child_unknown_short_option_message,
				 "error message for an unknown option at the start of \"-Zv\"");
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_long_options),
		T(test_short_options),
		T(test_booleans),
		T(test_boolean_rejects_value),
		T(test_sizes),
		T(test_sizes_invalid),
		T(test_durations),
		T(test_integers),
		T(test_integers_out_of_range),
		T(test_unknown_option),
		T(test_option_of_other_group_rejected),
		T(test_missing_value),
		T(test_help),
		T(test_positional_args),
		T(test_repeated_option_last_wins),
		T(test_env_source),
		T(test_env_pgcopydb_alias),
		T(test_env_pgshift_precedes_pgcopydb),
		T(test_env_command_line_precedes),
		T(test_env_integers),
		T(test_env_booleans),
		T(test_sentinel_get_flags),
		T(test_noop_options),
		T(test_option_clash),
		T(test_log_options_everywhere),
		T(test_env_sizes),
		T(test_env_invalid_values),
		T(test_env_invalid_ignored_when_not_used),
		T(test_default_dir),
		T(test_options_getenv),
		T(test_parse_bool),
		T(test_reparse_after_aborted_cluster),
		T(test_unknown_short_option_message),
	};
#undef T
	return cmocka_run_group_tests_name("options", tests, group_setup, group_teardown);
}
