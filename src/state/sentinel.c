/*
 * src/state/sentinel.c — the sentinel row of state.db: the follower's
 * positions, read and written from other shells while it runs.
 *
 * One row (id = 1): startpos (where streaming starts when the journal is
 * empty), endpos (where the follower stops; 0/0 or NULL: not set), apply
 * (pgcopydb's "apply" switch: 1 on, 0 off, -1 not set, which applies), and the write / flush /
 * replay positions the follower reports. LSNs are stored as text ("16/B374D848") so that sqlite3
 * shows them as PostgreSQL does; this file alone converts them, so the
 * callers only see the Sentinel struct and no SQL.
 *
 * Writers are separate processes (`stream sentinel set ...` while `follow`
 * runs): each write is one statement, and SQLite's WAL mode serialises them.
 */
#include "state/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"

#define LSN_TEXT_MAX 32

/*
 * The row, created on first use with apply = -1: not set, the follower
 * applies. 0 (stream setup, snapshot --follow, set prefetch) is pgcopydb's
 * prefetch mode: changes are received, not applied, until set apply (1).
 */
#define SENTINEL_CREATE "INSERT INTO sentinel(id, apply) VALUES (1, -1) ON CONFLICT(id) DO NOTHING"

static void
lsn_text(uint64_t lsn, char *buf, size_t size)
{
	snprintf(buf, size, "%" PRIX32 "/%" PRIX32, (uint32_t) (lsn >> 32), (uint32_t) lsn);
}

/* NULL or unparsable text: 0 (not set). */
static uint64_t
column_lsn(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	unsigned int hi, lo;
	char extra;
	if (t == NULL || sscanf((const char *) t, "%X/%X%c", &hi, &lo, &extra) != 2)
	{
		return 0;
	}
	return ((uint64_t) hi << 32) | lo;
}

bool
sentinel_get(StateDb *db, Sentinel *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3 *s = state_lock(db);
	sqlite3_stmt *st = NULL;
	bool found = false;
	int rc = sqlite3_prepare_v2(s,
								"SELECT startpos, endpos, apply, write_lsn, flush_lsn, replay_lsn "
								"FROM sentinel WHERE id = 1",
								-1, &st, NULL);
	if (rc == SQLITE_OK)
	{
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
		{
			found = true;
			out->startpos = column_lsn(st, 0);
			out->endpos = column_lsn(st, 1);
			int apply = sqlite3_column_int(st, 2);
			out->apply = apply != 0;
			out->prefetch = apply == 0;
			out->write_lsn = column_lsn(st, 3);
			out->flush_lsn = column_lsn(st, 4);
			out->replay_lsn = column_lsn(st, 5);
		}
		else if (rc != SQLITE_DONE)
		{
			log_error("state.db: could not read the sentinel: %s", sqlite3_errmsg(s));
		}
	}
	else
	{
		log_error("state.db: could not read the sentinel: %s", sqlite3_errmsg(s));
	}
	sqlite3_finalize(st);
	state_unlock(db);
	return found;
}

/* Sets one column (a fixed name from this file, never user text). */
static bool
sentinel_set_column(StateDb *db, const char *column, const char *value)
{
	if (!state_exec(db, SENTINEL_CREATE, 0, NULL))
	{
		return false;
	}
	char sql[96];
	snprintf(sql, sizeof(sql), "UPDATE sentinel SET %s = ?1, updated_at = ?2 WHERE id = 1", column);
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long) time_wall_us());
	const char *p[] = { value, now };
	return state_exec(db, sql, 2, p);
}

bool
sentinel_set_startpos(StateDb *db, uint64_t lsn)
{
	char b[LSN_TEXT_MAX];
	lsn_text(lsn, b, sizeof(b));
	return sentinel_set_column(db, "startpos", b);
}

bool
sentinel_set_endpos(StateDb *db, uint64_t lsn)
{
	char b[LSN_TEXT_MAX];
	lsn_text(lsn, b, sizeof(b));
	return sentinel_set_column(db, "endpos", b);
}

bool
sentinel_set_apply(StateDb *db, bool apply)
{
	return sentinel_set_column(db, "apply", apply ? "1" : "0");
}

bool
sentinel_update_positions(StateDb *db, uint64_t write_lsn, uint64_t flush_lsn, uint64_t replay_lsn)
{
	char w[LSN_TEXT_MAX], f[LSN_TEXT_MAX], r[LSN_TEXT_MAX];
	lsn_text(write_lsn, w, sizeof(w));
	lsn_text(flush_lsn, f, sizeof(f));
	lsn_text(replay_lsn, r, sizeof(r));
	const char *p[] = { write_lsn ? w : NULL, flush_lsn ? f : NULL, replay_lsn ? r : NULL };
	return state_exec(db, SENTINEL_CREATE, 0, NULL) &&
		   state_exec(db,
					  "UPDATE sentinel SET write_lsn = coalesce(?1, write_lsn), flush_lsn = "
					  "coalesce(?2, flush_lsn), replay_lsn = coalesce(?3, replay_lsn) WHERE id = 1",
					  3, p);
}

bool
sentinel_clear(StateDb *db)
{
	return state_exec(db, "DELETE FROM sentinel", 0, NULL);
}
