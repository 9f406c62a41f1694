/*
 * src/cdc/cutover.c — `pgshift cutover`: ready check, fence, drain,
 * switch, report, against a work directory whose follower (clone --follow
 * or follow) runs in another process.
 *
 * What the follower tells us, through state.db (cdc/follow.c writes them):
 *   - its lock on the work directory (pgshift.pid, flock): it is alive;
 *   - meta "follow_status": "pid caught-up-LSN wall-us state", every 200 ms
 *     while its applier runs: every source transaction committed before
 *     caught-up-LSN is committed on the target;
 *   - meta "follow_exit": "exit-code end-position wall-us" when it ends
 *     (the sequences are set before, at the end position).
 *
 * Lag in seconds is measured on the source's clock, not from commit
 * timestamps: the ready check samples pg_current_wal_lsn() every round; the
 * lag is the age of the newest sample the follower has caught up with. It
 * needs no clock agreement between hosts and is right for an idle source too.
 *
 * Order, and why:
 *   1. ready: the follower is alive, applying, and its lag is under
 *      --max-lag (waits up to --wait). Nothing is changed before this.
 *   2. fence: no transaction commits on the source any more.
 *   3. the end position P = pg_current_wal_insert_lsn() (it covers
 *      asynchronous commits not written out yet), then one transaction with
 *      a synchronous commit in our session, so the WAL up to P is flushed and
 *      the walsender streams past it. We wait until the follower has caught
 *      up with P, and only then write P as the sentinel's end position: a
 *      drain that does not finish leaves no end position behind, so an abort
 *      leaves the follower running as it was.
 *   4. the follower stops at P and sets the sequences; we wait for its
 *      "follow_exit" record.
 *   5. --switch-command; the completed cut-over is recorded (meta
 *      "cutover_status" = completed): running it again changes nothing.
 * A failure or Ctrl-C after the fence: the end position is cleared (the
 * follower follows on), the fence undone, exit EXIT_ABORTED.
 */
#include "cdc/cutover_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define ROUND_US        100000
#define STATUS_STALE_S  3.0
#define MAX_LSN_SAMPLES 4096

/* ---- the follower, as state.db shows it ---- */

typedef struct FollowerView
{
	bool alive;      /* holds the work directory's lock */
	bool status;     /* follow_status present */
	Lsn caught_up;   /* follow_status */
	double age;      /* seconds since follow_status was written */
	bool prefetch;   /* applying is switched off */
	bool exited;     /* follow_exit present */
	int exit_code;   /* follow_exit */
	Lsn exit_endpos; /* follow_exit */
	int64_t exit_us; /* follow_exit */
} FollowerView;

/* Whether a process holds the lock on pid_file (flock, as state/workdir.c takes it). */
static void
follower_view(const CutoverSpec *s, FollowerView *v)
{
	memset(v, 0, sizeof(*v));
	v->alive = workdir_lock_held(s->pid_file);
	char *st = state_get_meta(s->state, "follow_status");
	char lsn[32], mode = 0;
	long pid;
	long long us;
	if (st != NULL && sscanf(st, "%ld %31s %lld %c", &pid, lsn, &us, &mode) == 4 &&
		lsn_parse(lsn, &v->caught_up))
	{
		v->status = true;
		v->age = (double) (time_wall_us() - us) / 1e6;
		v->prefetch = mode == 'p';
	}
	free(st);
	char *ex = state_get_meta(s->state, "follow_exit");
	int rc;
	if (ex != NULL && sscanf(ex, "%d %31s %lld", &rc, lsn, &us) == 3 &&
		lsn_parse(lsn, &v->exit_endpos))
	{
		v->exited = true;
		v->exit_code = rc;
		v->exit_us = us;
	}
	free(ex);
}

/* ---- timeline ---- */

void
cutover_event(Cutover *c, const char *name, const char *fmt, ...)
{
	if (c->nev >= CUTOVER_MAX_EVENTS)
	{
		return;
	}
	CutoverEvent *e = &c->ev[c->nev++];
	e->name = name;
	e->wall_us = time_wall_us();
	e->detail = NULL;
	if (fmt != NULL)
	{
		va_list ap;
		va_start(ap, fmt);
		e->detail = xvasprintf(fmt, ap);
		va_end(ap);
	}
	log_info("cutover: %s%s%s", name, e->detail ? ": " : "", e->detail ? e->detail : "");
}

static const char *
fence_name(CutoverFence f)
{
	return f == CUTOVER_FENCE_BUILTIN ? "builtin" : f == CUTOVER_FENCE_COMMAND ? "command" : "none";
}

