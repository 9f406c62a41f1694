/*
 * tests/unit/test_mask.c — passwords never shown: pg_conninfo_mask for every
 * form of connection string, log secrets (conninfo passwords and PGPASSWORD)
 * masked in log lines and in the log file, and pg_conninfo_for_child.
 *
 * Log secrets are process-global and cannot be unregistered: every secret
 * used here is distinct, and tests whose secrets would disturb the others run
 * in a forked child.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/core.h"
#include "pg/pg.h"

/* ---- helpers ---- */

/*
 * What a test allocates is handed to own() and freed after the test, even
 * when an assertion fails half-way (so the sanitizer build reports only real
 * leaks).
 */
#define MAX_OWNED 256
static void *g_owned[MAX_OWNED];
static int g_nowned = 0;

static void *
own(void *p)
{
	assert_true(g_nowned < MAX_OWNED);
	g_owned[g_nowned++] = p;
	return p;
}

static int
free_owned(void **state)
{
	(void) state;
	for (int i = 0; i < g_nowned; i++)
	{
		free(g_owned[i]);
	}
	g_nowned = 0;
	return 0;
}

static void
check_mask(const char *conninfo, const char *expected, const char *password)
{
	char *m = own(pg_conninfo_mask(conninfo));
	if (strcmp(m, expected) != 0)
	{
		fail_msg("pg_conninfo_mask(\"%s\") = \"%s\", expected \"%s\"", conninfo, m, expected);
	}
	if (password != NULL && strstr(m, password) != NULL)
	{
		fail_msg("pg_conninfo_mask(\"%s\") = \"%s\" still holds the password \"%s\"", conninfo, m,
				 password);
	}
	/* what is shown must still be a connection string libpq accepts */
	char *err = NULL;
	bool valid = pg_conninfo_valid(m, &err);
	own(err);
	if (!valid)
	{
		fail_msg("masked \"%s\" is not a valid connection string: %s", m, err);
	}
}

static void
check_no_password_in(const char *where, const char *s, const char *password)
{
	if (strstr(s, password) != NULL)
	{
		fail_msg("%s \"%s\" holds the password \"%s\"", where, s, password);
	}
}

static int
count_occurrences(const char *s, const char *needle)
{
	int n = 0;
	size_t nl = strlen(needle);
	for (const char *p = strstr(s, needle); p != NULL; p = strstr(p + nl, needle))
	{
		n++;
	}
	return n;
}

/*
 * Runs fn in a forked child (so that the secrets it registers stay there) with
 * a time limit; fn returns NULL on success or a message on failure.
 */
typedef const char *(*ChildFn)(void);

static void
run_in_child(ChildFn fn, const char *what)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
	{
		alarm(2);
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
		fail_msg("%s: child killed by signal %d%s", what, WTERMSIG(st),
				 WTERMSIG(st) == SIGALRM ? " (did not finish within 2 s: endless loop)" : "");
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
	{
		fail_msg("%s: failed (exit status %d)", what, WEXITSTATUS(st));
	}
}

/* ---- pg_conninfo_mask: URIs ---- */

static void
test_mask_uri_userinfo(void **state)
{
	(void) state;
	check_mask("postgresql://alice:s3cretPw@db.example.com:5432/app",
			   "postgresql://alice:****@db.example.com:5432/app", "s3cretPw");
	check_mask("postgresql://alice:s3cretPw@db.example.com",
			   "postgresql://alice:****@db.example.com", "s3cretPw");
	check_mask("postgresql://alice:s3cretPw@db/app?sslmode=require",
			   "postgresql://alice:****@db/app?sslmode=require", "s3cretPw");
}

static void
test_mask_uri_postgres_scheme(void **state)
{
	(void) state;
	check_mask("postgres://alice:s3cretPw@db:5432/app", "postgres://alice:****@db:5432/app",
			   "s3cretPw");
}

static void
test_mask_uri_percent_encoded(void **state)
{
	(void) state;
	check_mask("postgresql://alice:p%40ss%2Fw%3Ard@db/app", "postgresql://alice:****@db/app",
			   "p%40ss");
	/* neither the raw nor any decoded piece survives */
	char *m = own(pg_conninfo_mask("postgresql://alice:p%40ss%2Fw%3Ard@db/app"));
	check_no_password_in("masked", m, "%40");
	check_no_password_in("masked", m, "w%3Ard");
	/* user names may be percent-encoded too; they stay as they are */
	check_mask("postgresql://al%40ice:p%25w@db/app", "postgresql://al%40ice:****@db/app", "p%25w");
}

