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
	OK_SIZE
} OptKind;

typedef struct OptDef
{
	const char *name;
	int shortopt; /* 0 when none */
	OptKind kind;
	int group;
	size_t offset;
	const char *env; /* suffix after PGSHIFT_ / PGCOPYDB_, or NULL */
	const char *argname;
	const char *help;
} OptDef;

#define OFF(f) offsetof(Options, f)

static const OptDef g_opts[] = {
	{ "source", 'S', OK_STR, OPT_G_SOURCE, OFF(source), "SOURCE_PGURI", "URI",
	  "source database connection string (URI or key=value)" },
	{ "target", 'T', OK_STR, OPT_G_TARGET, OFF(target), "TARGET_PGURI", "URI",
	  "target database connection string (URI or key=value)" },
	{ "dir", 'D', OK_STR, OPT_G_DIR, OFF(dir), "DIR", "DIR",
	  "work directory (default ${TMPDIR:-/tmp}/pgshift)" },
	{ "table-jobs", 'J', OK_INT, OPT_G_JOBS, OFF(table_jobs), "TABLE_JOBS", "N",
	  "concurrent COPY jobs (default 4)" },
	{ "index-jobs", 'I', OK_INT, OPT_G_JOBS, OFF(index_jobs), "INDEX_JOBS", "N",
	  "concurrent CREATE INDEX / constraint jobs (default 4)" },
	{ "restore-jobs", 0, OK_INT, OPT_G_JOBS, OFF(restore_jobs), "RESTORE_JOBS", "N",
	  "pg_restore --jobs for the schema sections (default 4)" },
	{ "large-objects-jobs", 'b', OK_INT, OPT_G_JOBS, OFF(lo_jobs), "LARGE_OBJECTS_JOBS", "N",
	  "concurrent large-object copy jobs (default 4)" },
	{ "split-tables-larger-than", 0, OK_SIZE, OPT_G_JOBS, OFF(split_larger_than),
	  "SPLIT_TABLES_LARGER_THAN", "SIZE",
	  "copy tables larger than SIZE in parallel parts (e.g. 1GB; 0 = never)" },
	{ "split-max-parts", 0, OK_INT, OPT_G_JOBS, OFF(split_max_parts), "SPLIT_MAX_PARTS", "N",
	  "at most N parts per table (default: --table-jobs)" },
	{ "use-copy-binary", 0, OK_BOOL, OPT_G_JOBS, OFF(use_copy_binary), "USE_COPY_BINARY", NULL,
	  "binary COPY for tables of built-in types, even across major versions" },
	{ "no-copy-binary", 0, OK_BOOL, OPT_G_JOBS, OFF(no_copy_binary), "NO_COPY_BINARY", NULL,
	  "text COPY only (default: binary for built-in types when both servers run the same "
	  "major version)" },
	{ "snapshot", 0, OK_STR, OPT_G_SNAPSHOT, OFF(snapshot), "SNAPSHOT", "ID",
	  "use this exported snapshot (held by another session)" },
	{ "not-consistent", 0, OK_BOOL, OPT_G_SNAPSHOT, OFF(not_consistent), "NOT_CONSISTENT", NULL,
	  "allow a new snapshot when resuming (the copy is then not consistent)" },
	{ "resume", 0, OK_BOOL, OPT_G_RESUME, OFF(resume), "RESUME", NULL,
	  "resume a previous run from its work directory" },
	{ "restart", 0, OK_BOOL, OPT_G_RESUME, OFF(restart), "RESTART", NULL,
	  "discard a previous run's state in the work directory and start over" },
	{ "drop-if-exists", 0, OK_BOOL, OPT_G_SCHEMA, OFF(drop_if_exists), "DROP_IF_EXISTS", NULL,
	  "drop target objects that exist already before creating them" },
	{ "no-owner", 'O', OK_BOOL, OPT_G_SCHEMA, OFF(no_owner), "NO_OWNER", NULL,
	  "do not set object ownership on the target" },
	{ "no-acl", 'x', OK_BOOL, OPT_G_SCHEMA, OFF(no_acl), "NO_ACL", NULL,
	  "do not restore privileges (GRANT/REVOKE)" },
	{ "no-comments", 0, OK_BOOL, OPT_G_SCHEMA, OFF(no_comments), "NO_COMMENTS", NULL,
	  "do not restore comments" },
	{ "no-tablespaces", 0, OK_BOOL, OPT_G_SCHEMA, OFF(no_tablespaces), "NO_TABLESPACES", NULL,
	  "do not restore tablespace assignments" },
	{ "skip-extensions", 0, OK_BOOL, OPT_G_SCHEMA, OFF(skip_extensions), "SKIP_EXTENSIONS", NULL,
	  "do not create extensions on the target" },
	{ "skip-collations", 0, OK_BOOL, OPT_G_SCHEMA, OFF(skip_collations), "SKIP_COLLATIONS", NULL,
	  "do not create collations on the target" },
	{ "skip-db-properties", 0, OK_BOOL, OPT_G_SCHEMA, OFF(skip_db_properties), "SKIP_DB_PROPERTIES",
	  NULL, "do not copy ALTER DATABASE ... SET settings" },
	{ "roles", 0, OK_BOOL, OPT_G_SCHEMA, OFF(roles), "ROLES", NULL,
	  "also copy the roles of the source cluster (pg_dumpall --roles-only)" },
	{ "no-role-passwords", 0, OK_BOOL, OPT_G_SCHEMA, OFF(no_role_passwords), "NO_ROLE_PASSWORDS",
	  NULL, "copy roles without their passwords" },
	{ "skip-large-objects", 0, OK_BOOL, OPT_G_CLONE, OFF(skip_large_objects), "SKIP_LARGE_OBJECTS",
	  NULL, "do not copy large objects" },
	{ "skip-vacuum", 0, OK_BOOL, OPT_G_CLONE, OFF(skip_vacuum), "SKIP_VACUUM", NULL,
	  "do not VACUUM the copied tables" },
	{ "skip-analyze", 0, OK_BOOL, OPT_G_CLONE, OFF(skip_analyze), "SKIP_ANALYZE", NULL,
	  "do not ANALYZE the copied tables" },
	{ "recompress-toast", 0, OK_BOOL, OPT_G_CLONE, OFF(recompress_toast), "RECOMPRESS_TOAST", NULL,
	  "let the target try to compress every TOASTed value, also in columns whose "
	  "sampled source values are all stored uncompressed" },
	{ "fail-fast", 0, OK_BOOL, OPT_G_CLONE, OFF(fail_fast), "FAIL_FAST", NULL,
	  "stop the whole run at the first failure" },
	{ "follow", 0, OK_BOOL, OPT_G_FOLLOW, OFF(follow), "FOLLOW", NULL,
	  "after the copy, replay the changes made since its snapshot (change data capture)" },
	{ "filters", 'F', OK_STR, OPT_G_FILTER, OFF(filters), "FILTERS", "FILE",
	  "copy only what the filters file selects (pgcopydb ini format)" },
	{ "plugin", 'p', OK_STR, OPT_G_CDC, OFF(plugin), "OUTPUT_PLUGIN", "NAME",
	  "logical decoding plugin: pgoutput (default) or test_decoding" },
	{ "slot-name", 's', OK_STR, OPT_G_CDC, OFF(slot_name), "SLOT_NAME", "NAME",
	  "replication slot name (default pgshift)" },
	{ "origin", 'o', OK_STR, OPT_G_CDC, OFF(origin), "ORIGIN", "NAME",
	  "replication origin on the target (default pgshift)" },
	{ "publication", 0, OK_STR, OPT_G_CDC, OFF(publication), "PUBLICATION", "NAME",
	  "publication name (default pgshift)" },
	{ "create-slot", 0, OK_BOOL, OPT_G_CDC, OFF(create_slot), "CREATE_SLOT", NULL,
	  "create the replication slot" },
	{ "endpos", 'E', OK_STR, OPT_G_CDC, OFF(endpos), "ENDPOS", "LSN",
	  "stop replaying at the first commit at or past this LSN" },
	{ "startpos", 0, OK_STR, OPT_G_SENTINEL, OFF(startpos), NULL, "LSN",
	  "start position (sentinel)" },
	{ "current", 0, OK_BOOL, OPT_G_SENTINEL, OFF(current), NULL, NULL,
	  "use the source's current WAL position" },
	{ "json", 0, OK_BOOL, OPT_G_JSON, OFF(json), "JSON", NULL, "print JSON" },
	{ "list-skipped", 0, OK_BOOL, OPT_G_LIST, OFF(list_skipped), NULL, NULL,
	  "list the objects the filters leave out" },
	{ "schema-name", 0, OK_STR, OPT_G_LIST, OFF(schema_name), NULL, "NAME",
	  "only objects of this schema" },
	{ "table-name", 0, OK_STR, OPT_G_LIST, OFF(table_name), NULL, "NAME", "only this table" },
	{ "show-rows", 0, OK_BOOL, OPT_G_COMPARE, OFF(show_rows), NULL, NULL,
	  "list the rows that differ" },
	{ "verbose", 'v', OK_BOOL, OPT_G_LOG, OFF(verbose), "VERBOSE", NULL, "more messages" },
	{ "debug", 'd', OK_BOOL, OPT_G_LOG, OFF(debug), "DEBUG", NULL, "debug messages" },
	{ "quiet", 'q', OK_BOOL, OPT_G_LOG, OFF(quiet), "QUIET", NULL, "errors only" },
	{ "log-json", 0, OK_BOOL, OPT_G_LOG, OFF(log_json), "LOG_JSON", NULL,
	  "log lines as JSON objects" },
	/* h-flow */
	{ "startpos", 0, OK_BOOL, OPT_G_SENTINEL_GET, OFF(sentinel_get_startpos), NULL, NULL,
	  "print only the start position" },
	{ "endpos", 0, OK_BOOL, OPT_G_SENTINEL_GET, OFF(sentinel_get_endpos), NULL, NULL,
	  "print only the end position" },
	{ "apply", 0, OK_BOOL, OPT_G_SENTINEL_GET, OFF(sentinel_get_apply), NULL, NULL,
	  "print only the apply switch (enabled or disabled)" },
	{ "write-lsn", 0, OK_BOOL, OPT_G_SENTINEL_GET, OFF(sentinel_get_write_lsn), NULL, NULL,
	  "print only the position received" },
	{ "flush-lsn", 0, OK_BOOL, OPT_G_SENTINEL_GET, OFF(sentinel_get_flush_lsn), NULL, NULL,
	  "print only the position written to the journal" },
	{ "replay-lsn", 0, OK_BOOL, OPT_G_SENTINEL_GET, OFF(sentinel_get_replay_lsn), NULL, NULL,
	  "print only the position applied on the target" },
	/* end h-flow */
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
options_parse(Options *o, int groups, const char *cmdname, int argc, char **argv)
{
	groups |= OPT_G_LOG;
	struct option longopts[N_OPTS + 2];
	char shortopts[3 * N_OPTS + 4];
	int nl = 0, ns = 0;
	bool given[N_OPTS];
	memset(given, 0, sizeof(given));

	shortopts[ns++] = '+';
	shortopts[ns++] = ':';
	for (int i = 0; i < N_OPTS; i++)
	{
		if (!(g_opts[i].group & groups))
		{
			continue;
		}
		longopts[nl].name = g_opts[i].name;
		longopts[nl].has_arg = g_opts[i].kind == OK_BOOL ? no_argument : required_argument;
		longopts[nl].flag = NULL;
		longopts[nl].val = 1000 + i;
		nl++;
		if (g_opts[i].shortopt)
		{
			shortopts[ns++] = (char) g_opts[i].shortopt;
			if (g_opts[i].kind != OK_BOOL)
			{
				shortopts[ns++] = ':';
			}
		}
	}
	longopts[nl].name = "help";
	longopts[nl].has_arg = no_argument;
	longopts[nl].flag = NULL;
	longopts[nl].val = 'h';
	nl++;
	memset(&longopts[nl], 0, sizeof(longopts[nl]));
	shortopts[ns++] = 'h';
	shortopts[ns] = '\0';

	optind = 0; /* 0, not 1: glibc then also forgets its position inside a cluster */
	opterr = 0;
	int c;
	int li = -1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, &li)) != -1)
	{
		int idx = -1;
		if (c >= 1000)
		{
			idx = c - 1000;
		}
		else if (c == 'h')
		{
			o->nargs = -1; /* the caller prints the help */
			return false;
		}
		else if (c == '?' || c == ':')
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
			o->nargs = -2;
			return false;
		}
		else
		{
			for (int i = 0; i < N_OPTS; i++)
			{
				if (g_opts[i].shortopt == c && (g_opts[i].group & groups))
				{
					idx = i;
				}
			}
		}
		if (idx < 0)
		{
			o->nargs = -2;
			return false;
		}
		char from[64];
		snprintf(from, sizeof(from), "--%s", g_opts[idx].name);
		if (!opt_set(o, &g_opts[idx], g_opts[idx].kind == OK_BOOL ? NULL : optarg, from))
		{
			o->nargs = -2;
			return false;
		}
		given[idx] = true;
	}

	/* environment for what the command line did not give */
	for (int i = 0; i < N_OPTS; i++)
	{
		if (given[i] || !(g_opts[i].group & groups) || g_opts[i].env == NULL)
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
			o->nargs = -2;
			return false;
		}
	}
	if ((groups & OPT_G_DIR) && o->dir == NULL)
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
options_print_help(int groups)
{
	groups |= OPT_G_LOG;
	for (int i = 0; i < N_OPTS; i++)
	{
		const OptDef *d = &g_opts[i];
		if (!(d->group & groups))
		{
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
}
