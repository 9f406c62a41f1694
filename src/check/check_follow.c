/*
 * src/check/check_follow.c — what --follow needs: on the source wal_level,
 * REPLICATION, a free slot and WAL sender, the publication (pgoutput), a
 * replica identity on every kept table; on the target replication origins
 * and session_replication_role; and what logical decoding does not carry.
 *
 * The publication rule is the follower's own (cdc/setup.c): a superuser
 * gets FOR ALL TABLES, a role owning every kept table FOR TABLE of them,
 * and an existing publication named by --publication is used as it is if
 * it holds the kept tables.
 */
#include "check/check_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.inc"

static long
value_long(PgConn *c, const char *sql)
{
	char *v = check_value(c, sql, 0, NULL);
	long n = v != NULL && v[0] != '\0' ? strtol(v, NULL, 10) : -1;
	free(v);
	return n;
}

static void
check_wal_and_role(CheckCtx *x)
{
	char *wal = check_value(&x->src, "SELECT current_setting('wal_level')", 0, NULL);
	if (wal != NULL && strcmp(wal, "logical") != 0)
	{
		check_add(x, "follow.wal_level", CHECK_BLOCKING,
				  "ALTER SYSTEM SET wal_level = logical; then restart the source.",
				  "the source's wal_level is \"%s\": logical decoding needs \"logical\"", wal);
	}
	else
	{
		check_add(x, "follow.wal_level", CHECK_OK, NULL, "wal_level is logical");
	}
	free(wal);
	bool repl = x->src_super || check_is_true(&x->src, "SELECT rolreplication FROM "
													   "pg_catalog.pg_roles WHERE rolname = "
													   "current_user");
	if (!repl)
	{
		char *role = pg_quote_ident(x->src_user);
		char *fix = xasprintf("ALTER ROLE %s REPLICATION;", role);
		check_add(x, "follow.replication", CHECK_BLOCKING, fix,
				  "role \"%s\" has not the REPLICATION privilege a replication slot needs",
				  x->src_user);
		free(fix);
		free(role);
	}
	else
	{
		check_add(x, "follow.replication", CHECK_OK, NULL, "role \"%s\" may replicate",
				  x->src_user);
	}
}

