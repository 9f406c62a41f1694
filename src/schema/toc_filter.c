/*
 * src/schema/toc_filter.c — what pgshift leaves out of pg_restore's archive lists.
 *
 * Each entry of a `pg_restore -l` list is kept or marked skipped with the
 * reason, which the written --use-list file keeps as a comment: an entry is
 * left out only with a reason a user can read back (`restore parse-list`).
 * The lines name objects unquoted (a schema name may hold spaces), so entries
 * known by name only are matched against the source's own schema names,
 * longest first, never by splitting on blanks alone.
 */
#include "schema/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg.h"

void
toc_filter_free(TocFilter *f)
{
	free(f->skip_oids);
	f->skip_oids = NULL;
	f->nskip_oids = 0;
	strlist_free(&f->skip_names);
	strlist_free(&f->skip_schemas);
	strlist_free(&f->all_schemas);
}

static bool
oid_in(const SchemaOid *set, int n, SchemaOid oid)
{
	for (int i = 0; i < n; i++)
	{
		if (set[i] == oid)
		{
			return true;
		}
	}
	return false;
}

/* Is one of the "schema name" strings the start of rest (followed by a space)? */
static bool
strlist_prefix_of(const StrList *l, const char *rest)
{
	for (int i = 0; i < l->n; i++)
	{
		size_t n = strlen(l->items[i]);
		if (strncmp(rest, l->items[i], n) == 0 && rest[n] == ' ')
		{
			return true;
		}
	}
	return false;
}

/*
 * The schema an entry's "rest" starts with. pg_restore -l prints names
 * unquoted, and a schema name may hold spaces: match the longest known one.
 * Returns the schema (caller frees) and sets *after past it, or NULL.
 */
static char *
toc_namespace(const TocFilter *f, const char *rest, const char **after)
{
	size_t best = 0;
	for (int i = 0; i < f->all_schemas.n; i++)
	{
		size_t n = strlen(f->all_schemas.items[i]);
		if (n > best && strncmp(rest, f->all_schemas.items[i], n) == 0 && rest[n] == ' ')
		{
			best = n;
		}
	}
	if (best == 0)
	{
		size_t n = strcspn(rest, " ");
		if (rest[n] != ' ')
		{
			return NULL;
		}
		best = n;
	}
	*after = rest + best + 1;
	return xstrndup(rest, best);
}

/* Does a COMMENT/ACL/SECURITY LABEL entry's tag name an excluded relation? */
static bool
toc_names_skipped(const TocFilter *f, const TocEntry *e)
{
	/* rest: "<schema> <KIND> <name>[.<column>] <owner>" */
	const char *kind = NULL;
	char *nsp = toc_namespace(f, e->rest, &kind);
	if (nsp == NULL)
	{
		return false;
	}
	const char *name = strchr(kind, ' ');
	bool hit = false;
	if (name != NULL)
	{
		name++;
		for (int i = 0; i < f->skip_names.n && !hit; i++)
		{
			const char *full = f->skip_names.items[i];
			size_t nl = strlen(nsp);
			if (strncmp(full, nsp, nl) != 0 || full[nl] != ' ')
			{
				continue;
			}
			/* the tag names the relation as fmtId() does: bare, or quoted if needed */
			const char *rel = full + nl + 1;
			char *qrel = pg_quote_ident(rel);
			const char *forms[] = { rel, qrel };
			for (int k = 0; k < 2 && !hit; k++)
			{
				size_t rl = strlen(forms[k]);
				hit = strncmp(name, forms[k], rl) == 0 && (name[rl] == ' ' || name[rl] == '.');
			}
			free(qrel);
		}
	}
	free(nsp);
	return hit;
}

