/*
 * src/cdc/follow.c — the follower: an optional base copy, the receiver
 * thread (source -> journal) and the applier (journal -> target, in the
 * calling thread), until the end position or an interrupt.
 *
 * The end position has one owner: this file. It is stored in one place,
 * the sentinel row of state.db (--endpos is written there when the follower
 * starts; `stream sentinel set endpos` writes there from another shell), and
 * read from there by one component, the follower's watcher thread: every
 * 200 ms it reads the sentinel and, when a new end position appears,
 * publishes it to CdcShared.endpos with an atomic store. The receiver and the
 * applier only load CdcShared.endpos; neither reads the sentinel. So no two
 * copies can disagree for longer than one watcher round, and no other code
 * keeps them in step.
 *
 * The watcher runs from the start, the base copy included, so an end
 * position set while the copy runs already bounds the receiver.
 *
 * The base copy (FOLLOW_COPY) is clone/'s, which still takes the command
 * line's options: the caller passes it as two callbacks, so this file never
 * sees them.
 */
#include "cdc/cdc.h"
#include "cdc/cdc_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WATCH_INTERVAL_US 200000

typedef struct Follower
{
	const FollowSpec *spec;
	CdcOptions co;
	CdcShared sh;
	Lsn startpos;
	JournalWriter jw;
	Lsn last_commit_end;
	pthread_t thread;
	bool running;
	bool ok;
	pthread_t watcher;
	bool watching;
	atomic_int watch_stop;
	atomic_int applying; /* the applier runs (copy done): the watcher publishes its status */
} Follower;

static void *
receiver_main(void *arg)
{
	Follower *f = arg;
	log_set_role("cdc-receive");
	f->ok = cdc_receive(&f->co, &f->sh, f->startpos, &f->jw, f->last_commit_end);
	return NULL;
}

/*
 * Starts the receiver thread. The journal is opened here, before the applier
 * can read it: opening cuts what an earlier run left of an incomplete
 * transaction, which a reader must not have seen.
 */
static bool
follower_start(Follower *f)
{
	if (!cdc_receive_open(&f->co, &f->jw, &f->last_commit_end))
	{
		journal_writer_close(&f->jw);
		return false;
	}
	pthread_create(&f->thread, NULL, receiver_main, f);
	f->running = true;
	return true;
}

static bool
follower_stop(Follower *f)
{
	if (!f->running)
	{
		return true;
	}
	atomic_store(&f->sh.stop, 1);
	pthread_join(f->thread, NULL);
	f->running = false;
	return f->ok;
}

/* ---- the end position ---- */

/*
 * Publishes the sentinel's end position when it is new, and its apply
 * switch (pgcopydb's prefetch mode: receive, do not apply).
 */
static void
endpos_publish(Follower *f)
{
	Sentinel s;
	if (f->co.state == NULL || !sentinel_get(f->co.state, &s))
	{
		return;
	}
	atomic_store(&f->sh.prefetch, s.prefetch);
	if (s.endpos == LSN_INVALID && atomic_load(&f->sh.endpos) != LSN_INVALID)
	{
		/* cleared (an aborted cutover): follow on */
		log_info("end position cleared");
		atomic_store(&f->sh.endpos, LSN_INVALID);
		return;
	}
	if (s.endpos == LSN_INVALID || s.endpos == atomic_load(&f->sh.endpos))
	{
		return;
	}
	char b[32];
	lsn_format(s.endpos, b, sizeof(b));
	log_info("end position set to %s", b);
	atomic_store(&f->sh.endpos, s.endpos);
}

/*
 * For `cutover` in another process (cdc/cutover.c): meta "follow_status" =
 * "pid caught-up-LSN wall-us state" (state 'a' applying, 'p' prefetch),
 * written each watcher round while the applier runs.
 */
static void
status_publish(Follower *f)
{
	if (f->co.state == NULL || !atomic_load(&f->applying))
	{
		return;
	}
	Lsn up = atomic_load(&f->sh.caught_up_lsn);
	Lsn applied = atomic_load(&f->sh.applied_lsn);
	char b[32], v[96];
	lsn_format(applied > up ? applied : up, b, sizeof(b));
	snprintf(v, sizeof(v), "%ld %s %lld %c", (long) getpid(), b, (long long) time_wall_us(),
			 atomic_load(&f->sh.prefetch) ? 'p' : 'a');
	state_set_meta(f->co.state, "follow_status", v);
}

/* meta "follow_exit" = "exit-code end-position wall-us": how the follower ended. */
static void
exit_publish(Follower *f, int rc)
{
	if (f->co.state == NULL || !(f->spec->what & FOLLOW_APPLY))
	{
		return;
	}
	char b[32], v[96];
	lsn_format(atomic_load(&f->sh.endpos), b, sizeof(b));
	snprintf(v, sizeof(v), "%d %s %lld", rc, b, (long long) time_wall_us());
	state_set_meta(f->co.state, "follow_exit", v);
}

