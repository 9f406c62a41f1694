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
#include "cli/options.h"
#include "pg/pg.h"
#include "state/state.h"

/*
 * On the target while a clone runs, dropped when it ends well: one row per
 * copied part, inserted in the part's own transaction. Unlike a saved xid
 * (which a crashed target may hand out again), it says exactly which parts
 * committed.
 */
#define CLONE_PROGRESS_SCHEMA "pgshift_progress"
#define CLONE_PROGRESS_TABLE  "pgshift_progress.copied"

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
	bool resumed_done;
};

typedef struct TableStats
{
	double copy_seconds; /* sum over parts */
	double copy_start;
	double copy_end;
	int64_t bytes;
	int64_t rows;
	int nindexes;
	double index_seconds;
	double vacuum_seconds;
} TableStats;

typedef struct CloneRun CloneRun;

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
	Options *opts;
	WorkDir wd;
	StateDb *state;
	Catalog cat;
	PgConn snap_conn; /* holds the exported snapshot for the whole run */
	char *snapshot;
	char *target_db;
	int source_version;
	int target_version;
	bool frozen_ok; /* COPY FREEZE allowed */
	bool binary_ok; /* binary COPY for tables of built-in types */
	Graph graph;
	TableStats *tstats; /* parallel to cat.tables */
	int64_t progress_bytes;
	double t_start;
	/* step timings (seconds) */
	double t_catalog, t_dump, t_predata, t_data, t_sequences, t_postdata, t_roles, t_total;
	double cum_copy, cum_index, cum_vacuum, cum_blobs;
	int64_t lo_copied;
	StrList failures; /* one line per failed object */
	bool schema_failed;
	bool started; /* the run is recorded in state.db (resume/restart from now on) */
	bool partial; /* a `copy ...` step command: continues the directory's run */
	/* --filters */
	Filters filters;
	uint32_t *skip_oids; /* objects depending on excluded tables */
	int nskip_oids;
	StrList skip_names; /* "schema.name" of excluded relations, for COMMENT/ACL entries */
	StrList skip_schemas;
	StrList all_schemas; /* the source's schemas, to read pg_restore -l lines */
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

/* Runs the given steps of a clone; returns an ExitCode. */
int clone_main(Options *opts, int steps);
/* The checks clone runs before changing anything (privileges, empty target). */
int clone_precheck(Options *opts);
/* Same, in a work directory and state.db the caller opened (clone --follow). */
int clone_main_in(Options *opts, int steps, WorkDir *wd, StateDb *state);

/* ---- plan.c ---- */
/* The split rule's settings from the options (the rule: catalog/split.c). */
SplitSpec plan_split_spec(const Options *opts);
/* Builds the task graph for the steps. */
void plan_build(CloneRun *run, int steps);
void graph_free(Graph *g);
/* Marks tasks already done in state.db (resume) and cleans in-flight ones. */
bool plan_apply_resume(CloneRun *run, PgConn *target);

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
/* records a task's status (running, done, failed, queued) in state.db */
void state_task_update(CloneRun *run, const Task *t, const char *status, const char *worker);
const char *task_kind_name(TaskKind k);
char *task_label(const Task *t); /* malloc'd */
const char *task_status_name(TaskStatus s);

/* ---- tasks.c ---- */
typedef struct Worker
{
	CloneRun *run;
	PoolKind pool;
	int num;
	char role[32];
	PgConn src;
	PgConn dst;
	bool src_ok;
	bool dst_ok;
} Worker;

bool task_execute(Worker *w, Task *t);
void worker_close(Worker *w);
/* Opens a source connection inside the run's snapshot. */
bool clone_source_connect(CloneRun *run, PgConn *c, const char *app);

/* ---- sequences / blobs / db properties (steps.c) ---- */
bool clone_copy_sequences(CloneRun *run, PgConn *target);
bool clone_copy_db_properties(CloneRun *run, PgConn *target);

/* ---- schema steps as commands (clone.c, schema_steps.c) ---- */
enum
{
	SCHEMA_CMD_DUMP = 1 << 0,
	SCHEMA_CMD_RESTORE_PRE = 1 << 1,
	SCHEMA_CMD_RESTORE_POST = 1 << 2,
	SCHEMA_CMD_PARSE_LIST = 1 << 3,
	SCHEMA_CMD_EXTENSIONS = 1 << 4
};
int clone_schema_command(Options *opts, int what);
/* pg_dumpall --roles-only on the source, replayed on the target (--roles). */
bool clone_copy_roles(const Options *opts, const WorkDir *wd);

/* ---- summary (src/report) ---- */
void report_summary(CloneRun *run, bool print);

#endif /* PGSHIFT_CLONE_H */