static double
window_seconds(const Cutover *c, int64_t end_us)
{
	return c->fence_start_us > 0 ? (double) (end_us - c->fence_start_us) / 1e6 : 0.0;
}

/* A JSON string's contents: quotes and backslashes escaped, control characters as spaces. */
static void
json_text(StrBuf *j, const char *s)
{
	for (const char *p = s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
		{
			sb_append_char(j, '\\');
		}
		sb_append_char(j, (unsigned char) *p < 0x20 ? ' ' : *p);
	}
}

/* cutover.json: the outcome and the timeline (also kept in state.db for list progress). */
static char *
report_json(const Cutover *c, const char *status, const char *why)
{
	StrBuf j;
	sb_init(&j);
	char eb[32], wall[64];
	lsn_format(c->endpos, eb, sizeof(eb));
	sb_printf(&j, "{\n  \"status\": \"%s\",\n  \"fence\": \"%s\",\n  \"endpos\": \"%s\",\n", status,
			  fence_name(c->spec->fence), c->endpos ? eb : "");
	sb_printf(&j, "  \"ready_lag_bytes\": %" PRId64 ",\n  \"ready_lag_seconds\": %.3f,\n",
			  c->lag_bytes, c->lag_seconds);
	if (why != NULL)
	{
		sb_append(&j, "  \"reason\": \"");
		json_text(&j, why);
		sb_append(&j, "\",\n");
	}
	sb_append(&j, "  \"timeline\": [");
	for (int i = 0; i < c->nev; i++)
	{
		const CutoverEvent *e = &c->ev[i];
		time_format_wall(e->wall_us, wall, sizeof(wall));
		sb_printf(&j, "%s\n    {\"event\": \"%s\", \"at\": \"%s\", \"seconds\": %.3f", i ? "," : "",
				  e->name, wall, window_seconds(c, e->wall_us));
		if (e->detail != NULL)
		{
			sb_append(&j, ", \"detail\": \"");
			json_text(&j, e->detail);
			sb_append(&j, "\"");
		}
		sb_append(&j, "}");
	}
	sb_append(&j, "\n  ],\n");
	int64_t last = c->nev > 0 ? c->ev[c->nev - 1].wall_us : 0;
	sb_printf(&j, "  \"write_unavailable_seconds\": %.3f\n}\n", window_seconds(c, last));
	return sb_steal(&j);
}

/* Writes cutover.json and state.db's record; prints the timeline on stdout. */
static void
report_write(const Cutover *c, const char *status, const char *why)
{
	char *json = report_json(c, status, why);
	file_write_all(c->spec->json_path, json, strlen(json), true);
	state_set_meta(c->spec->state, "cutover", json);
	state_set_meta(c->spec->state, "cutover_status", status);
	free(json);
	printf("cut-over %s", status);
	if (c->fence_start_us > 0 && c->nev > 0)
	{
		printf(": writes unavailable for %.3f s", window_seconds(c, c->ev[c->nev - 1].wall_us));
	}
	printf("\n");
	for (int i = 0; i < c->nev; i++)
	{
		const CutoverEvent *e = &c->ev[i];
		char wall[64];
		time_format_wall(e->wall_us, wall, sizeof(wall));
		printf("  %-16s %s  %+8.3f s%s%s\n", e->name, wall, window_seconds(c, e->wall_us),
			   e->detail ? "  " : "", e->detail ? e->detail : "");
	}
	fflush(stdout);
}

/* ---- the source ---- */

static bool
source_lsn(Cutover *c, const char *fn, Lsn *out)
{
	char sql[96], *v = NULL;
	snprintf(sql, sizeof(sql), "SELECT pg_catalog.%s()::text", fn);
	bool ok = pg_query_value(&c->src, sql, 0, NULL, &v) && v != NULL && lsn_parse(v, out);
	free(v);
	return ok;
}

/* ---- 1. ready ---- */

typedef struct LsnSample
{
	double t;
	Lsn lsn;
} LsnSample;

