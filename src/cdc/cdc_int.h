/*
 * src/cdc/cdc_int.h — what the files of src/cdc/ share, and no one else.
 *
 * decoder.c holds the common parts (tuples, the relation cache) and the
 * pgoutput decoder; decode_td.c (test_decoding) and decode_w2j.c (wal2json)
 * build the same CdcMessage from their plugin's text; apply_sql.c writes the
 * applier's statements. Not part of cdc.h: no other folder decodes plugin
 * messages or applies them.
 */
#ifndef PGSHIFT_CDC_INT_H
#define PGSHIFT_CDC_INT_H

#include "cdc/cdc.h"

/* A big-endian 64-bit integer of the replication protocol (plugin.c). */
uint64_t cdc_get_be64(const char *b);

/* ---- tuples (decoder.c) ---- */
void tuple_reset(CdcTuple *t, int ncols);
/* kind 't': val[0..len) is copied, NUL-terminated; 'n', 'u': no value */
void tuple_add(CdcTuple *t, char kind, const char *val, size_t len);
/* Points values[] into the store: call once every column is added. */
void tuple_finish(CdcTuple *t);
void tuple_free(CdcTuple *t);
/*
 * Replaces t (whose columns are named by names) with one column per column
 * of r, in r's order: a column t does not name is 'u' (not part of the key,
 * or an unchanged TOAST value).
 */
void tuple_spread(CdcTuple *t, const StrList *names, const CdcRelation *r);

/* ---- relations (decoder.c) ---- */
/* The relation of that name, created (without columns) the first time. */
CdcRelation *decoder_relation(CdcDecoder *d, const char *nsp, const char *rel);
/* Makes r's columns those named (version bumped and keys forgotten on change). */
void relation_set_columns(CdcRelation *r, const StrList *names);

/* ---- the text plugins ---- */
bool decode_test_decoding(CdcDecoder *d, const char *data, uint32_t len, Lsn wal_start,
						  CdcMessage *m);
bool decode_wal2json(CdcDecoder *d, const char *data, uint32_t len, CdcMessage *m);
void wal2json_free(CdcDecoder *d);
/* A wal2json COMMIT ("action":"C"): its "lsn" and "nextlsn"; false if malformed. */
bool wal2json_commit_lsns(const char *data, uint32_t len, Lsn *commit_lsn, Lsn *end_lsn);

/* ---- the applier's statements (apply_sql.c) ---- */
/*
 * The SQL of an INSERT ('I'), UPDATE ('U') or DELETE ('D') of r into sql;
 * returns the number of parameters, map[i] being the column of parameter i
 * (>= r->ncols: column map[i] - r->ncols of the old tuple). mask, one char
 * per column: 's' set/insert the value, '-' absent; then one per column for
 * the WHERE part: 'k' key from the old tuple, 'n' key from the new tuple,
 * 'z' IS NULL.
 */
int apply_sql_build(const CdcRelation *r, char kind, const char *mask, StrBuf *sql, int *map);

/* ---- the target's triggers without session_replication_role (apply_triggers.c) ---- */
/*
 * On the applier's session: SET session_replication_role = replica, or when
 * the role may not, disable the enabled user triggers of the tables applied
 * to (recorded in state.db first). false: the applier cannot start.
 */
bool cdc_triggers_begin(PgConn *c, const CdcOptions *co);
/*
 * When applying starts after a pause (pgcopydb's prefetch: the copy's
 * post-data may have restored triggers since): the same on a connection of
 * its own.
 */
bool cdc_triggers_refresh(const CdcOptions *co);
/* Enables again what a degraded applier (this one, or one that crashed) disabled. */
bool cdc_triggers_restore(PgConn *c, StateDb *state);
/* Same on a connection of its own (the applier's may be in a broken pipeline). */
void cdc_triggers_end(const CdcOptions *co);

#endif /* PGSHIFT_CDC_INT_H */
