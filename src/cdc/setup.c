/*
 * src/cdc/setup.c — publication, slot and origin; cleanup; sentinel; sequences.
 *
 * The slot is created on a replication connection with EXPORT_SNAPSHOT, and
 * that connection stays open and idle while the copy runs: its snapshot is
 * the copy's snapshot, so the copy holds exactly the transactions committed
 * before the slot's consistent point, and the stream exactly those after.
 * The publication must exist before the slot (pgoutput reads it with the
 * historic snapshot of each decoded transaction).
 */
#include "cdc/cdc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "cli/cli.h"
#include "state/internal.h" /* TEMPORARY (h-state): raw SQLite until this file's owner converts it */

bool
cdc_options_from(CdcOptions *co, const Options *o, StateDb *state, const char *journal_dir)
{
	memset(co, 0, sizeof(*co));
	co->source = o->source;
	co->target = o->target;
	co->slot = o->slot_name ? o->slot_name : "pgshift";
	co->origin = o->origin ? o->origin : "pgshift";
	co->publication = o->publication ? o->publication : "pgshift";
	co->journal_dir = journal_dir;
	co->state = state;
	/* a directory set up earlier remembers its plugin and slot */
	static char saved_slot[128];
	char *saved_plugin =
		state != NULL && o->plugin == NULL ? state_get_meta(state, "cdc_plugin") : NULL;
	const char *plugin = o->plugin ? o->plugin : (saved_plugin ? saved_plugin : "pgoutput");
	bool ok = cdc_plugin_parse(plugin, &co->plugin);
	free(saved_plugin);
	if (state != NULL && o->slot_name == NULL)
	{
		char *p = state_get_meta(state, "cdc_slot");
		if (p != NULL)
		{
			snprintf(saved_slot, sizeof(saved_slot), "%s", p);
			co->slot = saved_slot;
			free(p);
		}
	}
	return ok;
}

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

