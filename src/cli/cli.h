/*
 * src/cli/cli.h — the command handlers (exit codes: core/core.h).
 */
#ifndef PGSHIFT_CLI_H
#define PGSHIFT_CLI_H

#include "catalog/catalog.h"
#include "cli/options.h"
#include "clone/clone.h"

typedef int (*CommandFn)(Options *opts);
/* A handler shared by the rows of the command table that differ by a step mask. */
typedef int (*CommandStepsFn)(Options *opts, int steps);

/* Command handlers (src/cli/cmd_*.c). */
int cmd_ping(Options *opts);
int cmd_version(Options *opts);
int cmd_clone(Options *opts);
/* check, and clone --dry-run: the pre-flight (cmd_check.c); exit 12 when something blocks. */
int cmd_check(Options *opts);
int cmd_clone_dry_run(Options *opts);
int cmd_snapshot(Options *opts);
/* copy schema|data|table-data|...: clone_main with the row's STEP_* mask (cmd_clone.c). */
int cmd_copy_steps(Options *opts, int steps);
/* dump ..., restore ..., copy roles|extensions: the row's SCHEMA_CMD_* mask (cmd_schema.c). */
int cmd_schema_steps(Options *opts, int what);
int cmd_list_progress(Options *opts);
/* cutover: the cut-over against a running follower's work directory (cmd_cutover.c). */
int cmd_cutover(Options *opts);

/* The source listings, one handler given which (a row's mask in commands.c). */
enum
{
	LIST_DATABASES,
	LIST_EXTENSIONS,
	LIST_COLLATIONS,
	LIST_TABLES,
	LIST_TABLE_PARTS,
	LIST_SEQUENCES,
	LIST_INDEXES,
	LIST_VIEWS,
	LIST_TRIGGERS,
	LIST_DEPENDS,
	LIST_SCHEMA
};
int cmd_list(Options *opts, int which);
/* follow, stream replay|receive|apply (and pgcopydb's names): FOLLOW_* of cdc.h */
int cmd_stream(Options *opts, int what);
/* stream sentinel set ... */
enum
{
	SENTINEL_SET_STARTPOS,
	SENTINEL_SET_ENDPOS,
	SENTINEL_SET_APPLY,
	SENTINEL_SET_PREFETCH
};
int cmd_sentinel_set(Options *opts, int what);
int cmd_compare_schema(Options *opts);
int cmd_compare_data(Options *opts);
int cmd_stream_setup(Options *opts);
int cmd_stream_cleanup(Options *opts);
int cmd_stream_prune(Options *opts);
int cmd_sentinel_setup(Options *opts);
int cmd_sentinel_get(Options *opts);
int cmd_stream_transform(Options *opts);

/* Logging set-up from --verbose/--debug/--quiet/--log-json. */
void cli_setup_logging(const Options *opts);
/* Checks --source (and --target when need_target); prints a usage error. */
bool cli_require_uris(const Options *opts, bool need_source, bool need_target);
/* The table-split settings (--split-tables-larger-than, --split-max-parts, --table-jobs). */
SplitSpec cli_split_spec(const Options *opts);

/* The clone's spec from the options: strings borrowed from opts (cmd_clone.c). */
CloneSpec clone_spec_from_options(const Options *opts);
/*
 * For clone --follow (cmd_stream.c) until the follower takes a CloneSpec of
 * its own: clone_precheck and clone_main_in on the options.
 */
int cli_clone_precheck(const Options *opts);
/* clone --follow: the copy under the slot's snapshot, then the follow (cmd_stream.c). */
int cli_clone_follow(Options *opts);
/*
 * When no --snapshot is given: the snapshot a `pgshift snapshot` process
 * holds in the work directory, if one does (cmd_stream.c).
 */
void cli_use_held_snapshot(Options *opts);
int cli_clone_main_in(const Options *opts, int steps, WorkDir *wd, StateDb *state);

#endif /* PGSHIFT_CLI_H */
