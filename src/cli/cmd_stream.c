/*
 * src/cli/cmd_stream.c — clone --follow, follow, snapshot, and `stream ...`.
 *
 * A follower is a receiver thread (source -> journal) and the applier
 * (journal -> target) in the main thread; the sentinel in state.db carries
 * the end position set from another shell.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdc/cdc.h"
#include "cli/cli.h"
#include "clone/clone.h"

typedef struct Follower
{
	CdcOptions co;
	CdcShared sh;
	Lsn startpos;
	JournalWriter jw;
	Lsn last_commit_end;
	pthread_t thread;
	bool running;
	bool ok;
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

/* The end position: --endpos wins, else what the sentinel holds. */
static bool
follow_endpos(const Options *opts, StateDb *state, Lsn *endpos)
{
	*endpos = LSN_INVALID;
	if (opts->endpos != NULL)
	{
		if (!lsn_parse(opts->endpos, endpos))
		{
			log_error("invalid --endpos \"%s\": expected an LSN such as 0/1A2B3C4D", opts->endpos);
			return false;
		}
		sentinel_set(state, "endpos", opts->endpos);
		return true;
	}
	Lsn s, w, fl, r;
	bool apply;
	sentinel_get(state, &s, endpos, &apply, &w, &fl, &r);
	return true;
}

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

/* --filters, loaded once for the publication, the applier and the sequences */
typedef struct Kept
{
	Filters filters;
	bool loaded;
	StrList published; /* the tables the publication lists */
	StrList applied;   /* those and their partitions */
} Kept;

/*
 * With --filters, the publication lists only the tables the filters keep,
 * and the applier applies only their changes.
 */
static bool
publish_filtered(const Options *opts, CdcOptions *co, Kept *k)
{
	memset(k, 0, sizeof(*k));
	if (opts->filters == NULL)
	{
		return true;
	}
	if (!filters_load(opts->filters, &k->filters))
	{
		return false;
	}
	k->loaded = true;
	if (!cdc_filtered_tables(opts, &k->filters, &k->published, &k->applied))
	{
		return false;
	}
	co->tables = &k->published;
	co->applied_tables = &k->applied;
	co->filters = &k->filters;
	return true;
}

static void
kept_free(Kept *k)
{
	strlist_free(&k->published);
	strlist_free(&k->applied);
	if (k->loaded)
	{
		filters_free(&k->filters);
	}
}

enum
{
	FOLLOW_COPY = 1,
	FOLLOW_RECEIVE = 2,
	FOLLOW_APPLY = 4
};