bool
cdc_setup(const CdcOptions *co, CdcSlot *slot, bool create_slot, int *exit_code)
{
	memset(slot, 0, sizeof(*slot));
	*exit_code = EXIT_OK;
	PgConn src, tgt;
	if (!pg_connect(&src, co->source, "source", "setup", 0))
	{
		*exit_code = EXIT_SOURCE;
		return false;
	}
	bool slot_exists = false;
	int rc = cdc_check_source(co, &src, &slot_exists);
	if (rc != EXIT_OK)
	{
		pg_disconnect(&src);
		*exit_code = rc;
		return false;
	}
	if (slot_exists && create_slot)
	{
		log_error("source: replication slot \"%s\" already exists", co->slot);
		log_hint(LOG_LEVEL_ERROR, "Use another --slot-name, resume the run that created it "
								  "(--resume), or drop it with \"pgshift stream cleanup\".");
		pg_disconnect(&src);
		*exit_code = EXIT_PRECONDITION;
		return false;
	}
	pg_disconnect(&src);

	/* the target's origin first: nothing is created on the source if it fails */
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
	if (progress != NULL && create_slot && progress[0] != '\0' && strcmp(progress, "0/0") != 0)
	{
		/* a new slot starts a new stream: an origin with progress belongs to another one */
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
	bool made_origin = existed != NULL && strcmp(existed, "0") == 0;
	free(existed);
	free(progress);
	if (!pg_exec_params(
			&tgt,
			"SELECT pg_catalog.pg_replication_origin_create($1) WHERE NOT EXISTS (SELECT 1 FROM "
			"pg_catalog.pg_replication_origin WHERE roname = $1)",
			1, op))
	{
		log_hint(LOG_LEVEL_ERROR, "Replication origins need a superuser on the target.");
		pg_disconnect(&tgt);
		*exit_code = EXIT_PRECONDITION;
		return false;
	}
	pg_disconnect(&tgt);

	bool made_publication = false;
	if (cdc_plugin_uses_publication(co->plugin))
	{
		if (!pg_connect(&src, co->source, "source", "setup", 0))
		{
			drop_new_origin(co, made_origin);
			*exit_code = EXIT_SOURCE;
			return false;
		}
		const char *p[] = { co->publication };
		char *has =
			query1(&src, "SELECT count(*) FROM pg_catalog.pg_publication WHERE pubname = $1", 1, p);
		if (has != NULL && strcmp(has, "0") == 0)
		{
			char *qp = pg_quote_ident(co->publication);
			StrBuf sql;
			sb_init(&sql);
			sb_printf(&sql, "CREATE PUBLICATION %s ", qp);
			if (co->tables == NULL)
			{
				sb_append(&sql, "FOR ALL TABLES");
			}
			else if (co->tables->n > 0)
			{
				/* (the filters may keep no table: an empty publication) */
				sb_append(&sql, "FOR TABLE ");
				for (int i = 0; i < co->tables->n; i++)
				{
					sb_printf(&sql, "%s%s", i ? ", " : "", co->tables->items[i]);
				}
			}
			bool ok = pg_exec(&src, sql.data);
			sb_free(&sql);
			free(qp);
			if (!ok)
			{
				log_hint(LOG_LEVEL_ERROR, "Creating a publication FOR ALL TABLES needs a superuser "
										  "on the source.");
				free(has);
				pg_disconnect(&src);
				drop_new_origin(co, made_origin);
				*exit_code = EXIT_PRECONDITION;
				return false;
			}
			made_publication = true;
			if (co->tables == NULL)
			{
				log_info("created publication \"%s\" for all tables", co->publication);
			}
			else
			{
				log_info("created publication \"%s\" for the %d tables the filters keep",
						 co->publication, co->tables->n);
			}
		}
		free(has);
		pg_disconnect(&src);
	}

	if (!create_slot)
	{
		return true;
	}
	if (!pg_connect_replication(&slot->repl, co->source, "source", "slot"))
	{
		drop_new_origin(co, made_origin);
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
		if (made_publication && pg_connect(&src, co->source, "source", "setup", 0))
		{
			char *qp = pg_quote_ident(co->publication);
			char *drop = xasprintf("DROP PUBLICATION IF EXISTS %s", qp);
			pg_exec(&src, drop);
			free(drop);
			free(qp);
			pg_disconnect(&src);
		}
		drop_new_origin(co, made_origin);
		*exit_code = EXIT_PRECONDITION;
		return false;
	}
	sb_free(&sql);
	lsn_parse(PQgetvalue(res, 0, 1), &slot->consistent_lsn);
	slot->snapshot = xstrdup(PQgetvalue(res, 0, 2));
	log_info("created replication slot \"%s\" (%s) at %s with snapshot \"%s\"", co->slot,
			 cdc_plugin_name(co->plugin), PQgetvalue(res, 0, 1), slot->snapshot);
	if (co->state != NULL)
	{
		state_set_meta(co->state, "cdc_slot", co->slot);
		state_set_meta(co->state, "cdc_plugin", cdc_plugin_name(co->plugin));
		state_set_meta(co->state, "cdc_snapshot", slot->snapshot);
		sentinel_set(co->state, "startpos", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
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
		char *qp = pg_quote_ident(co->publication);
		char *sql = xasprintf("DROP PUBLICATION IF EXISTS %s", qp);
		ok = pg_exec(&src, sql) && ok;
		free(sql);
		free(qp);
		pg_disconnect(&src);
	}
	else
	{
		ok = false;
	}
	if (co->target != NULL && pg_connect(&tgt, co->target, "target", "cleanup", 0))
	{
		const char *p[] = { co->origin };
		ok = pg_exec_params(&tgt,
							"SELECT pg_catalog.pg_replication_origin_drop(roname) FROM "
							"pg_catalog.pg_replication_origin WHERE roname = $1",
							1, p) &&
			 ok;
		pg_disconnect(&tgt);
	}
	journal_remove_all(co->journal_dir);
	if (co->state != NULL)
	{
		state_exec(co->state, "DELETE FROM sentinel", 0, NULL);
	}
	if (ok)
	{
		log_info("dropped slot \"%s\", publication \"%s\", origin \"%s\" and the journal", co->slot,
				 co->publication, co->origin);
	}
	return ok;
}

/* ---- sentinel ---- */

static Lsn
col_lsn(sqlite3_stmt *st, int i)
{
	Lsn l = LSN_INVALID;
	const unsigned char *t = sqlite3_column_text(st, i);
	if (t != NULL)
	{
		lsn_parse((const char *) t, &l);
	}
	return l;
}

bool
sentinel_get(StateDb *db, Lsn *startpos, Lsn *endpos, bool *apply, Lsn *write_lsn, Lsn *flush_lsn,
			 Lsn *replay_lsn)
{
	sqlite3 *s = state_lock(db);
	sqlite3_stmt *st;
	bool found = false;
	*startpos = *endpos = *write_lsn = *flush_lsn = *replay_lsn = LSN_INVALID;
	*apply = false;
	if (sqlite3_prepare_v2(
			s,
			"SELECT startpos, endpos, apply, write_lsn, flush_lsn, replay_lsn FROM sentinel "
			"WHERE id = 1",
			-1, &st, NULL) == SQLITE_OK)
	{
		if (sqlite3_step(st) == SQLITE_ROW)
		{
			found = true;
			*startpos = col_lsn(st, 0);
			*endpos = col_lsn(st, 1);
			*apply = sqlite3_column_int(st, 2) != 0;
			*write_lsn = col_lsn(st, 3);
			*flush_lsn = col_lsn(st, 4);
			*replay_lsn = col_lsn(st, 5);
		}
		sqlite3_finalize(st);
	}
	state_unlock(db);
	return found;
}

bool
sentinel_set(StateDb *db, const char *column, const char *value)
{
	static const char *const allowed[] = { "startpos", "endpos", "apply", NULL };
	bool ok = false;
	for (int i = 0; allowed[i] != NULL; i++)
	{
		ok = ok || strcmp(column, allowed[i]) == 0;
	}
	if (!ok)
	{
		return false;
	}
	state_exec(db, "INSERT INTO sentinel(id) VALUES (1) ON CONFLICT(id) DO NOTHING", 0, NULL);
	char *sql = xasprintf("UPDATE sentinel SET %s = ?1, updated_at = ?2 WHERE id = 1", column);
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long) time_wall_us());
	const char *p[] = { value, now };
	ok = state_exec(db, sql, 2, p);
	free(sql);
	return ok;
}

