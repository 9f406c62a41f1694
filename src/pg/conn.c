/*
 * src/pg/conn.c — connecting, running queries, keeping errors, cancelling.
 *
 * Invariants: a PgConn is used by one thread; every PGresult obtained here is
 * PQclear()ed here or handed to the caller; an error is logged once, with the
 * side it happened on, and kept in the PgConn with its SQLSTATE.
 */
#include "pg/pg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LIVE_CONNS 256

static pthread_mutex_t g_conns_lock = PTHREAD_MUTEX_INITIALIZER;
static PgConn *g_conns[MAX_LIVE_CONNS];

static void
conn_register(PgConn *c)
{
	pthread_mutex_lock(&g_conns_lock);
	for (int i = 0; i < MAX_LIVE_CONNS; i++)
	{
		if (g_conns[i] == NULL)
		{
			g_conns[i] = c;
			break;
		}
	}
	pthread_mutex_unlock(&g_conns_lock);
}

static void
conn_unregister(PgConn *c)
{
	pthread_mutex_lock(&g_conns_lock);
	for (int i = 0; i < MAX_LIVE_CONNS; i++)
	{
		if (g_conns[i] == c)
		{
			g_conns[i] = NULL;
		}
	}
	pthread_mutex_unlock(&g_conns_lock);
}

void
pg_cancel_all(void *unused)
{
	(void) unused;
	pthread_mutex_lock(&g_conns_lock);
	for (int i = 0; i < MAX_LIVE_CONNS; i++)
	{
		if (g_conns[i] != NULL && g_conns[i]->cancel != NULL)
		{
			char errbuf[256];
			(void) PQcancel(g_conns[i]->cancel, errbuf, sizeof(errbuf));
		}
	}
	pthread_mutex_unlock(&g_conns_lock);
}

static char *
strip_newline(const char *msg)
{
	char *s = xstrdup(msg ? msg : "");
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
	{
		s[--n] = '\0';
	}
	/* libpq's multi-line connection errors: keep them on one line */
	for (char *p = s; *p; p++)
	{
		if (*p == '\n' || *p == '\t')
		{
			*p = ' ';
		}
	}
	return s;
}

void
pg_clear_error(PgConn *c)
{
	c->sqlstate[0] = '\0';
	free(c->errmsg);
	c->errmsg = NULL;
}

void
pg_set_error(PgConn *c, const PGresult *res, const char *context)
{
	pg_clear_error(c);
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (state != NULL)
	{
		snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state);
	}
	else if (c->conn == NULL || PQstatus(c->conn) == CONNECTION_BAD)
	{
		snprintf(c->sqlstate, sizeof(c->sqlstate), "08006");
	}
	c->errmsg =
		strip_newline(primary ? primary : (c->conn ? PQerrorMessage(c->conn) : "no connection"));
	if (c->quiet_errors)
	{
		return;
	}
	if (context != NULL)
	{
		log_error("%s: %s", c->side, c->errmsg);
		log_detail(LOG_LEVEL_ERROR, "%s", context);
	}
	else
	{
		log_error("%s: %s", c->side, c->errmsg);
	}
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	if (detail != NULL)
	{
		log_detail(LOG_LEVEL_ERROR, "%s", detail);
	}
	if (hint != NULL)
	{
		log_hint(LOG_LEVEL_ERROR, "%s", hint);
	}
}

PgErrorClass
pg_error_class(const char *sqlstate)
{
	if (sqlstate == NULL || sqlstate[0] == '\0')
	{
		return PG_ERROR_NONE;
	}
	/* 57P05: idle_session_timeout ended the session (a new one is welcome) */
	if (strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57P01") == 0 ||
		strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0 ||
		strcmp(sqlstate, "57P05") == 0)
	{
		return PG_ERROR_CONNECTION;
	}
	if (strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0)
	{
		return PG_ERROR_RETRY_TXN;
	}
	if (strncmp(sqlstate, "53", 2) == 0)
	{
		return PG_ERROR_RESOURCES;
	}
	return PG_ERROR_FATAL;
}

