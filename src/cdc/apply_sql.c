/*
 * src/cdc/apply_sql.c — the SQL of the applier's prepared statements.
 *
 * One statement per relation, kind and mask (see cdc_int.h); its
 * parameters are the columns' text values. An UPDATE or DELETE finds its row
 * by the key (col = $n), or, for a REPLICA IDENTITY FULL table, by every
 * column of the old row compared as text (IS NOT DISTINCT FROM, NULLs
 * included) through ctid, LIMIT 1: duplicate rows are changed one at a time,
 * as on the source.
 */
#include "cdc/cdc.h"
#include "cdc/cdc_int.h"

int
apply_sql_build(const CdcRelation *r, char kind, const char *mask, StrBuf *sql, int *map)
{
	bool full = r->replident == 'f';
	int np = 0;
	if (kind == 'I')
	{
		sb_printf(sql, "INSERT INTO %s (", r->qname);
		int k = 0;
		for (int i = 0; i < r->ncols; i++)
		{
			if (mask[i] == 's')
			{
				sb_append(sql, k++ ? ", " : "");
				sb_append_ident(sql, r->cols[i].name);
			}
		}
		/* identity columns GENERATED ALWAYS take the source's values too */
		sb_append(sql, ") OVERRIDING SYSTEM VALUE VALUES (");
		for (int i = 0; i < r->ncols; i++)
		{
			if (mask[i] == 's')
			{
				map[np] = i;
				sb_printf(sql, "%s$%d", np ? ", " : "", np + 1);
				np++;
			}
		}
		sb_append(sql, ")");
	}
	else
	{
		if (kind == 'U')
		{
			sb_printf(sql, "UPDATE %s SET ", r->qname);
			for (int i = 0; i < r->ncols; i++)
			{
				if (mask[i] == 's')
				{
					sb_append(sql, np ? ", " : "");
					sb_append_ident(sql, r->cols[i].name);
					map[np] = i;
					sb_printf(sql, " = $%d", np + 1);
					np++;
				}
			}
		}
		else
		{
			sb_printf(sql, "DELETE FROM %s", r->qname);
		}
		/* WHERE: second half of the mask */
		StrBuf cond;
		sb_init(&cond);
		int nc = 0;
		for (int i = 0; i < r->ncols; i++)
		{
			char w = mask[r->ncols + i];
			if (w != 'k' && w != 'n' && w != 'z')
			{
				continue;
			}
			sb_append(&cond, nc++ ? " AND " : "");
			sb_append_ident(&cond, r->cols[i].name);
			if (w == 'z')
			{
				sb_append(&cond, " IS NULL");
				continue;
			}
			if (full)
			{
				sb_printf(&cond, "::text IS NOT DISTINCT FROM $%d", np + 1);
			}
			else
			{
				sb_printf(&cond, " = $%d", np + 1);
			}
			map[np] = w == 'k' ? r->ncols + i : i;
			np++;
		}
		if (full)
		{
			sb_printf(sql, " WHERE ctid = (SELECT ctid FROM %s WHERE %s LIMIT 1)", r->qname,
					  nc ? cond.data : "true");
		}
		else
		{
			sb_printf(sql, " WHERE %s", nc ? cond.data : "false");
		}
		sb_free(&cond);
	}
	return np;
}