static void
check_slots(CheckCtx *x)
{
	const char *p[] = { x->spec->slot };
	char *used = check_value(
		&x->src, "SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, p);
	if (used != NULL && strcmp(used, "0") != 0)
	{
		char *fix = xasprintf("Use another --slot-name, or drop it: SELECT "
							  "pg_drop_replication_slot('%s');",
							  x->spec->slot);
		check_add(x, "follow.slot_name", CHECK_BLOCKING, fix,
				  "replication slot \"%s\" exists already on the source", x->spec->slot);
		free(fix);
	}
	free(used);
	long max = value_long(&x->src, "SELECT current_setting('max_replication_slots')");
	long n = value_long(&x->src, "SELECT count(*) FROM pg_catalog.pg_replication_slots");
	if (max >= 0 && n >= 0 && max - n < 1)
	{
		char *fix = xasprintf("Drop an unused slot (SELECT pg_drop_replication_slot('...')), or "
							  "ALTER SYSTEM SET max_replication_slots = %ld; and restart the "
							  "source.",
							  n + 1);
		check_add(x, "follow.slots", CHECK_BLOCKING, fix,
				  "no free replication slot on the source: %ld of max_replication_slots = %ld "
				  "are in use",
				  n, max);
		free(fix);
	}
	else
	{
		check_add(x, "follow.slots", CHECK_OK, NULL, "%ld of %ld replication slots free", max - n,
				  max);
	}
	long senders = value_long(&x->src, "SELECT current_setting('max_wal_senders')");
	long busy = value_long(&x->src, "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE "
									"backend_type = 'walsender'");
	/* the slot's connection holds the snapshot while the receiver streams: two at once */
	if (senders >= 0 && busy >= 0 && senders - busy < 2)
	{
		char *fix =
			xasprintf("ALTER SYSTEM SET max_wal_senders = %ld; and restart the source.", busy + 2);
		check_add(x, "follow.wal_senders", senders - busy < 1 ? CHECK_BLOCKING : CHECK_WARNING, fix,
				  "%ld of max_wal_senders = %ld are in use: the follower needs 2 (one holds the "
				  "copy's snapshot while the other streams)",
				  busy, senders);
		free(fix);
	}
	else
	{
		check_add(x, "follow.wal_senders", CHECK_OK, NULL, "%ld of %ld WAL senders free",
				  senders - busy, senders);
	}
}

/* The publication the follower will use or create (pgoutput). */
static void
check_publication(CheckCtx *x)
{
	if (!cdc_plugin_uses_publication(x->spec->plugin))
	{
		check_add(x, "follow.publication", CHECK_OK, NULL, "plugin %s needs no publication",
				  cdc_plugin_name(x->spec->plugin));
		return;
	}
	const char *pub = x->spec->publication;
	const char *pp[] = { pub };
	char *exists = check_value(
		&x->src, "SELECT count(*) FROM pg_catalog.pg_publication WHERE pubname = $1", 1, pp);
	if (exists != NULL && strcmp(exists, "0") != 0)
	{
		StrBuf names;
		sb_init(&names);
		sb_append_char(&names, '{');
		for (int i = 0; i < x->kept_names.n; i++)
		{
			if (i > 0)
			{
				sb_append_char(&names, ',');
			}
			sb_append_array_elem(&names, x->kept_names.items[i]);
		}
		sb_append_char(&names, '}');
		const char *p[] = { pub, names.data };
		PGresult *res = pg_query(&x->src, SQL_CHECK_PUBLICATION_MISSING, 2, p);
		sb_free(&names);
		if (res != NULL && PQntuples(res) > 0)
		{
			char *fix = xasprintf("As the tables' owner: ALTER PUBLICATION %s ADD TABLE %s%s;", pub,
								  PQgetvalue(res, 0, 0), PQntuples(res) > 1 ? ", ..." : "");
			check_add(x, "follow.publication", CHECK_BLOCKING, fix,
					  "publication \"%s\" exists and lacks %d of the kept tables (the first: "
					  "%s)",
					  pub, PQntuples(res), PQgetvalue(res, 0, 0));
			free(fix);
		}
		else if (res != NULL)
		{
			check_add(x, "follow.publication", CHECK_OK, NULL,
					  "publication \"%s\" exists and holds every kept table: used as it is", pub);
		}
		PQclear(res);
		free(exists);
		return;
	}
	free(exists);
	if (x->src_super)
	{
		check_add(x, "follow.publication", CHECK_OK, NULL,
				  "publication \"%s\" will be created FOR ALL TABLES", pub);
		return;
	}
	bool can_create = check_is_true(&x->src, "SELECT pg_catalog.has_database_privilege("
											 "current_database(), 'CREATE')");
	PGresult *res = pg_query(&x->src, SQL_CHECK_PUBLISHABLE_TABLES, 0, NULL);
	int notmine = 0;
	const char *first = NULL;
	for (int i = 0; res != NULL && i < PQntuples(res); i++)
	{
		bool kept = strlist_contains(&x->kept_names, PQgetvalue(res, i, 0));
		if (kept && strcmp(PQgetvalue(res, i, 1), "t") != 0)
		{
			first = first ? first : PQgetvalue(res, i, 0);
			notmine++;
		}
	}
	if (can_create && notmine == 0)
	{
		check_add(x, "follow.publication", CHECK_WARNING,
				  "Tables created on the source after the start must be added by their owner: "
				  "ALTER PUBLICATION ... ADD TABLE ...",
				  "role \"%s\" is not a superuser: publication \"%s\" will be created FOR TABLE "
				  "of the %d kept tables (a table created later is not in it)",
				  x->src_user, pub, x->nkept);
	}
	else
	{
		char *fix = xasprintf("As the tables' owner or a superuser: CREATE PUBLICATION %s FOR "
							  "TABLE ...; (or FOR ALL TABLES) and pass --publication %s; or use "
							  "--plugin test_decoding or wal2json, which need no publication.",
							  pub, pub);
		if (!can_create)
		{
			check_add(x, "follow.publication", CHECK_BLOCKING, fix,
					  "role \"%s\" cannot create publication \"%s\": no CREATE privilege on the "
					  "source database",
					  x->src_user, pub);
		}
		else
		{
			check_add(x, "follow.publication", CHECK_BLOCKING, fix,
					  "role \"%s\" cannot create publication \"%s\": FOR ALL TABLES needs a "
					  "superuser and FOR TABLE the tables' ownership, and it does not own %d of "
					  "them (the first: %s)",
					  x->src_user, pub, notmine, first);
		}
		free(fix);
	}
	PQclear(res);
}

/* Replica identity, unlogged tables, large objects, sequences. */
static void
check_decoding_limits(CheckCtx *x)
{
	const char *p[] = { x->kept_tables };
	PGresult *res = pg_query(&x->src, SQL_CHECK_REPLICA_IDENTITY, 1, p);
	if (res != NULL && PQntuples(res) > 0)
	{
		StrBuf sb;
		sb_init(&sb);
		for (int i = 0; i < PQntuples(res) && i < 10; i++)
		{
			sb_printf(&sb, "%s%s", i ? ", " : "", PQgetvalue(res, i, 0));
		}
		char *fix = xasprintf("Add a primary key, or: ALTER TABLE %s REPLICA IDENTITY FULL; "
							  "(each of them)",
							  PQgetvalue(res, 0, 0));
		check_add(x, "follow.replica_identity", CHECK_BLOCKING, fix,
				  "%d kept tables have no replica identity (no primary key, REPLICA IDENTITY "
				  "DEFAULT or NOTHING): their UPDATEs and DELETEs cannot be replayed, and fail on "
				  "the source once published: %s%s",
				  PQntuples(res), sb.data, PQntuples(res) > 10 ? ", ..." : "");
		free(fix);
		sb_free(&sb);
	}
	else if (res != NULL)
	{
		check_add(x, "follow.replica_identity", CHECK_OK, NULL,
				  "every kept table has a replica identity");
	}
	PQclear(res);
	int unlogged = 0;
	const char *first = NULL;
	for (int i = 0; i < x->cat.ntables; i++)
	{
		if (!x->cat.tables[i].excluded && x->cat.tables[i].persistence == 'u')
		{
			first = first ? first : x->cat.tables[i].qname;
			unlogged++;
		}
	}
	if (unlogged > 0)
	{
		check_add(x, "follow.unlogged", CHECK_WARNING,
				  "ALTER TABLE ... SET LOGGED; on the source, or copy those tables again at "
				  "cut-over.",
				  "%d unlogged tables (the first: %s) are copied, but their later changes are "
				  "not in the WAL: the follower does not carry them",
				  unlogged, first);
	}
	long nlo = value_long(&x->src, "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata");
	if (nlo > 0 && !x->spec->skip_large_objects)
	{
		check_add(x, "follow.large_objects", CHECK_WARNING,
				  "Copy the large objects again at cut-over (pgshift copy blobs --drop-if-exists).",
				  "%ld large objects are copied, but logical decoding does not carry their "
				  "later changes",
				  nlo);
	}
	int nseq = 0;
	for (int i = 0; i < x->cat.nsequences; i++)
	{
		nseq += !x->cat.sequences[i].excluded;
	}
	check_add(x, "follow.sequences", CHECK_OK, NULL,
			  "%d sequences: not carried by decoding, set to the source's values when the "
			  "follower stops",
			  nseq);
}

/* Replication origins on the target: functions granted, and room for one more. */
static void
check_origins(CheckCtx *x)
{
	PGresult *res = x->tgt_super ? NULL : pg_query(&x->tgt, SQL_CHECK_ORIGIN_GRANTS, 0, NULL);
	StrBuf grants;
	sb_init(&grants);
	char *role = pg_quote_ident(x->tgt_user);
	int missing = 0;
	for (int i = 0; res != NULL && i < PQntuples(res); i++)
	{
		if (strcmp(PQgetvalue(res, i, 2), "t") == 0)
		{
			continue;
		}
		bool fn = strcmp(PQgetvalue(res, i, 1), "function") == 0;
		sb_printf(&grants, "GRANT %s ON %s%s TO %s; ", fn ? "EXECUTE" : "SELECT",
				  fn ? "FUNCTION " : "", PQgetvalue(res, i, 0), role);
		missing++;
	}
	if (missing > 0)
	{
		char *fix = xasprintf("As a superuser on the target: %s", grants.data);
		check_add(x, "follow.origins", CHECK_BLOCKING, fix,
				  "role \"%s\" is not a superuser and may not use %d of the replication origin "
				  "functions the follower calls",
				  x->tgt_user, missing);
		free(fix);
	}
	else
	{
		check_add(x, "follow.origins", CHECK_OK, NULL, "role \"%s\" may use replication origins%s",
				  x->tgt_user, x->tgt_super ? " (superuser)" : " (granted)");
	}
	PQclear(res);
	sb_free(&grants);
	free(role);
	const char *op[] = { x->spec->origin };
	char *have = check_value(
		&x->tgt, "SELECT count(*) FROM pg_catalog.pg_replication_origin WHERE roname = $1", 1, op);
	bool exists = have != NULL && strcmp(have, "0") != 0;
	free(have);
	long max = value_long(&x->tgt, "SELECT current_setting('max_replication_slots')");
	long n = value_long(&x->tgt, "SELECT count(*) FROM pg_catalog.pg_replication_origin");
	if (max >= 0 && n >= 0 && !exists && max - n < 1)
	{
		char *fix = xasprintf("ALTER SYSTEM SET max_replication_slots = %ld; and restart the "
							  "target (it also bounds the replication origins).",
							  n + 1);
		check_add(x, "follow.target_origins", CHECK_BLOCKING, fix,
				  "the target's max_replication_slots (%ld) leaves no room for another "
				  "replication origin (%ld exist)",
				  max, n);
		free(fix);
	}
	else if (exists)
	{
		check_add(x, "follow.target_origins", CHECK_WARNING,
				  "If it belongs to an earlier migration that is over: SELECT "
				  "pg_replication_origin_drop('...');",
				  "replication origin \"%s\" exists already on the target: a new stream refuses "
				  "it if it holds progress",
				  x->spec->origin);
	}
	else
	{
		check_add(x, "follow.target_origins", CHECK_OK, NULL,
				  "room for the replication origin (max_replication_slots = %ld, %ld in use)", max,
				  n);
	}
}

/* session_replication_role = replica keeps the target's triggers from firing twice. */
static void
check_replication_role(CheckCtx *x)
{
	bool can = x->tgt_super;
	if (!can && x->tgt_version >= 150000)
	{
		can = check_is_true(&x->tgt, "SELECT pg_catalog.has_parameter_privilege("
									 "'session_replication_role', 'SET')");
	}
	if (can)
	{
		check_add(x, "follow.session_replication_role", CHECK_OK, NULL,
				  "the applier runs with session_replication_role = replica (the target's "
				  "triggers and foreign key checks do not fire twice)");
		return;
	}
	char *role = pg_quote_ident(x->tgt_user);
	char *fix = x->tgt_version >= 150000
					? xasprintf("As a superuser on the target: GRANT SET ON PARAMETER "
								"session_replication_role TO %s;",
								role)
					: xasprintf("Connect the follower to the target as a superuser (before "
								"PostgreSQL 15 only a superuser may set it).");
	check_add(x, "follow.session_replication_role", CHECK_WARNING, fix,
			  "role \"%s\" may not set session_replication_role: the applier will disable the "
			  "user triggers of the tables it applies to (ALTER TABLE ... DISABLE TRIGGER, as "
			  "their owner) while it runs, and enable them again when it stops (also after a "
			  "crash); foreign keys are checked, which the source's commit order satisfies",
			  x->tgt_user);
	free(fix);
	free(role);
}

/* The WAL the slot keeps on the source while the copy runs. */
static void
check_wal_retained(CheckCtx *x)
{
	char *rate = check_value(&x->src,
							 "SELECT (wal_bytes / greatest(extract(epoch FROM now() - "
							 "stats_reset), 1))::bigint FROM pg_catalog.pg_stat_wal",
							 0, NULL);
	double seconds = x->r->copy_seconds;
	if (rate == NULL || rate[0] == '\0')
	{
		check_add(x, "follow.wal_retained", CHECK_WARNING, NULL,
				  "could not estimate the WAL the source keeps while copying (pg_stat_wal needs "
				  "PostgreSQL 14): the slot holds all the WAL written during the copy (about "
				  "%.0f s)",
				  seconds);
		free(rate);
		return;
	}
	double bytes = strtod(rate, NULL) * seconds;
	char b[32], r[32];
	size_format((int64_t) bytes, b, sizeof(b));
	size_format(strtoll(rate, NULL, 10), r, sizeof(r));
	check_add(x, "follow.wal_retained", CHECK_WARNING,
			  "Make sure the source's pg_wal has that much room (and max_slot_wal_keep_size "
			  "is -1 or larger).",
			  "the slot keeps the WAL written while the copy runs: about %s (%s/s, the "
			  "source's average since its statistics were reset, for an estimated %.0f s copy)",
			  b, r, seconds);
	free(rate);
}

void
check_follow(CheckCtx *x)
{
	check_wal_and_role(x);
	check_slots(x);
	check_publication(x);
	check_decoding_limits(x);
	check_wal_retained(x);
	if (x->tgt_ok)
	{
		check_origins(x);
		check_replication_role(x);
	}
}