static int
follow_run(Options *opts, int what)
{
	bool need_target = (what & (FOLLOW_APPLY | FOLLOW_COPY)) != 0;
	if (!cli_require_uris(opts, true, need_target))
	{
		return EXIT_USAGE;
	}
	WorkDir wd;
	if (!workdir_open(&wd, opts->dir))
	{
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}
	StateDb *state = state_open(wd.state_file);
	if (state == NULL)
	{
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}
	Follower f;
	memset(&f, 0, sizeof(f));
	if (!cdc_options_from(&f.co, opts, state, wd.cdc_dir))
	{
		state_close(state);
		workdir_close(&wd);
		return EXIT_USAGE;
	}
	int rc = EXIT_OK;
	Kept kept;
	if (!publish_filtered(opts, &f.co, &kept))
	{
		rc = EXIT_USAGE;
		goto out;
	}
	Lsn endpos;
	if (!follow_endpos(opts, state, &endpos))
	{
		rc = EXIT_USAGE;
		goto out;
	}
	atomic_store(&f.sh.endpos, endpos);

	char *had_slot = state_get_meta(state, "cdc_slot");
	CdcSlot slot;
	memset(&slot, 0, sizeof(slot));
	if (what & FOLLOW_COPY)
	{
		if (had_slot == NULL || !opts->resume)
		{
			/* refuse a non-empty target before creating anything on the source */
			int code = cli_clone_precheck(opts);
			if (code != EXIT_OK)
			{
				rc = code;
				free(had_slot);
				goto out;
			}
			if (!cdc_setup(&f.co, &slot, true, &code))
			{
				rc = code;
				free(had_slot);
				goto out;
			}
			free(opts->snapshot);
			opts->snapshot = xstrdup(slot.snapshot);
			f.startpos = slot.consistent_lsn;
		}
		else
		{
			Lsn s, e, w, fl, r;
			bool apply;
			sentinel_get(state, &s, &e, &apply, &w, &fl, &r);
			f.startpos = s;
			free(opts->snapshot);
			opts->snapshot = state_get_meta(state, "cdc_snapshot");
		}
		if (!follower_start(&f))
		{
			cdc_slot_close(&slot);
			free(had_slot);
			rc = EXIT_WORKDIR;
			goto out;
		}
		rc = cli_clone_main_in(opts, STEP_ALL & ~STEP_SEQUENCES, &wd, state);
		cdc_slot_close(&slot);
		if (rc != EXIT_OK)
		{
			follower_stop(&f);
			free(had_slot);
			goto out;
		}
		log_info("base copy done: applying the changes captured since the snapshot");
	}
	else
	{
		int code;
		if ((what & FOLLOW_APPLY) && !cdc_setup(&f.co, &slot, false, &code))
		{
			rc = code;
			free(had_slot);
			goto out;
		}
		Lsn s, e, w, fl, r;
		bool apply;
		sentinel_get(state, &s, &e, &apply, &w, &fl, &r);
		f.startpos = s;
		if (f.startpos == LSN_INVALID && (what & FOLLOW_RECEIVE) &&
			!slot_position(&f.co, &f.startpos))
		{
			rc = EXIT_PRECONDITION;
			free(had_slot);
			goto out;
		}
		if ((what & FOLLOW_RECEIVE) && !follower_start(&f))
		{
			free(had_slot);
			rc = EXIT_WORKDIR;
			goto out;
		}
	}
	free(had_slot);

	if (what & FOLLOW_APPLY)
	{
		if (!(what & FOLLOW_RECEIVE) && !(what & FOLLOW_COPY))
		{
			/* apply only: no receiver in this process */
			atomic_store(&f.sh.receiver_done, 0);
		}
		bool ok = cdc_apply(&f.co, &f.sh);
		bool recv_ok = follower_stop(&f);
		if (signals_interrupted())
		{
			rc = EXIT_INTERRUPTED;
		}
		else if (!recv_ok || atomic_load(&f.sh.receiver_failed))
		{
			rc = EXIT_SOURCE;
		}
		else if (!ok || atomic_load(&f.sh.applier_failed))
		{
			rc = EXIT_TARGET;
		}
		else if (!cdc_sync_sequences(&f.co))
		{
			rc = EXIT_TARGET;
		}
	}
	else
	{
		/* receive only: until the end position or an interrupt */
		while (f.running && !signals_interrupted() && !atomic_load(&f.sh.receiver_done))
		{
			Lsn s, e, w, fl, r;
			bool apply;
			if (sentinel_get(state, &s, &e, &apply, &w, &fl, &r) && e != LSN_INVALID)
			{
				atomic_store(&f.sh.endpos, e);
			}
			usleep(200000);
		}
		bool recv_ok = follower_stop(&f);
		rc = signals_interrupted() ? EXIT_INTERRUPTED : (recv_ok ? EXIT_OK : EXIT_SOURCE);
	}
out:
	kept_free(&kept);
	state_close(state);
	workdir_close(&wd);
	return rc;
}

int
cmd_follow(Options *opts)
{
	return follow_run(opts, FOLLOW_RECEIVE | FOLLOW_APPLY);
}

int
cmd_stream_replay(Options *opts)
{
	return follow_run(opts, FOLLOW_RECEIVE | FOLLOW_APPLY);
}

