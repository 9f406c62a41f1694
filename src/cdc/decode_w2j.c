/*
 * src/cdc/decode_w2j.c — wal2json (format version 2) into CdcMessage.
 *
 * One JSON object per action, as the plugin prints it (see tests/unit/test_cdc.c
 * for real ones):
 *   {"action":"B","xid":777,"timestamp":"...","lsn":"0/15B8718","nextlsn":"0/15B8748"}
 *   {"action":"I"|"U"|"D","schema":"public","table":"t",
 *    "columns":[{"name":"id","typeoid":23,"value":1},...],
 *    "identity":[...old key, or old row of a REPLICA IDENTITY FULL table...]}
 *   {"action":"T","schema":"public","table":"t"}     (one per table truncated)
 *   {"action":"C",...,"lsn":<commit record>,"nextlsn":<its end>}  | "M": message
 *
 * Values become PostgreSQL text input: strings as they are, true/false, and
 * numbers as the very characters printed (this parser never turns them into
 * binary numbers: numeric(40,20) keeps every digit, whatever the wal2json
 * version and numeric-data-types-as-string); null is SQL NULL. bytea comes
 * as bare hex: its \x is put back. An UPDATE leaves unchanged TOAST columns
 * out of "columns": every tuple is spread over the relation's full column
 * list (from the target, through CdcDecoder.columns), and a column a message
 * leaves out is 'u' (unchanged) to the applier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cdc/cdc.h"
#include "cdc/cdc_int.h"

#define JSON_MAX_DEPTH 8
#define BYTEA_OID      17

typedef enum JType
{
	JT_OBJECT,
	JT_ARRAY,
	JT_STRING,
	JT_NUMBER,
	JT_TRUE,
	JT_FALSE,
	JT_NULL
} JType;

/* One value; an object's members are key (string) and value, in turn. */
typedef struct JTok
{
	JType type;
	uint32_t start; /* strings: after the quote; others: first character */
	uint32_t end;   /* strings: at the closing quote; others: after the last character */
	int size;       /* objects: members; arrays: elements */
	int next;       /* index of the token after this one and everything inside it */
} JTok;

typedef struct JDoc
{
	const char *s;
	uint32_t len;
	uint32_t pos;
	JTok *t;
	int n;
	int cap;
} JDoc;

