/*
 * src/clone/steps.c — the one-shot steps: sequences and database settings;
 * and the snapshot every source session of a run reads in.
 *
 * The steps run once, in the main thread, after the task graph (sequences)
 * or with the schema (settings): each failure is one line of the run's
 * failures, never a stop.
 */
#include "clone/clone.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
clone_copy_sequences(CloneRun *run, PgConn *target)
{
	int n = 0;
	bool ok = catalog_apply_sequences(target, &run->cat, &n);
	if (ok)
	{
		log_info("set %d sequences", n);
	}
	return ok;
}

/* GUCs whose value is a list of quoted elements (GUC_LIST_QUOTE). */
static bool
guc_is_list(const char *name)
{
	static const char *const lists[] = { "search_path",
										 "temp_tablespaces",
										 "session_preload_libraries",
										 "shared_preload_libraries",
										 "local_preload_libraries",
										 "unix_socket_directories",
										 NULL };
	for (int i = 0; lists[i] != NULL; i++)
	{
		if (strcmp(name, lists[i]) == 0)
		{
			return true;
		}
	}
	return false;
}

/* Appends the elements of a flattened GUC list ("a, \"B c\"") as literals. */
static void
append_guc_list(StrBuf *sb, const char *value)
{
	const char *p = value;
	bool first = true;
	while (*p)
	{
		while (isspace((unsigned char) *p) || *p == ',')
		{
			p++;
		}
		if (!*p)
		{
			break;
		}
		StrBuf elem;
		sb_init(&elem);
		if (*p == '"')
		{
			p++;
			while (*p && !(*p == '"' && p[1] != '"'))
			{
				if (*p == '"')
				{
					p++;
				}
				sb_append_char(&elem, *p++);
			}
			if (*p == '"')
			{
				p++;
			}
		}
		else
		{
			while (*p && *p != ',' && !isspace((unsigned char) *p))
			{
				sb_append_char(&elem, *p++);
			}
		}
		if (!first)
		{
			sb_append(sb, ", ");
		}
		sb_append_literal(sb, elem.data);
		sb_free(&elem);
		first = false;
	}
	if (first)
	{
		sb_append(sb, "''");
	}
}

bool
clone_copy_db_properties(CloneRun *run, PgConn *target)
{
	bool ok = true;
	for (int i = 0; i < run->cat.db_settings.n; i++)
	{
		const char *setting = run->cat.db_settings.items[i];
		const char *eq = strchr(setting, '=');
		if (eq == NULL)
		{
			continue;
		}
		char *name = xstrndup(setting, (size_t) (eq - setting));
		StrBuf sql;
		sb_init(&sql);
		sb_append(&sql, "ALTER DATABASE ");
		sb_append_ident(&sql, run->target_db);
		sb_append(&sql, " SET ");
		sb_append_ident(&sql, name);
		sb_append(&sql, " TO ");
		if (guc_is_list(name))
		{
			append_guc_list(&sql, eq + 1);
		}
		else
		{
			sb_append_literal(&sql, eq + 1);
		}
		if (!pg_exec(target, sql.data))
		{
			strlist_add_owned(&run->failures,
							  xasprintf("database setting %s: %s", name, target->errmsg));
			ok = false;
		}
		else
		{
			log_info("database setting: %s", setting);
		}
		sb_free(&sql);
		free(name);
	}
	return ok;
}
