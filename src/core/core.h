/*
 * src/core/core.h — memory, strings, logging, files, time and signals.
 *
 * The one header of src/core. Everything here is thread-safe unless said
 * otherwise: log lines are formatted in a local buffer and emitted with one
 * write(2) per destination, so lines of concurrent workers never interleave.
 */
#ifndef PGSHIFT_CORE_H
#define PGSHIFT_CORE_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGSHIFT_VERSION "0.1.0"

/* ---- memory: abort on out-of-memory, like pg_malloc ---- */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* ---- StrBuf: a growable, always NUL-terminated string ---- */
typedef struct StrBuf
{
	char *data;
	size_t len;
	size_t cap;
} StrBuf;

void sb_init(StrBuf *sb);
void sb_free(StrBuf *sb);
void sb_reset(StrBuf *sb);
void sb_append(StrBuf *sb, const char *s);
void sb_append_n(StrBuf *sb, const char *s, size_t n);
void sb_append_char(StrBuf *sb, char c);
void sb_printf(StrBuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Returns the buffer's string and leaves sb empty (caller frees). */
char *sb_steal(StrBuf *sb);

/* ---- string list ---- */
typedef struct StrList
{
	char **items;
	int n;
	int cap;
} StrList;

void strlist_add(StrList *l, const char *s);
void strlist_add_owned(StrList *l, char *s);
bool strlist_contains(const StrList *l, const char *s);
void strlist_free(StrList *l);

/* ---- logging ---- */
typedef enum LogLevel
{
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_FATAL,
	LOG_LEVEL_QUIET /* threshold only: print nothing but errors */
} LogLevel;

void log_set_level(LogLevel level);
LogLevel log_get_level(void);
void log_set_json(bool json);
/* Opens (O_APPEND) the log file every line is also written to. */
bool log_open_file(const char *path);
void log_close_file(void);
/* Role tag of the calling thread ("main", "copy-2", "index-1", ...). */
void log_set_role(const char *role);
/*
 * Registers a secret (a password) that must never be printed: every log line
 * containing it has it replaced by "****". Call before starting threads.
 */
void log_register_secret(const char *secret);
/* Replaces every registered secret in s (in place, same length or shorter). */
void log_mask_secrets(StrBuf *sb);
/* Overwrites every registered secret in s with '*', in place (argv scrubbing). */
void log_scrub_secrets(char *s);
const char *log_get_role(void);

void log_msg(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(LogLevel level, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
#define log_debug(...)  log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...)  log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_fatal(...)  log_msg(LOG_LEVEL_FATAL, __VA_ARGS__)
/* DETAIL/HINT lines follow the message they belong to, at its level. */
void log_detail(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_hint(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- time ---- */
/* Monotonic seconds. */
double time_now(void);
/* Wall clock, microseconds since the epoch. */
int64_t time_wall_us(void);
/* "2026-11-26 05:31:09" (UTC) into buf (>= 24 bytes). */
void time_format_wall(int64_t us, char *buf, size_t size);
/* "1h02m", "3.2s", "420ms". */
void time_format_duration(double seconds, char *buf, size_t size);
/* "1.2 GB", "512 kB" */
void size_format(int64_t bytes, char *buf, size_t size);
/* "8MB", "1 GB", "100kB", "12345" -> bytes; false on syntax error. */
bool size_parse(const char *s, int64_t *bytes);

/* ---- files ---- */
bool file_mkdir_p(const char *path, int mode);
bool file_exists(const char *path);
bool file_write_all(const char *path, const char *data, size_t len, bool sync);
char *file_read_all(const char *path, size_t *len);
bool file_remove_tree(const char *path);
/* fsync a directory so renames and creations in it are durable. */
bool file_fsync_dir(const char *path);

/* ---- signals ---- */
/* SIGINT/SIGTERM set the interrupt flag; the first one asks for a clean stop. */
void signals_install(void);
bool signals_interrupted(void);
int signals_last(void);
/* Callback called (from a helper thread, not a signal handler) on interrupt. */
typedef void (*InterruptHook)(void *arg);
void signals_on_interrupt(InterruptHook hook, void *arg);
/* Test-only / shutdown: mark as interrupted as if a signal came. */
void signals_raise(void);

/*
 * Exit codes are part of the interface (README "Exit codes"); scripts test
 * them, so they never change meaning. Domains return them for the command
 * line to pass on.
 */
typedef enum ExitCode
{
	EXIT_OK = 0,
	EXIT_USAGE = 1,           /* bad command line */
	EXIT_SOURCE = 2,          /* cannot connect to or query the source */
	EXIT_TARGET = 3,          /* cannot connect to or query the target */
	EXIT_NOT_BUILT = 4,       /* command not implemented yet */
	EXIT_WORKDIR = 5,         /* work directory unusable or used by another run */
	EXIT_PRECONDITION = 6,    /* servers not ready: target holds objects, privilege, wal_level */
	EXIT_TASKS_FAILED = 7,    /* the run finished, but some objects failed */
	EXIT_DIFFERENT = 8,       /* compare found differences */
	EXIT_INTERRUPTED = 9,     /* stopped by SIGINT/SIGTERM */
	EXIT_INTERNAL = 10,       /* pg_dump/pg_restore failure, disk full, bug */
	EXIT_ABORTED = 11,        /* cutover aborted: the source takes writes again */
	EXIT_CHECK_BLOCKING = 12, /* check: something blocks the migration */
	EXIT_RETRY_TIMEOUT = 13,  /* the follower gave up reconnecting after --retry-timeout */
	EXIT_SCHEMA_CHANGE = 14   /* follow: a schema change on the source the target lacks, or DDL
								 that --ddl cannot replay (--ddl-errors=stop) */
} ExitCode;

#endif /* PGSHIFT_CORE_H */
