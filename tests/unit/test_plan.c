/*
 * tests/unit/test_plan.c — the task graph's ranks and table locks (src/clone/plan.c),
 * the state database's schema upgrade (src/state/statedb.c) and its tasks
 * table (src/state/tasks.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit_util.h"
#include <pthread.h>
#include <sqlite3.h>

#include "clone/clone.h"
#include "state/state.h"

/*
 * A small catalog shaped like the benchmark's: a big table with a slow
 * two-column text index, a GIN index and a primary key, a foreign key to a
 * small table, and a small table with its own key.
 */
typedef struct Fixture
{
	CloneRun run;
	CloneSpec spec;
	CatTable tables[2];
	CatIndex indexes[4];
	CatFkey fkeys[1];
	char *strings[32];
	int nstrings;
} Fixture;

/* a string the catalog owns (its fields are not const), freed by fixture_free */
static char *
S(Fixture *f, const char *s)
{
	char *copy = strdup(s);
	f->strings[f->nstrings++] = copy;
	return copy;
}

static void
fixture_free(Fixture *f)
{
	graph_free(&f->run.graph);
	for (int i = 0; i < f->nstrings; i++)
	{
		free(f->strings[i]);
	}
}

static void
fixture_init(Fixture *f, int nmatviews)
{
	memset(f, 0, sizeof(*f));
	f->spec.table_jobs = 2;
	f->spec.index_jobs = 2;
	f->spec.split.larger_than = 0;
	CatTable *big = &f->tables[0], *small = &f->tables[1];
	*big = (CatTable){ .oid = 100,
					   .nspname = S(f, "public"),
					   .relname = S(f, "orders"),
					   .qname = S(f, "\"public\".\"orders\""),
					   .relkind = 'r',
					   .bytes = 700000000,
					   .reltuples = 2500000,
					   .relpages = 85000,
					   .nparts = 1 };
	*small = (CatTable){ .oid = 200,
						 .nspname = S(f, "public"),
						 .relname = S(f, "customers"),
						 .qname = S(f, "\"public\".\"customers\""),
						 .relkind = 'r',
						 .bytes = 8000000,
						 .reltuples = 100000,
						 .relpages = 1000,
						 .nparts = 1 };
	f->indexes[0] = (CatIndex){ .oid = 101,
								.table_oid = 100,
								.nspname = S(f, "public"),
								.relname = S(f, "orders_status_created_idx"),
								.indexdef = S(f, "CREATE INDEX orders_status_created_idx ON "
												 "public.orders USING btree (status, created_at)"),
								.slow_keys = 1 };
	f->indexes[1] = (CatIndex){ .oid = 102,
								.table_oid = 100,
								.nspname = S(f, "public"),
								.relname = S(f, "orders_attrs_gin"),
								.indexdef = S(f, "CREATE INDEX orders_attrs_gin ON public.orders "
												 "USING gin (attrs jsonb_path_ops)") };
	f->indexes[2] = (CatIndex){ .oid = 103,
								.table_oid = 100,
								.nspname = S(f, "public"),
								.relname = S(f, "orders_pkey"),
								.conoid = 104,
								.conname = S(f, "orders_pkey"),
								.contype = 'p',
								.indexdef = S(f, "CREATE UNIQUE INDEX orders_pkey ON public.orders "
												 "USING btree (id)") };
	f->indexes[3] = (CatIndex){ .oid = 201,
								.table_oid = 200,
								.nspname = S(f, "public"),
								.relname = S(f, "customers_pkey"),
								.conoid = 202,
								.conname = S(f, "customers_pkey"),
								.contype = 'p',
								.indexdef = S(f, "CREATE UNIQUE INDEX customers_pkey ON "
												 "public.customers USING btree (id)") };
	f->fkeys[0] = (CatFkey){ .oid = 105,
							 .table_oid = 100,
							 .conname = S(f, "orders_customer_id_fkey"),
							 .condef = S(f, "FOREIGN KEY (customer_id) REFERENCES customers(id)"),
							 .ref_table_oid = 200 };
	f->run.spec = &f->spec;
	f->run.frozen_ok = true;
	f->run.cat.tables = f->tables;
	f->run.cat.ntables = 2;
	f->run.cat.indexes = f->indexes;
	f->run.cat.nindexes = 4;
	f->run.cat.fkeys = f->fkeys;
	f->run.cat.nfkeys = 1;
	static Oid mv_oids[1] = { 300 };
	static char *mv_names[1];
	mv_names[0] = S(f, "public.mv");
	f->run.nmatviews = nmatviews;
	f->run.mv_oids = mv_oids;
	f->run.mv_names = mv_names;
}

