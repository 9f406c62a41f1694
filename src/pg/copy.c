/*
 * src/pg/copy.c — the COPY pipe: source COPY TO STDOUT into target COPY FROM STDIN.
 *
 * Bytes go from PQgetCopyData to PQputCopyData untouched, gathered into a
 * fixed 256 kB buffer so the target sees large writes; memory stays flat
 * whatever the table size. When either side fails, the other side's COPY is
 * ended too, and both connections are drained back to idle.
 */
#include "pg/pg.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define COPY_BUF_SIZE (256 * 1024)

/* Reads the remaining results of a connection until idle; false if one failed. */
static bool
drain_results(PgConn *c, const char *context, bool report)
{
	bool ok = true;
	PGresult *res;
	while ((res = PQgetResult(c->conn)) != NULL)
	{
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_COPY_OUT)
		{
			/* still streaming: read and drop the rest */
			char *buf;
			int n;
			PQclear(res);
			while ((n = PQgetCopyData(c->conn, &buf, 0)) > 0)
			{
				PQfreemem(buf);
			}
			continue;
		}
		if (st == PGRES_COPY_IN)
		{
			PQputCopyEnd(c->conn, "aborted by pgshift");
			PQclear(res);
			continue;
		}
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		{
			if (ok && report)
			{
				pg_set_error(c, res, context);
			}
			ok = false;
		}
		PQclear(res);
	}
	return ok;
}

static bool
copy_start(PgConn *c, const char *sql, ExecStatusType want)
{
	pg_clear_error(c);
	PGresult *res = PQexec(c->conn, sql);
	if (PQresultStatus(res) != want)
	{
		char *ctx = xasprintf("while running: %s", sql);
		pg_set_error(c, res, ctx);
		free(ctx);
		PQclear(res);
		return false;
	}
	PQclear(res);
	return true;
}

static bool
flush_buffer(PgConn *dst, const char *buf, size_t len)
{
	if (len == 0)
	{
		return true;
	}
	if (PQputCopyData(dst->conn, buf, (int) len) != 1)
	{
		return false;
	}
	return true;
}

/*
 * Moves the rows of a started COPY pair through the buffer; *src_ok and
 * *dst_ok say which side, if any, failed. The results are left to the caller.
 */
static void
copy_stream(PgConn *src, PgConn *dst, CopyStats *stats, int64_t *progress_bytes, bool *src_ok,
			bool *dst_ok)
{
	char *out = xmalloc(COPY_BUF_SIZE);
	size_t used = 0;
	*src_ok = true;
	*dst_ok = true;
	int64_t reported = 0;
	for (;;)
	{
		char *row;
		int n = PQgetCopyData(src->conn, &row, 0);
		if (n == -1)
		{
			break;
		}
		if (n < 0)
		{
			*src_ok = false;
			break;
		}
		stats->bytes += n;
		if (used + (size_t) n > COPY_BUF_SIZE)
		{
			if (!flush_buffer(dst, out, used))
			{
				PQfreemem(row);
				*dst_ok = false;
				break;
			}
			used = 0;
		}
		if ((size_t) n > COPY_BUF_SIZE)
		{
			if (!flush_buffer(dst, row, (size_t) n))
			{
				PQfreemem(row);
				*dst_ok = false;
				break;
			}
		}
		else
		{
			memcpy(out + used, row, (size_t) n);
			used += (size_t) n;
		}
		PQfreemem(row);
		if (progress_bytes != NULL && stats->bytes - reported >= 4 * 1024 * 1024)
		{
			__atomic_fetch_add(progress_bytes, stats->bytes - reported, __ATOMIC_RELAXED);
			reported = stats->bytes;
		}
	}
	if (progress_bytes != NULL)
	{
		__atomic_fetch_add(progress_bytes, stats->bytes - reported, __ATOMIC_RELAXED);
	}
	if (*src_ok && *dst_ok)
	{
		*dst_ok = flush_buffer(dst, out, used);
	}
	free(out);
}

bool
pg_copy_pipe(PgConn *src, const char *copy_out, PgConn *dst, const char *copy_in, CopyStats *stats,
			 int64_t *progress_bytes)
{
	stats->bytes = 0;
	stats->rows = 0;

	if (!copy_start(dst, copy_in, PGRES_COPY_IN))
	{
		return false;
	}
	if (!copy_start(src, copy_out, PGRES_COPY_OUT))
	{
		PQputCopyEnd(dst->conn, "source COPY failed");
		drain_results(dst, NULL, false);
		return false;
	}

	bool src_ok, dst_ok;
	copy_stream(src, dst, stats, progress_bytes, &src_ok, &dst_ok);

	char *ctx_out = xasprintf("while running: %s", copy_out);
	char *ctx_in = xasprintf("while running: %s", copy_in);
	if (!dst_ok)
	{
		/* target failed mid-stream: stop the source and drain it */
		PQcancel(src->cancel, (char[256]){ 0 }, 256);
		drain_results(src, NULL, false);
		PQputCopyEnd(dst->conn, NULL);
		if (drain_results(dst, ctx_in, true))
		{
			pg_set_error(dst, NULL, ctx_in);
		}
		free(ctx_out);
		free(ctx_in);
		return false;
	}
	src_ok = drain_results(src, ctx_out, true) && src_ok;
	if (!src_ok)
	{
		if (src->errmsg == NULL)
		{
			pg_set_error(src, NULL, ctx_out);
		}
		PQputCopyEnd(dst->conn, "source COPY failed");
		drain_results(dst, NULL, false);
		free(ctx_out);
		free(ctx_in);
		return false;
	}
	if (PQputCopyEnd(dst->conn, NULL) != 1)
	{
		pg_set_error(dst, NULL, ctx_in);
		free(ctx_out);
		free(ctx_in);
		return false;
	}
	PGresult *res;
	bool ok = true;
	while ((res = PQgetResult(dst->conn)) != NULL)
	{
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
		{
			const char *t = PQcmdTuples(res);
			stats->rows = t && *t ? strtoll(t, NULL, 10) : 0;
		}
		else if (ok)
		{
			pg_set_error(dst, res, ctx_in);
			ok = false;
		}
		PQclear(res);
	}
	free(ctx_out);
	free(ctx_in);
	return ok;
}
