/*
 * src/check/check_privs.c — what the connecting roles may do: read every
 * kept table, sequence and large object on the source; create, own and drop
 * on the target.
 *
 * Each finding names the objects (the first ten) and the GRANT that fixes
 * it, for the role pgshift connects as: the statements are meant to be
 * pasted as they are.
 */
#include "check/check_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.inc"

#define CHECK_LIST_MAX 10

/* "a, b, c, ..." of column col of the first CHECK_LIST_MAX rows. */
static char *
rows_list(PGresult *res, int col)
{
	StrBuf sb;
	sb_init(&sb);
	int n = PQntuples(res);
	for (int i = 0; i < n && i < CHECK_LIST_MAX; i++)
	{
		sb_printf(&sb, "%s%s", i ? ", " : "", PQgetvalue(res, i, col));
	}
	if (n > CHECK_LIST_MAX)
	{
		sb_append(&sb, ", ...");
	}
	return sb_steal(&sb);
}

static void
check_source_read(CheckCtx *x)
{
	const char *p[] = { x->kept_relations };
	PGresult *res = pg_query(&x->src, SQL_CHECK_SOURCE_UNREADABLE, 1, p);
	if (res == NULL)
	{
		check_add(x, "source.read", CHECK_WARNING, NULL, "could not check: %s",
				  x->src.errmsg ? x->src.errmsg : "?");
		return;
	}
	int n = PQntuples(res);
	if (n == 0)
	{
		check_add(x, "source.read", CHECK_OK, NULL,
				  "role \"%s\" can read the %d kept tables and their sequences", x->src_user,
				  x->nkept);
		PQclear(res);
		return;
	}
	char *names = rows_list(res, 0);
	char *role = pg_quote_ident(x->src_user);
	char *fix = x->src_version >= 140000
					? xasprintf("GRANT pg_read_all_data TO %s;  (or, per object: GRANT USAGE ON "
								"SCHEMA ... TO %s; GRANT SELECT ON %s TO %s; ...)",
								role, role, PQgetvalue(res, 0, 0), role)
					: xasprintf("GRANT USAGE ON SCHEMA %s TO %s; GRANT SELECT ON ALL TABLES IN "
								"SCHEMA ... TO %s; GRANT SELECT ON ALL SEQUENCES IN SCHEMA ... "
								"TO %s;",
								PQgetvalue(res, 0, 2), role, role, role);
	check_add(x, "source.read", CHECK_BLOCKING, fix,
			  "role \"%s\" cannot read %d of the kept tables and sequences: %s", x->src_user, n,
			  names);
	free(fix);
	free(role);
	free(names);
	PQclear(res);
}

static void
check_source_large_objects(CheckCtx *x)
{
	if (x->spec->skip_large_objects)
	{
		return;
	}
	char *total =
		check_value(&x->src, "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata", 0, NULL);
	long n = total != NULL ? strtol(total, NULL, 10) : -1;
	free(total);
	if (n <= 0)
	{
		return;
	}
	PGresult *res = pg_query(&x->src, SQL_CHECK_LO_UNREADABLE, 0, NULL);
	long bad = res != NULL ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : -1;
	if (bad < 0)
	{
		check_add(x, "source.large_objects", CHECK_WARNING, NULL,
				  "could not check whether the %ld large objects can be read", n);
	}
	else if (bad == 0)
	{
		check_add(x, "source.large_objects", CHECK_OK, NULL,
				  "role \"%s\" can read the %ld large objects", x->src_user, n);
	}
	else
	{
		char *role = pg_quote_ident(x->src_user);
		char *fix = xasprintf("GRANT SELECT ON LARGE OBJECT %s TO %s; (each of them), or copy "
							  "as their owner or a superuser, or leave them out with "
							  "--skip-large-objects",
							  PQgetvalue(res, 0, 1), role);
		check_add(x, "source.large_objects", CHECK_BLOCKING, fix,
				  "role \"%s\" cannot read %ld of the %ld large objects (the first: %s)",
				  x->src_user, bad, n, PQgetvalue(res, 0, 1));
		free(fix);
		free(role);
	}
	PQclear(res);
}

void
check_source_privileges(CheckCtx *x)
{
	check_source_read(x);
	check_source_large_objects(x);
}

