/*
 * src/cdc/apply_ddl.c — replaying the DDL captured on the source (--ddl).
 *
 * A row of pgshift.ddl_log (sql/ddl_install.sql) arrives in the stream where
 * the source ran the statement, inside the source transaction that ran it.
 * The applier runs the statement there, in the same target transaction,
 * under the captured search_path (set_config(..., true): for this
 * transaction only) and the captured role when the target has it, then
 * forgets what it knew of every relation (keys, statements, filters): the
 * rows after it use the new definition. The row itself is applied like any
 * other when the target has pgshift.ddl_log (clone --follow copies it): the
 * two logs stay equal.
 *
 * Invariant: a statement is either replayed exactly there, or the follower
 * stops before committing that transaction (--ddl-errors=stop, the default),
 * or it is left out with a warning (skip, log): never replayed elsewhere,
 * never twice (the transaction commits atomically with the origin's
 * progress, as every other one).
 *
 * Left out as a matter of course: DDL whose objects the filters all leave
 * out. Not replayable: DDL mixing kept and filtered-out objects, on unlogged
 * tables (their rows are never decoded), with CONCURRENTLY (cannot run in a
 * transaction block), or run by a function or DO block (the statement is not
 * in the captured query string: ddl_text.c).
 */
#include "catalog/catalog.h"
#include "cdc/apply_int.h"
#include "cdc/cdc_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ApplyDdl
{
	int target_has_log; /* 0 unknown, 1 yes, -1 no */
	StrList roles_here; /* roles found on the target */
	StrList roles_gone; /* roles not found (logged once) */
} ApplyDdl;

/* The captured row's fields. */
typedef struct DdlRow
{
	const char *tag;
	int idx;
	const char *command;
	const char *search_path;
	const char *role;
	const char *objects;
} DdlRow;

bool
apply_ddl_is_log(const CdcRelation *r)
{
	return strcmp(r->nspname, "pgshift") == 0 && strcmp(r->relname, "ddl_log") == 0;
}

static ApplyDdl *
ddl_state(Applier *a)
{
	if (a->ddl == NULL)
	{
		a->ddl = xcalloc(1, sizeof(ApplyDdl));
	}
	return a->ddl;
}

void
apply_ddl_free(Applier *a)
{
	if (a->ddl != NULL)
	{
		strlist_free(&a->ddl->roles_here);
		strlist_free(&a->ddl->roles_gone);
		free(a->ddl);
		a->ddl = NULL;
	}
}

static bool
target_has_log(Applier *a)
{
	ApplyDdl *d = ddl_state(a);
	if (d->target_has_log == 0)
	{
		PGresult *res = apply_catalog_query(
			a, "SELECT pg_catalog.to_regclass('pgshift.ddl_log') IS NOT NULL", 0, NULL);
		if (res == NULL)
		{
			return false;
		}
		d->target_has_log = PQgetvalue(res, 0, 0)[0] == 't' ? 1 : -1;
		PQclear(res);
	}
	return d->target_has_log > 0;
}

static const char *
row_value(const CdcMessage *m, const char *name)
{
	const CdcRelation *r = m->rel;
	for (int i = 0; i < r->ncols && i < m->newtup.ncols; i++)
	{
		if (strcmp(r->cols[i].name, name) == 0)
		{
			return m->newtup.kinds[i] == 't' ? m->newtup.values[i] : NULL;
		}
	}
	return NULL;
}

static bool
row_read(const CdcMessage *m, DdlRow *row)
{
	const char *idx = row_value(m, "idx");
	row->tag = row_value(m, "tag");
	row->command = row_value(m, "command");
	row->search_path = row_value(m, "search_path");
	row->role = row_value(m, "role");
	row->objects = row_value(m, "objects");
	if (idx == NULL || row->tag == NULL || row->command == NULL || row->search_path == NULL ||
		row->role == NULL || row->objects == NULL)
	{
		log_error("a row of pgshift.ddl_log lacks a column: it was not written by this version of "
				  "pgshift's event trigger");
		log_hint(LOG_LEVEL_ERROR, "Install it again with \"pgshift stream setup --ddl\".");
		return false;
	}
	row->idx = (int) strtol(idx, NULL, 10);
	return true;
}

/*
 * What of the statement's objects the filters keep: *why set (owned) when
 * it cannot be replayed; *all_out when the filters leave out every object.
 */
