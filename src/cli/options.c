/*
 * src/cli/options.c — the option table, getopt_long parsing, environment.
 */
#include "cli/options.h"

#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"

typedef enum OptKind
{
	OK_STR,
	OK_INT,
	OK_BOOL,
	OK_SIZE,
	OK_DURATION, /* seconds (double), with an optional unit: ms, s, min, h, d */
	OK_PORT,     /* a TCP port number, 1..65535 (0: none) */
	OK_CONST     /* no value: sets a string field to the row's constval */
} OptKind;

typedef struct OptDef
{
	const char *name;
	int shortopt; /* 0 when none */
	OptKind kind;
	const char *id; /* what command lists name it by; NULL: the long name */
	size_t offset;
	const char *env; /* suffix after PGSHIFT_ / PGCOPYDB_, or NULL */
	const char *argname;
	const char *help;
	/*
	 * Accepted for pgcopydb's scripts but without effect here: why, printed
	 * as a one-line notice when the option is given (docs/compatibility.md).
	 */
	const char *noop;
	const char *constval; /* OK_CONST */
} OptDef;

#define OFF(f) offsetof(Options, f)

static const OptDef g_opts[] = {
	{ "source", 'S', OK_STR, NULL, OFF(source), "SOURCE_PGURI", "URI",
	  "source database connection string (URI or key=value)" },
	{ "target", 'T', OK_STR, NULL, OFF(target), "TARGET_PGURI", "URI",
	  "target database connection string (URI or key=value)" },
	{ "dir", 'D', OK_STR, NULL, OFF(dir), "DIR", "DIR",
	  "work directory (default ${TMPDIR:-/tmp}/pgshift)" },
	{ "table-jobs", 'J', OK_INT, NULL, OFF(table_jobs), "TABLE_JOBS", "N",
	  "concurrent COPY jobs (default 4)" },
	{ "index-jobs", 'I', OK_INT, NULL, OFF(index_jobs), "INDEX_JOBS", "N",
	  "concurrent CREATE INDEX / constraint jobs (default 4)" },
	{ "restore-jobs", 0, OK_INT, NULL, OFF(restore_jobs), "RESTORE_JOBS", "N",
	  "pg_restore --jobs for the schema sections (default 4)" },
	{ "large-objects-jobs", 'b', OK_INT, NULL, OFF(lo_jobs), "LARGE_OBJECTS_JOBS", "N",
	  "concurrent large-object copy jobs (default 4)" },
	{ "split-tables-larger-than", 0, OK_SIZE, NULL, OFF(split_larger_than),
	  "SPLIT_TABLES_LARGER_THAN", "SIZE",
	  "copy tables larger than SIZE in parallel parts (e.g. 1GB; 0 = never)" },
	{ "split-max-parts", 0, OK_INT, NULL, OFF(split_max_parts), "SPLIT_MAX_PARTS", "N",
	  "at most N parts per table (default: --table-jobs)" },
	{ "use-copy-binary", 0, OK_BOOL, NULL, OFF(use_copy_binary), "USE_COPY_BINARY", NULL,
	  "binary COPY for tables of built-in types, even across major versions" },
	{ "no-copy-binary", 0, OK_BOOL, NULL, OFF(no_copy_binary), "NO_COPY_BINARY", NULL,
	  "text COPY only (default: binary for built-in types when both servers run the same "
	  "major version)" },
	{ "snapshot", 'N', OK_STR, NULL, OFF(snapshot), "SNAPSHOT", "ID",
	  "use this exported snapshot (held by another session)" },
	{ "not-consistent", 'C', OK_BOOL, NULL, OFF(not_consistent), "NOT_CONSISTENT", NULL,
	  "allow a new snapshot when resuming (the copy is then not consistent)" },
	{ "resume", 'R', OK_BOOL, NULL, OFF(resume), "RESUME", NULL,
	  "resume a previous run from its work directory" },
	{ "restart", 'r', OK_BOOL, NULL, OFF(restart), "RESTART", NULL,
	  "discard a previous run's state in the work directory and start over" },
	{ "drop-if-exists", 0, OK_BOOL, NULL, OFF(drop_if_exists), "DROP_IF_EXISTS", NULL,
	  "drop target objects that exist already before creating them" },
	{ "no-owner", 'O', OK_BOOL, NULL, OFF(no_owner), "NO_OWNER", NULL,
	  "do not set object ownership on the target" },
	{ "no-acl", 'x', OK_BOOL, NULL, OFF(no_acl), "NO_ACL", NULL,
	  "do not restore privileges (GRANT/REVOKE)" },
	{ "no-comments", 0, OK_BOOL, NULL, OFF(no_comments), "NO_COMMENTS", NULL,
	  "do not restore comments" },
	{ "no-tablespaces", 0, OK_BOOL, NULL, OFF(no_tablespaces), "NO_TABLESPACES", NULL,
	  "do not restore tablespace assignments" },
	{ "skip-extensions", 0, OK_BOOL, NULL, OFF(skip_extensions), "SKIP_EXTENSIONS", NULL,
	  "do not create extensions on the target" },
	{ "skip-collations", 0, OK_BOOL, NULL, OFF(skip_collations), "SKIP_COLLATIONS", NULL,
	  "do not create collations on the target" },
	{ "skip-db-properties", 0, OK_BOOL, NULL, OFF(skip_db_properties), "SKIP_DB_PROPERTIES", NULL,
	  "do not copy ALTER DATABASE ... SET settings" },
	{ "roles", 0, OK_BOOL, NULL, OFF(roles), "ROLES", NULL,
	  "also copy the roles of the source cluster (pg_dumpall --roles-only)" },
	{ "no-role-passwords", 0, OK_BOOL, NULL, OFF(no_role_passwords), "NO_ROLE_PASSWORDS", NULL,
	  "copy roles without their passwords" },
	{ "skip-large-objects", 0, OK_BOOL, NULL, OFF(skip_large_objects), "SKIP_LARGE_OBJECTS", NULL,
	  "do not copy large objects" },
	{ "skip-vacuum", 0, OK_BOOL, NULL, OFF(skip_vacuum), "SKIP_VACUUM", NULL,
	  "do not VACUUM the copied tables" },
	{ "skip-analyze", 0, OK_BOOL, NULL, OFF(skip_analyze), "SKIP_ANALYZE", NULL,
	  "do not ANALYZE the copied tables" },
	{ "recompress-toast", 0, OK_BOOL, NULL, OFF(recompress_toast), "RECOMPRESS_TOAST", NULL,
	  "let the target try to compress every TOASTed value, also in columns whose "
	  "sampled source values are all stored uncompressed" },
	{ "fail-fast", 0, OK_BOOL, NULL, OFF(fail_fast), "FAIL_FAST", NULL,
	  "stop the whole run at the first failure" },
	{ "follow", 0, OK_BOOL, NULL, OFF(follow), "FOLLOW", NULL,
	  "after the copy, replay the changes made since its snapshot (change data capture)" },
	{ "filters", 'F', OK_STR, NULL, OFF(filters), "FILTERS", "FILE",
	  "copy only what the filters file selects (pgcopydb ini format)" },
	{ "plugin", 'p', OK_STR, NULL, OFF(plugin), "OUTPUT_PLUGIN", "NAME",
	  "logical decoding plugin: pgoutput (default), test_decoding or wal2json" },
	{ "slot-name", 's', OK_STR, NULL, OFF(slot_name), "SLOT_NAME", "NAME",
	  "replication slot name (default pgshift)" },
	{ "origin", 'o', OK_STR, NULL, OFF(origin), "ORIGIN", "NAME",
	  "replication origin on the target (default pgshift)" },
	{ "publication", 0, OK_STR, NULL, OFF(publication), "PUBLICATION", "NAME",
	  "publication name (default pgshift)" },
	{ "local-only", 0, OK_BOOL, NULL, OFF(local_only), "LOCAL_ONLY", NULL,
	  "follow: skip the transactions a replication applied on the source (pgoutput; the way "
	  "back after cutover --reverse)" },
	{ "create-slot", 0, OK_BOOL, NULL, OFF(create_slot), "CREATE_SLOT", NULL,
	  "create the replication slot" },
	{ "ddl", 0, OK_BOOL, NULL, OFF(ddl), "DDL", NULL,
	  "capture DDL on the source (event triggers: needs a superuser) and replay it in "
	  "commit order" },
	{ "ddl-errors", 0, OK_STR, NULL, OFF(ddl_errors), "DDL_ERRORS", "stop|skip|log",
	  "DDL --ddl cannot replay: stop the follower (default), skip it, or skip and log it to "
	  "<dir>/cdc/ddl-skipped.sql" },
	{ "endpos", 'E', OK_STR, NULL, OFF(endpos), "ENDPOS", "LSN",
	  "stop replaying at the first commit at or past this LSN" },
	{ "retry-timeout", 0, OK_DURATION, NULL, OFF(retry_timeout), "RETRY_TIMEOUT", "DURATION",
	  "reconnect to a server that went away for at most this long (default 1h; 0 = forever; "
	  "units s, min, h, d), then exit with code 13" },
	{ "journal-min-free", 0, OK_SIZE, NULL, OFF(journal_min_free), "JOURNAL_MIN_FREE", "SIZE",
	  "pause receiving while the journal's disk has less free space (default: 1GB or 5% of "
	  "the disk, whichever is smaller; 0 = never)" },
	{ "metrics-port", 0, OK_PORT, NULL, OFF(metrics_port), "METRICS_PORT", "PORT",
	  "serve the follower's figures (Prometheus text) on http://127.0.0.1:PORT/metrics" },
	{ "startpos", 0, OK_STR, NULL, OFF(startpos), NULL, "LSN", "start position (sentinel)" },
	{ "current", 'C', OK_BOOL, NULL, OFF(current), NULL, NULL,
	  "use the source's current WAL position" },
	{ "json", 0, OK_BOOL, NULL, OFF(json), "JSON", NULL, "print JSON" },
	/* stream sentinel get: pgcopydb's flags, each printing one value */
	{ "json", 'J', OK_BOOL, "get-json", OFF(json), "JSON", NULL, "print JSON" },
	{ "startpos", 's', OK_CONST, "get-startpos", OFF(sentinel_field), NULL, NULL,
	  "print only the start position", .constval = "startpos" },
	{ "endpos", 'e', OK_CONST, "get-endpos", OFF(sentinel_field), NULL, NULL,
	  "print only the end position", .constval = "endpos" },
	{ "apply", 'a', OK_CONST, "get-apply", OFF(sentinel_field), NULL, NULL,
	  "print only whether applying is enabled", .constval = "apply" },
	{ "write-lsn", 'w', OK_CONST, "get-write-lsn", OFF(sentinel_field), NULL, NULL,
	  "print only the position written to the journal", .constval = "write_lsn" },
	{ "flush-lsn", 'f', OK_CONST, "get-flush-lsn", OFF(sentinel_field), NULL, NULL,
	  "print only the position flushed to the journal", .constval = "flush_lsn" },
	{ "replay-lsn", 'r', OK_CONST, "get-replay-lsn", OFF(sentinel_field), NULL, NULL,
	  "print only the position applied on the target", .constval = "replay_lsn" },
	{ "list-skipped", 0, OK_BOOL, NULL, OFF(list_skipped), NULL, NULL,
	  "list the objects the filters leave out" },
	{ "schema-name", 0, OK_STR, NULL, OFF(schema_name), NULL, "NAME",
	  "only objects of this schema" },
	{ "table-name", 0, OK_STR, NULL, OFF(table_name), NULL, "NAME", "only this table" },
	{ "show-rows", 0, OK_BOOL, NULL, OFF(show_rows), NULL, NULL, "list the rows that differ" },
	{ "filter", 0, OK_STR, NULL, OFF(filters), NULL, "FILE",
	  "same as --filters (pgcopydb's list commands spell it so)" },

	/* pgcopydb's options with a meaning here */
	{ "estimate-table-sizes", 0, OK_BOOL, NULL, OFF(estimate_table_sizes), "ESTIMATE_TABLE_SIZES",
	  NULL,
	  "plan with the catalog's size estimates (pg_class.relpages) instead of reading every "
	  "table's size" },
	{ "skip-split-by-ctid", 0, OK_BOOL, NULL, OFF(skip_split_by_ctid), "SKIP_CTID_SPLIT", NULL,
	  "never split a table (every split is by ctid ranges here)" },
	{ "skip-ext-comments", 0, OK_BOOL, NULL, OFF(skip_ext_comments), "SKIP_EXT_COMMENTS", NULL,
	  "do not restore COMMENT ON EXTENSION (needs ownership of the extension)" },
	{ "skip-publications", 0, OK_BOOL, NULL, OFF(skip_publications), "SKIP_PUBLICATIONS", NULL,
	  "do not restore the source's publications" },
	{ "requirements", 0, OK_STR, NULL, OFF(requirements), "REQUIREMENTS", "FILE",
	  "JSON list of {\"name\", \"version\"}: the extension versions to create on the target" },
	{ "restore-tolerance", 0, OK_INT, NULL, OFF(restore_tolerance), "RESTORE_TOLERANCE", "N",
	  "go on when pg_restore fails on at most N objects (each is logged; default 0)" },
	{ "dry-run", 0, OK_BOOL, NULL, OFF(dry_run), NULL, NULL,
	  "say what would be removed, remove nothing" },
	{ "dry-run", 0, OK_BOOL, "clone-dry-run", OFF(dry_run), NULL, NULL,
	  "run the checks of \"pgshift check\", then print the plan; change nothing (exit 12 when "
	  "something blocks)" },
	{ "to-stdout", 'O', OK_BOOL, NULL, OFF(to_stdout), NULL, NULL,
	  "not supported: the journal is binary and applied by pgshift itself" },
	{ "wal2json-numeric-as-string", 'w', OK_BOOL, NULL, OFF(noop_flag),
	  "WAL2JSON_NUMERIC_AS_STRING", NULL, "wal2json: numbers as strings (always on here)",
	  .noop = "wal2json numbers are always decoded as strings here, so no digit is lost" },

	/* pgcopydb's options accepted without effect: .noop says why */
	{ "skip-xid-check", 0, OK_BOOL, NULL, OFF(noop_flag), NULL, NULL,
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift keeps no transaction id between runs to check (positions are LSNs)" },
	{ "defer-indexes", 0, OK_BOOL, NULL, OFF(noop_flag), NULL, NULL,
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift builds each index as soon as its table is copied, which ends the run "
			  "sooner than building them all at the end" },
	{ "defer-analyze", 0, OK_BOOL, NULL, OFF(noop_flag), NULL, NULL,
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift analyzes each table as soon as its rows and indexes are in "
			  "(--skip-analyze leaves ANALYZE out)" },
	{ "defer-validate-fks", 0, OK_BOOL, NULL, OFF(noop_flag), NULL, NULL,
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift adds each foreign key as soon as both its tables have their keys" },
	{ "prune-threshold", 0, OK_STR, NULL, OFF(noop_value), NULL, "SIZE",
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift removes each journal segment as soon as all of it is applied" },
	{ "prune-min-age", 0, OK_STR, NULL, OFF(noop_value), NULL, "AGE",
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift removes each journal segment as soon as all of it is applied" },
	{ "replay-no-op-updates", 0, OK_BOOL, NULL, OFF(noop_flag), NULL, NULL,
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift replays every UPDATE the source made, changed values or not" },
	{ "max-replaydb-size", 0, OK_STR, NULL, OFF(noop_value), NULL, "SIZE",
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift keeps changes in its journal, removed as they are applied, not in a "
			  "replay database" },
	{ "force", 0, OK_BOOL, NULL, OFF(noop_flag), NULL, NULL,
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift reads the source catalog afresh for every list command (no cache)" },
	{ "host", 0, OK_STR, NULL, OFF(noop_value), "HOST", "HOST",
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift has no follow coordinator to reach over TCP" },
	{ "port", 0, OK_STR, NULL, OFF(noop_value), "PORT", "PORT",
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift has no follow coordinator to reach over TCP" },

	/* cutover */
	{ "max-lag", 0, OK_STR, NULL, OFF(max_lag), "CUTOVER_MAX_LAG", "DURATION",
	  "cutover: the largest apply lag to start from (default 10s)" },
	{ "wait", 0, OK_STR, NULL, OFF(wait), "CUTOVER_WAIT", "DURATION",
	  "cutover: how long to wait for the lag to go under --max-lag (default 5min)" },
	{ "timeout", 0, OK_STR, NULL, OFF(timeout), "CUTOVER_TIMEOUT", "DURATION",
	  "cutover: abort when the drain is not done this long after the fence (default 60s)" },
	{ "fence", 0, OK_STR, NULL, OFF(fence), "CUTOVER_FENCE", "builtin|none",
	  "cutover: builtin (read-only database, sessions ended; default) or none (writes are "
	  "already stopped)" },
	{ "fence-command", 0, OK_STR, NULL, OFF(fence_command), "CUTOVER_FENCE_COMMAND", "CMD",
	  "cutover: stop the source's writes with this shell command instead" },
	{ "unfence-command", 0, OK_STR, NULL, OFF(unfence_command), "CUTOVER_UNFENCE_COMMAND", "CMD",
	  "cutover: the shell command that undoes --fence-command (on abort)" },
	{ "reverse", 0, OK_BOOL, NULL, OFF(reverse), "CUTOVER_REVERSE", NULL,
	  "cutover: before the switch, a slot and publication on the target (and an origin on "
	  "the source), \"pgshift_reverse\", to follow the new server's changes back" },
	{ "switch-command", 0, OK_STR, NULL, OFF(switch_command), "CUTOVER_SWITCH_COMMAND", "CMD",
	  "cutover: shell command pointing the application at the target (PGSHIFT_TARGET_PGURI "
	  "in its environment, without password)" },

	/* list commands: pgcopydb's options */
	{ "without-pkey", 0, OK_BOOL, NULL, OFF(without_pkey), NULL, NULL,
	  "list tables: only the tables without a primary key" },
	{ "available-versions", 0, OK_BOOL, NULL, OFF(available_versions), NULL, NULL,
	  "list extensions: the versions the server can install" },
	{ "requirements", 0, OK_BOOL, "list-requirements", OFF(list_requirements), NULL, NULL,
	  "list extensions: name and version of each, for a --requirements file (with --json)" },
	{ "summary", 0, OK_BOOL, NULL, OFF(summary), NULL, NULL,
	  "list progress: the run's summary (per table and step)" },
	{ "split-at", 0, OK_SIZE, NULL, OFF(split_larger_than), NULL, "SIZE",
	  "same as --split-tables-larger-than (pgcopydb's older name)" },
	{ "cache", 0, OK_BOOL, NULL, OFF(noop_flag), NULL, NULL,
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift keeps no size cache on the source" },
	{ "drop-cache", 0, OK_BOOL, NULL, OFF(noop_flag), NULL, NULL,
	  "accepted for pgcopydb scripts; no effect",
	  .noop = "pgshift keeps no size cache on the source" },

	/* logging, accepted by every command */
	{ "verbose", 'v', OK_BOOL, NULL, OFF(verbose), "VERBOSE", NULL, "more messages" },
	{ "notice", 0, OK_BOOL, NULL, OFF(notice), "NOTICE", NULL,
	  "more messages (pgcopydb's level between info and debug; same as --verbose)" },
	{ "debug", 'd', OK_BOOL, NULL, OFF(debug), "DEBUG", NULL, "debug messages" },
	{ "trace", 'z', OK_BOOL, NULL, OFF(trace), "TRACE", NULL,
	  "every message (pgshift's most detailed level is debug)" },
	{ "quiet", 'q', OK_BOOL, NULL, OFF(quiet), "QUIET", NULL, "errors only" },
	{ "log-json", 0, OK_BOOL, NULL, OFF(log_json), "LOG_JSON", NULL, "log lines as JSON objects" },
	{ "version", 'V', OK_BOOL, NULL, OFF(show_version), NULL, NULL, "print the version and exit" },
};

#define N_OPTS ((int) (sizeof(g_opts) / sizeof(g_opts[0])))

void
options_init(Options *o)
{
	memset(o, 0, sizeof(*o));
	o->table_jobs = 4;
	o->index_jobs = 4;
	o->restore_jobs = 4;
	o->lo_jobs = 4;
	o->split_larger_than = -1; /* -1: automatic */
	o->split_max_parts = 0;    /* 0: same as table_jobs */
	o->retry_timeout = 3600;
	o->journal_min_free = -1; /* -1: min(1 GiB, 5% of the disk) */
}

void
options_report_noops(const Options *o)
{
	for (int k = 0; k < o->nnoop_given; k++)
	{
		if (o->noop_here[k])
		{
			log_notice("option --%s has no effect on \"pgshift %s\": %s", o->noop_given[k],
					   o->cmdname ? o->cmdname : "", o->noop_why ? o->noop_why : "unused here");
			continue;
		}
		for (int i = 0; i < N_OPTS; i++)
		{
			if (g_opts[i].noop != NULL && strcmp(g_opts[i].name, o->noop_given[k]) == 0)
			{
				log_notice("option --%s has no effect: %s", g_opts[i].name, g_opts[i].noop);
				break;
			}
		}
	}
}

void
options_free(Options *o)
{
	for (int i = 0; i < N_OPTS; i++)
	{
		if (g_opts[i].kind == OK_STR)
		{
			char **p = (char **) ((char *) o + g_opts[i].offset);
			free(*p);
			*p = NULL;
		}
	}
	for (int i = 0; i < o->nargs; i++)
	{
		free(o->args[i]);
	}
	free(o->args);
	o->args = NULL;
	o->nargs = 0;
}

const char *
options_getenv(const char *suffix)
{
	char name[128];
	snprintf(name, sizeof(name), "PGSHIFT_%s", suffix);
	const char *v = getenv(name);
	if (v != NULL && v[0] != '\0')
	{
		return v;
	}
	snprintf(name, sizeof(name), "PGCOPYDB_%s", suffix);
	v = getenv(name);
	if (v != NULL && v[0] != '\0')
	{
		return v;
	}
	return NULL;
}

bool
options_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "on", "yes", "t", "y" };
	static const char *const no[] = { "0", "false", "off", "no", "f", "n" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
	{
		if (strcasecmp(s, yes[i]) == 0)
		{
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0)
		{
			*out = false;
			return true;
		}
	}
	return false;
}

/* "90", "90s", "1.5min", "1h", "2d", "500ms" -> seconds; false when malformed or negative. */
bool
duration_parse(const char *s, double *out)
{
	static const struct
	{
		const char *unit;
		double seconds;
	} units[] = { { "", 1 },   { "ms", 0.001 }, { "s", 1 },    { "sec", 1 },
				  { "m", 60 }, { "min", 60 },   { "h", 3600 }, { "d", 86400 } };
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
	{
		return false;
	}
	while (*end == ' ')
	{
		end++;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
	{
		if (strcmp(end, units[i].unit) == 0)
		{
			*out = v * units[i].seconds;
			return true;
		}
	}
	return false;
}

static bool
opt_set(Options *o, const OptDef *d, const char *val, const char *from)
{
	void *field = (char *) o + d->offset;
	switch (d->kind)
	{
		case OK_STR:
			free(*(char **) field);
			*(char **) field = xstrdup(val);
			return true;
		case OK_CONST:
		{
			const char **field_c = (const char **) field;
			if (*field_c != NULL && strcmp(*field_c, d->constval) != 0)
			{
				log_error("%s cannot be combined with --%s", from, *field_c);
				return false;
			}
			*field_c = d->constval;
			return true;
		}
		case OK_BOOL:
		{
			bool b = true;
			if (val != NULL && !options_parse_bool(val, &b))
			{
				log_error("invalid boolean value \"%s\" for %s", val, from);
				return false;
			}
			*(bool *) field = b;
			return true;
		}
		case OK_INT:
		{
			char *end;
			long v = strtol(val, &end, 10);
			if (*val == '\0' || *end != '\0' || v < 0 || v > 1024)
			{
				log_error("invalid value \"%s\" for %s: expected a number between 0 and 1024", val,
						  from);
				return false;
			}
			*(int *) field = (int) v;
			return true;
		}
		case OK_DURATION:
			if (!duration_parse(val, (double *) field))
			{
				log_error("invalid duration \"%s\" for %s: expected a number of seconds with an "
						  "optional unit (ms, s, min, h, d)",
						  val, from);
				return false;
			}
			return true;
		case OK_PORT:
		{
			char *end;
			long v = strtol(val, &end, 10);
			if (*val == '\0' || *end != '\0' || v < 0 || v > 65535)
			{
				log_error("invalid port \"%s\" for %s: expected a number between 1 and 65535", val,
						  from);
				return false;
			}
			*(int *) field = (int) v;
			return true;
		}
		case OK_SIZE:
		{
			int64_t bytes;
			if (!size_parse(val, &bytes))
			{
				log_error("invalid size \"%s\" for %s: expected a number with an optional unit "
						  "(kB, MB, GB, TB)",
						  val, from);
				return false;
			}
			*(int64_t *) field = bytes;
			return true;
		}
	}
	return false;
}

bool
options_list_has(const char *optlist, const char *id)
{
	size_t n = strlen(id);
	for (const char *p = optlist; p != NULL && *p != '\0';)
	{
		while (*p == ' ')
		{
			p++;
		}
		size_t len = strcspn(p, " ");
		if (len == n && strncmp(p, id, n) == 0)
		{
			return true;
		}
		p += len;
	}
	return false;
}

/*
 * Whether the command whose list is optlist takes option d without effect:
 * "~id" in the list (pgcopydb's command takes it, pgshift's has no use for it).
 */
static bool
opt_noop_here(const OptDef *d, const char *optlist)
{
	char tilde[64];
	snprintf(tilde, sizeof(tilde), "~%s", d->id != NULL ? d->id : d->name);
	return options_list_has(optlist, tilde);
}

/* Whether option d is accepted by a command whose list is optlist. */
static bool
opt_accepted(const OptDef *d, const char *optlist)
{
	const char *id = d->id != NULL ? d->id : d->name;
	return options_list_has(optlist, id) || options_list_has(OPT_G_LOG, id) ||
		   opt_noop_here(d, optlist);
}

/*
 * Whether option i is the only one of the command's list with its long name
 * and its short letter: two rows may share a name (a flag here, a value
 * there) only if no command takes both. A clash is a bug of the tables.
 */
static bool
opt_unique(int i, const char *optlist)
{
	for (int j = 0; j < i; j++)
	{
		if (!opt_accepted(&g_opts[j], optlist))
		{
			continue;
		}
		if (strcmp(g_opts[j].name, g_opts[i].name) == 0 ||
			(g_opts[i].shortopt != 0 && g_opts[j].shortopt == g_opts[i].shortopt))
		{
			log_error("internal error: options --%s and --%s clash in one command", g_opts[j].name,
					  g_opts[i].name);
			return false;
		}
	}
	return true;
}

static bool
opt_is_flag(const OptDef *d)
{
	return d->kind == OK_BOOL || d->kind == OK_CONST;
}

/*
 * getopt_long's tables for the command's options (and --help); false when
 * two of them clash (logged).
 */
static bool
getopt_tables(const char *optlist, struct option *longopts, char *shortopts)
{
	int nl = 0, ns = 0;
	shortopts[ns++] = '+';
	shortopts[ns++] = ':';
	for (int i = 0; i < N_OPTS; i++)
	{
		if (!opt_accepted(&g_opts[i], optlist))
		{
			continue;
		}
		if (!opt_unique(i, optlist))
		{
			return false;
		}
		bool flag = opt_is_flag(&g_opts[i]);
		longopts[nl++] = (struct option){ g_opts[i].name, flag ? no_argument : required_argument,
										  NULL, 1000 + i };
		if (g_opts[i].shortopt)
		{
			shortopts[ns++] = (char) g_opts[i].shortopt;
			if (!flag)
			{
				shortopts[ns++] = ':';
			}
		}
	}
	longopts[nl++] = (struct option){ "help", no_argument, NULL, 'h' };
	memset(&longopts[nl], 0, sizeof(longopts[nl]));
	shortopts[ns++] = 'h';
	shortopts[ns] = '\0';
	return true;
}

/* The table row getopt_long's answer c stands for; -1 on a usage error (logged). */
static int
opt_index(int c, const char *optlist, const char *cmdname, char **argv)
{
	if (c >= 1000)
	{
		return c - 1000;
	}
	if (c == '?' || c == ':')
	{
		char shortbuf[3] = { '-', (char) optopt, '\0' };
		const char *bad = optopt != 0 ? shortbuf : argv[optind - 1];
		if (c == ':')
		{
			log_error("option \"%s\" of \"pgshift %s\" needs a value", bad, cmdname);
		}
		else
		{
			log_error("unknown option \"%s\" for \"pgshift %s\"", bad, cmdname);
		}
		log_hint(LOG_LEVEL_ERROR, "Run \"pgshift %s --help\" for the options.", cmdname);
		return -1;
	}
	for (int i = 0; i < N_OPTS; i++)
	{
		if (g_opts[i].shortopt == c && opt_accepted(&g_opts[i], optlist))
		{
			return i;
		}
	}
	return -1;
}

/* Sets option idx from the command line, remembering a no-op one for its notice. */
static bool
opt_given(Options *o, int idx, const char *arg, bool *given, const char *optlist)
{
	char from[64];
	snprintf(from, sizeof(from), "--%s", g_opts[idx].name);
	if (!opt_set(o, &g_opts[idx], opt_is_flag(&g_opts[idx]) ? NULL : arg, from))
	{
		return false;
	}
	bool here = opt_noop_here(&g_opts[idx], optlist);
	if ((g_opts[idx].noop != NULL || here) && !given[idx] &&
		o->nnoop_given < (int) (sizeof(o->noop_given) / sizeof(o->noop_given[0])))
	{
		o->noop_here[o->nnoop_given] = here;
		o->noop_given[o->nnoop_given++] = g_opts[idx].name;
	}
	given[idx] = true;
	return true;
}

/* The environment, for the command's options the command line did not give. */
static bool
opt_from_env(Options *o, const char *optlist, const bool *given)
{
	for (int i = 0; i < N_OPTS; i++)
	{
		if (given[i] || !opt_accepted(&g_opts[i], optlist) || g_opts[i].env == NULL)
		{
			continue;
		}
		const char *v = options_getenv(g_opts[i].env);
		if (v == NULL)
		{
			continue;
		}
		char from[80];
		snprintf(from, sizeof(from), "PGSHIFT_%s", g_opts[i].env);
		if (!opt_set(o, &g_opts[i], v, from))
		{
			return false;
		}
	}
	return true;
}

bool
options_parse(Options *o, const char *optlist, const char *cmdname, int argc, char **argv)
{
	o->cmdname = cmdname;
	struct option longopts[N_OPTS + 2];
	char shortopts[3 * N_OPTS + 4];
	bool given[N_OPTS];
	memset(given, 0, sizeof(given));
	o->nargs = -2; /* a usage error, until the end */
	if (!getopt_tables(optlist, longopts, shortopts))
	{
		return false;
	}
	optind = 0; /* 0, not 1: glibc then also forgets its position inside a cluster */
	opterr = 0;
	int c;
	int li = -1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, &li)) != -1)
	{
		if (c == 'h')
		{
			o->nargs = -1; /* the caller prints the help */
			return false;
		}
		int idx = opt_index(c, optlist, cmdname, argv);
		if (idx < 0 || !opt_given(o, idx, optarg, given, optlist))
		{
			return false;
		}
	}
	if (!opt_from_env(o, optlist, given))
	{
		return false;
	}
	if (options_list_has(optlist, "dir") && o->dir == NULL)
	{
		const char *tmp = getenv("TMPDIR");
		o->dir = xasprintf("%s/pgshift", tmp && *tmp ? tmp : "/tmp");
	}
	o->nargs = argc - optind;
	o->args = xcalloc((size_t) (o->nargs + 1), sizeof(char *));
	for (int i = 0; i < o->nargs; i++)
	{
		o->args[i] = xstrdup(argv[optind + i]);
	}
	return true;
}

void
options_print_help(const char *optlist, const char *noop_why)
{
	StrBuf noops;
	sb_init(&noops);
	for (int i = 0; i < N_OPTS; i++)
	{
		const OptDef *d = &g_opts[i];
		if (!opt_accepted(d, optlist))
		{
			continue;
		}
		if (opt_noop_here(d, optlist))
		{
			sb_printf(&noops, "%s--%s", noops.len ? ", " : "", d->name);
			continue;
		}
		char left[64];
		if (d->shortopt)
		{
			snprintf(left, sizeof(left), "-%c, --%s%s%s", d->shortopt, d->name,
					 d->argname ? " " : "", d->argname ? d->argname : "");
		}
		else
		{
			snprintf(left, sizeof(left), "    --%s%s%s", d->name, d->argname ? " " : "",
					 d->argname ? d->argname : "");
		}
		printf("  %-36s %s", left, d->help);
		if (d->env != NULL)
		{
			printf(" [PGSHIFT_%s]", d->env);
		}
		printf("\n");
	}
	printf("  %-36s %s\n", "-h, --help", "show this help");
	if (noops.len > 0)
	{
		printf("\nAccepted for pgcopydb's scripts, without effect here:\n  %s\n", noops.data);
		if (noop_why != NULL)
		{
			printf("  Why: %s.\n", noop_why);
		}
	}
	sb_free(&noops);
}
