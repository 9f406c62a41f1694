/*
 * src/catalog/filters.c — the --filters file: parsing and applying to the catalog.
 *
 * The format is pgcopydb's ini format, so existing filter files work as is.
 * Names follow SQL rules: unquoted names are folded to lower case, quoted
 * ones ("Mixed Case") are taken as written, with "" for a double quote.
 */
#include "catalog/catalog.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum Section
{
	SEC_NONE = -1,
	SEC_INCLUDE_ONLY_SCHEMA = 0,
	SEC_EXCLUDE_SCHEMA,
	SEC_INCLUDE_ONLY_TABLE,
	SEC_EXCLUDE_TABLE,
	SEC_EXCLUDE_INDEX,
	SEC_EXCLUDE_TABLE_DATA,
	SEC_EXCLUDE_EXTENSION,
	SEC_INCLUDE_ONLY_EXTENSION,
	SEC_N
} Section;

static const char *const g_sections[SEC_N] = { "include-only-schema", "exclude-schema",
											   "include-only-table",  "exclude-table",
											   "exclude-index",       "exclude-table-data",
											   "exclude-extension",   "include-only-extension" };

static QualName **
section_list(Filters *f, Section s, int **count)
{
	switch (s)
	{
		case SEC_INCLUDE_ONLY_SCHEMA:
			*count = &f->n_include_only_schema;
			return &f->include_only_schema;
		case SEC_EXCLUDE_SCHEMA:
			*count = &f->n_exclude_schema;
			return &f->exclude_schema;
		case SEC_INCLUDE_ONLY_TABLE:
			*count = &f->n_include_only_table;
			return &f->include_only_table;
		case SEC_EXCLUDE_TABLE:
			*count = &f->n_exclude_table;
			return &f->exclude_table;
		case SEC_EXCLUDE_INDEX:
			*count = &f->n_exclude_index;
			return &f->exclude_index;
		case SEC_EXCLUDE_TABLE_DATA:
			*count = &f->n_exclude_table_data;
			return &f->exclude_table_data;
		case SEC_EXCLUDE_EXTENSION:
			*count = &f->n_exclude_extension;
			return &f->exclude_extension;
		case SEC_INCLUDE_ONLY_EXTENSION:
			*count = &f->n_include_only_extension;
			return &f->include_only_extension;
		default:
			break;
	}
	*count = NULL;
	return NULL;
}

/* One SQL name at p: quoted or folded to lower case; returns the end or NULL. */
static const char *
parse_name(const char *p, char **out)
{
	StrBuf sb;
	sb_init(&sb);
	if (*p == '"')
	{
		p++;
		for (;;)
		{
			if (*p == '\0')
			{
				sb_free(&sb);
				return NULL;
			}
			if (*p == '"' && p[1] == '"')
			{
				sb_append_char(&sb, '"');
				p += 2;
			}
			else if (*p == '"')
			{
				p++;
				break;
			}
			else
			{
				sb_append_char(&sb, *p++);
			}
		}
	}
	else
	{
		while (*p && *p != '.' && !isspace((unsigned char) *p))
		{
			sb_append_char(&sb, (char) tolower((unsigned char) *p));
			p++;
		}
		if (sb.len == 0)
		{
			sb_free(&sb);
			return NULL;
		}
	}
	*out = sb_steal(&sb);
	return p;
}

/*
 * A "[section]" line (p, the closing bracket included): sets *cur, records the
 * section's first line and rejects an unknown section or one that contradicts
 * an earlier one.
 */
