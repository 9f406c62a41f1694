/*
 * src/clone/sched.c — worker pools running the task graph.
 *
 * One mutex and one condition variable guard the graph. A worker takes the
 * ready task of its pool with the highest rank (plan.c: its cost plus the
 * longest chain of work waiting for it) whose table locks would not wait for
 * a running task's, runs it without the lock, then marks it done and releases
 * its dependents. A failed task skips everything that depends on it; with
 * --fail-fast it stops the run and cancels the queries in flight. Every
 * change is mirrored in state.db's tasks table (plan.c's task_record).
 *
 * This file alone owns the graph's state: tasks.c runs one task (or one
 * phase of a COPY) on the servers and returns, and the graph changes that
 * come between a copy's phases (claiming the work that commits with its
 * rows, giving it back) are made here. So sched.c calls tasks.c and never
 * the reverse: the order of locks and state changes is read in one file.
 */
#include "clone/clone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Under the graph lock: a finished task releases (or skips) its dependents. */
static void
graph_release(CloneRun *run, Task *t)
{
	Graph *g = &run->graph;
	for (int i = 0; i < t->ndependents; i++)
	{
		Task *d = t->dependents[i];
		if (d->status != TS_WAITING)
		{
			continue;
		}
		if (t->status == TS_FAILED || t->status == TS_SKIPPED)
		{
			d->status = TS_SKIPPED;
			g->unfinished--;
			char *label = task_label(d);
			char *why = task_label(t);
			log_warn("skipping %s %s: %s %s did not complete", task_kind_name(d->kind), label,
					 task_kind_name(t->kind), why);
			free(label);
			free(why);
			graph_release(run, d);
			continue;
		}
		if (--d->ndeps_left == 0)
		{
			d->status = TS_READY;
		}
	}
}

bool
tasks_conflict(const Task *a, const Task *b)
{
	if (a->lock_shared && b->lock_shared)
	{
		return false;
	}
	for (int i = 0; i < a->nlock_oids; i++)
	{
		for (int j = 0; j < b->nlock_oids; j++)
		{
			if (a->lock_oids[i] == b->lock_oids[j])
			{
				return true;
			}
		}
	}
	return false;
}

/*
 * The ready task of highest rank among those of the pool (or of the index
 * pool, for a copy worker helping there) that would not wait for a lock held
 * by a running task: a worker blocked on a lock holds a job slot and does
 * nothing, while something else could run.
 */
static Task *
pick(Graph *g, PoolKind pool, Task *const *running, int nrunning, bool hold)
{
	Task *best = NULL;
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *t = g->tasks[i];
		if (t->pool != pool || t->status != TS_READY ||
			(best != NULL && t->priority <= best->priority))
		{
			continue;
		}
		if (hold && t->filler && g->filler_left - t->cost < g->reserve)
		{
			continue; /* kept for the end of the run */
		}
		bool blocked = false;
		for (int r = 0; r < nrunning && !blocked; r++)
		{
			blocked = tasks_conflict(t, running[r]);
		}
		if (!blocked)
		{
			best = t;
		}
	}
	return best;
}