static void
test_mask_uri_query_password(void **state)
{
	(void) state;
	check_mask("postgresql://alice@db/app?password=s3cretPw&sslmode=require",
			   "postgresql://alice@db/app?password=****&sslmode=require", "s3cretPw");
	check_mask("postgresql://db/app?password=s3cretPw", "postgresql://db/app?password=****",
			   "s3cretPw");
	check_mask("postgresql:///app?host=/tmp&password=s3cretPw",
			   "postgresql:///app?host=/tmp&password=****", "s3cretPw");
}

static void
test_mask_uri_query_password_among_params(void **state)
{
	(void) state;
	check_mask("postgresql://db/app?sslmode=require&password=s3cretPw&connect_timeout=5",
			   "postgresql://db/app?sslmode=require&password=****&connect_timeout=5", "s3cretPw");
	check_mask("postgresql://db/app?application_name=x&user=alice&password=p%26w%3D1",
			   "postgresql://db/app?application_name=x&user=alice&password=****", "p%26w");
	/* both places at once */
	check_mask("postgresql://alice:firstPw@db/app?password=secondPw&sslmode=disable",
			   "postgresql://alice:****@db/app?password=****&sslmode=disable", "firstPw");
	check_mask("postgresql://alice:firstPw@db/app?password=secondPw&sslmode=disable",
			   "postgresql://alice:****@db/app?password=****&sslmode=disable", "secondPw");
}

static void
test_mask_uri_multi_host(void **state)
{
	(void) state;
	check_mask("postgresql://alice:s3cretPw@h1:5432,h2:5433,h3/app?target_session_attrs=read-write",
			   "postgresql://alice:****@h1:5432,h2:5433,h3/app?target_session_attrs=read-write",
			   "s3cretPw");
	check_mask("postgresql://alice@h1:5432,h2:5433/app?password=s3cretPw",
			   "postgresql://alice@h1:5432,h2:5433/app?password=****", "s3cretPw");
}

static void
test_mask_uri_without_password_unchanged(void **state)
{
	(void) state;
	static const char *const uris[] = {
		"postgresql://db.example.com:5432/app",
		"postgresql://alice@db.example.com:5432/app?sslmode=require",
		"postgres://alice@h1:5432,h2:5433/app",
		"postgresql://[::1]:5432/app",
		"postgresql://alice@[2001:db8::1]:5432/app",
		"postgresql:///app?host=/var/run/postgresql&port=5433",
		"postgresql://",
		"postgresql://db/app?passfile=/home/alice/.pgpass",
	};
	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++)
	{
		check_mask(uris[i], uris[i], NULL);
	}
}

static void
test_mask_uri_password_with_reserved_chars(void **state)
{
	(void) state;
	/*
	 * libpq reads the userinfo up to the first '@' before any '/', so a
	 * password may hold an unencoded '?' or '#': libpq connects with it.
	 */
	char *pw = own(pg_conninfo_get("postgresql://alice:pa?ss@db/app", "password"));
	assert_non_null(pw);
	assert_string_equal(pw, "pa?ss");

	char *m = own(pg_conninfo_mask("postgresql://alice:pa?ss@db/app"));
	check_no_password_in("pg_conninfo_mask(\"postgresql://alice:pa?ss@db/app\")", m, "pa?ss");
	check_no_password_in("pg_conninfo_mask(\"postgresql://alice:pa?ss@db/app\")", m, "ss@db");

	m = own(pg_conninfo_mask("postgresql://alice:pa#ss@db/app"));
	check_no_password_in("pg_conninfo_mask(\"postgresql://alice:pa#ss@db/app\")", m, "pa#ss");
}

/* ---- pg_conninfo_mask: keyword/value strings ---- */

static void
test_mask_kw_bare(void **state)
{
	(void) state;
	check_mask("host=db password=s3cretPw dbname=app", "host=db password=**** dbname=app",
			   "s3cretPw");
	check_mask("password=s3cretPw", "password=****", "s3cretPw");
	check_mask("host=db user=alice password=s3cretPw", "host=db user=alice password=****",
			   "s3cretPw");
}