/* What --filters leaves out of either section. */
void
toc_filter_common(const TocFilter *f, TocList *l, bool quiet)
{
	if (f->filters == NULL || !f->filters->active)
	{
		return;
	}
	for (int i = 0; i < l->n; i++)
	{
		TocEntry *e = &l->entries[i];
		if (e->skip != NULL)
		{
			continue;
		}
		if (oid_in(f->skip_oids, f->nskip_oids, e->oid) && e->oid != 0)
		{
			e->skip = "--filters: depends on an excluded table";
		}
		else if ((strcmp(e->desc, "COMMENT") == 0 || strcmp(e->desc, "ACL") == 0 ||
				  strcmp(e->desc, "SECURITY LABEL") == 0) &&
				 toc_names_skipped(f, e))
		{
			e->skip = "--filters: about an excluded table";
		}
		else if ((e->oid == 0 || strcmp(e->desc, "INDEX ATTACH") == 0 ||
				  strcmp(e->desc, "TABLE ATTACH") == 0) &&
				 strlist_prefix_of(&f->skip_names, e->rest))
		{
			/* SEQUENCE OWNED BY, INDEX ATTACH...: entries known by name only */
			e->skip = "--filters: about an excluded table";
		}
		else if ((strcmp(e->desc, "COMMENT") == 0 || strcmp(e->desc, "ACL") == 0 ||
				  strcmp(e->desc, "SECURITY LABEL") == 0) &&
				 strncmp(e->rest, "- SCHEMA ", 9) == 0 &&
				 strlist_prefix_of(&f->skip_schemas, e->rest + 9))
		{
			e->skip = "--filters: about an excluded schema";
		}
		else if (strcmp(e->desc, "EXTENSION") == 0)
		{
			const char *name = strchr(e->rest, ' ');
			char *ext = name ? xstrndup(name + 1, strcspn(name + 1, " ")) : xstrdup("");
			if (filters_extension_excluded(f->filters, ext))
			{
				e->skip = "--filters: excluded extension";
			}
			free(ext);
		}
		else if (strcmp(e->desc, "SCHEMA") == 0)
		{
			/* "- name owner" */
			const char *name = e->rest[0] == '-' ? e->rest + 2 : e->rest;
			if (strlist_prefix_of(&f->skip_schemas, name))
			{
				e->skip = "--filters: excluded schema";
			}
		}
		else if (e->rest[0] != '-' && strlist_prefix_of(&f->skip_schemas, e->rest))
		{
			e->skip = "--filters: in an excluded schema";
		}
		if (e->skip != NULL && !quiet)
		{
			log_notice("filters: leaving out %s %s", e->desc, e->rest);
		}
	}
}

void
toc_filter_predata(const TocFilter *f, TocList *l)
{
	toc_filter_common(f, l, false);
	for (int i = 0; i < l->n; i++)
	{
		TocEntry *e = &l->entries[i];
		bool on_ext = strncmp(e->rest, "- EXTENSION ", 12) == 0;
		bool on_lo = strstr(e->rest, "LARGE OBJECT ") != NULL;
		if (e->skip != NULL)
		{
			continue;
		}
		if (f->skip_extensions &&
			(strcmp(e->desc, "EXTENSION") == 0 || (strcmp(e->desc, "COMMENT") == 0 && on_ext)))
		{
			e->skip = "--skip-extensions";
		}
		else if (f->skip_collations && strcmp(e->desc, "COLLATION") == 0)
		{
			e->skip = "--skip-collations";
		}
		else if (f->skip_ext_comments && strcmp(e->desc, "COMMENT") == 0 && on_ext)
		{
			e->skip = "--skip-ext-comments";
		}
		else if (f->skip_large_objects &&
				 (strcmp(e->desc, "BLOB") == 0 || strcmp(e->desc, "BLOB METADATA") == 0 ||
				  strcmp(e->desc, "LARGE OBJECT") == 0 ||
				  ((strcmp(e->desc, "ACL") == 0 || strcmp(e->desc, "COMMENT") == 0) && on_lo)))
		{
			e->skip = "--skip-large-objects";
		}
	}
}

/* A publication, a table or schema it publishes, or a comment/ACL/label on one. */
static bool
toc_is_publication(const TocEntry *e)
{
	return strncmp(e->desc, "PUBLICATION", 11) == 0 ||
		   ((strcmp(e->desc, "COMMENT") == 0 || strcmp(e->desc, "SECURITY LABEL") == 0) &&
			strncmp(e->rest, "- PUBLICATION ", 14) == 0);
}

void
toc_filter_publications(const TocFilter *f, TocList *l)
{
	for (int i = 0; f->skip_publications && i < l->n; i++)
	{
		TocEntry *e = &l->entries[i];
		if (e->skip == NULL && toc_is_publication(e))
		{
			e->skip = "--skip-publications";
		}
	}
}

void
toc_filter_postdata(const TocFilter *f, TocList *l, const SchemaOid *built, int nb,
					const SchemaOid *excl, int ne)
{
	toc_filter_common(f, l, false);
	for (int i = 0; i < l->n; i++)
	{
		TocEntry *e = &l->entries[i];
		bool index = strcmp(e->desc, "INDEX") == 0 || strcmp(e->desc, "CONSTRAINT") == 0;
		if (e->skip != NULL)
		{
			continue;
		}
		if (index && oid_in(excl, ne, e->oid))
		{
			e->skip = "--filters: [exclude-index]";
			log_notice("filters: leaving out %s %s", e->desc, e->rest);
		}
		else if ((index || strcmp(e->desc, "FK CONSTRAINT") == 0) && oid_in(built, nb, e->oid))
		{
			e->skip = "built by pgshift";
		}
		else if (strcmp(e->desc, "MATERIALIZED VIEW DATA") == 0 && oid_in(built, nb, e->oid))
		{
			e->skip = "refreshed by pgshift";
		}
	}
	toc_filter_publications(f, l);
}
