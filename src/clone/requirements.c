/*
 * src/clone/requirements.c — --requirements FILE: the extension versions to
 * create on the target, instead of the target's default ones.
 *
 * The file is pgcopydb's format (what `list extensions --requirements
 * --json` prints): a JSON array of {"name": ..., "version": ...}. pg_restore
 * creates each extension with CREATE EXTENSION IF NOT EXISTS, at the
 * target's default version. So an extension listed (that the source has) is
 * created first, at the version asked for, in the schema it has on the
 * source, with CASCADE for what it needs; pg_restore then finds it there.
 * Its schema must exist for that: an extension whose schema the pre-data
 * section creates is created by pg_restore, then moved to the version asked
 * for with ALTER EXTENSION ... UPDATE TO, after the section. A version the
 * target cannot install, or cannot reach by an update path, is an error
 * naming the extension and the versions the target offers.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clone/clone.h"

typedef struct Requirement
{
	char *name;
	char *version;
	char *schema;  /* on the source; NULL when the source does not have it */
	bool excluded; /* by --filters: left alone */
} Requirement;

typedef struct Requirements
{
	Requirement *items;
	int n;
} Requirements;

static void
requirements_free(Requirements *r)
{
	for (int i = 0; i < r->n; i++)
	{
		free(r->items[i].name);
		free(r->items[i].version);
		free(r->items[i].schema);
	}
	free(r->items);
	memset(r, 0, sizeof(*r));
}

/* Reads the file; false (logged) when it is not an array of {name, version}. */
static bool
requirements_read(const char *path, Requirements *r)
{
	memset(r, 0, sizeof(*r));
	json_error_t err;
	json_t *root = json_load_file(path, 0, &err);
	if (root == NULL || !json_is_array(root))
	{
		log_error("cannot read the requirements file \"%s\": %s", path,
				  root == NULL ? err.text : "expected a JSON array");
		log_hint(LOG_LEVEL_ERROR,
				 "The file is a JSON array of {\"name\": \"postgis\", \"version\": "
				 "\"3.3.2\"} objects, as \"pgshift list extensions "
				 "--requirements --json\" prints.");
		json_decref(root);
		return false;
	}
	r->items = xcalloc(json_array_size(root) + 1, sizeof(Requirement));
	for (size_t i = 0; i < json_array_size(root); i++)
	{
		json_t *o = json_array_get(root, i);
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *version = json_string_value(json_object_get(o, "version"));
		if (name == NULL || version == NULL)
		{
			log_error("requirements file \"%s\": entry %zu has no \"name\" and \"version\" strings",
					  path, i + 1);
			json_decref(root);
			requirements_free(r);
			return false;
		}
		r->items[r->n].name = xstrdup(name);
		r->items[r->n].version = xstrdup(version);
		r->n++;
	}
	json_decref(root);
	return true;
}

/* Each requirement's schema on the source (NULL: the source has no such extension). */
static bool
requirements_locate(const CloneSpec *spec, Requirements *r)
{
	PgConn src;
	if (!pg_connect(&src, spec->source, "source", "requirements", 0))
	{
		pg_disconnect(&src);
		return false;
	}
	bool ok = true;
	for (int i = 0; ok && i < r->n; i++)
	{
		const char *p[] = { r->items[i].name };
		if (r->items[i].excluded)
		{
			continue;
		}
		ok = pg_query_value(&src,
							"SELECT n.nspname FROM pg_catalog.pg_extension e "
							"JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
							"WHERE e.extname = $1",
							1, p, &r->items[i].schema);
		if (ok && r->items[i].schema == NULL)
		{
			log_notice("requirements: the source has no extension \"%s\"; left out",
					   r->items[i].name);
		}
	}
	pg_disconnect(&src);
	return ok;
}

/* Logs the versions of the extension the target can install, as a hint. */
static void
hint_available(PgConn *tgt, const char *name)
{
	const char *p[] = { name };
	char *versions = NULL;
	if (pg_query_value(tgt,
					   "SELECT string_agg(version, ', ' ORDER BY version) "
					   "FROM pg_catalog.pg_available_extension_versions WHERE name = $1",
					   1, p, &versions))
	{
		log_hint(LOG_LEVEL_ERROR, "The target offers %s \"%s\" versions: %s.", name,
				 versions ? "these" : "no", versions ? versions : "none");
	}
	free(versions);
}

