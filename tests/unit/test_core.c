/*
 * tests/unit/test_core.c — StrBuf, StrList, sizes and durations of src/core.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"

/* ---- StrBuf ---- */

static void
test_sb_init_is_empty(void **state)
{
	(void) state;
	StrBuf sb;
	sb_init(&sb);
	assert_non_null(sb.data);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.data, "");
	assert_true(sb.cap > 0);
	sb_free(&sb);
	assert_null(sb.data);
	assert_int_equal(sb.len, 0);
}

static void
test_sb_append(void **state)
{
	(void) state;
	StrBuf sb;
	sb_init(&sb);
	sb_append(&sb, "hello");
	sb_append_char(&sb, ',');
	sb_append_char(&sb, ' ');
	sb_append_n(&sb, "world!!!", 5);
	sb_append(&sb, "");
	assert_string_equal(sb.data, "hello, world");
	assert_int_equal(sb.len, strlen("hello, world"));
	sb_free(&sb);
}

static void
test_sb_append_n_embedded_bytes(void **state)
{
	(void) state;
	StrBuf sb;
	sb_init(&sb);
	/* only n bytes are copied, even if the source goes on */
	sb_append_n(&sb, "abcdef", 3);
	assert_int_equal(sb.len, 3);
	assert_string_equal(sb.data, "abc");
	assert_int_equal(sb.data[3], '\0');
	sb_free(&sb);
}

static void
test_sb_append_growth(void **state)
{
	(void) state;
	StrBuf sb;
	sb_init(&sb);
	/* 10000 single characters: many doublings, content intact */
	for (int i = 0; i < 10000; i++)
	{
		sb_append_char(&sb, (char) ('a' + i % 26));
	}
	assert_int_equal(sb.len, 10000);
	assert_true(sb.cap > sb.len);
	assert_int_equal(strlen(sb.data), 10000);
	for (int i = 0; i < 10000; i++)
	{
		if (sb.data[i] != (char) ('a' + i % 26))
		{
			fail_msg("byte %d is '%c', expected '%c'", i, sb.data[i], 'a' + i % 26);
		}
	}
	sb_free(&sb);
}

static void
test_sb_printf(void **state)
{
	(void) state;
	StrBuf sb;
	sb_init(&sb);
	sb_printf(&sb, "%s=%d", "jobs", 4);
	sb_printf(&sb, " %05.1f|%x", 3.5, 255);
	assert_string_equal(sb.data, "jobs=4 003.5|ff");
	assert_int_equal(sb.len, strlen("jobs=4 003.5|ff"));
	sb_free(&sb);
}

static void
test_sb_printf_growth_past_256(void **state)
{
	(void) state;
	char big[1001];
	memset(big, 'x', 1000);
	big[1000] = '\0';

	StrBuf sb;
	sb_init(&sb);
	sb_append(&sb, "start:");
	/* one printf far larger than the initial 256-byte buffer */
	sb_printf(&sb, "[%s]%d", big, 42);
	assert_int_equal(sb.len, 6 + 1 + 1000 + 1 + 2);
	assert_int_equal(strlen(sb.data), sb.len);
	assert_true(sb.cap > sb.len);
	assert_memory_equal(sb.data, "start:[", 7);
	assert_memory_equal(sb.data + 7, big, 1000);
	assert_string_equal(sb.data + 1007, "]42");

	/* exactly at the boundary: 255 characters fit in 256 bytes, 256 do not */
	StrBuf b2;
	sb_init(&b2);
	sb_printf(&b2, "%.*s", 255, big);
	assert_int_equal(b2.len, 255);
	sb_printf(&b2, "%s", "y");
	assert_int_equal(b2.len, 256);
	assert_int_equal(strlen(b2.data), 256);
	assert_int_equal(b2.data[255], 'y');
	sb_free(&b2);
	sb_free(&sb);
}

static void
test_sb_printf_many_appends(void **state)
{
	(void) state;
	StrBuf sb;
	sb_init(&sb);
	for (int i = 0; i < 500; i++)
	{
		sb_printf(&sb, "%03d,", i);
	}
	assert_int_equal(sb.len, 500 * 4);
	assert_memory_equal(sb.data, "000,001,002,", 12);
	assert_string_equal(sb.data + sb.len - 8, "498,499,");
	sb_free(&sb);
}

static void
test_sb_reset(void **state)
{
	(void) state;
	StrBuf sb;
	sb_init(&sb);
	sb_append(&sb, "something");
	sb_reset(&sb);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.data, "");
	sb_append(&sb, "else");
	assert_string_equal(sb.data, "else");
	sb_free(&sb);
}