static void
test_mask_kw_quoted_with_spaces(void **state)
{
	(void) state;
	check_mask("host=db password='quoted with spaces' user=alice",
			   "host=db password=**** user=alice", "quoted with spaces");
	char *m = own(pg_conninfo_mask("host=db password='quoted with spaces' user=alice"));
	check_no_password_in("masked", m, "spaces");
	check_no_password_in("masked", m, "quoted");
}

static void
test_mask_kw_escaped_quote(void **state)
{
	(void) state;
	check_mask("password='with \\' escaped quote' host=db", "password=**** host=db", "escaped");
	check_mask("host=db password='back\\\\slash' port=5433", "host=db password=**** port=5433",
			   "slash");
	/* bare value with a backslash-escaped space */
	check_mask("password=two\\ words host=db", "password=**** host=db", "words");
}

static void
test_mask_kw_spaces_around_equals(void **state)
{
	(void) state;
	check_mask("host = db password = s3cretPw dbname = app",
			   "host = db password = **** dbname = app", "s3cretPw");
	check_mask("  password= 'a b'  host =db  ", "  password= ****  host =db  ", "a b");
	check_mask("host=db\tpassword\t=\ts3cretPw", "host=db\tpassword\t=\t****", "s3cretPw");
}

static void
test_mask_kw_without_password_unchanged(void **state)
{
	(void) state;
	static const char *const kws[] = {
		"host=db user=alice dbname=app",
		"host=db user='alice smith' dbname='my app' sslmode=require",
		"dbname=app passfile=/home/alice/.pgpass",
		"",
		"service=prod",
	};
	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
	{
		check_mask(kws[i], kws[i], NULL);
	}
	/* a value that merely contains the word password is not a password */
	check_mask("application_name=password host=db", "application_name=password host=db", NULL);
}

static void
test_mask_null(void **state)
{
	(void) state;
	char *m = own(pg_conninfo_mask(NULL));
	assert_non_null(m);
	assert_string_equal(m, "");
}

/* ---- log secrets ---- */

static void
mask_and_check(const char *text, const char *const *secrets, int nsecrets, int expected_stars)
{
	StrBuf sb;
	sb_init(&sb);
	sb_append(&sb, text);
	log_mask_secrets(&sb);
	own(sb.data);
	assert_int_equal(sb.len, strlen(sb.data));
	for (int i = 0; i < nsecrets; i++)
	{
		if (strstr(sb.data, secrets[i]) != NULL)
		{
			fail_msg("after log_mask_secrets, \"%s\" still holds \"%s\"", sb.data, secrets[i]);
		}
	}
	if (expected_stars >= 0 && count_occurrences(sb.data, "****") != expected_stars)
	{
		fail_msg("after log_mask_secrets, \"%s\" has %d masks, expected %d", sb.data,
				 count_occurrences(sb.data, "****"), expected_stars);
	}
}

static void
test_secrets_uri_userinfo_and_pgpassword(void **state)
{
	(void) state;
	setenv("PGPASSWORD", "EnvPw-7731", 1);
	pg_conninfo_register_secrets("postgresql://alice:Uri%2FPw-4410@db/app");
	unsetenv("PGPASSWORD");

	static const char *const secrets[] = { "EnvPw-7731", "Uri%2FPw-4410", "Uri/Pw-4410" };
	mask_and_check("env=EnvPw-7731 raw=Uri%2FPw-4410 decoded=Uri/Pw-4410 end", secrets, 3, 3);
	/* every occurrence, in the middle of words too */
	mask_and_check("EnvPw-7731EnvPw-7731xEnvPw-7731", secrets, 3, 3);
	/* the whole URI as it might end up in an error message */
	mask_and_check("could not connect to postgresql://alice:Uri%2FPw-4410@db/app", secrets, 3, 1);
}

static void
test_secrets_keyword_quoted(void **state)
{
	(void) state;
	pg_conninfo_register_secrets("host=db password='Kw Pw\\'5521' user=alice");
	static const char *const secrets[] = { "Kw Pw'5521" };
	mask_and_check("password is Kw Pw'5521.", secrets, 1, 1);
}

