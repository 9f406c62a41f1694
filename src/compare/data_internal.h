/*
 * src/compare/data_internal.h — what compare data's two files share: the job
 * queue and the worker threads (data_worker.c) that data.c plans and starts.
 *
 * Private to src/compare/data*.c.
 */
#ifndef PGSHIFT_COMPARE_DATA_INTERNAL_H
#define PGSHIFT_COMPARE_DATA_INTERNAL_H

#include <pthread.h>

#include "compare/compare.h"

typedef enum JobKind
{
	JOB_PLAN = 0, /* key split: compute the ranges on the source */
	JOB_PART      /* count and checksum one part on both sides */
} JobKind;

typedef struct Job
{
	JobKind kind;
	int table;
	int part;
	int64_t priority;
	int64_t seq; /* order of arrival: first among equals */
} Job;

typedef struct Shared
{
	const CompareSpec *spec;
	CmpDataReport *r;
	const char *src_snapshot;
	const char *tgt_snapshot;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	Job *jobs; /* a max-heap on (priority, -seq) */
	int njobs;
	int capjobs;
	int64_t nextseq;
	int nplanning; /* PLAN jobs running: they may add jobs */
} Shared;

typedef struct CmpWorker
{
	Shared *sh;
	int num;
	char role[32];
	pthread_t thread;
	PgConn src;
	PgConn dst;
	bool src_ok;
	bool dst_ok;
} CmpWorker;

/* Queues a job (under sh->lock, or before the threads start). */
void cmp_push_job(Shared *sh, JobKind kind, int table, int part, int64_t priority);
/* A worker thread: takes jobs until none is left; arg is its CmpWorker. */
void *cmp_worker_main(void *arg);

#endif /* PGSHIFT_COMPARE_DATA_INTERNAL_H */
