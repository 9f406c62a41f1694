/*
 * src/pg/conninfo.c — connection strings: checking, masking, child copies.
 *
 * Passwords reach pgshift in three ways: the userinfo or ?password= of a URI,
 * password= in a keyword/value string, and PGPASSWORD. Each is registered as a
 * log secret (so no log line can carry it) and masked wherever a connection
 * string is shown or saved. Child processes get the connection string without
 * the password and the password in their environment, never in argv.
 */
#include "pg/pg.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool
conninfo_is_uri(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

/* PQconninfoParse; NULL on error, with libpq's message in *errmsg when asked. */
static PQconninfoOption *
conninfo_parse(const char *conninfo, char **errmsg)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	if (opts == NULL && errmsg != NULL)
	{
		*errmsg = xstrdup(err ? err : "out of memory");
	}
	if (err != NULL)
	{
		PQfreemem(err);
	}
	return opts;
}

bool
pg_conninfo_valid(const char *conninfo, char **errmsg)
{
	PQconninfoOption *opts = conninfo_parse(conninfo, errmsg);
	PQconninfoFree(opts);
	return opts != NULL;
}

char *
pg_conninfo_get(const char *conninfo, const char *keyword)
{
	PQconninfoOption *opts = conninfo_parse(conninfo, NULL);
	if (opts == NULL)
	{
		return NULL;
	}
	char *val = NULL;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
	{
		if (strcmp(o->keyword, keyword) == 0 && o->val != NULL)
		{
			val = xstrdup(o->val);
		}
	}
	PQconninfoFree(opts);
	return val;
}

/* Masks the value of password=... in a URI's query string. */
static void
mask_uri_query(StrBuf *out, const char *q)
{
	const char *p = q;
	while (*p)
	{
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t) (amp - p) : strlen(p);
		if (len >= 9 && strncmp(p, "password=", 9) == 0)
		{
			sb_append(out, "password=****");
		}
		else
		{
			sb_append_n(out, p, len);
		}
		p += len;
		if (*p == '&')
		{
			sb_append_char(out, '&');
			p++;
		}
	}
}

/*
 * The userinfo of a URI, as libpq reads it: from after "://" up to the first
 * '@', provided no '/' comes first. Returns NULL when there is none.
 */
static const char *
uri_userinfo_end(const char *start)
{
	const char *p = start + strcspn(start, "@/");
	return *p == '@' ? p : NULL;
}

static char *
mask_uri(const char *uri)
{
	StrBuf out;
	sb_init(&out);
	const char *start = strstr(uri, "://") + 3;
	sb_append_n(&out, uri, (size_t) (start - uri));
	const char *at = uri_userinfo_end(start);
	const char *rest = start;
	if (at != NULL)
	{
		const char *colon = memchr(start, ':', (size_t) (at - start));
		if (colon != NULL)
		{
			sb_append_n(&out, start, (size_t) (colon - start));
			sb_append(&out, ":****");
		}
		else
		{
			sb_append_n(&out, start, (size_t) (at - start));
		}
		rest = at;
	}
	const char *qm = strchr(rest, '?');
	if (qm == NULL)
	{
		sb_append(&out, rest);
	}
	else
	{
		sb_append_n(&out, rest, (size_t) (qm - rest + 1));
		mask_uri_query(&out, qm + 1);
	}
	return sb_steal(&out);
}