static void
json_ws(JDoc *j)
{
	while (j->pos < j->len && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
							   j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
	{
		j->pos++;
	}
}

static int
json_push(JDoc *j, JType type)
{
	if (j->n == j->cap)
	{
		j->cap = j->cap ? j->cap * 2 : 64;
		j->t = xrealloc(j->t, sizeof(JTok) * (size_t) j->cap);
	}
	JTok *t = &j->t[j->n];
	t->type = type;
	t->start = j->pos;
	t->end = j->pos;
	t->size = 0;
	t->next = j->n + 1;
	return j->n++;
}

static bool
json_string(JDoc *j)
{
	j->pos++; /* the opening quote */
	int i = json_push(j, JT_STRING);
	while (j->pos < j->len && j->s[j->pos] != '"')
	{
		j->pos += j->s[j->pos] == '\\' ? 2 : 1;
	}
	if (j->pos >= j->len)
	{
		return false;
	}
	j->t[i].end = j->pos++;
	return true;
}

static bool json_value(JDoc *j, int depth);

/* An object or an array, from its opening character. */
static bool
json_container(JDoc *j, int depth, bool object)
{
	int i = json_push(j, object ? JT_OBJECT : JT_ARRAY);
	char close = object ? '}' : ']';
	j->pos++;
	json_ws(j);
	if (j->pos < j->len && j->s[j->pos] == close)
	{
		j->pos++;
		j->t[i].next = j->n;
		return true;
	}
	for (;;)
	{
		json_ws(j);
		if (object)
		{
			if (j->pos >= j->len || j->s[j->pos] != '"' || !json_string(j))
			{
				return false;
			}
			json_ws(j);
			if (j->pos >= j->len || j->s[j->pos++] != ':')
			{
				return false;
			}
		}
		if (!json_value(j, depth + 1))
		{
			return false;
		}
		j->t[i].size++;
		json_ws(j);
		if (j->pos < j->len && j->s[j->pos] == ',')
		{
			j->pos++;
			continue;
		}
		if (j->pos < j->len && j->s[j->pos] == close)
		{
			j->pos++;
			j->t[i].end = j->pos;
			j->t[i].next = j->n;
			return true;
		}
		return false;
	}
}

static bool
json_value(JDoc *j, int depth)
{
	json_ws(j);
	if (j->pos >= j->len || depth > JSON_MAX_DEPTH)
	{
		return false;
	}
	char c = j->s[j->pos];
	if (c == '{' || c == '[')
	{
		return json_container(j, depth, c == '{');
	}
	if (c == '"')
	{
		return json_string(j);
	}
	static const struct
	{
		const char *word;
		JType type;
	} words[] = { { "true", JT_TRUE }, { "false", JT_FALSE }, { "null", JT_NULL } };
	for (int w = 0; w < 3; w++)
	{
		size_t n = strlen(words[w].word);
		if (j->len - j->pos >= n && memcmp(j->s + j->pos, words[w].word, n) == 0)
		{
			int i = json_push(j, words[w].type);
			j->pos += (uint32_t) n;
			j->t[i].end = j->pos;
			return true;
		}
	}
	if (c != '-' && (c < '0' || c > '9'))
	{
		return false;
	}
	int i = json_push(j, JT_NUMBER);
	while (j->pos < j->len && strchr("+-0123456789.eE", j->s[j->pos]) != NULL)
	{
		j->pos++;
	}
	j->t[i].end = j->pos;
	return true;
}

/* Parses the whole text into j (tokens reused from call to call). */
static bool
json_parse(JDoc *j, const char *s, uint32_t len)
{
	j->s = s;
	j->len = len;
	j->pos = 0;
	j->n = 0;
	if (!json_value(j, 0))
	{
		return false;
	}
	json_ws(j);
	return j->pos == j->len && j->t[0].type == JT_OBJECT;
}

/* The value of member key of the object at obj, or -1. */
static int
json_member(const JDoc *j, int obj, const char *key)
{
	size_t klen = strlen(key);
	int k = obj + 1;
	for (int m = 0; m < j->t[obj].size; m++)
	{
		const JTok *kt = &j->t[k];
		if (kt->end - kt->start == klen && memcmp(j->s + kt->start, key, klen) == 0)
		{
			return k + 1;
		}
		k = j->t[k + 1].next;
	}
	return -1;
}

static void
put_utf8(StrBuf *out, uint32_t cp)
{
	if (cp < 0x80)
	{
		sb_append_char(out, (char) cp);
	}
	else if (cp < 0x800)
	{
		sb_append_char(out, (char) (0xC0 | (cp >> 6)));
		sb_append_char(out, (char) (0x80 | (cp & 0x3F)));
	}
	else if (cp < 0x10000)
	{
		sb_append_char(out, (char) (0xE0 | (cp >> 12)));
		sb_append_char(out, (char) (0x80 | ((cp >> 6) & 0x3F)));
		sb_append_char(out, (char) (0x80 | (cp & 0x3F)));
	}
	else
	{
		sb_append_char(out, (char) (0xF0 | (cp >> 18)));
		sb_append_char(out, (char) (0x80 | ((cp >> 12) & 0x3F)));
		sb_append_char(out, (char) (0x80 | ((cp >> 6) & 0x3F)));
		sb_append_char(out, (char) (0x80 | (cp & 0x3F)));
	}
}

static bool
hex4(const char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++)
	{
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
				: c >= 'A' && c <= 'F' ? c - 'A' + 10
									   : -1;
		if (d < 0)
		{
			return false;
		}
		*v = *v << 4 | (uint32_t) d;
	}
	return true;
}

