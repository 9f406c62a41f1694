/*
 * src/cli/cmd_compare.c — `pgshift compare schema` and `pgshift compare data`.
 *
 * Both connect to the two servers (exit 2 / 3 when one cannot be reached),
 * open a REPEATABLE READ READ ONLY transaction on each (the source in
 * --snapshot's snapshot when given), compare, print the report (--json for
 * a JSON document) and exit 0 when everything is equal, 8 (EXIT_DIFFERENT)
 * otherwise. The work itself is in src/compare.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "compare/compare.h"
#include "core/core.h"
#include "pg/pg.h"

/* The compare's spec: what compare/ needs of the options. */
static CompareSpec
compare_spec(const Options *opts)
{
	CompareSpec s = { .source = opts->source,
					  .target = opts->target,
					  .snapshot = opts->snapshot,
					  .filters = opts->filters,
					  .split = cli_split_spec(opts),
					  .jobs = opts->table_jobs,
					  .show_rows = opts->show_rows };
	return s;
}

/*
 * Connects to both sides and starts their transactions. Returns EXIT_OK or
 * the exit code to leave with.
 */
static int
compare_open(const CompareSpec *spec, PgConn *src, PgConn *tgt)
{
	memset(src, 0, sizeof(*src));
	memset(tgt, 0, sizeof(*tgt));
	if (!compare_connect(src, spec->source, "source", "compare", 0))
	{
		return EXIT_SOURCE;
	}
	if (!compare_connect(tgt, spec->target, "target", "compare", 0))
	{
		return EXIT_TARGET;
	}
	if (!compare_begin(src, spec->snapshot))
	{
		if (spec->snapshot != NULL && pg_is_connected(src))
		{
			log_hint(LOG_LEVEL_ERROR,
					 "A snapshot lives as long as the session that exported it: keep that session "
					 "open (its transaction too) for the whole compare.");
			return EXIT_PRECONDITION;
		}
		return EXIT_SOURCE;
	}
	if (spec->snapshot != NULL)
	{
		log_info("source: using snapshot \"%s\"", spec->snapshot);
	}
	if (!compare_begin(tgt, NULL))
	{
		return EXIT_TARGET;
	}
	return EXIT_OK;
}

static void
compare_close(PgConn *src, PgConn *tgt)
{
	/* read only: nothing to commit; only end a transaction that is open */
	if (pg_is_connected(src) && PQtransactionStatus(src->conn) != PQTRANS_IDLE)
	{
		pg_exec(src, "ROLLBACK");
	}
	if (pg_is_connected(tgt) && PQtransactionStatus(tgt->conn) != PQTRANS_IDLE)
	{
		pg_exec(tgt, "ROLLBACK");
	}
	pg_disconnect(src);
	pg_disconnect(tgt);
}

static int
side_exit(char side)
{
	switch (side)
	{
		case 's':
			return EXIT_SOURCE;
		case 't':
			return EXIT_TARGET;
		case 'i':
			return EXIT_INTERRUPTED;
		default:
			return EXIT_INTERNAL;
	}
}

/*
 * What both compare commands do first: check the URIs, build the spec (its
 * filters loaded), connect to both sides in their transactions.
 */
static int
compare_start(const Options *opts, CompareSpec *spec, PgConn *src, PgConn *tgt)
{
	if (!cli_require_uris(opts, true, true))
	{
		return EXIT_USAGE;
	}
	*spec = compare_spec(opts);
	if (!compare_filter_load(spec))
	{
		return EXIT_USAGE;
	}
	int rc = compare_open(spec, src, tgt);
	if (rc != EXIT_OK)
	{
		compare_close(src, tgt);
	}
	return rc;
}

int
cmd_compare_schema(Options *opts)
{
	CompareSpec spec;
	PgConn src, tgt;
	int rc = compare_start(opts, &spec, &src, &tgt);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	log_info("comparing the schemas of source and target");
	CmpSchemaReport r;
	char side = 0;
	if (!compare_schema(&src, &tgt, &r, &side))
	{
		compare_schema_free(&r);
		compare_close(&src, &tgt);
		return signals_interrupted() ? EXIT_INTERRUPTED : side_exit(side);
	}
	compare_close(&src, &tgt);
	compare_schema_print(&r, opts->json);
	rc = r.ndiffs > 0 ? EXIT_DIFFERENT : EXIT_OK;
	compare_schema_free(&r);
	return rc;
}

int
cmd_compare_data(Options *opts)
{
	CompareSpec spec;
	PgConn src, tgt;
	int rc = compare_start(opts, &spec, &src, &tgt);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	/*
	 * The workers share one view of each server: the source's in --snapshot's
	 * snapshot or one exported here, the target's in one exported here.
	 */
	char *src_snap =
		opts->snapshot != NULL ? xstrdup(opts->snapshot) : compare_export_snapshot(&src);
	if (!pg_is_connected(&src))
	{
		free(src_snap);
		compare_close(&src, &tgt);
		return EXIT_SOURCE;
	}
	char *tgt_snap = compare_export_snapshot(&tgt);
	if (!pg_is_connected(&tgt))
	{
		free(src_snap);
		free(tgt_snap);
		compare_close(&src, &tgt);
		return EXIT_TARGET;
	}

	CmpDataReport r;
	char side = 0;
	bool ok = compare_data(&spec, &src, &tgt, src_snap, tgt_snap, &r, &side);
	compare_close(&src, &tgt);
	free(src_snap);
	free(tgt_snap);
	if (!ok)
	{
		compare_data_free(&r);
		return side_exit(side);
	}
	compare_data_print(&r, opts->json);

	bool src_err = false, tgt_err = false, different = false;
	for (int i = 0; i < r.ntables; i++)
	{
		const CmpTable *t = &r.tables[i];
		if (t->status == CMP_ERROR)
		{
			src_err |= t->error_side == 's';
			tgt_err |= t->error_side == 't';
		}
		else if (t->status != CMP_EQUAL)
		{
			different = true;
		}
	}
	if (r.interrupted || signals_interrupted())
	{
		rc = EXIT_INTERRUPTED;
	}
	else if (src_err)
	{
		rc = EXIT_SOURCE;
	}
	else if (tgt_err)
	{
		rc = EXIT_TARGET;
	}
	else if (different)
	{
		rc = EXIT_DIFFERENT;
	}
	else
	{
		bool other_err = false;
		for (int i = 0; i < r.ntables; i++)
		{
			other_err |= r.tables[i].status == CMP_ERROR;
		}
		rc = other_err ? EXIT_INTERNAL : EXIT_OK;
	}
	compare_data_free(&r);
	return rc;
}