static Task *
graph_take(Graph *g, PoolKind pool)
{
	pthread_mutex_lock(&g->lock);
	for (;;)
	{
		if (g->stop || g->unfinished == 0 || signals_interrupted())
		{
			pthread_mutex_unlock(&g->lock);
			return NULL;
		}
		Task **running_locks = g->running_buf;
		int copies_left = 0, copies_running = 0, copies_streaming = 0, running = 0, nlocking = 0;
		for (int i = 0; i < g->ntasks; i++)
		{
			Task *t = g->tasks[i];
			if (t->kind == TASK_COPY && (t->status == TS_WAITING || t->status == TS_READY))
			{
				copies_left++;
			}
			if (t->kind == TASK_COPY && t->status == TS_RUNNING)
			{
				copies_running++;
				copies_streaming += !t->finishing;
			}
			if (t->status == TS_RUNNING && t->pool != POOL_BLOB && !t->claimed)
			{
				running++;
			}
			if (t->status == TS_RUNNING && t->nlock_oids > 0)
			{
				running_locks[nlocking++] = t;
			}
		}
		/*
		 * Once every copy is done, the run is index builds, foreign keys and
		 * ANALYZE on the biggest tables: all workers together keep to
		 * max(table-jobs, index-jobs) sessions (copy workers help the index
		 * pool, so the index pool alone must not add its own on top).
		 */
		Task *best = NULL;
		if (!(pool == POOL_INDEX && copies_left == 0 && copies_running == 0 &&
			  running >= g->max_running))
		{
			best = pick(g, pool, running_locks, nlocking, copies_left + copies_streaming > 0);
		}
		/*
		 * Never idle while work remains: once no copy is left to start, a copy
		 * worker with nothing of its own takes index work (the tail of a run is
		 * the biggest tables' indexes) — as long as fewer sessions than the
		 * larger of --table-jobs and --index-jobs are busy: more builds at once
		 * than that only share the same cores and memory bandwidth, and each
		 * one finishes later.
		 */
		if (best == NULL && pool == POOL_COPY && copies_left == 0 && running < g->max_running)
		{
			best = pick(g, POOL_INDEX, running_locks, nlocking, copies_streaming > 0);
		}
		if (best != NULL)
		{
			if (best->filler)
			{
				g->filler_left -= best->cost;
			}
			best->spare = g->max_running - running - 1;
			best->status = TS_RUNNING;
			pthread_mutex_unlock(&g->lock);
			return best;
		}
		/* nothing of ours ready: wait for a release (or a stop) */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&g->cond, &g->lock, &ts);
	}
}

static bool
oid_in(Oid oid, const Oid *oids, int n)
{
	for (int i = 0; i < n; i++)
	{
		if (oids[i] == oid)
		{
			return true;
		}
	}
	return false;
}

/*
 * Under the graph lock: can finishing task f of the copied table tb commit
 * with its rows? Only if everything it waits for besides that table's own
 * work (its rows, its keys) is done, and no running task holds a lock it
 * would wait for: the copy's transaction holds its table exclusively while
 * it waits.
 */
static bool
foldable(Graph *g, const Task *copy, const Task *f)
{
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *d = g->tasks[i];
		if (d == copy || d->status == TS_DONE)
		{
			continue;
		}
		/* (what this copy claimed already runs in its transaction, in turn) */
		bool ours = d->claimed && d->table == copy->table;
		if (d->status == TS_RUNNING && !ours && tasks_conflict(d, f))
		{
			return false;
		}
		for (int j = 0; j < d->ndependents; j++)
		{
			if (d->dependents[j] == f && d->table != copy->table)
			{
				return false;
			}
		}
	}
	return true;
}

/*
 * A copy worker whose single-part, frozen table has all its rows in (its
 * transaction still open) claims the table's work that can commit with
 * them: ANALYZE (when no expression index needs building first, told by
 * analyze), then the foreign keys from this table to tables whose rows and
 * keys are in. Their scans then run while the table is still locked by the
 * copy and before its index builds, not one after the other at the end of
 * the run when the server serialises them on the table's lock. Claimed
 * tasks are marked running; graph_finish_claimed or graph_unclaim settles
 * them. Marks the copy as finishing: fillers kept back are released.
 */
