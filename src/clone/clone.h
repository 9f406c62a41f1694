/*
 * src/clone/clone.h — the clone: snapshot, schema, task graph, workers, summary.
 *
 * The task graph (plan.c) holds every unit of work with its dependencies:
 *   COPY part ──► (all parts of the table) ──► INDEX ──► CONSTRAINT (USING INDEX)
 *                                     └────► EXCLUDE constraint
 *   all INDEX/CONSTRAINT of a table ──► VACUUM/ANALYZE
 *   all INDEX/CONSTRAINT of both tables ──► FOREIGN KEY
 *   BLOBS batches: no dependencies
 * Pools of worker threads (sched.c) take ready tasks of their kind, biggest
 * first. Every status change is written to state.db, keyed by
 * (kind, object oid, part), which is what --resume and `list progress` read.
 */
#ifndef PGSHIFT_CLONE_H
#define PGSHIFT_CLONE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "core/core.h"
#include "pg/pg.h"
#include "schema/schema.h"
#include "state/state.h"

/*
 * On the target while a clone runs, dropped when it ends well: one row per
 * copied part, inserted in the part's own transaction. Unlike a saved xid
 * (which a crashed target may hand out again), it says exactly which parts
 * committed.
 */
#define CLONE_PROGRESS_SCHEMA "pgshift_progress"
#define CLONE_PROGRESS_TABLE  "pgshift_progress.copied"

typedef struct CloneRun CloneRun;

/* The end-of-run summary, written by a layer above (report/): see CloneSpec. */
typedef void (*CloneSummaryFn)(const CloneRun *run, bool print);

/*
 * What a clone needs to know, built by the command line from its options
 * (cli/cmd_clone.c): the strings are borrowed and must outlive the run.
 */
typedef struct CloneSpec
{
	/* connections and work directory */
	const char *source;
	const char *target;
	const char *dir;
	/* parallelism */
	int table_jobs;
	int index_jobs;
	int restore_jobs;          /* pg_restore --jobs */
	bool estimate_table_sizes; /* sizes from pg_class.relpages, not pg_relation_size() */
	int lo_jobs;
	SplitSpec split;      /* the split rule's settings (catalog/split.c) */
	bool use_copy_binary; /* binary COPY even across major versions */
	bool no_copy_binary;
	/* snapshot and resume */
	const char *snapshot; /* --snapshot, or NULL: export one */
	bool not_consistent;
	bool resume;
	bool restart;
	/* schema: what pg_restore leaves out, what the archive lists skip */
	bool drop_if_exists;      /* drop the objects to copy on the target first */
	bool no_owner;            /* pg_restore --no-owner, ... */
	bool no_acl;              /* --no-acl */
	bool no_comments;         /* --no-comments */
	bool no_tablespaces;      /* --no-tablespaces */
	bool skip_extensions;     /* EXTENSION entries (and their comments) skipped */
	bool skip_collations;     /* COLLATION entries skipped */
	bool skip_ext_comments;   /* COMMENT ON EXTENSION entries skipped */
	bool skip_publications;   /* PUBLICATION entries (and their tables, comments) skipped */
	int restore_tolerance;    /* objects pg_restore may fail on (each logged) */
	const char *requirements; /* JSON file: extension versions to create, or NULL */
	bool skip_db_properties;  /* no ALTER DATABASE ... SET */
	bool roles;               /* pg_dumpall --roles-only replayed first */
	bool no_role_passwords;   /* ... without the passwords */
	/* steps */
	bool skip_large_objects; /* neither their metadata nor their contents */
	bool skip_vacuum;
	bool skip_analyze;
	bool recompress_toast;  /* no sampling for incompressible columns */
	bool fail_fast;         /* stop the run at the first failed task */
	const char *filters;    /* --filters file, or NULL */
	bool quiet;             /* no summary table, no progress line */
	CloneSummaryFn summary; /* called once the task graph ran; NULL: none */
} CloneSpec;

