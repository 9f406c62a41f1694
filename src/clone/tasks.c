/*
 * src/clone/tasks.c — what each task does on the servers.
 *
 * Copy workers hold a source connection inside the run's snapshot (one
 * REPEATABLE READ READ ONLY transaction for their whole life) and a target
 * connection. A part is one target transaction, which also inserts the part's
 * row in the target's progress table (CLONE_PROGRESS_TABLE): a resume reads
 * it to know exactly which parts committed.
 *
 * Called by the scheduler (sched.c) only, and never calling it back: a
 * function here runs SQL for one task and reports through the task (error,
 * bytes, rows) and its return value; the graph is the scheduler's.
 */
#include "clone/clone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A source connection inside the run's snapshot. */
static bool
clone_source_connect(CloneRun *run, PgConn *c, const char *app)
{
	if (!pg_connect(c, run->spec->source, "source", app, 30))
	{
		return false;
	}
	if (!pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
	{
		return false;
	}
	if (run->snapshot != NULL)
	{
		if (!pg_set_snapshot(c, run->snapshot))
		{
			log_hint(LOG_LEVEL_ERROR, "The snapshot must stay held by its exporting session "
									  "for the whole run.");
			return false;
		}
	}
	return true;
}

/* jit = off for the session, where the server knows the setting (11+) */
#define SQL_JIT_OFF                                                                     \
	"SELECT pg_catalog.set_config(s.name, 'off', false) FROM pg_catalog.pg_settings s " \
	"WHERE s.name = 'jit'"

static bool
worker_target(Worker *w)
{
	if (w->dst_ok && pg_is_connected(&w->dst))
	{
		return true;
	}
	if (w->dst.conn != NULL)
	{
		pg_disconnect(&w->dst);
	}
	w->dst_ok = pg_connect(&w->dst, w->run->spec->target, "target", w->role, 30);
	if (w->dst_ok)
	{
		/*
		 * index builds (any worker may run them) and VACUUM: sort in memory
		 * where the server allows it — at least 512MB per session, never less
		 * than the server's own setting
		 */
		pg_exec(&w->dst, "SELECT pg_catalog.set_config('maintenance_work_mem', "
						 "greatest(pg_catalog.pg_size_bytes(pg_catalog.current_setting("
						 "'maintenance_work_mem')) / 1024, 524288)::text || 'kB', false)");
		/*
		 * The queries of these sessions (a foreign key's validation, a
		 * materialized view's refresh) run once: compiling them with JIT costs
		 * more than it saves.
		 */
		pg_exec(&w->dst, SQL_JIT_OFF);
	}
	return w->dst_ok;
}

static bool
worker_source(Worker *w)
{
	if (w->src_ok && pg_is_connected(&w->src))
	{
		return true;
	}
	if (w->src.conn != NULL)
	{
		pg_disconnect(&w->src);
	}
	w->src_ok = clone_source_connect(w->run, &w->src, w->role);
	if (w->src_ok)
	{
		pg_exec(&w->src, SQL_JIT_OFF); /* a part's TID range scan, a sample */
	}
	return w->src_ok;
}

bool
task_lost_connection(Worker *w, const char **why)
{
	const PgConn *conns[] = { &w->dst, &w->src };
	for (int i = 0; i < 2; i++)
	{
		if (pg_error_class(conns[i]->sqlstate) == PG_ERROR_CONNECTION)
		{
			*why = conns[i]->errmsg ? conns[i]->errmsg : "connection lost";
			return true;
		}
	}
	return false;
}

bool
copy_committed(Worker *w, Task *t)
{
	if (!worker_target(w))
	{
		return false;
	}
	char oid[32], part[16];
	snprintf(oid, sizeof(oid), "%u", t->table->oid);
	snprintf(part, sizeof(part), "%d", t->part);
	char *v = NULL;
	const char *p[] = { oid, part };
	bool found = pg_query_value(&w->dst,
								"SELECT EXISTS (SELECT 1 FROM " CLONE_PROGRESS_TABLE
								" WHERE table_oid = $1 AND part = $2)",
								2, p, &v) &&
				 v != NULL && strcmp(v, "t") == 0;
	free(v);
	return found;
}

void
worker_close(Worker *w)
{
	if (w->src.conn != NULL)
	{
		pg_disconnect(&w->src);
	}
	if (w->dst.conn != NULL)
	{
		pg_disconnect(&w->dst);
	}
	w->src_ok = w->dst_ok = false;
}

static void
task_fail(Task *t, PgConn *c, const char *sql)
{
	free(t->error);
	t->error = xasprintf("%s: %s", c->side, c->errmsg ? c->errmsg : "failed");
	if (sql != NULL && t->sql == NULL)
	{
		t->sql = xstrdup(sql);
	}
}

static void
rollback_quietly(PgConn *c)
{
	if (c->conn != NULL && PQtransactionStatus(c->conn) != PQTRANS_IDLE)
	{
		PGresult *r = PQexec(c->conn, "ROLLBACK");
		PQclear(r);
	}
}

/* The task's sessions (the source's too, when it reads); a failure to connect is the task's. */
static bool
task_sessions(Worker *w, Task *t, bool source)
{
	if (source && !worker_source(w))
	{
		task_fail(t, &w->src, NULL);
		return false;
	}
	if (!worker_target(w))
	{
		task_fail(t, &w->dst, NULL);
		return false;
	}
	return true;
}

/* Does an object by this name exist on the target? (resume: built but not recorded) */
static bool
target_has(Worker *w, const char *sql, const char *a, const char *b)
{
	const char *p[] = { a, b };
	char *v = NULL;
	if (!pg_query_value(&w->dst, sql, b ? 2 : 1, p, &v))
	{
		return false;
	}
	bool has = v != NULL && strcmp(v, "t") == 0;
	free(v);
	return has;
}

/* TOAST data below this size is not worth a sample */
#define TOAST_SAMPLE_MIN (32LL * 1024 * 1024)

/*
 * Columns of a table whose big values are all stored uncompressed on the
 * source: the compression the source tried and gave up on (random tokens,
 * already-compressed files, encrypted data). The target would try again on
 * every value and give up again; storing them EXTERNAL for the copy skips
 * the attempt and leaves each value stored as on the source. The sample
 * reads tuple headers only (pg_column_size and pg_column_compression look
 * at the TOAST pointer, not the value), inside a savepoint so that nothing
 * can break the snapshot's transaction. Adds the quoted column names to out.
 */
static void
incompressible_columns(Worker *w, const CatTable *tb, StrList *out)
{
	const CloneSpec *o = w->run->spec;
	int64_t toast = tb->bytes - tb->relpages * 8192;
	PgFeatures f;
	pg_features(&w->src, &f);
	if (o->recompress_toast || toast < TOAST_SAMPLE_MIN || !f.column_compression)
	{
		return;
	}
	bool quiet = w->src.quiet_errors;
	w->src.quiet_errors = true; /* a failed sample is no error: the copy goes on without it */
	pg_clear_error(&w->src);
	if (!pg_exec(&w->src, "SAVEPOINT pgshift_sample"))
	{
		w->src.quiet_errors = quiet;
		return;
	}
	char oid[32];
	snprintf(oid, sizeof(oid), "%u", tb->oid);
	const char *p[] = { oid };
	PGresult *cols =
		pg_query(&w->src,
				 "SELECT pg_catalog.quote_ident(a.attname) FROM pg_catalog.pg_attribute a "
				 "WHERE a.attrelid = $1::pg_catalog.oid AND a.attnum > 0 AND NOT "
				 "a.attisdropped AND a.attstorage = 'x' AND a.attgenerated = '' "
				 "ORDER BY a.attnum",
				 1, p);
	if (cols != NULL && PQntuples(cols) > 0)
	{
		/* about 256 heap pages: enough rows, whatever the table's size */
		double pct = tb->relpages > 256 ? 25600.0 / (double) tb->relpages : 100.0;
		StrBuf q;
		sb_init(&q);
		sb_append(&q, "SELECT ");
		for (int i = 0; i < PQntuples(cols); i++)
		{
			const char *c = PQgetvalue(cols, i, 0);
			sb_printf(&q,
					  "%scount(*) FILTER (WHERE pg_catalog.pg_column_size(%s) > 1024), "
					  "count(pg_catalog.pg_column_compression(%s))",
					  i ? ", " : "", c, c);
		}
		sb_printf(&q, " FROM ONLY %s TABLESAMPLE SYSTEM (%.4f)", tb->qname, pct);
		PGresult *res = pg_query(&w->src, q.data, 0, NULL);
		for (int i = 0; res != NULL && PQntuples(res) == 1 && i < PQntuples(cols); i++)
		{
			long big = strtol(PQgetvalue(res, 0, 2 * i), NULL, 10);
			long compressed = strtol(PQgetvalue(res, 0, 2 * i + 1), NULL, 10);
			if (big >= 32 && compressed == 0)
			{
				strlist_add(out, PQgetvalue(cols, i, 0));
			}
		}
		PQclear(res);
		sb_free(&q);
	}
	PQclear(cols);
	if (w->src.errmsg != NULL)
	{
		log_debug("sampling %s for incompressible columns: %s", tb->qname, w->src.errmsg);
		pg_exec(&w->src, "ROLLBACK TO SAVEPOINT pgshift_sample");
	}
	pg_exec(&w->src, "RELEASE SAVEPOINT pgshift_sample");
	pg_clear_error(&w->src);
	w->src.quiet_errors = quiet;
}

/* ALTER TABLE ... ALTER COLUMN c SET STORAGE s, for each of the (quoted) columns */
static char *
set_storage_sql(const CatTable *tb, const StrList *columns, const char *storage)
{
	StrBuf sql;
	sb_init(&sql);
	sb_printf(&sql, "ALTER TABLE ONLY %s ", tb->qname);
	for (int i = 0; i < columns->n; i++)
	{
		sb_printf(&sql, "%sALTER COLUMN %s SET STORAGE %s", i ? ", " : "", columns->items[i],
				  storage);
	}
	return sb_steal(&sql);
}

static bool task_fkey(Worker *w, Task *t);
static bool task_vacuum(Worker *w, Task *t);

/*
 * Runs work claimed by copy t in t's target session: recorded as its own
 * task, its time counted as its own, its errors reported by the caller.
 */
static bool
run_claimed(Worker *w, Task *t, Task *f)
{
	task_record(w->run, f, TS_RUNNING, w->role);
	f->started = time_now();
	bool quiet = w->dst.quiet_errors;
	w->dst.quiet_errors = true;
	bool ok = f->kind == TASK_FKEY ? task_fkey(w, f) : task_vacuum(w, f);
	w->dst.quiet_errors = quiet;
	f->duration = time_now() - f->started;
	t->folded_seconds += f->duration; /* not the copy's */
	return ok;
}

/*
 * What of a table's finishing work may run before its indexes exist, asked of
 * the source (in the snapshot): ANALYZE, unless an expression index needs
 * building first (its statistics come from the index); and the foreign keys
 * that no index of the table leads with: those scan the whole table whatever
 * is built, while the others are checked later with an index-only scan of
 * the table merged with the referenced key, a fraction of the cost. When the
 * source cannot say, nothing.
 */
void
copy_ask_finishing(Worker *w, const Task *t, CopyFinishing *out)
{
	const CatTable *tb = t->table;
	bool *analyze = &out->analyze;
	Oid **fkeys = &out->fkeys;
	int *nfkeys = &out->nfkeys;
	char oid[32];
	snprintf(oid, sizeof(oid), "%u", tb->oid);
	const char *p[] = { oid };
	*analyze = false;
	*fkeys = NULL;
	*nfkeys = 0;
	/* in a savepoint of the snapshot transaction, which the next copy needs intact */
	bool quiet = w->src.quiet_errors;
	w->src.quiet_errors = true;
	if (!pg_exec(&w->src, "SAVEPOINT pgshift_ask"))
	{
		w->src.quiet_errors = quiet;
		return;
	}
	PGresult *res = pg_query(&w->src,
							 "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index "
							 "WHERE indrelid = $1::pg_catalog.oid AND indexprs IS NOT NULL)",
							 1, p);
	*analyze = res != NULL && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	/* a valid btree whose first key columns are the foreign key's, in order (INCLUDE: 11+) */
	char *sql = xasprintf(
		"SELECT c.oid FROM pg_catalog.pg_constraint c "
		"WHERE c.conrelid = $1::pg_catalog.oid AND c.contype = 'f' AND NOT EXISTS ("
		"SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
		"JOIN pg_catalog.pg_am am ON am.oid = ic.relam "
		"WHERE i.indrelid = c.conrelid AND i.indisvalid AND i.indpred IS NULL "
		"AND am.amname = 'btree' AND %s >= pg_catalog.array_length(c.conkey, 1) "
		"AND NOT EXISTS (SELECT 1 FROM pg_catalog.generate_subscripts(c.conkey, 1) s "
		"WHERE c.conkey[s] <> i.indkey[s - 1]))",
		w->run->source.indnkeyatts ? "i.indnkeyatts" : "i.indnatts");
	res = pg_query(&w->src, sql, 1, p);
	free(sql);
	if (res != NULL && PQntuples(res) > 0)
	{
		*fkeys = xcalloc((size_t) PQntuples(res), sizeof(Oid));
		for (int i = 0; i < PQntuples(res); i++)
		{
			(*fkeys)[(*nfkeys)++] = (Oid) strtoul(PQgetvalue(res, i, 0), NULL, 10);
		}
	}
	PQclear(res);
	if (w->src.errmsg != NULL)
	{
		log_debug("asking the source what of %s may finish with its rows: %s", tb->qname,
				  w->src.errmsg);
		*analyze = false;
		*nfkeys = 0;
		pg_exec(&w->src, "ROLLBACK TO SAVEPOINT pgshift_ask");
	}
	pg_exec(&w->src, "RELEASE SAVEPOINT pgshift_ask");
	pg_clear_error(&w->src);
	w->src.quiet_errors = quiet;
}

/*
 * A single-part table loaded WITH (FREEZE), its transaction still open: the
 * finishing work that gains nothing from its indexes (copy_ask_finishing)
 * and waits for nothing else (graph_claim_finishing) is claimed by the
 * scheduler. Its foreign keys are checked here, in this transaction, and
 * commit with the rows; its ANALYZE runs right after the COMMIT
 * (copy_analyze), in this session, before the index builds are released:
 * inside the transaction it would count the rows its own transaction
 * inserted as changed after the analyze, and autovacuum would analyze the
 * table again. The table is locked by the copy anyway; after the index
 * builds, each would lock it in turn at the end of the run, on one core. A
 * failure only gives the work back to the scheduler (*gave_back): the rows
 * are kept (savepoint). False only when the target session broke.
 */
bool
copy_fold_foreign_keys(Worker *w, Task *t, bool *gave_back)
{
	*gave_back = false;
	int nkeys = 0;
	for (int i = 0; i < t->nfolded; i++)
	{
		nkeys += t->folded[i]->kind == TASK_FKEY;
	}
	if (nkeys == 0)
	{
		return true;
	}
	if (!pg_exec(&w->dst, "SAVEPOINT pgshift_finish"))
	{
		task_fail(t, &w->dst, NULL);
		return false; /* the caller rolls back, then gives the claims back */
	}
	bool ok = true;
	Task *failed = NULL;
	for (int i = 0; i < t->nfolded && ok; i++)
	{
		if (t->folded[i]->kind == TASK_FKEY)
		{
			ok = run_claimed(w, t, t->folded[i]);
			failed = ok ? NULL : t->folded[i];
		}
	}
	if (ok)
	{
		ok = pg_exec(&w->dst, "RELEASE SAVEPOINT pgshift_finish");
	}
	else
	{
		if (!signals_interrupted())
		{
			char *label = task_label(failed);
			log_warn("foreign key %s could not commit with the rows of %s, left to run on its "
					 "own: %s",
					 label, t->table->qname, failed->error ? failed->error : "failed");
			free(label);
		}
		pg_clear_error(&w->dst);
		ok = pg_exec(&w->dst, "ROLLBACK TO SAVEPOINT pgshift_finish");
		*gave_back = true;
	}
	if (!ok)
	{
		task_fail(t, &w->dst, NULL);
	}
	return ok;
}

/*
 * After a copy's COMMIT: its counts of inserted rows go to the server's
 * statistics now rather than within the second (15+), so that an ANALYZE
 * of the table — this session's, or another's soon after — finds them there
 * and leaves no "changes since analyze" behind for autovacuum; then the
 * ANALYZE claimed with the rows, if any. A failure is returned, for the
 * scheduler to take it back.
 */
Task *
copy_analyze(Worker *w, Task *t)
{
	CloneRun *run = w->run;
	if (!run->target.stat_force_next_flush)
	{
		return NULL;
	}
	pg_exec(&w->dst, "SELECT pg_catalog.pg_stat_force_next_flush()");
	pg_clear_error(&w->dst);
	for (int i = 0; i < t->nfolded; i++)
	{
		Task *f = t->folded[i];
		if (f->kind != TASK_VACUUM)
		{
			continue;
		}
		if (!run_claimed(w, t, f))
		{
			if (!signals_interrupted())
			{
				log_warn("ANALYZE of %s after its copy failed, left to run on its own: %s",
						 t->table->qname, f->error ? f->error : "failed");
			}
			pg_clear_error(&w->dst);
			return f;
		}
		break;
	}
	return NULL;
}

/* The COPY statements of a part: out on the source, in on the target. */
static void
copy_statements(const CloneRun *run, const Task *t, StrBuf *out, StrBuf *in)
{
	const CatTable *tb = t->table;
	bool binary = run->binary_ok && tb->binary_ok;
	bool single = t->nparts == 1;
	bool freeze = single && run->frozen_ok;
	const char *cols = tb->copy_columns;
	if (single)
	{
		sb_printf(out, "COPY %s%s%s%s TO STDOUT", tb->qname, cols ? " (" : "", cols ? cols : "",
				  cols ? ")" : "");
	}
	else
	{
		sb_printf(out, "COPY (SELECT %s FROM ONLY %s WHERE ctid >= '(%lld,0)'::pg_catalog.tid",
				  cols ? cols : "", tb->qname, (long long) t->min_block);
		if (t->max_block >= 0)
		{
			sb_printf(out, " AND ctid < '(%lld,0)'::pg_catalog.tid", (long long) t->max_block);
		}
		sb_append(out, ") TO STDOUT");
	}
	sb_printf(in, "COPY %s%s%s%s FROM STDIN", tb->qname, cols ? " (" : "", cols ? cols : "",
			  cols ? ")" : "");
	if (binary && freeze)
	{
		sb_append(out, " WITH (FORMAT binary)");
		sb_append(in, " WITH (FORMAT binary, FREEZE)");
	}
	else if (binary)
	{
		sb_append(out, " WITH (FORMAT binary)");
		sb_append(in, " WITH (FORMAT binary)");
	}
	else if (freeze)
	{
		sb_append(in, " WITH (FREEZE)");
	}
}

/*
 * Skipping a doomed compression needs ALTER TABLE, so only where the
 * table is truncated in the same transaction (one part) and ours to alter;
 * the storage is back to EXTENDED before the COMMIT, so no one ever sees
 * the change, whatever happens to this run.
 */
static void
copy_plain_columns(Worker *w, const Task *t, StrList *plain)
{
	if (t->nparts != 1)
	{
		return;
	}
	incompressible_columns(w, t->table, plain);
	if (plain->n > 0 &&
		!target_has(w,
					"SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE') FROM pg_catalog.pg_class c "
					"WHERE c.oid = pg_catalog.to_regclass($1)",
					t->table->qname, NULL))
	{
		strlist_free(plain);
	}
}

/* A statement of the copy's target transaction; its failure is the task's. */
static bool
copy_exec(Worker *w, Task *t, char *sql)
{
	bool ok = pg_exec(&w->dst, sql);
	if (!ok)
	{
		task_fail(t, &w->dst, sql);
	}
	free(sql);
	return ok;
}

/* The rows, relayed from the source's COPY to the target's in the open transaction. */
static bool
copy_relay(Worker *w, Task *t, const StrBuf *out, const StrBuf *in)
{
	CopyStats st;
	bool ok = pg_copy_pipe(&w->src, out->data, &w->dst, in->data, &st, &w->run->progress_bytes);
	t->bytes = st.bytes;
	t->rows = st.rows;
	if (!ok)
	{
		if (w->dst.errmsg != NULL)
		{
			task_fail(t, &w->dst, in->data);
		}
		else
		{
			task_fail(t, &w->src, out->data);
		}
	}
	return ok;
}

bool
copy_rows(Worker *w, Task *t)
{
	CatTable *tb = t->table;
	if (!task_sessions(w, t, true))
	{
		return false;
	}
	StrBuf out, in;
	sb_init(&out);
	sb_init(&in);
	copy_statements(w->run, t, &out, &in);
	StrList plain = { 0 };
	copy_plain_columns(w, t, &plain);

	bool ok = pg_exec(&w->dst, "BEGIN");
	if (ok && t->nparts == 1)
	{
		ok = copy_exec(w, t, xasprintf("TRUNCATE ONLY %s", tb->qname));
	}
	if (ok && plain.n > 0)
	{
		ok = copy_exec(w, t, set_storage_sql(tb, &plain, "EXTERNAL"));
		if (ok)
		{
			log_info("copying %s: %d column(s) stored uncompressed on the source in every sampled "
					 "row, copied without a compression attempt (--recompress-toast to try)",
					 tb->qname, plain.n);
		}
	}
	ok = ok && copy_relay(w, t, &out, &in);
	if (ok && plain.n > 0)
	{
		ok = copy_exec(w, t, set_storage_sql(tb, &plain, "EXTENDED"));
	}
	strlist_free(&plain);
	sb_free(&out);
	sb_free(&in);
	if (!ok)
	{
		copy_abort(w, t);
	}
	return ok;
}

bool
copy_commit(Worker *w, Task *t)
{
	/*
	 * The part's marker commits with its rows: a resume that finds it knows
	 * the part is on the target, whatever happened to pgshift or the
	 * target after the COMMIT.
	 */
	char oid[32], part[16];
	snprintf(oid, sizeof(oid), "%u", t->table->oid);
	snprintf(part, sizeof(part), "%d", t->part);
	const char *p[] = { oid, part };
	bool ok = pg_exec_params(&w->dst,
							 "INSERT INTO " CLONE_PROGRESS_TABLE
							 " (table_oid, part) VALUES ($1, $2) ON CONFLICT DO NOTHING",
							 2, p);
	if (!ok)
	{
		task_fail(t, &w->dst, NULL);
		return false;
	}
	if (!pg_exec(&w->dst, "COMMIT"))
	{
		task_fail(t, &w->dst, "COMMIT");
		return false;
	}
	log_info("copied %s%s: %lld rows", t->table->qname, t->nparts > 1 ? " (part)" : "",
			 (long long) t->rows);
	return true;
}

void
copy_abort(Worker *w, Task *t)
{
	if (t->error == NULL)
	{
		task_fail(t, &w->dst, NULL);
	}
	rollback_quietly(&w->dst);
	/* the source transaction holds the snapshot: if it broke, reconnect next time */
	if (w->src.conn != NULL && PQtransactionStatus(w->src.conn) != PQTRANS_INTRANS)
	{
		w->src_ok = false;
	}
}

/* Does the target table have a constraint of that name (built by a dead run)? */
static bool
target_has_constraint(Worker *w, const CatTable *tb, const char *conname)
{
	return target_has(w,
					  "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = "
					  "pg_catalog.to_regclass($1) AND conname = $2)",
					  tb->qname, conname);
}

static bool
run_sql(Worker *w, Task *t, const char *sql)
{
	if (!pg_exec(&w->dst, sql))
	{
		task_fail(t, &w->dst, sql);
		return false;
	}
	return true;
}

static bool
task_index(Worker *w, Task *t)
{
	CatIndex *x = t->index;
	if (!task_sessions(w, t, false))
	{
		return false;
	}
	char *qidx = pg_qualname(x->nspname, x->relname);
	bool ok = true;
	if (target_has(w, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", qidx, NULL))
	{
		/* built by a run that died before recording it */
		log_info("index %s exists already on the target", qidx);
	}
	else
	{
		/*
		 * Parallel workers for this build only on job slots nobody uses: with
		 * every slot busy they would share the same cores with the other
		 * sessions, and add the cost of merging their sorts.
		 */
		char *par =
			xasprintf("SELECT pg_catalog.set_config('max_parallel_maintenance_workers', "
					  "least(s.reset_val::int, %d)::text, false) FROM pg_catalog.pg_settings s "
					  "WHERE s.name = 'max_parallel_maintenance_workers'",
					  t->spare > 0 ? t->spare : 0);
		ok = run_sql(w, t, par);
		free(par);
		if (ok)
		{
			ok = run_sql(w, t, x->indexdef);
		}
		if (ok)
		{
			log_info("created index %s", qidx);
		}
	}
	/* idempotent, so also after a resume found the index built */
	if (ok && x->isclustered && x->contype == 0)
	{
		char *qi = pg_quote_ident(x->relname);
		char *sql = xasprintf("ALTER TABLE %s CLUSTER ON %s", t->table->qname, qi);
		ok = run_sql(w, t, sql);
		free(sql);
		free(qi);
	}
	if (ok && x->isreplident && x->contype == 0)
	{
		char *qi = pg_quote_ident(x->relname);
		char *sql =
			xasprintf("ALTER TABLE ONLY %s REPLICA IDENTITY USING INDEX %s", t->table->qname, qi);
		ok = run_sql(w, t, sql);
		free(sql);
		free(qi);
	}
	free(qidx);
	return ok;
}

static bool
task_constraint(Worker *w, Task *t)
{
	CatIndex *x = t->index;
	if (!task_sessions(w, t, false))
	{
		return false;
	}
	char *qcon = pg_quote_ident(x->conname);
	char *qidx = pg_quote_ident(x->relname);
	StrBuf sql;
	sb_init(&sql);
	bool exists = target_has_constraint(w, t->table, x->conname);
	if (exists)
	{
		log_info("constraint \"%s\" of %s exists already on the target", x->conname,
				 t->table->qname);
	}
	else if (x->contype == 'x')
	{
		sb_printf(&sql, "ALTER TABLE ONLY %s ADD CONSTRAINT %s %s", t->table->qname, qcon,
				  x->condef);
	}
	else
	{
		sb_printf(&sql, "ALTER TABLE ONLY %s ADD CONSTRAINT %s %s USING INDEX %s", t->table->qname,
				  qcon, x->contype == 'p' ? "PRIMARY KEY" : "UNIQUE", qidx);
		if (x->condeferrable)
		{
			sb_append(&sql, " DEFERRABLE");
		}
		if (x->condeferred)
		{
			sb_append(&sql, " INITIALLY DEFERRED");
		}
	}
	bool ok = exists || run_sql(w, t, sql.data);
	if (ok && x->isclustered)
	{
		sb_reset(&sql);
		sb_printf(&sql, "ALTER TABLE %s CLUSTER ON %s", t->table->qname, qcon);
		ok = run_sql(w, t, sql.data);
	}
	if (ok && x->isreplident)
	{
		sb_reset(&sql);
		sb_printf(&sql, "ALTER TABLE ONLY %s REPLICA IDENTITY USING INDEX %s", t->table->qname,
				  qcon);
		ok = run_sql(w, t, sql.data);
	}
	if (ok && !exists)
	{
		log_info("added constraint %s on %s", qcon, t->table->qname);
	}
	sb_free(&sql);
	free(qcon);
	free(qidx);
	return ok;
}

static bool
task_fkey(Worker *w, Task *t)
{
	CatFkey *f = t->fkey;
	if (!task_sessions(w, t, false))
	{
		return false;
	}
	if (target_has_constraint(w, t->table, f->conname))
	{
		return true;
	}
	char *qcon = pg_quote_ident(f->conname);
	/* on a partitioned table, the constraint is created (and checked) on every partition */
	char *sql =
		xasprintf("ALTER TABLE %s%s ADD CONSTRAINT %s %s", t->table->relkind == 'p' ? "" : "ONLY ",
				  t->table->qname, qcon, f->condef);
	bool ok = run_sql(w, t, sql);
	if (ok)
	{
		log_info("added foreign key %s on %s", qcon, t->table->qname);
	}
	free(sql);
	free(qcon);
	return ok;
}

static bool
task_vacuum(Worker *w, Task *t)
{
	const CloneSpec *o = w->run->spec;
	if (!task_sessions(w, t, false))
	{
		return false;
	}
	/* a single part was loaded WITH (FREEZE): rows are frozen and visible already */
	bool need_vacuum = !o->skip_vacuum && !(t->table->nparts == 1 && w->run->frozen_ok);
	bool need_analyze = !o->skip_analyze;
	char *sql;
	if (need_vacuum && need_analyze)
	{
		sql = xasprintf("VACUUM (ANALYZE) %s", t->table->qname);
	}
	else if (need_vacuum)
	{
		sql = xasprintf("VACUUM %s", t->table->qname);
	}
	else if (need_analyze)
	{
		sql = xasprintf("ANALYZE %s", t->table->qname);
	}
	else
	{
		return true;
	}
	bool ok = run_sql(w, t, sql);
	free(sql);
	return ok;
}

#define LO_CHUNK (1024 * 1024)

static bool
task_blobs(Worker *w, Task *t)
{
	CloneRun *run = w->run;
	if (!task_sessions(w, t, true))
	{
		return false;
	}
	char lo[32], hi[32];
	snprintf(lo, sizeof(lo), "%u", t->lob->min_oid);
	snprintf(hi, sizeof(hi), "%u", t->lob->max_oid);
	const char *p[] = { lo, hi };
	PGresult *oids =
		pg_query(&w->src,
				 "SELECT oid FROM pg_catalog.pg_largeobject_metadata WHERE oid BETWEEN $1::oid AND "
				 "$2::oid ORDER BY oid",
				 2, p);
	if (oids == NULL)
	{
		task_fail(t, &w->src, NULL);
		return false;
	}
	bool ok = pg_exec(&w->dst, "BEGIN");
	for (int i = 0; ok && i < PQntuples(oids); i++)
	{
		const char *oid = PQgetvalue(oids, i, 0);
		/*
		 * The object itself came with pre-data, empty. A batch is one target
		 * transaction, and lo_put at the same offsets is idempotent, so a
		 * retried batch writes the same bytes again.
		 */
		for (int64_t off = 0;; off += LO_CHUNK)
		{
			char offs[32], lens[32];
			snprintf(offs, sizeof(offs), "%lld", (long long) off);
			snprintf(lens, sizeof(lens), "%d", LO_CHUNK);
			const char *gp[] = { oid, offs, lens };
			PGresult *r =
				PQexecParams(w->src.conn, "SELECT pg_catalog.lo_get($1::oid, $2::bigint, $3::int)",
							 3, NULL, gp, NULL, NULL, 1);
			if (PQresultStatus(r) != PGRES_TUPLES_OK)
			{
				pg_set_error(&w->src, r, "while reading a large object");
				PQclear(r);
				task_fail(t, &w->src, NULL);
				ok = false;
				break;
			}
			int len = PQgetlength(r, 0, 0);
			if (len > 0)
			{
				const char *pv[] = { oid, offs, PQgetvalue(r, 0, 0) };
				int plen[] = { 0, 0, len };
				int pfmt[] = { 0, 0, 1 };
				PGresult *wr = PQexecParams(
					w->dst.conn, "SELECT pg_catalog.lo_put($1::oid, $2::bigint, $3::bytea)", 3,
					NULL, pv, plen, pfmt, 0);
				if (PQresultStatus(wr) != PGRES_TUPLES_OK)
				{
					pg_set_error(&w->dst, wr, "while writing a large object");
					task_fail(t, &w->dst, NULL);
					ok = false;
				}
				PQclear(wr);
				t->bytes += len;
				__atomic_fetch_add(&run->progress_bytes, len, __ATOMIC_RELAXED);
			}
			PQclear(r);
			if (!ok || len < LO_CHUNK)
			{
				break;
			}
		}
		t->rows++;
	}
	PQclear(oids);
	if (ok)
	{
		ok = pg_exec(&w->dst, "COMMIT");
		if (!ok)
		{
			task_fail(t, &w->dst, "COMMIT");
		}
	}
	if (!ok)
	{
		rollback_quietly(&w->dst);
	}
	return ok;
}

/*
 * The materialized view's data, as pg_restore's MATERIALIZED VIEW DATA entry
 * would have it at the very end of post-data: the query runs as the view's
 * owner, on tables that hold every row already.
 */
static bool
task_matview(Worker *w, Task *t)
{
	if (!task_sessions(w, t, false))
	{
		return false;
	}
	char *sql = xasprintf("REFRESH MATERIALIZED VIEW %s", t->mv_name);
	bool ok = run_sql(w, t, sql);
	if (ok)
	{
		log_info("refreshed materialized view %s", t->mv_name);
	}
	free(sql);
	return ok;
}

bool
task_execute(Worker *w, Task *t)
{
	switch (t->kind)
	{
		case TASK_INDEX:
			return task_index(w, t);
		case TASK_CONSTRAINT:
			return task_constraint(w, t);
		case TASK_FKEY:
			return task_fkey(w, t);
		case TASK_VACUUM:
			return task_vacuum(w, t);
		case TASK_BLOBS:
			return task_blobs(w, t);
		case TASK_MATVIEW:
			return task_matview(w, t);
		case TASK_COPY: /* in phases, by the scheduler (copy_rows ...) */
		case TASK_NKINDS:
			break;
	}
	return false;
}
