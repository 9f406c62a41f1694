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

/*
 * copy schema + copy data = clone. The schema step is the pre-data section
 * (and the database settings): what must exist before rows go in. The
 * post-data section (triggers, rules, policies, the keys and indexes pgshift
 * does not build) comes with copy data, once the rows are in: triggers must
 * not fire on the copy, and foreign keys are checked once.
 */
int
cmd_copy_schema(Options *opts)
{
	return clone_main(opts, STEP_SCHEMA_PRE | STEP_DB_PROPS);
}

int
cmd_copy_data(Options *opts)
{
	return clone_main(opts, STEP_TABLE_DATA | STEP_INDEXES | STEP_CONSTRAINTS | STEP_SEQUENCES |
								STEP_BLOBS | STEP_VACUUM | STEP_SCHEMA_POST);
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