int
cmd_stream_receive(Options *opts)
{
	return follow_run(opts, FOLLOW_RECEIVE);
}

int
cmd_stream_apply(Options *opts)
{
	return follow_run(opts, FOLLOW_APPLY);
}

int
cmd_clone(Options *opts)
{
	if (opts->follow)
	{
		return follow_run(opts, FOLLOW_COPY | FOLLOW_RECEIVE | FOLLOW_APPLY);
	}
	return cmd_copy_steps(opts, STEP_ALL);
}

/* ---- setup / cleanup / prune ---- */

static int
with_state(Options *opts, bool lock, WorkDir *wd, StateDb **state)
{
	bool ok = lock ? workdir_open(wd, opts->dir)
				   : (file_mkdir_p(opts->dir, 0700) && workdir_open_readonly(wd, opts->dir));
	if (!ok)
	{
		workdir_close(wd);
		return EXIT_WORKDIR;
	}
	*state = state_open(wd->state_file);
	if (*state == NULL)
	{
		workdir_close(wd);
		return EXIT_WORKDIR;
	}
	return EXIT_OK;
}

int
cmd_stream_setup(Options *opts)
{
	if (!cli_require_uris(opts, true, true))
	{
		return EXIT_USAGE;
	}
	WorkDir wd;
	StateDb *state;
	int rc = with_state(opts, true, &wd, &state);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	CdcOptions co;
	if (!cdc_options_from(&co, opts, state, wd.cdc_dir))
	{
		state_close(state);
		workdir_close(&wd);
		return EXIT_USAGE;
	}
	CdcSlot slot;
	int code = EXIT_OK;
	Kept kept;
	if (!publish_filtered(opts, &co, &kept))
	{
		kept_free(&kept);
		state_close(state);
		workdir_close(&wd);
		return EXIT_USAGE;
	}
	if (cdc_setup(&co, &slot, true, &code))
	{
		char b[32];
		lsn_format(slot.consistent_lsn, b, sizeof(b));
		printf("slot %s created at %s\n", co.slot, b);
		cdc_slot_close(&slot);
	}
	kept_free(&kept);
	state_close(state);
	workdir_close(&wd);
	return code;
}

int
cmd_stream_cleanup(Options *opts)
{
	if (!cli_require_uris(opts, true, false))
	{
		return EXIT_USAGE;
	}
	WorkDir wd;
	StateDb *state;
	int rc = with_state(opts, true, &wd, &state);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	CdcOptions co;
	if (!cdc_options_from(&co, opts, state, wd.cdc_dir))
	{
		state_close(state);
		workdir_close(&wd);
		return EXIT_USAGE;
	}
	rc = cdc_cleanup(&co) ? EXIT_OK : EXIT_SOURCE;
	state_exec(state, "DELETE FROM meta WHERE key LIKE 'cdc_%'", 0, NULL);
	state_close(state);
	workdir_close(&wd);
	return rc;
}

int
cmd_stream_prune(Options *opts)
{
	WorkDir wd;
	StateDb *state;
	int rc = with_state(opts, false, &wd, &state);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	Lsn s, e, w, f, r;
	bool apply;
	sentinel_get(state, &s, &e, &apply, &w, &f, &r);
	/* segments wholly before the applied position go */
	JournalReader jr;
	journal_reader_open(&jr, wd.cdc_dir);
	JournalFrame fr;
	uint32_t keep_from = jr.segno;
	int n;
	while ((n = journal_read(&jr, &fr)) == 1)
	{
		if (fr.lsn > r)
		{
			keep_from = jr.segno;
			break;
		}
		keep_from = jr.segno;
	}
	journal_reader_close(&jr);
	journal_prune(wd.cdc_dir, keep_from);
	char b[32];
	lsn_format(r, b, sizeof(b));
	printf("removed journal segments before segment %u (applied up to %s)\n", keep_from, b);
	state_close(state);
	workdir_close(&wd);
	return EXIT_OK;
}