static void *
watcher_main(void *arg)
{
	Follower *f = arg;
	log_set_role("cdc-sentinel");
	while (!atomic_load(&f->watch_stop))
	{
		endpos_publish(f);
		status_publish(f);
		usleep(WATCH_INTERVAL_US);
	}
	return NULL;
}

static void
watcher_start(Follower *f)
{
	pthread_create(&f->watcher, NULL, watcher_main, f);
	f->watching = true;
}

static void
watcher_stop(Follower *f)
{
	if (f->watching)
	{
		atomic_store(&f->watch_stop, 1);
		pthread_join(f->watcher, NULL);
		f->watching = false;
	}
}

/* The end position at start: --endpos (then stored in the sentinel), else the sentinel's. */
static bool
endpos_initial(Follower *f)
{
	const char *given = f->spec->endpos;
	Lsn endpos = LSN_INVALID;
	if (given != NULL)
	{
		if (!lsn_parse(given, &endpos))
		{
			log_error("invalid --endpos \"%s\": expected an LSN such as 0/1A2B3C4D", given);
			return false;
		}
		if (f->co.state != NULL)
		{
			sentinel_set_endpos(f->co.state, endpos);
		}
	}
	else if (f->co.state != NULL)
	{
		Sentinel s;
		sentinel_get(f->co.state, &s);
		endpos = s.endpos;
		atomic_store(&f->sh.prefetch, s.prefetch);
	}
	atomic_store(&f->sh.endpos, endpos);
	return true;
}

/* ---- start ---- */

/* Where streaming starts when there is no journal yet: the slot's position. */
static bool
slot_position(const CdcOptions *co, Lsn *pos)
{
	PgConn c;
	if (!pg_connect(&c, co->source, "source", "follow", 10))
	{
		return false;
	}
	const char *p[] = { co->slot };
	char *v = NULL;
	bool ok = pg_query_value(&c,
							 "SELECT confirmed_flush_lsn::text FROM "
							 "pg_catalog.pg_replication_slots WHERE slot_name = $1",
							 1, p, &v);
	pg_disconnect(&c);
	if (!ok)
	{
		log_error("source: replication slot \"%s\" does not exist", co->slot);
		log_hint(LOG_LEVEL_ERROR, "Create it with \"pgshift stream setup\" or \"pgshift snapshot "
								  "--follow\", or use \"pgshift clone --follow\".");
		return false;
	}
	lsn_parse(v, pos);
	free(v);
	return true;
}

static Lsn
sentinel_startpos(const CdcOptions *co)
{
	Sentinel s;
	sentinel_get(co->state, &s);
	return s.startpos;
}

/*
 * Whether clone --follow finished its base copy in this work directory (set
 * once, right after the copy, before the sentinel allows applying): a resume
 * then has nothing left to copy and no snapshot to import.
 */
#define COPY_DONE_KEY "cdc_copy_done"

static bool
copy_done(Follower *f)
{
	char *v = state_get_meta(f->co.state, COPY_DONE_KEY);
	bool done = v != NULL && strcmp(v, "1") == 0;
	free(v);
	return done;
}

/*
 * FOLLOW_COPY: the slot (new, or the one this directory made), the receiver,
 * then the base copy under the slot's snapshot while the receiver runs.
 */
static int
follow_copy(Follower *f)
{
	const FollowSpec *spec = f->spec;
	char *had_slot = state_get_meta(f->co.state, "cdc_slot");
	bool go_on = had_slot != NULL && spec->resume;
	free(had_slot);
	CdcSlot slot;
	memset(&slot, 0, sizeof(slot));
	char *snapshot = NULL;
	if (!go_on)
	{
		/* refuse an unfit target before creating anything on the source */
		int code = spec->copy_check(spec->copy_arg);
		if (code != EXIT_OK)
		{
			return code;
		}
		if (!cdc_setup(&f->co, &slot, CDC_SETUP_ORIGIN | CDC_SETUP_SLOT | CDC_SETUP_ADOPT_SLOT,
					   &code))
		{
			return code;
		}
		snapshot = slot.snapshot ? xstrdup(slot.snapshot) : NULL;
		f->startpos = slot.consistent_lsn;
		state_set_meta(f->co.state, COPY_DONE_KEY, "0");
		if (snapshot == NULL)
		{
			log_error("the replication slot \"%s\" made in this work directory has no snapshot "
					  "recorded",
					  f->co.slot);
			log_hint(LOG_LEVEL_ERROR, "Drop it with \"pgshift stream cleanup\" and start again.");
			cdc_slot_close(&slot);
			return EXIT_PRECONDITION;
		}
	}
	else
	{
		f->startpos = sentinel_startpos(&f->co);
		if (copy_done(f))
		{
			/* the copy's snapshot is long gone: go on as `follow --resume` */
			log_info("the base copy of this work directory is done: following from the journal "
					 "and the target's origin");
			return follower_start(f) ? EXIT_OK : EXIT_WORKDIR;
		}
		snapshot = state_get_meta(f->co.state, "cdc_snapshot");
	}
	if (!follower_start(f))
	{
		cdc_slot_close(&slot);
		free(snapshot);
		return EXIT_WORKDIR;
	}
	int rc = spec->copy_run(spec->copy_arg, snapshot);
	cdc_slot_close(&slot);
	free(snapshot);
	if (rc != EXIT_OK)
	{
		follower_stop(f);
		return rc;
	}
	/* as pgcopydb: the copy done, the sentinel allows applying */
	if (f->co.state != NULL && (!state_set_meta(f->co.state, COPY_DONE_KEY, "1") ||
								!sentinel_set_apply(f->co.state, true)))
	{
		follower_stop(f);
		return EXIT_WORKDIR;
	}
	atomic_store(&f->sh.prefetch, 0);
	log_info("base copy done: applying the changes captured since the snapshot");
	return EXIT_OK;
}