/* A string token's text, escapes undone, appended to out; false if malformed. */
static bool
json_unescape(const JDoc *j, const JTok *t, StrBuf *out)
{
	const char *p = j->s + t->start;
	const char *end = j->s + t->end;
	while (p < end)
	{
		const char *bs = memchr(p, '\\', (size_t) (end - p));
		if (bs == NULL)
		{
			sb_append_n(out, p, (size_t) (end - p));
			break;
		}
		sb_append_n(out, p, (size_t) (bs - p));
		if (bs + 1 >= end)
		{
			return false;
		}
		char c = bs[1];
		p = bs + 2;
		const char *simple = strchr("\"\\/bfnrt", c);
		if (simple != NULL && c != '\0')
		{
			sb_append_char(out, "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"]);
			continue;
		}
		uint32_t cp, lo;
		if (c != 'u' || end - p < 4 || !hex4(p, &cp) || cp == 0)
		{
			return false;
		}
		p += 4;
		if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
			hex4(p + 2, &lo) && lo >= 0xDC00 && lo < 0xE000)
		{
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			p += 6;
		}
		put_utf8(out, cp);
	}
	return true;
}

/* A member's string value into out (cleared first); false if absent or not a string. */
static bool
json_get_string(const JDoc *j, int obj, const char *key, StrBuf *out)
{
	int v = json_member(j, obj, key);
	sb_reset(out);
	return v >= 0 && j->t[v].type == JT_STRING && json_unescape(j, &j->t[v], out);
}

/* A member's number (or numeric string) value; 0 when absent. */
static uint64_t
json_get_uint(const JDoc *j, int obj, const char *key)
{
	int v = json_member(j, obj, key);
	if (v < 0 || (j->t[v].type != JT_NUMBER && j->t[v].type != JT_STRING))
	{
		return 0;
	}
	return strtoull(j->s + j->t[v].start, NULL, 10);
}

static Lsn
json_get_lsn(const JDoc *j, int obj, const char *key)
{
	StrBuf s;
	sb_init(&s);
	Lsn l = LSN_INVALID;
	if (json_get_string(j, obj, key, &s))
	{
		lsn_parse(s.data, &l);
	}
	sb_free(&s);
	return l;
}

/*
 * "2026-12-05 16:56:05.34452+00" (timestamptz in ISO style, any zone
 * offset) into microseconds since 2000-01-01 UTC; 0 if it cannot be read
 * (another DateStyle): the commit time is then the apply time.
 */
static int64_t
w2j_timestamp(const char *s)
{
	struct tm tm = { 0 };
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			   &tm.tm_min, &tm.tm_sec, &n) != 6)
	{
		return 0;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	const char *p = s + n;
	int64_t us = 0;
	if (*p == '.')
	{
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
		{
			us = digits < 6 ? us * 10 + (*p - '0') : us;
		}
		for (; digits < 6; digits++)
		{
			us *= 10;
		}
	}
	int64_t offset = 0;
	if (*p == '+' || *p == '-')
	{
		int h = 0, m = 0, sec = 0;
		sscanf(p + 1, "%2d:%2d:%2d", &h, &m, &sec);
		offset = (*p == '-' ? -1 : 1) * ((int64_t) h * 3600 + m * 60 + sec);
	}
	int64_t unix_s = (int64_t) timegm(&tm) - offset;
	return (unix_s - 946684800LL) * 1000000LL + us;
}

