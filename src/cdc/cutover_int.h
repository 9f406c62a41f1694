/*
 * src/cdc/cutover_int.h — what cutover.c (the steps) and cutover_fence.c
 * (the fence, the user's commands) share. Not included outside src/cdc/.
 *
 * Invariant: once the fence is attempted, every way out of cutover_run goes
 * through cutover_abort, which undoes it (cutover_unfence), whatever failed.
 */
#ifndef PGSHIFT_CDC_CUTOVER_INT_H
#define PGSHIFT_CDC_CUTOVER_INT_H

#include "cdc/cdc.h"

#define CUTOVER_MAX_EVENTS 12

/* One line of the timeline. */
typedef struct CutoverEvent
{
	const char *name; /* "fence started", ... */
	int64_t wall_us;
	char *detail; /* or NULL */
} CutoverEvent;

typedef struct Cutover
{
	const CutoverSpec *spec;
	PgConn src;   /* our source session, opened before the fence: it may write */
	char *dbname; /* the source database */
	bool endpos_set;
	Lsn endpos;
	int64_t fence_start_us; /* wall clock, 0 before the fence */
	CutoverEvent ev[CUTOVER_MAX_EVENTS];
	int nev;
	int64_t lag_bytes;  /* at the ready check */
	double lag_seconds; /* at the ready check */
} Cutover;

/* Appends an event to the timeline (detail: printf format, or NULL). */
void cutover_event(Cutover *c, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Built-in fence: the database must not already carry a
 * default_transaction_read_only of its own (we would reset it), and our
 * session must be open (it stays writable). false: refused (logged).
 */
bool cutover_fence_precheck(Cutover *c);
/* The fence, built in or the user's command; false: failed (logged). */
bool cutover_fence(Cutover *c);
/* Undoes the fence; false: the source may still refuse writes (logged). */
bool cutover_unfence(Cutover *c);
/* --switch-command, with PGSHIFT_TARGET_PGURI (no password) in its environment. */
bool cutover_switch(Cutover *c);

#endif /* PGSHIFT_CDC_CUTOVER_INT_H */
