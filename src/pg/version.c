/*
 * src/pg/version.c — what each PostgreSQL major offers, in one place.
 *
 * The invariant: no code outside this file compares a server_version_num
 * with a constant. Every feature pgshift uses that some supported major
 * (12 to 18) lacks is a field of PgFeatures, set here from the server's
 * version, so that supporting a new major, or finding why an old one
 * degrades, means reading one table. docs/versions.md lists the same.
 */
#include "pg/pg.h"

#include <string.h>

void
pg_features_of(int version, PgFeatures *out)
{
	memset(out, 0, sizeof(*out));
	out->version = version;
	out->major = version / 10000;
	out->indnkeyatts = version >= 110000;
	out->column_compression = version >= 140000;
	out->progress_copy = version >= 140000;
	out->stat_force_next_flush = version >= 150000;
	out->pgoutput_streaming = version >= 140000;
	out->pgoutput_proto = version >= 140000 ? 2 : 1;
	out->tgparentid = version >= 130000;
}

void
pg_features(const PgConn *c, PgFeatures *out)
{
	pg_features_of(pg_server_version(c), out);
}

bool
pg_copy_binary_compatible(int source_version, int target_version)
{
	/*
	 * The binary COPY format of a type may change between majors (and the
	 * server does not say so): only the same major is known to agree.
	 */
	return source_version / 10000 == target_version / 10000;
}