static bool
filters_section(const char *path, int lineno, char *p, int *first_line, Section *cur)
{
	char *close = strchr(p, ']');
	if (close == NULL)
	{
		log_error("%s:%d: malformed section header \"%s\"", path, lineno, p);
		return false;
	}
	*close = '\0';
	*cur = SEC_NONE;
	for (int i = 0; i < SEC_N; i++)
	{
		if (strcmp(p + 1, g_sections[i]) == 0)
		{
			*cur = (Section) i;
		}
	}
	if (*cur == SEC_NONE)
	{
		log_error("%s:%d: unknown section [%s]", path, lineno, p + 1);
		log_hint(LOG_LEVEL_ERROR, "Sections are include-only-schema, exclude-schema, "
								  "include-only-table, exclude-table, exclude-index, "
								  "exclude-table-data, exclude-extension, "
								  "include-only-extension.");
		return false;
	}
	if (first_line[*cur] == 0)
	{
		first_line[*cur] = lineno;
	}
	static const Section clash[][2] = {
		{ SEC_INCLUDE_ONLY_SCHEMA, SEC_EXCLUDE_SCHEMA },
		{ SEC_INCLUDE_ONLY_TABLE, SEC_EXCLUDE_TABLE },
		{ SEC_INCLUDE_ONLY_EXTENSION, SEC_EXCLUDE_EXTENSION },
	};
	bool ok = true;
	for (size_t k = 0; k < sizeof(clash) / sizeof(clash[0]); k++)
	{
		Section other =
			clash[k][0] == *cur ? clash[k][1] : (clash[k][1] == *cur ? clash[k][0] : SEC_NONE);
		if (other != SEC_NONE && first_line[other] != 0)
		{
			log_error("%s:%d: section [%s] contradicts [%s] at line %d", path, lineno,
					  g_sections[*cur], g_sections[other], first_line[other]);
			log_hint(LOG_LEVEL_ERROR, "Use either the include-only or the exclude form.");
			ok = false;
		}
	}
	return ok;
}

/* A name line p of section cur: parsed and appended to the section's list. */
static bool
filters_entry(Filters *f, const char *path, int lineno, const char *p, Section cur)
{
	if (cur == SEC_NONE)
	{
		log_error("%s:%d: \"%s\" is outside of any section", path, lineno, p);
		return false;
	}
	bool qualified = cur != SEC_INCLUDE_ONLY_SCHEMA && cur != SEC_EXCLUDE_SCHEMA &&
					 cur != SEC_EXCLUDE_EXTENSION && cur != SEC_INCLUDE_ONLY_EXTENSION;
	char *a = NULL, *b = NULL;
	const char *q = parse_name(p, &a);
	if (q != NULL && qualified)
	{
		if (*q != '.')
		{
			log_error("%s:%d: \"%s\" must be schema-qualified (schema.name)", path, lineno, p);
			free(a);
			return false;
		}
		q = parse_name(q + 1, &b);
	}
	if (q == NULL || *q != '\0')
	{
		log_error("%s:%d: cannot parse the name \"%s\"", path, lineno, p);
		free(a);
		free(b);
		return false;
	}
	int *count;
	QualName **list = section_list(f, cur, &count);
	*list = xrealloc(*list, sizeof(QualName) * (size_t) (*count + 1));
	(*list)[*count].nspname = qualified ? a : NULL;
	(*list)[*count].relname = qualified ? b : a;
	(*count)++;
	return true;
}

