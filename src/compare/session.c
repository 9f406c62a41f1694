/*
 * src/compare/session.c — compare's connections: settings, transaction, snapshot.
 *
 * Both servers must print every value the same way for row texts and
 * catalog definitions to be comparable, whatever their own defaults: the
 * settings in sql/compare_session.sql are applied before the transaction.
 */
#include "compare/compare.h"

#include <stdlib.h>

#include "sql.inc"

bool
compare_connect(PgConn *c, const char *conninfo, const char *side, const char *app,
				int retry_seconds)
{
	if (!pg_connect(c, conninfo, side, app, retry_seconds))
	{
		return false;
	}
	if (!pg_exec(c, SQL_COMPARE_SESSION))
	{
		pg_disconnect(c);
		return false;
	}
	return true;
}

bool
compare_begin(PgConn *c, const char *snapshot)
{
	if (!pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
	{
		return false;
	}
	if (snapshot == NULL)
	{
		return true;
	}
	return pg_set_snapshot(c, snapshot);
}

char *
compare_export_snapshot(PgConn *c)
{
	/*
	 * Called right after compare_begin(c, NULL). Not in a savepoint: a
	 * snapshot cannot be exported from a subtransaction. On failure (a
	 * standby, for one) the transaction is started again, nothing lost.
	 */
	char *snap = NULL;
	bool quiet = c->quiet_errors;
	c->quiet_errors = true;
	bool ok = pg_query_value(c, "SELECT pg_catalog.pg_export_snapshot()", 0, NULL, &snap);
	c->quiet_errors = quiet;
	if (ok)
	{
		return snap;
	}
	log_warn("%s: could not export a snapshot: %s", c->side, c->errmsg ? c->errmsg : "");
	log_detail(LOG_LEVEL_WARN, "each worker reads the %s in its own transaction", c->side);
	if (!pg_exec(c, "ROLLBACK") || !compare_begin(c, NULL))
	{
		pg_disconnect(c);
	}
	return NULL;
}
