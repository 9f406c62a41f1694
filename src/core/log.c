/*
 * src/core/log.c — log lines in PostgreSQL's shape, one write(2) each.
 *
 * A line is "2026-11-26 05:31:09.123 [role] LEVEL  message" on stderr (with
 * colour on a terminal, unless NO_COLOR is set) and, uncoloured, in the log
 * file opened with O_APPEND. With --log-json each line is a JSON object.
 * Lines are built in a local buffer and written whole: concurrent threads
 * never interleave, and no lock is taken.
 */
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static LogLevel g_log_level = LOG_LEVEL_INFO;
static bool g_log_json = false;
static int g_log_fd = -1;
static int g_log_color = -1; /* -1: not decided yet */
static __thread char g_log_role[32] = "main";
#define LOG_MAX_SECRETS 16
static char *g_secrets[LOG_MAX_SECRETS];
static int g_nsecrets = 0;

static const char *const level_names[] = { "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "FATAL" };
static const char *const level_colors[] = { "\033[2m",  "",         "\033[36m",
											"\033[33m", "\033[31m", "\033[1;31m" };

void
log_set_level(LogLevel level)
{
	g_log_level = level;
}

LogLevel
log_get_level(void)
{
	return g_log_level;
}

void
log_set_json(bool json)
{
	g_log_json = json;
}

bool
log_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		log_error("could not open log file \"%s\": %s", path, strerror(errno));
		return false;
	}
	log_close_file();
	g_log_fd = fd;
	return true;
}

void
log_close_file(void)
{
	if (g_log_fd >= 0)
	{
		close(g_log_fd);
		g_log_fd = -1;
	}
}

void
log_set_role(const char *role)
{
	snprintf(g_log_role, sizeof(g_log_role), "%s", role);
}

const char *
log_get_role(void)
{
	return g_log_role;
}

void
log_register_secret(const char *secret)
{
	if (secret == NULL || secret[0] == '\0')
	{
		return;
	}
	for (int i = 0; i < g_nsecrets; i++)
	{
		if (strcmp(g_secrets[i], secret) == 0)
		{
			return;
		}
	}
	if (g_nsecrets < LOG_MAX_SECRETS)
	{
		/* longest first: a secret inside a longer one must not unmask the rest */
		int i = g_nsecrets++;
		while (i > 0 && strlen(g_secrets[i - 1]) < strlen(secret))
		{
			g_secrets[i] = g_secrets[i - 1];
			i--;
		}
		g_secrets[i] = xstrdup(secret);
	}
}

void
log_mask_secrets(StrBuf *sb)
{
	for (int i = 0; i < g_nsecrets; i++)
	{
		const char *secret = g_secrets[i];
		size_t sl = strlen(secret);
		if (strstr(sb->data, secret) == NULL)
		{
			continue;
		}
		StrBuf out;
		sb_init(&out);
		const char *p = sb->data;
		const char *hit;
		while ((hit = strstr(p, secret)) != NULL)
		{
			sb_append_n(&out, p, (size_t) (hit - p));
			sb_append(&out, "****");
			p = hit + sl;
		}
		sb_append(&out, p);
		sb_free(sb);
		*sb = out;
	}
}

void
log_scrub_secrets(char *s)
{
	for (int i = 0; i < g_nsecrets; i++)
	{
		size_t sl = strlen(g_secrets[i]);
		char *p = s;
		char *hit;
		while ((hit = strstr(p, g_secrets[i])) != NULL)
		{
			memset(hit, '*', sl);
			p = hit + sl;
		}
	}
}

static bool
log_use_color(void)
{
	if (g_log_color < 0)
	{
		const char *nc = getenv("NO_COLOR");
		g_log_color = (nc == NULL || nc[0] == '\0') && isatty(STDERR_FILENO) ? 1 : 0;
	}
	return g_log_color == 1;
}

static void
log_write_fd(int fd, const char *buf, size_t len)
{
	while (len > 0)
	{
		ssize_t n = write(fd, buf, len);
		if (n < 0)
		{
			if (errno == EINTR)
			{
				continue;
			}
			return;
		}
		buf += n;
		len -= (size_t) n;
	}
}

void
log_vmsg(LogLevel level, const char *prefix, const char *fmt, va_list ap)
{
	bool to_stderr = level >= g_log_level || level >= LOG_LEVEL_ERROR;
	bool to_file = g_log_fd >= 0 && (level >= LOG_LEVEL_INFO || g_log_level == LOG_LEVEL_DEBUG);

	if (!to_stderr && !to_file)
	{
		return;
	}
	if (level > LOG_LEVEL_FATAL)
	{
		level = LOG_LEVEL_FATAL;
	}

	StrBuf msg;
	sb_init(&msg);
	if (prefix != NULL)
	{
		sb_append(&msg, prefix);
	}
	sb_vprintf(&msg, fmt, ap);
	log_mask_secrets(&msg);

	char ts[40];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t tl = strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(ts + tl, sizeof(ts) - tl, ".%03ld", now.tv_nsec / 1000000);

	StrBuf line;
	sb_init(&line);
	if (g_log_json)
	{
		json_t *obj =
			json_pack("{s:s, s:s, s:s, s:s, s:i}", "time", ts, "role", g_log_role, "level",
					  level_names[level], "message", msg.data, "pid", (int) getpid());
		char *js = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
		if (js != NULL)
		{
			sb_append(&line, js);
			sb_append_char(&line, '\n');
			free(js);
		}
		json_decref(obj);
		if (to_stderr)
		{
			log_write_fd(STDERR_FILENO, line.data, line.len);
		}
		if (to_file)
		{
			log_write_fd(g_log_fd, line.data, line.len);
		}
	}
	else
	{
		sb_printf(&line, "%s [%d %s] %-7s %s\n", ts, (int) getpid(), g_log_role, level_names[level],
				  msg.data);
		if (to_file)
		{
			log_write_fd(g_log_fd, line.data, line.len);
		}
		if (to_stderr)
		{
			if (log_use_color() && level_colors[level][0] != '\0')
			{
				StrBuf col;
				sb_init(&col);
				/* \r + clear: a progress line may be on screen */
				sb_printf(&col, "\r\033[K%s%.*s\033[0m\n", level_colors[level], (int) line.len - 1,
						  line.data);
				log_write_fd(STDERR_FILENO, col.data, col.len);
				sb_free(&col);
			}
			else if (isatty(STDERR_FILENO))
			{
				StrBuf col;
				sb_init(&col);
				sb_printf(&col, "\r\033[K%s", line.data);
				log_write_fd(STDERR_FILENO, col.data, col.len);
				sb_free(&col);
			}
			else
			{
				log_write_fd(STDERR_FILENO, line.data, line.len);
			}
		}
	}
	sb_free(&line);
	sb_free(&msg);
}

void
log_msg(LogLevel level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, NULL, fmt, ap);
	va_end(ap);
}

void
log_detail(LogLevel level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, "DETAIL: ", fmt, ap);
	va_end(ap);
}

void
log_hint(LogLevel level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, "HINT: ", fmt, ap);
	va_end(ap);
}
