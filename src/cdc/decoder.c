/*
 * src/cdc/decoder.c — pgoutput (protocol version 1) and test_decoding messages
 * into CdcMessage.
 *
 * pgoutput's format is in the PostgreSQL documentation, "Logical Replication
 * Message Formats". test_decoding prints one text line per change:
 *   BEGIN 123 | COMMIT 123 (at <timestamp>) |
 *   table nsp.rel: INSERT: col[type]:value ... |
 *   table nsp.rel: UPDATE: old-key: ... new-tuple: ... | DELETE: ... |
 *   table a, b: TRUNCATE: restart_seqs cascade
 * Both end up as the same messages for the applier. Values are copied, NUL
 * terminated, into the tuple's own store (reused from message to message).
 */
#include "cdc/cdc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg.h"

void
decoder_init(CdcDecoder *d, bool test_decoding)
{
	memset(d, 0, sizeof(*d));
	d->test_decoding = test_decoding;
}

static void
relation_free(CdcRelation *r)
{
	if (r == NULL)
	{
		return;
	}
	for (int i = 0; i < r->ncols; i++)
	{
		free(r->cols[i].name);
	}
	free(r->cols);
	free(r->nspname);
	free(r->relname);
	free(r->qname);
	free(r);
}

static void
tuple_free(CdcTuple *t)
{
	free(t->kinds);
	free(t->values);
	free(t->offsets);
	free(t->store);
	memset(t, 0, sizeof(*t));
}

void
message_free(CdcMessage *m)
{
	tuple_free(&m->oldtup);
	tuple_free(&m->newtup);
	free(m->trunc_rels);
	memset(m, 0, sizeof(*m));
}

void
decoder_free(CdcDecoder *d)
{
	for (int i = 0; i < d->nrels; i++)
	{
		relation_free(d->rels[i]);
	}
	free(d->rels);
	free(d->scratch);
	memset(d, 0, sizeof(*d));
}

/* ---- tuple building ---- */

static void
tuple_reset(CdcTuple *t, int ncols)
{
	if (ncols > t->cap)
	{
		t->cap = ncols;
		t->kinds = xrealloc(t->kinds, (size_t) ncols);
		t->values = xrealloc(t->values, sizeof(char *) * (size_t) ncols);
		t->offsets = xrealloc(t->offsets, sizeof(size_t) * (size_t) ncols);
	}
	t->ncols = 0;
	t->storelen = 0;
}

static void
tuple_add(CdcTuple *t, char kind, const char *val, size_t len)
{
	int i = t->ncols++;
	if (i >= t->cap)
	{
		t->cap = t->cap ? t->cap * 2 : 8;
		t->kinds = xrealloc(t->kinds, (size_t) t->cap);
		t->values = xrealloc(t->values, sizeof(char *) * (size_t) t->cap);
		t->offsets = xrealloc(t->offsets, sizeof(size_t) * (size_t) t->cap);
	}
	t->kinds[i] = kind;
	t->offsets[i] = t->storelen;
	if (kind == 't')
	{
		if (t->storelen + len + 1 > t->storecap)
		{
			size_t cap = t->storecap ? t->storecap : 256;
			while (cap < t->storelen + len + 1)
			{
				cap *= 2;
			}
			t->store = xrealloc(t->store, cap);
			t->storecap = cap;
		}
		memcpy(t->store + t->storelen, val, len);
		t->store[t->storelen + len] = '\0';
		t->storelen += len + 1;
	}
}

static void
tuple_finish(CdcTuple *t)
{
	for (int i = 0; i < t->ncols; i++)
	{
		t->values[i] = t->kinds[i] == 't' ? t->store + t->offsets[i] : NULL;
	}
}

/* ---- pgoutput ---- */

typedef struct Buf
{
	const unsigned char *p;
	const unsigned char *end;
	bool bad;
} Buf;

static uint8_t
rd8(Buf *b)
{
	if (b->p + 1 > b->end)
	{
		b->bad = true;
		return 0;
	}
	return *b->p++;
}

static uint16_t
rd16(Buf *b)
{
	if (b->p + 2 > b->end)
	{
		b->bad = true;
		return 0;
	}
	uint16_t v = (uint16_t) (b->p[0] << 8 | b->p[1]);
	b->p += 2;
	return v;
}

static uint32_t
rd32(Buf *b)
{
	if (b->p + 4 > b->end)
	{
		b->bad = true;
		return 0;
	}
	uint32_t v =
		(uint32_t) b->p[0] << 24 | (uint32_t) b->p[1] << 16 | (uint32_t) b->p[2] << 8 | b->p[3];
	b->p += 4;
	return v;
}

static uint64_t
rd64(Buf *b)
{
	uint64_t hi = rd32(b);
	return hi << 32 | rd32(b);
}

