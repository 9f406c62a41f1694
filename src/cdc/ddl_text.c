/*
 * src/cdc/ddl_text.c — finding, in the query string a DDL event trigger
 * captured, the one statement that event was about.
 *
 * current_query() is the whole top-level string the client sent: with a
 * multi-statement string ("CREATE TABLE a (...); INSERT ...; ALTER TABLE a
 * ..."), replaying it whole would run its DML a second time (its rows come
 * through the stream anyway) and its other DDL twice. So the string is split
 * at its top-level semicolons (quotes, dollar quotes, comments and BEGIN
 * ATOMIC bodies respected) and the statement replayed is the idx-th one
 * whose leading keywords are the event's command tag (the trigger counts
 * the events of the same tag in the same string: pgshift.ddl_log.idx). A
 * statement whose keywords are not the tag (DDL run by a function, a DO
 * block, a procedure) is not found: the caller reports it, it does not guess.
 */
#include "cdc/cdc_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Past a comment or a quoted token starting at p; p itself when none. */
static const char *
skip_token(const char *base, const char *p)
{
	if (p[0] == '-' && p[1] == '-')
	{
		p += strcspn(p, "\n");
		return p;
	}
	if (p[0] == '/' && p[1] == '*')
	{
		int depth = 1;
		p += 2;
		while (*p && depth > 0)
		{
			if (p[0] == '/' && p[1] == '*')
			{
				depth++, p += 2;
			}
			else if (p[0] == '*' && p[1] == '/')
			{
				depth--, p += 2;
			}
			else
			{
				p++;
			}
		}
		return p;
	}
	if (*p == '\'' || *p == '"')
	{
		char q = *p++;
		/* E'...' strings: a backslash escapes the next character */
		bool esc = q == '\'' && p - 1 > base && (p[-2] == 'E' || p[-2] == 'e');
		while (*p)
		{
			if (esc && *p == '\\' && p[1])
			{
				p += 2;
			}
			else if (*p == q && p[1] == q)
			{
				p += 2;
			}
			else if (*p == q)
			{
				return p + 1;
			}
			else
			{
				p++;
			}
		}
		return p;
	}
	if (*p == '$')
	{
		const char *t = p + 1;
		while (isalnum((unsigned char) *t) || *t == '_')
		{
			t++;
		}
		if (*t != '$' || isdigit((unsigned char) p[1]))
		{
			return p;
		}
		size_t taglen = (size_t) (t - p) + 1;
		const char *end = t + 1;
		while (*end && strncmp(end, p, taglen) != 0)
		{
			end++;
		}
		return *end ? end + taglen : end;
	}
	return p;
}

/* The next word (letters, digits, _) at or after p, upper-cased into w; past it. */
static const char *
next_word(const char *p, char *w, size_t size)
{
	for (;;)
	{
		while (isspace((unsigned char) *p))
		{
			p++;
		}
		const char *q = skip_token(p, p);
		if (q == p || *p == '\'' || *p == '"' || *p == '$')
		{
			break;
		}
		p = q;
	}
	size_t n = 0;
	while (isalnum((unsigned char) *p) || *p == '_')
	{
		if (n + 1 < size)
		{
			w[n++] = (char) toupper((unsigned char) *p);
		}
		p++;
	}
	w[n] = '\0';
	return p;
}

static void
add_statement(StrList *out, const char *from, const char *to)
{
	while (from < to && isspace((unsigned char) *from))
	{
		from++;
	}
	while (to > from && isspace((unsigned char) to[-1]))
	{
		to--;
	}
	char w[16];
	next_word(from, w, sizeof(w));
	if (to > from && w[0] != '\0')
	{
		strlist_add_owned(out, xstrndup(from, (size_t) (to - from)));
	}
}

void
ddl_split_statements(const char *sql, StrList *out)
{
	const char *start = sql, *p = sql;
	int atomic = 0; /* inside BEGIN ATOMIC ... END: CASE/END pairs counted too */
	bool after_begin = false;
	while (*p)
	{
		const char *q = skip_token(sql, p);
		if (q != p)
		{
			p = q;
			continue;
		}
		if (isalpha((unsigned char) *p) || *p == '_')
		{
			bool word_start = p == sql || !(isalnum((unsigned char) p[-1]) || p[-1] == '_');
			char w[16];
			const char *e = next_word(p, w, sizeof(w));
			if (word_start && strcmp(w, "ATOMIC") == 0 && after_begin)
			{
				atomic++;
			}
			else if (word_start && atomic > 0 && strcmp(w, "CASE") == 0)
			{
				atomic++;
			}
			else if (word_start && atomic > 0 && strcmp(w, "END") == 0)
			{
				atomic--;
			}
			after_begin = word_start && strcmp(w, "BEGIN") == 0;
			p = e;
			continue;
		}
		if (*p == ';' && atomic == 0)
		{
			add_statement(out, start, p);
			start = p + 1;
		}
		if (!isspace((unsigned char) *p))
		{
			after_begin = false;
		}
		p++;
	}
	add_statement(out, start, p);
}

static bool
is_modifier(const char *w)
{
	static const char *const mods[] = { "OR",        "REPLACE",    "UNIQUE",    "TEMP",
										"TEMPORARY", "UNLOGGED",   "GLOBAL",    "LOCAL",
										"TRUSTED",   "PROCEDURAL", "RECURSIVE", "CONSTRAINT",
										"DEFAULT",   NULL };
	for (int i = 0; mods[i] != NULL; i++)
	{
		if (strcmp(w, mods[i]) == 0)
		{
			return true;
		}
	}
	return false;
}

bool
ddl_statement_has_tag(const char *stmt, const char *tag)
{
	/* "CREATE TABLE AS": the statement reads CREATE TABLE name AS ... */
	char *t = xstrdup(tag);
	size_t tl = strlen(t);
	if (tl > 3 && strcmp(t + tl - 3, " AS") == 0)
	{
		t[tl - 3] = '\0';
	}
	else if (strcmp(t, "SELECT INTO") == 0)
	{
		t[6] = '\0';
	}
	const char *p = stmt;
	char w[64];
	bool first = true, ok = true;
	char *tw = t;
	while (ok && *tw != '\0')
	{
		size_t n = strcspn(tw, " ");
		char save = tw[n];
		tw[n] = '\0';
		p = next_word(p, w, sizeof(w));
		if (w[0] == '\0')
		{
			ok = false;
		}
		else if (first || !is_modifier(w))
		{
			ok = strcmp(w, tw) == 0;
			first = false;
			tw += n + (save != '\0');
		}
		else
		{
			tw[n] = save;
		}
	}
	free(t);
	return ok;
}
