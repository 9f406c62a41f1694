/*
 * src/cli/cli.h — the command handlers (exit codes: core/core.h).
 */
#ifndef PGSHIFT_CLI_H
#define PGSHIFT_CLI_H

#include "catalog/catalog.h"
#include "cli/options.h"

typedef int (*CommandFn)(Options *opts);

/* Command handlers (src/cli/cmd_*.c). */
int cmd_ping(Options *opts);
int cmd_version(Options *opts);
int cmd_clone(Options *opts);
int cmd_snapshot(Options *opts);
int cmd_copy_db(Options *opts);
int cmd_copy_schema(Options *opts);
int cmd_copy_data(Options *opts);
int cmd_copy_table_data(Options *opts);
int cmd_copy_sequences(Options *opts);
int cmd_copy_indexes(Options *opts);
int cmd_copy_constraints(Options *opts);
int cmd_copy_blobs(Options *opts);
int cmd_copy_roles(Options *opts);
int cmd_copy_extensions(Options *opts);
int cmd_dump_schema(Options *opts);
int cmd_dump_roles(Options *opts);
int cmd_restore_schema(Options *opts);
int cmd_restore_pre_data(Options *opts);
int cmd_restore_post_data(Options *opts);
int cmd_restore_roles(Options *opts);
int cmd_restore_parse_list(Options *opts);
int cmd_list_databases(Options *opts);
int cmd_list_extensions(Options *opts);
int cmd_list_collations(Options *opts);
int cmd_list_tables(Options *opts);
int cmd_list_table_parts(Options *opts);
int cmd_list_sequences(Options *opts);
int cmd_list_indexes(Options *opts);
int cmd_list_depends(Options *opts);
int cmd_list_schema(Options *opts);
int cmd_list_progress(Options *opts);
int cmd_compare_schema(Options *opts);
int cmd_compare_data(Options *opts);
int cmd_follow(Options *opts);
int cmd_stream_setup(Options *opts);
int cmd_stream_cleanup(Options *opts);
int cmd_stream_prune(Options *opts);
int cmd_stream_receive(Options *opts);
int cmd_stream_apply(Options *opts);
int cmd_stream_replay(Options *opts);
int cmd_sentinel_setup(Options *opts);
int cmd_sentinel_get(Options *opts);
int cmd_sentinel_set_startpos(Options *opts);
int cmd_sentinel_set_endpos(Options *opts);
int cmd_sentinel_set_apply(Options *opts);

/* Logging set-up from --verbose/--debug/--quiet/--log-json. */
void cli_setup_logging(const Options *opts);
/* Checks --source (and --target when need_target); prints a usage error. */
bool cli_require_uris(const Options *opts, bool need_source, bool need_target);
/* The table-split settings (--split-tables-larger-than, --split-max-parts, --table-jobs). */
SplitSpec cli_split_spec(const Options *opts);

#endif /* PGSHIFT_CLI_H */
