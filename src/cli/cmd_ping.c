/*
 * src/cli/cmd_ping.c — `pgshift ping` and `pgshift version`.
 *
 * ping connects to both sides (each once, no retry: it is a check) and
 * prints each server's version; each failure is one line naming the side.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pg/pg.h"
#include "state/state.h"

static bool
ping_one(const char *side, const char *conninfo)
{
	PgConn c;
	if (!pg_connect(&c, conninfo, side, "ping", 0))
	{
		pg_disconnect(&c);
		return false;
	}
	char *version = pg_server_version_string(&c);
	char *db = NULL;
	char *user = NULL;
	pg_query_value(&c, "SELECT current_database()", 0, NULL, &db);
	pg_query_value(&c, "SELECT current_user", 0, NULL, &user);
	printf("%s: %s (database \"%s\", user \"%s\")\n", side, version ? version : "unknown version",
		   db ? db : "?", user ? user : "?");
	fflush(stdout);
	free(version);
	free(db);
	free(user);
	pg_disconnect(&c);
	return true;
}

int
cmd_ping(Options *opts)
{
	if (!cli_require_uris(opts, true, true))
	{
		return EXIT_USAGE;
	}
	WorkDir wd;
	if (!workdir_open(&wd, opts->dir))
	{
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}
	char *ms = pg_conninfo_mask(opts->source);
	char *mt = pg_conninfo_mask(opts->target);
	log_debug("source: %s", ms);
	log_debug("target: %s", mt);
	free(ms);
	free(mt);

	bool src_ok = ping_one("source", opts->source);
	bool tgt_ok = ping_one("target", opts->target);
	workdir_close(&wd);
	if (!src_ok)
	{
		return EXIT_SOURCE;
	}
	if (!tgt_ok)
	{
		return EXIT_TARGET;
	}
	return EXIT_OK;
}

int
cmd_version(Options *opts)
{
	if (opts->json)
	{
		/* pg_*: the PostgreSQL (libpq) pgshift runs with, under pgcopydb's key names */
		int lib = PQlibVersion();
		char pgver[32];
		snprintf(pgver, sizeof(pgver), "%d.%d", lib / 10000, lib % 10000);
		json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:i, s:s, s:s, s:i}", "version",
							  PGSHIFT_VERSION, "libpq", lib, "sqlite", state_sqlite_version(),
							  "jansson", JANSSON_VERSION, "pg_major", lib / 10000, "pg_version",
							  pgver, "pg_version_str", pgver, "pg_version_num", lib);
		char *s = json_dumps(o, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
		json_decref(o);
	}
	else
	{
		printf("pgshift %s\n", PGSHIFT_VERSION);
		printf("libpq %d, SQLite %s\n", PQlibVersion(), state_sqlite_version());
	}
	return EXIT_OK;
}
