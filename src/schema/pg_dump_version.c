/*
 * src/schema/pg_dump_version.c — which pg_dump pgshift will run, and whether
 * it can dump a given source.
 *
 * The invariant: pgshift never starts a run whose schema dump is bound to
 * fail. pg_dump refuses a server of a newer major than its own ("aborting
 * because of server version mismatch"), and it does so only once the clone
 * has begun (slot, snapshot, work directory). schema_check_source_dumpable()
 * answers before any change, from the version the very binary spawn_run
 * would start prints (schema_tool_version: `pg_dump --version`, found as
 * schema_pg_bin() says),
 * so the answer cannot disagree with the dump itself.
 */
#include "schema/schema.h"

#include <stdlib.h>

int
schema_pg_dump_version(void)
{
	static int version = -1;
	if (version >= 0)
	{
		return version;
	}
	char *prog = NULL;
	if (!schema_tool_version("pg_dump", &version, &prog))
	{
		version = 0;
		log_error("could not read the version of \"%s\"", prog);
		log_hint(LOG_LEVEL_ERROR, "Install the PostgreSQL client programs, or set PGSHIFT_PG_BIN "
								  "to the directory holding pg_dump and pg_restore.");
	}
	free(prog);
	return version;
}

bool
schema_check_source_dumpable(int source_version)
{
	int dump = schema_pg_dump_version();
	if (dump == 0)
	{
		return false;
	}
	PgFeatures src, tool;
	pg_features_of(source_version, &src);
	pg_features_of(dump, &tool);
	if (src.major <= tool.major)
	{
		log_debug("pg_dump %d.%d can dump the source (server %d)", dump / 10000, dump % 10000,
				  source_version);
		return true;
	}
	const char *bin = schema_pg_bin();
	log_error("the source runs PostgreSQL %d, newer than the pg_dump pgshift would run (%d.%d, "
			  "in %s)",
			  src.major, tool.major, dump % 10000, bin[0] ? bin : "the PATH");
	log_detail(LOG_LEVEL_ERROR, "pg_dump refuses to dump a server of a newer major version; "
								"nothing was changed on either server.");
	log_hint(LOG_LEVEL_ERROR,
			 "Install the client programs of PostgreSQL %d or later and set PGSHIFT_PG_BIN to "
			 "the directory holding their pg_dump, pg_restore and psql.",
			 src.major);
	return false;
}