/* Why the follower is not ready, or NULL when it is (lag under max_lag). */
static const char *
ready_round(Cutover *c, LsnSample *samples, int *n, double *lag)
{
	FollowerView v;
	follower_view(c->spec, &v);
	if (!v.alive)
	{
		return "no follower runs in the work directory";
	}
	if (!v.status || v.age > STATUS_STALE_S)
	{
		return "the follower is not applying (base copy running, or stuck)";
	}
	if (v.prefetch)
	{
		return "the follower only receives (its sentinel's apply is off)";
	}
	Lsn now_lsn;
	if (!source_lsn(c, "pg_current_wal_lsn", &now_lsn))
	{
		return "could not read the source's WAL position";
	}
	if (*n < MAX_LSN_SAMPLES)
	{
		samples[(*n)++] = (LsnSample){ time_now(), now_lsn };
	}
	c->lag_bytes = now_lsn > v.caught_up ? (int64_t) (now_lsn - v.caught_up) : 0;
	for (int i = *n - 1; i >= 0; i--)
	{
		if (samples[i].lsn <= v.caught_up)
		{
			*lag = time_now() - samples[i].t;
			c->lag_seconds = *lag;
			return *lag <= c->spec->max_lag ? NULL : "the apply lag is over --max-lag";
		}
	}
	*lag = time_now() - samples[0].t; /* at least */
	c->lag_seconds = *lag;
	return "the follower has not caught up with the source's first sampled position yet";
}

static int
ready_check(Cutover *c)
{
	const CutoverSpec *s = c->spec;
	LsnSample *samples = xcalloc(MAX_LSN_SAMPLES, sizeof(LsnSample));
	int n = 0;
	double deadline = time_now() + s->wait, lag = 0;
	const char *why;
	while ((why = ready_round(c, samples, &n, &lag)) != NULL)
	{
		bool dead = strncmp(why, "no follower", 11) == 0 || strncmp(why, "could not", 9) == 0;
		if (dead || time_now() > deadline || signals_interrupted())
		{
			break;
		}
		usleep(ROUND_US * 2);
	}
	free(samples);
	if (why == NULL)
	{
		cutover_event(c, "ready", "lag %" PRId64 " bytes, %.3f s", c->lag_bytes, lag);
		return EXIT_OK;
	}
	if (signals_interrupted())
	{
		return EXIT_INTERRUPTED;
	}
	log_error("cut-over refused: %s", why);
	log_detail(LOG_LEVEL_ERROR,
			   "Lag seen: %" PRId64 " bytes, %.1f s (--max-lag %.1f s, waited %.0f s). Nothing "
			   "was changed.",
			   c->lag_bytes, lag, s->max_lag, s->wait);
	log_hint(LOG_LEVEL_ERROR,
			 "Run \"pgshift clone --follow\" or \"pgshift follow\" with --dir %s "
			 "and let it catch up, or raise --max-lag / --wait.",
			 s->dir);
	return strncmp(why, "could not", 9) == 0 ? EXIT_SOURCE : EXIT_PRECONDITION;
}

/* ---- 3-4. drain ---- */

/* Waits for cond; false (reason in *why) on timeout, interrupt or a follower gone. */
typedef bool (*DrainCond)(Cutover *c, const FollowerView *v, const char **why);

static bool
caught_up(Cutover *c, const FollowerView *v, const char **why)
{
	if (!v->alive)
	{
		*why = "the follower stopped before it caught up with the end position";
	}
	return v->status && v->caught_up >= c->endpos;
}

static bool
stopped(Cutover *c, const FollowerView *v, const char **why)
{
	if (v->exited && v->exit_endpos == c->endpos)
	{
		if (v->exit_code != EXIT_OK)
		{
			*why = "the follower failed at the end position (see its log)";
			return false;
		}
		return true;
	}
	if (!v->alive)
	{
		*why = "the follower stopped without reaching the end position";
	}
	return false;
}

static bool
drain_wait(Cutover *c, DrainCond cond, double deadline, FollowerView *v, const char **why)
{
	for (;;)
	{
		follower_view(c->spec, v);
		*why = NULL;
		if (cond(c, v, why))
		{
			return true;
		}
		if (*why != NULL)
		{
			return false;
		}
		if (signals_interrupted())
		{
			*why = "interrupted";
			return false;
		}
		if (time_now() > deadline)
		{
			*why = "the drain did not finish within --timeout";
			return false;
		}
		usleep(ROUND_US / 4);
	}
}

