/*
 * src/cdc/cutover_fence.c — the cut-over's fence, its undoing, and the
 * user's commands (--fence-command, --unfence-command, --switch-command).
 *
 * The built-in fence makes every new transaction of the source database
 * read-only (ALTER DATABASE ... SET default_transaction_read_only = on),
 * then ends that database's other client sessions and waits until they are
 * gone, so that no transaction can commit after the end position is taken.
 * Never ended: walsenders (the follower's stream; backend_type is not
 * 'client backend') and pgshift's own sessions (application_name
 * "pgshift..."). Our own session was opened before the fence and sets
 * default_transaction_read_only = off for itself: it must still run the
 * RESET that undoes the fence (ALTER DATABASE is refused in a read-only
 * transaction), and if it is lost, a new one does the same.
 *
 * The user's commands run as `/bin/sh -c CMD` here rather than through
 * schema/spawn.c: that runner looks the program up in PostgreSQL's bin
 * directory and kills the child on Ctrl-C, and an unfence command must run
 * to its end precisely after a Ctrl-C. Their output goes to stderr (stdout
 * is the report's).
 */
#include "cdc/cutover_int.h"
#include "schema/schema.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TERMINATE_WAIT_S 10.0

static const char *const g_no_env[] = { NULL };

/* ---- the user's commands ---- */

/*
 * Runs cmd with /bin/sh -c, extra "NAME=value" entries (NULL-terminated) in
 * its environment only. Returns its exit status (128 + signal when killed), -1 when it could
 * not start or ran past timeout (then killed). killable: Ctrl-C stops it too.
 */