/* the fixture's catalog planned with every step */
static Graph *
fixture_build(Fixture *f, int nmatviews)
{
	fixture_init(f, nmatviews);
	plan_build(&f->run, STEP_ALL);
	return &f->run.graph;
}

/* The task of this kind for this object; the test fails when there is none. */
static Task *
find_task(Graph *g, TaskKind kind, Oid oid)
{
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *t = g->tasks[i];
		if (t->kind != kind)
		{
			continue;
		}
		Oid o = kind == TASK_COPY || kind == TASK_VACUUM ? t->table->oid
				: kind == TASK_INDEX                     ? t->index->oid
				: kind == TASK_CONSTRAINT                ? t->index->conoid
				: kind == TASK_FKEY                      ? t->fkey->oid
														 : t->mv_oid;
		if (o == oid)
		{
			return t;
		}
	}
	fail_msg("no task of kind %d for oid %u", (int) kind, (unsigned) oid);
	abort(); /* not reached: fail_msg ends the test */
}

static void
test_ranks_follow_the_longest_chain(void **state)
{
	(void) state;
	Fixture f;
	Graph *g = fixture_build(&f, 1);
	Task *copy_big = find_task(g, TASK_COPY, 100);
	Task *copy_small = find_task(g, TASK_COPY, 200);
	Task *slow = find_task(g, TASK_INDEX, 101);
	Task *gin = find_task(g, TASK_INDEX, 102);
	Task *pkey = find_task(g, TASK_INDEX, 103);
	Task *fk = find_task(g, TASK_FKEY, 105);
	Task *mv = find_task(g, TASK_MATVIEW, 300);
	/* the big table's copy heads the longest chain */
	assert_true(copy_big->priority > copy_small->priority);
	/* a btree sorting text with strcoll outranks a GIN, which outranks an integer key */
	assert_true(slow->priority > gin->priority);
	assert_true(gin->priority > pkey->priority);
	/* the big table's index builds go before a materialized view with nothing after it */
	assert_true(pkey->priority > mv->priority);
	/* rank = own cost + the longest chain after: every index outranks its foreign key */
	assert_true(pkey->priority > fk->priority);
	assert_true(fk->priority > 0);
	/* every copy is ready at once; the rest waits */
	assert_int_equal(copy_big->status, TS_READY);
	assert_int_equal(slow->status, TS_WAITING);
	fixture_free(&f);
}

static void
test_locks_of_tasks(void **state)
{
	(void) state;
	Fixture f;
	Graph *g = fixture_build(&f, 0);
	Task *slow = find_task(g, TASK_INDEX, 101);
	Task *fk = find_task(g, TASK_FKEY, 105);
	Task *con = find_task(g, TASK_CONSTRAINT, 104);
	Task *vac = find_task(g, TASK_VACUUM, 100);
	Task *copy = find_task(g, TASK_COPY, 100);
	/* index builds share their table's lock; the others exclude */
	assert_true(slow->lock_shared && task_locks(slow, 100) && !task_locks(slow, 200));
	assert_true(!fk->lock_shared && task_locks(fk, 100) && task_locks(fk, 200));
	assert_true(!con->lock_shared && task_locks(con, 100));
	assert_true(!vac->lock_shared && task_locks(vac, 100));
	assert_int_equal(copy->nlock_oids, 0);
	/* builds of one table run together; a foreign key waits for them, and for ANALYZE */
	Task *gin = find_task(g, TASK_INDEX, 102);
	Task *small_key = find_task(g, TASK_INDEX, 201);
	Task *small_vac = find_task(g, TASK_VACUUM, 200);
	assert_false(tasks_conflict(slow, gin));
	assert_true(tasks_conflict(slow, fk));
	assert_true(tasks_conflict(fk, slow));
	assert_true(tasks_conflict(fk, vac));
	/* the referenced table counts too; other tables do not */
	assert_true(tasks_conflict(fk, small_vac));
	assert_true(tasks_conflict(fk, small_key));
	assert_false(tasks_conflict(slow, small_vac));
	assert_false(tasks_conflict(vac, small_key));
	assert_false(tasks_conflict(copy, vac));
	fixture_free(&f);
}

/* the customers table whole on the target: its copy and its key done */
static void
customers_done(Graph *g)
{
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *t = g->tasks[i];
		if (t->table != NULL && t->table->oid == 200 && t->kind != TASK_VACUUM &&
			t->kind != TASK_FKEY)
		{
			t->status = TS_DONE;
		}
	}
}