/* The column objects of an array into t, their names into names. */
static bool
w2j_tuple(const JDoc *j, int arr, CdcTuple *t, StrList *names, StrBuf *val)
{
	tuple_reset(t, j->t[arr].size);
	int c = arr + 1;
	for (int i = 0; i < j->t[arr].size; i++, c = j->t[c].next)
	{
		if (j->t[c].type != JT_OBJECT || !json_get_string(j, c, "name", val))
		{
			return false;
		}
		strlist_add(names, val->data);
		int v = json_member(j, c, "value");
		JType type = v < 0 ? JT_NULL : j->t[v].type;
		sb_reset(val);
		if (type == JT_NULL)
		{
			tuple_add(t, 'n', NULL, 0);
			continue;
		}
		if (type == JT_STRING)
		{
			if (json_get_uint(j, c, "typeoid") == BYTEA_OID)
			{
				sb_append(val, "\\x"); /* wal2json prints bytea's hex without it */
			}
			if (!json_unescape(j, &j->t[v], val))
			{
				return false;
			}
		}
		else if (type == JT_NUMBER || type == JT_TRUE || type == JT_FALSE)
		{
			sb_append_n(val, j->s + j->t[v].start, j->t[v].end - j->t[v].start);
		}
		else
		{
			return false;
		}
		tuple_add(t, 't', val->data, val->len);
	}
	tuple_finish(t);
	return true;
}

/*
 * Makes sure r has every column named (and, the first time, all of the
 * target's): a message may leave columns out (unchanged TOAST, a DELETE's
 * non-key columns).
 */
static bool
w2j_columns(CdcDecoder *d, CdcRelation *r, const StrList *names)
{
	bool all_known = r->ncols > 0;
	for (int i = 0; all_known && i < names->n; i++)
	{
		bool found = false;
		for (int c = 0; !found && c < r->ncols; c++)
		{
			found = strcmp(r->cols[c].name, names->items[i]) == 0;
		}
		all_known = found;
	}
	if (all_known)
	{
		return true;
	}
	StrList all = { 0 };
	if (d->columns != NULL && !d->columns(d->columns_arg, r, &all))
	{
		strlist_free(&all);
		return false;
	}
	for (int i = 0; i < names->n; i++)
	{
		if (!strlist_contains(&all, names->items[i]))
		{
			strlist_add(&all, names->items[i]); /* not on the target: applying says so */
		}
	}
	relation_set_columns(r, &all);
	strlist_free(&all);
	return true;
}

/* Every column of the old tuple (key or row) has the same value in the new one. */
static bool
w2j_same_key(const CdcTuple *old, const CdcTuple *new)
{
	for (int i = 0; i < old->ncols && i < new->ncols; i++)
	{
		if (old->kinds[i] == 'u')
		{
			continue;
		}
		if (old->kinds[i] != new->kinds[i] ||
			(old->kinds[i] == 't' && strcmp(old->values[i], new->values[i]) != 0))
		{
			return false;
		}
	}
	return true;
}

/*
 * I, U, D: the relation, the new row ("columns") and the old key or row
 * ("identity"). wal2json gives an UPDATE's identity even when the key did
 * not change: then it is dropped, as pgoutput does not send it, so that
 * the UPDATE does not set the key (an identity column GENERATED ALWAYS may
 * not be set).
 */
static bool
w2j_change(CdcDecoder *d, const JDoc *j, char action, CdcMessage *m, StrBuf *val)
{
	m->kind = action == 'I' ? CDC_INSERT : action == 'U' ? CDC_UPDATE : CDC_DELETE;
	int cols = json_member(j, 0, "columns");
	int ident = json_member(j, 0, "identity");
	if ((cols >= 0 && j->t[cols].type != JT_ARRAY) ||
		(ident >= 0 && j->t[ident].type != JT_ARRAY) || (action != 'D' && cols < 0) ||
		(action == 'D' && ident < 0))
	{
		return false;
	}
	StrList names = { 0 }, oldnames = { 0 };
	bool ok = (cols < 0 || w2j_tuple(j, cols, &m->newtup, &names, val)) &&
			  (ident < 0 || action == 'I' || w2j_tuple(j, ident, &m->oldtup, &oldnames, val)) &&
			  w2j_columns(d, m->rel, &names) && w2j_columns(d, m->rel, &oldnames);
	if (ok && cols >= 0)
	{
		tuple_spread(&m->newtup, &names, m->rel);
	}
	if (ok && ident >= 0 && action != 'I')
	{
		tuple_spread(&m->oldtup, &oldnames, m->rel);
		m->old_kind = m->rel->replident == 'f' ? 'O' : 'K';
		if (action == 'U' && w2j_same_key(&m->oldtup, &m->newtup))
		{
			m->old_kind = 0;
			m->oldtup.ncols = 0;
		}
	}
	strlist_free(&names);
	strlist_free(&oldnames);
	return ok;
}

