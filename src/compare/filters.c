/*
 * src/compare/filters.c — --filters for compare: the same file as clone's.
 *
 * Every object compare reads passes through compare_filter_keep() with its
 * kind, schema and name (for a column, index, constraint or trigger: its
 * table's). Excluded schemas and tables are not compared; a table whose data
 * is excluded ([exclude-table-data]) has its schema compared but not its rows;
 * an excluded index is not compared. The filters are loaded once, before any
 * worker thread starts, and only read afterwards.
 */
#include "compare/compare.h"

#include <stdbool.h>
#include <string.h>

#include "catalog/catalog.h"

static Filters g_filters;

bool
compare_filter_load(const CompareSpec *spec)
{
	if (spec->filters == NULL || spec->filters[0] == '\0')
	{
		return true;
	}
	return filters_load(spec->filters, &g_filters);
}

bool
compare_filter_keep(const char *kind, const char *nspname, const char *objname)
{
	const Filters *f = &g_filters;
	if (!f->active || nspname == NULL)
	{
		return true;
	}
	if (filters_schema_excluded(f, nspname))
	{
		return false;
	}
	if (strcmp(kind, "schema") == 0 || strcmp(kind, "extension") == 0)
	{
		return strcmp(kind, "extension") != 0 || !filters_extension_excluded(f, objname);
	}
	if (objname == NULL)
	{
		return true;
	}
	if (strcmp(kind, "index") == 0 &&
		filters_name_listed(f->exclude_index, f->n_exclude_index, nspname, objname))
	{
		return false;
	}
	bool tablelike = strcmp(kind, "function") != 0 && strcmp(kind, "type") != 0 &&
					 strcmp(kind, "sequence") != 0 && strcmp(kind, "view") != 0;
	if (!tablelike)
	{
		return true;
	}
	if (f->n_include_only_table > 0 &&
		!filters_name_listed(f->include_only_table, f->n_include_only_table, nspname, objname))
	{
		return false;
	}
	if (filters_name_listed(f->exclude_table, f->n_exclude_table, nspname, objname))
	{
		return false;
	}
	/* rows of [exclude-table-data] tables are not copied: do not compare them */
	if (strcmp(kind, "table-data") == 0 &&
		filters_name_listed(f->exclude_table_data, f->n_exclude_table_data, nspname, objname))
	{
		return false;
	}
	return true;
}