/* the fixture's plan with the graph's lock ready, as sched_run leaves it */
static Graph *
claim_fixture_build(Fixture *f)
{
	Graph *g = fixture_build(f, 0);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	return g;
}

static void
claim_fixture_free(Fixture *f)
{
	pthread_cond_destroy(&f->run.graph.cond);
	pthread_mutex_destroy(&f->run.graph.lock);
	fixture_free(f);
}

static void
test_claim_finishing_work(void **state)
{
	(void) state;
	Oid fkeys[] = { 105 };
	for (int variant = 0; variant < 4; variant++)
	{
		Fixture f;
		Graph *g = claim_fixture_build(&f);
		Task *copy = find_task(g, TASK_COPY, 100);
		Task *vac = find_task(g, TASK_VACUUM, 100);
		Task *fk = find_task(g, TASK_FKEY, 105);
		Task *small_vac = find_task(g, TASK_VACUUM, 200);
		if (variant != 2)
		{
			customers_done(g); /* variant 2: customers' key not built yet */
		}
		if (variant == 3)
		{
			small_vac->status = TS_RUNNING; /* ANALYZE customers holds it: the key would wait */
		}
		copy->status = TS_RUNNING;
		graph_claim_finishing(&f.run, copy, variant != 1, fkeys, 1);
		assert_true(copy->finishing);
		/* ANALYZE commits with the rows unless an expression index needs building first */
		assert_int_equal(vac->status, variant == 1 ? TS_WAITING : TS_RUNNING);
		assert_int_equal(vac->claimed, variant != 1);
		/* the foreign key too, once customers is whole and nothing holds it */
		bool fk_claimed = variant <= 1;
		assert_int_equal(fk->status, fk_claimed ? TS_RUNNING : TS_WAITING);
		assert_int_equal(copy->nfolded, (variant != 1) + fk_claimed);
		claim_fixture_free(&f);
	}
	/* a foreign key an index of the table serves is not claimed */
	Fixture f;
	Graph *g = claim_fixture_build(&f);
	customers_done(g);
	Task *copy = find_task(g, TASK_COPY, 100);
	Task *fk = find_task(g, TASK_FKEY, 105);
	graph_claim_finishing(&f.run, copy, true, NULL, 0);
	assert_int_equal(fk->status, TS_WAITING);
	assert_int_equal(copy->nfolded, 1);
	claim_fixture_free(&f);
}

static void
test_reserve_for_the_last_table(void **state)
{
	(void) state;
	Fixture f;
	Graph *g = fixture_build(&f, 0);
	g->max_running = 3;
	sched_reserve(g);
	Task *vac = find_task(g, TASK_VACUUM, 100);
	Task *fk = find_task(g, TASK_FKEY, 105);
	Task *small_vac = find_task(g, TASK_VACUUM, 200);
	/* orders ends the run: its ANALYZE and foreign key lock it in turn; customers' is a filler */
	assert_false(vac->filler);
	assert_false(fk->filler);
	assert_true(small_vac->filler);
	double serial = vac->cost + fk->cost;
	assert_true(g->reserve > 2 * serial - 1e-9 && g->reserve < 2 * serial + 1e-9);
	assert_true(g->filler_left > small_vac->cost - 1e-9 && g->filler_left < small_vac->cost + 1e-9);
	/* each ranks as the whole chain they form */
	assert_true(vac->priority >= (int64_t) (serial * 1e6) - 1);
	assert_true(fk->priority >= (int64_t) (serial * 1e6) - 1);
	fixture_free(&f);
}

/* ---- state.db schema upgrade ---- */

/* a new SQLite file at path (a mkstemp template) holding what sql makes */
static bool
sqlite_file(char *path, const char *sql)
{
	int fd = mkstemp(path);
	if (fd < 0)
	{
		return false;
	}
	close(fd);
	sqlite3 *db = NULL;
	bool ok = sqlite3_open(path, &db) == SQLITE_OK &&
			  sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(db);
	return ok;
}