static const char *
rdstr(Buf *b)
{
	const unsigned char *s = b->p;
	while (b->p < b->end && *b->p)
	{
		b->p++;
	}
	if (b->p >= b->end)
	{
		b->bad = true;
		return "";
	}
	b->p++;
	return (const char *) s;
}

static CdcRelation *
rel_find(CdcDecoder *d, uint32_t relid)
{
	for (int i = 0; i < d->nrels; i++)
	{
		if (d->rels[i]->relid == relid)
		{
			return d->rels[i];
		}
	}
	return NULL;
}

static bool
relation_same(const CdcRelation *a, const CdcRelation *b)
{
	if (a->ncols != b->ncols || a->replident != b->replident ||
		strcmp(a->nspname, b->nspname) != 0 || strcmp(a->relname, b->relname) != 0)
	{
		return false;
	}
	for (int i = 0; i < a->ncols; i++)
	{
		if (a->cols[i].key != b->cols[i].key || a->cols[i].typoid != b->cols[i].typoid ||
			strcmp(a->cols[i].name, b->cols[i].name) != 0)
		{
			return false;
		}
	}
	return true;
}

static void
rel_add(CdcDecoder *d, CdcRelation *r)
{
	if (d->nrels == d->caprels)
	{
		d->caprels = d->caprels ? d->caprels * 2 : 16;
		d->rels = xrealloc(d->rels, sizeof(CdcRelation *) * (size_t) d->caprels);
	}
	d->rels[d->nrels++] = r;
}

static void
read_tuple(Buf *b, CdcTuple *t)
{
	int n = rd16(b);
	tuple_reset(t, n);
	for (int i = 0; i < n && !b->bad; i++)
	{
		char kind = (char) rd8(b);
		if (kind == 't' || kind == 'b')
		{
			uint32_t len = rd32(b);
			if (b->p + len > b->end)
			{
				b->bad = true;
				return;
			}
			tuple_add(t, 't', (const char *) b->p, len);
			b->p += len;
		}
		else if (kind == 'n' || kind == 'u')
		{
			tuple_add(t, kind, NULL, 0);
		}
		else
		{
			b->bad = true;
		}
	}
	tuple_finish(t);
}

static bool
decode_pgoutput(CdcDecoder *d, const char *data, uint32_t len, CdcMessage *m)
{
	Buf b = { (const unsigned char *) data, (const unsigned char *) data + len, false };
	char type = (char) rd8(&b);
	switch (type)
	{
		case 'B':
			m->kind = CDC_BEGIN;
			m->final_lsn = rd64(&b);
			m->commit_ts = (int64_t) rd64(&b);
			m->xid = rd32(&b);
			break;
		case 'C':
			m->kind = CDC_COMMIT;
			rd8(&b);
			m->commit_lsn = rd64(&b);
			m->end_lsn = rd64(&b);
			m->commit_ts = (int64_t) rd64(&b);
			break;
		case 'R':
		{
			uint32_t relid = rd32(&b);
			CdcRelation *r = xcalloc(1, sizeof(CdcRelation));
			r->relid = relid;
			r->nspname = xstrdup(rdstr(&b));
			r->relname = xstrdup(rdstr(&b));
			r->qname = pg_qualname(r->nspname, r->relname);
			r->replident = (char) rd8(&b);
			r->ncols = rd16(&b);
			r->cols = xcalloc((size_t) r->ncols + 1, sizeof(CdcColumn));
			for (int i = 0; i < r->ncols && !b.bad; i++)
			{
				r->cols[i].key = (rd8(&b) & 1) != 0;
				r->cols[i].name = xstrdup(rdstr(&b));
				r->cols[i].typoid = rd32(&b);
				rd32(&b);
			}
			if (b.bad)
			{
				relation_free(r);
				break;
			}
			CdcRelation *old = rel_find(d, relid);
			if (old != NULL && relation_same(old, r))
			{
				/*
				 * Described again unchanged (after a cache invalidation on the
				 * source, or at the start of a journal segment): the applier's
				 * prepared statements stay valid.
				 */
				relation_free(r);
				r = old;
			}
			else if (old != NULL)
			{
				/* same pointer stays valid for the applier: swap the contents */
				for (int i = 0; i < old->ncols; i++)
				{
					free(old->cols[i].name);
				}
				free(old->cols);
				free(old->nspname);
				free(old->relname);
				free(old->qname);
				old->nspname = r->nspname;
				old->relname = r->relname;
				old->qname = r->qname;
				old->replident = r->replident;
				old->ncols = r->ncols;
				old->cols = r->cols;
				old->version++;
				free(r);
				r = old;
			}
			else
			{
				rel_add(d, r);
			}
			m->kind = CDC_RELATION;
			m->rel = r;
			break;
		}
		case 'I':
			m->kind = CDC_INSERT;
			m->rel = rel_find(d, rd32(&b));
			if (rd8(&b) != 'N')
			{
				b.bad = true;
				break;
			}
			read_tuple(&b, &m->newtup);
			break;
		case 'U':
		{
			m->kind = CDC_UPDATE;
			m->rel = rel_find(d, rd32(&b));
			char k = (char) rd8(&b);
			m->old_kind = 0;
			if (k == 'K' || k == 'O')
			{
				m->old_kind = k;
				read_tuple(&b, &m->oldtup);
				k = (char) rd8(&b);
			}
			if (k != 'N')
			{
				b.bad = true;
				break;
			}
			read_tuple(&b, &m->newtup);
			break;
		}
		case 'D':
			m->kind = CDC_DELETE;
			m->rel = rel_find(d, rd32(&b));
			m->old_kind = (char) rd8(&b);
			if (m->old_kind != 'K' && m->old_kind != 'O')
			{
				b.bad = true;
				break;
			}
			read_tuple(&b, &m->oldtup);
			break;
		case 'T':
		{
			m->kind = CDC_TRUNCATE;
			int n = (int) rd32(&b);
			m->trunc_flags = rd8(&b);
			if (n > m->trunc_cap)
			{
				m->trunc_cap = n;
				m->trunc_rels = xrealloc(m->trunc_rels, sizeof(CdcRelation *) * (size_t) n);
			}
			m->ntrunc = 0;
			for (int i = 0; i < n && !b.bad; i++)
			{
				CdcRelation *r = rel_find(d, rd32(&b));
				if (r != NULL)
				{
					m->trunc_rels[m->ntrunc++] = r;
				}
			}
			break;
		}
		case 'O':
		case 'Y':
		case 'M':
			m->kind = CDC_SKIP;
			break;
		default:
			log_error("unknown pgoutput message type '%c'", type);
			return false;
	}
	if (b.bad)
	{
		log_error("malformed pgoutput message of type '%c' (%u bytes)", type, len);
		return false;
	}
	if ((m->kind == CDC_INSERT || m->kind == CDC_UPDATE || m->kind == CDC_DELETE) && m->rel == NULL)
	{
		log_error("pgoutput change for a relation not described by a Relation message");
		return false;
	}
	return true;
}

