/*
 * tests/unit/test_quote.c — identifier and literal quoting of src/pg/quote.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pg/pg.h"

static void
check_ident(const char *ident, const char *expected)
{
	char *q = pg_quote_ident(ident);
	if (strcmp(q, expected) != 0)
	{
		fail_msg("pg_quote_ident(\"%s\") = %s, expected %s", ident, q, expected);
	}
	free(q);
}

static void
check_literal(const char *lit, const char *expected)
{
	char *q = pg_quote_literal(lit);
	if (strcmp(q, expected) != 0)
	{
		fail_msg("pg_quote_literal(\"%s\") = %s, expected %s", lit, q, expected);
	}
	free(q);
}

/* ---- identifiers ---- */

static void
test_ident_plain(void **state)
{
	(void) state;
	check_ident("orders", "\"orders\"");
	check_ident("a", "\"a\"");
	check_ident("t_1$x", "\"t_1$x\"");
}

static void
test_ident_mixed_case(void **state)
{
	(void) state;
	/* case is kept: "MyTable" is not mytable */
	check_ident("MyTable", "\"MyTable\"");
	check_ident("UPPER", "\"UPPER\"");
}

static void
test_ident_embedded_double_quotes(void **state)
{
	(void) state;
	check_ident("My \"Table\"", "\"My \"\"Table\"\"\"");
	check_ident("\"", "\"\"\"\"");
	check_ident("\"\"", "\"\"\"\"\"\"");
	check_ident("a\"b", "\"a\"\"b\"");
}

static void
test_ident_special_characters(void **state)
{
	(void) state;
	/* spaces, dots, single quotes, backslashes: kept as they are */
	check_ident("my table", "\"my table\"");
	check_ident("public.t", "\"public.t\"");
	check_ident("it's", "\"it's\"");
	check_ident("back\\slash", "\"back\\slash\"");
	check_ident("1starts_with_digit", "\"1starts_with_digit\"");
	check_ident("semi;colon--", "\"semi;colon--\"");
}

static void
test_ident_reserved_words(void **state)
{
	(void) state;
	check_ident("select", "\"select\"");
	check_ident("user", "\"user\"");
	check_ident("table", "\"table\"");
	check_ident("order", "\"order\"");
}

static void
test_ident_non_ascii(void **state)
{
	(void) state;
	/* UTF-8 bytes go through untouched */
	check_ident("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	check_ident("\xe8\xa1\xa8", "\"\xe8\xa1\xa8\"");
	check_ident("\xf0\x9f\x90\x98\"x", "\"\xf0\x9f\x90\x98\"\"x\"");
}

static void
test_ident_empty(void **state)
{
	(void) state;
	check_ident("", "\"\"");
}

static void
test_sb_append_ident_appends(void **state)
{
	(void) state;
	StrBuf sb;
	sb_init(&sb);
	sb_append(&sb, "SELECT * FROM ");
	sb_append_ident(&sb, "We\"ird");
	sb_append(&sb, " WHERE ");
	sb_append_ident(&sb, "id");
	sb_append(&sb, " = ");
	sb_append_literal(&sb, "o'neil");
	assert_string_equal(sb.data, "SELECT * FROM \"We\"\"ird\" WHERE \"id\" = 'o''neil'");
	assert_int_equal(sb.len, strlen(sb.data));
	sb_free(&sb);
}

/* ---- literals ---- */

static void
test_literal_plain(void **state)
{
	(void) state;
	check_literal("hello", "'hello'");
	check_literal("", "''");
	check_literal("with \"double\" quotes", "'with \"double\" quotes'");
	check_literal("caf\xc3\xa9", "'caf\xc3\xa9'");
}

static void
test_literal_single_quotes(void **state)
{
	(void) state;
	check_literal("it's", "'it''s'");
	check_literal("'", "''''");
	check_literal("''", "''''''");
	check_literal("'quoted'", "'''quoted'''");
}

static void
test_literal_backslashes(void **state)
{
	(void) state;
	/* E'' with doubled backslashes: same meaning whatever standard_conforming_strings */
	check_literal("back\\slash", "E'back\\\\slash'");
	check_literal("\\", "E'\\\\'");
	check_literal("C:\\dir\\file", "E'C:\\\\dir\\\\file'");
	check_literal("\\n", "E'\\\\n'");
}

static void
test_literal_quotes_and_backslashes(void **state)
{
	(void) state;
	check_literal("it's a \\ test", "E'it''s a \\\\ test'");
	/* \' must not become an escaped quote that ends the literal early */
	check_literal("\\'", "E'\\\\'''");
	check_literal("'\\", "E'''\\\\'");
}

static void
test_literal_no_e_prefix_without_backslash(void **state)
{
	(void) state;
	char *q = pg_quote_literal("E'not an escape'");
	assert_string_equal(q, "'E''not an escape'''");
	assert_int_equal(q[0], '\'');
	free(q);
}

/* ---- qualified names ---- */

static void
test_qualname(void **state)
{
	(void) state;
	char *q = pg_qualname("public", "orders");
	assert_string_equal(q, "\"public\".\"orders\"");
	free(q);

	q = pg_qualname("My Schema", "Tab\"le");
	assert_string_equal(q, "\"My Schema\".\"Tab\"\"le\"");
	free(q);

	/* a dot inside a name is part of the name, not a separator */
	q = pg_qualname("a.b", "c.d");
	assert_string_equal(q, "\"a.b\".\"c.d\"");
	free(q);

	q = pg_qualname("sch\xc3\xa9ma", "select");
	assert_string_equal(q, "\"sch\xc3\xa9ma\".\"select\"");
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ident_plain),
		cmocka_unit_test(test_ident_mixed_case),
		cmocka_unit_test(test_ident_embedded_double_quotes),
		cmocka_unit_test(test_ident_special_characters),
		cmocka_unit_test(test_ident_reserved_words),
		cmocka_unit_test(test_ident_non_ascii),
		cmocka_unit_test(test_ident_empty),
		cmocka_unit_test(test_sb_append_ident_appends),
		cmocka_unit_test(test_literal_plain),
		cmocka_unit_test(test_literal_single_quotes),
		cmocka_unit_test(test_literal_backslashes),
		cmocka_unit_test(test_literal_quotes_and_backslashes),
		cmocka_unit_test(test_literal_no_e_prefix_without_backslash),
		cmocka_unit_test(test_qualname),
	};
	return cmocka_run_group_tests_name("quote", tests, NULL, NULL);
}