bool
sentinel_update_positions(StateDb *db, Lsn write_lsn, Lsn flush_lsn, Lsn replay_lsn)
{
	char w[32], f[32], r[32];
	lsn_format(write_lsn, w, sizeof(w));
	lsn_format(flush_lsn, f, sizeof(f));
	lsn_format(replay_lsn, r, sizeof(r));
	const char *p[] = { write_lsn ? w : NULL, flush_lsn ? f : NULL, replay_lsn ? r : NULL };
	state_exec(db, "INSERT INTO sentinel(id) VALUES (1) ON CONFLICT(id) DO NOTHING", 0, NULL);
	return state_exec(
		db,
		"UPDATE sentinel SET write_lsn = coalesce(?1, write_lsn), flush_lsn = coalesce(?2, "
		"flush_lsn), replay_lsn = coalesce(?3, replay_lsn) WHERE id = 1",
		3, p);
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
	ok = catalog_apply_sequences(&tgt, &cat, &n);
	if (ok)
	{
		log_info("set %d sequences to the source's current values", n);
	}
	pg_disconnect(&tgt);
	catalog_free(&cat);
	return ok;
}

bool
cdc_filtered_tables(const Options *o, const Filters *f, StrList *out, StrList *applied)
{
	memset(out, 0, sizeof(*out));
	memset(applied, 0, sizeof(*applied));
	PgConn src;
	if (!pg_connect(&src, o->source, "source", "filters", 10))
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
			if (!t->excluded && !t->exclude_data && !via_parent)
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