static int
shell_run(const char *what, const char *cmd, const char *const *extra, double timeout,
		  bool killable)
{
	char **envp = spawn_env(extra);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	posix_spawnattr_t attr;
	spawn_attr_init(&attr);
	const char *argv[] = { "sh", "-c", cmd, NULL };
	pid_t pid;
	int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, (char *const *) (uintptr_t) argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	if (rc != 0)
	{
		log_error("could not start the %s: %s", what, strerror(rc));
		return -1;
	}
	double deadline = time_now() + timeout;
	bool killed = false;
	for (;;)
	{
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
		{
			return killed ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (r < 0 && errno != EINTR)
		{
			log_error("waitpid failed for the %s: %s", what, strerror(errno));
			return -1;
		}
		if (!killed && (time_now() > deadline || (killable && signals_interrupted())))
		{
			log_error("the %s ran past %.0fs or was interrupted: stopping it", what, timeout);
			kill(pid, SIGTERM);
			killed = true;
		}
		usleep(20 * 1000);
	}
}

/* Runs a command that must succeed; false (logged with its status) otherwise. */
static bool
shell_ok(const char *what, const char *cmd, const char *const *extra, double timeout, bool killable)
{
	log_info("running the %s", what);
	int rc = shell_run(what, cmd, extra, timeout, killable);
	if (rc != 0)
	{
		if (rc > 0)
		{
			log_error("the %s failed with exit status %d", what, rc);
		}
		return false;
	}
	return true;
}

/* ---- the built-in fence ---- */

bool
cutover_fence_precheck(Cutover *c)
{
	char *n = NULL;
	bool ok = pg_query_value(&c->src,
							 "SELECT count(*) FROM pg_catalog.pg_db_role_setting s "
							 "JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase "
							 "WHERE d.datname = current_database() AND s.setrole = 0 "
							 "AND EXISTS (SELECT 1 FROM unnest(s.setconfig) AS g(v) "
							 "WHERE g.v LIKE 'default\\_transaction\\_read\\_only=%')",
							 0, NULL, &n);
	bool set = ok && n != NULL && strcmp(n, "0") != 0;
	free(n);
	if (!ok)
	{
		return false;
	}
	if (set)
	{
		log_error("source database \"%s\" already has a default_transaction_read_only setting",
				  c->dbname);
		log_detail(LOG_LEVEL_ERROR, "The built-in fence sets it and resets it when undone, which "
									"would lose the setting the database has.");
		log_hint(LOG_LEVEL_ERROR,
				 "If an earlier cut-over left it (killed), run ALTER DATABASE ... RESET "
				 "default_transaction_read_only; if writes are already stopped, use --fence none.");
		return false;
	}
	return true;
}

/*
 * Ends the database's other client sessions and waits until they are gone;
 * *ended: how many.
 */
static bool
fence_terminate(Cutover *c, int *ended)
{
	PGresult *res =
		pg_query(&c->src,
				 "SELECT coalesce(array_agg(a.pid), '{}')::text, count(*) FROM "
				 "pg_catalog.pg_stat_activity a "
				 "WHERE a.datname = current_database() AND a.pid <> pg_catalog.pg_backend_pid() "
				 "AND a.backend_type = 'client backend' "
				 "AND coalesce(a.application_name, '') NOT LIKE 'pgshift%' "
				 "AND pg_catalog.pg_terminate_backend(a.pid)",
				 0, NULL);
	if (res == NULL)
	{
		log_hint(LOG_LEVEL_ERROR, "Ending the other sessions needs a superuser or a member of "
								  "pg_signal_backend; or fence with --fence-command.");
		return false;
	}
	char *pids = xstrdup(PQgetvalue(res, 0, 0));
	*ended = (int) strtol(PQgetvalue(res, 0, 1), NULL, 10);
	log_info("fence: ended %d session(s) of database \"%s\"", *ended, c->dbname);
	PQclear(res);
	double deadline = time_now() + TERMINATE_WAIT_S;
	bool gone = false;
	const char *p[] = { pids };
	while (!gone && time_now() < deadline)
	{
		char *left = NULL;
		if (!pg_query_value(&c->src,
							"SELECT count(*) FROM pg_catalog.pg_stat_activity "
							"WHERE pid = ANY ($1::int[])",
							1, p, &left))
		{
			free(pids);
			return false;
		}
		gone = left != NULL && strcmp(left, "0") == 0;
		free(left);
		if (!gone)
		{
			usleep(20 * 1000);
		}
	}
	if (!gone)
	{
		log_error("fence: sessions %s of database \"%s\" did not end within %.0fs", pids, c->dbname,
				  TERMINATE_WAIT_S);
	}
	free(pids);
	return gone;
}

static bool
fence_builtin(Cutover *c)
{
	StrBuf sql;
	sb_init(&sql);
	sb_append(&sql, "ALTER DATABASE ");
	sb_append_ident(&sql, c->dbname);
	sb_append(&sql, " SET default_transaction_read_only = on");
	bool ok = pg_exec(&c->src, sql.data);
	sb_free(&sql);
	/*
	 * Again until a pass finds nobody: a session that read the database's
	 * settings before the ALTER may show in pg_stat_activity only once its
	 * start-up is over.
	 */
	int ended = 1;
	for (int pass = 0; ok && ended > 0 && pass < 3; pass++)
	{
		ok = fence_terminate(c, &ended);
	}
	return ok;
}

/* RESET in our session, or in a new one if ours is lost (it must not be read-only). */
static bool
unfence_builtin(Cutover *c)
{
	StrBuf sql;
	sb_init(&sql);
	sb_append(&sql, "ALTER DATABASE ");
	sb_append_ident(&sql, c->dbname);
	sb_append(&sql, " RESET default_transaction_read_only");
	bool ok = pg_is_connected(&c->src) && pg_exec(&c->src, sql.data);
	for (int attempt = 0; !ok && attempt < 3; attempt++)
	{
		PgConn n;
		log_info("undoing the fence in a new session");
		ok = pg_connect(&n, c->spec->source, "source", "cutover", 30) &&
			 pg_exec(&n, "SET default_transaction_read_only = off") && pg_exec(&n, sql.data);
		pg_disconnect(&n);
		if (!ok)
		{
			sleep(1);
		}
	}
	if (!ok)
	{
		log_error("could not undo the fence: the source database \"%s\" still refuses writes "
				  "in new sessions",
				  c->dbname);
		log_hint(LOG_LEVEL_ERROR, "Run: %s", sql.data);
	}
	sb_free(&sql);
	return ok;
}

bool
cutover_fence(Cutover *c)
{
	const CutoverSpec *s = c->spec;
	switch (s->fence)
	{
		case CUTOVER_FENCE_BUILTIN:
			return fence_builtin(c);
		case CUTOVER_FENCE_COMMAND:
			return shell_ok("fence command", s->fence_command, g_no_env, s->timeout, true);
		case CUTOVER_FENCE_NONE:
			return true;
	}
	return false;
}

bool
cutover_unfence(Cutover *c)
{
	const CutoverSpec *s = c->spec;
	switch (s->fence)
	{
		case CUTOVER_FENCE_BUILTIN:
			return unfence_builtin(c);
		case CUTOVER_FENCE_COMMAND:
			if (s->unfence_command == NULL)
			{
				log_warn(
					"no --unfence-command: the fence set by --fence-command is still in place");
				return false;
			}
			/* not killable: it must run to its end, Ctrl-C or not */
			return shell_ok("unfence command", s->unfence_command, g_no_env, 300, false);
		case CUTOVER_FENCE_NONE:
			return true;
	}
	return false;
}

bool
cutover_switch(Cutover *c)
{
	const CutoverSpec *s = c->spec;
	if (s->switch_command == NULL)
	{
		return true;
	}
	char *password = NULL;
	char *conn = pg_conninfo_for_child(s->target, NULL, &password);
	if (password != NULL)
	{
		memset(password, 0, strlen(password));
		free(password);
	}
	if (conn == NULL)
	{
		log_error("target: invalid connection string");
		return false;
	}
	char *env = xasprintf("PGSHIFT_TARGET_PGURI=%s", conn);
	const char *extra[] = { env, NULL };
	bool ok = shell_ok("switch command", s->switch_command, extra, s->timeout, true);
	free(env);
	free(conn);
	return ok;
}
