/*
 * src/state/internal.h — what the files of src/state/ share, and nobody else.
 *
 * The one place sqlite3.h is included: no sqlite3* leaves src/state/, so the
 * storage engine, its locking and its error handling can change here without
 * touching a caller. Files outside src/state/ must not include this header
 * (tools/check-layers.sh reports it).
 */
#ifndef PGSHIFT_STATE_INTERNAL_H
#define PGSHIFT_STATE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "state/state.h"

#if SQLITE_VERSION_NUMBER < 3035000
#error "SQLite 3.35 or later is required (RETURNING)"
#endif

/* lock is recursive: a StateStmt may run inside state_begin/commit */
struct StateDb
{
	sqlite3 *db;
	pthread_mutex_t lock;
};

/*
 * Raw, locked access for the files of src/state/ that run SQLite calls
 * themselves. Every return code is theirs to check.
 */
sqlite3 *state_lock(StateDb *db);
void state_unlock(StateDb *db);

/* Runs one or more statements without parameters (caller holds the lock). */
bool state_exec_raw(sqlite3 *db, const char *name, const char *sql);

#endif /* PGSHIFT_STATE_INTERNAL_H */