/* keyword = value pairs; value bare or single-quoted with \-escapes. */
static char *
mask_keywords(const char *s)
{
	StrBuf out;
	sb_init(&out);
	const char *p = s;
	while (*p)
	{
		/* copy whitespace */
		while (*p && isspace((unsigned char) *p))
		{
			sb_append_char(&out, *p++);
		}
		if (!*p)
		{
			break;
		}
		const char *kw = p;
		while (*p && *p != '=' && !isspace((unsigned char) *p))
		{
			p++;
		}
		size_t kwlen = (size_t) (p - kw);
		sb_append_n(&out, kw, kwlen);
		while (*p && isspace((unsigned char) *p))
		{
			sb_append_char(&out, *p++);
		}
		if (*p != '=')
		{
			continue;
		}
		sb_append_char(&out, *p++);
		while (*p && isspace((unsigned char) *p))
		{
			sb_append_char(&out, *p++);
		}
		const char *vstart = p;
		if (*p == '\'')
		{
			p++;
			while (*p && *p != '\'')
			{
				if (*p == '\\' && p[1])
				{
					p++;
				}
				p++;
			}
			if (*p == '\'')
			{
				p++;
			}
		}
		else
		{
			while (*p && !isspace((unsigned char) *p))
			{
				if (*p == '\\' && p[1])
				{
					p++;
				}
				p++;
			}
		}
		if (kwlen == 8 && strncmp(kw, "password", 8) == 0)
		{
			sb_append(&out, "****");
		}
		else
		{
			sb_append_n(&out, vstart, (size_t) (p - vstart));
		}
	}
	return sb_steal(&out);
}

char *
pg_conninfo_mask(const char *conninfo)
{
	if (conninfo == NULL)
	{
		return xstrdup("");
	}
	if (conninfo_is_uri(conninfo))
	{
		return mask_uri(conninfo);
	}
	return mask_keywords(conninfo);
}

void
pg_conninfo_register_secrets(const char *conninfo)
{
	log_register_secret(getenv("PGPASSWORD"));
	if (conninfo == NULL)
	{
		return;
	}
	char *pw = pg_conninfo_get(conninfo, "password");
	log_register_secret(pw);
	free(pw);
	if (conninfo_is_uri(conninfo))
	{
		/* the raw, still percent-encoded forms, as they appear in the URI */
		const char *start = strstr(conninfo, "://") + 3;
		const char *at = uri_userinfo_end(start);
		const char *colon = at ? memchr(start, ':', (size_t) (at - start)) : NULL;
		if (colon != NULL && at > colon + 1)
		{
			char *raw = xstrndup(colon + 1, (size_t) (at - colon - 1));
			log_register_secret(raw);
			free(raw);
		}
		const char *q = strchr(at ? at : start, '?');
		while (q != NULL)
		{
			q++;
			size_t len = strcspn(q, "&");
			if (len > 9 && strncmp(q, "password=", 9) == 0)
			{
				char *raw = xstrndup(q + 9, len - 9);
				log_register_secret(raw);
				free(raw);
			}
			q = q[len] == '&' ? q + len : NULL;
		}
	}
}

char *
pg_conninfo_for_child(const char *conninfo, const char *dbname, char **password)
{
	char *err = NULL;
	*password = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	if (opts == NULL)
	{
		if (err != NULL)
		{
			PQfreemem(err);
		}
		return NULL;
	}
	StrBuf sb;
	sb_init(&sb);
	bool have_db = false;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
	{
		const char *val = o->val;
		if (strcmp(o->keyword, "password") == 0)
		{
			if (val != NULL)
			{
				*password = xstrdup(val);
			}
			continue;
		}
		if (strcmp(o->keyword, "dbname") == 0 && dbname != NULL)
		{
			val = dbname;
			have_db = true;
		}
		if (val == NULL)
		{
			continue;
		}
		if (sb.len > 0)
		{
			sb_append_char(&sb, ' ');
		}
		sb_printf(&sb, "%s='", o->keyword);
		for (const char *p = val; *p; p++)
		{
			if (*p == '\'' || *p == '\\')
			{
				sb_append_char(&sb, '\\');
			}
			sb_append_char(&sb, *p);
		}
		sb_append_char(&sb, '\'');
	}
	(void) have_db; /* PQconninfoParse lists every keyword, dbname included */
	PQconninfoFree(opts);
	return sb_steal(&sb);
}