static void
test_secrets_uri_query_decoded(void **state)
{
	(void) state;
	pg_conninfo_register_secrets("postgresql://db/app?sslmode=require&password=Qry%26Pw-8812");
	static const char *const secrets[] = { "Qry&Pw-8812" };
	mask_and_check("decoded Qry&Pw-8812 here", secrets, 1, 1);
}

static void
test_secrets_uri_query_raw(void **state)
{
	(void) state;
	/* as for the userinfo, the still percent-encoded form must be masked too */
	const char *uri = "postgresql://db/app?sslmode=require&password=Raw%3DPw-6604";
	pg_conninfo_register_secrets(uri);
	static const char *const secrets[] = { "Raw%3DPw-6604", "Raw=Pw-6604" };
	StrBuf sb;
	sb_init(&sb);
	sb_printf(&sb, "invalid connection string \"%s\"", uri);
	log_mask_secrets(&sb);
	own(sb.data);
	for (int i = 0; i < 2; i++)
	{
		if (strstr(sb.data, secrets[i]) != NULL)
		{
			fail_msg("after log_mask_secrets, \"%s\" still holds \"%s\"", sb.data, secrets[i]);
		}
	}
}

static void
test_secrets_pgpassword_only(void **state)
{
	(void) state;
	setenv("PGPASSWORD", "OnlyEnv-3390", 1);
	pg_conninfo_register_secrets(NULL);
	unsetenv("PGPASSWORD");
	static const char *const secrets[] = { "OnlyEnv-3390" };
	mask_and_check("PGPASSWORD=OnlyEnv-3390", secrets, 1, 1);
}

static void
test_secrets_leave_other_text_alone(void **state)
{
	(void) state;
	const char *text = "host=db user=alice nothing secret in here: 1234 ****";
	StrBuf sb;
	sb_init(&sb);
	sb_append(&sb, text);
	log_mask_secrets(&sb);
	own(sb.data);
	assert_string_equal(sb.data, text);
	assert_int_equal(sb.len, strlen(text));
}

static const char *
child_secret_prefix_of_another(void)
{
	/* the source's password is a prefix of the target's */
	log_register_secret("Prod-Pw");
	log_register_secret("Prod-Pw-Target-Only");
	StrBuf sb;
	sb_init(&sb);
	sb_append(&sb, "target password Prod-Pw-Target-Only");
	log_mask_secrets(&sb);
	if (strstr(sb.data, "Target-Only") != NULL)
	{
		static char msg[256];
		snprintf(msg, sizeof(msg), "masked line \"%s\" shows part of secret \"%s\"", sb.data,
				 "Prod-Pw-Target-Only");
		return msg;
	}
	return NULL;
}

static void
test_secrets_prefix_of_another(void **state)
{
	(void) state;
	run_in_child(child_secret_prefix_of_another, "two secrets, one a prefix of the other");
}

static const char *
child_secret_of_asterisks(void)
{
	/* a password made of '*' (replaced by "****" ... which holds it again) */
	log_register_secret("**");
	StrBuf sb;
	sb_init(&sb);
	sb_append(&sb, "SELECT count(**) -- a**b");
	log_mask_secrets(&sb);
	/* only termination is checked: a masked "**" looks like "**" */
	sb_free(&sb);
	return NULL;
}

static void
test_secrets_of_asterisks_terminate(void **state)
{
	(void) state;
	run_in_child(child_secret_of_asterisks, "log_mask_secrets with the secret \"**\"");
}

static char *
read_log_file(const char *path)
{
	size_t len = 0;
	char *data = file_read_all(path, &len);
	assert_non_null(data);
	assert_int_equal(strlen(data), len);
	return data;
}