void
graph_claim_finishing(CloneRun *run, Task *copy, bool analyze, const Oid *fkeys, int nfkeys)
{
	Graph *g = &run->graph;
	pthread_mutex_lock(&g->lock);
	copy->finishing = true;
	copy->nfolded = 0;
	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < g->ntasks; i++)
		{
			Task *f = g->tasks[i];
			bool want = pass == 0
							? (f->kind == TASK_VACUUM && analyze)
							: (f->kind == TASK_FKEY && f->fkey->ref_table_oid != copy->table->oid &&
							   oid_in(f->fkey->oid, fkeys, nfkeys));
			if (!want || f->table != copy->table || f->status != TS_WAITING ||
				!foldable(g, copy, f))
			{
				continue;
			}
			if (copy->folded == NULL)
			{
				/* at most its ANALYZE and the foreign keys the source named */
				copy->folded = xcalloc((size_t) nfkeys + 1, sizeof(Task *));
			}
			f->status = TS_RUNNING;
			f->claimed = true;
			if (f->filler)
			{
				g->filler_left -= f->cost;
			}
			copy->folded[copy->nfolded++] = f;
		}
	}
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/*
 * The claimed work (or only one task of it) did not commit: back to waiting
 * for the table's tasks.
 */
void
graph_unclaim(CloneRun *run, Task *copy, const Task *only)
{
	Graph *g = &run->graph;
	Task **back = xcalloc((size_t) copy->nfolded + 1, sizeof(Task *));
	int nback = 0, keep = 0;
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < copy->nfolded; i++)
	{
		Task *f = copy->folded[i];
		if (only != NULL && f != only)
		{
			copy->folded[keep++] = f;
			continue;
		}
		f->status = TS_WAITING;
		f->claimed = false;
		if (f->filler)
		{
			g->filler_left += f->cost;
		}
		free(f->error);
		free(f->sql);
		f->error = f->sql = NULL;
		back[nback++] = f;
	}
	copy->nfolded = keep;
	pthread_mutex_unlock(&g->lock);
	for (int i = 0; i < nback; i++)
	{
		task_record(run, back[i], TS_WAITING, NULL);
	}
	free(back);
}

static void graph_finish(CloneRun *run, Task *t, bool ok);

/* The copy committed: the work it claimed is done too. */
void
graph_finish_claimed(CloneRun *run, Task *copy, const char *worker)
{
	for (int i = 0; i < copy->nfolded; i++)
	{
		Task *f = copy->folded[i];
		task_record(run, f, TS_DONE, worker);
		graph_finish(run, f, true);
	}
	copy->nfolded = 0;
}

static void
graph_finish(CloneRun *run, Task *t, bool ok)
{
	Graph *g = &run->graph;
	pthread_mutex_lock(&g->lock);
	t->status = ok ? TS_DONE : TS_FAILED;
	g->unfinished--;
	if (!ok)
	{
		g->nfailed++;
		if (run->spec->fail_fast)
		{
			g->stop = true;
		}
	}
	graph_release(run, t);
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	if (!ok && run->spec->fail_fast)
	{
		log_error("stopping the run at the first failure (--fail-fast)");
		pg_cancel_all(NULL);
	}
}

/*
 * A COPY part, in the phases of tasks.c between which this file settles the
 * graph: the rows (their target transaction left open); for a single part
 * loaded WITH (FREEZE), the finishing work claimed to commit with them
 * (graph_claim_finishing) and its foreign keys checked in that transaction;
 * the COMMIT; then the claimed ANALYZE. What did not commit goes back to the
 * graph (graph_unclaim), what did is done (graph_finish_claimed).
 */
static bool
sched_run_copy(Worker *w, Task *t)
{
	CloneRun *run = w->run;
	if (!copy_rows(w, t))
	{
		return false;
	}
	bool ok = true;
	if (t->nparts == 1 && run->frozen_ok)
	{
		CopyFinishing fin;
		copy_ask_finishing(w, t, &fin);
		/* (the flush that makes ANALYZE see the COMMIT's counts: 15+) */
		graph_claim_finishing(
			run, t, fin.analyze && !run->spec->skip_analyze && run->target.stat_force_next_flush,
			fin.fkeys, fin.nfkeys);
		free(fin.fkeys);
		bool gave_back = false;
		ok = copy_fold_foreign_keys(w, t, &gave_back);
		if (gave_back)
		{
			/* after the rollback to the savepoint: until then the session holds their locks */
			graph_unclaim(run, t, NULL);
		}
	}
	if (ok)
	{
		ok = copy_commit(w, t);
	}
	if (!ok)
	{
		copy_abort(w, t);
		graph_unclaim(run, t, NULL); /* what was to commit with the rows did not */
		return false;
	}
	Task *failed = copy_analyze(w, t);
	if (failed != NULL)
	{
		graph_unclaim(run, t, failed);
	}
	graph_finish_claimed(run, t, w->role);
	return true;
}

