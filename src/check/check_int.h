/*
 * src/check/check_int.h — what the check's files share: the context of one
 * run and the helpers that add items. Not included outside src/check/.
 */
#ifndef PGSHIFT_CHECK_INT_H
#define PGSHIFT_CHECK_INT_H

#include "check/check.h"
#include "pg/pg.h"

typedef struct CheckCtx
{
	const CheckSpec *spec;
	CheckReport *r;
	PgConn src;
	PgConn tgt;
	bool src_ok;
	bool tgt_ok;
	int src_version;
	int tgt_version;
	bool src_super;
	bool tgt_super;
	char *src_user;
	char *tgt_user;
	char *tgt_db;
	bool cat_ok;
	Catalog cat; /* moved into the report when spec->plan */
	Filters filters;
	char *kept_tables;    /* "{oid,...}": kept tables (data or not) */
	char *kept_relations; /* "{oid,...}": kept tables and sequences */
	StrList kept_names;   /* quoted qualified names of the kept tables */
	int nkept;
} CheckCtx;

/* Adds an item; found and fix are formatted (fix NULL: none). */
void check_add(CheckCtx *x, const char *id, CheckLevel level, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* One value of a query (NULL on error, logged at debug: the check goes on). */
char *check_value(PgConn *c, const char *sql, int n, const char *const *p);
bool check_is_true(PgConn *c, const char *sql);

/* check_privs.c */
void check_source_privileges(CheckCtx *x);
void check_target_privileges(CheckCtx *x);
/* check_follow.c */
void check_follow(CheckCtx *x);
/* check_objects.c: extensions, encoding, collations, size */
void check_extensions(CheckCtx *x);
void check_encoding(CheckCtx *x);
void check_collations(CheckCtx *x);
void check_size(CheckCtx *x);

#endif /* PGSHIFT_CHECK_INT_H */
