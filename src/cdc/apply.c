/*
 * src/cdc/apply.c — replaying the journal on the target, exactly once.
 *
 * Each source transaction becomes one target transaction whose commit carries
 * pg_replication_origin_xact_setup(end_lsn, commit time): the origin's
 * progress commits atomically with the data, so after a crash the applier
 * starts from pg_replication_origin_progress() and skips every transaction
 * at or before it. Statements are prepared once per relation, kind and set
 * of unchanged-TOAST columns, and sent in pipeline mode: no round trip per
 * statement or transaction; results are read as they come back, so memory
 * stays flat whatever the transaction size.
 *
 * The applier stops at the first commit at or past the end position
 * (CdcShared.endpos, published by the follower), before applying it, never
 * inside a transaction.
 *
 * The three plugins differ only in what cdc_plugin_*() says: whether the
 * key columns come from the messages (pgoutput) or from the target, whether
 * --filters is applied here (no publication), whether a BEGIN tells where
 * its transaction commits (test_decoding's does not: journal_peek_commit).
 */
#include "catalog/catalog.h"
#include "cdc/apply_int.h"
#include "cdc/cdc.h"
#include "cdc/cdc_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PG_EPOCH_OFFSET_US 946684800000000LL
#define MAX_IN_FLIGHT      20000

static Pending *
q_push(Applier *a, char what, Lsn lsn, Lsn commit_end, uint32_t segno, char *desc,
	   const char *cdesc, const Stmt *stmt)
{
	if (a->qlen == a->qcap)
	{
		int ncap = a->qcap ? a->qcap * 2 : 1024;
		Pending *nq = xcalloc((size_t) ncap, sizeof(Pending));
		for (int i = 0; i < a->qlen; i++)
		{
			nq[i] = a->q[(a->qhead + i) % a->qcap];
		}
		free(a->q);
		a->q = nq;
		a->qcap = ncap;
		a->qhead = 0;
	}
	Pending *p = &a->q[(a->qhead + a->qlen) % a->qcap];
	p->what = what;
	p->lsn = lsn;
	p->commit_end = commit_end;
	p->segno = segno;
	p->desc = desc;
	p->cdesc = cdesc;
	p->stmt = stmt;
	p->out = NULL;
	a->qlen++;
	return p;
}

static void
q_pop(Applier *a)
{
	free(a->q[a->qhead].desc);
	a->q[a->qhead].desc = NULL;
	a->qhead = (a->qhead + 1) % a->qcap;
	a->qlen--;
}

static bool
wait_socket(Applier *a, bool want_write)
{
	struct pollfd pfd = { .fd = PQsocket(a->c.conn), .events = POLLIN };
	if (want_write)
	{
		pfd.events |= POLLOUT;
	}
	int r = poll(&pfd, 1, 100);
	if (r < 0 && errno != EINTR)
	{
		log_error("target: poll() failed: %s", strerror(errno));
		return false;
	}
	return true;
}

/* Reads the results available (all of them when block), in order. */
static bool
pump(Applier *a, bool block)
{
	for (;;)
	{
		if (!PQconsumeInput(a->c.conn))
		{
			pg_set_error(&a->c, NULL, "while applying changes");
			a->failed = true;
			return false;
		}
		while (a->qlen > 0)
		{
			if (PQisBusy(a->c.conn))
			{
				break;
			}
			PGresult *res = PQgetResult(a->c.conn);
			Pending *p = &a->q[a->qhead];
			if (p->what == 's')
			{
				if (PQresultStatus(res) == PGRES_PIPELINE_SYNC)
				{
					if (p->commit_end != LSN_INVALID && !a->failed)
					{
						a->applied = p->commit_end;
						a->txns++;
						atomic_store(&a->sh->applied_lsn, a->applied);
						atomic_store(&a->sh->applied_txns, a->txns);
						a->confirmed_segno = p->segno;
					}
					q_pop(a);
				}
				else if (res != NULL)
				{
					/* stray result of an aborted query before the sync */
				}
				PQclear(res);
				continue;
			}
			if (res == NULL)
			{
				q_pop(a);
				continue;
			}
			ExecStatusType st = PQresultStatus(res);
			if (p->out != NULL && st == PGRES_TUPLES_OK && !a->failed)
			{
				*p->out = res; /* apply_catalog_query's: several results, the last kept */
				continue;
			}
			if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_PIPELINE_ABORTED)
			{
				if (!a->failed)
				{
					char lsn[32];
					lsn_format(p->lsn, lsn, sizeof(lsn));
					const char *what =
						p->desc ? p->desc
								: (p->stmt ? p->stmt->sql : (p->cdesc ? p->cdesc : "a change"));
					char *ctx = xasprintf("while applying %s (source LSN %s)", what, lsn);
					pg_set_error(&a->c, res, ctx);
					free(ctx);
					if (!cdc_retry_retryable(a->c.sqlstate) &&
						!apply_ddl_explain_error(a, a->c.sqlstate))
					{
						log_hint(LOG_LEVEL_ERROR,
								 "Fix the cause on the target and run the same command "
								 "again (with --resume): it continues from this "
								 "transaction, nothing is applied twice.");
					}
				}
				a->failed = true;
			}
			PQclear(res);
		}
		if (!block || a->qlen == 0 || a->failed)
		{
			return !a->failed;
		}
		/* the server holds results until a Sync or a Flush: ask for them */
		PQsendFlushRequest(a->c.conn);
		int flush = PQflush(a->c.conn);
		if (flush < 0)
		{
			pg_set_error(&a->c, NULL, "while applying changes");
			a->failed = true;
			return false;
		}
		if (!wait_socket(a, flush == 1))
		{
			a->failed = true;
			return false;
		}
	}
}