bool
filters_load(const char *path, Filters *f)
{
	memset(f, 0, sizeof(*f));
	size_t len;
	char *text = file_read_all(path, &len);
	if (text == NULL)
	{
		log_error("could not read filters file \"%s\"", path);
		return false;
	}
	f->active = true;
	Section cur = SEC_NONE;
	int first_line[SEC_N];
	for (int i = 0; i < SEC_N; i++)
	{
		first_line[i] = 0;
	}
	int lineno = 0;
	bool ok = true;
	char *line = text;
	while (ok && line != NULL)
	{
		char *nl = strchr(line, '\n');
		if (nl != NULL)
		{
			*nl = '\0';
		}
		lineno++;
		char *p = line;
		while (isspace((unsigned char) *p))
		{
			p++;
		}
		char *end = p + strlen(p);
		while (end > p && isspace((unsigned char) end[-1]))
		{
			*--end = '\0';
		}
		if (*p == '[')
		{
			ok = filters_section(path, lineno, p, first_line, &cur);
		}
		else if (*p != '\0' && *p != '#' && *p != ';')
		{
			ok = filters_entry(f, path, lineno, p, cur);
		}
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	if (!ok)
	{
		filters_free(f);
	}
	return ok;
}

void
filters_free(Filters *f)
{
	for (int s = 0; s < SEC_N; s++)
	{
		int *count;
		QualName **list = section_list(f, (Section) s, &count);
		for (int i = 0; i < *count; i++)
		{
			free((*list)[i].nspname);
			free((*list)[i].relname);
		}
		free(*list);
		*list = NULL;
		*count = 0;
	}
	f->active = false;
}

bool
filters_name_listed(const QualName *l, int n, const char *nsp, const char *name)
{
	for (int i = 0; i < n; i++)
	{
		if ((l[i].nspname == NULL || nsp == NULL || strcmp(l[i].nspname, nsp) == 0) &&
			strcmp(l[i].relname, name) == 0)
		{
			return true;
		}
	}
	return false;
}

bool
filters_schema_excluded(const Filters *f, const char *nspname)
{
	if (f == NULL || !f->active)
	{
		return false;
	}
	if (f->n_include_only_schema > 0 &&
		!filters_name_listed(f->include_only_schema, f->n_include_only_schema, NULL, nspname))
	{
		return true;
	}
	return filters_name_listed(f->exclude_schema, f->n_exclude_schema, NULL, nspname);
}

bool
filters_extension_excluded(const Filters *f, const char *extname)
{
	if (f == NULL || !f->active)
	{
		return false;
	}
	if (f->n_include_only_extension > 0 &&
		!filters_name_listed(f->include_only_extension, f->n_include_only_extension, NULL, extname))
	{
		return true;
	}
	return filters_name_listed(f->exclude_extension, f->n_exclude_extension, NULL, extname);
}

bool
filters_table_excluded(const Filters *f, const char *nspname, const char *relname)
{
	if (f == NULL || !f->active)
	{
		return false;
	}
	if (filters_schema_excluded(f, nspname))
	{
		return true;
	}
	if (f->n_include_only_table > 0 &&
		!filters_name_listed(f->include_only_table, f->n_include_only_table, nspname, relname))
	{
		return true;
	}
	return filters_name_listed(f->exclude_table, f->n_exclude_table, nspname, relname);
}

void
filters_apply(const Filters *f, Catalog *cat)
{
	if (f == NULL || !f->active)
	{
		return;
	}
	for (int i = 0; i < cat->ntables; i++)
	{
		CatTable *t = &cat->tables[i];
		t->excluded = filters_table_excluded(f, t->nspname, t->relname);
		t->exclude_data =
			!t->excluded && filters_name_listed(f->exclude_table_data, f->n_exclude_table_data,
												t->nspname, t->relname);
	}
	/* partitions and children follow their parent, whatever their own name says */
	for (int pass = 0; pass < 8; pass++)
	{
		bool changed = false;
		for (int i = 0; i < cat->ntables; i++)
		{
			CatTable *t = &cat->tables[i];
			CatTable *parent = t->parent_oid ? catalog_table(cat, t->parent_oid) : NULL;
			if (parent == NULL)
			{
				continue;
			}
			if (parent->excluded && !t->excluded)
			{
				t->excluded = true;
				changed = true;
			}
			/*
			 * [include-only-table] naming a partitioned table (or a parent)
			 * keeps its partitions: its rows live there, and the publication
			 * of the parent publishes theirs too.
			 */
			if (!parent->excluded && t->excluded && f->n_include_only_table > 0 &&
				!filters_schema_excluded(f, t->nspname) &&
				!filters_name_listed(f->exclude_table, f->n_exclude_table, t->nspname, t->relname))
			{
				t->excluded = false;
				changed = true;
			}
			if (parent->exclude_data && !t->exclude_data && !t->excluded)
			{
				t->exclude_data = true;
				changed = true;
			}
		}
		if (!changed)
		{
			break;
		}
	}
	for (int i = 0; i < cat->nindexes; i++)
	{
		CatIndex *x = &cat->indexes[i];
		CatTable *t = catalog_table(cat, x->table_oid);
		x->excluded =
			(t != NULL && t->excluded) ||
			filters_name_listed(f->exclude_index, f->n_exclude_index, x->nspname, x->relname);
	}
	for (int i = 0; i < cat->nfkeys; i++)
	{
		CatFkey *k = &cat->fkeys[i];
		CatTable *t = catalog_table(cat, k->table_oid);
		CatTable *r = catalog_table(cat, k->ref_table_oid);
		k->excluded = (t != NULL && t->excluded) || (r != NULL && r->excluded);
	}
	for (int i = 0; i < cat->nsequences; i++)
	{
		CatSequence *s = &cat->sequences[i];
		CatTable *owner = s->owner_table_oid ? catalog_table(cat, s->owner_table_oid) : NULL;
		s->excluded = filters_schema_excluded(f, s->nspname) || (owner != NULL && owner->excluded);
	}
}
