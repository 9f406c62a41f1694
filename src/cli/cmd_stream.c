/*
 * src/cli/cmd_stream.c — clone --follow, follow, snapshot, and `stream ...`.
 *
 * Each handler turns the command line into cdc/'s specs (CdcOptions,
 * FollowSpec) and maps the result to an exit code; the follower itself is
 * cdc/follow.c, the sentinel state/sentinel.c.
 *
 * pgcopydb's step-by-step flow works with one --dir for every step:
 * `snapshot --follow` creates the slot and holds its snapshot without taking
 * the work directory's lock (it has one of its own, snapshot.pid), so that
 * `stream setup`, `clone --snapshot`, `follow` and `stream sentinel ...` can
 * run meanwhile. (Plain `snapshot` still takes the directory's lock.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cdc/cdc.h"
#include "cli/cli.h"
#include "clone/clone.h"

/* ---- from the command line to cdc/'s specs ---- */

/* --filters, loaded once for the publication, the applier and the sequences */
typedef struct Kept
{
	Filters filters;
	bool loaded;
	StrList published; /* the tables the publication lists */
	StrList applied;   /* those and their partitions */
} Kept;

/* A command's work directory, state.db and CDC spec. */
typedef struct Stream
{
	WorkDir wd;
	StateDb *state;
	CdcOptions co;
	Kept kept;
} Stream;

/* false (logged) when the plugin named is not one of ours */
static bool
stream_cdc_options(CdcOptions *co, const Options *o, StateDb *state, const char *journal_dir)
{
	memset(co, 0, sizeof(*co));
	co->source = o->source;
	co->target = o->target;
	co->slot = o->slot_name ? o->slot_name : "pgshift";
	co->origin = o->origin ? o->origin : "pgshift";
	co->publication = o->publication ? o->publication : "pgshift";
	co->journal_dir = journal_dir;
	co->state = state;
	co->retry_timeout = o->retry_timeout;
	co->journal_min_free = o->journal_min_free;
	/* a directory set up earlier remembers its plugin and slot */
	static char saved_slot[128];
	char *saved_plugin =
		state != NULL && o->plugin == NULL ? state_get_meta(state, "cdc_plugin") : NULL;
	const char *plugin = o->plugin ? o->plugin : (saved_plugin ? saved_plugin : "pgoutput");
	bool ok = cdc_plugin_parse(plugin, &co->plugin);
	free(saved_plugin);
	/* --ddl, or a directory whose setup installed the capture */
	char *saved_ddl = state != NULL && !o->ddl ? state_get_meta(state, "cdc_ddl") : NULL;
	co->ddl = o->ddl || saved_ddl != NULL;
	free(saved_ddl);
	ok = ok && (o->ddl_errors == NULL || cdc_ddl_errors_parse(o->ddl_errors, &co->ddl_errors));
	co->local_only = o->local_only;
	if (ok && o->local_only && co->plugin != CDC_PLUGIN_PGOUTPUT)
	{
		log_error("--local-only needs --plugin pgoutput (its Origin messages tell which "
				  "transactions a replication applied)");
		ok = false;
	}
	if (state != NULL && o->slot_name == NULL)
	{
		char *p = state_get_meta(state, "cdc_slot");
		if (p != NULL)
		{
			snprintf(saved_slot, sizeof(saved_slot), "%s", p);
			co->slot = saved_slot;
			free(p);
		}
	}
	return ok;
}

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
	if (!cdc_filtered_tables(opts->source, &k->filters, &k->published, &k->applied))
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

/*
 * Opens the work directory (locked, or read-only for `stream sentinel` and
 * `stream prune`, which run beside the follower) and state.db, and builds
 * the CDC spec; with filters, loads --filters too.
 */