/* ---- sentinel ---- */

int
cmd_sentinel_setup(Options *opts)
{
	WorkDir wd;
	StateDb *state;
	int rc = with_state(opts, false, &wd, &state);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	Lsn l;
	if (opts->startpos != NULL && !lsn_parse(opts->startpos, &l))
	{
		log_error("invalid start position \"%s\"", opts->startpos);
		rc = EXIT_USAGE;
	}
	else if (opts->endpos != NULL && !lsn_parse(opts->endpos, &l))
	{
		log_error("invalid end position \"%s\"", opts->endpos);
		rc = EXIT_USAGE;
	}
	else
	{
		sentinel_set(state, "startpos", opts->startpos ? opts->startpos : "0/0");
		if (opts->endpos != NULL)
		{
			sentinel_set(state, "endpos", opts->endpos);
		}
	}
	state_close(state);
	workdir_close(&wd);
	return rc;
}

int
cmd_sentinel_get(Options *opts)
{
	WorkDir wd;
	StateDb *state;
	int rc = with_state(opts, false, &wd, &state);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	Lsn s, e, w, f, r;
	bool apply;
	sentinel_get(state, &s, &e, &apply, &w, &f, &r);
	char bs[32], be[32], bw[32], bf[32], br[32];
	lsn_format(s, bs, sizeof(bs));
	lsn_format(e, be, sizeof(be));
	lsn_format(w, bw, sizeof(bw));
	lsn_format(f, bf, sizeof(bf));
	lsn_format(r, br, sizeof(br));
	if (opts->json)
	{
		printf("{\"startpos\": \"%s\", \"endpos\": \"%s\", \"apply\": %s, \"write_lsn\": \"%s\", "
			   "\"flush_lsn\": \"%s\", \"replay_lsn\": \"%s\"}\n",
			   bs, be, apply ? "true" : "false", bw, bf, br);
	}
	else
	{
		printf("startpos    %s\nendpos      %s\napply       %s\nwrite_lsn   %s\nflush_lsn   "
			   "%s\nreplay_lsn  %s\n",
			   bs, be, apply ? "enabled" : "disabled", bw, bf, br);
	}
	state_close(state);
	workdir_close(&wd);
	return EXIT_OK;
}

static int
sentinel_set_pos(Options *opts, const char *column)
{
	WorkDir wd;
	StateDb *state;
	const char *value = opts->nargs > 0 ? opts->args[0] : NULL;
	if (strcmp(column, "endpos") == 0 && value == NULL && opts->endpos != NULL)
	{
		value = opts->endpos;
	}
	if (strcmp(column, "startpos") == 0 && value == NULL && opts->startpos != NULL)
	{
		value = opts->startpos;
	}
	char *current = NULL;
	if (opts->current)
	{
		if (!cli_require_uris(opts, true, false))
		{
			return EXIT_USAGE;
		}
		PgConn c;
		if (!pg_connect(&c, opts->source, "source", "sentinel", 0) ||
			!pg_query_value(&c, "SELECT pg_catalog.pg_current_wal_lsn()::text", 0, NULL, &current))
		{
			pg_disconnect(&c);
			return EXIT_SOURCE;
		}
		pg_disconnect(&c);
		value = current;
	}
	Lsn l;
	if (value == NULL || !lsn_parse(value, &l))
	{
		log_error("expected an LSN (such as 0/1A2B3C4D) or --current, got \"%s\"",
				  value ? value : "");
		free(current);
		return EXIT_USAGE;
	}
	int rc = with_state(opts, false, &wd, &state);
	if (rc != EXIT_OK)
	{
		free(current);
		return rc;
	}
	rc = sentinel_set(state, column, value) ? EXIT_OK : EXIT_WORKDIR;
	if (rc == EXIT_OK)
	{
		printf("%s %s\n", column, value);
	}
	free(current);
	state_close(state);
	workdir_close(&wd);
	return rc;
}