static void
row_check_objects(Applier *a, const DdlRow *row, bool *all_out, char **why)
{
	*all_out = false;
	*why = NULL;
	json_error_t err;
	json_t *objs = json_loads(row->objects, 0, &err);
	int n = 0, out = 0;
	char *first_out = NULL;
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o)
	{
		const char *nsp = json_string_value(json_object_get(o, "schema"));
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *pers = json_string_value(json_object_get(o, "persistence"));
		const char *ident = json_string_value(json_object_get(o, "identity"));
		n++;
		if (pers != NULL && strcmp(pers, "u") == 0 && *why == NULL)
		{
			*why = xasprintf("it changes the unlogged table %s, whose rows are never decoded",
							 ident ? ident : "?");
		}
		const Filters *f = a->co->filters;
		if (f != NULL && nsp != NULL &&
			(filters_schema_excluded(f, nsp) ||
			 (name != NULL && filters_table_excluded(f, nsp, name))))
		{
			out++;
			if (first_out == NULL)
			{
				first_out = xstrdup(ident ? ident : nsp);
			}
		}
	}
	json_decref(objs);
	if (n > 0 && out == n)
	{
		*all_out = true;
		free(*why);
		*why = NULL;
	}
	else if (out > 0 && *why == NULL)
	{
		*why = xasprintf("it refers to %s, which the filters leave out, and to objects they keep",
						 first_out);
	}
	free(first_out);
}

/* The statement to replay (owned), or NULL with *why set. */
static char *
row_statement(const DdlRow *row, char **why)
{
	StrList stmts = { 0 };
	ddl_split_statements(row->command, &stmts);
	char *found = NULL;
	for (int i = 0, k = 0; i < stmts.n && found == NULL; i++)
	{
		if (ddl_statement_has_tag(stmts.items[i], row->tag) && k++ == row->idx)
		{
			found = xstrdup(stmts.items[i]);
		}
	}
	strlist_free(&stmts);
	if (found == NULL)
	{
		*why = xasprintf("the query string holds no %s statement of its own (DDL run by a "
						 "function, a procedure or a DO block cannot be replayed alone)",
						 row->tag);
	}
	else if (strcasestr(found, "concurrently") != NULL)
	{
		*why = xstrdup("CONCURRENTLY cannot run inside the transaction it is replayed in");
		free(found);
		found = NULL;
	}
	return found;
}

/* --ddl-errors: stop (false), or leave the statement out (true). */
static bool
row_refuse(Applier *a, const DdlRow *row, const char *why, Lsn lsn)
{
	char lb[32];
	lsn_format(lsn, lb, sizeof(lb));
	if (a->co->ddl_errors == CDC_DDL_STOP)
	{
		log_error("cannot replay a schema change made on the source (LSN %s): %s", lb, why);
		log_detail(LOG_LEVEL_ERROR, "The statement (%s, role %s, search_path %s): %s", row->tag,
				   row->role, row->search_path, row->command);
		log_hint(LOG_LEVEL_ERROR,
				 "Make the same change on the target yourself, then run again with "
				 "--ddl-errors=skip (or log) so that the follower leaves such statements out; "
				 "nothing of this transaction is applied yet.");
		atomic_store(&a->sh->schema_changed, 1);
		a->failed = true;
		return false;
	}
	log_warn("schema change made on the source (LSN %s) left out: %s", lb, why);
	log_detail(LOG_LEVEL_WARN, "The statement: %s", row->command);
	if (a->co->ddl_errors == CDC_DDL_LOG)
	{
		char *path = xasprintf("%s/ddl-skipped.sql", a->co->journal_dir);
		FILE *fp = fopen(path, "a");
		if (fp != NULL)
		{
			fprintf(fp, "-- source LSN %s, role %s: %s\nSET search_path TO %s;\n%s;\n\n", lb,
					row->role, why, row->search_path, row->command);
			fclose(fp);
		}
		else
		{
			log_warn("could not append to \"%s\"", path);
		}
		free(path);
	}
	return true;
}

/* Runs the statement under the captured role when the target has it (logged once if not). */
static bool
row_role(Applier *a, const DdlRow *row, Lsn lsn, bool *set)
{
	ApplyDdl *d = ddl_state(a);
	*set = false;
	if (strlist_contains(&d->roles_gone, row->role))
	{
		return true;
	}
	if (!strlist_contains(&d->roles_here, row->role))
	{
		const char *p[] = { row->role };
		PGresult *res = apply_catalog_query(
			a,
			"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1), "
			"current_user = $1",
			1, p);
		if (res == NULL)
		{
			return false;
		}
		bool here = PQgetvalue(res, 0, 0)[0] == 't';
		bool same = PQgetvalue(res, 0, 1)[0] == 't';
		PQclear(res);
		if (!here)
		{
			log_info("role \"%s\" does not exist on the target: the DDL it runs on the source is "
					 "replayed as the applier's role",
					 row->role);
			strlist_add(&d->roles_gone, row->role);
			return true;
		}
		if (same)
		{
			strlist_add(&d->roles_gone, row->role); /* nothing to set */
			return true;
		}
		strlist_add(&d->roles_here, row->role);
	}
	const char *p[] = { row->role };
	*set = true;
	return apply_send_query(a, "SELECT pg_catalog.set_config('role', $1, true)", 1, p, lsn, false);
}