typedef enum TaskKind
{
	TASK_COPY = 0,
	TASK_INDEX,
	TASK_CONSTRAINT, /* primary key / unique USING INDEX, or exclusion */
	TASK_FKEY,
	TASK_VACUUM,
	TASK_BLOBS,
	TASK_MATVIEW, /* REFRESH MATERIALIZED VIEW, once every table is copied */
	TASK_NKINDS
} TaskKind;

typedef enum PoolKind
{
	POOL_COPY = 0, /* COPY parts, VACUUM */
	POOL_INDEX,    /* indexes, constraints, foreign keys */
	POOL_BLOB,     /* large objects */
	POOL_NPOOLS
} PoolKind;

typedef enum TaskStatus
{
	TS_WAITING = 0, /* dependencies not done */
	TS_READY,
	TS_RUNNING,
	TS_DONE,
	TS_FAILED,
	TS_SKIPPED /* a dependency failed */
} TaskStatus;

typedef struct Task Task;
struct Task
{
	int id;
	TaskKind kind;
	PoolKind pool;
	CatTable *table;
	CatIndex *index;
	CatFkey *fkey;
	CatLoBatch *lob;
	Oid mv_oid;                   /* TASK_MATVIEW: the source's materialized view */
	const char *mv_name;          /* TASK_MATVIEW: quoted schema.name */
	int part;                     /* COPY: 0-based part number */
	int nparts;                   /* COPY: parts of the table */
	int64_t min_block, max_block; /* COPY of a split table: [min, max) blocks; max -1 = end */
	double cost;                  /* estimated seconds of one core (plan.c) */
	int64_t priority;             /* rank: cost plus the longest chain waiting for it, in us */
	int spare;                    /* index builds: job slots left idle when it started */
	bool filler;                  /* finishing work kept back to fill the run's serial end */
	bool finishing;               /* COPY: rows streamed, its transaction not committed yet */
	Task **folded;                /* COPY: finishing work claimed to commit with the rows */
	int nfolded;
	bool claimed;          /* run by a copy in its transaction, not by a session of its own */
	double folded_seconds; /* COPY: time spent on the claimed work */
	/*
	 * Tables the task locks on the target in a mode that makes other tasks
	 * wait (a partitioned table's partitions included): a shared lock (index
	 * builds, SHARE) waits only for the exclusive ones (foreign keys, VACUUM,
	 * ADD CONSTRAINT), which wait for everything on their tables.
	 */
	Oid *lock_oids;
	int nlock_oids;
	bool lock_shared;
	TaskStatus status;
	int ndeps_left;
	Task **dependents;
	int ndependents;
	int cap_dependents;
	/* results */
	double started;
	double duration;
	int64_t bytes;
	int64_t rows;
	char *error;
	char *sql;
};

typedef struct Graph
{
	Task **tasks;
	int ntasks;
	int cap;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int unfinished;
	bool stop;
	int nfailed;
	int max_running;    /* copy + index sessions at once: copy workers help below it */
	Task **running_buf; /* graph_take's list of running tasks (sched_run owns it) */
	double filler_left; /* estimated seconds of fillers not started yet */
	double reserve;     /* fillers kept back while copies remain */
} Graph;

struct CloneRun
{
	const CloneSpec *spec;
	WorkDir wd;
	StateDb *state;
	Catalog cat;
	PgConn snap_conn; /* holds the exported snapshot for the whole run */
	char *snapshot;
	char *target_db;
	int source_version;
	int target_version;
	PgFeatures source; /* what each server offers (pg/version.c) */
	PgFeatures target;
	bool frozen_ok; /* COPY FREEZE allowed */
	bool binary_ok; /* binary COPY for tables of built-in types */
	Graph graph;
	int64_t progress_bytes;
	double t_start;
	/* step timings (seconds) */
	double t_catalog, t_dump, t_predata, t_data, t_sequences, t_postdata, t_total;
	StrList failures; /* one line per failed object */
	bool started;     /* the run is recorded in state.db (resume/restart from now on) */
	bool partial;     /* a `copy ...` step command: continues the directory's run */
	Filters filters;  /* --filters */
	TocFilter toc;    /* what the archive lists leave out (schema/toc_filter.c) */
	bool tolerate_existing;
	/* populated materialized views refreshed by the task graph, in dump order */
	Oid *mv_oids;
	char **mv_names; /* quoted schema.name */
	int nmatviews;
};