int
cmd_sentinel_set_startpos(Options *opts)
{
	return sentinel_set_pos(opts, "startpos");
}

int
cmd_sentinel_set_endpos(Options *opts)
{
	return sentinel_set_pos(opts, "endpos");
}

/* apply = "1": the follower applies; "0": it only receives (pgcopydb's prefetch) */
static int
sentinel_set_apply(Options *opts, const char *apply)
{
	WorkDir wd;
	StateDb *state;
	int rc = with_state(opts, false, &wd, &state);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	rc = sentinel_set(state, "apply", apply) ? EXIT_OK : EXIT_WORKDIR;
	state_close(state);
	workdir_close(&wd);
	return rc;
}

int
cmd_sentinel_set_apply(Options *opts)
{
	return sentinel_set_apply(opts, "1");
}

int
cmd_sentinel_set_prefetch(Options *opts)
{
	return sentinel_set_apply(opts, "0");
}

int
cmd_stream_transform(Options *opts)
{
	(void) opts;
	log_error("\"pgshift stream transform\" is not supported");
	log_detail(LOG_LEVEL_ERROR,
			   "pgshift keeps the changes in a binary journal that \"stream apply\" applies "
			   "directly; there are no JSON or SQL files to transform.");
	log_hint(LOG_LEVEL_ERROR, "Use \"pgshift stream apply\" (or \"stream catchup\").");
	return EXIT_USAGE;
}

/* ---- snapshot ---- */

int
cmd_snapshot(Options *opts)
{
	if (!cli_require_uris(opts, true, false))
	{
		return EXIT_USAGE;
	}
	WorkDir wd;
	if (!workdir_open(&wd, opts->dir))
	{
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}
	StateDb *state = state_open(wd.state_file);
	int rc = EXIT_OK;
	PgConn c;
	memset(&c, 0, sizeof(c));
	CdcSlot slot;
	memset(&slot, 0, sizeof(slot));
	char *snap = NULL;
	if (opts->follow)
	{
		CdcOptions co;
		bool plugin_ok = cdc_options_from(&co, opts, state, wd.cdc_dir);
		co.target = opts->target;
		int code;
		if (!plugin_ok)
		{
			rc = EXIT_USAGE;
		}
		else if (opts->target == NULL)
		{
			log_error("snapshot --follow needs --target too (for the replication origin)");
			rc = EXIT_USAGE;
		}
		else if (!cdc_setup(&co, &slot, true, &code))
		{
			rc = code;
		}
		else
		{
			snap = xstrdup(slot.snapshot);
		}
	}
	else if (!pg_connect(&c, opts->source, "source", "snapshot", 0) ||
			 !pg_exec(&c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") ||
			 !pg_query_value(&c, "SELECT pg_catalog.pg_export_snapshot()", 0, NULL, &snap))
	{
		rc = EXIT_SOURCE;
	}
	if (rc == EXIT_OK && snap != NULL)
	{
		char *path = xasprintf("%s/snapshot", wd.path);
		char *line = xasprintf("%s\n", snap);
		file_write_all(path, line, strlen(line), false);
		free(path);
		free(line);
		if (state != NULL)
		{
			state_set_meta(state, "held_snapshot", snap);
		}
		printf("%s\n", snap);
		fflush(stdout);
		log_info("holding snapshot \"%s\" until interrupted (Ctrl-C or SIGTERM)", snap);
		while (!signals_interrupted())
		{
			usleep(100000);
			if (c.conn != NULL && PQstatus(c.conn) != CONNECTION_OK)
			{
				log_error("source: the connection holding the snapshot was lost");
				rc = EXIT_SOURCE;
				break;
			}
		}
		if (rc == EXIT_OK)
		{
			log_info("snapshot released");
		}
	}
	free(snap);
	cdc_slot_close(&slot);
	pg_disconnect(&c);
	state_close(state);
	workdir_close(&wd);
	return rc;
}
