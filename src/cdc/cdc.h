/*
 * src/cdc/cdc.h — change data capture: slot, journal, receiver, decoder, applier.
 *
 *   source ──START_REPLICATION (pgoutput | test_decoding | wal2json)──► receiver thread
 *     receiver ──frames (LSN, kind, payload, CRC)──► cdc/NNNNNNNNNN.journal, fsync'd
 *     (the receiver marks the frame that ends each transaction: JF_COMMIT)
 *     flush position reported to the source = end of the last commit on disk
 *   journal ──► decoder ──► applier ──pipelined prepared statements──► target
 *     each source transaction = one target transaction under
 *     pg_replication_origin_xact_setup(end_lsn): exactly once across crashes
 *
 * Positions live in state.db's sentinel row (state/sentinel.c: startpos,
 * endpos, apply, write/flush/replay LSN), which `stream sentinel` reads and
 * writes from another shell while the follower (cdc/follow.c) runs.
 */
#ifndef PGSHIFT_CDC_H
#define PGSHIFT_CDC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "pg/pg.h"
#include "state/state.h"

typedef uint64_t Lsn;
#define LSN_INVALID ((Lsn) 0)

/* "16/B374D848" <-> Lsn */
bool lsn_parse(const char *s, Lsn *out);
void lsn_format(Lsn lsn, char *buf, size_t size);

/* ---- plugins ---- */
typedef enum CdcPlugin
{
	CDC_PLUGIN_PGOUTPUT,
	CDC_PLUGIN_TEST_DECODING,
	CDC_PLUGIN_WAL2JSON
} CdcPlugin;

/* What one plugin message is to the receiver. */
typedef enum CdcFrameRole
{
	CDC_ROLE_CHANGE,  /* anything inside a transaction */
	CDC_ROLE_BEGIN,   /* opens a transaction */
	CDC_ROLE_COMMIT,  /* ends one: *end_lsn and *commit_lsn set */
	CDC_ROLE_RELATION /* pgoutput Relation message: repeated at each segment's start */
} CdcFrameRole;

/* "pgoutput", "test_decoding", "wal2json"; false (logged, naming the three) otherwise. */
bool cdc_plugin_parse(const char *name, CdcPlugin *out);
const char *cdc_plugin_name(CdcPlugin p);
/* pgoutput: reads a publication, which lists the tables (and --filters). */
bool cdc_plugin_uses_publication(CdcPlugin p);
/*
 * pgoutput: its messages say which columns are the key and leave generated
 * columns out. The others: the applier asks the target.
 */
bool cdc_plugin_describes_keys(CdcPlugin p);
/* false for test_decoding: its BEGIN does not say where the transaction commits. */
bool cdc_plugin_begin_knows_commit(CdcPlugin p);
/*
 * true for test_decoding: the commit LSN it gives is the commit record's end,
 * not its start (so a commit "at" the end position is past it only if later).
 */
bool cdc_plugin_commit_lsn_is_end(CdcPlugin p);
/* BEGIN, COMMIT (with its LSNs), Relation, or another message. */
CdcFrameRole cdc_plugin_frame_role(CdcPlugin p, const char *msg, uint32_t len, Lsn wal_start,
								   Lsn *commit_lsn, Lsn *end_lsn);
/*
 * START_REPLICATION SLOT slot LOGICAL start (the plugin's options) on a
 * replication connection; true once in COPY BOTH mode (logged otherwise).
 */
bool cdc_plugin_start(PgConn *c, CdcPlugin p, const char *slot, Lsn start, const char *publication);

/* ---- journal ---- */
typedef enum JournalKind
{
	JF_DATA = 'w',      /* one plugin message (XLogData payload) */
	JF_COMMIT = 'c',    /* the plugin message that ends a transaction */
	JF_KEEPALIVE = 'k', /* no transaction open and the stream is at this LSN */
	JF_HEADER = 'h'     /* first frame of every segment: the format version */
} JournalKind;

typedef struct JournalFrame
{
	/*
	 * JF_DATA: wal_start of the message. JF_COMMIT and JF_KEEPALIVE: the
	 * position everything before is in the journal up to (end of the commit
	 * record; the keepalive's position): where streaming resumes.
	 */
	Lsn lsn;
	char kind;    /* JournalKind */
	uint32_t len; /* payload length */
	char *data;   /* payload (owned by the reader's buffer) */
} JournalFrame;

typedef struct JournalWriter
{
	char *dir;
	int fd;
	uint32_t segno;
	int64_t seg_bytes;
	int64_t segment_max; /* rotate past this many bytes ... */
	int64_t seg_header;  /* ... besides these, written at the segment's start */
	int64_t unsynced;
	double last_sync;
} JournalWriter;

