/*
 * src/core/signals.c — SIGINT/SIGTERM handled by one watcher thread.
 *
 * signals_install() blocks SIGINT, SIGTERM and SIGHUP in the calling thread
 * before any other thread exists, so every thread inherits the mask; a
 * watcher thread takes them with sigwait() and runs the interrupt hooks in
 * ordinary thread context (so hooks may call PQcancel, take locks, log).
 * A second signal while the first is being honoured exits at once (code 9).
 * Child processes get an empty mask back (see schema/spawn).
 */
#include "core/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define MAX_HOOKS 8

static atomic_int g_interrupted = 0;
static atomic_int g_last_signal = 0;
static pthread_mutex_t g_hook_lock = PTHREAD_MUTEX_INITIALIZER;
static InterruptHook g_hooks[MAX_HOOKS];
static void *g_hook_args[MAX_HOOKS];
static int g_nhooks = 0;

static void
signals_run_hooks(void)
{
	pthread_mutex_lock(&g_hook_lock);
	for (int i = 0; i < g_nhooks; i++)
	{
		g_hooks[i](g_hook_args[i]);
	}
	pthread_mutex_unlock(&g_hook_lock);
}

static void *
signals_watch(void *arg)
{
	sigset_t *set = arg;
	log_set_role("signals");
	for (;;)
	{
		int sig = 0;
		if (sigwait(set, &sig) != 0)
		{
			continue;
		}
		atomic_store(&g_last_signal, sig);
		if (atomic_fetch_add(&g_interrupted, 1) > 0)
		{
			log_warn("received signal %s again, exiting now", strsignal(sig));
			_exit(9);
		}
		log_warn("received signal %s, stopping at the next safe point (send again to exit at once)",
				 strsignal(sig));
		signals_run_hooks();
	}
	return NULL;
}

void
signals_install(void)
{
	static sigset_t set;
	static bool installed = false;
	if (installed)
	{
		return;
	}
	installed = true;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_create(&th, &attr, signals_watch, &set);
	pthread_attr_destroy(&attr);
}

bool
signals_interrupted(void)
{
	return atomic_load(&g_interrupted) > 0;
}

int
signals_last(void)
{
	return atomic_load(&g_last_signal);
}

void
signals_on_interrupt(InterruptHook hook, void *arg)
{
	pthread_mutex_lock(&g_hook_lock);
	if (g_nhooks < MAX_HOOKS)
	{
		g_hooks[g_nhooks] = hook;
		g_hook_args[g_nhooks] = arg;
		g_nhooks++;
	}
	pthread_mutex_unlock(&g_hook_lock);
}

void
signals_raise(void)
{
	if (atomic_fetch_add(&g_interrupted, 1) == 0)
	{
		signals_run_hooks();
	}
}