/* Keeps the output flowing and the result queue short. */
static bool
after_send(Applier *a)
{
	int flush = PQflush(a->c.conn);
	if (flush < 0)
	{
		pg_set_error(&a->c, NULL, "while applying changes");
		a->failed = true;
		return false;
	}
	if (a->qlen > MAX_IN_FLIGHT)
	{
		PQsendFlushRequest(a->c.conn);
		flush = PQflush(a->c.conn);
	}
	while (flush == 1 || a->qlen > MAX_IN_FLIGHT)
	{
		if (!wait_socket(a, flush == 1) || !pump(a, false))
		{
			return false;
		}
		flush = PQflush(a->c.conn);
		if (flush < 0)
		{
			pg_set_error(&a->c, NULL, "while applying changes");
			a->failed = true;
			return false;
		}
		if (flush == 0 && a->qlen <= MAX_IN_FLIGHT)
		{
			break;
		}
	}
	return pump(a, false);
}

bool
apply_send_query(Applier *a, const char *sql, int n, const char *const *vals, Lsn lsn,
				 bool copy_sql)
{
	if (!PQsendQueryParams(a->c.conn, sql, n, NULL, vals, NULL, NULL, 0))
	{
		pg_set_error(&a->c, NULL, sql);
		a->failed = true;
		return false;
	}
	q_push(a, 'q', lsn, LSN_INVALID, 0, copy_sql ? xstrdup(sql) : NULL, copy_sql ? NULL : sql,
		   NULL);
	return after_send(a);
}

/* The connection for catalog look-ups, outside the pipeline. */
static bool
meta_connect(Applier *a)
{
	return a->meta.conn != NULL || pg_connect(&a->meta, a->co->target, "target", "apply-meta", 30);
}

PGresult *
apply_catalog_query(Applier *a, const char *sql, int n, const char *const *p)
{
	if (!a->ddl_in_txn)
	{
		PGresult *res = meta_connect(a) ? pg_query(&a->meta, sql, n, p) : NULL;
		a->failed = a->failed || res == NULL;
		return res;
	}
	PGresult *res = NULL;
	if (!PQsendQueryParams(a->c.conn, sql, n, NULL, p, NULL, NULL, 0))
	{
		pg_set_error(&a->c, NULL, sql);
		a->failed = true;
		return NULL;
	}
	q_push(a, 'q', LSN_INVALID, LSN_INVALID, 0, NULL, "a catalog look-up", NULL)->out = &res;
	/* the results of everything sent before, then this one's */
	PQsendFlushRequest(a->c.conn);
	if (!pump(a, true) || res == NULL)
	{
		PQclear(res);
		a->failed = true;
		return NULL;
	}
	return res;
}

/*
 * test_decoding and wal2json do not say which columns are the key, or
 * generated: ask the target.
 */