/* Steps a command runs. */
enum
{
	STEP_SCHEMA_PRE = 1 << 0,
	STEP_TABLE_DATA = 1 << 1,
	STEP_INDEXES = 1 << 2,
	STEP_CONSTRAINTS = 1 << 3,
	STEP_SEQUENCES = 1 << 4,
	STEP_BLOBS = 1 << 5,
	STEP_SCHEMA_POST = 1 << 6,
	STEP_VACUUM = 1 << 7,
	STEP_ROLES = 1 << 8,
	STEP_DB_PROPS = 1 << 9,
	STEP_ALL = 0x3ff
};

/*
 * The entry points below expect the command line to have checked that
 * --source and --target are given where the steps need them.
 */

/* ---- clone.c ---- */
/* Runs the given steps of a clone. */
ExitCode clone_main(const CloneSpec *spec, int steps);
/* The checks clone runs before changing anything (privileges, empty target). */
ExitCode clone_precheck(const CloneSpec *spec);
/* Same, in a work directory and state.db the caller opened (clone --follow). */
ExitCode clone_main_in(const CloneSpec *spec, int steps, WorkDir *wd, StateDb *state);

/* ---- plan.c ---- */
/* Builds the task graph for the steps. */
void plan_build(CloneRun *run, int steps);
void graph_free(Graph *g);
/* Marks tasks already done in state.db (resume) and cleans in-flight ones. */
bool plan_apply_resume(CloneRun *run, PgConn *target);
/* Records every task of the graph in state.db (queued, or done already). */
bool plan_record_tasks(CloneRun *run);
/* Records a task's change of status in state.db (TS_RUNNING, TS_DONE, TS_FAILED, TS_WAITING). */
void task_record(CloneRun *run, const Task *t, TaskStatus status, const char *worker);
const char *task_kind_name(TaskKind k);
char *task_label(const Task *t); /* malloc'd */

/* ---- sched.c ---- */
/* Runs the graph with the pools; returns when every task finished or stopped. */
bool sched_run(CloneRun *run);
/* Would tasks a and b wait for each other's table locks on the target? */
bool tasks_conflict(const Task *a, const Task *b);
bool task_locks(const Task *t, Oid oid); /* is oid among the tables it locks? */
void sched_reserve(Graph *g);
void graph_claim_finishing(CloneRun *run, Task *copy, bool analyze, const Oid *fkeys, int nfkeys);
void graph_unclaim(CloneRun *run, Task *copy, const Task *only);
void graph_finish_claimed(CloneRun *run, Task *copy, const char *worker);

/* ---- tasks.c: what a task does on the servers (called by sched.c only) ---- */
typedef struct Worker
{
	CloneRun *run;
	PoolKind pool;
	char role[32];
	PgConn src;
	PgConn dst;
	bool src_ok;
	bool dst_ok;
} Worker;

/* Runs one task other than a COPY; false when it failed (t->error says why). */
bool task_execute(Worker *w, Task *t);
void worker_close(Worker *w);
/*
 * After a failed attempt: did it fail because a session of the worker lost
 * its connection (SQLSTATE class 08, server shutting down or starting)? Then
 * a new attempt on new sessions may succeed. *why: the error (static or the
 * connection's, valid until the next query).
 */
bool task_lost_connection(Worker *w, const char **why);
/*
 * After a COPY part failed on a lost connection: is its progress row on the
 * target anyway (the COMMIT went through, its answer was lost)? Connects.
 */
