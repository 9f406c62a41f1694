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

TODO(cmd_copy_roles, "copy roles")
TODO(cmd_copy_extensions, "copy extensions")
TODO(cmd_dump_schema, "dump schema")
TODO(cmd_dump_roles, "dump roles")
TODO(cmd_restore_schema, "restore schema")
TODO(cmd_restore_pre_data, "restore pre-data")
TODO(cmd_restore_post_data, "restore post-data")
TODO(cmd_restore_roles, "restore roles")
TODO(cmd_restore_parse_list, "restore parse-list")
