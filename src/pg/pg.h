/*
 * src/pg/pg.h — connections, queries, quoting, connection strings, COPY pipe.
 *
 * A PgConn belongs to one thread. Every failure is logged once, where it is
 * seen, with the side ("source"/"target"), and kept in the PgConn as
 * {sqlstate, message} for the caller to classify (pg_error_class).
 */
#ifndef PGSHIFT_PG_H
#define PGSHIFT_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"

#ifndef LIBPQ_HAS_PIPELINING
#error "libpq 14 or later is required (pipeline mode)"
#endif

typedef struct PgConn
{
	PGconn *conn;
	const char *side;  /* "source" or "target": names the server in messages */
	char sqlstate[6];  /* of the last error, "" when none */
	char *errmsg;      /* of the last error (no trailing newline), or NULL */
	PGcancel *cancel;  /* registered for SIGINT/SIGTERM */
	bool quiet_errors; /* caller reports errors itself */
} PgConn;

typedef enum PgErrorClass
{
	PG_ERROR_NONE = 0,
	PG_ERROR_CONNECTION, /* 08xxx, 57P01..03, 57P05: reconnect and retry */
	PG_ERROR_RETRY_TXN,  /* 40001, 40P01: retry the transaction */
	PG_ERROR_RESOURCES,  /* 53xxx: back off */
	PG_ERROR_FATAL       /* anything else */
} PgErrorClass;

/*
 * Connects. conninfo is a URI or keyword/value string; libpq environment
 * variables, .pgpass and service files apply as usual. app is appended to the
 * fallback application_name ("pgshift" or "pgshift-copy-1"). TCP keepalives are
 * on unless the conninfo says otherwise. Connection-class failures (server
 * starting up, too many clients, refused) are retried with backoff for up to
 * retry_seconds. On failure logs "<side>: could not connect: <libpq message>".
 */
bool pg_connect(PgConn *c, const char *conninfo, const char *side, const char *app,
				int retry_seconds);
/* A logical replication connection (replication=database) to the source. */
bool pg_connect_replication(PgConn *c, const char *conninfo, const char *side, const char *app);
void pg_disconnect(PgConn *c);
bool pg_is_connected(const PgConn *c);

/* Runs a statement without result rows. */
bool pg_exec(PgConn *c, const char *sql);
/* Same, with $n text parameters. */
bool pg_exec_params(PgConn *c, const char *sql, int nparams, const char *const *params);
/* Returns a PGRES_TUPLES_OK result (caller PQclear()s it) or NULL on error. */
PGresult *pg_query(PgConn *c, const char *sql, int nparams, const char *const *params);
/* Single value of a one-row query into *out (xstrdup'd; NULL for SQL NULL). */
bool pg_query_value(PgConn *c, const char *sql, int nparams, const char *const *params, char **out);
/* Records and logs the error of a result (or of the connection when res is NULL). */
void pg_set_error(PgConn *c, const PGresult *res, const char *context);
void pg_clear_error(PgConn *c);
/*
 * The one place a SQLSTATE becomes a retry decision (NULL or "": none).
 * Whoever decides to retry, reconnect or back off asks this, never compares
 * SQLSTATEs itself.
 */
PgErrorClass pg_error_class(const char *sqlstate);
/* Worth another attempt: connection, transaction retry or resources class. */
bool pg_error_is_transient(PgErrorClass cls);
/* server_version_num of the server. */
int pg_server_version(const PgConn *c);
/* "PostgreSQL 15.18 (Debian ...)" — SELECT version(). */
char *pg_server_version_string(PgConn *c);

/* ---- what each major offers (version.c: the one place comparing versions) ---- */
typedef struct PgFeatures
{
	int version;                /* server_version_num */
	int major;                  /* 12 .. 18 */
	bool indnkeyatts;           /* 11: pg_index.indnkeyatts (INCLUDE columns) */
	bool column_compression;    /* 14: pg_column_compression() */
	bool progress_copy;         /* 14: pg_stat_progress_copy */
	bool stat_force_next_flush; /* 15: pg_stat_force_next_flush() */
	bool pgoutput_streaming;    /* 14: pgoutput streaming of in-progress transactions */
	int pgoutput_proto;         /* proto_version to ask: 1, 2 from 14 (streaming) */
	bool tgparentid;            /* 13: pg_trigger.tgparentid */
} PgFeatures;
void pg_features_of(int server_version_num, PgFeatures *out);
void pg_features(const PgConn *c, PgFeatures *out);
/* Binary COPY from a server of source_version into one of target_version. */
bool pg_copy_binary_compatible(int source_version, int target_version);

/* ---- cancel: every connected PgConn is registered; SIGINT cancels all ---- */
void pg_cancel_all(void *unused);

/* ---- quoting (no connection needed) ---- */
/* Always double-quoted: "My ""Table""". Caller frees. */
char *pg_quote_ident(const char *ident);
/* 'it''s' or E'back\\slash' — valid whatever standard_conforming_strings. */
char *pg_quote_literal(const char *lit);
/* "nsp"."rel" */
char *pg_qualname(const char *nsp, const char *rel);
/* Appends the quoted forms to a StrBuf. */
void sb_append_ident(StrBuf *sb, const char *ident);
void sb_append_literal(StrBuf *sb, const char *lit);
/* Appends one element of a text[] literal: "elem" with " and \ escaped. */
void sb_append_array_elem(StrBuf *sb, const char *elem);

/* ---- connection strings ---- */
/* Checks the syntax; on error *errmsg is set (caller frees). */
bool pg_conninfo_valid(const char *conninfo, char **errmsg);
/* Copy of conninfo with its password (URI userinfo, ?password=, password=) masked. */
char *pg_conninfo_mask(const char *conninfo);
/* Registers the password in conninfo, and PGPASSWORD, as log secrets. */
void pg_conninfo_register_secrets(const char *conninfo);
/*
 * Keyword/value string with everything but the password, for child processes
 * (pg_dump, pg_restore); the password, if any, goes to *password (caller
 * frees) to be passed as PGPASSWORD in the child's environment only.
 * dbname, if not NULL, replaces the database name.
 */
char *pg_conninfo_for_child(const char *conninfo, const char *dbname, char **password);
/* The value of one keyword (dbname, host, user...) after parsing, or NULL. */
char *pg_conninfo_get(const char *conninfo, const char *keyword);

/* ---- COPY pipe ---- */
typedef struct CopyStats
{
	int64_t bytes;
	int64_t rows;
} CopyStats;

/*
 * Streams COPY ... TO STDOUT on src into COPY ... FROM STDIN on dst, the bytes
 * moved untouched, memory flat. Both connections must be idle. On failure on
 * either side, the other side's COPY is ended (PQputCopyEnd with an error
 * message, or the source query cancelled) so both connections are usable.
 */
bool pg_copy_pipe(PgConn *src, const char *copy_out, PgConn *dst, const char *copy_in,
				  CopyStats *stats, int64_t *progress_bytes);

/* SET TRANSACTION SNAPSHOT in c's open REPEATABLE READ transaction; false (logged) on error. */
bool pg_set_snapshot(PgConn *c, const char *snapshot);

/* "while running: <sql>" (cut at 600 characters), the context of an error; caller frees. */
char *pg_query_context(const char *sql);

#endif /* PGSHIFT_PG_H */