/* Opens for append after the last complete frame (a torn tail is cut off). */
bool journal_writer_open(JournalWriter *w, const char *dir, Lsn *last_lsn, Lsn *last_commit_end);
bool journal_write(JournalWriter *w, char kind, Lsn lsn, const char *data, uint32_t len);
bool journal_sync(JournalWriter *w);
/* Starts a new segment (call at a transaction boundary). */
bool journal_rotate(JournalWriter *w);
void journal_writer_close(JournalWriter *w);

typedef struct JournalReader
{
	char *dir;
	int fd;
	uint32_t segno;
	int64_t offset;
	int64_t last_offset; /* where the frame just read started */
	char *buf;
	uint32_t bufcap;
	/* journal_peek_commit: how far it looked from where, to go on from there */
	uint32_t peek_from_segno;
	int64_t peek_from_offset;
	uint32_t peek_segno;
	int64_t peek_offset;
} JournalReader;

bool journal_reader_open(JournalReader *r, const char *dir);
/*
 * Next complete frame: 1 = frame, 0 = nothing more for now (end of the last
 * segment, or an incomplete frame being written), -1 = corruption.
 */
int journal_read(JournalReader *r, JournalFrame *f);
/*
 * Looks ahead, without moving the reader, for the JF_COMMIT frame that ends
 * the transaction just read: 1 found (*commit_end set), 0 not in the journal
 * yet, -1 damage.
 */
int journal_peek_commit(JournalReader *r, Lsn *commit_end);
/* Steps back over the frame just read (to read it again). */
void journal_unread(JournalReader *r);
/* Removes every segment numbered below before. */
void journal_prune(const char *dir, uint32_t before);
/* Adds the path of every segment on disk numbered below before to out (UINT32_MAX: all). */
void journal_segments_below(const char *dir, uint32_t before, StrList *out);
void journal_reader_close(JournalReader *r);
/* Removes every segment in dir. */
bool journal_remove_all(const char *dir);

/* ---- decoded changes ---- */
typedef enum CdcKind
{
	CDC_NONE = 0,
	CDC_BEGIN,
	CDC_COMMIT,
	CDC_RELATION,
	CDC_INSERT,
	CDC_UPDATE,
	CDC_DELETE,
	CDC_TRUNCATE,
	CDC_SKIP,  /* type, message, ...: nothing to apply */
	CDC_ORIGIN /* pgoutput: the transaction was applied on the source by a replication */
} CdcKind;

typedef struct CdcColumn
{
	char *name;
	uint32_t typoid;
	bool key;
} CdcColumn;

typedef struct CdcRelation
{
	uint32_t relid;
	char *nspname;
	char *relname;
	char *qname;
	char replident; /* 'd' default, 'n' nothing, 'f' full, 'i' index */
	int ncols;
	CdcColumn *cols;
	int version;         /* bumped when the definition changes */
	void *stmts;         /* applier's prepared statement cache */
	bool keys_looked_up; /* test_decoding, wal2json: key columns taken from the target */
	signed char kept;    /* no publication, --filters: 1 applied, -1 left out, 0 unknown */
} CdcRelation;

typedef struct CdcTuple
{
	int ncols;
	char *kinds;         /* 'n' null, 'u' unchanged TOAST, 't' text */
	const char **values; /* NUL-terminated text, NULL for 'n' and 'u' */
	size_t *offsets;     /* into store */
	char *store;
	size_t storelen;
	size_t storecap;
	int cap;
} CdcTuple;

typedef struct CdcMessage
{
	CdcKind kind;
	uint32_t xid;
	Lsn final_lsn;     /* BEGIN: the commit record's LSN */
	Lsn commit_lsn;    /* COMMIT */
	Lsn end_lsn;       /* COMMIT: end of the commit record */
	int64_t commit_ts; /* microseconds since 2000-01-01 */
	CdcRelation *rel;  /* INSERT/UPDATE/DELETE/RELATION */
	char old_kind;     /* UPDATE/DELETE: 'K' key, 'O' old row, 0 none */
	CdcTuple oldtup;
	CdcTuple newtup;
	int ntrunc;
	CdcRelation **trunc_rels;
	int trunc_cap;
	uint8_t trunc_flags; /* 1 cascade, 2 restart identity */
} CdcMessage;

typedef struct CdcDecoder
{
	CdcPlugin plugin;
	CdcRelation **rels; /* relid cache (pgoutput) or name cache (the others) */
	int nrels;
	int caprels;
	void *json; /* wal2json: the parser's token array, reused */
	/*
	 * test_decoding, wal2json: the column names of a relation whose messages
	 * do not name them all (first seen in a DELETE; wal2json leaves unchanged
	 * TOAST columns out), in attribute order (false on error, logged). May be
	 * NULL.
	 */
	bool (*columns)(void *arg, CdcRelation *r, StrList *names);
	void *columns_arg;
} CdcDecoder;

