/*
 * src/schema/schema.h — pg_dump / pg_restore drivers and archive lists.
 *
 * pg_dump and pg_restore run as child processes started with posix_spawn and
 * an argument vector (never a shell). Connection strings are passed without
 * their password; the password goes in the child's PGPASSWORD only. Output
 * goes to a log file in the work directory and the error lines are logged.
 */
#ifndef PGSHIFT_SCHEMA_H
#define PGSHIFT_SCHEMA_H

#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "core/core.h"

typedef uint32_t SchemaOid;

/* ---- child processes ---- */
/*
 * Runs argv[0] (looked up in the PostgreSQL bin directory, see
 * schema_pg_bin) with extra "NAME=value" environment entries; stdout and
 * stderr appended to out_path. Returns the exit status (0 ok), -1 when it
 * could not be started. SIGINT/SIGTERM to pgshift terminate the child.
 */
int spawn_run(const char *const *argv, const char *const *extra_env, const char *out_path);
/*
 * A child's spawn attributes: no signal blocked, SIGINT/SIGTERM/SIGHUP/SIGPIPE
 * at their default action (pgshift's own handlers and mask are not inherited).
 */
void spawn_attr_init(posix_spawnattr_t *attr);
/* environ minus the names extra_env ("NAME=value", NULL-terminated; may be NULL) sets, plus
 * extra_env: for a child's environment only (free the array, not its strings). */
char **spawn_env(const char *const *extra_env);
/*
 * A connection string for a child process: --dbname without the password,
 * which goes in the child's environment only (PGPASSWORD), never in its
 * argument vector. side ("source", "target") names it in the error logged
 * when the string is invalid.
 */
typedef struct ChildConn
{
	char *dbname; /* "--dbname=<conninfo without password>" */
	char *pwenv;  /* "PGPASSWORD=...", or NULL */
} ChildConn;
bool schema_child_conn(const char *conninfo, const char *side, ChildConn *out);
void schema_child_conn_free(ChildConn *c);
/* Directory holding pg_dump/pg_restore: $PGSHIFT_PG_BIN, the newest
 * /usr/lib/postgresql/N/bin, or "" (PATH). */
const char *schema_pg_bin(void);
/* The path spawn_run runs for the program name (pg_dump, ...): in schema_pg_bin(), else bare. */
char *schema_pg_program(const char *name);
/*
 * The version of the program (pg_dump, pg_restore, pg_dumpall) pgshift will
 * run, from schema_pg_bin(): *version as server_version_num (150008), *path
 * the program's path (malloc'd). false when it cannot be run (logged as a
 * warning). The one place that answers "which pg_dump" (src/schema/tool_version.c).
 */
bool schema_tool_version(const char *program, int *version, char **path);
/*
 * The version (server_version_num style, 150015) of the pg_dump that
 * spawn_run starts, read once through schema_tool_version; 0 when it cannot be
 * run or read (logged). schema_check_source_dumpable: false (logged with a
 * hint naming the version needed and PGSHIFT_PG_BIN) when that pg_dump is of
 * an older major than the source.
 */
int schema_pg_dump_version(void);
bool schema_check_source_dumpable(int source_version);

/* ---- archive table of contents ---- */
typedef struct TocEntry
{
	int dump_id;
	SchemaOid cat_oid; /* pg_class, pg_constraint, ... */
	SchemaOid oid;
	char *desc;       /* "TABLE", "FK CONSTRAINT", "INDEX ATTACH", ... */
	char *rest;       /* "public t1 postgres" */
	char *line;       /* as pg_restore -l printed it */
	const char *skip; /* NULL, or why pgshift leaves it out */
} TocEntry;

typedef struct TocList
{
	TocEntry *entries;
	int n;
} TocList;

