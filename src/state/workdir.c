/*
 * src/state/workdir.c — the work directory and its pid-file lock.
 *
 * The lock is flock() on pgshift.pid: the kernel drops it when the owner dies,
 * so a pid file left by a killed run never blocks the next one, and two live
 * runs can never share a directory.
 */
#include "state/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

static void
workdir_paths(WorkDir *w, const char *path)
{
	memset(w, 0, sizeof(*w));
	w->pid_fd = -1;
	w->path = xstrdup(path);
	w->schema_dir = xasprintf("%s/schema", path);
	w->cdc_dir = xasprintf("%s/cdc", path);
	w->pid_file = xasprintf("%s/pgshift.pid", path);
	w->log_file = xasprintf("%s/pgshift.log", path);
	w->state_file = xasprintf("%s/state.db", path);
	w->summary_file = xasprintf("%s/summary.json", path);
}

bool
workdir_open_readonly(WorkDir *w, const char *path)
{
	workdir_paths(w, path);
	return file_exists(path);
}

bool
workdir_open(WorkDir *w, const char *path)
{
	workdir_paths(w, path);
	if (!file_mkdir_p(path, 0700) || !file_mkdir_p(w->schema_dir, 0700) ||
		!file_mkdir_p(w->cdc_dir, 0700))
	{
		log_hint(LOG_LEVEL_ERROR, "Choose a writable work directory with --dir.");
		return false;
	}
	chmod(path, 0700);

	int fd = open(w->pid_file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		log_error("could not open pid file \"%s\": %s", w->pid_file, strerror(errno));
		return false;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
	{
		char buf[32] = { 0 };
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
		log_error("work directory \"%s\" is in use by another pgshift run (pid %ld, pid file "
				  "\"%s\")",
				  path, pid, w->pid_file);
		log_hint(LOG_LEVEL_ERROR, "Wait for that run to finish or stop it, or use another --dir.");
		close(fd);
		return false;
	}
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t) len, 0) != len)
	{
		log_error("could not write pid file \"%s\": %s", w->pid_file, strerror(errno));
		close(fd);
		return false;
	}
	w->pid_fd = fd;
	if (!log_open_file(w->log_file))
	{
		return false;
	}
	return true;
}

void
workdir_close(WorkDir *w)
{
	if (w->pid_fd >= 0)
	{
		unlink(w->pid_file);
		close(w->pid_fd);
		w->pid_fd = -1;
	}
	free(w->path);
	free(w->schema_dir);
	free(w->cdc_dir);
	free(w->pid_file);
	free(w->log_file);
	free(w->state_file);
	free(w->summary_file);
	memset(w, 0, sizeof(*w));
	w->pid_fd = -1;
}

bool
workdir_lock_held(const char *pid_file)
{
	int fd = open(pid_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		return false;
	}
	bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	if (!held)
	{
		flock(fd, LOCK_UN);
	}
	close(fd);
	return held;
}