/* CREATE on the database and on every kept schema that exists on the target. */
static void
check_target_create(CheckCtx *x)
{
	char *role = pg_quote_ident(x->tgt_user);
	char *db = pg_quote_ident(x->tgt_db ? x->tgt_db : "?");
	if (!check_is_true(&x->tgt, "SELECT pg_catalog.has_database_privilege(current_database(), "
								"'CREATE')"))
	{
		char *fix = xasprintf("GRANT CREATE ON DATABASE %s TO %s;  (or ALTER DATABASE %s OWNER "
							  "TO %s;)",
							  db, role, db, role);
		check_add(x, "target.create", CHECK_BLOCKING, fix,
				  "role \"%s\" may not create schemas in the target database", x->tgt_user);
		free(fix);
	}
	else
	{
		check_add(x, "target.create", CHECK_OK, NULL,
				  "role \"%s\" may create schemas in the target database", x->tgt_user);
	}
	if (x->cat_ok)
	{
		StrBuf nsps;
		sb_init(&nsps);
		sb_append_char(&nsps, '{');
		for (int i = 0; i < x->cat.ntables; i++)
		{
			if (!x->cat.tables[i].excluded)
			{
				if (nsps.len > 1)
				{
					sb_append_char(&nsps, ',');
				}
				sb_append_array_elem(&nsps, x->cat.tables[i].nspname);
			}
		}
		sb_append_char(&nsps, '}');
		const char *p[] = { nsps.data };
		PGresult *res = pg_query(&x->tgt,
								 "SELECT DISTINCT pg_catalog.quote_ident(nspname) FROM "
								 "pg_catalog.pg_namespace WHERE nspname = ANY ($1::text[]) AND "
								 "NOT pg_catalog.has_schema_privilege(oid, 'CREATE') ORDER BY 1",
								 1, p);
		if (res != NULL && PQntuples(res) > 0)
		{
			char *names = rows_list(res, 0);
			char *fix = xasprintf("GRANT CREATE ON SCHEMA %s TO %s;", PQgetvalue(res, 0, 0), role);
			check_add(x, "target.schemas", CHECK_BLOCKING, fix,
					  "role \"%s\" may not create objects in the target's schemas %s", x->tgt_user,
					  names);
			free(fix);
			free(names);
		}
		PQclear(res);
		sb_free(&nsps);
	}
	free(db);
	free(role);
}

/* pg_restore sets owners and privileges: other roles' need a superuser. */
static void
check_target_owner_acl(CheckCtx *x)
{
	if (x->tgt_super || !x->cat_ok || !x->src_ok)
	{
		return;
	}
	if (!x->spec->no_owner)
	{
		const char *p[] = { x->kept_tables, x->tgt_user };
		char *others =
			check_value(&x->src,
						"SELECT string_agg(DISTINCT pg_catalog.pg_get_userbyid(relowner), "
						"', ') FROM pg_catalog.pg_class WHERE oid = ANY ($1::oid[]) AND "
						"pg_catalog.pg_get_userbyid(relowner) <> $2",
						2, p);
		if (others != NULL && others[0] != '\0')
		{
			check_add(x, "target.owner", CHECK_BLOCKING,
					  "Add --no-owner (the objects are then owned by the target role), or "
					  "connect to the target as a superuser.",
					  "the source's objects belong to %s: setting those owners on the target "
					  "needs a superuser, and role \"%s\" is not one",
					  others, x->tgt_user);
		}
		free(others);
	}
	if (!x->spec->no_acl)
	{
		check_add(x, "target.acl", CHECK_WARNING,
				  "Add --no-acl, or create the source's roles on the target first.",
				  "the source's GRANTs are restored as they are: those naming roles the target "
				  "lacks fail (role \"%s\" is not a superuser)",
				  x->tgt_user);
	}
}

/* --roles: pg_dumpall --roles-only and CREATE ROLE, skipped without the right. */
static void
check_target_roles(CheckCtx *x)
{
	if (!x->spec->roles)
	{
		return;
	}
	bool can = x->tgt_super ||
			   check_is_true(&x->tgt, "SELECT rolcreaterole FROM pg_catalog.pg_roles WHERE "
									  "rolname = current_user");
	if (!can)
	{
		check_add(x, "target.roles", CHECK_WARNING,
				  "Create the roles on the target yourself (as its administrator), or leave "
				  "--roles out.",
				  "--roles: role \"%s\" may not create roles (neither superuser nor CREATEROLE): "
				  "the copy of the roles will be skipped",
				  x->tgt_user);
	}
	else if (!x->src_super)
	{
		check_add(x, "target.roles", CHECK_WARNING, "Add --no-role-passwords.",
				  "--roles: the source role is not a superuser: pg_dumpall cannot read the "
				  "passwords (pg_authid)");
	}
}