static void
test_state_upgrades_version_1(void **state)
{
	(void) state;
	char path[] = "/tmp/pgshift-test-state-XXXXXX";
	assert_true(sqlite_file(
		path, "CREATE TABLE indexes(oid INTEGER PRIMARY KEY, table_oid INTEGER NOT NULL,"
			  " nspname TEXT NOT NULL, relname TEXT NOT NULL, indexdef TEXT NOT NULL,"
			  " conoid INTEGER, conname TEXT, contype TEXT, condef TEXT, condeferrable"
			  " INTEGER, condeferred INTEGER, bytes INTEGER, excluded INTEGER NOT NULL"
			  " DEFAULT 0, isclustered INTEGER NOT NULL DEFAULT 0, isreplident INTEGER"
			  " NOT NULL DEFAULT 0);"
			  "INSERT INTO indexes(oid, table_oid, nspname, relname, indexdef)"
			  " VALUES (1, 2, 'public', 'i', 'CREATE INDEX i ON t (a)');"
			  "PRAGMA user_version = 1;"));

	StateDb *s = state_open(path);
	assert_non_null(s);
	assert_int_equal(state_query_int(s, "PRAGMA user_version", 0, NULL, 0), STATE_SCHEMA_VERSION);
	/* the old row kept, the new column there with its default */
	assert_int_equal(state_query_int(s, "SELECT slow_keys FROM indexes WHERE oid = 1", 0, NULL, -1),
					 0);
	state_close(s);
	/* opening again changes nothing */
	s = state_open(path);
	assert_non_null(s);
	assert_int_equal(state_query_int(s, "SELECT count(*) FROM indexes", 0, NULL, -1), 1);
	state_close(s);
	remove_db(path);
}

static void
test_state_refuses_newer_version(void **state)
{
	(void) state;
	char path[] = "/tmp/pgshift-test-state-XXXXXX";
	assert_true(sqlite_file(path, "PRAGMA user_version = 99;"));
	assert_null(state_open(path));
	remove_db(path);
}

/* ---- state.db tasks table ---- */

static void
test_state_tasks_record_and_resume(void **state)
{
	(void) state;
	char path[] = "/tmp/pgshift-test-state-XXXXXX";
	assert_true(sqlite_file(path, "SELECT 1;"));
	StateDb *s = state_open(path);
	assert_non_null(s);
	StateTaskRow rows[] = { { { "copy", 100, 0 }, "public.orders part 1/2", false },
							{ { "copy", 100, 1 }, "public.orders part 2/2", false },
							{ { "index", 101, 0 }, "public.orders_idx", false } };
	assert_true(state_tasks_record(s, rows, 3));
	assert_int_equal(
		state_query_int(s, "SELECT count(*) FROM tasks WHERE status = 'queued'", 0, NULL, -1), 3);
	/* a part starts, then ends done with its results */
	assert_true(state_task_start(s, &rows[0].key, "copy-1"));
	assert_int_equal(state_query_int(s,
									 "SELECT attempts FROM tasks WHERE kind = 'copy' AND "
									 "obj_oid = 100 AND part = 0 AND status = 'running'",
									 0, NULL, -1),
					 1);
	StateTaskResult done = {
		.status = STATE_TASK_DONE, .duration = 1.5, .bytes = 8192, .rows = 42
	};
	assert_true(state_task_end(s, &rows[0].key, &done));
	StateTaskResult failed = { .status = STATE_TASK_FAILED, .error = "target: boom", .sql = "X" };
	assert_true(state_task_end(s, &rows[2].key, &failed));
	assert_int_equal(
		state_query_int(s, "SELECT rows FROM tasks WHERE kind = 'copy' AND part = 0", 0, NULL, -1),
		42);
	/* recorded again (resume): what is done stays done, the failed one is queued again */
	assert_true(state_tasks_record(s, rows, 3));
	bool was_done[3] = { false, true, true };
	StateTaskKey keys[] = { rows[0].key, rows[1].key, rows[2].key };
	assert_true(state_tasks_done(s, keys, 3, was_done));
	assert_true(was_done[0]);
	assert_false(was_done[1]);
	assert_false(was_done[2]);
	/* a key never recorded is simply not done */
	StateTaskKey unknown = { "vacuum", 999, 0 };
	bool unknown_done = true;
	assert_true(state_tasks_done(s, &unknown, 1, &unknown_done));
	assert_false(unknown_done);
	state_close(s);
	remove_db(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranks_follow_the_longest_chain),
		cmocka_unit_test(test_locks_of_tasks),
		cmocka_unit_test(test_claim_finishing_work),
		cmocka_unit_test(test_reserve_for_the_last_table),
		cmocka_unit_test(test_state_upgrades_version_1),
		cmocka_unit_test(test_state_refuses_newer_version),
		cmocka_unit_test(test_state_tasks_record_and_resume),
	};
	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