void decoder_init(CdcDecoder *d, CdcPlugin plugin);
void decoder_free(CdcDecoder *d);
void message_free(CdcMessage *m);
/* Decodes one plugin message; false on a malformed message (logged). */
bool decoder_decode(CdcDecoder *d, const char *data, uint32_t len, Lsn wal_start, CdcMessage *m);

/* ---- setup, receiver, applier ---- */
typedef enum CdcDdlErrors
{
	CDC_DDL_STOP = 0, /* stop the follower before the transaction (exit code 14) */
	CDC_DDL_SKIP,     /* leave the statement out, with a warning */
	CDC_DDL_LOG       /* leave it out, warn, and append it to <dir>/cdc/ddl-skipped.sql */
} CdcDdlErrors;

/* "stop", "skip", "log"; false (logged) otherwise. */
bool cdc_ddl_errors_parse(const char *s, CdcDdlErrors *out);

typedef struct CdcOptions
{
	const char *source;
	const char *target;
	const char *slot;
	const char *origin;
	const char *publication;
	CdcPlugin plugin;
	const char *journal_dir;
	StateDb *state;
	const StrList *tables; /* --filters: the tables to publish ("nsp"."rel"), else NULL */
	/*
	 * --filters: every table whose changes are applied, partitions included
	 * (test_decoding decodes every table of the database), else NULL
	 */
	const StrList *applied_tables;
	const struct Filters *filters; /* --filters, loaded, else NULL */
	double retry_timeout;          /* seconds the receiver and applier reconnect for; 0: forever */
	int64_t journal_min_free;      /* bytes free under which receiving pauses; -1: default */
	bool ddl;                      /* --ddl: capture DDL on the source, replay it (ddl_setup.c) */
	CdcDdlErrors ddl_errors;       /* --ddl-errors: what to do with DDL that cannot be replayed */
	/*
	 * --local-only (pgoutput): skip the transactions that carry a replication
	 * origin (applied on the source by a replication, e.g. the forward
	 * follower before a cutover --reverse): no change loops back
	 */
	bool local_only;
} CdcOptions;

/*
 * With --filters: the tables the filters f keep, for the publication (out:
 * partitions through their parent) and for the applier (applied: partitions
 * too), read from the source; false on error.
 */
struct Filters;
bool cdc_filtered_tables(const char *source, const struct Filters *f, StrList *out,
						 StrList *applied);

typedef struct CdcSlot
{
	PgConn repl; /* replication connection holding the exported snapshot */
	char *snapshot;
	Lsn consistent_lsn;
	bool adopted; /* made earlier in this work directory: another process holds the snapshot */
} CdcSlot;

/* What cdc_setup creates besides the publication (pgoutput), made when missing. */
enum
{
	CDC_SETUP_ORIGIN = 1 << 0,    /* the replication origin on the target */
	CDC_SETUP_SLOT = 1 << 1,      /* the slot (EXPORT_SNAPSHOT): refused if it exists ... */
	CDC_SETUP_ADOPT_SLOT = 1 << 2 /* ... unless this work directory made it: then used */
};

/*
 * Checks the source, then creates what steps asks for: the origin on the
 * target first, then the publication, then the slot (*slot: its snapshot and
 * consistent point). On failure, what this call created is dropped again.
 */
bool cdc_setup(const CdcOptions *co, CdcSlot *slot, int steps, int *exit_code);
bool cdc_cleanup(const CdcOptions *co);
/*
 * --ddl (ddl_setup.c): the source role must be a superuser (event
 * triggers); false (logged, with what to do) otherwise.
 */
bool cdc_ddl_check(PgConn *src, int *exit_code);
/*
 * Installs the capture on the source (schema pgshift: table ddl_log, the
 * event trigger function, the event triggers) and puts pgshift.ddl_log in
 * the publication when it lists its tables. Before the slot.
 */
bool cdc_ddl_install(const CdcOptions *co, int *exit_code);
/* Removes it from the source, and the copy clone made of it from the target. */
bool cdc_ddl_remove(const CdcOptions *co);
void cdc_slot_close(CdcSlot *slot);

/*
 * Shared between the receiver and applier threads of one process: every
 * field is atomic, read with atomic_load() and written with atomic_store().
 */
