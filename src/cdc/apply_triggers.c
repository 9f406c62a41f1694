/*
 * src/cdc/apply_triggers.c — the applier's session_replication_role, and
 * what it does when the target role may not set it.
 *
 * With session_replication_role = replica (PostgreSQL's own apply worker
 * runs so) the target's ordinary triggers and foreign key checks do not
 * fire: the source fired them already, and their effects arrive as changes
 * of their own. A role that may not set it (not a superuser, and before 15
 * no GRANT SET ON PARAMETER) would fire every user trigger a second time.
 * So the applier disables, as the tables' owner, the enabled user triggers
 * (tgenabled 'O') of the tables it applies to, for as long as it runs, and
 * enables them again when it stops. ALWAYS triggers stay: they fire under
 * replica too. Foreign keys stay checked: each source transaction is applied
 * whole and in commit order, the order that satisfied them on the source.
 *
 * In pgcopydb's step flow the applier may start paused (prefetch) while the
 * copy still runs, and the copy's post-data restores the triggers later: the
 * triggers are looked up again when applying starts after a pause.
 *
 * Invariant: the triggers disabled are recorded in state.db (meta
 * "cdc_disabled_triggers", one "schema.table<TAB>trigger" per line) BEFORE
 * they are disabled, and the record is cleared only after they are enabled
 * again; so a crash leaves a record the next applier start, or
 * `stream cleanup`, puts back.
 */
#include "cdc/cdc.h"
#include "cdc/cdc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_KEY "cdc_disabled_triggers"

/* Adds "qname\ttrigger" lines of text to l (skipping those in it). */
static void
lines_merge(StrList *l, const char *text)
{
	const char *p = text;
	while (p != NULL && *p != '\0')
	{
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t) (nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		if (len > 0 && strchr(line, '\t') != NULL && !strlist_contains(l, line))
		{
			strlist_add(l, line);
		}
		free(line);
		p = nl != NULL ? nl + 1 : NULL;
	}
}

static char *
lines_join(const StrList *l)
{
	StrBuf sb;
	sb_init(&sb);
	for (int i = 0; i < l->n; i++)
	{
		sb_printf(&sb, "%s\n", l->items[i]);
	}
	return sb_steal(&sb);
}

/*
 * ALTER TABLE ... ENABLE|DISABLE TRIGGER for every line that still names a
 * trigger of the target (one dropped since has nothing to put back), in one
 * transaction.
 */
static bool
triggers_alter(PgConn *c, const StrList *l, const char *what, int *count)
{
	*count = 0;
	if (!pg_exec(c, "BEGIN"))
	{
		return false;
	}
	bool ok = true;
	for (int i = 0; ok && i < l->n; i++)
	{
		const char *tab = strchr(l->items[i], '\t');
		char *rel = xstrndup(l->items[i], (size_t) (tab - l->items[i]));
		const char *p[] = { rel, tab + 1 };
		char *there = NULL;
		ok = pg_query_value(c,
							"SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = "
							"pg_catalog.to_regclass($1) AND tgname = $2",
							2, p, &there);
		if (ok && there != NULL && strcmp(there, "0") != 0)
		{
			StrBuf sql;
			sb_init(&sql);
			sb_printf(&sql, "ALTER TABLE %s %s TRIGGER ", rel, what);
			sb_append_ident(&sql, tab + 1);
			ok = pg_exec(c, sql.data);
			sb_free(&sql);
			*count += ok;
		}
		free(there);
		free(rel);
	}
	if (!ok)
	{
		pg_exec(c, "ROLLBACK");
		return false;
	}
	return pg_exec(c, "COMMIT");
}

/*
 * The enabled user triggers of the tables applied to, by "nsp"."rel" (the
 * catalog's quoting, which --filters' lists use); a partition's clones of
 * its parent's triggers go with the parent.
 */
static bool
triggers_enabled(PgConn *c, const CdcOptions *co, StrList *out)
{
	PgFeatures f;
	pg_features(c, &f);
	bool clones = f.tgparentid;
	StrBuf sql;
	sb_init(&sql);
	sb_printf(&sql,
			  "SELECT '\"' || pg_catalog.replace(n.nspname, '\"', '\"\"') || '\".\"' || "
			  "pg_catalog.replace(r.relname, '\"', '\"\"') || '\"', t.tgname "
			  "FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class r ON r.oid = t.tgrelid "
			  "JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
			  "WHERE NOT t.tgisinternal AND t.tgenabled = 'O' %s"
			  "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift_progress') "
			  "ORDER BY 1, 2",
			  clones ? "AND t.tgparentid = 0 " : "");
	PGresult *res = pg_query(c, sql.data, 0, NULL);
	sb_free(&sql);
	if (res == NULL)
	{
		return false;
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *rel = PQgetvalue(res, i, 0);
		if (co->applied_tables != NULL && !strlist_contains(co->applied_tables, rel))
		{
			continue; /* --filters: a table the applier leaves alone */
		}
		char *line = xasprintf("%s\t%s", rel, PQgetvalue(res, i, 1));
		strlist_add_owned(out, line);
	}
	PQclear(res);
	return true;
}

