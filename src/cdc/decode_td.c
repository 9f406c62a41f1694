/*
 * src/cdc/decode_td.c — test_decoding's text lines into CdcMessage.
 *
 * test_decoding prints one line per change:
 *   BEGIN 123 | COMMIT 123 (at <timestamp>) |
 *   table nsp.rel: INSERT: col[type]:value ... |
 *   table nsp.rel: UPDATE: old-key: ... new-tuple: ... | DELETE: ... |
 *   table a, b: TRUNCATE: restart_seqs cascade
 * Names are printed by quote_identifier, values by the type's output
 * function ('quoted' unless numeric, bool or null). It names neither the key
 * columns nor a relation's full column list: the old tuple is spread over
 * the columns known so far, and a table first seen in a DELETE takes its
 * columns from the target (CdcDecoder.columns).
 */
#include <stdlib.h>
#include <string.h>

#include "cdc/cdc.h"
#include "cdc/cdc_int.h"

/* Reads an identifier as quote_identifier printed it; returns the end. */
static const char *
td_ident(const char *p, StrBuf *out)
{
	sb_reset(out);
	if (*p == '"')
	{
		p++;
		while (*p)
		{
			if (*p == '"' && p[1] == '"')
			{
				sb_append_char(out, '"');
				p += 2;
			}
			else if (*p == '"')
			{
				p++;
				break;
			}
			else
			{
				sb_append_char(out, *p++);
			}
		}
		return p;
	}
	while (*p && *p != '.' && *p != ':' && *p != ',' && *p != '[' && *p != ' ')
	{
		sb_append_char(out, *p++);
	}
	return p;
}

/* A 'quoted' value, '' for a quote; returns the end. */
static const char *
td_quoted(const char *p, StrBuf *val)
{
	sb_reset(val);
	p++;
	while (*p)
	{
		if (*p == '\'' && p[1] == '\'')
		{
			sb_append_char(val, '\'');
			p += 2;
		}
		else if (*p == '\'')
		{
			p++;
			break;
		}
		else
		{
			sb_append_char(val, *p++);
		}
	}
	return p;
}

/*
 * Parses "col[type]:value col[type]:value ..." up to the end or to a
 * section keyword ("new-tuple:"); fills the tuple and the column names.
 */
static const char *
td_tuple(const char *p, CdcTuple *t, StrList *names)
{
	StrBuf name;
	sb_init(&name);
	StrBuf val;
	sb_init(&val);
	tuple_reset(t, 8);
	while (*p)
	{
		while (*p == ' ')
		{
			p++;
		}
		if (!*p || strncmp(p, "new-tuple:", 10) == 0)
		{
			break;
		}
		p = td_ident(p, &name);
		if (*p != '[')
		{
			break;
		}
		const char *close = strstr(p, "]:");
		if (close == NULL)
		{
			break;
		}
		p = close + 2;
		strlist_add(names, name.data);
		if (*p == '\'')
		{
			p = td_quoted(p, &val);
			tuple_add(t, 't', val.data, val.len);
		}
		else if (strncmp(p, "null", 4) == 0 && (p[4] == ' ' || p[4] == '\0'))
		{
			tuple_add(t, 'n', NULL, 0);
			p += 4;
		}
		else if (strncmp(p, "unchanged-toast-datum", 21) == 0)
		{
			tuple_add(t, 'u', NULL, 0);
			p += 21;
		}
		else if (p[0] == 'B' && p[1] == '\'')
		{
			/* bit and varbit: B'0101' (only 0s and 1s inside) */
			const char *s = p + 2;
			const char *e = strchr(s, '\'');
			if (e == NULL)
			{
				break;
			}
			tuple_add(t, 't', s, (size_t) (e - s));
			p = e + 1;
		}
		else
		{
			const char *s = p;
			while (*p && *p != ' ')
			{
				p++;
			}
			tuple_add(t, 't', s, (size_t) (p - s));
		}
	}
	tuple_finish(t);
	sb_free(&name);
	sb_free(&val);
	return p;
}

/*
 * "table nsp.rel[, nsp.rel...]: ": the relations into m->trunc_rels, the
 * first into m->rel; returns what follows, or NULL if malformed.
 */
static const char *
td_tables(CdcDecoder *d, const char *data, CdcMessage *m)
{
	const char *p = data + 6;
	StrBuf nsp, rel;
	sb_init(&nsp);
	sb_init(&rel);
	m->ntrunc = 0;
	bool ok = true;
	for (;;)
	{
		p = td_ident(p, &nsp);
		if (*p != '.')
		{
			ok = false;
			break;
		}
		p = td_ident(p + 1, &rel);
		CdcRelation *r = decoder_relation(d, nsp.data, rel.data);
		if (m->ntrunc == m->trunc_cap)
		{
			m->trunc_cap = m->trunc_cap ? m->trunc_cap * 2 : 4;
			m->trunc_rels = xrealloc(m->trunc_rels, sizeof(CdcRelation *) * (size_t) m->trunc_cap);
		}
		m->trunc_rels[m->ntrunc++] = r;
		if (*p == ',')
		{
			p += 2;
			continue;
		}
		break;
	}
	sb_free(&nsp);
	sb_free(&rel);
	if (!ok || strncmp(p, ": ", 2) != 0)
	{
		return NULL;
	}
	m->rel = m->trunc_rels[0];
	return p + 2;
}