static bool
lookup_keys(Applier *a, CdcRelation *r)
{
	if (r->keys_looked_up)
	{
		return true;
	}
	const char *p[] = { r->qname };
	PGresult *res = apply_catalog_query(
		a,
		"SELECT a.attname, "
		" coalesce(a.attnum = ANY ((SELECT i.indkey FROM pg_catalog.pg_index i"
		"   WHERE i.indrelid = c.oid AND (i.indisreplident OR (c.relreplident = 'd' AND"
		"   i.indisprimary)) ORDER BY i.indisreplident DESC LIMIT 1)::int2[]), false),"
		" c.relreplident, a.attgenerated <> '' "
		"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
		"WHERE c.oid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
		1, p);
	if (res == NULL)
	{
		a->failed = true;
		return false;
	}
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		apply_ddl_missing_table(a, r->qname);
		return false;
	}
	for (int i = 0; i < r->ncols; i++)
	{
		r->cols[i].key = false;
		r->cols[i].typoid = 0;
		for (int k = 0; k < PQntuples(res); k++)
		{
			if (strcmp(PQgetvalue(res, k, 0), r->cols[i].name) == 0)
			{
				r->cols[i].key = PQgetvalue(res, k, 1)[0] == 't';
				/* typoid 1 marks a generated column: never written */
				r->cols[i].typoid = PQgetvalue(res, k, 3)[0] == 't' ? 1 : 0;
			}
		}
	}
	r->replident = PQgetvalue(res, 0, 2)[0];
	if (r->replident == 'f')
	{
		for (int i = 0; i < r->ncols; i++)
		{
			r->cols[i].key = r->cols[i].typoid != 1;
		}
	}
	PQclear(res);
	r->keys_looked_up = true;
	return true;
}

/*
 * A table the list made at the start does not hold: one created since (a new
 * partition, say), or one the filters leave out. Kept when the target has it
 * and either its partition root is kept or, with no parent, the filters keep
 * its name. 1 kept, -1 left out, 0 error.
 */