static void
test_log_file_never_holds_secret(void **state)
{
	(void) state;
	const char *uri = "postgresql://bob:LogPw-9931@db/app";
	setenv("PGPASSWORD", "LogEnvPw-2207", 1);
	pg_conninfo_register_secrets(uri);
	unsetenv("PGPASSWORD");

	char path[] = "/tmp/pgshift-test-mask-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_true(log_open_file(path));

	LogLevel saved = log_get_level();
	log_set_level(LOG_LEVEL_INFO);
	log_info("connecting to %s", uri);
	log_warn("password %s rejected (PGPASSWORD=%s)", "LogPw-9931", "LogEnvPw-2207");
	log_detail(LOG_LEVEL_WARN, "conninfo: %s", uri);
	log_hint(LOG_LEVEL_WARN, "try %s", "LogPw-9931");
	log_set_json(true);
	log_error("json line with %s and \"%s\"", uri, "LogEnvPw-2207");
	log_set_json(false);
	log_set_level(saved);
	log_close_file();

	char *data = own(read_log_file(path));
	unlink(path);
	/* the lines are there ... */
	assert_non_null(strstr(data, "connecting to postgresql://bob:"));
	assert_non_null(strstr(data, "rejected (PGPASSWORD="));
	assert_non_null(strstr(data, "DETAIL: conninfo: postgresql://bob:"));
	assert_non_null(strstr(data, "HINT: try "));
	assert_non_null(strstr(data, "json line with"));
	assert_int_equal(count_occurrences(data, "\n"), 5);
	/* ... without the secrets */
	check_no_password_in("log file", data, "LogPw-9931");
	check_no_password_in("log file", data, "LogEnvPw-2207");
	assert_true(count_occurrences(data, "****") >= 6);
}

static void
test_log_file_debug_lines_not_written_at_info(void **state)
{
	(void) state;
	char path[] = "/tmp/pgshift-test-mask-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_true(log_open_file(path));
	LogLevel saved = log_get_level();
	log_set_level(LOG_LEVEL_INFO);
	log_debug("debug-line-%d", 1);
	log_info("info-line-%d", 2);
	log_set_level(saved);
	log_close_file();
	char *data = own(read_log_file(path));
	unlink(path);
	assert_null(strstr(data, "debug-line-1"));
	assert_non_null(strstr(data, "info-line-2"));
}

/* ---- pg_conninfo_for_child ---- */

static void
check_kw(const char *conninfo, const char *keyword, const char *expected)
{
	char *v = own(pg_conninfo_get(conninfo, keyword));
	if (expected == NULL)
	{
		if (v != NULL)
		{
			fail_msg("pg_conninfo_get(\"%s\", \"%s\") = \"%s\", expected none", conninfo, keyword,
					 v);
		}
		return;
	}
	if (v == NULL)
	{
		fail_msg("pg_conninfo_get(\"%s\", \"%s\") = NULL, expected \"%s\"", conninfo, keyword,
				 expected);
	}
	if (strcmp(v, expected) != 0)
	{
		fail_msg("pg_conninfo_get(\"%s\", \"%s\") = \"%s\", expected \"%s\"", conninfo, keyword, v,
				 expected);
	}
}

static void
test_child_uri_with_password(void **state)
{
	(void) state;
	char *pw = NULL;
	char *kw = pg_conninfo_for_child(
		"postgresql://alice:ChildPw-1@db.example.com:5433/app?sslmode=require&connect_timeout=7",
		NULL, &pw);
	own(kw);
	own(pw);
	assert_non_null(kw);
	assert_non_null(pw);
	assert_string_equal(pw, "ChildPw-1");
	check_no_password_in("child conninfo", kw, "ChildPw-1");
	assert_null(strstr(kw, "password"));
	assert_null(strstr(kw, "://"));
	char *err = NULL;
	bool valid = pg_conninfo_valid(kw, &err);
	own(err);
	if (!valid)
	{
		fail_msg("child conninfo \"%s\" is invalid: %s", kw, err);
	}
	check_kw(kw, "host", "db.example.com");
	check_kw(kw, "port", "5433");
	check_kw(kw, "user", "alice");
	check_kw(kw, "dbname", "app");
	check_kw(kw, "sslmode", "require");
	check_kw(kw, "connect_timeout", "7");
	check_kw(kw, "password", NULL);
}

static void
test_child_percent_encoded_password(void **state)
{
	(void) state;
	char *pw = NULL;
	char *kw = pg_conninfo_for_child("postgres://alice:p%40ss%2Fw%27d@db/app", NULL, &pw);
	own(kw);
	own(pw);
	assert_non_null(kw);
	assert_non_null(pw);
	assert_string_equal(pw, "p@ss/w'd");
	check_no_password_in("child conninfo", kw, "p@ss");
	check_no_password_in("child conninfo", kw, "p%40ss");
	check_kw(kw, "password", NULL);
}

