/*
 * src/cdc/decode_stream.h — pgoutput streaming of in-progress transactions
 * (protocol version 2, PostgreSQL 14+), receiver side. See decode_stream.c.
 */
#ifndef PGSHIFT_CDC_DECODE_STREAM_H
#define PGSHIFT_CDC_DECODE_STREAM_H

#include "cdc/cdc.h"

#include <stdio.h>

/* Length of the Commit message stream_spool_take builds from a Stream Commit. */
#define STREAM_COMMIT_MSG_LEN 26

/* Writes one message into the journal (a JF_DATA frame at lsn). */
typedef bool (*StreamEmitFn)(void *arg, const char *data, uint32_t len, Lsn lsn);

typedef struct StreamAbort
{
	uint32_t xid;
	uint32_t subxid;
} StreamAbort;

typedef struct StreamSpool
{
	char *dir;            /* the journal directory, NULL: not in use */
	uint32_t xid;         /* transaction of the open stream block, 0 outside one */
	FILE *f;              /* its spool file (buffered), NULL outside a block */
	StreamAbort *aborted; /* subtransactions aborted inside streamed transactions */
	int naborted;
	int capaborted;
	int64_t spooled;   /* bytes spooled since the start */
	int64_t committed; /* streamed transactions committed / aborted */
	int64_t aborts;
} StreamSpool;

typedef enum StreamResult
{
	STREAM_NOT_MINE, /* not a streaming message: the caller handles it */
	STREAM_CONSUMED, /* spooled (or a block boundary, an abort): nothing more to do */
	STREAM_COMMIT,   /* the transaction's changes are in the journal; commit_msg holds
					  * the Commit message for the caller to write as usual */
	STREAM_FAILED    /* a spool or journal write failed (logged) */
} StreamResult;

/* Starts with no spool files in dir (those of an earlier run are re-sent). */
void stream_spool_init(StreamSpool *s, const char *dir);
void stream_spool_close(StreamSpool *s);
StreamResult stream_spool_take(StreamSpool *s, const char *msg, uint32_t len, Lsn wal_start,
							   StreamEmitFn emit, void *arg,
							   char commit_msg[STREAM_COMMIT_MSG_LEN]);
/* Removes every spool file of dir (stream cleanup). */
void stream_spool_remove_all(const char *dir);

#endif /* PGSHIFT_CDC_DECODE_STREAM_H */
