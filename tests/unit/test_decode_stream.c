/*
 * tests/unit/test_decode_stream.c — pgoutput streamed transactions (protocol
 * 2), without a server: the messages are built byte by byte from the
 * protocol documentation ("Logical Replication Message Formats").
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdc/decode_stream.h"

typedef struct Msg
{
	char buf[256];
	uint32_t len;
} Msg;

static void
m8(Msg *m, uint8_t v)
{
	m->buf[m->len++] = (char) v;
}

static void
m32(Msg *m, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
	{
		m8(m, (uint8_t) (v >> (8 * i)));
	}
}

static void
m64(Msg *m, uint64_t v)
{
	m32(m, (uint32_t) (v >> 32));
	m32(m, (uint32_t) v);
}

/* What the journal received: each message, as text of its type and bytes. */
typedef struct Emitted
{
	char types[64];
	uint32_t lens[64];
	int n;
} Emitted;

static bool
emit(void *arg, const char *data, uint32_t len, Lsn lsn)
{
	Emitted *e = arg;
	(void) lsn;
	e->types[e->n] = data[0];
	e->lens[e->n] = len;
	e->n++;
	return true;
}

static StreamResult
take(StreamSpool *s, const Msg *m, Emitted *e, char *commit)
{
	return stream_spool_take(s, m->buf, m->len, 0x1000, emit, e, commit);
}

static Msg
start(uint32_t xid, bool first)
{
	Msg m = { .len = 0 };
	m8(&m, 'S');
	m32(&m, xid);
	m8(&m, first ? 1 : 0);
	return m;
}

/* An Insert of a (sub)transaction: 'I', xid, relid, 'N', one text column. */
static Msg
insert(uint32_t xid)
{
	Msg m = { .len = 0 };
	m8(&m, 'I');
	m32(&m, xid);
	m32(&m, 16384);
	m8(&m, 'N');
	m8(&m, 0);
	m8(&m, 1);
	m8(&m, 't');
	m32(&m, 1);
	m8(&m, 'x');
	return m;
}

static Msg
simple(char type)
{
	Msg m = { .len = 0 };
	m8(&m, (uint8_t) type);
	return m;
}

static Msg
abort_msg(uint32_t xid, uint32_t subxid)
{
	Msg m = { .len = 0 };
	m8(&m, 'A');
	m32(&m, xid);
	m32(&m, subxid);
	return m;
}

static Msg
commit(uint32_t xid)
{
	Msg m = { .len = 0 };
	m8(&m, 'c');
	m32(&m, xid);
	m8(&m, 0);
	m64(&m, 0x5000); /* commit lsn */
	m64(&m, 0x5010); /* end lsn */
	m64(&m, 777);    /* timestamp */
	return m;
}

static int
spools(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL)
	{
		n += strncmp(de->d_name, "stream-", 7) == 0;
	}
	if (d != NULL)
	{
		closedir(d);
	}
	return n;
}

static void
test_commit_and_subabort(void **state)
{
	(void) state;
	char tmpl[] = "/tmp/pgshift-stream-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	StreamSpool s;
	stream_spool_init(&s, dir);
	Emitted e = { .n = 0 };
	char cm[STREAM_COMMIT_MSG_LEN];

	Msg m = start(700, true);
	assert_int_equal(take(&s, &m, &e, cm), STREAM_CONSUMED);
	m = insert(700);
	assert_int_equal(take(&s, &m, &e, cm), STREAM_CONSUMED);
	m = insert(701); /* a subtransaction, aborted below */
	assert_int_equal(take(&s, &m, &e, cm), STREAM_CONSUMED);
	m = simple('E');
	assert_int_equal(take(&s, &m, &e, cm), STREAM_CONSUMED);
	assert_int_equal(spools(dir), 1);

	/* another transaction between the blocks goes on as usual */
	m = simple('B');
	assert_int_equal(take(&s, &m, &e, cm), STREAM_NOT_MINE);

	m = start(700, false);
	assert_int_equal(take(&s, &m, &e, cm), STREAM_CONSUMED);
	m = insert(700);
	assert_int_equal(take(&s, &m, &e, cm), STREAM_CONSUMED);
	m = simple('E');
	assert_int_equal(take(&s, &m, &e, cm), STREAM_CONSUMED);
	m = abort_msg(700, 701);
	assert_int_equal(take(&s, &m, &e, cm), STREAM_CONSUMED);
	assert_int_equal(e.n, 0); /* nothing in the journal before the commit */

	m = commit(700);
	assert_int_equal(take(&s, &m, &e, cm), STREAM_COMMIT);
	/* Begin, the two inserts of 700 (xid removed), not the one of 701 */
	assert_int_equal(e.n, 3);
	assert_memory_equal(e.types, "BII", 3);
	assert_int_equal(e.lens[0], 21);
	assert_int_equal(e.lens[1], insert(700).len - 4);
	assert_int_equal(cm[0], 'C');
	assert_int_equal((unsigned char) cm[2 + 7], 0x00);
	assert_int_equal((unsigned char) cm[2 + 6], 0x50); /* commit lsn 0x5000 */
	assert_int_equal((unsigned char) cm[2 + 8 + 6], 0x50);
	assert_int_equal((unsigned char) cm[2 + 8 + 7], 0x10); /* end lsn 0x5010 */
	assert_int_equal(spools(dir), 0);
	stream_spool_close(&s);
	rmdir(dir);
}

static void
test_abort(void **state)
{
	(void) state;
	char tmpl[] = "/tmp/pgshift-stream-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	StreamSpool s;
	stream_spool_init(&s, dir);
	Emitted e = { .n = 0 };
	char cm[STREAM_COMMIT_MSG_LEN];
	Msg m = start(900, true);
	assert_int_equal(take(&s, &m, &e, cm), STREAM_CONSUMED);
	m = insert(900);
	assert_int_equal(take(&s, &m, &e, cm), STREAM_CONSUMED);
	m = simple('E');
	assert_int_equal(take(&s, &m, &e, cm), STREAM_CONSUMED);
	m = abort_msg(900, 900);
	assert_int_equal(take(&s, &m, &e, cm), STREAM_CONSUMED);
	assert_int_equal(e.n, 0);
	assert_int_equal(spools(dir), 0);
	/* a change outside a block is not ours */
	m = insert(900);
	assert_int_equal(take(&s, &m, &e, cm), STREAM_NOT_MINE);
	stream_spool_close(&s);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_and_subabort),
		cmocka_unit_test(test_abort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