/*
 * A task, attempted again (up to TASK_ATTEMPTS in all, on new sessions)
 * when it failed because a connection was lost: every task is idempotent —
 * a COPY part is one transaction (a single part truncates first; a split
 * part whose progress row is on the target did commit), and an index or
 * constraint found built is taken as done, as on a resume.
 */
#define TASK_ATTEMPTS 3

static bool
run_stopping(CloneRun *run)
{
	pthread_mutex_lock(&run->graph.lock);
	bool stop = run->graph.stop;
	pthread_mutex_unlock(&run->graph.lock);
	return stop;
}

static bool
sched_run_task(Worker *w, Task *t)
{
	for (int attempt = 1;; attempt++)
	{
		pg_clear_error(&w->src);
		pg_clear_error(&w->dst);
		bool ok = t->kind == TASK_COPY ? sched_run_copy(w, t) : task_execute(w, t);
		const char *why = NULL;
		if (ok || attempt >= TASK_ATTEMPTS || signals_interrupted() || run_stopping(w->run) ||
			!task_lost_connection(w, &why))
		{
			return ok;
		}
		char *label = task_label(t);
		log_warn("%s %s: connection lost (%s): trying again in %ds (attempt %d of %d)",
				 task_kind_name(t->kind), label, why, attempt, attempt + 1, TASK_ATTEMPTS);
		free(label);
		worker_close(w);
		sleep((unsigned int) attempt);
		if (t->kind == TASK_COPY && copy_committed(w, t))
		{
			log_info("copied %s%s: its COMMIT went through before the connection was lost",
					 t->table->qname, t->nparts > 1 ? " (part)" : "");
			return true;
		}
		free(t->error);
		t->error = NULL;
		free(t->sql);
		t->sql = NULL;
	}
}

static void *
worker_main(void *arg)
{
	Worker *w = arg;
	CloneRun *run = w->run;
	log_set_role(w->role);
	Task *t;
	while ((t = graph_take(&run->graph, w->pool)) != NULL)
	{
		task_record(run, t, TS_RUNNING, w->role);
		t->started = time_now();
		t->folded_seconds = 0.0;
		bool ok = sched_run_task(w, t);
		t->duration = time_now() - t->started - t->folded_seconds;
		if (!ok && t->error == NULL)
		{
			t->error = xstrdup("failed");
		}
		task_record(run, t, ok ? TS_DONE : TS_FAILED, w->role);
		if (!ok)
		{
			char *label = task_label(t);
			pthread_mutex_lock(&run->graph.lock);
			strlist_add_owned(&run->failures,
							  xasprintf("%s %s: %s", task_kind_name(t->kind), label, t->error));
			pthread_mutex_unlock(&run->graph.lock);
			free(label);
		}
		graph_finish(run, t, ok);
	}
	worker_close(w);
	return NULL;
}

/*
 * Progress: on a terminal, one status line rewritten in place every second;
 * otherwise a log line every 30 seconds.
 */
typedef struct Monitor
{
	CloneRun *run;
	volatile int stop;
} Monitor;

