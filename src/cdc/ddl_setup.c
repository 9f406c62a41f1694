/*
 * src/cdc/ddl_setup.c — installing and removing the DDL capture (--ddl).
 *
 * Logical decoding carries rows, not DDL: an event trigger on the source
 * (sql/ddl_install.sql) writes each DDL statement into pgshift.ddl_log, a
 * table decoded like any other, so the statement reaches the applier in
 * commit order with the rows around it (cdc/apply_ddl.c replays it).
 *
 * Installed before the slot is created (so that the table is in the slot's
 * snapshot and, with pgoutput, in the publication), only by a superuser
 * (event triggers need one). The schema is ours only if it holds
 * pgshift.ddl_settings: a user's schema named "pgshift" is never touched.
 */
#include "cdc/cdc.h"

#include <stdlib.h>
#include <string.h>

#include "sql.inc"

bool
cdc_ddl_errors_parse(const char *s, CdcDdlErrors *out)
{
	static const char *const names[] = { "stop", "skip", "log" };
	for (int i = 0; i < 3; i++)
	{
		if (s != NULL && strcmp(s, names[i]) == 0)
		{
			*out = (CdcDdlErrors) i;
			return true;
		}
	}
	log_error("invalid --ddl-errors \"%s\": expected stop, skip or log", s ? s : "");
	return false;
}

bool
cdc_ddl_check(PgConn *src, int *exit_code)
{
	char *su = NULL;
	if (!pg_query_value(src,
						"SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user", 0,
						NULL, &su))
	{
		*exit_code = EXIT_SOURCE;
		return false;
	}
	bool ok = su != NULL && strcmp(su, "t") == 0;
	free(su);
	if (!ok)
	{
		log_error("source: --ddl needs a superuser: event triggers, which capture the DDL, can "
				  "only be created by one");
		log_hint(LOG_LEVEL_ERROR,
				 "Connect to the source as a superuser (on a managed service, the provider's "
				 "equivalent role, such as rds_superuser or azure_pg_admin, where it may create "
				 "event triggers), or run without --ddl and make each schema change on the "
				 "target yourself.");
		*exit_code = EXIT_PRECONDITION;
	}
	return ok;
}

/* true when schema pgshift is absent or ours; false (logged) when someone else's. */
static bool
schema_ours(PgConn *c, const char *side, bool *present)
{
	char *v = NULL;
	if (!pg_query_value(
			c,
			"SELECT CASE WHEN pg_catalog.to_regnamespace('pgshift') IS NULL THEN 'none' "
			"WHEN pg_catalog.to_regclass('pgshift.ddl_settings') IS NULL THEN 'other' "
			"ELSE 'ours' END",
			0, NULL, &v))
	{
		return false;
	}
	bool ok = v != NULL && strcmp(v, "other") != 0;
	*present = v != NULL && strcmp(v, "ours") == 0;
	if (!ok)
	{
		log_error("%s: a schema \"pgshift\" exists and is not pgshift's", side);
		log_hint(LOG_LEVEL_ERROR,
				 "--ddl keeps its log in schema \"pgshift\": rename that schema, or run without "
				 "--ddl.");
	}
	free(v);
	return ok;
}

bool
cdc_ddl_install(const CdcOptions *co, int *exit_code)
{
	PgConn src;
	if (!pg_connect(&src, co->source, "source", "ddl", 0))
	{
		*exit_code = EXIT_SOURCE;
		return false;
	}
	bool present = false;
	/* (cdc_setup, the only caller, checked the role first) */
	bool ok = schema_ours(&src, "source", &present);
	if (ok && !(ok = pg_exec(&src, SQL_DDL_INSTALL)))
	{
		*exit_code = EXIT_SOURCE;
	}
	const char *p[] = { co->slot,
						cdc_plugin_uses_publication(co->plugin) ? co->publication : NULL };
	if (ok && !(ok = pg_exec_params(&src,
									"INSERT INTO pgshift.ddl_settings (slot, publication) "
									"VALUES ($1, $2) ON CONFLICT (slot) DO UPDATE SET "
									"publication = excluded.publication",
									2, p)))
	{
		*exit_code = EXIT_SOURCE;
	}
	/* a publication listing its tables (--filters) must list the log too */
	if (ok && p[1] != NULL &&
		!(ok = pg_exec(&src, "SELECT pgshift.ddl_publish('pgshift.ddl_log'::regclass)")))
	{
		*exit_code = EXIT_SOURCE;
	}
	if (ok && co->state != NULL)
	{
		state_set_meta(co->state, "cdc_ddl", "on");
	}
	if (ok)
	{
		log_info("installed the DDL capture on the source: event triggers pgshift_ddl_end and "
				 "pgshift_ddl_drop write into pgshift.ddl_log");
	}
	pg_disconnect(&src);
	return ok;
}

static bool
ddl_remove_from(const char *uri, const char *side)
{
	PgConn c;
	if (uri == NULL || !pg_connect(&c, uri, side, "ddl", 0))
	{
		return uri == NULL;
	}
	bool present = false;
	bool ok = schema_ours(&c, side, &present);
	if (ok && present)
	{
		ok = pg_exec(&c, SQL_DDL_REMOVE);
		if (ok)
		{
			log_info("%s: removed the DDL capture (schema pgshift, its event triggers)", side);
		}
	}
	pg_disconnect(&c);
	return ok;
}

bool
cdc_ddl_remove(const CdcOptions *co)
{
	bool ok = ddl_remove_from(co->source, "source");
	return ddl_remove_from(co->target, "target") && ok;
}