/* The relations to create: none may exist, unless --drop-if-exists, which needs ownership. */
static void
check_target_existing(CheckCtx *x)
{
	if (!x->src_ok)
	{
		return;
	}
	StrBuf nsps, rels;
	if (!catalog_relation_name_arrays(&x->src, &x->filters, &nsps, &rels))
	{
		return;
	}
	const char *p[] = { nsps.data, rels.data };
	PGresult *res = pg_query(&x->tgt, SQL_CHECK_TARGET_EXISTING, 2, p);
	sb_free(&nsps);
	sb_free(&rels);
	if (res == NULL)
	{
		return;
	}
	int n = PQntuples(res);
	StrBuf notmine;
	sb_init(&notmine);
	int nnot = 0;
	for (int i = 0; i < n; i++)
	{
		if (strcmp(PQgetvalue(res, i, 1), "t") != 0 && !x->tgt_super)
		{
			if (nnot < CHECK_LIST_MAX)
			{
				sb_printf(&notmine, "%s%s", nnot ? ", " : "", PQgetvalue(res, i, 0));
			}
			nnot++;
		}
	}
	if (n == 0)
	{
		check_add(x, "target.empty", CHECK_OK, NULL,
				  "the target holds none of the relations to create");
	}
	else if (!x->spec->drop_if_exists)
	{
		char *names = rows_list(res, 0);
		check_add(x, "target.empty", CHECK_BLOCKING,
				  "Use an empty target database, or --drop-if-exists to drop and recreate them.",
				  "the target already holds %d of the relations to create: %s", n, names);
		free(names);
	}
	else if (nnot > 0)
	{
		char *role = pg_quote_ident(x->tgt_user);
		char *fix =
			xasprintf("As their owner or a superuser: ALTER TABLE %s OWNER TO %s; (each of them)",
					  PQgetvalue(res, 0, 0), role);
		check_add(x, "target.drop", CHECK_BLOCKING, fix,
				  "--drop-if-exists would drop %d relations role \"%s\" does not own: %s%s", nnot,
				  x->tgt_user, notmine.data, nnot > CHECK_LIST_MAX ? ", ..." : "");
		free(fix);
		free(role);
	}
	else
	{
		check_add(x, "target.drop", CHECK_OK, NULL,
				  "--drop-if-exists will drop %d existing relations, all owned by role \"%s\"", n,
				  x->tgt_user);
	}
	sb_free(&notmine);
	PQclear(res);
}

/*
 * What only a superuser may create on the target, among what the schema
 * restore replays: publications FOR ALL TABLES (or TABLES IN SCHEMA) and
 * event triggers.
 */
static void
check_superuser_objects(CheckCtx *x)
{
	if (x->tgt_super || !x->src_ok)
	{
		return;
	}
	const char *pubsql = x->src_version >= 150000
							 ? "SELECT string_agg(pg_catalog.quote_ident(pubname), ', ') FROM "
							   "pg_catalog.pg_publication p WHERE p.puballtables OR EXISTS "
							   "(SELECT 1 FROM pg_catalog.pg_publication_namespace pn WHERE "
							   "pn.pnpubid = p.oid)"
							 : "SELECT string_agg(pg_catalog.quote_ident(pubname), ', ') FROM "
							   "pg_catalog.pg_publication WHERE puballtables";
	char *pubs = x->spec->skip_publications ? NULL : check_value(&x->src, pubsql, 0, NULL);
	if (pubs != NULL && pubs[0] != '\0')
	{
		check_add(x, "target.publications", CHECK_BLOCKING,
				  "Add --skip-publications (the target needs none of the source's publications "
				  "to be a copy), or restore as a superuser.",
				  "the source's publications %s are FOR ALL TABLES or TABLES IN SCHEMA: "
				  "creating them on the target needs a superuser, and role \"%s\" is not one",
				  pubs, x->tgt_user);
	}
	free(pubs);
	char *evt = check_value(&x->src,
							"SELECT string_agg(pg_catalog.quote_ident(evtname), ', ') FROM "
							"pg_catalog.pg_event_trigger",
							0, NULL);
	if (evt != NULL && evt[0] != '\0')
	{
		check_add(x, "target.event_triggers", CHECK_BLOCKING,
				  "Create them on the target as a superuser, then use --restore-tolerance for "
				  "the entries that fail; or restore as a superuser.",
				  "the source's event triggers %s can only be created by a superuser on the "
				  "target, and role \"%s\" is not one",
				  evt, x->tgt_user);
	}
	free(evt);
}

void
check_target_privileges(CheckCtx *x)
{
	check_target_create(x);
	check_superuser_objects(x);
	check_target_owner_acl(x);
	check_target_roles(x);
	check_target_existing(x);
}
