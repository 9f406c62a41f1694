/*
 * src/schema/schema.c — pg_dump, pg_restore and their tables of contents.
 */
#include "schema/schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg.h"

/* Descriptions of more than one word, longest first where one prefixes another. */
static const char *const g_multiword[] = { "MATERIALIZED VIEW DATA",
										   "MATERIALIZED VIEW",
										   "FK CONSTRAINT",
										   "CHECK CONSTRAINT",
										   "TABLE DATA",
										   "TABLE ATTACH",
										   "INDEX ATTACH",
										   "SEQUENCE OWNED BY",
										   "SEQUENCE SET",
										   "DEFAULT ACL",
										   "EVENT TRIGGER",
										   "FOREIGN TABLE",
										   "FOREIGN DATA WRAPPER",
										   "FOREIGN SERVER",
										   "USER MAPPING",
										   "TEXT SEARCH CONFIGURATION",
										   "TEXT SEARCH DICTIONARY",
										   "TEXT SEARCH PARSER",
										   "TEXT SEARCH TEMPLATE",
										   "PROCEDURAL LANGUAGE",
										   "ACCESS METHOD",
										   "OPERATOR CLASS",
										   "OPERATOR FAMILY",
										   "PUBLICATION TABLES IN SCHEMA",
										   "PUBLICATION TABLE",
										   "DATABASE PROPERTIES",
										   "SHELL TYPE",
										   "BLOB METADATA",
										   "BLOBS",
										   "LARGE OBJECT",
										   "ROW SECURITY",
										   "SECURITY LABEL",
										   NULL };

static bool
toc_parse_line(const char *line, TocEntry *e)
{
	memset(e, 0, sizeof(*e));
	char *end;
	long id = strtol(line, &end, 10);
	if (end == line || *end != ';')
	{
		return false;
	}
	e->dump_id = (int) id;
	const char *p = end + 1;
	e->cat_oid = (SchemaOid) strtoul(p, &end, 10);
	p = end;
	e->oid = (SchemaOid) strtoul(p, &end, 10);
	p = end;
	while (*p == ' ')
	{
		p++;
	}
	size_t dl = 0;
	for (int i = 0; g_multiword[i] != NULL; i++)
	{
		size_t l = strlen(g_multiword[i]);
		if (strncmp(p, g_multiword[i], l) == 0 && (p[l] == ' ' || p[l] == '\0'))
		{
			dl = l;
			break;
		}
	}
	if (dl == 0)
	{
		dl = strcspn(p, " ");
	}
	e->desc = xstrndup(p, dl);
	p += dl;
	while (*p == ' ')
	{
		p++;
	}
	e->rest = xstrdup(p);
	e->line = xstrdup(line);
	return true;
}

bool
schema_toc_read(const char *dumpfile, const char *section, const char *log_path, TocList *out)
{
	memset(out, 0, sizeof(*out));
	char *listfile = xasprintf("%s.%s.toc", dumpfile, section ? section : "all");
	char *sect = section ? xasprintf("--section=%s", section) : NULL;
	char *fileopt = xasprintf("--file=%s", listfile);
	const char *argv[] = { "pg_restore", "--list", fileopt, dumpfile, sect, NULL };
	if (sect == NULL)
	{
		argv[3] = dumpfile;
		argv[4] = NULL;
	}
	int rc = spawn_run(argv, NULL, log_path);
	free(sect);
	free(fileopt);
	if (rc != 0)
	{
		log_error("pg_restore --list of \"%s\" failed (exit code %d)", dumpfile, rc);
		log_detail(LOG_LEVEL_ERROR, "See \"%s\".", log_path);
		free(listfile);
		return false;
	}
	size_t len;
	char *text = file_read_all(listfile, &len);
	free(listfile);
	if (text == NULL)
	{
		return false;
	}
	int cap = 64;
	out->entries = xcalloc((size_t) cap, sizeof(TocEntry));
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
	{
		if (line[0] == ';' || !isdigit((unsigned char) line[0]))
		{
			continue;
		}
		if (out->n == cap)
		{
			cap *= 2;
			out->entries = xrealloc(out->entries, sizeof(TocEntry) * (size_t) cap);
		}
		if (toc_parse_line(line, &out->entries[out->n]))
		{
			out->n++;
		}
	}
	free(text);
	return true;
}

bool
schema_toc_write(const TocList *l, const char *path)
{
	StrBuf sb;
	sb_init(&sb);
	sb_append(&sb, ";\n; pg_restore list written by pgshift; entries pgshift handles itself or "
				   "leaves out are commented, with the reason\n;\n");
	for (int i = 0; i < l->n; i++)
	{
		const TocEntry *e = &l->entries[i];
		if (e->skip != NULL)
		{
			sb_printf(&sb, ";%s  -- %s\n", e->line, e->skip);
		}
		else
		{
			sb_printf(&sb, "%s\n", e->line);
		}
	}
	bool ok = file_write_all(path, sb.data, sb.len, true);
	sb_free(&sb);
	return ok;
}

