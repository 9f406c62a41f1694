/*
 * tests/unit/test_ddl.c — finding the captured statement in a query string
 * (src/cdc/ddl_text.c), without a server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cdc/cdc_int.h"

static void
test_split(void **state)
{
	(void) state;
	StrList l = { 0 };
	ddl_split_statements("CREATE TABLE a (x text DEFAULT ';'); -- c;\n"
						 "INSERT INTO a VALUES ($$;$$), (E'\\';'); /* ; */ "
						 "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE "
						 "WHEN true THEN 1 END; SELECT 2; END;  ;\n ALTER TABLE \"x;y\" ADD c int",
						 &l);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.items[0], "CREATE TABLE a (x text DEFAULT ';')");
	assert_string_equal(l.items[1], "-- c;\nINSERT INTO a VALUES ($$;$$), (E'\\';')");
	assert_true(strncmp(l.items[2], "/* ; */ CREATE FUNCTION", 23) == 0);
	assert_string_equal(l.items[3], "ALTER TABLE \"x;y\" ADD c int");
	strlist_free(&l);
}

static void
test_tag(void **state)
{
	(void) state;
	assert_true(
		ddl_statement_has_tag("create unique index concurrently i on t (a)", "CREATE INDEX"));
	assert_true(ddl_statement_has_tag("/* x */ CREATE OR REPLACE FUNCTION f()", "CREATE FUNCTION"));
	assert_true(ddl_statement_has_tag("CREATE TEMP TABLE t ()", "CREATE TABLE"));
	assert_true(ddl_statement_has_tag("CREATE TABLE t AS SELECT 1", "CREATE TABLE AS"));
	assert_true(ddl_statement_has_tag("ALTER TABLE t ADD c int", "ALTER TABLE"));
	assert_false(
		ddl_statement_has_tag("DO $$ BEGIN ALTER TABLE t ADD c int; END $$", "ALTER TABLE"));
	assert_false(ddl_statement_has_tag("SELECT f()", "CREATE TABLE"));
	assert_false(ddl_statement_has_tag("CREATE ROLE r", "CREATE TABLE"));
	assert_false(ddl_statement_has_tag("ALTER", "ALTER TABLE"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_tag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
