/*
 * src/schema/pg_dump_version.c — which pg_dump pgshift will run, and whether
 * it can dump a given source.
 *
 * The invariant: pgshift never starts a run whose schema dump is bound to
 * fail. pg_dump refuses a server of a newer major than its own ("aborting
 * because of server version mismatch"), and it does so only once the clone
 * has begun (slot, snapshot, work directory). schema_check_source_dumpable()
 * answers before any change, from the version the very binary spawn_run
 * would start prints (`pg_dump --version`, found as schema_pg_bin() says),
 * so the answer cannot disagree with the dump itself.
 */
#include "schema/schema.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* "pg_dump (PostgreSQL) 15.15 (Debian 15.15-1)" -> 150015; 16beta1 -> 160000. */
static int
parse_pg_dump_version(const char *text)
{
	const char *p = strstr(text, "(PostgreSQL) ");
	if (p == NULL)
	{
		return 0;
	}
	p += strlen("(PostgreSQL) ");
	char *end;
	long major = strtol(p, &end, 10);
	if (end == p || major < 10 || major > 99)
	{
		return 0;
	}
	long minor = 0;
	if (*end == '.')
	{
		minor = strtol(end + 1, NULL, 10);
	}
	return (int) (major * 10000 + (minor >= 0 && minor < 100 ? minor : 0));
}

/* Runs "<bin>/pg_dump --version" and reads its first line into buf. */
static bool
read_pg_dump_version_line(const char *prog, char *buf, size_t size)
{
	int fds[2];
	if (pipe(fds) != 0)
	{
		log_error("could not create a pipe: %s", strerror(errno));
		return false;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	char *const args[] = { (char *) (uintptr_t) prog, (char *) (uintptr_t) "--version", NULL };
	pid_t pid;
	int rc = posix_spawnp(&pid, prog, &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0)
	{
		close(fds[0]);
		log_error("could not start \"%s\": %s", prog, strerror(rc));
		return false;
	}
	size_t got = 0;
	ssize_t r;
	while (got + 1 < size &&
		   ((r = read(fds[0], buf + got, size - 1 - got)) > 0 || (r < 0 && errno == EINTR)))
	{
		got += r > 0 ? (size_t) r : 0;
	}
	buf[got] = '\0';
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
	{
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
	{
		log_error("\"%s --version\" failed", prog);
		return false;
	}
	return true;
}

int
schema_pg_dump_version(void)
{
	static int version = -1;
	if (version >= 0)
	{
		return version;
	}
	const char *bin = schema_pg_bin();
	char *prog = bin[0] ? xasprintf("%s/pg_dump", bin) : xstrdup("pg_dump");
	char line[256];
	version = 0;
	if (read_pg_dump_version_line(prog, line, sizeof(line)))
	{
		version = parse_pg_dump_version(line);
		if (version == 0)
		{
			line[strcspn(line, "\n")] = '\0';
			log_error("could not read the version of \"%s\" from \"%s\"", prog, line);
		}
	}
	else
	{
		log_hint(LOG_LEVEL_ERROR, "Install the PostgreSQL client programs, or set PGSHIFT_PG_BIN "
								  "to the directory holding pg_dump and pg_restore.");
	}
	free(prog);
	return version;
}

bool
schema_check_source_dumpable(int source_version)
{
	int dump = schema_pg_dump_version();
	if (dump == 0)
	{
		return false;
	}
	PgFeatures src, tool;
	pg_features_of(source_version, &src);
	pg_features_of(dump, &tool);
	if (src.major <= tool.major)
	{
		log_debug("pg_dump %d.%d can dump the source (server %d)", dump / 10000, dump % 10000,
				  source_version);
		return true;
	}
	const char *bin = schema_pg_bin();
	log_error("the source runs PostgreSQL %d, newer than the pg_dump pgshift would run (%d.%d, "
			  "in %s)",
			  src.major, tool.major, dump % 10000, bin[0] ? bin : "the PATH");
	log_detail(LOG_LEVEL_ERROR, "pg_dump refuses to dump a server of a newer major version; "
								"nothing was changed on either server.");
	log_hint(LOG_LEVEL_ERROR,
			 "Install the client programs of PostgreSQL %d or later and set PGSHIFT_PG_BIN to "
			 "the directory holding their pg_dump, pg_restore and psql.",
			 src.major);
	return false;
}