static int
later_table_kept(Applier *a, const CdcRelation *r)
{
	const char *p[] = { r->qname };
	PGresult *res =
		apply_catalog_query(a,
							"SELECT n.nspname, c.relname, c.oid = pg_catalog.to_regclass($1) "
							"FROM (SELECT pg_catalog.to_regclass($1) UNION SELECT "
							"pg_catalog.pg_partition_ancestors(pg_catalog.to_regclass($1))) "
							"AS p(relid) JOIN pg_catalog.pg_class c ON c.oid = p.relid "
							"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
							1, p);
	if (res == NULL)
	{
		return 0;
	}
	int kept = PQntuples(res) == 0 ? -1 : 0; /* not on the target: left out */
	for (int i = 0; i < PQntuples(res); i++)
	{
		if (PQgetvalue(res, i, 2)[0] == 't')
		{
			continue;
		}
		/* a partition follows its ancestors: kept with them, else left out */
		char *q = pg_qualname(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
		if (strlist_contains(a->co->applied_tables, q))
		{
			kept = 1;
		}
		else if (kept == 0)
		{
			kept = -1;
		}
		free(q);
	}
	const Filters *f = a->co->filters;
	if (kept == 0)
	{
		/* [exclude-table-data]: on the target, its changes left out */
		kept = filters_table_excluded(f, r->nspname, r->relname) ||
					   (f != NULL &&
						filters_name_listed(f->exclude_table_data, f->n_exclude_table_data,
											r->nspname, r->relname))
				   ? -1
				   : 1;
	}
	PQclear(res);
	return kept;
}

/*
 * test_decoding and wal2json decode every table of the database: with
 * --filters, only the changes of the tables the filters keep are applied
 * (pgoutput's publication already holds only those, but with --ddl the
 * event trigger adds every new table to it).
 */
static bool
rel_kept(Applier *a, CdcRelation *r)
{
	if ((cdc_plugin_uses_publication(a->co->plugin) && !a->co->ddl) ||
		a->co->applied_tables == NULL)
	{
		return true;
	}
	if (r->kept == 0)
	{
		r->kept = strlist_contains(a->co->applied_tables, r->qname) ? 1 : -1;
		if (r->kept < 0)
		{
			int k = later_table_kept(a, r);
			if (k == 0)
			{
				a->failed = true;
				return false;
			}
			r->kept = (signed char) k;
			if (k < 0)
			{
				log_info("changes of %s are not applied: the filters leave it out, or the "
						 "target does not have it",
						 r->qname);
			}
		}
	}
	return r->kept > 0;
}

/* test_decoding, wal2json: a table's columns as the target has them, in attribute order. */
static bool
target_columns(void *arg, CdcRelation *r, StrList *names)
{
	Applier *a = arg;
	if (!rel_kept(a, r))
	{
		return !a->failed; /* left out: its changes are skipped */
	}
	const char *p[] = { r->qname };
	PGresult *res =
		apply_catalog_query(a,
							"SELECT a.attname FROM pg_catalog.pg_attribute a "
							"WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 "
							"AND NOT a.attisdropped ORDER BY a.attnum",
							1, p);
	if (res == NULL)
	{
		return false;
	}
	/* none when the target does not have it: applying a change says so */
	for (int i = 0; i < PQntuples(res); i++)
	{
		strlist_add(names, PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return true;
}

static bool
col_skipped(const Applier *a, const CdcRelation *r, int i)
{
	return !cdc_plugin_describes_keys(a->co->plugin) && r->cols[i].typoid == 1;
}

/*
 * Finds or prepares the statement for this change (its SQL: apply_sql.c).
 */
static Stmt *
get_stmt(Applier *a, CdcRelation *r, char kind, const char *mask, Lsn lsn)
{
	for (Stmt *s = r->stmts; s != NULL; s = s->next)
	{
		if (s->kind == kind && s->version == r->version && strcmp(s->mask, mask) == 0)
		{
			return s;
		}
	}
	Stmt *s = xcalloc(1, sizeof(Stmt));
	s->kind = kind;
	s->mask = xstrdup(mask);
	s->version = r->version;
	s->name = xasprintf("pgshift_%d", ++a->nstmts);
	s->map = xcalloc((size_t) (2 * r->ncols + 1), sizeof(int));
	StrBuf sql;
	sb_init(&sql);
	s->nparams = apply_sql_build(r, kind, mask, &sql, s->map);
	if (!PQsendPrepare(a->c.conn, s->name, sql.data, 0, NULL))
	{
		pg_set_error(&a->c, NULL, sql.data);
		a->failed = true;
	}
	else
	{
		q_push(a, 'q', lsn, LSN_INVALID, 0, xasprintf("PREPARE %s", sql.data), NULL, NULL);
	}
	s->sql = sb_steal(&sql);
	s->next = r->stmts;
	r->stmts = s;
	return s;
}

static bool
apply_change(Applier *a, CdcMessage *m, Lsn lsn)
{
	CdcRelation *r = m->rel;
	bool apply_row = true;
	if (a->co->ddl && apply_ddl_is_log(r) &&
		(!apply_ddl_change(a, m, lsn, &apply_row) || !apply_row))
	{
		return !a->failed;
	}
	if (!rel_kept(a, r))
	{
		return !a->failed;
	}
	if (!cdc_plugin_describes_keys(a->co->plugin) && !lookup_keys(a, r))
	{
		return false;
	}
	int n = r->ncols;
	if (2 * n + 1 > a->maskcap)
	{
		a->maskcap = 2 * (2 * n + 1);
		a->mask = xrealloc(a->mask, (size_t) a->maskcap);
	}
	char *mask = a->mask;
	memset(mask, '-', (size_t) (2 * n));
	mask[2 * n] = '\0';
	char kind = m->kind == CDC_INSERT ? 'I' : (m->kind == CDC_UPDATE ? 'U' : 'D');
	const char *what = kind == 'I' ? "INSERT into" : (kind == 'U' ? "UPDATE of" : "DELETE from");
	if ((kind != 'D' && m->newtup.ncols > n) || (m->old_kind && m->oldtup.ncols > n))
	{
		log_error("change on %s has more columns than its relation", r->qname);
		a->failed = true;
		return false;
	}
	if (kind == 'I' || kind == 'U')
	{
		for (int i = 0; i < m->newtup.ncols; i++)
		{
			/*
			 * An UPDATE that did not change the key (no old tuple) does not set
			 * it: nothing to write, and an identity column GENERATED ALWAYS
			 * may not be set.
			 */
			bool unchanged_key =
				kind == 'U' && !m->old_kind && r->cols[i].key && r->replident != 'f';
			if (m->newtup.kinds[i] != 'u' && !col_skipped(a, r, i) && !unchanged_key)
			{
				mask[i] = 's';
			}
		}
	}
	if (kind != 'I')
	{
		bool have_key = false;
		for (int i = 0; i < n; i++)
		{
			if (!r->cols[i].key)
			{
				continue;
			}
			if (m->old_kind && i < m->oldtup.ncols && m->oldtup.kinds[i] != 'u')
			{
				mask[n + i] = m->oldtup.kinds[i] == 'n' ? 'z' : 'k';
				have_key = true;
			}
			else if (m->old_kind && r->replident == 'f')
			{
				/* a full old row: test_decoding leaves NULL columns out of it */
				mask[n + i] = 'z';
				have_key = true;
			}
			else if (!m->old_kind && i < m->newtup.ncols && m->newtup.kinds[i] != 'u')
			{
				mask[n + i] = 'n';
				have_key = true;
			}
		}
		if (!have_key)
		{
			log_error("%s %s cannot be applied: the table has no replica identity", what, r->qname);
			log_hint(LOG_LEVEL_ERROR,
					 "Add a primary key or run ALTER TABLE %s REPLICA IDENTITY "
					 "FULL on the source (and on the target), then resume.",
					 r->qname);
			a->failed = true;
			return false;
		}
	}
	Stmt *s = get_stmt(a, r, kind, mask, lsn);
	if (a->failed)
	{
		return false;
	}
	if (s->nparams + 1 > a->valscap)
	{
		a->valscap = 2 * (s->nparams + 1);
		a->vals = xrealloc(a->vals, sizeof(char *) * (size_t) a->valscap);
	}
	const char **vals = a->vals;
	for (int i = 0; i < s->nparams; i++)
	{
		int c = s->map[i];
		vals[i] = c >= n ? m->oldtup.values[c - n] : m->newtup.values[c];
	}
	int sent = PQsendQueryPrepared(a->c.conn, s->name, s->nparams, vals, NULL, NULL, 0);
	if (!sent)
	{
		pg_set_error(&a->c, NULL, "while sending a change");
		a->failed = true;
		return false;
	}
	q_push(a, 'q', lsn, LSN_INVALID, 0, NULL, NULL, s);
	a->rows++;
	return after_send(a);
}

/* Sends the TRUNCATE gathered (the kept tables among them), if any. */
static bool
truncate_flush(Applier *a)
{
	if (a->ntrunc == 0)
	{
		return true;
	}
	StrBuf sql;
	sb_init(&sql);
	sb_append(&sql, "TRUNCATE ONLY ");
	int n = 0;
	for (int i = 0; i < a->ntrunc; i++)
	{
		if (rel_kept(a, a->trunc[i]))
		{
			sb_printf(&sql, "%s%s", n++ ? ", " : "", a->trunc[i]->qname);
		}
	}
	a->ntrunc = 0;
	if (n == 0 || a->failed)
	{
		sb_free(&sql);
		return !a->failed;
	}
	if (a->trunc_flags & 2)
	{
		sb_append(&sql, " RESTART IDENTITY");
	}
	if (a->trunc_flags & 1)
	{
		sb_append(&sql, " CASCADE");
	}
	bool ok = apply_send_query(a, sql.data, 0, NULL, a->trunc_lsn, true);
	sb_free(&sql);
	return ok;
}

/* Gathers a TRUNCATE message: with the previous one if of the same statement. */
static bool
apply_truncate(Applier *a, const CdcMessage *m, Lsn lsn)
{
	if (a->ntrunc > 0 && (lsn != a->trunc_lsn || m->trunc_flags != a->trunc_flags) &&
		!truncate_flush(a))
	{
		return false;
	}
	if (a->ntrunc + m->ntrunc > a->trunc_cap)
	{
		a->trunc_cap = 2 * (a->ntrunc + m->ntrunc);
		a->trunc = xrealloc(a->trunc, sizeof(CdcRelation *) * (size_t) a->trunc_cap);
	}
	memcpy(a->trunc + a->ntrunc, m->trunc_rels, sizeof(CdcRelation *) * (size_t) m->ntrunc);
	a->ntrunc += m->ntrunc;
	a->trunc_flags = m->trunc_flags;
	a->trunc_lsn = lsn;
	return true;
}

static void
free_stmts(CdcDecoder *d)
{
	for (int i = 0; i < d->nrels; i++)
	{
		Stmt *s = d->rels[i]->stmts;
		while (s != NULL)
		{
			Stmt *next = s->next;
			free(s->mask);
			free(s->name);
			free(s->map);
			free(s->sql);
			free(s);
			s = next;
		}
		d->rels[i]->stmts = NULL;
	}
}

static Lsn
origin_progress(Applier *a)
{
	const char *p[] = { a->co->origin };
	char *v = NULL;
	if (!pg_query_value(&a->c, "SELECT pg_catalog.pg_replication_origin_progress($1, true)", 1, p,
						&v))
	{
		return LSN_INVALID;
	}
	Lsn l = LSN_INVALID;
	if (v != NULL)
	{
		lsn_parse(v, &l);
	}
	free(v);
	return l;
}

/* Reports the replayed position (the end position comes from the follower). */
static void
poll_sentinel(Applier *a, double *last)
{
	double now = time_now();
	if (now - *last < 0.3 || a->co->state == NULL)
	{
		return;
	}
	*last = now;
	sentinel_update_positions(a->co->state, LSN_INVALID, LSN_INVALID, a->applied);
}

/* Target session: origin, replica role, progress, pipeline mode. */
static bool
apply_open(Applier *a)
{
	const CdcOptions *co = a->co;
	/* a short wait here: cdc/retry.c goes on with its backoff and --retry-timeout */
	if (!pg_connect(&a->c, co->target, "target", "apply", 2))
	{
		return false;
	}
	const char *p[] = { co->origin };
	if (!pg_exec_params(&a->c, "SELECT pg_catalog.pg_replication_origin_session_setup($1)", 1, p))
	{
		cdc_origin_setup_failed(&a->c, co->origin);
		return false;
	}
	if (!cdc_triggers_begin(&a->c, co))
	{
		return false;
	}
	/* a target fenced by a cut-over (followed back with --reverse) stays writable for us */
	pg_exec(&a->c, "SET default_transaction_read_only TO off");
	a->progress = origin_progress(a);
	a->applied = a->progress;
	char pb[32];
	lsn_format(a->progress, pb, sizeof(pb));
	log_info("applying changes on the target from origin \"%s\" progress %s", co->origin, pb);
	atomic_store(&a->sh->applied_lsn, a->applied);
	if (!PQenterPipelineMode(a->c.conn) || PQsetnonblocking(a->c.conn, 1) != 0)
	{
		pg_set_error(&a->c, NULL, "while entering pipeline mode");
		return false;
	}
	journal_reader_open(&a->jr, co->journal_dir);
	decoder_init(&a->dec, co->plugin);
	a->dec.columns = target_columns;
	a->dec.columns_arg = a;
	return true;
}

/*
 * Nothing to read for now: results, the end position, the receiver.
 * false: leave the loop (a->done set when it is the end).
 */
static bool
apply_idle(Applier *a)
{
	CdcShared *sh = a->sh;
	if (!pump(a, false))
	{
		return false;
	}
	if (!a->in_txn && a->qlen == 0)
	{
		Lsn up = a->keepalive_lsn > a->applied ? a->keepalive_lsn : a->applied;
		atomic_store(&sh->caught_up_lsn, up);
	}
	Lsn endpos = atomic_load(&sh->endpos);
	if (!a->in_txn && a->qlen == 0 && endpos != LSN_INVALID && a->applied >= endpos)
	{
		a->done = true;
		return false;
	}
	if (atomic_load(&sh->receiver_failed))
	{
		log_error("the receiver stopped on an error: stopping the applier");
		return false;
	}
	if (atomic_load(&sh->receiver_done) && ++a->idle_rounds > 3)
	{
		/* the receiver stopped and everything it wrote is read */
		a->done = !atomic_load(&sh->receiver_failed) && endpos != LSN_INVALID;
		return false;
	}
	usleep(10000);
	return true;
}

/*
 * test_decoding's BEGIN does not say where the transaction commits: look
 * ahead in the journal. Transactions come in commit order, so once one
 * commits past the origin's progress, all the next ones do too. false: the
 * BEGIN was put back (its COMMIT is not in the journal yet), or damage.
 */
static bool
begin_find_commit(Applier *a)
{
	Lsn commit_end = LSN_INVALID;
	int pk = journal_peek_commit(&a->jr, &commit_end);
	if (pk < 0)
	{
		a->failed = true;
		return false;
	}
	if (pk == 0)
	{
		/* read this BEGIN again later */
		journal_unread(&a->jr);
		a->in_txn = false;
		a->next = IDLE_ONCE;
		return false;
	}
	a->skipping = commit_end <= a->progress;
	a->past_progress = !a->skipping;
	return true;
}

static void
apply_begin(Applier *a, Lsn lsn)
{
	const CdcMessage *m = &a->m;
	if (a->in_txn && !a->skipping)
	{
		/* a transaction cut short in the journal, sent again: drop the partial one */
		apply_send_query(a, "ROLLBACK", 0, NULL, lsn, false);
	}
	a->in_txn = true;
	a->ddl_in_txn = false;
	a->skipping =
		m->final_lsn != LSN_INVALID && a->progress != LSN_INVALID && m->final_lsn < a->progress;
	if (!cdc_plugin_begin_knows_commit(a->co->plugin) && a->progress != LSN_INVALID &&
		!a->past_progress && !begin_find_commit(a))
	{
		return;
	}
	Lsn endpos = atomic_load(&a->sh->endpos);
	if (!a->skipping && m->final_lsn != LSN_INVALID && endpos != LSN_INVALID &&
		m->final_lsn >= endpos)
	{
		a->done = true;
		a->in_txn = false;
		return;
	}
	if (!a->skipping)
	{
		apply_send_query(a, "BEGIN", 0, NULL, lsn, false);
	}
}

static void
apply_commit(Applier *a, Lsn lsn)
{
	const CdcMessage *m = &a->m;
	if (!a->in_txn)
	{
		return;
	}
	a->in_txn = false;
	if (a->skipping)
	{
		return;
	}
	/* test_decoding: the commit LSN is only known now */
	bool already = a->progress != LSN_INVALID && m->end_lsn <= a->progress;
	/*
	 * pgoutput and wal2json give the commit record's start; test_decoding's
	 * COMMIT message comes at its end: a commit ending at the end position
	 * was made before it.
	 */
	Lsn endpos = atomic_load(&a->sh->endpos);
	bool past_end = endpos != LSN_INVALID &&
					(cdc_plugin_commit_lsn_is_end(a->co->plugin) ? m->commit_lsn > endpos
																 : m->commit_lsn >= endpos);
	if (already || past_end)
	{
		apply_send_query(a, "ROLLBACK", 0, NULL, lsn, false);
		a->done = a->done || past_end;
		return;
	}
	char lsnbuf[32], ts[64];
	lsn_format(m->end_lsn, lsnbuf, sizeof(lsnbuf));
	if (m->commit_ts != 0)
	{
		snprintf(ts, sizeof(ts), "%lld", (long long) m->commit_ts + PG_EPOCH_OFFSET_US);
	}
	const char *pv[] = { lsnbuf, m->commit_ts != 0 ? ts : NULL };
	apply_send_query(a,
					 "SELECT pg_catalog.pg_replication_origin_xact_setup($1::pg_lsn, "
					 "coalesce(pg_catalog.to_timestamp($2::float8 / 1e6), now()))",
					 2, pv, lsn, false);
	apply_send_query(a, "COMMIT", 0, NULL, lsn, false);
	if (!a->failed)
	{
		PQpipelineSync(a->c.conn);
		q_push(a, 's', lsn, m->end_lsn, a->jr.segno, NULL, NULL, NULL);
		after_send(a);
		if (a->ddl_in_txn)
		{
			/* the look-ups of the next transactions must see the new schema */
			PQflush(a->c.conn);
			pump(a, true);
		}
	}
	if (m->commit_ts != 0)
	{
		double lag = (double) (time_wall_us() - (m->commit_ts + PG_EPOCH_OFFSET_US)) / 1e6;
		atomic_store(&a->sh->last_commit_ts_lag, lag);
	}
}

/* One frame of the journal: decoded, then applied (or skipped). */
static void
apply_frame(Applier *a, const JournalFrame *f)
{
	if (f->kind == JF_KEEPALIVE)
	{
		if (!a->in_txn)
		{
			a->keepalive_lsn = f->lsn; /* caught up to here once nothing is pending */
		}
		Lsn endpos = atomic_load(&a->sh->endpos);
		if (!a->in_txn && endpos != LSN_INVALID && f->lsn >= endpos)
		{
			a->done = true;
		}
		return;
	}
	if (!decoder_decode(&a->dec, f->data, f->len, f->lsn, &a->m))
	{
		a->failed = true;
		return;
	}
	if (a->m.kind != CDC_TRUNCATE && !truncate_flush(a))
	{
		return;
	}
	bool applying = a->in_txn && !a->skipping;
	switch (a->m.kind)
	{
		case CDC_BEGIN:
			apply_begin(a, f->lsn);
			break;
		case CDC_COMMIT:
			apply_commit(a, f->lsn);
			break;
		case CDC_INSERT:
		case CDC_UPDATE:
		case CDC_DELETE:
			if (applying)
			{
				apply_change(a, &a->m, f->lsn);
			}
			break;
		case CDC_TRUNCATE:
			if (applying)
			{
				apply_truncate(a, &a->m, f->lsn);
			}
			break;
		case CDC_ORIGIN:
			if (applying && a->co->local_only)
			{
				/* --local-only: a replication wrote it here; it must not loop back */
				apply_send_query(a, "ROLLBACK", 0, NULL, f->lsn, false);
				a->skipping = true;
			}
			break;
		default:
			break;
	}
	atomic_store(&a->sh->applied_rows, a->rows);
}

/*
 * pgcopydb's prefetch mode (the sentinel's apply is off): between
 * transactions, the applier waits; the receiver goes on. True while paused.
 */
static bool
apply_paused(Applier *a)
{
	bool off = !a->in_txn && atomic_load(&a->sh->prefetch);
	if (off != a->paused)
	{
		a->paused = off;
		a->failed = a->failed || (!off && !cdc_triggers_refresh(a->co)); /* restored since? */
		log_info(off ? "prefetch only (the sentinel's apply is off): changes are received, not "
					   "applied, until \"pgshift stream sentinel set apply\""
					 : "the sentinel's apply is on: applying");
	}
	if (off)
	{
		pump(a, false);
		usleep(100000);
	}
	return off;
}

/* Reads and applies the journal until the end position, a failure or a stop. */
static void
apply_loop(Applier *a)
{
	while (!a->failed && !a->done && !signals_interrupted() && !atomic_load(&a->sh->stop))
	{
		poll_sentinel(a, &a->last_sentinel);
		if (apply_paused(a))
		{
			if (atomic_load(&a->sh->receiver_failed))
			{
				log_error("the receiver stopped on an error: stopping the applier");
				break;
			}
			continue;
		}
		if (a->confirmed_segno > a->pruned_before + 1)
		{
			/* segments whose every transaction is on the target (busy or not) */
			journal_prune(a->co->journal_dir, a->confirmed_segno);
			a->pruned_before = a->confirmed_segno - 1;
		}
		JournalFrame f;
		int rc = a->next == IDLE_ONCE ? 0 : journal_read(&a->jr, &f);
		bool reread = a->next == REREAD && rc == 1;
		a->next = a->next == IDLE_ONCE || (a->next == REREAD && rc != 1) ? REREAD : READ;
		if (rc < 0)
		{
			a->failed = true;
			break;
		}
		if (rc == 0)
		{
			if (!apply_idle(a))
			{
				break;
			}
			continue;
		}
		if (!reread)
		{
			a->idle_rounds = 0;
		}
		apply_frame(a, &f);
	}
}

/* Rolls back an open transaction, waits for the results, reports and frees. */
static void
apply_close(Applier *a)
{
	if (a->in_txn && !a->skipping && !a->failed)
	{
		apply_send_query(a, "ROLLBACK", 0, NULL, LSN_INVALID, false);
		PQpipelineSync(a->c.conn);
		q_push(a, 's', LSN_INVALID, LSN_INVALID, a->jr.segno, NULL, NULL, NULL);
	}
	if (!a->failed && a->c.conn != NULL)
	{
		PQflush(a->c.conn);
		pump(a, true);
	}
	if (a->confirmed_segno > 1 && !a->failed)
	{
		journal_prune(a->co->journal_dir, a->confirmed_segno);
	}
	if (a->co->state != NULL)
	{
		sentinel_update_positions(a->co->state, LSN_INVALID, LSN_INVALID, a->applied);
	}
	char ab[32];
	lsn_format(a->applied, ab, sizeof(ab));
	log_info("applier stopped at %s: %lld transactions, %lld changes applied%s", ab,
			 (long long) a->txns, (long long) a->rows, a->done ? " (end position reached)" : "");
	while (a->qlen > 0)
	{
		q_pop(a);
	}
	free(a->q);
	free(a->vals);
	free(a->mask);
	free(a->trunc);
	apply_ddl_free(a);
	free_stmts(&a->dec);
	message_free(&a->m);
	decoder_free(&a->dec);
	journal_reader_close(&a->jr);
	pg_disconnect(&a->c);
	if (a->meta.conn != NULL)
	{
		pg_disconnect(&a->meta);
	}
}

/*
 * One session on the target, from the origin's progress (a transaction a
 * lost session left open is replayed whole). *failed: an error, whose
 * SQLSTATE and message are copied for the retry decision (cdc/retry.c).
 */
static bool
apply_session(const CdcOptions *co, CdcShared *sh, CdcRetry *retry, bool *failed, char *sqlstate,
			  char **errmsg)
{
	Applier a;
	memset(&a, 0, sizeof(a));
	a.co = co;
	a.sh = sh;
	a.jr.fd = -1;
	bool opened = apply_open(&a);
	if (opened)
	{
		cdc_retry_ok(retry);
		apply_loop(&a);
	}
	*failed = !opened || a.failed;
	const PgConn *bad = a.c.sqlstate[0] != '\0' || a.meta.conn == NULL ? &a.c : &a.meta;
	snprintf(sqlstate, 6, "%s", bad->sqlstate);
	*errmsg = bad->errmsg ? xstrdup(bad->errmsg) : NULL;
	if (opened)
	{
		apply_close(&a);
		return !a.failed && (a.done || atomic_load(&sh->endpos) == LSN_INVALID);
	}
	journal_reader_close(&a.jr);
	decoder_free(&a.dec);
	pg_disconnect(&a.c);
	return false;
}

bool
cdc_apply(const CdcOptions *co, CdcShared *sh)
{
	CdcRetry retry;
	cdc_retry_init(&retry, "target", co->retry_timeout, sh);
	retry.also_stop = &sh->receiver_failed;
	bool ok, failed;
	char sqlstate[6];
	char *errmsg = NULL;
	while (!(ok = apply_session(co, sh, &retry, &failed, sqlstate, &errmsg)) && failed &&
		   cdc_retry_wait(&retry, sqlstate, errmsg))
	{
		free(errmsg);
	}
	free(errmsg);
	/* once, after the last session: an outage keeps them disabled (recorded) */
	cdc_triggers_end(co);
	if (failed)
	{
		atomic_store(&sh->applier_failed, 1);
	}
	return ok;
}