/*
 * Without a copy: the origin (to apply), the slot with --create-slot (or the
 * one this directory made), the start position, the receiver.
 */
static int
follow_stream(Follower *f)
{
	int what = f->spec->what;
	int steps = (what & FOLLOW_APPLY) ? CDC_SETUP_ORIGIN : 0;
	if (f->spec->create_slot)
	{
		steps |= CDC_SETUP_SLOT | CDC_SETUP_ADOPT_SLOT;
	}
	CdcSlot slot;
	int code;
	if (steps != 0 && !cdc_setup(&f->co, &slot, steps, &code))
	{
		return code;
	}
	if (steps != 0)
	{
		/* a new slot's snapshot is of no use without a copy */
		cdc_slot_close(&slot);
	}
	f->startpos = sentinel_startpos(&f->co);
	if (f->startpos == LSN_INVALID && (what & FOLLOW_RECEIVE) &&
		!slot_position(&f->co, &f->startpos))
	{
		return EXIT_PRECONDITION;
	}
	if ((what & FOLLOW_RECEIVE) && !follower_start(f))
	{
		return EXIT_WORKDIR;
	}
	return EXIT_OK;
}

/* ---- run ---- */

static int
follow_apply(Follower *f)
{
	/* apply only (no receiver in this process): receiver_done stays 0 */
	bool ok = cdc_apply(&f->co, &f->sh);
	bool recv_ok = follower_stop(f);
	if (signals_interrupted())
	{
		return EXIT_INTERRUPTED;
	}
	if (atomic_load(&f->sh.gave_up))
	{
		return EXIT_RETRY_TIMEOUT;
	}
	if (!recv_ok || atomic_load(&f->sh.receiver_failed))
	{
		return EXIT_SOURCE;
	}
	if (!ok || atomic_load(&f->sh.applier_failed))
	{
		return atomic_load(&f->sh.schema_changed) ? EXIT_SCHEMA_CHANGE : EXIT_TARGET;
	}
	return cdc_sync_sequences(&f->co) ? EXIT_OK : EXIT_TARGET;
}

/* Receive only: until the end position or an interrupt. */
static int
follow_receive_only(Follower *f)
{
	while (f->running && !signals_interrupted() && !atomic_load(&f->sh.receiver_done))
	{
		usleep(WATCH_INTERVAL_US);
	}
	bool recv_ok = follower_stop(f);
	if (atomic_load(&f->sh.gave_up))
	{
		return EXIT_RETRY_TIMEOUT;
	}
	return signals_interrupted() ? EXIT_INTERRUPTED : (recv_ok ? EXIT_OK : EXIT_SOURCE);
}

int
follow_run(const FollowSpec *spec)
{
	Follower f;
	memset(&f, 0, sizeof(f));
	f.spec = spec;
	f.co = spec->co;
	if (!endpos_initial(&f))
	{
		return EXIT_USAGE;
	}
	char *cut = f.co.state != NULL ? state_get_meta(f.co.state, "cutover_status") : NULL;
	bool cut_done = cut != NULL && strcmp(cut, "completed") == 0;
	free(cut);
	if (cut_done)
	{
		/* the application writes on the target now; a reverse follower may write here */
		log_error("the cut-over of this work directory is completed: its source is no longer "
				  "the one written to");
		log_hint(LOG_LEVEL_ERROR, "To follow the new server's changes back, use another --dir "
								  "(see \"pgshift cutover --reverse\").");
		return EXIT_PRECONDITION;
	}
	if (f.co.state != NULL && (spec->what & FOLLOW_APPLY))
	{
		state_clear_meta(f.co.state, "follow_");
	}
	void *metrics = NULL;
	if (spec->metrics_port > 0 &&
		(metrics = cdc_metrics_start(spec->metrics_port, &f.sh, f.co.journal_dir)) == NULL)
	{
		return EXIT_USAGE;
	}
	watcher_start(&f);
	int rc = (spec->what & FOLLOW_COPY) ? follow_copy(&f) : follow_stream(&f);
	if (rc == EXIT_OK)
	{
		atomic_store(&f.applying, (spec->what & FOLLOW_APPLY) != 0);
		rc = (spec->what & FOLLOW_APPLY) ? follow_apply(&f) : follow_receive_only(&f);
	}
	follower_stop(&f);
	watcher_stop(&f);
	cdc_metrics_stop(metrics);
	exit_publish(&f, rc);
	return rc;
}