/* Runs sql on the target; on failure, says which extension and what the target offers. */
static bool
requirement_exec(PgConn *tgt, const Requirement *q, const char *verb, char *sql)
{
	bool ok = pg_exec(tgt, sql);
	free(sql);
	if (!ok)
	{
		log_error("requirements: cannot %s extension \"%s\" at version %s", verb, q->name,
				  q->version);
		hint_available(tgt, q->name);
		return false;
	}
	log_info("requirements: extension \"%s\" at version %s (%s)", q->name, q->version, verb);
	return true;
}

/* Before the pre-data section: creates the extensions whose schema the target has. */
static bool
requirements_create(PgConn *tgt, const Requirements *r)
{
	for (int i = 0; i < r->n; i++)
	{
		const Requirement *q = &r->items[i];
		const char *ps[] = { q->schema };
		char *has_schema = NULL;
		if (q->schema == NULL)
		{
			continue;
		}
		if (!pg_query_value(tgt, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", 1, ps,
							&has_schema))
		{
			return false;
		}
		if (has_schema == NULL)
		{
			continue; /* its schema comes with the pre-data section: updated after it */
		}
		free(has_schema);
		char *qn = pg_quote_ident(q->name);
		char *qs = pg_quote_ident(q->schema);
		char *qv = pg_quote_literal(q->version);
		char *sql = xasprintf("CREATE EXTENSION IF NOT EXISTS %s WITH SCHEMA %s VERSION %s CASCADE",
							  qn, qs, qv);
		free(qn);
		free(qs);
		free(qv);
		if (!requirement_exec(tgt, q, "create", sql))
		{
			return false;
		}
	}
	return true;
}

/* After it: moves those pg_restore created at another version to theirs. */
static bool
requirements_update(PgConn *tgt, const Requirements *r)
{
	for (int i = 0; i < r->n; i++)
	{
		const Requirement *q = &r->items[i];
		const char *pn[] = { q->name };
		char *installed = NULL;
		if (q->excluded)
		{
			continue;
		}
		if (!pg_query_value(tgt,
							"SELECT extversion FROM pg_catalog.pg_extension WHERE extname = $1", 1,
							pn, &installed))
		{
			return false;
		}
		bool same = installed == NULL || strcmp(installed, q->version) == 0;
		free(installed);
		if (same)
		{
			continue; /* as asked, or left out of the restore (filters, --skip-extensions) */
		}
		char *qn = pg_quote_ident(q->name);
		char *qv = pg_quote_literal(q->version);
		char *sql = xasprintf("ALTER EXTENSION %s UPDATE TO %s", qn, qv);
		free(qn);
		free(qv);
		if (!requirement_exec(tgt, q, "update", sql))
		{
			return false;
		}
	}
	return true;
}

/*
 * Runs step (before or after the pre-data section) for spec's requirements
 * file; true with nothing to do when there is none.
 */
bool
clone_requirements(const CloneSpec *spec, const Filters *filters, bool before)
{
	if (spec->requirements == NULL || spec->skip_extensions)
	{
		return true;
	}
	Requirements r;
	if (!requirements_read(spec->requirements, &r))
	{
		return false;
	}
	for (int i = 0; filters != NULL && filters->active && i < r.n; i++)
	{
		if (filters_extension_excluded(filters, r.items[i].name))
		{
			r.items[i].excluded = true;
		}
	}
	PgConn tgt;
	memset(&tgt, 0, sizeof(tgt));
	/* after: what the target has decides (no extension there: nothing to update) */
	bool ok = (!before || requirements_locate(spec, &r)) &&
			  pg_connect(&tgt, spec->target, "target", "requirements", 0);
	ok = ok && (before ? requirements_create(&tgt, &r) : requirements_update(&tgt, &r));
	pg_disconnect(&tgt);
	requirements_free(&r);
	return ok;
}
