/*
 * src/check/check_objects.c — what the target must have for the source's
 * objects: the extensions (and the version CREATE EXTENSION will install),
 * the encoding, the collations the indexes sort with; and whether the
 * target has the room.
 *
 * A collation whose library version differs sorts text differently: the
 * copy rebuilds every index, so nothing is corrupt, but ORDER BY and unique
 * keys may see differences (and a follower replays rows into unique indexes
 * that sort under the target's rules): a warning, never silence.
 */
#include "check/check_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "sql.inc"

static void
check_one_extension(CheckCtx *x, const CatExtension *e)
{
	char id[128];
	snprintf(id, sizeof(id), "extension.%s", e->extname);
	const char *p[] = { e->extname, e->extversion };
	PGresult *res = pg_query(&x->tgt, SQL_CHECK_TARGET_EXTENSION, 2, p);
	if (res == NULL)
	{
		check_add(x, id, CHECK_WARNING, NULL, "could not check extension \"%s\" on the target",
				  e->extname);
		return;
	}
	if (PQntuples(res) == 0)
	{
		char *fix = xasprintf("Install the extension's package on the target server, or leave "
							  "it out: --skip-extensions, or [exclude-extension] %s in --filters.",
							  e->extname);
		check_add(x, id, CHECK_BLOCKING, fix,
				  "extension \"%s\" (version %s on the source) is not available on the target "
				  "(not in pg_available_extensions)",
				  e->extname, e->extversion);
		free(fix);
	}
	else if (!PQgetisnull(res, 0, 0))
	{
		check_add(x, id, CHECK_OK, NULL,
				  "extension \"%s\" is installed on the target already (version %s; source %s)",
				  e->extname, PQgetvalue(res, 0, 0), e->extversion);
	}
	else if (strcmp(PQgetvalue(res, 0, 3), "t") == 0 && !x->tgt_super)
	{
		char *fix = xasprintf("As a superuser on the target: CREATE EXTENSION %s;", e->extname);
		check_add(x, id, CHECK_BLOCKING, fix,
				  "extension \"%s\" is not trusted: creating it needs a superuser, and role "
				  "\"%s\" is not one",
				  e->extname, x->tgt_user);
		free(fix);
	}
	else if (strcmp(PQgetvalue(res, 0, 1), e->extversion) != 0)
	{
		bool has = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
		char *fix = has ? xasprintf("To install the source's version: --requirements with "
									"{\"name\": \"%s\", \"version\": \"%s\"}.",
									e->extname, e->extversion)
						: NULL;
		check_add(x, id, CHECK_WARNING, fix,
				  "extension \"%s\" will be installed at version %s (the target's default; the "
				  "source has %s%s)",
				  e->extname, PQgetvalue(res, 0, 1), e->extversion,
				  has ? "" : ", which the target does not offer");
		free(fix);
	}
	else
	{
		check_add(x, id, CHECK_OK, NULL, "extension \"%s\" will be installed at version %s",
				  e->extname, e->extversion);
	}
	PQclear(res);
}

void
check_extensions(CheckCtx *x)
{
	if (x->spec->skip_extensions)
	{
		return;
	}
	for (int i = 0; i < x->cat.nextensions; i++)
	{
		const CatExtension *e = &x->cat.extensions[i];
		if (strcmp(e->extname, "plpgsql") == 0 ||
			filters_extension_excluded(&x->filters, e->extname))
		{
			continue;
		}
		check_one_extension(x, e);
	}
}

#define SQL_DB_LOCALE                                                             \
	"SELECT pg_catalog.pg_encoding_to_char(encoding), datcollate, datctype FROM " \
	"pg_catalog.pg_database WHERE datname = current_database()"