void
schema_toc_free(TocList *l)
{
	for (int i = 0; i < l->n; i++)
	{
		free(l->entries[i].desc);
		free(l->entries[i].rest);
		free(l->entries[i].line);
	}
	free(l->entries);
	memset(l, 0, sizeof(*l));
}

/* Errors a resumed restore expects: the object was restored by the run that died. */
static bool
error_is_existing(const char *line)
{
	return strstr(line, "already exists") != NULL ||
		   strstr(line, "is already a partition") != NULL ||
		   strstr(line, "multiple primary keys") != NULL ||
		   strstr(line, "is already attached") != NULL;
}

/* Logs the error lines a child wrote since offset in its log file. */
static int
log_child_errors(const char *log_path, size_t offset, const char *what, bool tolerate_existing,
				 int *nobject)
{
	size_t len;
	char *text = file_read_all(log_path, &len);
	if (text == NULL || offset > len)
	{
		free(text);
		return 0;
	}
	int nerr = 0;
	bool tolerated = false;
	char *save = NULL;
	for (char *line = strtok_r(text + offset, "\n", &save); line != NULL;
		 line = strtok_r(NULL, "\n", &save))
	{
		bool is_error = strstr(line, "error:") != NULL || strstr(line, "ERROR:") != NULL ||
						strstr(line, "FATAL:") != NULL;
		if (is_error && tolerate_existing && error_is_existing(line))
		{
			log_info("%s: %s (restored by the earlier run)", what, line);
			tolerated = true;
			continue;
		}
		if (is_error)
		{
			tolerated = false;
			/* pg_restore: one object's statement failed (the others went on) */
			if (nobject != NULL && strstr(line, "could not execute query") != NULL)
			{
				(*nobject)++;
			}
			if (nerr < 50)
			{
				log_error("%s: %s", what, line);
			}
			nerr++;
		}
		else if (strstr(line, "Command was:") != NULL || strstr(line, "DETAIL:") != NULL ||
				 strstr(line, "HINT:") != NULL)
		{
			if (nerr <= 50 && !tolerated)
			{
				log_detail(LOG_LEVEL_ERROR, "%s", line);
			}
		}
	}
	free(text);
	return nerr;
}

static size_t
file_size_of(const char *path)
{
	size_t len = 0;
	char *t = file_read_all(path, &len);
	free(t);
	return t ? len : 0;
}

bool
schema_child_conn(const char *conninfo, const char *side, ChildConn *out)
{
	char *password = NULL;
	char *conn = pg_conninfo_for_child(conninfo, NULL, &password);
	out->dbname = out->pwenv = NULL;
	if (conn == NULL)
	{
		log_error("%s: invalid connection string", side);
		return false;
	}
	out->dbname = xasprintf("--dbname=%s", conn);
	out->pwenv = password ? xasprintf("PGPASSWORD=%s", password) : NULL;
	free(conn);
	free(password);
	return true;
}

void
schema_child_conn_free(ChildConn *c)
{
	free(c->dbname);
	free(c->pwenv);
	c->dbname = c->pwenv = NULL;
}

bool
schema_dump(const SchemaOptions *so, const char *dumpfile)
{
	ChildConn cc;
	if (!schema_child_conn(so->source, "source", &cc))
	{
		return false;
	}
	const char *env[] = { cc.pwenv, NULL };
	char *fileopt = xasprintf("--file=%s", dumpfile);
	char *snapopt = so->snapshot ? xasprintf("--snapshot=%s", so->snapshot) : NULL;
	const char *dbopt = cc.dbname;
	const char *argv[16];
	int n = 0;
	argv[n++] = "pg_dump";
	argv[n++] = "--format=custom";
	argv[n++] = "--section=pre-data";
	argv[n++] = "--section=post-data";
	argv[n++] = "--no-sync";
	argv[n++] = fileopt;
	if (snapopt != NULL)
	{
		argv[n++] = snapopt;
	}
	argv[n++] = dbopt;
	argv[n] = NULL;

	size_t off = file_size_of(so->log_path);
	log_info("dumping the source schema: pg_dump --section=pre-data --section=post-data%s%s",
			 snapopt ? " " : "", snapopt ? snapopt : "");
	int rc = spawn_run(argv, env, so->log_path);
	bool ok = rc == 0;
	if (!ok)
	{
		log_child_errors(so->log_path, off, "pg_dump", false, NULL);
		log_error("pg_dump failed (exit code %d)", rc);
		log_detail(LOG_LEVEL_ERROR, "Its output is in \"%s\".", so->log_path);
	}
	free(fileopt);
	free(snapopt);
	schema_child_conn_free(&cc);
	return ok;
}

