/*
 * src/cli/cmd_todo.c — commands of the interface not built yet.
 *
 * Each says so plainly and exits with EXIT_NOT_BUILT; they move out of this
 * file as they are built.
 */
#include "cli/cli.h"
#include "core/core.h"

#define TODO(fn, name) \
	int fn(Options *opts) \
	{ \
		(void) opts; \
		log_error("\"pgshift %s\" is not implemented yet", name); \
		return EXIT_NOT_BUILT; \
	}

TODO(cmd_snapshot, "snapshot")
TODO(cmd_copy_roles, "copy roles")
TODO(cmd_copy_extensions, "copy extensions")
TODO(cmd_dump_schema, "dump schema")
TODO(cmd_dump_roles, "dump roles")
TODO(cmd_restore_schema, "restore schema")
TODO(cmd_restore_pre_data, "restore pre-data")
TODO(cmd_restore_post_data, "restore post-data")
TODO(cmd_restore_roles, "restore roles")
TODO(cmd_restore_parse_list, "restore parse-list")
TODO(cmd_list_databases, "list databases")
TODO(cmd_list_extensions, "list extensions")
TODO(cmd_list_collations, "list collations")
TODO(cmd_list_tables, "list tables")
TODO(cmd_list_table_parts, "list table-parts")
TODO(cmd_list_sequences, "list sequences")
TODO(cmd_list_indexes, "list indexes")
TODO(cmd_list_depends, "list depends")
TODO(cmd_list_schema, "list schema")
TODO(cmd_list_progress, "list progress")
TODO(cmd_compare_schema, "compare schema")
TODO(cmd_compare_data, "compare data")
TODO(cmd_follow, "follow")
TODO(cmd_stream_setup, "stream setup")
TODO(cmd_stream_cleanup, "stream cleanup")
TODO(cmd_stream_prune, "stream prune")
TODO(cmd_stream_receive, "stream receive")
TODO(cmd_stream_apply, "stream apply")
TODO(cmd_stream_replay, "stream replay")
TODO(cmd_sentinel_setup, "stream sentinel setup")
TODO(cmd_sentinel_get, "stream sentinel get")
TODO(cmd_sentinel_set_startpos, "stream sentinel set startpos")
TODO(cmd_sentinel_set_endpos, "stream sentinel set endpos")
TODO(cmd_sentinel_set_apply, "stream sentinel set apply")