bool
pg_error_is_transient(PgErrorClass cls)
{
	return cls == PG_ERROR_CONNECTION || cls == PG_ERROR_RETRY_TXN || cls == PG_ERROR_RESOURCES;
}

/*
 * A failed connection has no PGresult, so no SQLSTATE field: the messages
 * below are the failures known to pass (the server is starting, stopping or
 * full; nothing listens yet), each with the SQLSTATE it stands for, so the
 * retry decision is pg_error_class's like every other. NULL: not known.
 */
static const char *
connect_error_sqlstate(const char *msg)
{
	static const struct
	{
		const char *msg;
		const char *sqlstate;
	} known[] = { { "the database system is starting up", "57P03" },
				  { "the database system is shutting down", "57P03" },
				  { "the database system is in recovery mode", "57P03" },
				  { "sorry, too many clients already", "53300" },
				  { "remaining connection slots are reserved", "53300" },
				  { "the database system is not yet accepting connections", "57P03" },
				  { "the database system is not accepting connections", "57P03" },
				  { "Connection refused", "08001" },
				  { "Connection timed out", "08001" },
				  { "No route to host", "08001" },
				  { "Network is unreachable", "08001" },
				  { "server closed the connection unexpectedly", "08001" },
				  { "timeout expired", "08001" },
				  { "No such file or directory", "08001" } };
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
	{
		if (strstr(msg, known[i].msg) != NULL)
		{
			return known[i].sqlstate;
		}
	}
	return NULL;
}

static bool pg_connect_with(PgConn *c, const char *conninfo, const char *side, const char *app,
							int retry_seconds, bool replication);

bool
pg_connect(PgConn *c, const char *conninfo, const char *side, const char *app, int retry_seconds)
{
	return pg_connect_with(c, conninfo, side, app, retry_seconds, false);
}

bool
pg_connect_replication(PgConn *c, const char *conninfo, const char *side, const char *app)
{
	return pg_connect_with(c, conninfo, side, app, 10, true);
}

static bool
pg_connect_with(PgConn *c, const char *conninfo, const char *side, const char *app,
				int retry_seconds, bool replication)
{
	memset(c, 0, sizeof(*c));
	c->side = side;

	char *errmsg = NULL;
	if (!pg_conninfo_valid(conninfo, &errmsg))
	{
		c->errmsg = strip_newline(errmsg);
		snprintf(c->sqlstate, sizeof(c->sqlstate), "08001");
		log_error("%s: invalid connection string: %s", side, c->errmsg);
		free(errmsg);
		return false;
	}

	char *appname = app ? xasprintf("pgshift-%s", app) : xstrdup("pgshift");
	/* defaults first: the user's conninfo (expanded at "dbname") overrides them */
	const char *keys[] = { "fallback_application_name",
						   "keepalives",
						   "keepalives_idle",
						   "keepalives_interval",
						   "keepalives_count",
						   "dbname",
						   replication ? "replication" : NULL,
						   NULL };
	const char *vals[] = { appname, "1", "30", "10", "6", conninfo, replication ? "database" : NULL,
						   NULL };

	double deadline = time_now() + retry_seconds;
	double delay = 0.2;
	for (;;)
	{
		c->conn = PQconnectdbParams(keys, vals, 1);
		if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK)
		{
			break;
		}
		char *msg = strip_newline(c->conn ? PQerrorMessage(c->conn) : "out of memory");
		const char *state = connect_error_sqlstate(msg);
		bool retry = pg_error_is_transient(pg_error_class(state)) &&
					 time_now() + delay < deadline && !signals_interrupted();
		if (!retry)
		{
			c->errmsg = msg;
			snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "08001");
			log_error("%s: could not connect: %s", side, msg);
			PQfinish(c->conn);
			c->conn = NULL;
			free(appname);
			return false;
		}
		log_warn("%s: could not connect (retrying in %.1fs): %s", side, delay, msg);
		free(msg);
		PQfinish(c->conn);
		c->conn = NULL;
		usleep((useconds_t) (delay * 1e6));
		delay = delay * 2 > 5.0 ? 5.0 : delay * 2;
	}
	free(appname);
	if (replication)
	{
		c->cancel = PQgetCancel(c->conn);
		conn_register(c);
		return true;
	}
	/* our own SQL assumes these; a server or role default must not change them */
	PGresult *res =
		PQexec(c->conn, "SET client_encoding TO 'UTF8'; SET statement_timeout TO 0; "
						"SET lock_timeout TO 0; SET idle_in_transaction_session_timeout TO 0; "
						"SET extra_float_digits TO 3; SET DateStyle TO 'ISO'");
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
	{
		pg_set_error(c, res, "while setting up the session");
	}
	PQclear(res);
	if (!ok)
	{
		PQfinish(c->conn);
		c->conn = NULL;
		return false;
	}
	c->cancel = PQgetCancel(c->conn);
	conn_register(c);
	return true;
}