/* The action of a parsed message, with what it carries, into m. */
static bool
w2j_action(CdcDecoder *d, const JDoc *j, char action, CdcMessage *m)
{
	StrBuf val, nsp;
	sb_init(&val);
	sb_init(&nsp);
	bool ok = true;
	if (action == 'B' || action == 'C')
	{
		m->kind = action == 'B' ? CDC_BEGIN : CDC_COMMIT;
		m->xid = (uint32_t) json_get_uint(j, 0, "xid");
		m->commit_ts = json_get_string(j, 0, "timestamp", &val) ? w2j_timestamp(val.data) : 0;
		m->final_lsn = m->commit_lsn = json_get_lsn(j, 0, "lsn");
		m->end_lsn = json_get_lsn(j, 0, "nextlsn");
		ok = m->commit_lsn != LSN_INVALID;
	}
	else if (action == 'M')
	{
		m->kind = CDC_SKIP;
	}
	else if (strchr("IUDT", action) != NULL && json_get_string(j, 0, "schema", &nsp) &&
			 json_get_string(j, 0, "table", &val))
	{
		m->rel = decoder_relation(d, nsp.data, val.data);
		if (action == 'T')
		{
			/* one message per table; the applier joins those of one statement */
			m->kind = CDC_TRUNCATE;
			m->trunc_flags = 0;
			if (m->trunc_cap == 0)
			{
				m->trunc_cap = 4;
				m->trunc_rels = xrealloc(m->trunc_rels, sizeof(CdcRelation *) * 4);
			}
			m->trunc_rels[0] = m->rel;
			m->ntrunc = 1;
		}
		else
		{
			ok = w2j_change(d, j, action, m, &val);
		}
	}
	else
	{
		ok = false;
	}
	sb_free(&val);
	sb_free(&nsp);
	return ok;
}

bool
decode_wal2json(CdcDecoder *d, const char *data, uint32_t len, CdcMessage *m)
{
	if (d->json == NULL)
	{
		d->json = xcalloc(1, sizeof(JDoc));
	}
	JDoc *j = d->json;
	StrBuf action;
	sb_init(&action);
	bool ok = json_parse(j, data, len) && json_get_string(j, 0, "action", &action) &&
			  action.len == 1 && w2j_action(d, j, action.data[0], m);
	if (!ok)
	{
		log_error("malformed or unexpected wal2json message: %.*s", len < 120 ? (int) len : 120,
				  data);
		if (m->kind == CDC_NONE || m->kind == CDC_SKIP)
		{
			log_hint(LOG_LEVEL_ERROR, "The slot must stream wal2json's format version 2.");
		}
	}
	sb_free(&action);
	return ok;
}

void
wal2json_free(CdcDecoder *d)
{
	JDoc *j = d->json;
	if (j != NULL)
	{
		free(j->t);
		free(j);
		d->json = NULL;
	}
}

bool
wal2json_commit_lsns(const char *data, uint32_t len, Lsn *commit_lsn, Lsn *end_lsn)
{
	JDoc j = { 0 };
	bool ok = json_parse(&j, data, len);
	if (ok)
	{
		*commit_lsn = json_get_lsn(&j, 0, "lsn");
		*end_lsn = json_get_lsn(&j, 0, "nextlsn");
		ok = *commit_lsn != LSN_INVALID && *end_lsn != LSN_INVALID;
	}
	free(j.t);
	return ok;
}