/* pg_restore -l [--section=SECTION] of an archive. */
bool schema_toc_read(const char *dumpfile, const char *section, const char *log_path, TocList *out);
/* Writes a --use-list file: skipped entries commented out with their reason. */
bool schema_toc_write(const TocList *l, const char *path);
void schema_toc_free(TocList *l);

/* ---- what the archive lists leave out (src/schema/toc_filter.c) ---- */
typedef struct TocFilter
{
	const Filters *filters; /* --filters; NULL or inactive: none */
	SchemaOid *skip_oids;   /* objects depending on excluded tables */
	int nskip_oids;
	StrList skip_names;   /* "schema name" of excluded relations, for COMMENT/ACL entries */
	StrList skip_schemas; /* excluded schemas */
	StrList all_schemas;  /* the source's schemas, to read pg_restore -l lines */
	bool skip_extensions;
	bool skip_collations;
	bool skip_large_objects;
	bool skip_ext_comments; /* COMMENT ON EXTENSION */
	bool skip_publications; /* PUBLICATION, PUBLICATION TABLE/TABLES IN SCHEMA, their comments */
} TocFilter;

void toc_filter_free(TocFilter *f);
/* What --filters leaves out of either section; quiet: no notice per entry. */
void toc_filter_common(const TocFilter *f, TocList *l, bool quiet);
/* The pre-data section: --filters, --skip-extensions, --skip-collations, --skip-large-objects. */
void toc_filter_predata(const TocFilter *f, TocList *l);
/*
 * The post-data section: --filters, plus the objects pgshift builds itself
 * (built: index, constraint, foreign key and materialized view oids) and the
 * indexes --filters [exclude-index] leaves out (excluded: index and
 * constraint oids).
 */
void toc_filter_postdata(const TocFilter *f, TocList *l, const SchemaOid *built, int nbuilt,
						 const SchemaOid *excluded, int nexcluded);
/* --skip-publications: publications and what belongs to them (post-data). */
void toc_filter_publications(const TocFilter *f, TocList *l);

/* ---- dump and restore ---- */
typedef struct SchemaOptions
{
	const char *source;   /* conninfo */
	const char *target;   /* conninfo */
	const char *snapshot; /* or NULL */
	int jobs;
	bool clean;             /* --clean --if-exists */
	bool tolerate_existing; /* resume: "already exists" errors are not failures */
	int tolerance;          /* --restore-tolerance: objects that may fail to restore */
	bool no_owner;
	bool no_acl;
	bool no_comments;
	bool no_tablespaces;
	/*
	 * pg_restore commits each statement with synchronous_commit = off (one
	 * WAL flush per object is most of the time of a schema of thousands of
	 * objects); the caller must then make it durable with one synchronous
	 * commit (schema_restore_flush) before it records the step as done.
	 */
	bool async_commit;
	const char *log_path; /* child output */
} SchemaOptions;

/* pg_dump -Fc --section=pre-data --section=post-data into dumpfile. */
bool schema_dump(const SchemaOptions *so, const char *dumpfile);
/* pg_restore --section=SECTION --use-list=LIST into the target. */
bool schema_restore(const SchemaOptions *so, const char *dumpfile, const char *section,
					const char *listfile);

/*
 * Makes what an async_commit restore committed durable: a synchronous commit
 * of a transaction with an xid flushes the WAL up to its own commit record,
 * past every commit of the restore.
 */
struct PgConn;
bool schema_restore_flush(struct PgConn *target);

/*
 * --drop-if-exists: drops on the target, in reverse dependency order, every
 * object of the archive's pre-data and post-data sections named in listfile
 * (pg_restore --clean --if-exists writes the DROP statements; they run here,
 * one by one). Objects that do not exist are no error. Returns the number of
 * statements that failed (logged as warnings), or -1 when the script could
 * not be made.
 */
struct PgConn;
int schema_clean(const char *dumpfile, const char *listfile, const char *script_path,
				 const char *log_path, struct PgConn *target);

#endif /* PGSHIFT_SCHEMA_H */