void
check_encoding(CheckCtx *x)
{
	PGresult *s = pg_query(&x->src, SQL_DB_LOCALE, 0, NULL);
	PGresult *t = pg_query(&x->tgt, SQL_DB_LOCALE, 0, NULL);
	if (s == NULL || t == NULL || PQntuples(s) != 1 || PQntuples(t) != 1)
	{
		PQclear(s);
		PQclear(t);
		return;
	}
	if (strcmp(PQgetvalue(s, 0, 0), PQgetvalue(t, 0, 0)) != 0)
	{
		check_add(x, "encoding", CHECK_WARNING,
				  "CREATE DATABASE ... ENCODING '...' TEMPLATE template0 with the source's "
				  "encoding on the target.",
				  "the source database is encoded %s and the target %s: text is converted, and "
				  "a character the target's encoding lacks fails the copy",
				  PQgetvalue(s, 0, 0), PQgetvalue(t, 0, 0));
	}
	else
	{
		check_add(x, "encoding", CHECK_OK, NULL, "both databases are encoded %s",
				  PQgetvalue(s, 0, 0));
	}
	if (strcmp(PQgetvalue(s, 0, 1), PQgetvalue(t, 0, 1)) != 0 ||
		strcmp(PQgetvalue(s, 0, 2), PQgetvalue(t, 0, 2)) != 0)
	{
		check_add(x, "locale", CHECK_WARNING,
				  "Create the target database with the source's LC_COLLATE and LC_CTYPE.",
				  "the databases' default collation differs (source %s/%s, target %s/%s): "
				  "text sorts differently",
				  PQgetvalue(s, 0, 1), PQgetvalue(s, 0, 2), PQgetvalue(t, 0, 1),
				  PQgetvalue(t, 0, 2));
	}
	PQclear(s);
	PQclear(t);
}

static void
check_one_collation(CheckCtx *x, PGresult *s, int i)
{
	const char *nsp = PQgetvalue(s, i, 0);
	const char *name = PQgetvalue(s, i, 1);
	const char *prov = PQgetvalue(s, i, 2);
	const char *sver = PQgetvalue(s, i, 4);
	char *q = pg_qualname(nsp, name);
	char id[200];
	snprintf(id, sizeof(id), "collation.%s", q);
	const char *p[] = { nsp, name };
	PGresult *t = pg_query(&x->tgt, SQL_CHECK_TARGET_COLLATION, 2, p);
	if (t == NULL)
	{
		free(q);
		return;
	}
	if (PQntuples(t) == 0 && strcmp(nsp, "pg_catalog") == 0)
	{
		check_add(x, id, CHECK_BLOCKING,
				  "Install the locale (libc) or an ICU that has it on the target and run "
				  "pg_import_system_collations, or change the indexes' collation on the source.",
				  "collation %s, used by %s indexes on the source, does not exist on the target", q,
				  PQgetvalue(s, i, 5));
	}
	else if (PQntuples(t) == 0)
	{
		check_add(x, id, CHECK_OK, NULL,
				  "collation %s (used by %s indexes) will be created by the schema restore", q,
				  PQgetvalue(s, i, 5));
	}
	else if (strcmp(PQgetvalue(t, 0, 0), prov) != 0)
	{
		check_add(x, id, CHECK_WARNING, "Use the same provider on both sides.",
				  "collation %s is provided by \"%s\" on the source and \"%s\" on the target: "
				  "text sorts differently",
				  q, prov, PQgetvalue(t, 0, 0));
	}
	else if (sver[0] != '\0' && strcmp(sver, PQgetvalue(t, 0, 2)) != 0)
	{
		check_add(x, id, CHECK_WARNING,
				  "Test the application's ordering and unique keys on the target; use the same "
				  "ICU/glibc version on both sides to avoid it.",
				  "collation %s (used by %s indexes) has version %s on the source and %s on the "
				  "target: the indexes are rebuilt, but text sorts (and unique keys compare) "
				  "differently",
				  q, PQgetvalue(s, i, 5), sver, PQgetvalue(t, 0, 2));
	}
	else
	{
		check_add(x, id, CHECK_OK, NULL, "collation %s: same provider%s%s on the target", q,
				  sver[0] ? " and version " : "", sver);
	}
	PQclear(t);
	free(q);
}

