/*
 * src/cdc/metrics.c — the follower's figures in Prometheus text format, on
 * 127.0.0.1 only (--metrics-port N): GET /metrics.
 *
 * Invariant: the server only reads. Every figure comes from CdcShared (the
 * receiver's and applier's atomics), the journal directory's file sizes, and
 * the last error noted by cdc/retry.c (a string, so under a mutex); serving
 * a request never blocks the receiver or the applier, and a slow or broken
 * client cannot stop the follower (one request at a time, 1 s to send it,
 * answered and closed). Bound to the loopback interface: exposing it further
 * is the job of a proxy or an exporter the operator controls.
 */
#include "cdc/cdc.h"
#include "cdc/cdc_int.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* the last error either side met (retryable or not), for pgshift_last_error */
static pthread_mutex_t g_err_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_err_side[16];
static char g_err_state[6];
static char g_err_msg[256];
static double g_err_at; /* Unix time; 0: none */

void
cdc_metrics_note_error(const char *side, const char *sqlstate, const char *msg)
{
	pthread_mutex_lock(&g_err_lock);
	snprintf(g_err_side, sizeof(g_err_side), "%s", side);
	snprintf(g_err_state, sizeof(g_err_state), "%s", sqlstate ? sqlstate : "");
	snprintf(g_err_msg, sizeof(g_err_msg), "%s", msg ? msg : "");
	g_err_at = (double) time_wall_us() / 1e6;
	pthread_mutex_unlock(&g_err_lock);
}

/* Bytes of the journal's segments on disk. */
static int64_t
journal_bytes(const char *dir)
{
	StrList segs = { 0 };
	journal_segments_below(dir, UINT32_MAX, &segs);
	int64_t total = 0;
	for (int i = 0; i < segs.n; i++)
	{
		struct stat st;
		if (stat(segs.items[i], &st) == 0)
		{
			total += (int64_t) st.st_size;
		}
	}
	strlist_free(&segs);
	return total;
}

/* A label value: backslash, double quote and newline escaped. */
static void
label_value(StrBuf *sb, const char *s)
{
	for (; *s; s++)
	{
		if (*s == '\\' || *s == '"')
		{
			sb_append_char(sb, '\\');
			sb_append_char(sb, *s);
		}
		else if (*s == '\n')
		{
			sb_append(sb, "\\n");
		}
		else
		{
			sb_append_char(sb, *s);
		}
	}
}