static void
test_child_keyword_password(void **state)
{
	(void) state;
	char *pw = NULL;
	char *kw = pg_conninfo_for_child(
		"host=db user=alice password='with space \\' quote' dbname=app", NULL, &pw);
	own(kw);
	own(pw);
	assert_non_null(kw);
	assert_non_null(pw);
	assert_string_equal(pw, "with space ' quote");
	check_no_password_in("child conninfo", kw, "with space");
	check_kw(kw, "password", NULL);
	check_kw(kw, "host", "db");
	check_kw(kw, "dbname", "app");

	/* the password given in the query of a URI */
	pw = NULL;
	kw = pg_conninfo_for_child("postgresql://db/app?password=QueryPw&sslmode=disable", NULL, &pw);
	own(kw);
	own(pw);
	assert_non_null(kw);
	assert_non_null(pw);
	assert_string_equal(pw, "QueryPw");
	check_no_password_in("child conninfo", kw, "QueryPw");
	check_kw(kw, "sslmode", "disable");
}

static void
test_child_without_password(void **state)
{
	(void) state;
	static char sentinel[] = "not-touched";
	char *pw = sentinel;
	char *kw = pg_conninfo_for_child("postgresql://alice@db/app", NULL, &pw);
	own(kw);
	if (pw != sentinel)
	{
		own(pw);
	}
	assert_non_null(kw);
	assert_null(pw);
	check_kw(kw, "user", "alice");
	check_kw(kw, "dbname", "app");
}

static void
test_child_dbname_replacement(void **state)
{
	(void) state;
	char *pw = NULL;
	char *kw = pg_conninfo_for_child("postgresql://alice:ChildPw-2@db/app", "other_db", &pw);
	own(kw);
	own(pw);
	assert_non_null(kw);
	check_kw(kw, "dbname", "other_db");
	check_kw(kw, "host", "db");
	assert_null(strstr(kw, "'app'"));
	assert_int_equal(count_occurrences(kw, "dbname="), 1);
	assert_string_equal(pw, "ChildPw-2");

	/* no dbname in the original: it is added */
	pw = NULL;
	kw = pg_conninfo_for_child("host=db user=alice", "added_db", &pw);
	own(kw);
	own(pw);
	assert_non_null(kw);
	assert_null(pw);
	check_kw(kw, "dbname", "added_db");
	check_kw(kw, "user", "alice");
}