static int
stream_open(Stream *s, const Options *opts, bool lock, bool filters)
{
	memset(s, 0, sizeof(*s));
	bool ok = lock ? workdir_open(&s->wd, opts->dir)
				   : (file_mkdir_p(opts->dir, 0700) && workdir_open_readonly(&s->wd, opts->dir));
	if (!ok)
	{
		workdir_close(&s->wd);
		return EXIT_WORKDIR;
	}
	s->state = state_open(s->wd.state_file);
	if (s->state == NULL)
	{
		workdir_close(&s->wd);
		return EXIT_WORKDIR;
	}
	if (!stream_cdc_options(&s->co, opts, s->state, s->wd.cdc_dir) ||
		(filters && !publish_filtered(opts, &s->co, &s->kept)))
	{
		kept_free(&s->kept);
		state_close(s->state);
		workdir_close(&s->wd);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static void
stream_close(Stream *s)
{
	kept_free(&s->kept);
	state_close(s->state);
	workdir_close(&s->wd);
}

/* What a command does in its opened work directory; returns an ExitCode. */
typedef int (*StreamFn)(Stream *s, const Options *opts, const void *arg);

/* Opens the work directory (stream_open), runs fn, closes. */
static int
stream_with(const Options *opts, bool lock, bool filters, StreamFn fn, const void *arg)
{
	Stream s;
	int rc = stream_open(&s, opts, lock, filters);
	if (rc == EXIT_OK)
	{
		rc = fn(&s, opts, arg);
		stream_close(&s);
	}
	return rc;
}

/* ---- the follower ---- */

/* FOLLOW_COPY: the base copy is clone's, run under the slot's snapshot. */
typedef struct CloneCopy
{
	Options *opts;
	Stream *stream;
} CloneCopy;

static int
clone_copy_check(void *arg)
{
	CloneCopy *c = arg;
	return cli_clone_precheck(c->opts);
}

static int
clone_copy_run(void *arg, const char *snapshot)
{
	CloneCopy *c = arg;
	free(c->opts->snapshot);
	c->opts->snapshot = snapshot ? xstrdup(snapshot) : NULL;
	return cli_clone_main_in(c->opts, STEP_ALL & ~STEP_SEQUENCES, &c->stream->wd, c->stream->state);
}

static int
stream_follow(Options *opts, int what)
{
	bool need_target = (what & (FOLLOW_APPLY | FOLLOW_COPY)) != 0;
	if (!cli_require_uris(opts, true, need_target))
	{
		return EXIT_USAGE;
	}
	Stream s;
	int rc = stream_open(&s, opts, true, true);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	CloneCopy copy = { opts, &s };
	FollowSpec spec = {
		.co = s.co,
		.what = what,
		.endpos = opts->endpos,
		.resume = opts->resume,
		.create_slot = opts->create_slot,
		.metrics_port = opts->metrics_port,
		.copy_check = clone_copy_check,
		.copy_run = clone_copy_run,
		.copy_arg = &copy,
	};
	rc = follow_run(&spec);
	stream_close(&s);
	return rc;
}

int
cmd_stream(Options *opts, int what)
{
	if (opts->to_stdout)
	{
		log_error("--to-stdout is not supported");
		log_detail(LOG_LEVEL_ERROR, "pgshift writes the changes to its binary journal, which "
									"\"stream apply\" applies; there is no JSON stream to print.");
		log_hint(LOG_LEVEL_ERROR, "Run \"pgshift stream receive\" without it, and \"pgshift "
								  "stream apply\" (or \"follow\") to apply the changes.");
		return EXIT_USAGE;
	}
	return stream_follow(opts, what);
}

int
cli_clone_follow(Options *opts)
{
	return stream_follow(opts, FOLLOW_COPY | FOLLOW_RECEIVE | FOLLOW_APPLY);
}

/* ---- setup / cleanup / prune ---- */

/*
 * Publication, slot and origin; a slot that `snapshot --follow` made in this
 * work directory is used as it is (pgcopydb's step-by-step flow).
 */
/*
 * pgcopydb's step-by-step flow: a new stream (nothing applied yet) only
 * receives until `stream sentinel set apply` says the copy is done, so that
 * no change is applied to tables still being copied. clone --follow switches
 * it on itself once its copy is done.
 */
static bool
stream_prefetch_until_apply(Stream *s)
{
	Sentinel sen;
	sentinel_get(s->state, &sen);
	return sen.replay_lsn != LSN_INVALID || sentinel_set_apply(s->state, false);
}

static int
stream_setup(Stream *s, const Options *opts, const void *arg)
{
	(void) opts, (void) arg;
	CdcSlot slot;
	int code = EXIT_OK;
	if (cdc_setup(&s->co, &slot, CDC_SETUP_ORIGIN | CDC_SETUP_SLOT | CDC_SETUP_ADOPT_SLOT, &code))
	{
		if (!stream_prefetch_until_apply(s))
		{
			code = EXIT_WORKDIR;
		}
		char b[32];
		lsn_format(slot.consistent_lsn, b, sizeof(b));
		printf("slot %s %s at %s\n", s->co.slot, slot.adopted ? "ready" : "created", b);
		cdc_slot_close(&slot);
	}
	return code;
}

int
cmd_stream_setup(Options *opts)
{
	if (!cli_require_uris(opts, true, true))
	{
		return EXIT_USAGE;
	}
	return stream_with(opts, true, true, stream_setup, NULL);
}

static int
stream_cleanup(Stream *s, const Options *opts, const void *arg)
{
	(void) opts, (void) arg;
	int rc = cdc_cleanup(&s->co) ? EXIT_OK : EXIT_SOURCE;
	state_clear_meta(s->state, "cdc_");
	return rc;
}

int
cmd_stream_cleanup(Options *opts)
{
	if (!cli_require_uris(opts, true, false))
	{
		return EXIT_USAGE;
	}
	return stream_with(opts, true, false, stream_cleanup, NULL);
}

static int
stream_prune(Stream *s, const Options *opts, const void *arg)
{
	(void) arg;
	Sentinel sen;
	sentinel_get(s->state, &sen);
	/* segments wholly before the applied position go */
	JournalReader jr;
	journal_reader_open(&jr, s->wd.cdc_dir);
	JournalFrame fr;
	uint32_t keep_from = jr.segno;
	while (journal_read(&jr, &fr) == 1)
	{
		keep_from = jr.segno;
		if (fr.lsn > sen.replay_lsn)
		{
			break;
		}
	}
	journal_reader_close(&jr);
	char b[32];
	lsn_format(sen.replay_lsn, b, sizeof(b));
	if (opts->dry_run)
	{
		StrList paths = { 0 };
		journal_segments_below(s->wd.cdc_dir, keep_from, &paths);
		for (int i = 0; i < paths.n; i++)
		{
			printf("would remove %s\n", paths.items[i]);
		}
		printf("%d journal segment(s) applied up to %s would be removed (--dry-run)\n", paths.n, b);
		strlist_free(&paths);
		return EXIT_OK;
	}
	journal_prune(s->wd.cdc_dir, keep_from);
	printf("removed journal segments before segment %u (applied up to %s)\n", keep_from, b);
	return EXIT_OK;
}

int
cmd_stream_prune(Options *opts)
{
	return stream_with(opts, false, false, stream_prune, NULL);
}

/* ---- sentinel ---- */

/* What `stream sentinel setup|set` writes: a position or the apply switch (a chain). */
typedef struct SentinelSet
{
	int what; /* SENTINEL_SET_* */
	Lsn lsn;
	const struct SentinelSet *next;
} SentinelSet;

static int
sentinel_write(Stream *s, const Options *opts, const void *arg)
{
	(void) opts;
	for (const SentinelSet *set = arg; set != NULL; set = set->next)
	{
		bool ok;
		switch (set->what)
		{
			case SENTINEL_SET_STARTPOS:
				ok = sentinel_set_startpos(s->state, set->lsn);
				break;
			case SENTINEL_SET_ENDPOS:
				ok = sentinel_set_endpos(s->state, set->lsn);
				break;
			default:
				ok = sentinel_set_apply(s->state, set->what == SENTINEL_SET_APPLY);
				break;
		}
		if (!ok)
		{
			return EXIT_WORKDIR;
		}
	}
	return EXIT_OK;
}

int
cmd_sentinel_setup(Options *opts)
{
	Lsn start = LSN_INVALID, end = LSN_INVALID;
	if (opts->startpos != NULL && !lsn_parse(opts->startpos, &start))
	{
		log_error("invalid start position \"%s\"", opts->startpos);
		return EXIT_USAGE;
	}
	if (opts->endpos != NULL && !lsn_parse(opts->endpos, &end))
	{
		log_error("invalid end position \"%s\"", opts->endpos);
		return EXIT_USAGE;
	}
	SentinelSet set = { .what = SENTINEL_SET_STARTPOS, .lsn = start };
	SentinelSet set_end = { .what = SENTINEL_SET_ENDPOS, .lsn = end, .next = NULL };
	set.next = opts->endpos != NULL ? &set_end : NULL;
	return stream_with(opts, false, false, sentinel_write, &set);
}

static void
sentinel_print(const Sentinel *sen, const char *field, bool json)
{
	const char *names[] = { "startpos", "endpos", "write_lsn", "flush_lsn", "replay_lsn" };
	const Lsn lsns[] = { sen->startpos, sen->endpos, sen->write_lsn, sen->flush_lsn,
						 sen->replay_lsn };
	char text[5][32];
	for (int i = 0; i < 5; i++)
	{
		lsn_format(lsns[i], text[i], sizeof(text[i]));
		if (field != NULL && strcmp(field, names[i]) == 0)
		{
			printf("%s\n", text[i]);
			return;
		}
	}
	const char *apply = sen->apply ? "enabled" : "disabled";
	if (field != NULL)
	{
		printf("%s\n", apply); /* the only field left: apply */
	}
	else if (json)
	{
		printf("{\n  \"startpos\": \"%s\",\n  \"endpos\": \"%s\",\n  \"apply\": %s,\n"
			   "  \"write_lsn\": \"%s\",\n  \"flush_lsn\": \"%s\",\n  \"replay_lsn\": \"%s\"\n}\n",
			   text[0], text[1], sen->apply ? "true" : "false", text[2], text[3], text[4]);
	}
	else
	{
		printf("%-10s %s\n%-10s %s\n%-10s %s\n%-10s %s\n%-10s %s\n%-10s %s\n", "startpos", text[0],
			   "endpos", text[1], "apply", apply, "write_lsn", text[2], "flush_lsn", text[3],
			   "replay_lsn", text[4]);
	}
}

static int
sentinel_show(Stream *s, const Options *opts, const void *field)
{
	Sentinel sen;
	sentinel_get(s->state, &sen);
	sentinel_print(&sen, field, opts->json);
	return EXIT_OK;
}

/* Like pgcopydb: all the fields, or one with --startpos, --endpos, ...; --json. */
int
cmd_sentinel_get(Options *opts)
{
	/* one of --startpos ... --replay-lsn (the parser refuses two), or NULL */
	const char *field = opts->sentinel_field;
	return stream_with(opts, false, false, sentinel_show, field);
}

/* The source's current WAL position (caller frees), or NULL (logged). */
static char *
source_current_lsn(const Options *opts)
{
	char *current = NULL;
	PgConn c;
	if (!pg_connect(&c, opts->source, "source", "sentinel", 0) ||
		!pg_query_value(&c, "SELECT pg_catalog.pg_current_wal_lsn()::text", 0, NULL, &current))
	{
		free(current);
		current = NULL;
	}
	pg_disconnect(&c);
	return current;
}

static int
sentinel_set_pos(Options *opts, bool endpos)
{
	const char *value = opts->nargs > 0 ? opts->args[0] : NULL;
	const char *given = endpos ? opts->endpos : opts->startpos;
	if (value == NULL && given != NULL)
	{
		value = given;
	}
	char *current = NULL;
	if (opts->current)
	{
		if (!cli_require_uris(opts, true, false))
		{
			return EXIT_USAGE;
		}
		current = source_current_lsn(opts);
		if (current == NULL)
		{
			return EXIT_SOURCE;
		}
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
	SentinelSet set = { .what = endpos ? SENTINEL_SET_ENDPOS : SENTINEL_SET_STARTPOS, .lsn = l };
	int rc = stream_with(opts, false, false, sentinel_write, &set);
	if (rc == EXIT_OK)
	{
		printf("%s\n", value); /* as pgcopydb: the position alone, for scripts */
	}
	free(current);
	return rc;
}

int
cmd_sentinel_set(Options *opts, int what)
{
	switch (what)
	{
		case SENTINEL_SET_STARTPOS:
			return sentinel_set_pos(opts, false);
		case SENTINEL_SET_ENDPOS:
			return sentinel_set_pos(opts, true);
		default:
		{
			/* apply: the follower applies; prefetch: it only receives */
			SentinelSet set = { .what = what };
			return stream_with(opts, false, false, sentinel_write, &set);
		}
	}
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

/*
 * One snapshot holder per work directory: a lock of its own (snapshot.pid),
 * not the directory's, which the commands run meanwhile need. -1 on failure
 * (logged).
 */
static int
snapshot_lock(const char *dir)
{
	char *path = xasprintf("%s/snapshot.pid", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		log_error("could not open \"%s\": %s", path, strerror(errno));
	}
	else if (flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		char buf[32] = { 0 };
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		log_error("a snapshot is held for work directory \"%s\" already (pid %ld)", dir,
				  n > 0 ? strtol(buf, NULL, 10) : 0L);
		log_hint(LOG_LEVEL_ERROR, "Use that snapshot, or stop that \"pgshift snapshot\" first.");
		close(fd);
		fd = -1;
	}
	else
	{
		char buf[32];
		int len = snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());
		if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t) len, 0) != len)
		{
			log_warn("could not write \"%s\": %s", path, strerror(errno));
		}
	}
	free(path);
	return fd;
}