static void
metric(StrBuf *sb, const char *name, const char *type, const char *help, double v)
{
	sb_printf(sb, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static void
metrics_errors(StrBuf *sb)
{
	sb_append(sb, "# HELP pgshift_last_error_timestamp_seconds When the last error (retried "
				  "or not) happened, labelled with its side, SQLSTATE and message.\n"
				  "# TYPE pgshift_last_error_timestamp_seconds gauge\n");
	pthread_mutex_lock(&g_err_lock);
	if (g_err_at > 0)
	{
		sb_append(sb, "pgshift_last_error_timestamp_seconds{side=\"");
		label_value(sb, g_err_side);
		sb_append(sb, "\",sqlstate=\"");
		label_value(sb, g_err_state);
		sb_append(sb, "\",message=\"");
		label_value(sb, g_err_msg);
		sb_printf(sb, "\"} %.3f\n", g_err_at);
	}
	pthread_mutex_unlock(&g_err_lock);
}

/* The whole page. */
static void
metrics_render(const CdcShared *sh, const char *journal_dir, StrBuf *sb)
{
	Lsn received = atomic_load(&sh->received_lsn);
	Lsn flushed = atomic_load(&sh->flushed_lsn);
	Lsn applied = atomic_load(&sh->applied_lsn);
	metric(sb, "pgshift_received_lsn", "gauge",
		   "Source position the receiver has written to the journal (LSN as a byte number).",
		   (double) received);
	metric(sb, "pgshift_flushed_lsn", "gauge",
		   "Source position the journal holds on disk, reported to the slot.", (double) flushed);
	metric(sb, "pgshift_applied_lsn", "gauge",
		   "Source position committed on the target (the origin's progress).", (double) applied);
	metric(sb, "pgshift_lag_bytes", "gauge", "Received but not yet applied, in bytes of WAL.",
		   received > applied && applied != LSN_INVALID ? (double) (received - applied) : 0);
	metric(sb, "pgshift_lag_seconds", "gauge",
		   "From the source's commit to the target's, for the last transaction applied.",
		   atomic_load(&sh->last_commit_ts_lag));
	metric(sb, "pgshift_applied_transactions_total", "counter",
		   "Transactions applied by this process.", (double) atomic_load(&sh->applied_txns));
	metric(sb, "pgshift_applied_rows_total", "counter", "Row changes applied by this process.",
		   (double) atomic_load(&sh->applied_rows));
	metric(sb, "pgshift_journal_bytes", "gauge",
		   "Bytes of journal segments on disk (received, not all applied yet).",
		   (double) journal_bytes(journal_dir));
	metric(sb, "pgshift_journal_paused", "gauge",
		   "1 while the receiver waits for free disk space for the journal.",
		   (double) atomic_load(&sh->journal_paused));
	sb_printf(sb,
			  "# HELP pgshift_reconnects_total Outages after which a side reconnected (or "
			  "tried to).\n# TYPE pgshift_reconnects_total counter\n"
			  "pgshift_reconnects_total{side=\"source\"} %d\n"
			  "pgshift_reconnects_total{side=\"target\"} %d\n",
			  atomic_load(&sh->reconnects_source), atomic_load(&sh->reconnects_target));
	metrics_errors(sb);
}

typedef struct MetricsServer
{
	int fd;
	const CdcShared *sh;
	const char *journal_dir;
	pthread_t thread;
	atomic_int stop;
} MetricsServer;

/* Reads the request line (1 s at most), answers, closes. */
static void
metrics_serve(MetricsServer *m, int client)
{
	char req[1024] = { 0 };
	size_t got = 0;
	double until = time_now() + 1.0;
	while (got < sizeof(req) - 1 && memchr(req, '\n', got) == NULL && time_now() < until)
	{
		struct pollfd p = { .fd = client, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
		{
			continue;
		}
		ssize_t n = recv(client, req + got, sizeof(req) - 1 - got, 0);
		if (n <= 0)
		{
			break;
		}
		got += (size_t) n;
	}
	req[got] = '\0';
	StrBuf body, resp;
	sb_init(&body);
	sb_init(&resp);
	bool ok = strncmp(req, "GET /metrics ", 13) == 0 || strncmp(req, "GET /metrics?", 13) == 0;
	if (ok)
	{
		metrics_render(m->sh, m->journal_dir, &body);
	}
	else
	{
		sb_append(&body, "not found: GET /metrics\n");
	}
	sb_printf(&resp,
			  "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			  ok ? "200 OK" : "404 Not Found", body.len);
	sb_append_n(&resp, body.data, body.len);
	size_t off = 0;
	while (off < resp.len)
	{
		ssize_t n = send(client, resp.data + off, resp.len - off, MSG_NOSIGNAL);
		if (n <= 0)
		{
			break;
		}
		off += (size_t) n;
	}
	sb_free(&body);
	sb_free(&resp);
	close(client);
}

static void *
metrics_main(void *arg)
{
	MetricsServer *m = arg;
	log_set_role("cdc-metrics");
	while (!atomic_load(&m->stop))
	{
		struct pollfd p = { .fd = m->fd, .events = POLLIN };
		if (poll(&p, 1, 200) <= 0)
		{
			continue;
		}
		int client = accept(m->fd, NULL, NULL);
		if (client >= 0)
		{
			metrics_serve(m, client);
		}
	}
	return NULL;
}

void *
cdc_metrics_start(int port, const CdcShared *sh, const char *journal_dir)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
	{
		log_error("could not create the metrics socket: %s", strerror(errno));
		return NULL;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t) port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *) &a, sizeof(a)) != 0 || listen(fd, 8) != 0)
	{
		log_error("could not listen on 127.0.0.1:%d for --metrics-port: %s", port, strerror(errno));
		close(fd);
		return NULL;
	}
	MetricsServer *m = xcalloc(1, sizeof(*m));
	m->fd = fd;
	m->sh = sh;
	m->journal_dir = journal_dir;
	pthread_create(&m->thread, NULL, metrics_main, m);
	log_info("metrics on http://127.0.0.1:%d/metrics", port);
	return m;
}

void
cdc_metrics_stop(void *server)
{
	MetricsServer *m = server;
	if (m == NULL)
	{
		return;
	}
	atomic_store(&m->stop, 1);
	pthread_join(m->thread, NULL);
	close(m->fd);
	free(m);
}