static void
test_child_escaping_roundtrip(void **state)
{
	(void) state;
	static const char *const names[] = {
		"we'ird",      "back\\slash", "both ' and \\ and ''",
		"trailing\\",  "'",           "with spaces and = signs",
		"caf\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
	{
		char *pw = NULL;
		char *kw = pg_conninfo_for_child("postgresql://alice:RtPw@db/app", names[i], &pw);
		own(kw);
		own(pw);
		assert_non_null(kw);
		char *err = NULL;
		bool valid = pg_conninfo_valid(kw, &err);
		own(err);
		if (!valid)
		{
			fail_msg("child conninfo \"%s\" (dbname \"%s\") is invalid: %s", kw, names[i], err);
		}
		check_kw(kw, "dbname", names[i]);
		check_kw(kw, "user", "alice");
		check_kw(kw, "password", NULL);
	}

	/* values from the original conninfo with quotes and backslashes too */
	char *pw = NULL;
	char *kw = pg_conninfo_for_child(
		"host=db user='o\\'neil' application_name='a\\\\b' options='-c search_path=x,y'", NULL,
		&pw);
	own(kw);
	own(pw);
	assert_non_null(kw);
	check_kw(kw, "user", "o'neil");
	check_kw(kw, "application_name", "a\\b");
	check_kw(kw, "options", "-c search_path=x,y");
}

static void
test_child_multi_host(void **state)
{
	(void) state;
	char *pw = NULL;
	char *kw = pg_conninfo_for_child("postgresql://alice:MultiPw@h1:5432,h2:5433/app", NULL, &pw);
	own(kw);
	own(pw);
	assert_non_null(kw);
	assert_string_equal(pw, "MultiPw");
	check_kw(kw, "host", "h1,h2");
	check_kw(kw, "port", "5432,5433");
	check_no_password_in("child conninfo", kw, "MultiPw");
}

static void
test_child_invalid_conninfo(void **state)
{
	(void) state;
	char *pw = NULL;
	assert_null(own(pg_conninfo_for_child("host=db nosuchkeyword=1", NULL, &pw)));
	assert_null(own(pw));
	assert_null(own(pg_conninfo_for_child("postgresql://db/app?nosuchparam=1", NULL, &pw)));
	assert_null(own(pw));
}

/* ---- pg_conninfo_valid / pg_conninfo_get ---- */

static void
test_conninfo_valid_and_get(void **state)
{
	(void) state;
	char *err = NULL;
	assert_true(pg_conninfo_valid("host=db dbname=app", &err));
	assert_true(pg_conninfo_valid("postgresql://alice@db/app", &err));
	assert_false(pg_conninfo_valid("host='unterminated", &err));
	assert_non_null(err);
	free(err);
	err = NULL;
	assert_false(pg_conninfo_valid("nosuchkeyword=1", &err));
	assert_non_null(err);
	free(err);

	check_kw("host=db port=5433", "port", "5433");
	check_kw("host=db", "port", NULL);
	check_kw("postgresql://al%40ice@db/app", "user", "al@ice");
	assert_null(own(pg_conninfo_get("host='unterminated", "host")));
}

static int
group_setup(void **state)
{
	(void) state;
	unsetenv("PGPASSWORD");
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_mask_uri_userinfo, free_owned),
		cmocka_unit_test_teardown(test_mask_uri_postgres_scheme, free_owned),
		cmocka_unit_test_teardown(test_mask_uri_percent_encoded, free_owned),
		cmocka_unit_test_teardown(test_mask_uri_query_password, free_owned),
		cmocka_unit_test_teardown(test_mask_uri_query_password_among_params, free_owned),
		cmocka_unit_test_teardown(test_mask_uri_multi_host, free_owned),
		cmocka_unit_test_teardown(test_mask_uri_without_password_unchanged, free_owned),
		cmocka_unit_test_teardown(test_mask_uri_password_with_reserved_chars, free_owned),
		cmocka_unit_test_teardown(test_mask_kw_bare, free_owned),
		cmocka_unit_test_teardown(test_mask_kw_quoted_with_spaces, free_owned),
		cmocka_unit_test_teardown(test_mask_kw_escaped_quote, free_owned),
		cmocka_unit_test_teardown(test_mask_kw_spaces_around_equals, free_owned),
		cmocka_unit_test_teardown(test_mask_kw_without_password_unchanged, free_owned),
		cmocka_unit_test_teardown(test_mask_null, free_owned),
		cmocka_unit_test_teardown(test_secrets_uri_userinfo_and_pgpassword, free_owned),
		cmocka_unit_test_teardown(test_secrets_keyword_quoted, free_owned),
		cmocka_unit_test_teardown(test_secrets_uri_query_decoded, free_owned),
		cmocka_unit_test_teardown(test_secrets_uri_query_raw, free_owned),
		cmocka_unit_test_teardown(test_secrets_pgpassword_only, free_owned),
		cmocka_unit_test_teardown(test_secrets_leave_other_text_alone, free_owned),
		cmocka_unit_test_teardown(test_secrets_prefix_of_another, free_owned),
		cmocka_unit_test_teardown(test_secrets_of_asterisks_terminate, free_owned),
		cmocka_unit_test_teardown(test_log_file_never_holds_secret, free_owned),
		cmocka_unit_test_teardown(test_log_file_debug_lines_not_written_at_info, free_owned),
		cmocka_unit_test_teardown(test_child_uri_with_password, free_owned),
		cmocka_unit_test_teardown(test_child_percent_encoded_password, free_owned),
		cmocka_unit_test_teardown(test_child_keyword_password, free_owned),
		cmocka_unit_test_teardown(test_child_without_password, free_owned),
		cmocka_unit_test_teardown(test_child_dbname_replacement, free_owned),
		cmocka_unit_test_teardown(test_child_escaping_roundtrip, free_owned),
		cmocka_unit_test_teardown(test_child_multi_host, free_owned),
		cmocka_unit_test_teardown(test_child_invalid_conninfo, free_owned),
		cmocka_unit_test_teardown(test_conninfo_valid_and_get, free_owned),
	};
	return cmocka_run_group_tests_name("mask", tests, group_setup, NULL);
}
