/*
 * src/clone/schema_steps.c — the schema sections of a clone, and the same
 * steps as commands of their own (dump schema, restore schema|pre-data|
 * post-data|parse-list, copy extensions).
 *
 * Every section is restored from the archive list pgshift writes, never from
 * the whole archive: what the filters leave out and what the task graph
 * builds itself (indexes, constraints, foreign keys, materialized view data)
 * is commented out of it (schema/toc_filter.c), so that pg_restore and the
 * workers never build the same object twice. These steps share the work
 * directory layout with clone: schema/schema.dump, schema/<section>.list.
 * Nothing here calls back into clone.c.
 */
#include "clone/clone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.inc"

/* The archive lists' filter, from the run's filters and skip options. */
void
clone_toc_filter_init(CloneRun *run)
{
	run->toc.filters = &run->filters;
	run->toc.skip_extensions = run->spec->skip_extensions;
	run->toc.skip_collations = run->spec->skip_collations;
	run->toc.skip_ext_comments = run->spec->skip_ext_comments;
	run->toc.skip_publications = run->spec->skip_publications;
	run->toc.skip_large_objects = run->spec->skip_large_objects;
}

bool
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
			!strlist_contains(&run->toc.skip_schemas, t->nspname))
		{
			strlist_add(&run->toc.skip_schemas, t->nspname);
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
		strlist_add(&run->toc.all_schemas, nsp);
		if (filters_schema_excluded(&run->filters, nsp) &&
			!strlist_contains(&run->toc.skip_schemas, nsp))
		{
			strlist_add(&run->toc.skip_schemas, nsp);
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
	run->toc.nskip_oids = PQntuples(res);
	run->toc.skip_oids = xcalloc((size_t) run->toc.nskip_oids + 1, sizeof(uint32_t));
	for (int i = 0; i < PQntuples(res); i++)
	{
		run->toc.skip_oids[i] = (uint32_t) strtoul(PQgetvalue(res, i, 0), NULL, 10);
		if (!PQgetisnull(res, i, 2))
		{
			char *name = xasprintf("%s %s", PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
			if (!strlist_contains(&run->toc.skip_names, name))
			{
				strlist_add(&run->toc.skip_names, name);
			}
			free(name);
		}
		log_debug("filters: leaving out %s", PQgetvalue(res, i, 1));
	}
	PQclear(res);
	return true;
}

/*
 * The populated materialized views the task graph refreshes (their
 * MATERIALIZED VIEW DATA entries, in dump order), unless row security
 * policies come with post-data: a view's query must see the policies it
 * would see at the end of pg_restore.
 */
void
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
	toc_filter_common(&run->toc, &toc, true);
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
	else if (n > 0 && pg_connect(&src, run->spec->source, "source", "catalog", 10))
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

/*
 * The oids pgshift builds itself (task graph: indexes, constraints, foreign
 * keys, materialized views) and the indexes [exclude-index] leaves out of a
 * kept table: post-data's list skips both.
 */
static void
postdata_filter(CloneRun *run, TocList *toc)
{
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
	toc_filter_postdata(&run->toc, toc, built, nb, excl, ne);
	free(built);
	free(excl);
}

/* The section's filtered list written to list_path. */
static bool
write_section_list(CloneRun *run, const char *dumpfile, const char *section, const char *log_path,
				   const char *list_path)
{
	TocList toc;
	if (!schema_toc_read(dumpfile, section, log_path, &toc))
	{
		return false;
	}
	if (strcmp(section, "pre-data") == 0)
	{
		toc_filter_predata(&run->toc, &toc);
	}
	else
	{
		postdata_filter(run, &toc);
	}
	bool ok = schema_toc_write(&toc, list_path);
	int nskip = 0;
	for (int i = 0; i < toc.n; i++)
	{
		nskip += toc.entries[i].skip != NULL;
	}
	log_info("restoring %s: %d objects (%d handled by pgshift or left out, see \"%s\")", section,
			 toc.n - nskip, nskip, list_path);
	schema_toc_free(&toc);
	return ok;
}

/* --drop-if-exists: drop what exists first, post-data objects (foreign keys, triggers) included */
static bool
clean_target(CloneRun *run, const char *dumpfile, const char *log_path)
{
	TocList pre, post;
	char *all_path = xasprintf("%s/clean.list", run->wd.schema_dir);
	char *script = xasprintf("%s/clean.sql", run->wd.schema_dir);
	bool ok = schema_toc_read(dumpfile, "pre-data", log_path, &pre) &&
			  schema_toc_read(dumpfile, "post-data", log_path, &post);
	if (ok)
	{
		toc_filter_common(&run->toc, &pre, false);
		toc_filter_common(&run->toc, &post, false);
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
		if (pg_connect(&tgt, run->spec->target, "target", "clean", 10))
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
	return ok;
}

/* pg_restore of the section with its list, then one synchronous commit. */
static bool
restore_with_list(CloneRun *run, const char *dumpfile, const char *section, const char *log_path,
				  const char *list_path)
{
	const CloneSpec *o = run->spec;
	SchemaOptions so = { .source = o->source,
						 .target = o->target,
						 .snapshot = run->snapshot,
						 .jobs = o->restore_jobs,
						 .clean = false,
						 .tolerate_existing = run->tolerate_existing,
						 .tolerance = o->restore_tolerance,
						 .no_owner = o->no_owner,
						 .no_acl = o->no_acl,
						 .no_comments = o->no_comments,
						 .no_tablespaces = o->no_tablespaces,
						 .async_commit = true,
						 .log_path = log_path };
	bool ok = schema_restore(&so, dumpfile, section, list_path);
	if (!ok && strcmp(section, "post-data") == 0 && so.jobs > 1 && log_mentions_deadlock(log_path))
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
	return ok;
}

bool
clone_restore_section(CloneRun *run, const char *dumpfile, const char *section, bool clean)
{
	char *log_path = xasprintf("%s/%s.log", run->wd.schema_dir, section);
	char *list_path = xasprintf("%s/%s.list", run->wd.schema_dir, section);
	bool pre = strcmp(section, "pre-data") == 0;
	bool ok = write_section_list(run, dumpfile, section, log_path, list_path) &&
			  (!clean || clean_target(run, dumpfile, log_path)) &&
			  (!pre || clone_requirements(run->spec, &run->filters, true)) &&
			  restore_with_list(run, dumpfile, section, log_path, list_path) &&
			  (!pre || clone_requirements(run->spec, &run->filters, false));
	free(log_path);
	free(list_path);
	return ok;
}

bool
clone_dump_schema(CloneRun *run, const char *dumpfile)
{
	char *log_path = xasprintf("%s/pg_dump.log", run->wd.schema_dir);
	SchemaOptions so = { .source = run->spec->source,
						 .snapshot = run->snapshot,
						 .log_path = log_path };
	bool ok = schema_dump(&so, dumpfile);
	free(log_path);
	return ok;
}

void
clone_schema_free(CloneRun *run)
{
	filters_free(&run->filters);
	toc_filter_free(&run->toc);
	for (int i = 0; i < run->nmatviews; i++)
	{
		free(run->mv_names[i]);
	}
	free(run->mv_names);
	free(run->mv_oids);
	run->mv_names = NULL;
	run->mv_oids = NULL;
	run->nmatviews = 0;
}

/* ---- the schema steps as commands ---- */

/* The source session holding the snapshot the dump (and the filters' catalog) read. */
static ExitCode
schema_cmd_snapshot(CloneRun *run)
{
	const CloneSpec *spec = run->spec;
	if (!pg_connect(&run->snap_conn, spec->source, "source", "schema", 0) ||
		!pg_exec(&run->snap_conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
	{
		return EXIT_SOURCE;
	}
	if (spec->snapshot != NULL)
	{
		if (!pg_set_snapshot(&run->snap_conn, spec->snapshot))
		{
			return EXIT_PRECONDITION;
		}
		run->snapshot = xstrdup(spec->snapshot);
	}
	else if (!pg_query_value(&run->snap_conn, "SELECT pg_catalog.pg_export_snapshot()", 0, NULL,
							 &run->snapshot))
	{
		return EXIT_SOURCE;
	}
	return EXIT_OK;
}

/* --filters: the catalog in the snapshot, and what depends on excluded tables. */
static ExitCode
schema_cmd_filters(CloneRun *run)
{
	if (!filters_load(run->spec->filters, &run->filters))
	{
		return EXIT_USAGE;
	}
	if (!catalog_fetch(&run->snap_conn, &run->cat, 0))
	{
		return EXIT_SOURCE;
	}
	filters_apply(&run->filters, &run->cat);
	if (!clone_filter_dependents(run))
	{
		return EXIT_SOURCE;
	}
	return EXIT_OK;
}

/* restore parse-list: both lists, with the reason for each entry left out. */
static ExitCode
schema_cmd_parse_list(CloneRun *run, const char *dumpfile)
{
	const char *sections[] = { "pre-data", "post-data" };
	char *log_path = xasprintf("%s/parse-list.log", run->wd.schema_dir);
	ExitCode rc = EXIT_OK;
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
			toc_filter_predata(&run->toc, &toc);
		}
		else
		{
			toc_filter_common(&run->toc, &toc, false);
			toc_filter_publications(&run->toc, &toc);
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
	return rc;
}

/* copy extensions: the pre-data list narrowed to extensions (and their schemas). */
static ExitCode
schema_cmd_extensions(CloneRun *run, const char *dumpfile)
{
	char *log_path = xasprintf("%s/extensions.log", run->wd.schema_dir);
	char *list_path = xasprintf("%s/extensions.list", run->wd.schema_dir);
	TocList toc;
	bool ok = schema_toc_read(dumpfile, "pre-data", log_path, &toc);
	if (ok)
	{
		toc_filter_common(&run->toc, &toc, false);
		for (int i = 0; i < toc.n; i++)
		{
			TocEntry *e = &toc.entries[i];
			bool ext =
				strcmp(e->desc, "EXTENSION") == 0 ||
				(strcmp(e->desc, "COMMENT") == 0 && strncmp(e->rest, "- EXTENSION ", 12) == 0) ||
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
		.source = run->spec->source, .target = run->spec->target, .jobs = 1, .log_path = log_path
	};
	ok = ok && clone_requirements(run->spec, &run->filters, true) &&
		 schema_restore(&so, dumpfile, "pre-data", list_path) &&
		 clone_requirements(run->spec, &run->filters, false);
	free(log_path);
	free(list_path);
	return ok ? EXIT_OK : EXIT_TASKS_FAILED;
}

/* What the command does once the dump is there. */
static ExitCode
schema_cmd_steps(CloneRun *run, const char *dumpfile, int what)
{
	ExitCode rc = EXIT_OK;
	if (what & SCHEMA_CMD_PARSE_LIST)
	{
		rc = schema_cmd_parse_list(run, dumpfile);
	}
	if (what & SCHEMA_CMD_EXTENSIONS)
	{
		rc = schema_cmd_extensions(run, dumpfile);
	}
	if ((what & SCHEMA_CMD_RESTORE_PRE) &&
		!clone_restore_section(run, dumpfile, "pre-data", run->spec->drop_if_exists))
	{
		rc = EXIT_TASKS_FAILED;
	}
	if ((what & SCHEMA_CMD_RESTORE_POST) && rc == EXIT_OK &&
		!clone_restore_section(run, dumpfile, "post-data", false))
	{
		rc = EXIT_TASKS_FAILED;
	}
	return rc;
}

/*
 * The schema steps alone. Restoring post-data here lets pg_restore build every
 * index and constraint itself (no task graph runs). parse-list prints the
 * lists pgshift would use, with the reason for each entry left out.
 */
ExitCode
clone_schema_command(const CloneSpec *spec, int what)
{
	bool need_source = (what & SCHEMA_CMD_DUMP) != 0 || spec->filters != NULL;
	CloneRun run;
	memset(&run, 0, sizeof(run));
	run.spec = spec;
	clone_toc_filter_init(&run);
	if (!workdir_open(&run.wd, spec->dir))
	{
		workdir_close(&run.wd);
		return EXIT_WORKDIR;
	}
	ExitCode rc = EXIT_OK;
	char *dumpfile = xasprintf("%s/schema.dump", run.wd.schema_dir);
	if (need_source)
	{
		rc = schema_cmd_snapshot(&run);
	}
	if (rc == EXIT_OK && spec->filters != NULL)
	{
		rc = schema_cmd_filters(&run);
	}
	if (rc == EXIT_OK && (what & SCHEMA_CMD_DUMP))
	{
		if (!clone_dump_schema(&run, dumpfile))
		{
			rc = EXIT_INTERNAL;
		}
		else
		{
			printf("%s\n", dumpfile);
		}
	}
	if (rc == EXIT_OK && !file_exists(dumpfile))
	{
		log_error("no schema dump in \"%s\"", run.wd.schema_dir);
		log_hint(LOG_LEVEL_ERROR, "Run \"pgshift dump schema\" with the same --dir first.");
		rc = EXIT_WORKDIR;
	}
	if (rc == EXIT_OK)
	{
		rc = schema_cmd_steps(&run, dumpfile, what);
	}
	free(dumpfile);
	pg_disconnect(&run.snap_conn);
	catalog_free(&run.cat);
	clone_schema_free(&run);
	free(run.snapshot);
	workdir_close(&run.wd);
	return rc;
}