/* Everything known of the relations may be stale now. */
static void
relations_forget(Applier *a)
{
	for (int i = 0; i < a->dec.nrels; i++)
	{
		CdcRelation *r = a->dec.rels[i];
		r->keys_looked_up = false;
		r->kept = 0;
		r->version++;
	}
}

static bool
row_replay(Applier *a, const DdlRow *row, const char *stmt, Lsn lsn)
{
	const char *sp[] = { row->search_path };
	bool role_set = false;
	if (!apply_send_query(a, "SELECT pg_catalog.set_config('search_path', $1, true)", 1, sp, lsn,
						  false) ||
		!row_role(a, row, lsn, &role_set) || !apply_send_query(a, stmt, 0, NULL, lsn, true) ||
		(role_set && !apply_send_query(a, "RESET ROLE", 0, NULL, lsn, false)) ||
		!apply_send_query(a, "RESET search_path", 0, NULL, lsn, false))
	{
		return false;
	}
	char lb[32];
	lsn_format(lsn, lb, sizeof(lb));
	log_info("replaying DDL from the source (LSN %s): %s", lb, stmt);
	a->ddl_in_txn = true;
	relations_forget(a);
	return true;
}

bool
apply_ddl_change(Applier *a, const CdcMessage *m, Lsn lsn, bool *apply_row)
{
	*apply_row = true;
	if (m->kind != CDC_INSERT)
	{
		/* the log pruned or changed on the source: the row only */
		*apply_row = target_has_log(a);
		return !a->failed;
	}
	DdlRow row;
	if (!row_read(m, &row))
	{
		a->failed = true;
		return false;
	}
	bool all_out = false;
	char *why = NULL;
	row_check_objects(a, &row, &all_out, &why);
	char *stmt = NULL;
	if (all_out)
	{
		log_info("DDL on objects the filters leave out is not replayed: %s", row.command);
	}
	else if (why == NULL)
	{
		stmt = row_statement(&row, &why);
	}
	bool ok = true;
	if (why != NULL)
	{
		ok = row_refuse(a, &row, why, lsn);
	}
	else if (stmt != NULL)
	{
		ok = row_replay(a, &row, stmt, lsn);
	}
	free(why);
	free(stmt);
	*apply_row = ok && target_has_log(a);
	return ok && !a->failed;
}

void
apply_ddl_missing_table(Applier *a, const char *qname)
{
	log_error("target: table %s does not exist, but the source changes it", qname);
	log_detail(LOG_LEVEL_ERROR, "It was created or renamed on the source after the copy, and "
								"that schema change was not replayed on the target.");
	log_hint(LOG_LEVEL_ERROR,
			 a->co->ddl ? "Create it on the target as the source has it, then run again with "
						  "--resume: nothing is applied twice."
						: "Create it on the target as the source has it (pg_dump -s -t), then "
						  "run again with --resume; follow with --ddl to replay schema changes.");
	atomic_store(&a->sh->schema_changed, 1);
	a->failed = true;
}

bool
apply_ddl_explain_error(Applier *a, const char *sqlstate)
{
	/* 42703 undefined_column, 42P01 undefined_table */
	if (strcmp(sqlstate, "42703") != 0 && strcmp(sqlstate, "42P01") != 0)
	{
		return false;
	}
	log_detail(LOG_LEVEL_ERROR,
			   "The source's table changed (%s) and the target's did not: the change "
			   "above cannot be applied.",
			   strcmp(sqlstate, "42703") == 0 ? "a column added or renamed"
											  : "a table created or renamed");
	log_hint(LOG_LEVEL_ERROR,
			 a->co->ddl ? "Make the target's table match the source's, then run again with "
						  "--resume: nothing is applied twice."
						: "Make the same schema change on the target, then run again with "
						  "--resume (nothing is applied twice); follow with --ddl to replay "
						  "schema changes.");
	atomic_store(&a->sh->schema_changed, 1);
	return true;
}