bool
schema_restore(const SchemaOptions *so, const char *dumpfile, const char *section,
			   const char *listfile)
{
	ChildConn cc;
	if (!schema_child_conn(so->target, "target", &cc))
	{
		return false;
	}
	const char *pwenv = cc.pwenv;
	/* the user's PGOPTIONS kept, ours after them */
	const char *user_opts = getenv("PGOPTIONS");
	char *optenv = so->async_commit ? xasprintf("PGOPTIONS=%s%s-c synchronous_commit=off",
												user_opts ? user_opts : "", user_opts ? " " : "")
									: NULL;
	const char *env[] = { optenv ? optenv : pwenv, optenv ? pwenv : NULL, NULL };
	const char *dbopt = cc.dbname;
	char *listopt = xasprintf("--use-list=%s", listfile);
	char *sectopt = xasprintf("--section=%s", section);
	char *jobsopt = xasprintf("--jobs=%d", so->jobs > 0 ? so->jobs : 1);
	const char *argv[24];
	int n = 0;
	argv[n++] = "pg_restore";
	argv[n++] = dbopt;
	argv[n++] = sectopt;
	argv[n++] = listopt;
	argv[n++] = jobsopt;
	argv[n++] = "--no-subscriptions";
	if (so->clean)
	{
		argv[n++] = "--clean";
		argv[n++] = "--if-exists";
	}
	if (so->no_owner)
	{
		argv[n++] = "--no-owner";
	}
	if (so->no_acl)
	{
		argv[n++] = "--no-acl";
	}
	if (so->no_comments)
	{
		argv[n++] = "--no-comments";
	}
	if (so->no_tablespaces)
	{
		argv[n++] = "--no-tablespaces";
	}
	argv[n++] = dumpfile;
	argv[n] = NULL;

	size_t off = file_size_of(so->log_path);
	int rc = spawn_run(argv, env, so->log_path);
	int nobject = 0;
	int nerr = log_child_errors(so->log_path, off, "pg_restore", so->tolerate_existing, &nobject);
	/*
	 * pg_restore exits 1 on any error it skipped; what counts is what we
	 * counted. --restore-tolerance N lets up to N objects fail (each logged
	 * above), never an error that is not one object's statement.
	 */
	bool tolerable = nerr > 0 && nerr == nobject && nobject <= so->tolerance;
	bool ok =
		(rc == 0 || (rc == 1 && (so->tolerate_existing || tolerable))) && (nerr == 0 || tolerable);
	if (ok && tolerable)
	{
		log_warn("pg_restore of the %s section: %d object(s) failed, tolerated by "
				 "--restore-tolerance %d",
				 section, nobject, so->tolerance);
	}
	if (!ok)
	{
		log_error("pg_restore of the %s section failed (exit code %d, %d errors)", section, rc,
				  nerr);
		log_detail(LOG_LEVEL_ERROR, "Its output is in \"%s\"; the list used is \"%s\".",
				   so->log_path, listfile);
	}
	free(optenv);
	free(listopt);
	free(sectopt);
	free(jobsopt);
	schema_child_conn_free(&cc);
	return ok;
}

int
schema_clean(const char *dumpfile, const char *listfile, const char *script_path,
			 const char *log_path, PgConn *target)
{
	char *fileopt = xasprintf("--file=%s", script_path);
	char *listopt = xasprintf("--use-list=%s", listfile);
	const char *argv[] = { "pg_restore",
						   "--clean",
						   "--if-exists",
						   "--section=pre-data",
						   "--section=post-data",
						   listopt,
						   fileopt,
						   dumpfile,
						   NULL };
	int rc = spawn_run(argv, NULL, log_path);
	free(fileopt);
	free(listopt);
	if (rc != 0)
	{
		log_error("pg_restore --clean of \"%s\" failed (exit code %d)", dumpfile, rc);
		return -1;
	}
	size_t len;
	char *text = file_read_all(script_path, &len);
	if (text == NULL)
	{
		return -1;
	}
	/* the DROP statements come first, one per line, after the SET header */
	int nfail = 0, ndrop = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
	{
		if (line[0] == '\0' || strncmp(line, "--", 2) == 0 || strncmp(line, "SET ", 4) == 0 ||
			strncmp(line, "SELECT pg_catalog.set_config", 28) == 0 || line[0] == '\\')
		{
			continue;
		}
		if (strncmp(line, "CREATE ", 7) == 0)
		{
			break; /* the creation part of the script starts */
		}
		bool is_drop = strncmp(line, "DROP ", 5) == 0 ||
					   strncmp(line, "SELECT pg_catalog.lo_unlink(", 28) == 0 ||
					   (strncmp(line, "ALTER ", 6) == 0 && strstr(line, " DROP ") != NULL);
		if (!is_drop)
		{
			continue;
		}
		ndrop++;
		target->quiet_errors = true;
		if (!pg_exec(target, line))
		{
			/* a partition's inherited key goes with its table a few statements later */
			bool benign = target->errmsg != NULL && strstr(target->errmsg, "inherited") != NULL;
			LogLevel lvl = benign ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN;
			log_msg(lvl, "target: could not drop: %s", target->errmsg ? target->errmsg : "");
			log_detail(lvl, "Statement: %s", line);
			nfail += benign ? 0 : 1;
		}
		target->quiet_errors = false;
	}
	free(text);
	log_info("--drop-if-exists: ran %d DROP statements on the target (%d failed)", ndrop, nfail);
	return nfail;
}

bool
schema_restore_flush(PgConn *target)
{
	return pg_exec(target, "BEGIN") && pg_exec(target, "SELECT pg_catalog.txid_current()") &&
		   pg_exec(target, "COMMIT");
}