/* ---- test_decoding ---- */

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

static CdcRelation *
td_relation(CdcDecoder *d, const char *nsp, const char *rel)
{
	for (int i = 0; i < d->nrels; i++)
	{
		CdcRelation *r = d->rels[i];
		if (strcmp(r->nspname, nsp) == 0 && strcmp(r->relname, rel) == 0)
		{
			return r;
		}
	}
	CdcRelation *r = xcalloc(1, sizeof(CdcRelation));
	r->relid = (uint32_t) d->nrels + 1;
	r->nspname = xstrdup(nsp);
	r->relname = xstrdup(rel);
	r->qname = pg_qualname(nsp, rel);
	r->replident = 'd';
	rel_add(d, r);
	return r;
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
			sb_reset(&val);
			p++;
			while (*p)
			{
				if (*p == '\'' && p[1] == '\'')
				{
					sb_append_char(&val, '\'');
					p += 2;
				}
				else if (*p == '\'')
				{
					p++;
					break;
				}
				else
				{
					sb_append_char(&val, *p++);
				}
			}
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

/* Makes the relation's columns those named by the message (rebuilt on change). */
static void
td_columns(CdcRelation *r, const StrList *names)
{
	bool same = r->ncols == names->n;
	for (int i = 0; same && i < names->n; i++)
	{
		same = strcmp(r->cols[i].name, names->items[i]) == 0;
	}
	if (same)
	{
		return;
	}
	for (int i = 0; i < r->ncols; i++)
	{
		free(r->cols[i].name);
	}
	free(r->cols);
	r->ncols = names->n;
	r->cols = xcalloc((size_t) r->ncols + 1, sizeof(CdcColumn));
	for (int i = 0; i < names->n; i++)
	{
		r->cols[i].name = xstrdup(names->items[i]);
	}
	r->version++;
	r->keys_looked_up = false;
}

static bool
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
	if (strncmp(data, "table ", 6) != 0)
	{
		log_error("unexpected test_decoding line: %.80s", data);
		return false;
	}
	const char *p = data + 6;
	StrBuf nsp, rel;
	sb_init(&nsp);
	sb_init(&rel);
	CdcRelation *first = NULL;
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
		CdcRelation *r = td_relation(d, nsp.data, rel.data);
		if (first == NULL)
		{
			first = r;
		}
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
		log_error("unexpected test_decoding line: %.80s", data);
		return false;
	}
	p += 2;
	m->rel = first;
	StrList names = { 0 };
	if (strncmp(p, "INSERT: ", 8) == 0)
	{
		m->kind = CDC_INSERT;
		td_tuple(p + 8, &m->newtup, &names);
		td_columns(first, &names);
	}
	else if (strncmp(p, "UPDATE: ", 8) == 0)
	{
		m->kind = CDC_UPDATE;
		p += 8;
		m->old_kind = 0;
		if (strncmp(p, "old-key: ", 9) == 0)
		{
			StrList oldnames = { 0 };
			p = td_tuple(p + 9, &m->oldtup, &oldnames);
			/* old-key lists only the identity columns: widen it to all columns below */
			m->old_kind = first->replident == 'f' ? 'O' : 'K';
			if (strncmp(p, "new-tuple: ", 11) == 0)
			{
				p += 11;
			}
			td_tuple(p, &m->newtup, &names);
			td_columns(first, &names);
			/* spread the old key values over the full column list */
			CdcTuple full = { 0 };
			tuple_reset(&full, names.n);
			for (int i = 0; i < names.n; i++)
			{
				int k = -1;
				for (int j = 0; j < oldnames.n; j++)
				{
					if (strcmp(oldnames.items[j], names.items[i]) == 0)
					{
						k = j;
					}
				}
				if (k >= 0 && m->oldtup.kinds[k] == 't')
				{
					tuple_add(&full, 't', m->oldtup.values[k], strlen(m->oldtup.values[k]));
				}
				else if (k >= 0)
				{
					tuple_add(&full, m->oldtup.kinds[k], NULL, 0);
				}
				else
				{
					tuple_add(&full, 'u', NULL, 0); /* not part of the key */
				}
			}
			tuple_finish(&full);
			tuple_free(&m->oldtup);
			m->oldtup = full;
			strlist_free(&oldnames);
		}
		else
		{
			td_tuple(p, &m->newtup, &names);
			td_columns(first, &names);
		}
	}
	else if (strncmp(p, "DELETE: ", 8) == 0)
	{
		m->kind = CDC_DELETE;
		p += 8;
		if (strncmp(p, "(no-tuple-data)", 15) == 0)
		{
			log_error("DELETE on %s without replica identity: it cannot be applied", first->qname);
			log_hint(LOG_LEVEL_ERROR,
					 "ALTER TABLE %s REPLICA IDENTITY FULL (or add a primary "
					 "key) on the source.",
					 first->qname);
			return false;
		}
		StrList oldnames = { 0 };
		td_tuple(p, &m->oldtup, &oldnames);
		m->old_kind = 'K';
		if (first->ncols == 0)
		{
			/*
			 * First seen in a DELETE, which names only the identity's columns,
			 * and of a REPLICA IDENTITY FULL row only those not NULL: take the
			 * table's whole column list from the target when the caller can,
			 * else the ones named (the key of a table with one).
			 */
			StrList all = { 0 };
			if (d->columns != NULL && !d->columns(d->columns_arg, first, &all))
			{
				strlist_free(&all);
				strlist_free(&oldnames);
				return false;
			}
			td_columns(first, all.n > 0 ? &all : &oldnames);
			strlist_free(&all);
		}
		CdcTuple full = { 0 };
		tuple_reset(&full, first->ncols);
		for (int i = 0; i < first->ncols; i++)
		{
			int k = -1;
			for (int j = 0; j < oldnames.n; j++)
			{
				if (strcmp(oldnames.items[j], first->cols[i].name) == 0)
				{
					k = j;
				}
			}
			if (k >= 0 && m->oldtup.kinds[k] == 't')
			{
				tuple_add(&full, 't', m->oldtup.values[k], strlen(m->oldtup.values[k]));
			}
			else if (k >= 0)
			{
				tuple_add(&full, m->oldtup.kinds[k], NULL, 0);
			}
			else
			{
				tuple_add(&full, 'u', NULL, 0);
			}
		}
		tuple_finish(&full);
		tuple_free(&m->oldtup);
		m->oldtup = full;
		strlist_free(&oldnames);
	}
	else if (strncmp(p, "TRUNCATE:", 9) == 0)
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
	}
	else
	{
		log_error("unexpected test_decoding line: %.80s", data);
		strlist_free(&names);
		return false;
	}
	strlist_free(&names);
	return true;
}

bool
decoder_decode(CdcDecoder *d, const char *data, uint32_t len, Lsn wal_start, CdcMessage *m)
{
	/*
	 * The message is reused: nothing of the previous one may show through
	 * (an INSERT after a DELETE once kept the DELETE's old row).
	 */
	m->kind = CDC_NONE;
	m->rel = NULL;
	m->old_kind = 0;
	m->oldtup.ncols = 0;
	m->newtup.ncols = 0;
	m->ntrunc = 0;
	if (len == 0)
	{
		m->kind = CDC_SKIP;
		return true;
	}
	if (d->test_decoding)
	{
		return decode_test_decoding(d, data, len, wal_start, m);
	}
	return decode_pgoutput(d, data, len, m);
}
