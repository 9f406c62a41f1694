/*
 * src/cdc/setup.c — publication, slot and origin; cleanup; sequences.
 *
 * The slot is created on a replication connection with EXPORT_SNAPSHOT, and
 * that connection stays open and idle while the copy runs: its snapshot is
 * the copy's snapshot, so the copy holds exactly the transactions committed
 * before the slot's consistent point, and the stream exactly those after.
 * The publication must exist before the slot (pgoutput reads it with the
 * historic snapshot of each decoded transaction).
 *
 * pgcopydb's step-by-step flow splits the work: `snapshot --follow` (source
 * only) creates the publication and the slot and holds the slot's snapshot;
 * `stream setup` then creates the origin and uses that slot as it is (the
 * work directory records that it made it); `follow` uses the slot and the
 * origin it finds.
 */
#include "cdc/cdc.h"
#include "cdc/cdc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

#include "sql.inc"

static char *
query1(PgConn *c, const char *sql, int n, const char *const *p)
{
	char *v = NULL;
	if (!pg_query_value(c, sql, n, p, &v))
	{
		return NULL;
	}
	return v ? v : xstrdup("");
}

/* Checks that the source can do logical replication for us. */
static int
cdc_check_source(const CdcOptions *co, PgConn *src, bool *slot_exists)
{
	char *wal = query1(src, "SELECT current_setting('wal_level')", 0, NULL);
	if (wal == NULL)
	{
		return EXIT_SOURCE;
	}
	if (strcmp(wal, "logical") != 0)
	{
		log_error("source: wal_level is \"%s\": change data capture needs \"logical\"", wal);
		log_hint(LOG_LEVEL_ERROR, "Set wal_level = logical in the source's postgresql.conf "
								  "(ALTER SYSTEM SET wal_level = logical) and restart it.");
		free(wal);
		return EXIT_PRECONDITION;
	}
	free(wal);
	char *priv = query1(
		src,
		"SELECT rolreplication OR rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user",
		0, NULL);
	if (priv == NULL)
	{
		return EXIT_SOURCE;
	}
	if (strcmp(priv, "t") != 0)
	{
		log_error("source: role lacks the REPLICATION privilege needed for a replication slot");
		log_hint(LOG_LEVEL_ERROR, "ALTER ROLE <role> REPLICATION, or connect as a superuser.");
		free(priv);
		return EXIT_PRECONDITION;
	}
	free(priv);
	const char *p[] = { co->slot };
	char *exists = query1(
		src, "SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1, p);
	*slot_exists = exists != NULL && strcmp(exists, "0") != 0;
	free(exists);
	char *free_slots =
		query1(src,
			   "SELECT current_setting('max_replication_slots')::int - count(*) FROM "
			   "pg_catalog.pg_replication_slots",
			   0, NULL);
	if (!*slot_exists && free_slots != NULL && strtol(free_slots, NULL, 10) <= 0)
	{
		log_error("source: no free replication slot (max_replication_slots is reached)");
		log_hint(LOG_LEVEL_ERROR, "Drop an unused slot (pg_drop_replication_slot) or raise "
								  "max_replication_slots and restart the source.");
		free(free_slots);
		return EXIT_PRECONDITION;
	}
	free(free_slots);
	/*
	 * Without replica identity, UPDATE/DELETE cannot be applied (and, on a
	 * table in pgoutput's publication, they fail ON THE SOURCE)
	 */
	PGresult *res = pg_query(
		src,
		"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), n.nspname, c.relname "
		"FROM pg_catalog.pg_class c "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
		"AND n.nspname !~ '^pg_toast' AND c.relpersistence = 'p' "
		"AND (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM "
		"pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))) "
		"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = "
		"'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1",
		0, NULL);
	if (res == NULL)
	{
		return EXIT_SOURCE;
	}
	int nbad = 0;
	StrBuf names;
	sb_init(&names);
	for (int i = 0; i < PQntuples(res); i++)
	{
		/* with --filters, only the tables published matter */
		char *q = pg_qualname(PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
		bool published = co->tables == NULL || strlist_contains(co->tables, q);
		free(q);
		if (!published)
		{
			continue;
		}
		if (nbad < 10)
		{
			sb_printf(&names, "%s%s", nbad ? ", " : "", PQgetvalue(res, i, 0));
		}
		nbad++;
	}
	if (nbad > 0)
	{
		log_error("source: %d table(s) have no replica identity, so their UPDATEs and DELETEs "
				  "cannot be replayed: %s%s",
				  nbad, names.data, nbad > 10 ? ", ..." : "");
		log_hint(LOG_LEVEL_ERROR, "Add a primary key, or run ALTER TABLE ... REPLICA "
								  "IDENTITY FULL on each of them, then run again.");
		sb_free(&names);
		PQclear(res);
		return EXIT_PRECONDITION;
	}
	sb_free(&names);
	PQclear(res);
	return EXIT_OK;
}

/* Undoes the origin this setup created, when a later step fails. */
static void
drop_new_origin(const CdcOptions *co, bool made_origin)
{
	PgConn tgt;
	if (!made_origin || !pg_connect(&tgt, co->target, "target", "setup", 0))
	{
		return;
	}
	const char *p[] = { co->origin };
	pg_exec_params(&tgt, "SELECT pg_catalog.pg_replication_origin_drop($1)", 1, p);
	pg_disconnect(&tgt);
}

/*
 * The origin on the target, created when missing. fresh_stream: a new slot
 * starts a new stream, so an origin with progress belongs to another one.
 */
static bool
setup_origin(const CdcOptions *co, bool fresh_stream, bool *made_origin, int *exit_code)
{
	PgConn tgt;
	if (!pg_connect(&tgt, co->target, "target", "setup", 0))
	{
		*exit_code = EXIT_TARGET;
		return false;
	}
	const char *op[] = { co->origin };
	char *progress =
		query1(&tgt,
			   "SELECT coalesce((SELECT s.remote_lsn::text FROM pg_catalog.pg_replication_origin o "
			   "JOIN pg_catalog.pg_replication_origin_status s ON s.local_id = o.roident "
			   "WHERE o.roname = $1), '')",
			   1, op);
	if (progress != NULL && fresh_stream && progress[0] != '\0' && strcmp(progress, "0/0") != 0)
	{
		log_error("target: replication origin \"%s\" exists already, at %s", co->origin, progress);
		log_hint(LOG_LEVEL_ERROR,
				 "It tracks another migration into this target: use another "
				 "--origin, or drop it with pg_replication_origin_drop('%s') if "
				 "that migration is over.",
				 co->origin);
		free(progress);
		pg_disconnect(&tgt);
		*exit_code = EXIT_PRECONDITION;
		return false;
	}
	char *existed = query1(
		&tgt, "SELECT count(*) FROM pg_catalog.pg_replication_origin WHERE roname = $1", 1, op);
	*made_origin = existed != NULL && strcmp(existed, "0") == 0;
	free(existed);
	free(progress);
	if (!pg_exec_params(
			&tgt,
			"SELECT pg_catalog.pg_replication_origin_create($1) WHERE NOT EXISTS (SELECT 1 FROM "
			"pg_catalog.pg_replication_origin WHERE roname = $1)",
			1, op))
	{
		log_hint(LOG_LEVEL_ERROR, "Replication origins need a superuser on the target, or "
								  "EXECUTE on the pg_replication_origin_* functions and SELECT "
								  "on pg_replication_origin_status granted (\"pgshift check "
								  "--follow\" lists the GRANTs).");
		pg_disconnect(&tgt);
		*made_origin = false;
		*exit_code = EXIT_PRECONDITION;
		return false;
	}
	pg_disconnect(&tgt);
	return true;
}

/* An existing publication: used as it is if it holds every table of want. */
static bool
publication_holds(PgConn *src, const char *pub, const StrList *want, int *exit_code)
{
	StrBuf names;
	sb_init(&names);
	sb_append_char(&names, '{');
	for (int i = 0; i < want->n; i++)
	{
		if (i > 0)
		{
			sb_append_char(&names, ',');
		}
		sb_append_array_elem(&names, want->items[i]);
	}
	sb_append_char(&names, '}');
	const char *p[] = { pub, names.data };
	PGresult *res = pg_query(src, SQL_CHECK_PUBLICATION_MISSING, 2, p);
	sb_free(&names);
	if (res == NULL)
	{
		*exit_code = EXIT_SOURCE;
		return false;
	}
	int n = PQntuples(res);
	if (n > 0)
	{
		log_error("source: publication \"%s\" exists and does not publish %d of the tables to "
				  "follow (the first: %s)",
				  pub, n, PQgetvalue(res, 0, 0));
		log_hint(LOG_LEVEL_ERROR,
				 "As the tables' owner: ALTER PUBLICATION %s ADD TABLE %s%s; or name another "
				 "--publication.",
				 pub, PQgetvalue(res, 0, 0), n > 1 ? ", ..." : "");
		PQclear(res);
		*exit_code = EXIT_PRECONDITION;
		return false;
	}
	PQclear(res);
	log_info("using the existing publication \"%s\" as it is (it holds the %d tables to follow)",
			 pub, want->n);
	return true;
}

/*
 * pgoutput: the publication, created when missing (before the slot). A
 * superuser gets FOR ALL TABLES; any other role FOR TABLE of the kept tables
 * (which needs their ownership; a table created later is not in it). An
 * existing publication is used as it is, once checked to hold every kept
 * table.
 */
static bool
setup_publication(const CdcOptions *co, bool *made_publication, int *exit_code)
{
	*made_publication = false;
	if (!cdc_plugin_uses_publication(co->plugin))
	{
		return true;
	}
	PgConn src;
	if (!pg_connect(&src, co->source, "source", "setup", 0))
	{
		*exit_code = EXIT_SOURCE;
		return false;
	}
	const char *p[] = { co->publication };
	char *has =
		query1(&src, "SELECT count(*) FROM pg_catalog.pg_publication WHERE pubname = $1", 1, p);
	char *super = query1(
		&src, "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user", 0, NULL);
	/* the tables the publication must hold: the filters', else every publishable one */
	StrList all = { 0 };
	const StrList *want = co->tables;
	PGresult *res = want == NULL ? pg_query(&src, SQL_CHECK_PUBLISHABLE_TABLES, 0, NULL) : NULL;
	for (int i = 0; res != NULL && i < PQntuples(res); i++)
	{
		strlist_add(&all, PQgetvalue(res, i, 0));
	}
	PQclear(res);
	want = want != NULL ? want : &all;
	bool ok = has != NULL && super != NULL;
	if (ok && strcmp(has, "0") != 0)
	{
		ok = publication_holds(&src, co->publication, want, exit_code);
	}
	else if (ok)
	{
		bool for_all = co->tables == NULL && strcmp(super, "t") == 0;
		char *qp = pg_quote_ident(co->publication);
		StrBuf sql;
		sb_init(&sql);
		sb_printf(&sql, "CREATE PUBLICATION %s ", qp);
		if (for_all)
		{
			sb_append(&sql, "FOR ALL TABLES");
		}
		else if (want->n > 0)
		{
			/* (the filters may keep no table: an empty publication) */
			sb_append(&sql, "FOR TABLE ");
			for (int i = 0; i < want->n; i++)
			{
				sb_printf(&sql, "%s%s", i ? ", " : "", want->items[i]);
			}
		}
		ok = pg_exec(&src, sql.data);
		sb_free(&sql);
		free(qp);
		if (!ok)
		{
			log_hint(LOG_LEVEL_ERROR,
					 "FOR ALL TABLES needs a superuser, FOR TABLE the ownership of the tables: "
					 "create publication \"%s\" as their owner or a superuser and pass "
					 "--publication %s, or use --plugin test_decoding (no publication).",
					 co->publication, co->publication);
			*exit_code = EXIT_PRECONDITION;
		}
		else if (for_all)
		{
			log_info("created publication \"%s\" for all tables", co->publication);
		}
		else
		{
			log_info("created publication \"%s\" for the %d tables %s", co->publication, want->n,
					 co->tables != NULL ? "the filters keep" : "of the database");
			if (co->tables == NULL)
			{
				log_warn("publication \"%s\" lists the tables that exist now (the role is not a "
						 "superuser): a table created later is not replicated unless its owner "
						 "adds it (ALTER PUBLICATION %s ADD TABLE ...)",
						 co->publication, co->publication);
			}
		}
		*made_publication = ok;
	}
	else
	{
		*exit_code = EXIT_SOURCE;
	}
	strlist_free(&all);
	free(super);
	free(has);
	pg_disconnect(&src);
	return ok;
}

static void
drop_new_publication(const CdcOptions *co, bool made_publication)
{
	PgConn src;
	if (!made_publication || !pg_connect(&src, co->source, "source", "setup", 0))
	{
		return;
	}
	char *qp = pg_quote_ident(co->publication);
	char *drop = xasprintf("DROP PUBLICATION IF EXISTS %s", qp);
	pg_exec(&src, drop);
	free(drop);
	free(qp);
	pg_disconnect(&src);
}

/* The slot, on a replication connection left open: it holds the snapshot. */
static bool
setup_slot(const CdcOptions *co, CdcSlot *slot, int *exit_code)
{
	if (!pg_connect_replication(&slot->repl, co->source, "source", "slot"))
	{
		*exit_code = EXIT_SOURCE;
		return false;
	}
	StrBuf sql;
	sb_init(&sql);
	sb_append(&sql, "CREATE_REPLICATION_SLOT ");
	sb_append_ident(&sql, co->slot);
	sb_printf(&sql, " LOGICAL %s EXPORT_SNAPSHOT", cdc_plugin_name(co->plugin));
	PGresult *res = PQexec(slot->repl.conn, sql.data);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		pg_set_error(&slot->repl, res, sql.data);
		PQclear(res);
		sb_free(&sql);
		pg_disconnect(&slot->repl);
		*exit_code = EXIT_PRECONDITION;
		return false;
	}
	sb_free(&sql);
	lsn_parse(PQgetvalue(res, 0, 1), &slot->consistent_lsn);
	slot->snapshot = xstrdup(PQgetvalue(res, 0, 2));
	log_info("created replication slot \"%s\" (%s) at %s with snapshot \"%s\"", co->slot,
			 cdc_plugin_name(co->plugin), PQgetvalue(res, 0, 1), slot->snapshot);
	PQclear(res);
	if (co->state != NULL)
	{
		state_set_meta(co->state, "cdc_slot", co->slot);
		state_set_meta(co->state, "cdc_plugin", cdc_plugin_name(co->plugin));
		state_set_meta(co->state, "cdc_snapshot", slot->snapshot);
		sentinel_set_startpos(co->state, slot->consistent_lsn);
	}
	return true;
}

/*
 * An existing slot this work directory created (`snapshot --follow`, whose
 * process holds its snapshot): used as it is, like pgcopydb's stream setup.
 * *started: changes of its stream were applied already.
 */
static bool
slot_made_here(const CdcOptions *co, bool *started)
{
	*started = false;
	if (co->state == NULL)
	{
		return false;
	}
	char *saved = state_get_meta(co->state, "cdc_slot");
	bool ours = saved != NULL && strcmp(saved, co->slot) == 0;
	free(saved);
	Sentinel s;
	*started = ours && sentinel_get(co->state, &s) && s.replay_lsn != LSN_INVALID;
	return ours;
}

static void
adopt_slot(const CdcOptions *co, CdcSlot *slot)
{
	Sentinel s;
	sentinel_get(co->state, &s);
	slot->consistent_lsn = s.startpos;
	slot->snapshot = state_get_meta(co->state, "cdc_snapshot");
	slot->adopted = true;
	char b[32];
	lsn_format(s.startpos, b, sizeof(b));
	log_info("using replication slot \"%s\" created in this work directory (start position %s)",
			 co->slot, b);
}

bool
cdc_setup(const CdcOptions *co, CdcSlot *slot, int steps, int *exit_code)
{
	memset(slot, 0, sizeof(*slot));
	*exit_code = EXIT_OK;
	PgConn src;
	if (!pg_connect(&src, co->source, "source", "setup", 0))
	{
		*exit_code = EXIT_SOURCE;
		return false;
	}
	bool slot_exists = false;
	int rc = cdc_check_source(co, &src, &slot_exists);
	if (rc == EXIT_OK && co->ddl)
	{
		cdc_ddl_check(&src, &rc);
	}
	pg_disconnect(&src);
	if (rc != EXIT_OK)
	{
		*exit_code = rc;
		return false;
	}
	bool want_slot = (steps & CDC_SETUP_SLOT) != 0;
	bool started = false;
	bool adopt =
		want_slot && slot_exists && (steps & CDC_SETUP_ADOPT_SLOT) && slot_made_here(co, &started);
	if (want_slot && slot_exists && !adopt)
	{
		log_error("source: replication slot \"%s\" already exists", co->slot);
		log_hint(LOG_LEVEL_ERROR, "Use another --slot-name, resume the run that created it "
								  "(--resume), or drop it with \"pgshift stream cleanup\".");
		*exit_code = EXIT_PRECONDITION;
		return false;
	}

	/* the target's origin first: nothing is created on the source if it fails */
	bool made_origin = false;
	if ((steps & CDC_SETUP_ORIGIN) &&
		!setup_origin(co, want_slot && !started, &made_origin, exit_code))
	{
		return false;
	}
	bool made_publication = false;
	if (!setup_publication(co, &made_publication, exit_code))
	{
		drop_new_origin(co, made_origin);
		return false;
	}
	/* --ddl: the capture, before the slot (ddl_setup.c) */
	if (co->ddl && !cdc_ddl_install(co, exit_code))
	{
		drop_new_publication(co, made_publication);
		drop_new_origin(co, made_origin);
		return false;
	}
	if (!want_slot)
	{
		return true;
	}
	if (adopt)
	{
		adopt_slot(co, slot);
		return true;
	}
	if (!setup_slot(co, slot, exit_code))
	{
		drop_new_publication(co, made_publication);
		drop_new_origin(co, made_origin);
		return false;
	}
	return true;
}

void
cdc_slot_close(CdcSlot *slot)
{
	if (slot->repl.conn != NULL)
	{
		pg_disconnect(&slot->repl);
	}
	free(slot->snapshot);
	slot->snapshot = NULL;
}

bool
cdc_cleanup(const CdcOptions *co)
{
	bool ok = true;
	PgConn src, tgt;
	if (pg_connect(&src, co->source, "source", "cleanup", 0))
	{
		const char *p[] = { co->slot };
		ok = pg_exec_params(&src,
							"SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM "
							"pg_catalog.pg_replication_slots WHERE slot_name = $1",
							1, p) &&
			 ok;
		/* a publication of another role (made by the tables' owner for us) stays */
		const char *pp[] = { co->publication };
		char *other = query1(&src,
							 "SELECT count(*) FROM pg_catalog.pg_publication WHERE pubname = $1 "
							 "AND NOT pg_catalog.pg_has_role(pubowner, 'USAGE')",
							 1, pp);
		if (other != NULL && strcmp(other, "0") != 0)
		{
			log_notice("left publication \"%s\" in place: it belongs to another role",
					   co->publication);
		}
		else
		{
			char *qp = pg_quote_ident(co->publication);
			char *sql = xasprintf("DROP PUBLICATION IF EXISTS %s", qp);
			ok = pg_exec(&src, sql) && ok;
			free(sql);
			free(qp);
		}
		free(other);
		pg_disconnect(&src);
	}
	else
	{
		ok = false;
	}
	if (co->target != NULL && pg_connect(&tgt, co->target, "target", "cleanup", 0))
	{
		/* what a degraded applier that crashed left disabled */
		ok = cdc_triggers_restore(&tgt, co->state) && ok;
		const char *p[] = { co->origin };
		ok = pg_exec_params(&tgt,
							"SELECT pg_catalog.pg_replication_origin_drop(roname) FROM "
							"pg_catalog.pg_replication_origin WHERE roname = $1",
							1, p) &&
			 ok;
		pg_disconnect(&tgt);
	}
	/* --ddl's capture, when there is one (ddl_setup.c) */
	ok = cdc_ddl_remove(co) && ok;
	journal_remove_all(co->journal_dir);
	if (co->state != NULL)
	{
		sentinel_clear(co->state);
	}
	if (ok)
	{
		log_info("dropped slot \"%s\", publication \"%s\", origin \"%s\" and the journal", co->slot,
				 co->publication, co->origin);
	}
	return ok;
}

bool
cdc_sync_sequences(const CdcOptions *co)
{
	PgConn src, tgt;
	if (!pg_connect(&src, co->source, "source", "sequences", 10))
	{
		return false;
	}
	Catalog cat;
	bool ok = catalog_fetch(&src, &cat, 0) && catalog_fetch_sequence_values(&src, &cat);
	pg_disconnect(&src);
	if (ok && co->filters != NULL)
	{
		/* the sequences the filters left out are not on the target */
		filters_apply(co->filters, &cat);
	}
	if (!ok)
	{
		catalog_free(&cat);
		return false;
	}
	if (!pg_connect(&tgt, co->target, "target", "sequences", 10))
	{
		catalog_free(&cat);
		return false;
	}
	int n = 0;
	/* a target fenced by a cut-over (followed back with --reverse) stays writable for us */
	ok = pg_exec(&tgt, "SET default_transaction_read_only TO off") &&
		 catalog_apply_sequences(&tgt, &cat, &n);
	if (ok)
	{
		log_info("set %d sequences to the source's current values", n);
	}
	pg_disconnect(&tgt);
	catalog_free(&cat);
	return ok;
}

bool
cdc_filtered_tables(const char *source, const Filters *f, StrList *out, StrList *applied)
{
	memset(out, 0, sizeof(*out));
	memset(applied, 0, sizeof(*applied));
	PgConn src;
	if (!pg_connect(&src, source, "source", "filters", 10))
	{
		return false;
	}
	Catalog cat;
	bool ok = catalog_fetch(&src, &cat, 0);
	pg_disconnect(&src);
	if (ok)
	{
		filters_apply(f, &cat);
		for (int i = 0; i < cat.ntables; i++)
		{
			CatTable *t = &cat.tables[i];
			/* partitions are published through their partitioned parent */
			CatTable *parent = t->parent_oid ? catalog_table(&cat, t->parent_oid) : NULL;
			bool via_parent = parent != NULL && parent->relkind == 'p';
			/* --ddl's own settings are never published (its log is) */
			bool ddl_settings =
				strcmp(t->nspname, "pgshift") == 0 && strcmp(t->relname, "ddl_settings") == 0;
			if (!t->excluded && !t->exclude_data && !via_parent && !ddl_settings)
			{
				strlist_add(out, t->qname);
			}
			if (!t->excluded && !t->exclude_data)
			{
				strlist_add(applied, t->qname);
			}
		}
	}
	catalog_free(&cat);
	return ok;
}
