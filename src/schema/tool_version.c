/*
 * src/schema/tool_version.c — the version of the pg_dump (pg_restore,
 * pg_dumpall) pgshift will run.
 *
 * pg_dump refuses a server newer than itself, and a dump made by an older
 * pg_dump misses what the newer server has: both pre-flight checks (check,
 * clone --dry-run) and the clone must ask the very program spawn_run()
 * starts, so the answer comes from schema_pg_bin() and the program's own
 * --version, never from a guess.
 */
#include "schema/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "pg_dump (PostgreSQL) 15.8 (Debian 15.8-1)" -> 150008; "9.6.24" -> 90624 */
static int
parse_version(const char *text)
{
	const char *p = strstr(text, ") ");
	p = p != NULL ? p + 2 : text;
	while (*p != '\0' && (*p < '0' || *p > '9'))
	{
		p++;
	}
	char *end = NULL;
	long major = strtol(p, &end, 10);
	long minor = 0, patch = 0;
	if (end != NULL && *end == '.')
	{
		minor = strtol(end + 1, &end, 10);
		if (end != NULL && *end == '.')
		{
			patch = strtol(end + 1, NULL, 10);
		}
	}
	if (major <= 0)
	{
		return 0;
	}
	if (major >= 10)
	{
		return (int) (major * 10000 + minor);
	}
	return (int) (major * 10000 + minor * 100 + patch);
}

bool
schema_tool_version(const char *program, int *version, char **path)
{
	*version = 0;
	*path = schema_pg_program(program);
	const char *tmpdir = getenv("TMPDIR");
	char *out = xasprintf("%s/pgshift-version-XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp");
	int fd = mkstemp(out);
	if (fd < 0)
	{
		log_warn("could not create a temporary file to run \"%s --version\"", *path);
		free(out);
		return false;
	}
	close(fd);
	const char *argv[] = { program, "--version", NULL };
	int rc = spawn_run(argv, NULL, out);
	size_t len = 0;
	char *text = rc == 0 ? file_read_all(out, &len) : NULL;
	unlink(out);
	free(out);
	if (text == NULL)
	{
		log_warn("could not run \"%s --version\"", *path);
		return false;
	}
	*version = parse_version(text);
	free(text);
	return *version > 0;
}
