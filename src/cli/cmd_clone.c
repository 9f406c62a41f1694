/*
 * src/cli/cmd_clone.c — clone/fork and the `copy` steps, all on clone_main().
 */
#include "cli/cli.h"
#include "clone/clone.h"

int
cmd_copy_db(Options *opts)
{
	return cmd_clone(opts);
}

int
cmd_copy_schema(Options *opts)
{
	return clone_main(opts, STEP_SCHEMA_PRE | STEP_SCHEMA_POST | STEP_DB_PROPS);
}

int
cmd_copy_data(Options *opts)
{
	return clone_main(opts, STEP_TABLE_DATA | STEP_INDEXES | STEP_CONSTRAINTS | STEP_SEQUENCES |
			STEP_BLOBS | STEP_VACUUM);
}

int
cmd_copy_table_data(Options *opts)
{
	return clone_main(opts, STEP_TABLE_DATA);
}

int
cmd_copy_sequences(Options *opts)
{
	return clone_main(opts, STEP_SEQUENCES);
}

int
cmd_copy_indexes(Options *opts)
{
	return clone_main(opts, STEP_INDEXES);
}

int
cmd_copy_constraints(Options *opts)
{
	return clone_main(opts, STEP_CONSTRAINTS);
}

int
cmd_copy_blobs(Options *opts)
{
	return clone_main(opts, STEP_BLOBS);
}