bool
cdc_triggers_restore(PgConn *c, StateDb *state)
{
	char *saved = state != NULL ? state_get_meta(state, META_KEY) : NULL;
	if (saved == NULL || saved[0] == '\0')
	{
		free(saved);
		return true;
	}
	StrList l = { 0 };
	lines_merge(&l, saved);
	free(saved);
	int n = 0;
	bool ok = triggers_alter(c, &l, "ENABLE", &n);
	if (ok)
	{
		state_set_meta(state, META_KEY, "");
		log_info("enabled again the %d user triggers the applier had disabled on the target", n);
	}
	else
	{
		log_error("could not enable again the user triggers the applier disabled on the target");
		log_hint(LOG_LEVEL_ERROR, "They are recorded in the work directory: \"pgshift stream "
								  "cleanup\" (or the next follow) enables them.");
	}
	strlist_free(&l);
	return ok;
}

/* SET session_replication_role = replica on c; false (quietly) when not permitted. */
static bool
set_replica_role(PgConn *c)
{
	bool quiet = c->quiet_errors;
	c->quiet_errors = true;
	bool ok = pg_exec(c, "SET session_replication_role TO replica");
	c->quiet_errors = quiet;
	return ok;
}

static bool triggers_degrade(PgConn *c, const CdcOptions *co);

bool
cdc_triggers_begin(PgConn *c, const CdcOptions *co)
{
	if (set_replica_role(c))
	{
		/* a degraded run that crashed left triggers disabled: not needed any more */
		return cdc_triggers_restore(c, co->state);
	}
	return triggers_degrade(c, co);
}

bool
cdc_triggers_refresh(const CdcOptions *co)
{
	PgConn c;
	if (!pg_connect(&c, co->target, "target", "triggers", 10))
	{
		return false;
	}
	bool ok = set_replica_role(&c) || triggers_degrade(&c, co);
	pg_disconnect(&c);
	return ok;
}

/* The role may not set session_replication_role: record, then disable the triggers. */
static bool
triggers_degrade(PgConn *c, const CdcOptions *co)
{
	bool ok;
	if (co->state == NULL)
	{
		log_error("target: the role may not set session_replication_role, and without a work "
				  "directory the applier cannot record the triggers it would disable");
		return false;
	}
	StrList l = { 0 };
	char *saved = state_get_meta(co->state, META_KEY);
	lines_merge(&l, saved);
	free(saved);
	if (!triggers_enabled(c, co, &l))
	{
		strlist_free(&l);
		return false;
	}
	/* recorded first: a crash from here on leaves them to put back */
	char *text = lines_join(&l);
	ok = state_set_meta(co->state, META_KEY, text);
	free(text);
	int n = 0;
	ok = ok && triggers_alter(c, &l, "DISABLE", &n);
	if (!ok)
	{
		log_hint(LOG_LEVEL_ERROR,
				 "The role may not set session_replication_role, and disabling the target's "
				 "user triggers needs the tables' ownership: GRANT SET ON PARAMETER "
				 "session_replication_role TO <role> (15+), or connect as their owner.");
	}
	else if (l.n > 0)
	{
		log_warn("target: the role may not set session_replication_role: disabled %d user "
				 "triggers of the tables applied to until the applier stops",
				 n);
		log_hint(LOG_LEVEL_WARN, "GRANT SET ON PARAMETER session_replication_role TO <role> "
								 "(15+) lets the applier leave them alone.");
	}
	strlist_free(&l);
	return ok;
}

void
cdc_triggers_end(const CdcOptions *co)
{
	char *saved = co->state != NULL ? state_get_meta(co->state, META_KEY) : NULL;
	bool any = saved != NULL && saved[0] != '\0';
	free(saved);
	PgConn c;
	if (!any || !pg_connect(&c, co->target, "target", "triggers", 10))
	{
		return;
	}
	cdc_triggers_restore(&c, co->state);
	pg_disconnect(&c);
}