static void *
monitor_main(void *arg)
{
	Monitor *m = arg;
	CloneRun *run = m->run;
	Graph *g = &run->graph;
	log_set_role("progress");
	bool tty = isatty(STDERR_FILENO) && !run->spec->quiet && getenv("NO_PROGRESS") == NULL;
	double start = time_now(), last_log = start;
	int64_t total_disk = 0;
	for (int i = 0; i < g->ntasks; i++)
	{
		if (g->tasks[i]->kind == TASK_COPY)
		{
			total_disk += g->tasks[i]->table->bytes / g->tasks[i]->nparts;
		}
	}
	while (!m->stop)
	{
		usleep(200000);
		double now = time_now();
		int copies = 0, copies_done = 0, idx = 0, idx_done = 0, running = 0, failed = 0;
		int64_t disk_done = 0, rows = 0;
		pthread_mutex_lock(&g->lock);
		for (int i = 0; i < g->ntasks; i++)
		{
			Task *t = g->tasks[i];
			bool done = t->status == TS_DONE;
			running += t->status == TS_RUNNING && !t->claimed; /* sessions busy */
			failed += t->status == TS_FAILED;
			if (t->kind == TASK_COPY)
			{
				copies++;
				copies_done += done;
				if (done)
				{
					disk_done += t->table->bytes / t->nparts;
					rows += t->rows;
				}
			}
			else if (t->kind == TASK_INDEX || t->kind == TASK_CONSTRAINT || t->kind == TASK_FKEY)
			{
				idx++;
				idx_done += done;
			}
		}
		pthread_mutex_unlock(&g->lock);
		int64_t bytes = __atomic_load_n(&run->progress_bytes, __ATOMIC_RELAXED);
		double elapsed = now - start;
		double rate = elapsed > 0 ? (double) bytes / elapsed : 0;
		double frac = total_disk > 0 ? (double) disk_done / (double) total_disk : 1.0;
		char b1[32], b2[32], eta[32];
		size_format(bytes, b1, sizeof(b1));
		size_format((int64_t) rate, b2, sizeof(b2));
		if (frac > 0.02 && frac < 1.0)
		{
			time_format_duration(elapsed / frac - elapsed, eta, sizeof(eta));
		}
		else
		{
			snprintf(eta, sizeof(eta), "%s", frac >= 1.0 ? "0s" : "?");
		}
		char line[256];
		snprintf(line, sizeof(line),
				 "data: copies %d/%d, %s (%s/s), %lld rows, ETA %s; indexes+constraints %d/%d; "
				 "running %d%s",
				 copies_done, copies, b1, b2, (long long) rows, eta, idx_done, idx, running,
				 failed ? ", FAILED tasks" : "");
		if (tty)
		{
			char out[300];
			int n = snprintf(out, sizeof(out), "\r\033[K%s", line);
			if (write(STDERR_FILENO, out, (size_t) n) < 0)
			{
				tty = false;
			}
		}
		else if (now - last_log >= 30.0)
		{
			log_info("progress: %s", line);
			last_log = now;
		}
	}
	if (tty)
	{
		if (write(STDERR_FILENO, "\r\033[K", 4) < 0)
		{
			/* nothing to do */
		}
	}
	return NULL;
}

static void
graph_wake(void *arg)
{
	Graph *g = arg;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

bool
task_locks(const Task *t, Oid oid)
{
	return oid_in(oid, t->lock_oids, t->nlock_oids);
}

/*
 * The run ends with the table whose copy ranks highest: its index builds,
 * then its foreign keys and ANALYZE, which lock it in turn and so run one
 * after the other on one core. Other tables' foreign keys and ANALYZE (the
 * fillers: nothing waits for them) worth that serial end times the other
 * sessions are kept back while copies remain, so that those sessions have
 * work then; the rest run as soon as they are ready. The last table's own
 * finishing work ranks as the whole serial chain it forms.
 */
void
sched_reserve(Graph *g)
{
	Task *top = NULL;
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *t = g->tasks[i];
		if (t->kind == TASK_COPY && t->status != TS_DONE &&
			(top == NULL || t->priority > top->priority))
		{
			top = t;
		}
	}
	g->filler_left = g->reserve = 0.0;
	if (top == NULL)
	{
		return;
	}
	double serial = 0.0;
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *t = g->tasks[i];
		t->filler = false;
		if ((t->kind != TASK_FKEY && t->kind != TASK_VACUUM) || t->status == TS_DONE)
		{
			continue;
		}
		if (task_locks(t, top->table->oid))
		{
			serial += t->cost;
		}
		else
		{
			t->filler = true;
			g->filler_left += t->cost;
		}
	}
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *t = g->tasks[i];
		if ((t->kind == TASK_FKEY || t->kind == TASK_VACUUM) && !t->filler &&
			task_locks(t, top->table->oid) && t->priority < (int64_t) (serial * 1e6))
		{
			t->priority = (int64_t) (serial * 1e6);
		}
	}
	g->reserve = serial * (g->max_running > 1 ? g->max_running - 1 : 1);
	log_debug("run's end: %.1f s of foreign keys and ANALYZE on %s; %.1f s of other tables' "
			  "kept back for it (of %.1f s)",
			  serial, top->table->qname, g->reserve < g->filler_left ? g->reserve : g->filler_left,
			  g->filler_left);
}