static void
test_sb_steal(void **state)
{
	(void) state;
	StrBuf sb;
	sb_init(&sb);
	sb_printf(&sb, "%s-%d", "stolen", 7);
	char *s = sb_steal(&sb);
	assert_string_equal(s, "stolen-7");
	assert_int_equal(sb.len, 0);
	/* the buffer is empty and can be used again; the stolen string is untouched */
	sb_append(&sb, "again");
	assert_string_equal(sb.data, "again");
	sb_printf(&sb, "%d", 1);
	assert_string_equal(sb.data, "again1");
	assert_string_equal(s, "stolen-7");
	free(s);
	sb_free(&sb);
}

static void
test_xasprintf_and_strdup(void **state)
{
	(void) state;
	char *s = xasprintf("%s/%s", "/tmp", "pgshift");
	assert_string_equal(s, "/tmp/pgshift");
	free(s);

	char *d = xstrdup("abc");
	assert_string_equal(d, "abc");
	free(d);
	assert_null(xstrdup(NULL));

	char *n = xstrndup("abcdef", 2);
	assert_string_equal(n, "ab");
	free(n);

	char *z = xcalloc(4, 8);
	for (int i = 0; i < 32; i++)
	{
		assert_int_equal(z[i], 0);
	}
	free(z);
}

/* ---- StrList ---- */

static void
test_strlist(void **state)
{
	(void) state;
	StrList l = { 0 };
	assert_false(strlist_contains(&l, "a"));

	char buf[32];
	for (int i = 0; i < 100; i++)
	{
		snprintf(buf, sizeof(buf), "item-%d", i);
		strlist_add(&l, buf);
	}
	/* strlist_add copies: changing our buffer changes nothing */
	snprintf(buf, sizeof(buf), "%s", "Xtem-5");
	assert_int_equal(l.n, 100);
	assert_true(l.cap >= 100);
	assert_string_equal(l.items[0], "item-0");
	assert_string_equal(l.items[5], "item-5");
	assert_string_equal(l.items[99], "item-99");
	assert_true(strlist_contains(&l, "item-42"));
	assert_false(strlist_contains(&l, "item-100"));
	assert_false(strlist_contains(&l, "item-4 "));
	assert_false(strlist_contains(&l, "Xtem-5"));

	strlist_add_owned(&l, xstrdup("owned"));
	assert_int_equal(l.n, 101);
	assert_true(strlist_contains(&l, "owned"));

	strlist_free(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.items);
	assert_false(strlist_contains(&l, "owned"));
	/* usable again after free */
	strlist_add(&l, "x");
	assert_int_equal(l.n, 1);
	strlist_free(&l);
}

/* ---- sizes ---- */

static void
check_size(const char *s, int64_t expected)
{
	int64_t v = -12345;
	if (!size_parse(s, &v))
	{
		fail_msg("size_parse(\"%s\") returned false, expected %lld", s, (long long) expected);
	}
	if (v != expected)
	{
		fail_msg("size_parse(\"%s\") = %lld, expected %lld", s, (long long) v,
				 (long long) expected);
	}
}

static void
check_size_invalid(const char *s)
{
	int64_t v = 777;
	if (size_parse(s, &v))
	{
		fail_msg("size_parse(\"%s\") accepted it (%lld), expected false", s, (long long) v);
	}
}

static void
test_size_parse_valid(void **state)
{
	(void) state;
	check_size("0", 0);
	check_size("12345", 12345);
	check_size("8MB", 8LL * 1024 * 1024);
	check_size("8mb", 8LL * 1024 * 1024);
	check_size("8 MB", 8LL * 1024 * 1024);
	check_size(" 8MB", 8LL * 1024 * 1024);
	check_size("1GB", 1024LL * 1024 * 1024);
	check_size("1 GB", 1024LL * 1024 * 1024);
	check_size("100kB", 100LL * 1024);
	check_size("100k", 100LL * 1024);
	check_size("2TB", 2LL * 1024 * 1024 * 1024 * 1024);
	check_size("1.5GB", 3LL * 512 * 1024 * 1024);
	check_size("512B", 512);
	check_size("4MiB", 4LL * 1024 * 1024);
}

static void
test_size_parse_invalid(void **state)
{
	(void) state;
	check_size_invalid("");
	check_size_invalid("MB");
	check_size_invalid("lots");
	check_size_invalid("-1");
	check_size_invalid("-8MB");
	check_size_invalid("8XB");
	check_size_invalid("8MBs");
	check_size_invalid("8 M B");
	check_size_invalid("8PB");
}

static void
test_size_parse_overflow(void **state)
{
	(void) state;
	/* 9999999999 TB does not fit in an int64_t: must be rejected, not wrapped */
	int64_t v = 0;
	bool ok = size_parse("9999999999TB", &v);
	if (ok)
	{
		fail_msg("size_parse(\"9999999999TB\") returned true with %lld bytes, expected false",
				 (long long) v);
	}
	v = 0;
	ok = size_parse("99999999999999999999", &v);
	if (ok)
	{
		fail_msg("size_parse(\"99999999999999999999\") returned true with %lld bytes, "
				 "expected false",
				 (long long) v);
	}
}