void
pg_disconnect(PgConn *c)
{
	if (c->conn != NULL)
	{
		conn_unregister(c);
		PQfinish(c->conn);
		c->conn = NULL;
	}
	if (c->cancel != NULL)
	{
		PQfreeCancel(c->cancel);
		c->cancel = NULL;
	}
	pg_clear_error(c);
}

bool
pg_is_connected(const PgConn *c)
{
	return c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK;
}

static PGresult *
pg_run(PgConn *c, const char *sql, int nparams, const char *const *params)
{
	pg_clear_error(c);
	if (c->conn == NULL)
	{
		c->errmsg = xstrdup("not connected");
		snprintf(c->sqlstate, sizeof(c->sqlstate), "08003");
		return NULL;
	}
	if (nparams == 0)
	{
		return PQexec(c->conn, sql);
	}
	return PQexecParams(c->conn, sql, nparams, NULL, params, NULL, NULL, 0);
}

char *
pg_query_context(const char *sql)
{
	size_t n = strlen(sql);
	if (n > 600)
	{
		return xasprintf("while running: %.600s...", sql);
	}
	return xasprintf("while running: %s", sql);
}

bool
pg_exec_params(PgConn *c, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = pg_run(c, sql, nparams, params);
	ExecStatusType st = PQresultStatus(res);
	bool ok = res != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
	if (!ok)
	{
		char *ctx = pg_query_context(sql);
		pg_set_error(c, res, ctx);
		free(ctx);
	}
	PQclear(res);
	return ok;
}

bool
pg_exec(PgConn *c, const char *sql)
{
	return pg_exec_params(c, sql, 0, NULL);
}

PGresult *
pg_query(PgConn *c, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = pg_run(c, sql, nparams, params);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		char *ctx = pg_query_context(sql);
		pg_set_error(c, res, ctx);
		free(ctx);
		PQclear(res);
		return NULL;
	}
	return res;
}

bool
pg_query_value(PgConn *c, const char *sql, int nparams, const char *const *params, char **out)
{
	PGresult *res = pg_query(c, sql, nparams, params);
	if (res == NULL)
	{
		return false;
	}
	if (PQntuples(res) != 1 || PQnfields(res) < 1)
	{
		log_error("%s: query returned %d rows, expected 1", c->side, PQntuples(res));
		log_detail(LOG_LEVEL_ERROR, "while running: %s", sql);
		PQclear(res);
		return false;
	}
	*out = PQgetisnull(res, 0, 0) ? NULL : xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

int
pg_server_version(const PgConn *c)
{
	return c->conn ? PQserverVersion(c->conn) : 0;
}

char *
pg_server_version_string(PgConn *c)
{
	char *v = NULL;
	if (!pg_query_value(c, "SELECT pg_catalog.version()", 0, NULL, &v))
	{
		return NULL;
	}
	return v;
}
