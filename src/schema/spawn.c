/*
 * src/schema/spawn.c — the one place child processes are started.
 *
 * posix_spawn with an argument vector: no shell, no quoting problems, no
 * password in argv. The child gets default signal dispositions and an empty
 * signal mask (pgshift's threads block SIGINT/SIGTERM for the watcher thread).
 */
#include "schema/schema.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *
schema_pg_bin(void)
{
	static char bin[512];
	static bool done = false;
	if (done)
	{
		return bin;
	}
	done = true;
	const char *env = getenv("PGSHIFT_PG_BIN");
	if (env != NULL && env[0] != '\0')
	{
		snprintf(bin, sizeof(bin), "%s", env);
		return bin;
	}
	int best = 0;
	DIR *d = opendir("/usr/lib/postgresql");
	if (d != NULL)
	{
		struct dirent *de;
		while ((de = readdir(d)) != NULL)
		{
			int v = (int) strtol(de->d_name, NULL, 10);
			char path[600];
			snprintf(path, sizeof(path), "/usr/lib/postgresql/%s/bin/pg_dump", de->d_name);
			if (v > best && access(path, X_OK) == 0)
			{
				best = v;
			}
		}
		closedir(d);
	}
	if (best > 0)
	{
		snprintf(bin, sizeof(bin), "/usr/lib/postgresql/%d/bin", best);
	}
	else
	{
		bin[0] = '\0';
	}
	return bin;
}

char **
spawn_env(const char *const *extra_env)
{
	int n = 0, nextra = 0;
	while (environ[n] != NULL)
	{
		n++;
	}
	while (extra_env != NULL && extra_env[nextra] != NULL)
	{
		nextra++;
	}
	char **envp = xcalloc((size_t) (n + nextra + 1), sizeof(char *));
	int k = 0;
	for (int i = 0; i < n; i++)
	{
		bool overridden = false;
		for (int j = 0; j < nextra && !overridden; j++)
		{
			size_t len = strcspn(extra_env[j], "=");
			overridden = strncmp(environ[i], extra_env[j], len + 1) == 0;
		}
		if (!overridden)
		{
			envp[k++] = environ[i];
		}
	}
	for (int j = 0; j < nextra; j++)
	{
		envp[k++] = (char *) (uintptr_t) extra_env[j];
	}
	envp[k] = NULL;
	return envp;
}

void
spawn_attr_init(posix_spawnattr_t *attr)
{
	posix_spawnattr_init(attr);
	sigset_t empty, def;
	sigemptyset(&empty);
	sigemptyset(&def);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigmask(attr, &empty);
	posix_spawnattr_setsigdefault(attr, &def);
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

char *
schema_pg_program(const char *name)
{
	const char *bin = schema_pg_bin();
	return bin[0] ? xasprintf("%s/%s", bin, name) : xstrdup(name);
}

int
spawn_run(const char *const *argv, const char *const *extra_env, const char *out_path)
{
	char *prog = schema_pg_program(argv[0]);

	char **envp = spawn_env(extra_env);

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (out_path != NULL)
	{
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path,
										 O_WRONLY | O_CREAT | O_APPEND, 0600);
		posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	}
	posix_spawnattr_t attr;
	spawn_attr_init(&attr);

	/* argv[0] = the full path: pg_dumpall finds pg_dump next to its own argv[0] */
	int nargs = 0;
	while (argv[nargs] != NULL)
	{
		nargs++;
	}
	const char **args = xcalloc((size_t) nargs + 1, sizeof(char *));
	args[0] = prog;
	for (int i = 1; i < nargs; i++)
	{
		args[i] = argv[i];
	}
	pid_t pid;
	int rc = posix_spawnp(&pid, prog, &fa, &attr, (char *const *) (uintptr_t) args, envp);
	free(args);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	if (rc != 0)
	{
		log_error("could not start \"%s\": %s", prog, strerror(rc));
		log_hint(LOG_LEVEL_ERROR, "Install the PostgreSQL client programs, or set PGSHIFT_PG_BIN "
								  "to the directory holding pg_dump and pg_restore.");
		free(prog);
		return -1;
	}
	log_debug("started %s (pid %d)", prog, (int) pid);
	free(prog);

	bool killed = false;
	for (;;)
	{
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
		{
			if (WIFEXITED(status))
			{
				return WEXITSTATUS(status);
			}
			return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		}
		if (r < 0 && errno != EINTR)
		{
			log_error("waitpid failed: %s", strerror(errno));
			return -1;
		}
		if (signals_interrupted() && !killed)
		{
			kill(pid, SIGTERM);
			killed = true;
		}
		usleep(50 * 1000);
	}
}