static void
check_size_format(int64_t bytes, const char *expected)
{
	char buf[32];
	memset(buf, 'Z', sizeof(buf));
	size_format(bytes, buf, sizeof(buf));
	if (strcmp(buf, expected) != 0)
	{
		fail_msg("size_format(%lld) = \"%s\", expected \"%s\"", (long long) bytes, buf, expected);
	}
}

static void
test_size_format(void **state)
{
	(void) state;
	check_size_format(0, "0 B");
	check_size_format(1, "1 B");
	check_size_format(1023, "1023 B");
	check_size_format(1024, "1.0 kB");
	check_size_format(1536, "1.5 kB");
	check_size_format(512 * 1024, "512 kB");
	check_size_format(8LL * 1024 * 1024, "8.0 MB");
	check_size_format(1288490189LL, "1.2 GB");
	check_size_format(1024LL * 1024 * 1024 * 1024, "1.0 TB");
	check_size_format(3LL * 1024 * 1024 * 1024 * 1024 * 1024, "3.0 PB");
	/* beyond PB the unit stays PB */
	check_size_format(2048LL * 1024 * 1024 * 1024 * 1024 * 1024, "2048 PB");
}

static void
test_size_format_truncates_safely(void **state)
{
	(void) state;
	char buf[4];
	memset(buf, 'Z', sizeof(buf));
	size_format(123456789, buf, sizeof(buf));
	assert_int_equal(buf[3], '\0');
	assert_int_equal(strlen(buf), 3);
}

static void
test_size_roundtrip(void **state)
{
	(void) state;
	/* what size_format prints for exact units, size_parse reads back */
	static const int64_t sizes[] = { 0, 100, 2048, 512LL * 1024, 3LL * 1024 * 1024 * 1024 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
	{
		char buf[32];
		int64_t back = -1;
		size_format(sizes[i], buf, sizeof(buf));
		if (!size_parse(buf, &back) || back != sizes[i])
		{
			fail_msg("size_parse(size_format(%lld) = \"%s\") = %lld", (long long) sizes[i], buf,
					 (long long) back);
		}
	}
}

/* ---- durations ---- */

static void
check_duration(double seconds, const char *expected)
{
	char buf[32];
	time_format_duration(seconds, buf, sizeof(buf));
	if (strcmp(buf, expected) != 0)
	{
		fail_msg("time_format_duration(%g) = \"%s\", expected \"%s\"", seconds, buf, expected);
	}
}

static void
test_time_format_duration(void **state)
{
	(void) state;
	check_duration(0.0, "0ms");
	check_duration(0.42, "420ms");
	check_duration(0.0004, "0ms");
	check_duration(0.0006, "1ms");
	check_duration(1.0, "1.0s");
	check_duration(3.2, "3.2s");
	check_duration(59.0, "59.0s");
	check_duration(60.0, "1m00s");
	check_duration(62.0, "1m02s");
	check_duration(125.4, "2m05s");
	check_duration(3599.0, "59m59s");
	check_duration(3600.0, "1h00m");
	check_duration(3720.0, "1h02m");
	check_duration(86400.0 + 3600.0 + 60.0, "25h01m");
}

static void
test_time_format_wall(void **state)
{
	(void) state;
	char buf[32];
	/* 2021-01-01 00:00:00 UTC, plus 1.5 s */
	time_format_wall(1609459200LL * 1000000 + 1500000, buf, sizeof(buf));
	assert_string_equal(buf, "2021-01-01 00:00:01");
	assert_true(time_wall_us() > 1609459200LL * 1000000);
	double t0 = time_now();
	double t1 = time_now();
	assert_true(t1 >= t0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sb_init_is_empty),
		cmocka_unit_test(test_sb_append),
		cmocka_unit_test(test_sb_append_n_embedded_bytes),
		cmocka_unit_test(test_sb_append_growth),
		cmocka_unit_test(test_sb_printf),
		cmocka_unit_test(test_sb_printf_growth_past_256),
		cmocka_unit_test(test_sb_printf_many_appends),
		cmocka_unit_test(test_sb_reset),
		cmocka_unit_test(test_sb_steal),
		cmocka_unit_test(test_xasprintf_and_strdup),
		cmocka_unit_test(test_strlist),
		cmocka_unit_test(test_size_parse_valid),
		cmocka_unit_test(test_size_parse_invalid),
		cmocka_unit_test(test_size_parse_overflow),
		cmocka_unit_test(test_size_format),
		cmocka_unit_test(test_size_format_truncates_safely),
		cmocka_unit_test(test_size_roundtrip),
		cmocka_unit_test(test_time_format_duration),
		cmocka_unit_test(test_time_format_wall),
	};
	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
