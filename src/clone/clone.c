/*
 * src/clone/clone.c — one clone from start to end, and the steps it is made of.
 *
 *   work dir + state.db ─► snapshot ─► catalog ─► target check ─► pg_dump
 *   ─► pre-data ─► task graph (copy, indexes, constraints, vacuum, blobs)
 *   ─► sequences ─► post-data ─► summary
 *
 * Each step is recorded in state.db's steps table; --resume skips the steps
 * and tasks recorded done.
 */
#include "clone/clone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "schema/schema.h"
#include "sql.inc"

/* The settings a resumed run must share with the run it resumes. */
static char *
run_settings(const Options *o)
{
	char *ms = pg_conninfo_mask(o->source);
	char *mt = pg_conninfo_mask(o->target);
	char *s = xasprintf("source=%s\ntarget=%s\nsplit-tables-larger-than=%lld\n"
						"split-max-parts=%d\nfilters=%s\nskip-large-objects=%d\n"
						"use-copy-binary=%d\nno-owner=%d\nno-acl=%d\n",
						ms, mt, (long long) o->split_larger_than, o->split_max_parts,
						o->filters ? o->filters : "", o->skip_large_objects, o->use_copy_binary,
						o->no_owner, o->no_acl);
	free(ms);
	free(mt);
	return s;
}

/* Names the first setting that differs; NULL when equal. */
static char *
settings_diff(const char *saved, const char *now)
{
	char *a = xstrdup(saved), *b = xstrdup(now);
	char *sa = NULL, *sb2 = NULL;
	char *la = strtok_r(a, "\n", &sa), *lb = strtok_r(b, "\n", &sb2);
	char *diff = NULL;
	while (la != NULL || lb != NULL)
	{
		if (la == NULL || lb == NULL || strcmp(la, lb) != 0)
		{
			diff = xasprintf("previous run: \"%s\", this run: \"%s\"", la ? la : "", lb ? lb : "");
			break;
		}
		la = strtok_r(NULL, "\n", &sa);
		lb = strtok_r(NULL, "\n", &sb2);
	}
	free(a);
	free(b);
	return diff;
}

static int
clone_prepare_state(CloneRun *run, bool *resuming)
{
	Options *o = run->opts;
	*resuming = false;
	char *started = state_get_meta(run->state, "run_started");
	if (started != NULL && o->restart)
	{
		log_notice("discarding the previous run's state in \"%s\" (--restart)", run->wd.path);
		if (!state_reset(run->state))
		{
			free(started);
			return EXIT_WORKDIR;
		}
		free(started);
		started = NULL;
	}
	else if (started != NULL && !o->resume && run->partial)
	{
		/* `copy schema` then `copy data` in one directory: one run in steps */
		log_info("continuing the run recorded in \"%s\"", run->wd.path);
	}
	else if (started != NULL && !o->resume)
	{
		char *status = state_get_meta(run->state, "run_status");
		log_error("work directory \"%s\" holds a previous run (status: %s)", run->wd.path,
				  status ? status : "unfinished");
		log_hint(LOG_LEVEL_ERROR, "Use --resume to continue it, --restart to discard its state "
								  "and start over, or another --dir.");
		free(status);
		free(started);
		return EXIT_WORKDIR;
	}
	char *settings = run_settings(o);
	if (started != NULL)
	{
		char *saved = state_get_meta(run->state, "settings");
		char *diff = saved ? settings_diff(saved, settings) : NULL;
		free(saved);
		if (diff != NULL)
		{
			log_error("cannot resume with different settings: %s", diff);
			log_hint(LOG_LEVEL_ERROR, "Resume with the same options, or use --restart.");
			free(diff);
			free(settings);
			free(started);
			return EXIT_USAGE;
		}
		*resuming = true;
	}
	free(settings);
	free(started);
	return EXIT_OK;
}

/* From here on the work directory holds a run: resume or restart it. */
static void
clone_mark_started(CloneRun *run, bool resuming)
{
	if (!resuming)
	{
		char now[32];
		snprintf(now, sizeof(now), "%lld", (long long) time_wall_us());
		char *settings = run_settings(run->opts);
		state_set_meta(run->state, "run_started", now);
		state_set_meta(run->state, "settings", settings);
		free(settings);
	}
	state_set_meta(run->state, "run_status", "running");
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int) getpid());
	state_set_meta(run->state, "pid", pid);
	run->started = true;
}