/* End position after the fence, the WAL flushed past it, the follower through it. */
static bool
drain(Cutover *c, double deadline, const char **why)
{
	if (!source_lsn(c, "pg_current_wal_insert_lsn", &c->endpos) ||
		!pg_exec(&c->src, "SELECT pg_catalog.txid_current()"))
	{
		*why = "could not take the end position on the source";
		return false;
	}
	FollowerView v;
	if (!drain_wait(c, caught_up, deadline, &v, why))
	{
		return false;
	}
	char eb[32];
	lsn_format(c->endpos, eb, sizeof(eb));
	cutover_event(c, "applied", "end position %s applied on the target", eb);
	if (!sentinel_set_endpos(c->spec->state, c->endpos))
	{
		*why = "could not write the end position in state.db";
		return false;
	}
	c->endpos_set = true;
	if (!drain_wait(c, stopped, deadline, &v, why))
	{
		return false;
	}
	/* the follower sets the sequences, then records its exit */
	cutover_event(c, "sequences", "set by the follower at the end position");
	c->ev[c->nev - 1].wall_us = v.exit_us;
	cutover_event(c, "drain done", "the follower stopped at %s", eb);
	return true;
}

/* ---- --reverse ---- */

/*
 * The way back, made after the drain and before the switch: no application
 * write can have reached the target yet, so the slot's consistent point is
 * before all of them. The forward follower has stopped: nothing it applies
 * can come back through this slot.
 */
/*
 * Not a superuser on the target (FOR ALL TABLES needs one): the publication
 * lists the target's tables, which are the ones the clone kept. false on error.
 */
static bool
reverse_tables(const char *target, StrList *tables, bool *all)
{
	PgConn t;
	if (!pg_connect(&t, target, "target", "cutover", 10))
	{
		return false;
	}
	char *su = NULL;
	bool ok = pg_query_value(&t,
							 "SELECT rolsuper::text FROM pg_catalog.pg_roles "
							 "WHERE rolname = current_user",
							 0, NULL, &su);
	*all = ok && su != NULL && strcmp(su, "true") == 0;
	free(su);
	PGresult *res = ok && !*all
						? pg_query(&t,
								   "SELECT format('%I.%I', n.nspname, c.relname) "
								   "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
								   "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
								   "AND NOT c.relispartition AND n.nspname NOT LIKE 'pg\\_%' "
								   "AND n.nspname <> 'information_schema' ORDER BY 1",
								   0, NULL)
						: NULL;
	ok = ok && (*all || res != NULL);
	for (int i = 0; res != NULL && i < PQntuples(res); i++)
	{
		strlist_add(tables, PQgetvalue(res, i, 0));
	}
	PQclear(res);
	pg_disconnect(&t);
	return ok;
}

static bool
reverse_setup(Cutover *c)
{
	StrList tables;
	memset(&tables, 0, sizeof(tables));
	bool all = false;
	if (!reverse_tables(c->spec->target, &tables, &all))
	{
		return false;
	}
	CdcOptions co;
	memset(&co, 0, sizeof(co));
	co.source = c->spec->target;
	co.target = c->spec->source;
	co.slot = CUTOVER_REVERSE_NAME;
	co.origin = CUTOVER_REVERSE_NAME;
	co.publication = CUTOVER_REVERSE_NAME;
	co.plugin = CDC_PLUGIN_PGOUTPUT;
	co.tables = all ? NULL : &tables;
	CdcSlot slot;
	int code;
	bool ok = cdc_setup(&co, &slot, CDC_SETUP_ORIGIN | CDC_SETUP_SLOT, &code);
	strlist_free(&tables);
	if (!ok)
	{
		return false;
	}
	char b[32];
	lsn_format(slot.consistent_lsn, b, sizeof(b));
	cdc_slot_close(&slot);
	cutover_event(c, "reverse ready", "slot and publication \"%s\" on the target from %s",
				  CUTOVER_REVERSE_NAME, b);
	return true;
}

/* How to follow back, once the application writes on the target. */
static void
reverse_hint(const Cutover *c)
{
	printf("to stream the new server's changes back to the old one:\n"
		   "  pgshift follow --source NEW --target OLD --dir %s-reverse --slot-name %s "
		   "--publication %s --origin %s --local-only\n"
		   "(NEW: the --target of this cut-over, OLD: its --source; the old database stays "
		   "read-only for everyone but that follower)\n",
		   c->spec->dir, CUTOVER_REVERSE_NAME, CUTOVER_REVERSE_NAME, CUTOVER_REVERSE_NAME);
}

/* ---- abort ---- */