void
check_collations(CheckCtx *x)
{
	const char *p[] = { x->kept_tables };
	PGresult *s = pg_query(&x->src, SQL_CHECK_INDEX_COLLATIONS, 1, p);
	for (int i = 0; s != NULL && i < PQntuples(s); i++)
	{
		/* "default" is the database's: compared with the encoding's locale */
		if (strcmp(PQgetvalue(s, i, 2), "d") == 0)
		{
			continue;
		}
		check_one_collation(x, s, i);
	}
	PQclear(s);
	if (x->src_version >= 150000 && x->tgt_version >= 150000)
	{
		const char *sql = "SELECT coalesce(pg_catalog.pg_database_collation_actual_version(oid), "
						  "'') FROM pg_catalog.pg_database WHERE datname = current_database()";
		char *sv = check_value(&x->src, sql, 0, NULL);
		char *tv = check_value(&x->tgt, sql, 0, NULL);
		if (sv != NULL && tv != NULL && sv[0] != '\0' && strcmp(sv, tv) != 0)
		{
			check_add(x, "collation.default", CHECK_WARNING,
					  "Use the same glibc/ICU version on both sides, or test the ordering on "
					  "the target.",
					  "the databases' default collation has version %s on the source and %s on "
					  "the target: text sorts differently",
					  sv, tv);
		}
		free(sv);
		free(tv);
	}
}

/* Is the target on this machine (a Unix socket or a loopback address)? */
static bool
target_is_local(PgConn *c)
{
	const char *h = PQhost(c->conn);
	return h == NULL || h[0] == '\0' || h[0] == '/' || strcmp(h, "localhost") == 0 ||
		   strcmp(h, "127.0.0.1") == 0 || strcmp(h, "::1") == 0;
}

static void
check_target_space(CheckCtx *x, int64_t need)
{
	char *dir = NULL;
	if (x->tgt_ok && target_is_local(&x->tgt))
	{
		dir = check_value(&x->tgt, "SELECT current_setting('data_directory')", 0, NULL);
	}
	struct statvfs st;
	char n[32];
	size_format(need, n, sizeof(n));
	if (dir == NULL || dir[0] == '\0' || statvfs(dir, &st) != 0)
	{
		bool local = x->tgt_ok && target_is_local(&x->tgt);
		char *why = local ? xasprintf("role \"%s\" may not read its data_directory setting "
									  "(pg_read_all_settings)",
									  x->tgt_user ? x->tgt_user : "?")
						  : xstrdup("it is on another machine");
		check_add(x, "size.target_space", CHECK_WARNING,
				  "Make sure the target has that much free space (and some for its WAL).",
				  "could not check the target's free space (%s): the copy needs about %s", why, n);
		free(why);
		free(dir);
		return;
	}
	int64_t avail = (int64_t) st.f_bavail * (int64_t) st.f_frsize;
	char a[32];
	size_format(avail, a, sizeof(a));
	if (avail < need)
	{
		check_add(x, "size.target_space", CHECK_BLOCKING, "Free space on the target's disk.",
				  "the target's disk (%s) has %s free: the copy needs about %s", dir, a, n);
	}
	else if ((double) avail < 1.2 * (double) need)
	{
		check_add(x, "size.target_space", CHECK_WARNING, "Free space on the target's disk.",
				  "the target's disk (%s) has %s free, little more than the %s the copy needs", dir,
				  a, n);
	}
	else
	{
		check_add(x, "size.target_space", CHECK_OK, NULL,
				  "the target's disk (%s) has %s free; the copy needs about %s", dir, a, n);
	}
	free(dir);
}

void
check_size(CheckCtx *x)
{
	char *v =
		check_value(&x->src, "SELECT pg_catalog.pg_database_size(current_database())", 0, NULL);
	int64_t all = v != NULL && v[0] ? strtoll(v, NULL, 10) : -1;
	free(v);
	int64_t kept = 0;
	for (int i = 0; i < x->cat.ntables; i++)
	{
		if (!x->cat.tables[i].excluded && !x->cat.tables[i].exclude_data)
		{
			kept += x->cat.tables[i].bytes;
		}
	}
	/* indexes and TOAST come with the tables: the database's size when nothing is left out */
	int64_t need = x->filters.active || all < 0 ? kept : all;
	x->r->db_bytes = need;
	x->r->copy_seconds = (double) need / (CHECK_CLONE_MB_PER_S * 1048576.0);
	char b[32];
	size_format(need, b, sizeof(b));
	check_add(x, "size.source", CHECK_OK, NULL,
			  "%s to copy: about %.0f s at the benchmark's %.1f MB/s (docs/benchmarks.md)", b,
			  x->r->copy_seconds, CHECK_CLONE_MB_PER_S);
	check_target_space(x, need);
}