static int
clone_snapshot(CloneRun *run, bool resuming)
{
	Options *o = run->opts;
	PgConn *c = &run->snap_conn;
	if (!pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
	{
		return EXIT_SOURCE;
	}
	char *want = o->snapshot ? xstrdup(o->snapshot) : NULL;
	if (want == NULL && resuming)
	{
		want = state_get_meta(run->state, "snapshot");
	}
	if (want != NULL)
	{
		char *q = pg_quote_literal(want);
		char *sql = xasprintf("SET TRANSACTION SNAPSHOT %s", q);
		c->quiet_errors = resuming && o->snapshot == NULL;
		bool ok = pg_exec(c, sql);
		c->quiet_errors = false;
		free(q);
		free(sql);
		if (ok)
		{
			run->snapshot = want;
			log_info("using snapshot \"%s\"", want);
			return EXIT_OK;
		}
		if (o->snapshot == NULL && !o->not_consistent && run->partial)
		{
			log_notice("the snapshot of the earlier step is gone: this step takes a new one "
					   "(use --snapshot with `pgshift snapshot` for one snapshot across steps)");
		}
		else if (o->snapshot != NULL || !o->not_consistent)
		{
			log_error("could not use snapshot \"%s\": %s", want, c->errmsg ? c->errmsg : "");
			log_hint(LOG_LEVEL_ERROR,
					 "A snapshot lives as long as the session that exported it. Keep `pgshift "
					 "snapshot` running for the whole run, or resume with --not-consistent to "
					 "take a new snapshot (rows changed since the first run may then differ).");
			free(want);
			return EXIT_PRECONDITION;
		}
		if (o->not_consistent)
		{
			log_warn("snapshot \"%s\" is gone: taking a new one (--not-consistent): tables "
					 "copied before and after it may not be consistent with each other",
					 want);
		}
		free(want);
		pg_exec(c, "ROLLBACK");
		if (!pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
		{
			return EXIT_SOURCE;
		}
	}
	char *snap = NULL;
	if (!pg_query_value(c, "SELECT pg_catalog.pg_export_snapshot()", 0, NULL, &snap))
	{
		return EXIT_SOURCE;
	}
	run->snapshot = snap;
	state_set_meta(run->state, "snapshot", snap);
	log_info("exported snapshot \"%s\"", snap);
	return EXIT_OK;
}

/* Pre-flight checks: privileges on both sides, and an empty target. */
static int
clone_check_servers(CloneRun *run, PgConn *target, int steps, bool resuming)
{
	Options *o = run->opts;
	PGresult *res = pg_query(
		&run->snap_conn,
		"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') "
		"AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname !~ '^pg_toast' "
		"AND NOT pg_catalog.has_table_privilege(c.oid, 'SELECT') ORDER BY 1 LIMIT 10",
		0, NULL);
	if (res == NULL)
	{
		return EXIT_SOURCE;
	}
	if (PQntuples(res) > 0)
	{
		log_error("source: the connecting role cannot read %d table(s), among them %s",
				  PQntuples(res), PQgetvalue(res, 0, 0));
		log_hint(LOG_LEVEL_ERROR, "Connect as the owner or a role with SELECT on every table "
								  "(e.g. a member of pg_read_all_data).");
		PQclear(res);
		return EXIT_PRECONDITION;
	}
	PQclear(res);

	char *can = NULL;
	if (!pg_query_value(target,
						"SELECT pg_catalog.has_database_privilege(current_database(), 'CREATE')", 0,
						NULL, &can))
	{
		return EXIT_TARGET;
	}
	bool can_create = can != NULL && strcmp(can, "t") == 0;
	free(can);
	if (!can_create && (steps & STEP_SCHEMA_PRE))
	{
		log_error("target: the connecting role may not create schemas in the target database");
		log_hint(LOG_LEVEL_ERROR, "Connect as the database owner or grant CREATE on the "
								  "database.");
		return EXIT_PRECONDITION;
	}

	if (!(steps & STEP_SCHEMA_PRE) || resuming || o->drop_if_exists)
	{
		return EXIT_OK;
	}
	res = pg_query(&run->snap_conn, SQL_SOURCE_RELATION_NAMES, 0, NULL);
	if (res == NULL)
	{
		return EXIT_SOURCE;
	}
	StrBuf nsps, rels;
	sb_init(&nsps);
	sb_init(&rels);
	sb_append_char(&nsps, '{');
	sb_append_char(&rels, '{');
	for (int i = 0; i < PQntuples(res); i++)
	{
		for (int k = 0; k < 2; k++)
		{
			StrBuf *sb = k == 0 ? &nsps : &rels;
			if (i > 0)
			{
				sb_append_char(sb, ',');
			}
			sb_append_array_elem(sb, PQgetvalue(res, i, k));
		}
	}
	sb_append_char(&nsps, '}');
	sb_append_char(&rels, '}');
	PQclear(res);
	const char *p[] = { nsps.data, rels.data };
	res = pg_query(target, SQL_TARGET_EXISTING_RELATIONS, 2, p);
	sb_free(&nsps);
	sb_free(&rels);
	if (res == NULL)
	{
		return EXIT_TARGET;
	}
	int n = PQntuples(res);
	if (n > 0)
	{
		StrBuf names;
		sb_init(&names);
		for (int i = 0; i < n && i < 5; i++)
		{
			char *q = pg_qualname(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
			sb_printf(&names, "%s%s", i ? ", " : "", q);
			free(q);
		}
		log_error("target: the target database already holds %d of the objects to copy "
				  "(%s%s); nothing was changed",
				  n, names.data, n > 5 ? ", ..." : "");
		log_hint(LOG_LEVEL_ERROR, "Use an empty target database, or --drop-if-exists to drop "
								  "and recreate those objects.");
		sb_free(&names);
		PQclear(res);
		return EXIT_PRECONDITION;
	}
	PQclear(res);
	return EXIT_OK;
}

/* What the filters leave out besides the tables: everything depending on them. */
static bool
clone_filter_dependents(CloneRun *run)
{
	StrBuf oids;
	sb_init(&oids);
	sb_append_char(&oids, '{');
	int n = 0;
	for (int i = 0; i < run->cat.ntables; i++)
	{
		CatTable *t = &run->cat.tables[i];
		if (t->excluded)
		{
			sb_printf(&oids, "%s%u", n++ ? "," : "", t->oid);
			log_notice("filters: leaving out table %s", t->qname);
		}
		if (filters_schema_excluded(&run->filters, t->nspname) &&
			!strlist_contains(&run->skip_schemas, t->nspname))
		{
			strlist_add(&run->skip_schemas, t->nspname);
		}
	}
	sb_append_char(&oids, '}');
	PGresult *nres =
		pg_query(&run->snap_conn,
				 "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname NOT IN ('pg_catalog', "
				 "'information_schema') AND nspname !~ '^pg_toast' AND nspname !~ '^pg_temp'",
				 0, NULL);
	if (nres == NULL)
	{
		sb_free(&oids);
		return false;
	}
	for (int i = 0; i < PQntuples(nres); i++)
	{
		const char *nsp = PQgetvalue(nres, i, 0);
		strlist_add(&run->all_schemas, nsp);
		if (filters_schema_excluded(&run->filters, nsp) &&
			!strlist_contains(&run->skip_schemas, nsp))
		{
			strlist_add(&run->skip_schemas, nsp);
		}
	}
	PQclear(nres);
	if (n == 0)
	{
		sb_free(&oids);
		return true;
	}
	const char *p[] = { oids.data };
	PGresult *res = pg_query(&run->snap_conn, SQL_FILTER_DEPENDENTS, 1, p);
	sb_free(&oids);
	if (res == NULL)
	{
		return false;
	}
	run->nskip_oids = PQntuples(res);
	run->skip_oids = xcalloc((size_t) run->nskip_oids + 1, sizeof(uint32_t));
	for (int i = 0; i < PQntuples(res); i++)
	{
		run->skip_oids[i] = (uint32_t) strtoul(PQgetvalue(res, i, 0), NULL, 10);
		if (!PQgetisnull(res, i, 2))
		{
			char *name = xasprintf("%s %s", PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
			if (!strlist_contains(&run->skip_names, name))
			{
				strlist_add(&run->skip_names, name);
			}
			free(name);
		}
		log_debug("filters: leaving out %s", PQgetvalue(res, i, 1));
	}
	PQclear(res);
	return true;
}

static bool
oid_in(const SchemaOid *set, int n, SchemaOid oid)
{
	for (int i = 0; i < n; i++)
	{
		if (set[i] == oid)
		{
			return true;
		}
	}
	return false;
}

/* Is one of the "schema name" strings the start of rest (followed by a space)? */
static bool
strlist_prefix_of(const StrList *l, const char *rest)
{
	for (int i = 0; i < l->n; i++)
	{
		size_t n = strlen(l->items[i]);
		if (strncmp(rest, l->items[i], n) == 0 && rest[n] == ' ')
		{
			return true;
		}
	}
	return false;
}

/*
 * The schema an entry's "rest" starts with. pg_restore -l prints names
 * unquoted, and a schema name may hold spaces: match the longest known one.
 * Returns the schema (caller frees) and sets *after past it, or NULL.
 */
static char *
toc_namespace(const CloneRun *run, const char *rest, const char **after)
{
	size_t best = 0;
	for (int i = 0; i < run->all_schemas.n; i++)
	{
		size_t n = strlen(run->all_schemas.items[i]);
		if (n > best && strncmp(rest, run->all_schemas.items[i], n) == 0 && rest[n] == ' ')
		{
			best = n;
		}
	}
	if (best == 0)
	{
		size_t n = strcspn(rest, " ");
		if (rest[n] != ' ')
		{
			return NULL;
		}
		best = n;
	}
	*after = rest + best + 1;
	return xstrndup(rest, best);
}

/* Does a COMMENT/ACL/SECURITY LABEL entry's tag name an excluded relation? */
static bool
toc_names_skipped(const CloneRun *run, const TocEntry *e)
{
	/* rest: "<schema> <KIND> <name>[.<column>] <owner>" */
	const char *kind = NULL;
	char *nsp = toc_namespace(run, e->rest, &kind);
	if (nsp == NULL)
	{
		return false;
	}
	const char *name = strchr(kind, ' ');
	bool hit = false;
	if (name != NULL)
	{
		name++;
		for (int i = 0; i < run->skip_names.n && !hit; i++)
		{
			const char *full = run->skip_names.items[i];
			size_t nl = strlen(nsp);
			if (strncmp(full, nsp, nl) != 0 || full[nl] != ' ')
			{
				continue;
			}
			/* the tag names the relation as fmtId() does: bare, or quoted if needed */
			const char *rel = full + nl + 1;
			char *qrel = pg_quote_ident(rel);
			const char *forms[] = { rel, qrel };
			for (int f = 0; f < 2 && !hit; f++)
			{
				size_t rl = strlen(forms[f]);
				hit = strncmp(name, forms[f], rl) == 0 && (name[rl] == ' ' || name[rl] == '.');
			}
			free(qrel);
		}
	}
	free(nsp);
	return hit;
}

/* What --filters leaves out of either section. */
static void
toc_filter_common(CloneRun *run, TocList *l, bool quiet)
{
	if (!run->filters.active)
	{
		return;
	}
	for (int i = 0; i < l->n; i++)
	{
		TocEntry *e = &l->entries[i];
		if (e->skip != NULL)
		{
			continue;
		}
		if (oid_in(run->skip_oids, run->nskip_oids, e->oid) && e->oid != 0)
		{
			e->skip = "--filters: depends on an excluded table";
		}
		else if ((strcmp(e->desc, "COMMENT") == 0 || strcmp(e->desc, "ACL") == 0 ||
				  strcmp(e->desc, "SECURITY LABEL") == 0) &&
				 toc_names_skipped(run, e))
		{
			e->skip = "--filters: about an excluded table";
		}
		else if ((e->oid == 0 || strcmp(e->desc, "INDEX ATTACH") == 0 ||
				  strcmp(e->desc, "TABLE ATTACH") == 0) &&
				 strlist_prefix_of(&run->skip_names, e->rest))
		{
			/* SEQUENCE OWNED BY, INDEX ATTACH...: entries known by name only */
			e->skip = "--filters: about an excluded table";
		}
		else if ((strcmp(e->desc, "COMMENT") == 0 || strcmp(e->desc, "ACL") == 0 ||
				  strcmp(e->desc, "SECURITY LABEL") == 0) &&
				 strncmp(e->rest, "- SCHEMA ", 9) == 0 &&
				 strlist_prefix_of(&run->skip_schemas, e->rest + 9))
		{
			e->skip = "--filters: about an excluded schema";
		}
		else if (strcmp(e->desc, "EXTENSION") == 0)
		{
			const char *name = strchr(e->rest, ' ');
			char *ext = name ? xstrndup(name + 1, strcspn(name + 1, " ")) : xstrdup("");
			if (filters_extension_excluded(&run->filters, ext))
			{
				e->skip = "--filters: excluded extension";
			}
			free(ext);
		}
		else if (strcmp(e->desc, "SCHEMA") == 0)
		{
			/* "- name owner" */
			const char *name = e->rest[0] == '-' ? e->rest + 2 : e->rest;
			if (strlist_prefix_of(&run->skip_schemas, name))
			{
				e->skip = "--filters: excluded schema";
			}
		}
		else if (e->rest[0] != '-' && strlist_prefix_of(&run->skip_schemas, e->rest))
		{
			e->skip = "--filters: in an excluded schema";
		}
		if (e->skip != NULL && !quiet)
		{
			log_notice("filters: leaving out %s %s", e->desc, e->rest);
		}
	}
}

static void
toc_filter_predata(CloneRun *run, TocList *l)
{
	const Options *o = run->opts;
	toc_filter_common(run, l, false);
	for (int i = 0; i < l->n; i++)
	{
		TocEntry *e = &l->entries[i];
		if (e->skip != NULL)
		{
			continue;
		}
		bool on_ext = strncmp(e->rest, "- EXTENSION ", 12) == 0;
		bool on_lo = strstr(e->rest, "LARGE OBJECT ") != NULL;
		if (o->skip_extensions &&
			(strcmp(e->desc, "EXTENSION") == 0 || (strcmp(e->desc, "COMMENT") == 0 && on_ext)))
		{
			e->skip = "--skip-extensions";
		}
		else if (o->skip_collations && strcmp(e->desc, "COLLATION") == 0)
		{
			e->skip = "--skip-collations";
		}
		else if (o->skip_large_objects &&
				 (strcmp(e->desc, "BLOB") == 0 || strcmp(e->desc, "BLOB METADATA") == 0 ||
				  strcmp(e->desc, "LARGE OBJECT") == 0 ||
				  ((strcmp(e->desc, "ACL") == 0 || strcmp(e->desc, "COMMENT") == 0) && on_lo)))
		{
			e->skip = "--skip-large-objects";
		}
	}
}

static void
toc_filter_postdata(CloneRun *run, TocList *l)
{
	/* what the task graph builds itself */
	Graph *g = &run->graph;
	SchemaOid *built =
		xcalloc((size_t) g->ntasks + 2 * (size_t) run->cat.nindexes + 1, sizeof(SchemaOid));
	int nb = 0;
	SchemaOid *excl = xcalloc(2 * (size_t) run->cat.nindexes + 1, sizeof(SchemaOid));
	int ne = 0;
	for (int i = 0; i < run->cat.nindexes; i++)
	{
		CatIndex *x = &run->cat.indexes[i];
		CatTable *t = catalog_table(&run->cat, x->table_oid);
		if (x->excluded && t != NULL && !t->excluded)
		{
			excl[ne++] = x->oid;
			if (x->conoid != 0)
			{
				excl[ne++] = x->conoid;
			}
		}
	}
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *t = g->tasks[i];
		if (t->kind == TASK_INDEX)
		{
			built[nb++] = t->index->oid;
		}
		else if (t->kind == TASK_CONSTRAINT)
		{
			built[nb++] = t->index->conoid;
		}
		else if (t->kind == TASK_FKEY)
		{
			built[nb++] = t->fkey->oid;
		}
		else if (t->kind == TASK_MATVIEW)
		{
			built[nb++] = t->mv_oid;
		}
	}
	toc_filter_common(run, l, false);
	for (int i = 0; i < l->n; i++)
	{
		TocEntry *e = &l->entries[i];
		if (e->skip != NULL)
		{
			continue;
		}
		if ((strcmp(e->desc, "INDEX") == 0 || strcmp(e->desc, "CONSTRAINT") == 0) &&
			oid_in(excl, ne, e->oid))
		{
			e->skip = "--filters: [exclude-index]";
			log_notice("filters: leaving out %s %s", e->desc, e->rest);
		}
		else if ((strcmp(e->desc, "INDEX") == 0 || strcmp(e->desc, "CONSTRAINT") == 0 ||
				  strcmp(e->desc, "FK CONSTRAINT") == 0) &&
				 oid_in(built, nb, e->oid))
		{
			e->skip = "built by pgshift";
		}
		else if (strcmp(e->desc, "MATERIALIZED VIEW DATA") == 0 && oid_in(built, nb, e->oid))
		{
			e->skip = "refreshed by pgshift";
		}
	}
	free(built);
	free(excl);
}

/*
 * The populated materialized views the task graph refreshes (their
 * MATERIALIZED VIEW DATA entries, in dump order), unless row security
 * policies come with post-data: a view's query must see the policies it
 * would see at the end of pg_restore.
 */
static void
clone_plan_matviews(CloneRun *run, const char *dumpfile)
{
	char *log_path = xasprintf("%s/post-data.log", run->wd.schema_dir);
	TocList toc;
	bool ok = schema_toc_read(dumpfile, "post-data", log_path, &toc);
	free(log_path);
	if (!ok)
	{
		return;
	}
	toc_filter_common(run, &toc, true);
	bool policies = false;
	int n = 0;
	for (int i = 0; i < toc.n; i++)
	{
		TocEntry *e = &toc.entries[i];
		if (e->skip != NULL)
		{
			continue;
		}
		policies |= strcmp(e->desc, "ROW SECURITY") == 0 || strcmp(e->desc, "POLICY") == 0;
		n += strcmp(e->desc, "MATERIALIZED VIEW DATA") == 0;
	}
	PgConn src = { 0 };
	if (n > 0 && policies)
	{
		log_info("materialized views are refreshed at the end of post-data, after the row "
				 "security policies their queries may see");
	}
	else if (n > 0 && pg_connect(&src, run->opts->source, "source", "catalog", 10))
	{
		run->mv_oids = xcalloc((size_t) n, sizeof(Oid));
		run->mv_names = xcalloc((size_t) n, sizeof(char *));
		for (int i = 0; i < toc.n; i++)
		{
			TocEntry *e = &toc.entries[i];
			if (e->skip != NULL || strcmp(e->desc, "MATERIALIZED VIEW DATA") != 0)
			{
				continue;
			}
			char oid[16];
			snprintf(oid, sizeof(oid), "%u", e->oid);
			const char *p[] = { oid };
			char *name = NULL;
			if (pg_query_value(&src,
							   "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) "
							   "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
							   "ON n.oid = c.relnamespace WHERE c.oid = $1::pg_catalog.oid",
							   1, p, &name) &&
				name != NULL)
			{
				run->mv_oids[run->nmatviews] = e->oid;
				run->mv_names[run->nmatviews++] = name;
			}
		}
	}
	if (src.conn != NULL)
	{
		pg_disconnect(&src);
	}
	schema_toc_free(&toc);
}

static bool
log_mentions_deadlock(const char *log_path)
{
	size_t len = 0;
	char *text = file_read_all(log_path, &len);
	bool found = text != NULL && strstr(text, "deadlock detected") != NULL;
	free(text);
	return found;
}

static bool
clone_restore_section(CloneRun *run, const char *dumpfile, const char *section, bool clean)
{
	Options *o = run->opts;
	char *log_path = xasprintf("%s/%s.log", run->wd.schema_dir, section);
	char *list_path = xasprintf("%s/%s.list", run->wd.schema_dir, section);
	TocList toc;
	bool ok = schema_toc_read(dumpfile, section, log_path, &toc);
	if (ok)
	{
		if (strcmp(section, "pre-data") == 0)
		{
			toc_filter_predata(run, &toc);
		}
		else
		{
			toc_filter_postdata(run, &toc);
		}
		ok = schema_toc_write(&toc, list_path);
		int nskip = 0;
		for (int i = 0; i < toc.n; i++)
		{
			nskip += toc.entries[i].skip != NULL;
		}
		log_info("restoring %s: %d objects (%d handled by pgshift or left out, see \"%s\")",
				 section, toc.n - nskip, nskip, list_path);
		schema_toc_free(&toc);
	}
	if (ok && clean)
	{
		/* drop what exists first, post-data objects (foreign keys, triggers) included */
		TocList pre, post;
		char *all_path = xasprintf("%s/clean.list", run->wd.schema_dir);
		char *script = xasprintf("%s/clean.sql", run->wd.schema_dir);
		ok = schema_toc_read(dumpfile, "pre-data", log_path, &pre) &&
			 schema_toc_read(dumpfile, "post-data", log_path, &post);
		if (ok)
		{
			toc_filter_common(run, &pre, false);
			toc_filter_common(run, &post, false);
			TocList all;
			all.n = pre.n + post.n;
			all.entries = xcalloc((size_t) all.n + 1, sizeof(TocEntry));
			memcpy(all.entries, pre.entries, sizeof(TocEntry) * (size_t) pre.n);
			memcpy(all.entries + pre.n, post.entries, sizeof(TocEntry) * (size_t) post.n);
			ok = schema_toc_write(&all, all_path);
			free(all.entries);
		}
		schema_toc_free(&pre);
		schema_toc_free(&post);
		if (ok)
		{
			PgConn tgt;
			if (pg_connect(&tgt, o->target, "target", "clean", 10))
			{
				ok = schema_clean(dumpfile, all_path, script, log_path, &tgt) >= 0;
			}
			else
			{
				ok = false;
			}
			pg_disconnect(&tgt);
		}
		free(all_path);
		free(script);
	}
	if (ok)
	{
		SchemaOptions so = { .source = o->source,
							 .target = o->target,
							 .snapshot = run->snapshot,
							 .jobs = o->restore_jobs,
							 .clean = false,
							 .tolerate_existing = run->tolerate_existing,
							 .no_owner = o->no_owner,
							 .no_acl = o->no_acl,
							 .no_comments = o->no_comments,
							 .no_tablespaces = o->no_tablespaces,
							 .async_commit = true,
							 .log_path = log_path };
		ok = schema_restore(&so, dumpfile, section, list_path);
		if (!ok && strcmp(section, "post-data") == 0 && so.jobs > 1 &&
			log_mentions_deadlock(log_path))
		{
			/*
			 * pg_restore's parallel jobs can deadlock on post-data of
			 * partitioned tables (an INDEX ATTACH against a foreign key that
			 * references the same partitions): the server cancels one of them.
			 * Again with one job, taking what the first pass restored as done.
			 */
			log_warn("pg_restore's parallel jobs deadlocked in post-data (the server cancelled one "
					 "statement); restoring post-data again with one job");
			so.jobs = 1;
			so.tolerate_existing = true;
			ok = schema_restore(&so, dumpfile, section, list_path);
		}
		if (ok)
		{
			PgConn tgt;
			ok = pg_connect(&tgt, o->target, "target", "flush", 10) && schema_restore_flush(&tgt);
			if (!ok)
			{
				log_error("could not make the %s section durable on the target: %s", section,
						  tgt.errmsg ? tgt.errmsg : "connection failed");
			}
			pg_disconnect(&tgt);
		}
	}
	free(log_path);
	free(list_path);
	return ok;
}

static void
step_begin(CloneRun *run, const char *name)
{
	state_step_start(run->state, name);
	log_info("step %s", name);
}

static void
step_end(CloneRun *run, const char *name, bool ok, double started, double *acc)
{
	state_step_done(run->state, name, ok);
	if (acc != NULL)
	{
		*acc += time_now() - started;
	}
	if (!ok)
	{
		strlist_add_owned(&run->failures, xasprintf("step %s failed", name));
	}
}

int
clone_precheck(Options *opts)
{
	CloneRun run;
	memset(&run, 0, sizeof(run));
	run.opts = opts;
	PgConn target;
	if (!pg_connect(&run.snap_conn, opts->source, "source", "check", 0))
	{
		pg_disconnect(&run.snap_conn);
		return EXIT_SOURCE;
	}
	if (!pg_connect(&target, opts->target, "target", "check", 0))
	{
		pg_disconnect(&target);
		pg_disconnect(&run.snap_conn);
		return EXIT_TARGET;
	}
	int rc = clone_check_servers(&run, &target, STEP_ALL, opts->resume);
	pg_disconnect(&target);
	pg_disconnect(&run.snap_conn);
	return rc;
}

int
clone_main(Options *opts, int steps)
{
	return clone_main_in(opts, steps, NULL, NULL);
}

int
clone_main_in(Options *opts, int steps, WorkDir *wd, StateDb *state)
{
	CloneRun run;
	memset(&run, 0, sizeof(run));
	run.opts = opts;
	run.t_start = time_now();
	run.partial =
		(steps & STEP_ALL) != STEP_ALL && (steps & ~STEP_SEQUENCES) != (STEP_ALL & ~STEP_SEQUENCES);
	int rc = EXIT_OK;
	PgConn target;
	memset(&target, 0, sizeof(target));

	if (!cli_require_uris(opts, true, true))
	{
		return EXIT_USAGE;
	}
	if (wd != NULL)
	{
		run.wd = *wd;
	}
	else if (!workdir_open(&run.wd, opts->dir))
	{
		workdir_close(&run.wd);
		return EXIT_WORKDIR;
	}
	char *ms = pg_conninfo_mask(opts->source);
	char *mt = pg_conninfo_mask(opts->target);
	log_info("pgshift %s: copying from %s to %s (work directory \"%s\")", PGSHIFT_VERSION, ms, mt,
			 run.wd.path);
	free(ms);
	free(mt);

	run.state = state != NULL ? state : state_open(run.wd.state_file);
	if (run.state == NULL)
	{
		workdir_close(&run.wd);
		return EXIT_WORKDIR;
	}
	bool resuming = false;
	rc = clone_prepare_state(&run, &resuming);
	if (rc != EXIT_OK)
	{
		goto done;
	}
	if (!pg_connect(&run.snap_conn, opts->source, "source", "snapshot", 0))
	{
		rc = EXIT_SOURCE;
		goto done;
	}
	if (!pg_connect(&target, opts->target, "target", "main", 0))
	{
		rc = EXIT_TARGET;
		goto done;
	}
	run.source_version = pg_server_version(&run.snap_conn);
	if (!pg_query_value(&target, "SELECT current_database()", 0, NULL, &run.target_db))
	{
		rc = EXIT_TARGET;
		goto done;
	}
	rc = clone_snapshot(&run, resuming);
	if (rc != EXIT_OK)
	{
		goto done;
	}
	if (opts->filters != NULL && !filters_load(opts->filters, &run.filters))
	{
		rc = EXIT_USAGE;
		goto done;
	}

	/* catalog */
	double t0 = time_now();
	if (resuming && state_step_is_done(run.state, "catalog"))
	{
		catalog_load(run.state, &run.cat);
	}
	else
	{
		step_begin(&run, "catalog");
		int lo_batch = opts->skip_large_objects ? 0 : 1000;
		bool ok = catalog_fetch(&run.snap_conn, &run.cat, lo_batch);
		if (ok)
		{
			/* sizes and sequence values: outside the snapshot, no lock kept */
			PgConn side;
			ok = pg_connect(&side, opts->source, "source", "catalog", 10) &&
				 catalog_fetch_sizes(&side, &run.cat) &&
				 catalog_fetch_sequence_values(&side, &run.cat);
			pg_disconnect(&side);
		}
		if (!ok)
		{
			step_end(&run, "catalog", false, t0, NULL);
			rc = EXIT_SOURCE;
			goto done;
		}
		if (run.filters.active)
		{
			filters_apply(&run.filters, &run.cat);
		}
		SplitSpec split = plan_split_spec(opts);
		split_tables(&run.cat, &split);
		ok = catalog_save(run.state, &run.cat);
		step_end(&run, "catalog", ok, t0, &run.t_catalog);
		if (!ok)
		{
			rc = EXIT_WORKDIR;
			goto done;
		}
	}
	log_info("catalog: %d tables, %d indexes, %d foreign keys, %d sequences, %lld large objects",
			 run.cat.ntables, run.cat.nindexes, run.cat.nfkeys, run.cat.nsequences,
			 (long long) run.cat.nlargeobjects);
	run.frozen_ok = true;
	{
		/* binary COPY: the same major version on both sides, or asked for */
		int tv = pg_server_version(&target);
		run.target_version = tv;
		run.binary_ok = !opts->no_copy_binary &&
						(opts->use_copy_binary || run.source_version / 10000 == tv / 10000);
		log_info("COPY format: %s", run.binary_ok ? "binary (tables of built-in types), text "
													"otherwise"
												  : "text");
	}
	run.tstats = xcalloc((size_t) run.cat.ntables + 1, sizeof(TableStats));
	if (run.filters.active && !clone_filter_dependents(&run))
	{
		rc = EXIT_SOURCE;
		goto done;
	}

	rc = clone_check_servers(&run, &target, steps, resuming);
	if (rc != EXIT_OK)
	{
		goto done;
	}
	clone_mark_started(&run, resuming);

	if (opts->roles && (steps & STEP_SCHEMA_PRE) &&
		!(resuming && state_step_is_done(run.state, "roles")))
	{
		t0 = time_now();
		step_begin(&run, "roles");
		bool ok = clone_copy_roles(opts, &run.wd);
		step_end(&run, "roles", ok, t0, &run.t_roles);
	}

	/* schema dump, pre-data */
	char *dumpfile = xasprintf("%s/schema.dump", run.wd.schema_dir);
	if ((steps & (STEP_SCHEMA_PRE | STEP_SCHEMA_POST)) &&
		!(resuming && state_step_is_done(run.state, "dump-schema")))
	{
		t0 = time_now();
		step_begin(&run, "dump-schema");
		SchemaOptions so = { .source = opts->source, .snapshot = run.snapshot, .log_path = NULL };
		char *log_path = xasprintf("%s/pg_dump.log", run.wd.schema_dir);
		so.log_path = log_path;
		bool ok = schema_dump(&so, dumpfile);
		free(log_path);
		step_end(&run, "dump-schema", ok, t0, &run.t_dump);
		if (!ok)
		{
			rc = EXIT_INTERNAL;
			free(dumpfile);
			goto done;
		}
	}
	if ((steps & STEP_SCHEMA_PRE) && !(resuming && state_step_is_done(run.state, "pre-data")))
	{
		t0 = time_now();
		step_begin(&run, "pre-data");
		/* a pre-data step redone on resume starts from a clean slate: no data yet */
		bool ok =
			clone_restore_section(&run, dumpfile, "pre-data", opts->drop_if_exists || resuming);
		step_end(&run, "pre-data", ok, t0, &run.t_predata);
		if (!ok)
		{
			run.schema_failed = true;
			if (opts->fail_fast)
			{
				rc = EXIT_TASKS_FAILED;
				free(dumpfile);
				goto done;
			}
		}
	}
	if ((steps & STEP_DB_PROPS) && !opts->skip_db_properties)
	{
		clone_copy_db_properties(&run, &target);
	}

	/* the task graph: data, indexes, constraints, vacuum, large objects, matviews */
	t0 = time_now();
	if ((steps & STEP_SCHEMA_POST) && (steps & STEP_TABLE_DATA))
	{
		clone_plan_matviews(&run, dumpfile);
	}
	plan_build(&run, steps);
	if (resuming)
	{
		plan_apply_resume(&run, &target);
	}
	if ((steps & STEP_TABLE_DATA) &&
		!pg_exec(&target, "CREATE SCHEMA IF NOT EXISTS " CLONE_PROGRESS_SCHEMA "; "
						  "CREATE TABLE IF NOT EXISTS " CLONE_PROGRESS_TABLE
						  " (table_oid oid NOT NULL, part int NOT NULL, "
						  "PRIMARY KEY (table_oid, part))"))
	{
		rc = EXIT_TARGET;
		free(dumpfile);
		goto done;
	}
	step_begin(&run, "data");
	bool data_ok = sched_run(&run);
	step_end(&run, "data", data_ok, t0, &run.t_data);

	if (signals_interrupted())
	{
		rc = EXIT_INTERRUPTED;
		free(dumpfile);
		goto done;
	}
	if (!data_ok && opts->fail_fast)
	{
		rc = EXIT_TASKS_FAILED;
		free(dumpfile);
		goto done;
	}

	if (steps & STEP_SEQUENCES)
	{
		t0 = time_now();
		step_begin(&run, "sequences");
		bool ok = clone_copy_sequences(&run, &target);
		step_end(&run, "sequences", ok, t0, &run.t_sequences);
	}
	if ((steps & STEP_SCHEMA_POST) && !(resuming && state_step_is_done(run.state, "post-data")))
	{
		t0 = time_now();
		/* redone after a crash: what the dead run restored already is no error */
		run.tolerate_existing = resuming && !run.partial;
		step_begin(&run, "post-data");
		bool ok = clone_restore_section(&run, dumpfile, "post-data", false);
		/*
		 * After failed copies, post-data (materialized view data above all) saw
		 * incomplete tables: it is not done, and a resume runs it again.
		 */
		if (ok && !data_ok)
		{
			/* not a failure of its own (the failed copies are listed): just not done */
			state_step_done(run.state, "post-data", false);
			run.t_postdata += time_now() - t0;
		}
		else
		{
			step_end(&run, "post-data", ok, t0, &run.t_postdata);
		}
	}
	free(dumpfile);

	rc = run.failures.n > 0 ? EXIT_TASKS_FAILED : EXIT_OK;
	if (signals_interrupted())
	{
		rc = EXIT_INTERRUPTED;
	}
	if (rc == EXIT_OK && (steps & STEP_TABLE_DATA))
	{
		pg_exec(&target, "DROP SCHEMA IF EXISTS " CLONE_PROGRESS_SCHEMA " CASCADE");
	}

done:
	run.t_total = time_now() - run.t_start;
	if (run.state != NULL && run.graph.ntasks > 0)
	{
		report_summary(&run, !opts->quiet);
	}
	if (run.failures.n > 0)
	{
		log_error("%d object(s) failed:", run.failures.n);
		for (int i = 0; i < run.failures.n; i++)
		{
			log_error("  %s", run.failures.items[i]);
		}
	}
	if (run.started)
	{
		state_set_meta(run.state, "run_status",
					   rc == EXIT_OK ? "done"
									 : (rc == EXIT_INTERRUPTED ? "interrupted" : "failed"));
	}
	if (rc == EXIT_OK)
	{
		log_info("done: the target is a copy of the source as of snapshot \"%s\" (%.1fs)",
				 run.snapshot ? run.snapshot : "?", run.t_total);
	}
	pg_disconnect(&target);
	pg_disconnect(&run.snap_conn);
	graph_free(&run.graph);
	catalog_free(&run.cat);
	free(run.tstats);
	free(run.snapshot);
	free(run.target_db);
	strlist_free(&run.failures);
	filters_free(&run.filters);
	free(run.skip_oids);
	strlist_free(&run.skip_names);
	for (int i = 0; i < run.nmatviews; i++)
	{
		free(run.mv_names[i]);
	}
	free(run.mv_names);
	free(run.mv_oids);
	strlist_free(&run.skip_schemas);
	strlist_free(&run.all_schemas);
	if (state == NULL)
	{
		state_close(run.state);
	}
	if (wd == NULL)
	{
		workdir_close(&run.wd);
	}
	return rc;
}

/*
 * The schema steps alone. Restoring post-data here lets pg_restore build every
 * index and constraint itself (no task graph runs). parse-list prints the
 * lists pgshift would use, with the reason for each entry left out.
 */
int
clone_schema_command(Options *opts, int what)
{
	bool need_target =
		(what & (SCHEMA_CMD_RESTORE_PRE | SCHEMA_CMD_RESTORE_POST | SCHEMA_CMD_EXTENSIONS)) != 0;
	bool need_source = (what & SCHEMA_CMD_DUMP) != 0 || opts->filters != NULL;
	if (!cli_require_uris(opts, need_source, need_target))
	{
		return EXIT_USAGE;
	}
	CloneRun run;
	memset(&run, 0, sizeof(run));
	run.opts = opts;
	if (!workdir_open(&run.wd, opts->dir))
	{
		workdir_close(&run.wd);
		return EXIT_WORKDIR;
	}
	int rc = EXIT_OK;
	char *dumpfile = xasprintf("%s/schema.dump", run.wd.schema_dir);
	if (need_source)
	{
		if (!pg_connect(&run.snap_conn, opts->source, "source", "schema", 0) ||
			!pg_exec(&run.snap_conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
		{
			rc = EXIT_SOURCE;
			goto out;
		}
		if (opts->snapshot != NULL)
		{
			char *q = pg_quote_literal(opts->snapshot);
			char *sql = xasprintf("SET TRANSACTION SNAPSHOT %s", q);
			bool ok = pg_exec(&run.snap_conn, sql);
			free(q);
			free(sql);
			if (!ok)
			{
				rc = EXIT_PRECONDITION;
				goto out;
			}
			run.snapshot = xstrdup(opts->snapshot);
		}
		else if (!pg_query_value(&run.snap_conn, "SELECT pg_catalog.pg_export_snapshot()", 0, NULL,
								 &run.snapshot))
		{
			rc = EXIT_SOURCE;
			goto out;
		}
	}
	if (opts->filters != NULL)
	{
		if (!filters_load(opts->filters, &run.filters))
		{
			rc = EXIT_USAGE;
			goto out;
		}
		if (!catalog_fetch(&run.snap_conn, &run.cat, 0))
		{
			rc = EXIT_SOURCE;
			goto out;
		}
		filters_apply(&run.filters, &run.cat);
		if (!clone_filter_dependents(&run))
		{
			rc = EXIT_SOURCE;
			goto out;
		}
	}
	if (what & SCHEMA_CMD_DUMP)
	{
		SchemaOptions so = { .source = opts->source, .snapshot = run.snapshot };
		char *log_path = xasprintf("%s/pg_dump.log", run.wd.schema_dir);
		so.log_path = log_path;
		bool ok = schema_dump(&so, dumpfile);
		free(log_path);
		if (!ok)
		{
			rc = EXIT_INTERNAL;
			goto out;
		}
		printf("%s\n", dumpfile);
	}
	if (!file_exists(dumpfile))
	{
		log_error("no schema dump in \"%s\"", run.wd.schema_dir);
		log_hint(LOG_LEVEL_ERROR, "Run \"pgshift dump schema\" with the same --dir first.");
		rc = EXIT_WORKDIR;
		goto out;
	}
	if (what & SCHEMA_CMD_PARSE_LIST)
	{
		const char *sections[] = { "pre-data", "post-data" };
		char *log_path = xasprintf("%s/parse-list.log", run.wd.schema_dir);
		for (int s = 0; s < 2; s++)
		{
			TocList toc;
			if (!schema_toc_read(dumpfile, sections[s], log_path, &toc))
			{
				rc = EXIT_INTERNAL;
				break;
			}
			if (s == 0)
			{
				toc_filter_predata(&run, &toc);
			}
			else
			{
				toc_filter_common(&run, &toc, false);
			}
			printf("; %s\n", sections[s]);
			for (int i = 0; i < toc.n; i++)
			{
				TocEntry *e = &toc.entries[i];
				if (e->skip != NULL)
				{
					printf(";%s  -- %s\n", e->line, e->skip);
				}
				else
				{
					printf("%s\n", e->line);
				}
			}
			schema_toc_free(&toc);
		}
		free(log_path);
	}
	if (what & SCHEMA_CMD_EXTENSIONS)
	{
		char *log_path = xasprintf("%s/extensions.log", run.wd.schema_dir);
		char *list_path = xasprintf("%s/extensions.list", run.wd.schema_dir);
		TocList toc;
		bool ok = schema_toc_read(dumpfile, "pre-data", log_path, &toc);
		if (ok)
		{
			toc_filter_common(&run, &toc, false);
			for (int i = 0; i < toc.n; i++)
			{
				TocEntry *e = &toc.entries[i];
				bool ext = strcmp(e->desc, "EXTENSION") == 0 ||
						   (strcmp(e->desc, "COMMENT") == 0 &&
							strncmp(e->rest, "- EXTENSION ", 12) == 0) ||
						   (strcmp(e->desc, "SCHEMA") == 0);
				if (!ext && e->skip == NULL)
				{
					e->skip = "not an extension";
				}
			}
			ok = schema_toc_write(&toc, list_path);
			schema_toc_free(&toc);
		}
		SchemaOptions so = {
			.source = opts->source, .target = opts->target, .jobs = 1, .log_path = log_path
		};
		if (ok)
		{
			ok = schema_restore(&so, dumpfile, "pre-data", list_path);
		}
		rc = ok ? EXIT_OK : EXIT_TASKS_FAILED;
		free(log_path);
		free(list_path);
	}
	if (what & SCHEMA_CMD_RESTORE_PRE)
	{
		if (!clone_restore_section(&run, dumpfile, "pre-data", opts->drop_if_exists))
		{
			rc = EXIT_TASKS_FAILED;
		}
	}
	if ((what & SCHEMA_CMD_RESTORE_POST) && rc == EXIT_OK)
	{
		if (!clone_restore_section(&run, dumpfile, "post-data", false))
		{
			rc = EXIT_TASKS_FAILED;
		}
	}
out:
	free(dumpfile);
	pg_disconnect(&run.snap_conn);
	catalog_free(&run.cat);
	filters_free(&run.filters);
	free(run.skip_oids);
	strlist_free(&run.skip_names);
	for (int i = 0; i < run.nmatviews; i++)
	{
		free(run.mv_names[i]);
	}
	free(run.mv_names);
	free(run.mv_oids);
	strlist_free(&run.skip_schemas);
	strlist_free(&run.all_schemas);
	free(run.snapshot);
	workdir_close(&run.wd);
	return rc;
}