/* "UPDATE: [old-key: ... new-tuple: ]..." */
static void
td_update(const char *p, CdcMessage *m)
{
	CdcRelation *r = m->rel;
	StrList names = { 0 };
	m->kind = CDC_UPDATE;
	m->old_kind = 0;
	if (strncmp(p, "old-key: ", 9) == 0)
	{
		StrList oldnames = { 0 };
		p = td_tuple(p + 9, &m->oldtup, &oldnames);
		/* old-key lists only the identity columns: widen it to all columns below */
		m->old_kind = r->replident == 'f' ? 'O' : 'K';
		if (strncmp(p, "new-tuple: ", 11) == 0)
		{
			p += 11;
		}
		td_tuple(p, &m->newtup, &names);
		relation_set_columns(r, &names);
		tuple_spread(&m->oldtup, &oldnames, r);
		strlist_free(&oldnames);
	}
	else
	{
		td_tuple(p, &m->newtup, &names);
		relation_set_columns(r, &names);
	}
	strlist_free(&names);
}

/* "DELETE: col[type]:value ..." (the identity's columns) */
static bool
td_delete(CdcDecoder *d, const char *p, CdcMessage *m)
{
	CdcRelation *r = m->rel;
	m->kind = CDC_DELETE;
	if (strncmp(p, "(no-tuple-data)", 15) == 0)
	{
		log_error("DELETE on %s without replica identity: it cannot be applied", r->qname);
		log_hint(LOG_LEVEL_ERROR,
				 "ALTER TABLE %s REPLICA IDENTITY FULL (or add a primary "
				 "key) on the source.",
				 r->qname);
		return false;
	}
	StrList oldnames = { 0 };
	td_tuple(p, &m->oldtup, &oldnames);
	m->old_kind = 'K';
	if (r->ncols == 0)
	{
		/*
		 * First seen in a DELETE, which names only the identity's columns,
		 * and of a REPLICA IDENTITY FULL row only those not NULL: take the
		 * table's whole column list from the target when the caller can,
		 * else the ones named (the key of a table with one).
		 */
		StrList all = { 0 };
		if (d->columns != NULL && !d->columns(d->columns_arg, r, &all))
		{
			strlist_free(&all);
			strlist_free(&oldnames);
			return false;
		}
		relation_set_columns(r, all.n > 0 ? &all : &oldnames);
		strlist_free(&all);
	}
	tuple_spread(&m->oldtup, &oldnames, r);
	strlist_free(&oldnames);
	return true;
}

bool
decode_test_decoding(CdcDecoder *d, const char *data, uint32_t len, Lsn wal_start, CdcMessage *m)
{
	(void) len;
	if (strncmp(data, "BEGIN", 5) == 0)
	{
		m->kind = CDC_BEGIN;
		m->xid = (uint32_t) strtoul(data + 5, NULL, 10);
		m->final_lsn = LSN_INVALID; /* unknown until COMMIT */
		return true;
	}
	if (strncmp(data, "COMMIT", 6) == 0)
	{
		m->kind = CDC_COMMIT;
		m->commit_lsn = wal_start;
		m->end_lsn = wal_start;
		m->commit_ts = 0;
		return true;
	}
	if (strncmp(data, "message:", 8) == 0)
	{
		m->kind = CDC_SKIP;
		return true;
	}
	const char *p = strncmp(data, "table ", 6) == 0 ? td_tables(d, data, m) : NULL;
	if (p == NULL)
	{
		log_error("unexpected test_decoding line: %.80s", data);
		return false;
	}
	if (strncmp(p, "INSERT: ", 8) == 0)
	{
		StrList names = { 0 };
		m->kind = CDC_INSERT;
		td_tuple(p + 8, &m->newtup, &names);
		relation_set_columns(m->rel, &names);
		strlist_free(&names);
		return true;
	}
	if (strncmp(p, "UPDATE: ", 8) == 0)
	{
		td_update(p + 8, m);
		return true;
	}
	if (strncmp(p, "DELETE: ", 8) == 0)
	{
		return td_delete(d, p + 8, m);
	}
	if (strncmp(p, "TRUNCATE:", 9) == 0)
	{
		m->kind = CDC_TRUNCATE;
		m->trunc_flags = 0;
		if (strstr(p, "cascade") != NULL)
		{
			m->trunc_flags |= 1;
		}
		if (strstr(p, "restart_seqs") != NULL)
		{
			m->trunc_flags |= 2;
		}
		return true;
	}
	log_error("unexpected test_decoding line: %.80s", data);
	return false;
}
