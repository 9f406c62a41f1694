/*
 * src/clone/roles.c — the source cluster's roles: dump roles, restore roles,
 * copy roles, and clone --roles.
 *
 * Roles are cluster-wide: a role that exists on the target already is left
 * as it is (its attributes and password are the target's business), and the
 * connecting role never alters itself. The dump is schema/roles.sql in the
 * work directory, so that dump and restore can run as separate commands.
 */
#include "clone/clone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
roles_dump(const CloneSpec *o, const WorkDir *wd, char **path)
{
	ChildConn cc;
	if (!schema_child_conn(o->source, "source", &cc))
	{
		return false;
	}
	*path = xasprintf("%s/roles.sql", wd->schema_dir);
	const char *env[] = { cc.pwenv, NULL };
	const char *dbopt = cc.dbname;
	char *fileopt = xasprintf("--file=%s", *path);
	char *log_path = xasprintf("%s/pg_dumpall.log", wd->schema_dir);
	const char *argv[] = { "pg_dumpall",
						   "--roles-only",
						   dbopt,
						   fileopt,
						   o->no_role_passwords ? "--no-role-passwords" : NULL,
						   NULL };
	int rc = spawn_run(argv, env, log_path);
	if (rc != 0)
	{
		log_error("pg_dumpall --roles-only failed (exit code %d); see \"%s\"", rc, log_path);
	}
	else
	{
		log_info("dumped the source's roles into \"%s\"", *path);
	}
	free(fileopt);
	free(log_path);
	schema_child_conn_free(&cc);
	return rc == 0;
}

/* Runs the dumped role statements; a role that exists already is left as it is. */
static bool
roles_restore(const CloneSpec *o, const char *path)
{
	size_t len;
	char *text = file_read_all(path, &len);
	if (text == NULL)
	{
		log_error("no roles dump at \"%s\": run \"pgshift dump roles\" first", path);
		return false;
	}
	PgConn c;
	if (!pg_connect(&c, o->target, "target", "roles", 0))
	{
		free(text);
		return false;
	}
	char *me = NULL;
	pg_query_value(&c, "SELECT current_user", 0, NULL, &me);
	int ncreated = 0, nskipped = 0, nfailed = 0;
	StrList existing = { 0 };
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
	{
		if (line[0] == '\0' || strncmp(line, "--", 2) == 0 || strncmp(line, "SET ", 4) == 0 ||
			line[0] == '\\')
		{
			continue;
		}
		if (strncmp(line, "CREATE ROLE ", 12) == 0)
		{
			char *name = xstrndup(line + 12, strcspn(line + 12, ";"));
			/* the name is printed quoted when needed: compare with quote_ident */
			const char *p[] = { name };
			char *exists = NULL;
			pg_query_value(&c,
						   "SELECT count(*) FROM pg_catalog.pg_roles WHERE "
						   "pg_catalog.quote_ident(rolname) = $1",
						   1, p, &exists);
			bool has = exists != NULL && strcmp(exists, "0") != 0;
			free(exists);
			if (has)
			{
				strlist_add(&existing, name);
				nskipped++;
				free(name);
				continue;
			}
			free(name);
		}
		else if (strncmp(line, "ALTER ROLE ", 11) == 0)
		{
			/* leave roles that existed before untouched, and never our own */
			char *name = xstrndup(line + 11, strcspn(line + 11, " ;"));
			bool skip = strlist_contains(&existing, name) || (me != NULL && strcmp(name, me) == 0);
			free(name);
			if (skip)
			{
				continue;
			}
		}
		c.quiet_errors = true;
		if (!pg_exec(&c, line))
		{
			log_warn("target: role statement failed: %s", c.errmsg ? c.errmsg : "");
			nfailed++;
		}
		else if (strncmp(line, "CREATE ROLE ", 12) == 0)
		{
			ncreated++;
		}
		c.quiet_errors = false;
	}
	log_info("roles: %d created, %d existed already, %d statements failed", ncreated, nskipped,
			 nfailed);
	strlist_free(&existing);
	free(me);
	free(text);
	pg_disconnect(&c);
	return nfailed == 0;
}

ExitCode
clone_roles_command(const CloneSpec *spec, int what)
{
	bool dump = (what & SCHEMA_CMD_DUMP_ROLES) != 0;
	bool restore = (what & SCHEMA_CMD_RESTORE_ROLES) != 0;
	WorkDir wd;
	if (!workdir_open(&wd, spec->dir))
	{
		workdir_close(&wd);
		return EXIT_WORKDIR;
	}
	ExitCode rc = EXIT_OK;
	char *path = xasprintf("%s/roles.sql", wd.schema_dir);
	if (dump)
	{
		free(path);
		path = NULL;
		if (!roles_dump(spec, &wd, &path))
		{
			rc = EXIT_SOURCE;
		}
	}
	if (rc == EXIT_OK && restore && !roles_restore(spec, path))
	{
		rc = EXIT_TASKS_FAILED;
	}
	free(path);
	workdir_close(&wd);
	return rc;
}

/* Can the target role create roles? (Managed services give neither right.) */
static bool
roles_may_create(const CloneSpec *spec)
{
	PgConn c;
	if (!pg_connect(&c, spec->target, "target", "roles", 0))
	{
		return true; /* the restore reports the connection failure */
	}
	char *v = NULL;
	pg_query_value(&c,
				   "SELECT rolsuper OR rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = "
				   "current_user",
				   0, NULL, &v);
	bool may = v == NULL || strcmp(v, "f") != 0;
	free(v);
	pg_disconnect(&c);
	return may;
}

bool
clone_copy_roles(const CloneSpec *spec, const WorkDir *wd)
{
	if (!roles_may_create(spec))
	{
		log_warn("skipped copying the roles (--roles): the target role is neither superuser nor "
				 "CREATEROLE");
		log_hint(LOG_LEVEL_WARN, "Create the roles on the target as its administrator; with "
								 "--no-owner --no-acl the copy needs none of them.");
		return true;
	}
	char *path = NULL;
	bool ok = roles_dump(spec, wd, &path) && roles_restore(spec, path);
	free(path);
	return ok;
}