/*
 * pgcopydb's commands use the snapshot a `snapshot` process holds in their
 * work directory when none is given: the id it wrote to dir/snapshot, while
 * it holds dir/snapshot.pid (the lock tells a live holder from a file left
 * by a dead one). Sets opts->snapshot, and says so.
 */
void
cli_use_held_snapshot(Options *opts)
{
	if (opts->snapshot != NULL || opts->resume || opts->dir == NULL)
	{
		return;
	}
	char *path = xasprintf("%s/snapshot.pid", opts->dir);
	bool held = workdir_lock_held(path);
	free(path);
	char *file = xasprintf("%s/snapshot", opts->dir);
	size_t len = 0;
	char *snap = held ? file_read_all(file, &len) : NULL;
	free(file);
	if (snap != NULL)
	{
		snap[strcspn(snap, "\r\n")] = '\0';
		log_info("using snapshot \"%s\", held by \"pgshift snapshot\" in this work directory",
				 snap);
		opts->snapshot = snap;
	}
}

static void
snapshot_unlock(const char *dir, int fd)
{
	if (fd >= 0)
	{
		char *path = xasprintf("%s/snapshot.pid", dir);
		unlink(path);
		free(path);
		close(fd);
	}
}

/* Records the snapshot (dir/snapshot, state.db, stdout), then waits for a signal. */
static int
snapshot_hold(const Stream *s, const char *snap, const PgConn *c)
{
	char *path = xasprintf("%s/snapshot", s->wd.path);
	char *line = xasprintf("%s\n", snap);
	file_write_all(path, line, strlen(line), false);
	free(path);
	free(line);
	state_set_meta(s->state, "held_snapshot", snap);
	printf("%s\n", snap);
	fflush(stdout);
	log_info("holding snapshot \"%s\" until interrupted (Ctrl-C or SIGTERM)", snap);
	while (!signals_interrupted())
	{
		usleep(100000);
		if (c->conn != NULL && PQstatus(c->conn) != CONNECTION_OK)
		{
			log_error("source: the connection holding the snapshot was lost");
			return EXIT_SOURCE;
		}
	}
	log_info("snapshot released");
	return EXIT_OK;
}

