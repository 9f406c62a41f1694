/*
 * src/clone/clone.c — one clone from start to end, and the steps it is made of.
 *
 *   work dir + state.db ─► snapshot ─► catalog ─► target check ─► pg_dump
 *   ─► pre-data ─► task graph (copy, indexes, constraints, vacuum, blobs)
 *   ─► sequences ─► post-data ─► summary
 *
 * Each step is recorded in state.db's steps table; --resume skips the steps
 * and tasks recorded done. The clone knows nothing of the command line: it
 * runs a CloneSpec and returns an ExitCode, and reports its summary through
 * the spec's hook (report/ is a layer above). It calls the schema steps
 * (schema_steps.c, roles.c) and the task graph (plan.c, sched.c), which
 * never call back into this file.
 */
#include "clone/clone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sql.inc"

/* The settings a resumed run must share with the run it resumes. */
static char *
run_settings(const CloneSpec *o)
{
	char *ms = pg_conninfo_mask(o->source);
	char *mt = pg_conninfo_mask(o->target);
	char *s = xasprintf("source=%s\ntarget=%s\nsplit-tables-larger-than=%lld\n"
						"split-max-parts=%d\nfilters=%s\nskip-large-objects=%d\n"
						"use-copy-binary=%d\nno-owner=%d\nno-acl=%d\n",
						ms, mt, (long long) o->split.larger_than, o->split.max_parts,
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

static ExitCode
clone_prepare_state(CloneRun *run, bool *resuming)
{
	const CloneSpec *o = run->spec;
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
		char *settings = run_settings(run->spec);
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

static ExitCode
clone_snapshot(CloneRun *run, bool resuming)
{
	const CloneSpec *o = run->spec;
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
		c->quiet_errors = resuming && o->snapshot == NULL;
		bool ok = pg_set_snapshot(c, want);
		c->quiet_errors = false;
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
static ExitCode
clone_check_servers(CloneRun *run, PgConn *target, int steps, bool resuming)
{
	const CloneSpec *o = run->spec;
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
	StrBuf nsps, rels;
	if (!catalog_relation_name_arrays(&run->snap_conn, NULL, &nsps, &rels))
	{
		return EXIT_SOURCE;
	}
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

ExitCode
clone_precheck(const CloneSpec *spec)
{
	CloneRun run;
	memset(&run, 0, sizeof(run));
	run.spec = spec;
	PgConn target;
	if (!pg_connect(&run.snap_conn, spec->source, "source", "check", 0))
	{
		pg_disconnect(&run.snap_conn);
		return EXIT_SOURCE;
	}
	if (!pg_connect(&target, spec->target, "target", "check", 0))
	{
		pg_disconnect(&target);
		pg_disconnect(&run.snap_conn);
		return EXIT_TARGET;
	}
	ExitCode rc = schema_check_source_dumpable(pg_server_version(&run.snap_conn))
					  ? clone_check_servers(&run, &target, STEP_ALL, spec->resume)
					  : EXIT_PRECONDITION;
	pg_disconnect(&target);
	pg_disconnect(&run.snap_conn);
	return rc;
}

ExitCode
clone_main(const CloneSpec *spec, int steps)
{
	return clone_main_in(spec, steps, NULL, NULL);
}

/* The work directory and state.db: the caller's (clone --follow), or opened here. */
static ExitCode
clone_open(CloneRun *run, WorkDir *wd, StateDb *state)
{
	const CloneSpec *spec = run->spec;
	if (wd != NULL)
	{
		run->wd = *wd;
	}
	else if (!workdir_open(&run->wd, spec->dir))
	{
		workdir_close(&run->wd);
		return EXIT_WORKDIR;
	}
	char *ms = pg_conninfo_mask(spec->source);
	char *mt = pg_conninfo_mask(spec->target);
	log_info("pgshift %s: copying from %s to %s (work directory \"%s\")", PGSHIFT_VERSION, ms, mt,
			 run->wd.path);
	free(ms);
	free(mt);
	run->state = state != NULL ? state : state_open(run->wd.state_file);
	if (run->state == NULL)
	{
		if (wd == NULL)
		{
			workdir_close(&run->wd);
		}
		return EXIT_WORKDIR;
	}
	return EXIT_OK;
}

/* Both servers connected, the snapshot set, the filters read. */
static ExitCode
clone_connect(CloneRun *run, PgConn *target, int steps, bool resuming)
{
	const CloneSpec *spec = run->spec;
	if (!pg_connect(&run->snap_conn, spec->source, "source", "snapshot", 0))
	{
		return EXIT_SOURCE;
	}
	if (!pg_connect(target, spec->target, "target", "main", 0))
	{
		return EXIT_TARGET;
	}
	run->source_version = pg_server_version(&run->snap_conn);
	pg_features_of(run->source_version, &run->source);
	/* issue 17: a source pg_dump cannot dump is refused before the slot, the snapshot */
	if ((steps & (STEP_SCHEMA_PRE | STEP_SCHEMA_POST | STEP_ROLES)) &&
		!schema_check_source_dumpable(run->source_version))
	{
		return EXIT_PRECONDITION;
	}
	if (!pg_query_value(target, "SELECT current_database()", 0, NULL, &run->target_db))
	{
		return EXIT_TARGET;
	}
	ExitCode rc = clone_snapshot(run, resuming);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	if (spec->filters != NULL && !filters_load(spec->filters, &run->filters))
	{
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* The source's catalog: read in the snapshot, or loaded from state.db on resume. */
static ExitCode
clone_catalog(CloneRun *run, bool resuming)
{
	const CloneSpec *spec = run->spec;
	double t0 = time_now();
	if (resuming && state_step_is_done(run->state, "catalog"))
	{
		catalog_load(run->state, &run->cat);
		return EXIT_OK;
	}
	step_begin(run, "catalog");
	int lo_batch = spec->skip_large_objects ? 0 : 1000;
	bool ok = catalog_fetch(&run->snap_conn, &run->cat, lo_batch);
	if (ok)
	{
		/* sizes and sequence values: outside the snapshot, no lock kept */
		PgConn side;
		ok = pg_connect(&side, spec->source, "source", "catalog", 10) &&
			 catalog_fetch_sizes(&side, &run->cat, spec->estimate_table_sizes) &&
			 catalog_fetch_sequence_values(&side, &run->cat);
		pg_disconnect(&side);
	}
	if (!ok)
	{
		step_end(run, "catalog", false, t0, NULL);
		return EXIT_SOURCE;
	}
	if (run->filters.active)
	{
		filters_apply(&run->filters, &run->cat);
	}
	split_tables(&run->cat, &spec->split);
	ok = catalog_save(run->state, &run->cat);
	step_end(run, "catalog", ok, t0, &run->t_catalog);
	return ok ? EXIT_OK : EXIT_WORKDIR;
}

/* COPY FREEZE, and binary COPY: the same major version on both sides, or asked for. */
static void
clone_copy_format(CloneRun *run, PgConn *target)
{
	const CloneSpec *spec = run->spec;
	run->frozen_ok = true;
	int tv = pg_server_version(target);
	run->target_version = tv;
	pg_features_of(tv, &run->target);
	run->binary_ok = !spec->no_copy_binary &&
					 (spec->use_copy_binary || pg_copy_binary_compatible(run->source_version, tv));
	log_info("COPY format: %s", run->binary_ok ? "binary (tables of built-in types), text "
												 "otherwise"
											   : "text");
}

/* --roles, pg_dump and the pre-data section; false: stop the run (*rc says why). */
static bool
clone_schema_pre(CloneRun *run, int steps, bool resuming, const char *dumpfile, ExitCode *rc)
{
	const CloneSpec *spec = run->spec;
	double t0;
	if (spec->roles && (steps & STEP_SCHEMA_PRE) &&
		!(resuming && state_step_is_done(run->state, "roles")))
	{
		t0 = time_now();
		step_begin(run, "roles");
		bool ok = clone_copy_roles(spec, &run->wd);
		step_end(run, "roles", ok, t0, NULL);
	}
	if ((steps & (STEP_SCHEMA_PRE | STEP_SCHEMA_POST)) &&
		!(resuming && state_step_is_done(run->state, "dump-schema")))
	{
		t0 = time_now();
		step_begin(run, "dump-schema");
		bool ok = clone_dump_schema(run, dumpfile);
		step_end(run, "dump-schema", ok, t0, &run->t_dump);
		if (!ok)
		{
			*rc = EXIT_INTERNAL;
			return false;
		}
	}
	if ((steps & STEP_SCHEMA_PRE) && !(resuming && state_step_is_done(run->state, "pre-data")))
	{
		t0 = time_now();
		step_begin(run, "pre-data");
		/* a pre-data step redone on resume starts from a clean slate: no data yet */
		bool ok =
			clone_restore_section(run, dumpfile, "pre-data", spec->drop_if_exists || resuming);
		step_end(run, "pre-data", ok, t0, &run->t_predata);
		if (!ok && spec->fail_fast)
		{
			*rc = EXIT_TASKS_FAILED;
			return false;
		}
	}
	return true;
}

/*
 * The task graph: data, indexes, constraints, vacuum, large objects,
 * materialized views. False: stop the run (*rc says why); *data_ok: every
 * task done.
 */
static bool
clone_data(CloneRun *run, PgConn *target, int steps, bool resuming, const char *dumpfile,
		   bool *data_ok, ExitCode *rc)
{
	double t0 = time_now();
	if ((steps & STEP_SCHEMA_POST) && (steps & STEP_TABLE_DATA))
	{
		clone_plan_matviews(run, dumpfile);
	}
	plan_build(run, steps);
	if (resuming)
	{
		plan_apply_resume(run, target);
	}
	if ((steps & STEP_TABLE_DATA) &&
		!pg_exec(target, "CREATE SCHEMA IF NOT EXISTS " CLONE_PROGRESS_SCHEMA "; "
						 "CREATE TABLE IF NOT EXISTS " CLONE_PROGRESS_TABLE
						 " (table_oid oid NOT NULL, part int NOT NULL, "
						 "PRIMARY KEY (table_oid, part))"))
	{
		*rc = EXIT_TARGET;
		return false;
	}
	step_begin(run, "data");
	*data_ok = sched_run(run);
	step_end(run, "data", *data_ok, t0, &run->t_data);
	if (signals_interrupted())
	{
		*rc = EXIT_INTERRUPTED;
		return false;
	}
	if (!*data_ok && run->spec->fail_fast)
	{
		*rc = EXIT_TASKS_FAILED;
		return false;
	}
	return true;
}

/* Sequences, then the post-data section. */
static void
clone_schema_post(CloneRun *run, PgConn *target, int steps, bool resuming, const char *dumpfile,
				  bool data_ok)
{
	double t0;
	if (steps & STEP_SEQUENCES)
	{
		t0 = time_now();
		step_begin(run, "sequences");
		bool ok = clone_copy_sequences(run, target);
		step_end(run, "sequences", ok, t0, &run->t_sequences);
	}
	if ((steps & STEP_SCHEMA_POST) && !(resuming && state_step_is_done(run->state, "post-data")))
	{
		t0 = time_now();
		/* redone after a crash: what the dead run restored already is no error */
		run->tolerate_existing = resuming && !run->partial;
		step_begin(run, "post-data");
		bool ok = clone_restore_section(run, dumpfile, "post-data", false);
		/*
		 * After failed copies, post-data (materialized view data above all) saw
		 * incomplete tables: it is not done, and a resume runs it again.
		 */
		if (ok && !data_ok)
		{
			/* not a failure of its own (the failed copies are listed): just not done */
			state_step_done(run->state, "post-data", false);
			run->t_postdata += time_now() - t0;
		}
		else
		{
			step_end(run, "post-data", ok, t0, &run->t_postdata);
		}
	}
}

/* Every step from the snapshot on; returns the run's exit code. */
static ExitCode
clone_steps(CloneRun *run, PgConn *target, int steps, bool resuming)
{
	const CloneSpec *spec = run->spec;
	ExitCode rc = clone_connect(run, target, steps, resuming);
	if (rc == EXIT_OK)
	{
		rc = clone_catalog(run, resuming);
	}
	if (rc != EXIT_OK)
	{
		return rc;
	}
	log_info("catalog: %d tables, %d indexes, %d foreign keys, %d sequences, %lld large objects",
			 run->cat.ntables, run->cat.nindexes, run->cat.nfkeys, run->cat.nsequences,
			 (long long) run->cat.nlargeobjects);
	clone_copy_format(run, target);
	if (run->filters.active && !clone_filter_dependents(run))
	{
		return EXIT_SOURCE;
	}
	rc = clone_check_servers(run, target, steps, resuming);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	clone_mark_started(run, resuming);

	char *dumpfile = xasprintf("%s/schema.dump", run->wd.schema_dir);
	bool data_ok = false;
	bool go = clone_schema_pre(run, steps, resuming, dumpfile, &rc);
	if (go && (steps & STEP_DB_PROPS) && !spec->skip_db_properties)
	{
		clone_copy_db_properties(run, target);
	}
	go = go && clone_data(run, target, steps, resuming, dumpfile, &data_ok, &rc);
	if (go)
	{
		clone_schema_post(run, target, steps, resuming, dumpfile, data_ok);
	}
	free(dumpfile);
	if (!go)
	{
		return rc;
	}
	rc = run->failures.n > 0 ? EXIT_TASKS_FAILED : EXIT_OK;
	if (signals_interrupted())
	{
		rc = EXIT_INTERRUPTED;
	}
	if (rc == EXIT_OK && (steps & STEP_TABLE_DATA))
	{
		pg_exec(target, "DROP SCHEMA IF EXISTS " CLONE_PROGRESS_SCHEMA " CASCADE");
	}
	return rc;
}

/* The summary, the failures and the run's status, whatever the outcome. */
static void
clone_finish(CloneRun *run, ExitCode rc)
{
	run->t_total = time_now() - run->t_start;
	if (run->state != NULL && run->graph.ntasks > 0 && run->spec->summary != NULL)
	{
		run->spec->summary(run, !run->spec->quiet);
	}
	if (run->failures.n > 0)
	{
		log_error("%d object(s) failed:", run->failures.n);
		for (int i = 0; i < run->failures.n; i++)
		{
			log_error("  %s", run->failures.items[i]);
		}
	}
	if (run->started)
	{
		state_set_meta(run->state, "run_status",
					   rc == EXIT_OK ? "done"
									 : (rc == EXIT_INTERRUPTED ? "interrupted" : "failed"));
	}
	if (rc == EXIT_OK)
	{
		log_info("done: the target is a copy of the source as of snapshot \"%s\" (%.1fs)",
				 run->snapshot ? run->snapshot : "?", run->t_total);
	}
}

ExitCode
clone_main_in(const CloneSpec *spec, int steps, WorkDir *wd, StateDb *state)
{
	CloneRun run;
	memset(&run, 0, sizeof(run));
	run.spec = spec;
	run.t_start = time_now();
	run.partial =
		(steps & STEP_ALL) != STEP_ALL && (steps & ~STEP_SEQUENCES) != (STEP_ALL & ~STEP_SEQUENCES);
	clone_toc_filter_init(&run);
	ExitCode rc = clone_open(&run, wd, state);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	PgConn target;
	memset(&target, 0, sizeof(target));
	bool resuming = false;
	rc = clone_prepare_state(&run, &resuming);
	if (rc == EXIT_OK)
	{
		rc = clone_steps(&run, &target, steps, resuming);
	}
	clone_finish(&run, rc);
	pg_disconnect(&target);
	pg_disconnect(&run.snap_conn);
	graph_free(&run.graph);
	catalog_free(&run.cat);
	free(run.snapshot);
	free(run.target_db);
	strlist_free(&run.failures);
	clone_schema_free(&run);
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
