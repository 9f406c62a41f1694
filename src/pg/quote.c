/*
 * src/pg/quote.c — quoting identifiers and literals for SQL we build.
 *
 * Identifiers are always double-quoted: always correct, whatever the name
 * (mixed case, reserved words, non-ASCII). Literals use E'' when they hold a
 * backslash, as quote_literal() does, so they read the same whatever
 * standard_conforming_strings says. Only for names: values go as $n parameters.
 */
#include "pg/pg.h"

#include <stdlib.h>
#include <string.h>

void
sb_append_ident(StrBuf *sb, const char *ident)
{
	sb_append_char(sb, '"');
	for (const char *p = ident; *p; p++)
	{
		if (*p == '"')
		{
			sb_append_char(sb, '"');
		}
		sb_append_char(sb, *p);
	}
	sb_append_char(sb, '"');
}

void
sb_append_literal(StrBuf *sb, const char *lit)
{
	if (strchr(lit, '\\') != NULL)
	{
		sb_append_char(sb, 'E');
	}
	sb_append_char(sb, '\'');
	for (const char *p = lit; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
		{
			sb_append_char(sb, *p);
		}
		sb_append_char(sb, *p);
	}
	sb_append_char(sb, '\'');
}

char *
pg_quote_ident(const char *ident)
{
	StrBuf sb;
	sb_init(&sb);
	sb_append_ident(&sb, ident);
	return sb_steal(&sb);
}

char *
pg_quote_literal(const char *lit)
{
	StrBuf sb;
	sb_init(&sb);
	sb_append_literal(&sb, lit);
	return sb_steal(&sb);
}

char *
pg_qualname(const char *nsp, const char *rel)
{
	StrBuf sb;
	sb_init(&sb);
	sb_append_ident(&sb, nsp);
	sb_append_char(&sb, '.');
	sb_append_ident(&sb, rel);
	return sb_steal(&sb);
}

void
sb_append_array_elem(StrBuf *sb, const char *elem)
{
	sb_append_char(sb, '"');
	for (const char *p = elem; *p; p++)
	{
		if (*p == '"' || *p == '\\')
		{
			sb_append_char(sb, '\\');
		}
		sb_append_char(sb, *p);
	}
	sb_append_char(sb, '"');
}

bool
pg_set_snapshot(PgConn *c, const char *snapshot)
{
	/* SET TRANSACTION SNAPSHOT takes no parameter: the id goes as a literal */
	char *q = pg_quote_literal(snapshot);
	char *sql = xasprintf("SET TRANSACTION SNAPSHOT %s", q);
	bool ok = pg_exec(c, sql);
	free(q);
	free(sql);
	return ok;
}