/*
 * Exports a snapshot and holds it until interrupted. With --follow, like
 * pgcopydb: the source alone, the publication (pgoutput) and the slot, whose
 * snapshot it is; the origin is `stream setup`'s (or `follow`'s), which have
 * the target (--target is accepted here, and not needed).
 */
int
cmd_snapshot(Options *opts)
{
	if (!cli_require_uris(opts, true, false))
	{
		return EXIT_USAGE;
	}
	/* beside the steps of pgcopydb's flows, which need the directory's lock */
	Stream s;
	int rc = stream_open(&s, opts, false, false);
	if (rc != EXIT_OK)
	{
		return rc;
	}
	int lock = snapshot_lock(s.wd.path);
	if (lock < 0 || !log_open_file(s.wd.log_file))
	{
		snapshot_unlock(s.wd.path, lock);
		stream_close(&s);
		return EXIT_WORKDIR;
	}
	PgConn c;
	memset(&c, 0, sizeof(c));
	CdcSlot slot;
	memset(&slot, 0, sizeof(slot));
	char *snap = NULL;
	if (opts->follow)
	{
		if (cdc_setup(&s.co, &slot, CDC_SETUP_SLOT, &rc))
		{
			snap = xstrdup(slot.snapshot);
			rc = stream_prefetch_until_apply(&s) ? EXIT_OK : EXIT_WORKDIR;
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
		rc = snapshot_hold(&s, snap, opts->follow ? &slot.repl : &c);
	}
	free(snap);
	cdc_slot_close(&slot);
	pg_disconnect(&c);
	snapshot_unlock(s.wd.path, lock);
	stream_close(&s);
	return rc;
}