static int
cutover_abort(Cutover *c, const char *why)
{
	log_error("cut-over aborted: %s", why);
	if (c->endpos_set)
	{
		sentinel_set_endpos(c->spec->state, LSN_INVALID);
	}
	bool unfenced = cutover_unfence(c);
	cutover_event(c, "aborted", "%s", why);
	report_write(c, "aborted", why);
	FollowerView v;
	follower_view(c->spec, &v);
	if (unfenced)
	{
		log_error("cut-over aborted: the fence is undone, the source takes writes again");
	}
	if (v.alive)
	{
		log_detail(LOG_LEVEL_ERROR, "The follower keeps running; run \"pgshift cutover\" again "
									"when the cause is fixed.");
	}
	else
	{
		log_detail(LOG_LEVEL_ERROR,
				   "The follower is not running: start it again with its options (\"pgshift "
				   "follow ... --dir %s\") so that the target keeps up with the source.",
				   c->spec->dir);
	}
	return EXIT_ABORTED;
}

/* ---- run ---- */

/* A cut-over already done in this work directory: say so, change nothing. */
static bool
already_done(const CutoverSpec *s)
{
	char *st = state_get_meta(s->state, "cutover_status");
	bool done = st != NULL && strcmp(st, "completed") == 0;
	free(st);
	if (done)
	{
		char *json = state_get_meta(s->state, "cutover");
		printf("the cut-over of this work directory is already completed: nothing to do\n%s",
			   json ? json : "");
		free(json);
	}
	return done;
}

/*
 * The follower's slot is in the --source database: the fence goes to the
 * database the follower reads, not another one given by mistake.
 */
static bool
slot_here(Cutover *c)
{
	char *slot = state_get_meta(c->spec->state, "cdc_slot");
	if (slot == NULL)
	{
		return true; /* a follower started with --slot-name alone records none */
	}
	const char *p[] = { slot };
	char *n = NULL;
	bool ok = pg_query_value(&c->src,
							 "SELECT count(*) FROM pg_catalog.pg_replication_slots "
							 "WHERE slot_name = $1 AND database = current_database()",
							 1, p, &n);
	bool here = ok && n != NULL && strcmp(n, "0") != 0;
	if (ok && !here)
	{
		log_error("the follower's replication slot \"%s\" is not in source database \"%s\"", slot,
				  c->dbname);
		log_hint(LOG_LEVEL_ERROR, "Give cutover the --source of the follower.");
	}
	free(n);
	free(slot);
	return here;
}

/* Our session: opened before the fence, writable whatever the database's default. */
static int
cutover_open(Cutover *c)
{
	if (!pg_connect(&c->src, c->spec->source, "source", "cutover", 10) ||
		!pg_exec(&c->src, "SET default_transaction_read_only = off") ||
		!pg_exec(&c->src, "SET synchronous_commit = on") ||
		!pg_query_value(&c->src, "SELECT current_database()", 0, NULL, &c->dbname))
	{
		return EXIT_SOURCE;
	}
	if (!slot_here(c) || (c->spec->fence == CUTOVER_FENCE_BUILTIN && !cutover_fence_precheck(c)))
	{
		return EXIT_PRECONDITION;
	}
	return EXIT_OK;
}

static int
cutover_steps(Cutover *c)
{
	const CutoverSpec *s = c->spec;
	int rc = ready_check(c);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	c->fence_start_us = time_wall_us();
	double deadline = time_now() + s->timeout;
	cutover_event(c, "fence started", "%s", fence_name(s->fence));
	if (!cutover_fence(c))
	{
		return cutover_abort(c, "the fence failed");
	}
	cutover_event(c, "fence in place", NULL);
	const char *why = NULL;
	if (!drain(c, deadline, &why))
	{
		return cutover_abort(c, why);
	}
	if (signals_interrupted())
	{
		return cutover_abort(c, "interrupted");
	}
	if (s->reverse && !reverse_setup(c))
	{
		return cutover_abort(c, "the way back (--reverse) could not be set up");
	}
	if (!cutover_switch(c))
	{
		return cutover_abort(c, "the switch command failed");
	}
	cutover_event(c, "switch done", s->switch_command ? "switch command ran" : "no switch command");
	report_write(c, "completed", NULL);
	if (s->reverse)
	{
		reverse_hint(c);
	}
	return EXIT_OK;
}

int
cutover_run(const CutoverSpec *spec)
{
	if (already_done(spec))
	{
		return EXIT_OK;
	}
	Cutover c;
	memset(&c, 0, sizeof(c));
	c.spec = spec;
	int rc = cutover_open(&c);
	if (rc == EXIT_OK)
	{
		rc = cutover_steps(&c);
	}
	pg_disconnect(&c.src);
	free(c.dbname);
	for (int i = 0; i < c.nev; i++)
	{
		free(c.ev[i].detail);
	}
	return rc;
}