bool copy_committed(Worker *w, Task *t);

/*
 * A COPY part runs in phases the scheduler settles between (sched.c):
 * copy_rows streams the rows into an open target transaction (rolled back on
 * failure); for a single part loaded WITH (FREEZE), copy_ask_finishing tells
 * what of the table's finishing work may commit with the rows and
 * copy_fold_foreign_keys runs the foreign keys claimed; copy_commit commits
 * (copy_abort rolls back instead); copy_analyze runs the claimed ANALYZE.
 */
bool copy_rows(Worker *w, Task *t);
typedef struct CopyFinishing
{
	bool analyze; /* ANALYZE may run before the indexes are built */
	Oid *fkeys;   /* foreign keys no index of the table leads with (malloc'd) */
	int nfkeys;
} CopyFinishing;
void copy_ask_finishing(Worker *w, const Task *t, CopyFinishing *out);
/* *gave_back: the claimed work was rolled back and must be unclaimed. */
bool copy_fold_foreign_keys(Worker *w, Task *t, bool *gave_back);
bool copy_commit(Worker *w, Task *t);
void copy_abort(Worker *w, Task *t);
/* The claimed ANALYZE that failed (to unclaim), or NULL. */
Task *copy_analyze(Worker *w, Task *t);

/* ---- sequences / db properties (steps.c) ---- */
bool clone_copy_sequences(CloneRun *run, PgConn *target);
bool clone_copy_db_properties(CloneRun *run, PgConn *target);

/* ---- schema steps (schema_steps.c) ---- */
/* pg_dump of the source into the work directory, in the run's snapshot. */
bool clone_dump_schema(CloneRun *run, const char *dumpfile);
/* A section restored with the filtered archive list; clean: --drop-if-exists first. */
bool clone_restore_section(CloneRun *run, const char *dumpfile, const char *section, bool clean);
/* What the filters leave out besides the tables: everything depending on them. */
bool clone_filter_dependents(CloneRun *run);
/* The populated materialized views the task graph refreshes (run->mv_*). */
void clone_plan_matviews(CloneRun *run, const char *dumpfile);
/* The archive lists' filter, from the run's filters and skip options. */
void clone_toc_filter_init(CloneRun *run);
/* Frees what a run's schema steps hold (filters, lists, materialized views). */
void clone_schema_free(CloneRun *run);

/* The schema steps as commands of their own (dump schema, restore ..., copy extensions). */
enum
{
	SCHEMA_CMD_DUMP = 1 << 0,
	SCHEMA_CMD_RESTORE_PRE = 1 << 1,
	SCHEMA_CMD_RESTORE_POST = 1 << 2,
	SCHEMA_CMD_PARSE_LIST = 1 << 3,
	SCHEMA_CMD_EXTENSIONS = 1 << 4,
	SCHEMA_CMD_DUMP_ROLES = 1 << 5,
	SCHEMA_CMD_RESTORE_ROLES = 1 << 6
};
/* Needs --source when it dumps or filters, --target when it restores. */
ExitCode clone_schema_command(const CloneSpec *spec, int what);

/* ---- roles (roles.c) ---- */
/* pg_dumpall --roles-only on the source, replayed on the target (--roles). */
bool clone_copy_roles(const CloneSpec *spec, const WorkDir *wd);
/* dump roles, restore roles, copy roles (SCHEMA_CMD_DUMP_ROLES, SCHEMA_CMD_RESTORE_ROLES). */
ExitCode clone_roles_command(const CloneSpec *spec, int what);

/* ---- requirements.c ---- */
/*
 * --requirements: before (the pre-data section), creates the extensions
 * listed at their version; after, updates those pg_restore created. True
 * when there is no requirements file. Extensions the filters exclude (and
 * all with --skip-extensions) are left alone.
 */
bool clone_requirements(const CloneSpec *spec, const Filters *filters, bool before);

#endif /* PGSHIFT_CLONE_H */
