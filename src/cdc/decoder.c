/*
 * src/cdc/decoder.c — plugin messages into CdcMessage: the common parts
 * (tuples, the relation cache, dispatch) and pgoutput (protocol version 1).
 *
 * pgoutput's format is in the PostgreSQL documentation, "Logical Replication
 * Message Formats"; test_decoding (decode_td.c) and wal2json (decode_w2j.c)
 * end up as the same messages for the applier. Values are copied, NUL
 * terminated, into the tuple's own store (reused from message to message).
 */
#include "cdc/cdc.h"
#include "cdc/cdc_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg.h"

void
decoder_init(CdcDecoder *d, CdcPlugin plugin)
{
	memset(d, 0, sizeof(*d));
	d->plugin = plugin;
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

void
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
	wal2json_free(d);
	memset(d, 0, sizeof(*d));
}

/* ---- tuple building ---- */

void
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

void
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

void
tuple_finish(CdcTuple *t)
{
	for (int i = 0; i < t->ncols; i++)
	{
		t->values[i] = t->kinds[i] == 't' ? t->store + t->offsets[i] : NULL;
	}
}

void
tuple_spread(CdcTuple *t, const StrList *names, const CdcRelation *r)
{
	CdcTuple full = { 0 };
	tuple_reset(&full, r->ncols);
	for (int i = 0; i < r->ncols; i++)
	{
		int k = -1;
		for (int j = 0; j < names->n && j < t->ncols; j++)
		{
			if (strcmp(names->items[j], r->cols[i].name) == 0)
			{
				k = j;
			}
		}
		if (k >= 0 && t->kinds[k] == 't')
		{
			tuple_add(&full, 't', t->values[k], strlen(t->values[k]));
		}
		else
		{
			tuple_add(&full, k >= 0 ? t->kinds[k] : 'u', NULL, 0);
		}
	}
	tuple_finish(&full);
	tuple_free(t);
	*t = full;
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

CdcRelation *
decoder_relation(CdcDecoder *d, const char *nsp, const char *rel)
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

void
relation_set_columns(CdcRelation *r, const StrList *names)
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

/* Relation: cached by relid; a changed definition keeps the pointer, version bumped. */
static void
decode_relation(CdcDecoder *d, Buf *b, CdcMessage *m)
{
	uint32_t relid = rd32(b);
	CdcRelation *r = xcalloc(1, sizeof(CdcRelation));
	r->relid = relid;
	r->nspname = xstrdup(rdstr(b));
	r->relname = xstrdup(rdstr(b));
	r->qname = pg_qualname(r->nspname, r->relname);
	r->replident = (char) rd8(b);
	r->ncols = rd16(b);
	r->cols = xcalloc((size_t) r->ncols + 1, sizeof(CdcColumn));
	for (int i = 0; i < r->ncols && !b->bad; i++)
	{
		r->cols[i].key = (rd8(b) & 1) != 0;
		r->cols[i].name = xstrdup(rdstr(b));
		r->cols[i].typoid = rd32(b);
		rd32(b);
	}
	if (b->bad)
	{
		relation_free(r);
		return;
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
			decode_relation(d, &b, m);
			break;
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
			m->kind = CDC_ORIGIN;
			break;
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
	switch (d->plugin)
	{
		case CDC_PLUGIN_TEST_DECODING:
			return decode_test_decoding(d, data, len, wal_start, m);
		case CDC_PLUGIN_WAL2JSON:
			return decode_wal2json(d, data, len, m);
		case CDC_PLUGIN_PGOUTPUT:
			break;
	}
	return decode_pgoutput(d, data, len, m);
}
