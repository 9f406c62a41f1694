/*
 * src/check/check.c — `pgshift check`: connections, versions, the pg_dump
 * pgshift will run, then each group of checks (check_privs.c,
 * check_follow.c, check_objects.c).
 *
 * Invariant: nothing here writes to either server. Sessions are opened
 * with default_transaction_read_only = on as a second guard, every query is
 * a catalog read, and no lock beyond AccessShare on catalogs is taken. A
 * check that cannot be made (a query refused) becomes a warning saying so,
 * never a silent ok.
 */
#include "check/check_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/schema.h"

const char *
check_level_name(CheckLevel l)
{
	switch (l)
	{
		case CHECK_OK:
			return "ok";
		case CHECK_WARNING:
			return "warning";
		case CHECK_BLOCKING:
			return "blocking";
	}
	return "?";
}

void
check_add(CheckCtx *x, const char *id, CheckLevel level, const char *fix, const char *fmt, ...)
{
	CheckReport *r = x->r;
	if (r->n == r->cap)
	{
		r->cap = r->cap ? 2 * r->cap : 32;
		r->items = xrealloc(r->items, sizeof(CheckItem) * (size_t) r->cap);
	}
	CheckItem *it = &r->items[r->n++];
	va_list ap;
	va_start(ap, fmt);
	it->found = xvasprintf(fmt, ap);
	va_end(ap);
	it->id = xstrdup(id);
	it->level = level;
	it->fix = fix != NULL ? xstrdup(fix) : NULL;
	if (level == CHECK_BLOCKING)
	{
		r->nblocking++;
	}
	else if (level == CHECK_WARNING)
	{
		r->nwarning++;
	}
}

char *
check_value(PgConn *c, const char *sql, int n, const char *const *p)
{
	bool quiet = c->quiet_errors;
	c->quiet_errors = true;
	char *v = NULL;
	bool ok = pg_query_value(c, sql, n, p, &v);
	c->quiet_errors = quiet;
	if (!ok)
	{
		log_debug("%s: check query failed: %s", c->side, c->errmsg ? c->errmsg : "?");
		return NULL;
	}
	return v != NULL ? v : xstrdup("");
}

bool
check_is_true(PgConn *c, const char *sql)
{
	char *v = check_value(c, sql, 0, NULL);
	bool t = v != NULL && strcmp(v, "t") == 0;
	free(v);
	return t;
}

/* One side: connected read-only, its version, role and whether superuser. */
static bool
check_connect(CheckCtx *x, PgConn *c, const char *side, const char *conninfo, int *version,
			  bool *super, char **user)
{
	if (!pg_connect(c, conninfo, side, "check", 0))
	{
		check_add(x, side[0] == 's' ? "source.connection" : "target.connection", CHECK_BLOCKING,
				  "Check the connection string, the server's pg_hba.conf and the password "
				  "(\"pgshift ping\" tries both servers).",
				  "cannot connect to the %s: %s", side, c->errmsg ? c->errmsg : "?");
		pg_disconnect(c);
		return false;
	}
	c->quiet_errors = true;
	pg_exec(c, "SET default_transaction_read_only = on");
	*version = pg_server_version(c);
	*super = check_is_true(c, "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = "
							  "current_user");
	*user = check_value(c, "SELECT current_user", 0, NULL);
	char *db = check_value(c, "SELECT current_database()", 0, NULL);
	char *vs = pg_server_version_string(c);
	check_add(x, side[0] == 's' ? "source.connection" : "target.connection", CHECK_OK, NULL,
			  "%s: %s, database \"%s\", role \"%s\"%s", side, vs ? vs : "?", db ? db : "?",
			  *user ? *user : "?", *super ? " (superuser)" : "");
	if (side[0] == 't')
	{
		x->tgt_db = db;
		db = NULL;
	}
	free(db);
	free(vs);
	return true;
}

/* pg_dump / pg_restore as new as the source server (pg_dump refuses a newer server). */
static void
check_tools(CheckCtx *x)
{
	int src_major = x->src_version / 10000;
	const char *progs[] = { "pg_dump", "pg_restore" };
	for (int i = 0; i < 2; i++)
	{
		int v = 0;
		char *path = NULL;
		bool ok = schema_tool_version(progs[i], &v, &path);
		char id[32];
		snprintf(id, sizeof(id), "tools.%s", progs[i]);
		if (!ok)
		{
			check_add(x, id, CHECK_BLOCKING,
					  "Install the PostgreSQL client programs, or set PGSHIFT_PG_BIN to the "
					  "directory holding pg_dump and pg_restore.",
					  "\"%s\" could not be run", path);
		}
		else if (x->src_ok && v / 10000 < src_major)
		{
			char *fix = xasprintf("Install the PostgreSQL %d (or newer) client programs and "
								  "set PGSHIFT_PG_BIN to their directory (e.g. "
								  "PGSHIFT_PG_BIN=/usr/lib/postgresql/%d/bin).",
								  src_major, src_major);
			check_add(x, id, CHECK_BLOCKING, fix,
					  "\"%s\" is version %d, older than the source server (%d): it cannot "
					  "dump it",
					  path, v / 10000, src_major);
			free(fix);
		}
		else
		{
			check_add(x, id, CHECK_OK, NULL, "\"%s\" is version %d.%d", path, v / 10000, v % 10000);
		}
		free(path);
	}
	if (x->src_ok && x->tgt_ok && x->tgt_version / 10000 < src_major)
	{
		check_add(x, "versions", CHECK_WARNING,
				  "Migrate to a target of the same or a newer major version.",
				  "the target (%d) runs an older major version than the source (%d): the "
				  "schema may use what the target does not have",
				  x->tgt_version / 10000, src_major);
	}
}

