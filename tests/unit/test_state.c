/*
 * tests/unit/test_state.c — state.db's checked statements and transactions
 * (src/state/stmt.c), the catalog's save and load through them
 * (src/catalog/catalog.c), and the SQLSTATE retry classes (src/pg/conn.c).
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

#include "catalog/catalog.h"
#include "pg/pg.h"
#include "state/state.h"

/* a fresh state.db under /tmp; *path receives its name */
static StateDb *
open_new(char *path)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	StateDb *db = state_open(path);
	assert_non_null(db);
	return db;
}

static void
test_stmt_binds_steps_and_reads(void **state)
{
	(void) state;
	char path[] = "/tmp/pgshift-test-state-XXXXXX";
	StateDb *db = open_new(path);

	StateStmt *st =
		state_stmt_prepare(db, "test insert", "INSERT INTO meta(key, value) VALUES (?1, ?2)");
	assert_non_null(st);
	assert_true(state_stmt_bind_text(st, 1, "a"));
	assert_true(state_stmt_bind_int64(st, 2, 42));
	assert_int_equal(state_stmt_step(st), 0);
	assert_true(state_stmt_reset(st));
	assert_true(state_stmt_bind_text(st, 1, "b"));
	assert_true(state_stmt_bind_null(st, 2));
	assert_int_equal(state_stmt_step(st), 0);
	assert_true(state_stmt_finish(st));

	st = state_stmt_prepare(db, "test select", "SELECT key, value, 2.5 FROM meta ORDER BY key");
	assert_int_equal(state_stmt_step(st), 1);
	assert_string_equal(state_stmt_text(st, 0), "a");
	assert_int_equal(state_stmt_int64(st, 1), 42);
	assert_true(state_stmt_double(st, 2) == 2.5);
	assert_int_equal(state_stmt_step(st), 1);
	assert_true(state_stmt_is_null(st, 1));
	assert_null(state_stmt_text_dup(st, 1));
	assert_int_equal(state_stmt_step(st), 0);
	assert_true(state_stmt_finish(st));

	state_close(db);
	remove_db(path);
}

static void
test_stmt_failure_sticks(void **state)
{
	(void) state;
	char path[] = "/tmp/pgshift-test-state-XXXXXX";
	StateDb *db = open_new(path);

	/* prepare fails: NULL, accepted everywhere as a failed statement */
	StateStmt *st = state_stmt_prepare(db, "bad sql", "SELECT FROM nowhere WHERE");
	assert_null(st);
	assert_false(state_stmt_bind_text(st, 1, "x"));
	assert_int_equal(state_stmt_step(st), -1);
	assert_false(state_stmt_finish(st));

	/* a bind out of range fails the statement: it no longer runs */
	st = state_stmt_prepare(db, "range", "INSERT INTO meta(key, value) VALUES (?1, 'v')");
	assert_non_null(st);
	assert_false(state_stmt_bind_text(st, 5, "x"));
	assert_int_equal(state_stmt_step(st), -1);
	assert_false(state_stmt_finish(st));
	assert_int_equal(state_query_int(db, "SELECT count(*) FROM meta", 0, NULL, -1), 0);

	/* a constraint violation at step */
	assert_true(state_set_meta(db, "k", "1"));
	st = state_stmt_prepare(db, "duplicate", "INSERT INTO meta(key, value) VALUES ('k', '2')");
	assert_int_equal(state_stmt_step(st), -1);
	assert_false(state_stmt_finish(st));

	/* the lock was released every time: another statement runs */
	assert_int_equal(state_query_int(db, "SELECT count(*) FROM meta", 0, NULL, -1), 1);
	state_close(db);
	remove_db(path);
}

static void
test_transaction_rollback_and_commit(void **state)
{
	(void) state;
	char path[] = "/tmp/pgshift-test-state-XXXXXX";
	StateDb *db = open_new(path);

	assert_true(state_begin(db));
	assert_true(state_set_meta(db, "gone", "1"));
	assert_true(state_rollback(db));
	assert_null(state_get_meta(db, "gone"));

	assert_true(state_begin(db));
	assert_true(state_set_meta(db, "kept", "1"));
	assert_true(state_commit(db));
	char *v = state_get_meta(db, "kept");
	assert_string_equal(v, "1");
	free(v);

	state_close(db);
	remove_db(path);
}

/* a writable copy of a literal (the catalog's strings are not const) */
#define W(s) ((char[]){ s })