typedef struct CdcShared
{
	atomic_int stop;          /* ask both to stop */
	atomic_int receiver_done; /* the receiver exited (endpos reached or error) */
	atomic_int receiver_failed;
	atomic_int applier_failed;
	_Atomic Lsn endpos;       /* 0: none; written by the follower only (cdc/follow.c) */
	atomic_int prefetch;      /* the sentinel's apply is off: no transaction is applied */
	_Atomic Lsn received_lsn; /* receiver: stream position */
	_Atomic Lsn flushed_lsn;
	_Atomic Lsn applied_lsn;
	/*
	 * applier: every transaction up to here is committed on the target (the
	 * last confirmed commit, or a keepalive read with nothing pending); the
	 * follower publishes it for `cutover` (cdc/cutover.c)
	 */
	_Atomic Lsn caught_up_lsn;
	_Atomic double last_commit_ts_lag; /* seconds, applier */
	_Atomic int64_t applied_txns;
	_Atomic int64_t applied_rows;
	atomic_int reconnects_source; /* outages the receiver reconnected after (or tried to) */
	atomic_int reconnects_target; /* ... the applier */
	atomic_int gave_up;           /* --retry-timeout spent on either side */
	atomic_int journal_paused;    /* the receiver waits for disk space (back-pressure) */
	atomic_int schema_changed;    /* applier: stopped on a schema change (EXIT_SCHEMA_CHANGE) */
} CdcShared;

/*
 * Opens the journal for writing: cuts a transaction left incomplete by an
 * earlier run. Done before any reader of the journal starts.
 */
bool cdc_receive_open(const CdcOptions *co, JournalWriter *jw, Lsn *last_commit_end);
/* Runs until stopped (or endpos): the receive loop. Closes jw. */
bool cdc_receive(const CdcOptions *co, CdcShared *sh, Lsn startpos, JournalWriter *jw,
				 Lsn last_commit_end);
/* Applies the journal until endpos; waits for more while the receiver runs. */
bool cdc_apply(const CdcOptions *co, CdcShared *sh);

/* ---- the follower (cdc/follow.c) ---- */
enum
{
	FOLLOW_COPY = 1 << 0,    /* the base copy first, under the new slot's snapshot */
	FOLLOW_RECEIVE = 1 << 1, /* source -> journal (a thread) */
	FOLLOW_APPLY = 1 << 2    /* journal -> target */
};

typedef struct FollowSpec
{
	CdcOptions co;      /* state and journal_dir included */
	int what;           /* FOLLOW_* */
	const char *endpos; /* --endpos (stored in the sentinel), or NULL: the sentinel's */
	bool resume;        /* FOLLOW_COPY: go on with the slot this work directory made */
	bool create_slot;   /* without FOLLOW_COPY: create the slot when missing (--create-slot) */
	int metrics_port;   /* --metrics-port: Prometheus text on 127.0.0.1 (0: none) */
	/*
	 * FOLLOW_COPY: the base copy, done by the caller's layer. copy_check
	 * refuses a target unfit for it before anything is created on the source;
	 * copy_run copies under the given snapshot. Both return an ExitCode.
	 */
	int (*copy_check)(void *arg);
	int (*copy_run)(void *arg, const char *snapshot);
	void *copy_arg;
} FollowSpec;

/* Runs the follower until the end position or an interrupt: an ExitCode. */
int follow_run(const FollowSpec *spec);

/* Sets every sequence of the source (current values) on the target. */
bool cdc_sync_sequences(const CdcOptions *co);

/* ---- the cut-over (cdc/cutover.c) ---- */
typedef enum CutoverFence
{
	CUTOVER_FENCE_BUILTIN, /* ALTER DATABASE ... SET default_transaction_read_only, sessions ended
							*/
	CUTOVER_FENCE_COMMAND, /* --fence-command / --unfence-command */
	CUTOVER_FENCE_NONE     /* the user stopped the writes */
} CutoverFence;

typedef struct CutoverSpec
{
	const char *source;
	const char *target; /* or NULL: needed by --switch-command only */
	const char *dir;
	const char *pid_file;  /* the follower's lock on the work directory */
	const char *json_path; /* <dir>/cutover.json */
	StateDb *state;
	CutoverFence fence;
	const char *fence_command;
	const char *unfence_command;
	const char *switch_command;
	double max_lag; /* seconds */
	double wait;    /* seconds the ready check waits for the lag to go under max_lag */
	double timeout; /* seconds from the fence to the end of the drain */
	/*
	 * --reverse: before the switch, the publication and slot on the target
	 * and the origin on the source, all named CUTOVER_REVERSE_NAME, for a
	 * `follow` from the target back to the source
	 */
	bool reverse;
} CutoverSpec;

#define CUTOVER_REVERSE_NAME "pgshift_reverse"

/*
 * Ready check, fence, drain, switch, report (cdc/cutover.c): EXIT_OK, a
 * refusal before any change (EXIT_PRECONDITION, EXIT_SOURCE...), or
 * EXIT_ABORTED once the fence was attempted and undone.
 */
int cutover_run(const CutoverSpec *spec);

#endif /* PGSHIFT_CDC_H */