bool
sched_run(CloneRun *run)
{
	Graph *g = &run->graph;
	const CloneSpec *o = run->spec;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	signals_on_interrupt(graph_wake, g);

	/* tasks done in a previous run (resume) count as finished already */
	for (int i = 0; i < g->ntasks; i++)
	{
		if (g->tasks[i]->status == TS_DONE)
		{
			g->unfinished--;
		}
	}
	for (int i = 0; i < g->ntasks; i++)
	{
		if (g->tasks[i]->status == TS_DONE)
		{
			graph_release(run, g->tasks[i]);
		}
	}
	plan_record_tasks(run);

	int count[POOL_NPOOLS] = { 0 };
	for (int i = 0; i < g->ntasks; i++)
	{
		count[g->tasks[i]->pool]++;
	}
	int want[POOL_NPOOLS] = { o->table_jobs, o->index_jobs, o->lo_jobs };
	g->max_running = o->table_jobs > o->index_jobs ? o->table_jobs : o->index_jobs;
	if (g->max_running < 1)
	{
		g->max_running = 1; /* --table-jobs 0 --index-jobs 0 still runs one worker per pool */
	}
	g->running_buf = xcalloc((size_t) g->ntasks + 1, sizeof(Task *));
	sched_reserve(g);
	const char *names[POOL_NPOOLS] = { "copy", "index", "blobs" };
	int nworkers = 0;
	for (int p = 0; p < POOL_NPOOLS; p++)
	{
		if (want[p] < 1)
		{
			want[p] = 1;
		}
		if (want[p] > count[p])
		{
			want[p] = count[p];
		}
		nworkers += want[p];
	}
	Worker *workers = xcalloc((size_t) nworkers + 1, sizeof(Worker));
	pthread_t *threads = xcalloc((size_t) nworkers + 1, sizeof(pthread_t));
	int k = 0;
	for (int p = 0; p < POOL_NPOOLS; p++)
	{
		for (int i = 0; i < want[p]; i++)
		{
			Worker *w = &workers[k];
			w->run = run;
			w->pool = (PoolKind) p;
			snprintf(w->role, sizeof(w->role), "%s-%d", names[p], i + 1);
			pthread_create(&threads[k], NULL, worker_main, w);
			k++;
		}
	}
	log_info("running %d tasks: %d copy, %d index and constraint, %d large-object batches, with "
			 "%d + %d + %d workers",
			 g->ntasks, count[POOL_COPY], count[POOL_INDEX], count[POOL_BLOB], want[POOL_COPY],
			 want[POOL_INDEX], want[POOL_BLOB]);
	Monitor mon = { .run = run, .stop = 0 };
	pthread_t mon_thread;
	pthread_create(&mon_thread, NULL, monitor_main, &mon);
	for (int i = 0; i < nworkers; i++)
	{
		pthread_join(threads[i], NULL);
	}
	mon.stop = 1;
	pthread_join(mon_thread, NULL);
	free(workers);
	free(threads);
	free(g->running_buf);
	g->running_buf = NULL;
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	return g->nfailed == 0 && !g->stop && g->unfinished == 0;
}