/* The kept tables and sequences, as oid arrays and names, from the filtered catalog. */
static void
check_kept(CheckCtx *x)
{
	StrBuf t, rel;
	sb_init(&t);
	sb_init(&rel);
	for (int i = 0; i < x->cat.ntables; i++)
	{
		const CatTable *tb = &x->cat.tables[i];
		if (tb->excluded)
		{
			continue;
		}
		sb_printf(&t, "%s%u", t.len ? "," : "", tb->oid);
		sb_printf(&rel, "%s%u", rel.len ? "," : "", tb->oid);
		strlist_add(&x->kept_names, tb->qname);
		x->nkept++;
	}
	for (int i = 0; i < x->cat.nsequences; i++)
	{
		if (!x->cat.sequences[i].excluded)
		{
			sb_printf(&rel, "%s%u", rel.len ? "," : "", x->cat.sequences[i].oid);
		}
	}
	x->kept_tables = xasprintf("{%s}", t.data ? t.data : "");
	x->kept_relations = xasprintf("{%s}", rel.data ? rel.data : "");
	sb_free(&t);
	sb_free(&rel);
}

static bool
check_catalog(CheckCtx *x)
{
	if (!catalog_fetch(&x->src, &x->cat, 0) ||
		!catalog_fetch_sizes(&x->src, &x->cat, x->spec->estimate_table_sizes))
	{
		check_add(x, "source.catalog", CHECK_BLOCKING,
				  "Connect as a role that may read the source's catalog.",
				  "could not read the source's catalog: %s", x->src.errmsg ? x->src.errmsg : "?");
		return false;
	}
	filters_apply(&x->filters, &x->cat);
	split_tables(&x->cat, &x->spec->split);
	x->cat_ok = true;
	check_kept(x);
	return true;
}

static void
check_free(CheckCtx *x)
{
	if (x->src_ok)
	{
		pg_disconnect(&x->src);
	}
	if (x->tgt_ok)
	{
		pg_disconnect(&x->tgt);
	}
	if (x->cat_ok && !x->spec->plan)
	{
		catalog_free(&x->cat);
	}
	filters_free(&x->filters);
	free(x->src_user);
	free(x->tgt_user);
	free(x->tgt_db);
	free(x->kept_tables);
	free(x->kept_relations);
	strlist_free(&x->kept_names);
}

ExitCode
check_run(const CheckSpec *spec, CheckReport *out)
{
	memset(out, 0, sizeof(*out));
	out->db_bytes = -1;
	out->table_jobs = spec->table_jobs > 0 ? spec->table_jobs : 4;
	CheckCtx x;
	memset(&x, 0, sizeof(x));
	x.spec = spec;
	x.r = out;
	if (spec->filters != NULL && !filters_load(spec->filters, &x.filters))
	{
		return EXIT_USAGE;
	}
	x.src_ok = check_connect(&x, &x.src, "source", spec->source, &x.src_version, &x.src_super,
							 &x.src_user);
	x.tgt_ok = check_connect(&x, &x.tgt, "target", spec->target, &x.tgt_version, &x.tgt_super,
							 &x.tgt_user);
	check_tools(&x);
	if (x.src_ok && check_catalog(&x))
	{
		check_source_privileges(&x);
		check_size(&x);
	}
	if (x.tgt_ok)
	{
		check_target_privileges(&x);
	}
	if (x.src_ok && x.tgt_ok && x.cat_ok)
	{
		check_extensions(&x);
		check_encoding(&x);
		check_collations(&x);
	}
	if (spec->follow && x.src_ok && x.cat_ok)
	{
		check_follow(&x);
	}
	if (spec->plan && x.cat_ok)
	{
		out->cat = x.cat;
		out->have_catalog = true;
	}
	check_free(&x);
	return out->nblocking > 0 ? EXIT_CHECK_BLOCKING : EXIT_OK;
}

void
check_report_free(CheckReport *r)
{
	for (int i = 0; i < r->n; i++)
	{
		free(r->items[i].id);
		free(r->items[i].found);
		free(r->items[i].fix);
	}
	free(r->items);
	if (r->have_catalog)
	{
		catalog_free(&r->cat);
	}
	memset(r, 0, sizeof(*r));
}
