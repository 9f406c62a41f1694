/*
 * src/cdc/retry.c — when the receiver and the applier reconnect by
 * themselves, and for how long.
 *
 * Invariant: only a failure of the connection's kind is retried (SQLSTATE
 * class 08, the server shutting down, starting up or in recovery, a
 * connection lost without a SQLSTATE — pg_error_class's PG_ERROR_CONNECTION
 * — plus "too many clients", and a slot or origin still held by a session
 * the server is ending: 55006, only after a session worked and for 30 s).
 * Anything else (a missing slot or origin, a constraint violation, a missing
 * relation, a full disk) stops at once: a retry cannot fix it, and a loop
 * would only hide it.
 *
 * Why here and not in the loops themselves: the receiver and the applier
 * each resume from their own durable position (the journal's last complete
 * transaction; the origin's progress on the target) by running their
 * session again from the start, so the one thing they share is this
 * decision and the wait: capped exponential backoff with jitter (so that
 * many followers do not knock on a restarted server at the same instant),
 * each attempt logged once with the reason and the next delay, and the
 * --retry-timeout budget, counted from the first failure of an outage and
 * reset by the first success after it.
 */
#include "cdc/cdc.h"
#include "cdc/cdc_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RETRY_FIRST_DELAY 0.5
#define RETRY_MAX_DELAY   10.0
#define IN_USE_WAIT       30.0

void
cdc_retry_init(CdcRetry *r, const char *side, double timeout, CdcShared *sh)
{
	memset(r, 0, sizeof(*r));
	r->side = side;
	r->timeout = timeout;
	r->sh = sh;
	r->delay = RETRY_FIRST_DELAY;
	r->seed = (unsigned int) (time_wall_us() ^ (int64_t) getpid());
}

bool
cdc_retry_retryable(const char *sqlstate)
{
	if (pg_error_class(sqlstate) == PG_ERROR_CONNECTION)
	{
		return true;
	}
	/* too many clients; a replication origin its ended session still holds */
	return sqlstate != NULL && (strcmp(sqlstate, "53300") == 0 || strcmp(sqlstate, "55006") == 0);
}

void
cdc_retry_ok(CdcRetry *r)
{
	if (r->failing_since != 0)
	{
		double down = time_now() - r->failing_since;
		log_info("%s: reconnected after %.1fs (%d attempt%s)", r->side, down, r->attempts,
				 r->attempts == 1 ? "" : "s");
	}
	r->ever_ok = true;
	r->failing_since = 0;
	r->attempts = 0;
	r->delay = RETRY_FIRST_DELAY;
}

/* Sleeps up to seconds, in slices, unless asked to stop. false: stop. */
static bool
retry_sleep(const CdcRetry *r, double seconds)
{
	double until = time_now() + seconds;
	while (time_now() < until)
	{
		if (signals_interrupted() || atomic_load(&r->sh->stop) ||
			(r->also_stop != NULL && atomic_load(r->also_stop)))
		{
			return false;
		}
		usleep(20000);
	}
	return true;
}

bool
cdc_retry_wait(CdcRetry *r, const char *sqlstate, const char *errmsg)
{
	if (sqlstate != NULL && sqlstate[0] != '\0')
	{
		cdc_metrics_note_error(r->side, sqlstate, errmsg);
	}
	if (signals_interrupted() || atomic_load(&r->sh->stop) || !cdc_retry_retryable(sqlstate))
	{
		return false;
	}
	double now = time_now();
	/*
	 * A slot or origin in use: right after a fault, the session the server is
	 * ending may hold it for a moment; at the start, or for long, another
	 * process uses it, which no wait fixes.
	 */
	if (strcmp(sqlstate, "55006") == 0 &&
		(!r->ever_ok || (r->failing_since != 0 && now - r->failing_since > IN_USE_WAIT)))
	{
		return false;
	}
	if (r->failing_since == 0)
	{
		r->failing_since = now;
		atomic_fetch_add(r->side[0] == 's' ? &r->sh->reconnects_source : &r->sh->reconnects_target,
						 1);
	}
	double spent = now - r->failing_since;
	if (r->timeout > 0 && spent >= r->timeout)
	{
		char b[64];
		time_format_duration(r->timeout, b, sizeof(b));
		log_error("%s: gave up reconnecting after %s (--retry-timeout)", r->side, b);
		log_detail(LOG_LEVEL_ERROR, "The last error was: %s (SQLSTATE %s).",
				   errmsg ? errmsg : "unknown", sqlstate);
		log_hint(LOG_LEVEL_ERROR,
				 "Once the server answers again, run \"pgshift follow --resume\" with the same "
				 "work directory: it continues where this run stopped, nothing is applied twice.");
		atomic_store(&r->sh->gave_up, 1);
		return false;
	}
	/* jitter: 80% to 120% of the nominal delay, never past the budget */
	double jitter = 0.8 + 0.4 * ((double) rand_r(&r->seed) / (double) RAND_MAX);
	double wait = r->delay * jitter;
	if (r->timeout > 0 && spent + wait > r->timeout)
	{
		wait = r->timeout - spent;
	}
	r->attempts++;
	log_warn("%s: connection lost (%s, SQLSTATE %s): reconnecting in %.1fs (attempt %d)", r->side,
			 errmsg ? errmsg : "unknown", sqlstate, wait, r->attempts);
	r->delay = r->delay * 2 > RETRY_MAX_DELAY ? RETRY_MAX_DELAY : r->delay * 2;
	return retry_sleep(r, wait);
}

/* ---- errors no retry fixes: what they say ---- */

void
cdc_origin_setup_failed(const PgConn *c, const char *origin)
{
	if (cdc_retry_retryable(c->sqlstate))
	{
		return;
	}
	if (strcmp(c->sqlstate, "42704") != 0)
	{
		log_hint(LOG_LEVEL_ERROR, "Connect to the target as a superuser (replication origins "
								  "need one).");
		return;
	}
	log_detail(LOG_LEVEL_ERROR,
			   "The replication origin \"%s\" records which source transactions the target "
			   "has. If it was dropped while following, that record is gone: the follower "
			   "stops rather than apply a transaction twice.",
			   origin);
	log_hint(LOG_LEVEL_ERROR,
			 "A new stream: run \"pgshift stream setup\" first (it creates the origin). A "
			 "dropped one: start over with \"pgshift stream cleanup\", then \"pgshift clone "
			 "--follow --restart\".");
}