static void
test_catalog_round_trip(void **state)
{
	(void) state;
	char path[] = "/tmp/pgshift-test-state-XXXXXX";
	StateDb *db = open_new(path);

	Catalog c;
	memset(&c, 0, sizeof(c));
	CatTable t[2] = {
		{ .oid = 16384,
		  .nspname = W("public"),
		  .relname = W("small"),
		  .relkind = 'r',
		  .persistence = 'u',
		  .bytes = 10,
		  .reltuples = 99.6,
		  .relpages = 1,
		  .nparts = 1 },
		{ .oid = 16390,
		  .nspname = W("s"),
		  .relname = W("Big"),
		  .relkind = 'p',
		  .parent_oid = 7,
		  .bytes = 1000,
		  .reltuples = -1,
		  .copy_columns = W("\"a\", \"b\""),
		  .binary_ok = true,
		  .exclude_data = true,
		  .nparts = 4 },
	};
	CatIndex x = { .oid = 16400,
				   .table_oid = 16390,
				   .nspname = W("s"),
				   .relname = W("big_pkey"),
				   .indexdef = W("CREATE UNIQUE INDEX ..."),
				   .conoid = 16401,
				   .conname = W("big_pkey"),
				   .contype = 'p',
				   .condef = W("PRIMARY KEY (a)"),
				   .condeferrable = true,
				   .bytes = 8192,
				   .slow_keys = 2,
				   .isreplident = true };
	CatFkey f = { .oid = 16410,
				  .table_oid = 16384,
				  .conname = W("fk"),
				  .condef = W("FOREIGN KEY ..."),
				  .ref_table_oid = 16390,
				  .excluded = true };
	CatSequence q = { .oid = 16420,
					  .nspname = W("public"),
					  .relname = W("seq"),
					  .last_value = W("12"),
					  .is_called = true,
					  .owner_table_oid = 16384,
					  .owner_column = W("id"),
					  .is_identity = true };
	CatExtension e = {
		.oid = 16430, .extname = W("hstore"), .extversion = W("1.8"), .nspname = W("public")
	};
	CatCollation k = {
		.oid = 16440, .nspname = W("public"), .collname = W("de"), .provider = W("c")
	};
	CatLoBatch b = { .batch = 0, .min_oid = 100, .max_oid = 200, .count = 3 };
	c.tables = t;
	c.ntables = 2;
	c.indexes = &x;
	c.nindexes = 1;
	c.fkeys = &f;
	c.nfkeys = 1;
	c.sequences = &q;
	c.nsequences = 1;
	c.extensions = &e;
	c.nextensions = 1;
	c.collations = &k;
	c.ncollations = 1;
	c.lo_batches = &b;
	c.nlo_batches = 1;
	c.nlargeobjects = 3;
	strlist_add(&c.db_settings, "work_mem=64MB");
	strlist_add(&c.db_settings, "search_path=s, public");

	assert_true(catalog_save(db, &c));
	/* saving again replaces, never duplicates */
	assert_true(catalog_save(db, &c));

	Catalog l;
	assert_true(catalog_load(db, &l));
	assert_int_equal(l.ntables, 2);
	/* biggest first */
	assert_string_equal(l.tables[0].relname, "Big");
	assert_string_equal(l.tables[0].qname, "\"s\".\"Big\"");
	assert_int_equal(l.tables[0].relkind, 'p');
	assert_int_equal(l.tables[0].parent_oid, 7);
	assert_true(l.tables[0].reltuples == -1);
	assert_string_equal(l.tables[0].copy_columns, "\"a\", \"b\"");
	assert_true(l.tables[0].binary_ok && l.tables[0].exclude_data && !l.tables[0].excluded);
	assert_int_equal(l.tables[0].nparts, 4);
	assert_int_equal(l.tables[1].persistence, 'u');
	assert_true(l.tables[1].reltuples == 100);
	assert_null(l.tables[1].copy_columns);
	assert_int_equal(l.nindexes, 1);
	assert_int_equal(l.indexes[0].contype, 'p');
	assert_int_equal(l.indexes[0].slow_keys, 2);
	assert_true(l.indexes[0].condeferrable && !l.indexes[0].condeferred);
	assert_true(l.indexes[0].isreplident && !l.indexes[0].isclustered);
	assert_int_equal(l.nfkeys, 1);
	assert_int_equal(l.fkeys[0].ref_table_oid, 16390);
	assert_true(l.fkeys[0].excluded);
	assert_int_equal(l.nsequences, 1);
	assert_string_equal(l.sequences[0].last_value, "12");
	assert_string_equal(l.sequences[0].owner_column, "id");
	assert_true(l.sequences[0].is_called && l.sequences[0].is_identity);
	assert_int_equal(l.nextensions, 1);
	assert_string_equal(l.extensions[0].extversion, "1.8");
	assert_int_equal(l.ncollations, 1);
	assert_string_equal(l.collations[0].provider, "c");
	assert_int_equal(l.nlo_batches, 1);
	assert_int_equal(l.lo_batches[0].max_oid, 200);
	assert_int_equal(l.lo_batches[0].count, 3);
	assert_int_equal(l.nlargeobjects, 3);
	assert_int_equal(l.db_settings.n, 2);
	assert_string_equal(l.db_settings.items[1], "search_path=s, public");
	catalog_free(&l);
	strlist_free(&c.db_settings);

	state_close(db);
	remove_db(path);
}

static void
test_error_classes(void **state)
{
	(void) state;
	assert_int_equal(pg_error_class(NULL), PG_ERROR_NONE);
	assert_int_equal(pg_error_class(""), PG_ERROR_NONE);
	assert_int_equal(pg_error_class("08006"), PG_ERROR_CONNECTION);
	assert_int_equal(pg_error_class("57P01"), PG_ERROR_CONNECTION);
	assert_int_equal(pg_error_class("57P03"), PG_ERROR_CONNECTION);
	assert_int_equal(pg_error_class("57P05"), PG_ERROR_CONNECTION);
	assert_int_equal(pg_error_class("40001"), PG_ERROR_RETRY_TXN);
	assert_int_equal(pg_error_class("40P01"), PG_ERROR_RETRY_TXN);
	assert_int_equal(pg_error_class("53300"), PG_ERROR_RESOURCES);
	assert_int_equal(pg_error_class("42P01"), PG_ERROR_FATAL);
	assert_int_equal(pg_error_class("57014"), PG_ERROR_FATAL);
	assert_true(pg_error_is_transient(PG_ERROR_RESOURCES));
	assert_false(pg_error_is_transient(PG_ERROR_FATAL));
	assert_false(pg_error_is_transient(PG_ERROR_NONE));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stmt_binds_steps_and_reads),
		cmocka_unit_test(test_stmt_failure_sticks),
		cmocka_unit_test(test_transaction_rollback_and_commit),
		cmocka_unit_test(test_catalog_round_trip),
		cmocka_unit_test(test_error_classes),
	};
	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
