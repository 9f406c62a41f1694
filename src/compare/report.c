/*
 * src/compare/report.c — what compare prints: a table for people, or JSON.
 *
 * Human output: one line per object kind (schema) or per table (data), with
 * its counts and OK or DIFFERENT, each difference on indented lines below,
 * and a summary line at the end. --json prints one document with the same
 * facts (see docs/compare.md for its shape). Reports go to stdout; log
 * lines go to stderr.
 */
#include "compare/compare.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHORT_VALUE 80

void
cmp_format_sum(uint64_t sum, char *buf, size_t size)
{
	snprintf(buf, size, "%016llx", (unsigned long long) sum);
}

static void
print_json(json_t *root)
{
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s != NULL)
	{
		printf("%s\n", s);
		free(s);
	}
	json_decref(root);
	fflush(stdout);
}

json_t *
cmp_json_text(const char *s)
{
	json_t *j = json_string(s);
	if (j != NULL)
	{
		return j;
	}
	char *copy = xstrdup(s);
	for (char *p = copy; *p; p++)
	{
		if ((unsigned char) *p >= 0x80)
		{
			*p = '?';
		}
	}
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *
json_str_or_null(const char *s)
{
	return s != NULL ? cmp_json_text(s) : json_null();
}

/* ---- schema ---- */

static const char *
diff_name(CmpDiffKind k)
{
	switch (k)
	{
		case CMP_DIFF_ONLY_SOURCE:
			return "only on source";
		case CMP_DIFF_ONLY_TARGET:
			return "only on target";
		case CMP_DIFF_DIFFERS:
			return "differs";
	}
	return "?";
}

/* Appends the n-th line (0-based) of s, cut at SHORT_VALUE bytes, quoted. */
static void
append_line(StrBuf *sb, const char *s, int n)
{
	const char *p = s;
	for (int i = 0; i < n && p != NULL; i++)
	{
		p = strchr(p, '\n');
		if (p != NULL)
		{
			p++;
		}
	}
	if (p == NULL)
	{
		sb_append(sb, "(no such line)");
		return;
	}
	const char *end = strchr(p, '\n');
	size_t len = end ? (size_t) (end - p) : strlen(p);
	sb_append_char(sb, '"');
	sb_append_n(sb, p, len > SHORT_VALUE ? SHORT_VALUE : len);
	if (len > SHORT_VALUE)
	{
		sb_append(sb, "...");
	}
	sb_append_char(sb, '"');
}

/* "default (source: 'x'::text, target: none)", or the first differing line. */
static void
append_attr_diff(StrBuf *sb, const CmpAttrDiff *a)
{
	const char *s = a->source;
	const char *t = a->target;
	bool short_s = s == NULL || (strchr(s, '\n') == NULL && strlen(s) <= SHORT_VALUE);
	bool short_t = t == NULL || (strchr(t, '\n') == NULL && strlen(t) <= SHORT_VALUE);
	if ((short_s && short_t) || s == NULL || t == NULL)
	{
		sb_printf(sb, "%s (source: ", a->attr);
		if (s == NULL)
		{
			sb_append(sb, "none");
		}
		else if (short_s)
		{
			sb_append(sb, s);
		}
		else
		{
			append_line(sb, s, 0);
		}
		sb_append(sb, ", target: ");
		if (t == NULL)
		{
			sb_append(sb, "none");
		}
		else if (short_t)
		{
			sb_append(sb, t);
		}
		else
		{
			append_line(sb, t, 0);
		}
		sb_append_char(sb, ')');
		return;
	}
	/* long or multi-line values: the first line that differs */
	int line = 1;
	for (const char *p = s, *q = t; *p && *q && *p == *q; p++, q++)
	{
		if (*p == '\n')
		{
			line++;
		}
	}
	sb_printf(sb, "%s (first difference at line %d: source ", a->attr, line);
	append_line(sb, s, line - 1);
	sb_append(sb, ", target ");
	append_line(sb, t, line - 1);
	sb_append_char(sb, ')');
}

static void
print_schema_text(const CmpSchemaReport *r)
{
	printf("%-12s %8s %8s  %s\n", "kind", "source", "target", "result");
	int total = 0;
	StrBuf kinds;
	sb_init(&kinds);
	for (int k = 0; k < r->nkinds; k++)
	{
		const CmpKindResult *kr = &r->kinds[k];
		printf("%-12s %8d %8d  %s\n", kr->kind, kr->nsource, kr->ntarget,
			   kr->ndiffs ? "DIFFERENT" : "OK");
		if (kr->ndiffs)
		{
			sb_printf(&kinds, "%s%s", kinds.len ? ", " : "", kr->kind);
		}
		total += kr->ndiffs;
		for (int i = 0; i < r->ndiffs; i++)
		{
			const CmpDiff *d = &r->diffs[i];
			if (strcmp(d->kind, kr->kind) != 0)
			{
				continue;
			}
			StrBuf line;
			sb_init(&line);
			sb_printf(&line, "  %s %s: %s", d->kind, d->name, diff_name(d->what));
			for (int a = 0; a < d->nattrs; a++)
			{
				sb_append(&line, a ? "; " : ": ");
				append_attr_diff(&line, &d->attrs[a]);
			}
			printf("%s\n", line.data);
			sb_free(&line);
		}
		if (kr->nimplied)
		{
			printf("  (and %d more of tables only on one side, reported above)\n", kr->nimplied);
		}
	}
	char dur[32];
	time_format_duration(r->seconds, dur, sizeof(dur));
	if (total == 0)
	{
		printf("summary: schemas are equal (%d object kinds compared in %s)\n", r->nkinds, dur);
	}
	else
	{
		printf("summary: %d difference%s (%s), compared in %s\n", total, total == 1 ? "" : "s",
			   kinds.data, dur);
	}
	sb_free(&kinds);
	fflush(stdout);
}

static void
print_schema_json(const CmpSchemaReport *r)
{
	json_t *kinds = json_array();
	json_t *diffs = json_array();
	int total = 0;
	for (int k = 0; k < r->nkinds; k++)
	{
		const CmpKindResult *kr = &r->kinds[k];
		total += kr->ndiffs;
		json_array_append_new(kinds, json_pack("{s:s, s:i, s:i, s:i, s:i, s:s}", "kind", kr->kind,
											   "source", kr->nsource, "target", kr->ntarget,
											   "differences", kr->ndiffs, "implied", kr->nimplied,
											   "result", kr->ndiffs ? "different" : "equal"));
	}
	for (int i = 0; i < r->ndiffs; i++)
	{
		const CmpDiff *d = &r->diffs[i];
		json_t *o = json_object();
		json_object_set_new(o, "kind", json_string(d->kind));
		json_object_set_new(o, "name", cmp_json_text(d->name));
		json_object_set_new(o, "difference", json_string(diff_name(d->what)));
		if (d->what == CMP_DIFF_DIFFERS)
		{
			json_t *attrs = json_array();
			for (int a = 0; a < d->nattrs; a++)
			{
				json_t *ao = json_object();
				json_object_set_new(ao, "attribute", cmp_json_text(d->attrs[a].attr));
				json_object_set_new(ao, "source", json_str_or_null(d->attrs[a].source));
				json_object_set_new(ao, "target", json_str_or_null(d->attrs[a].target));
				json_array_append_new(attrs, ao);
			}
			json_object_set_new(o, "attributes", attrs);
		}
		json_array_append_new(diffs, o);
	}
	json_t *root = json_object();
	json_object_set_new(root, "equal", json_boolean(total == 0));
	json_object_set_new(root, "kinds", kinds);
	json_object_set_new(root, "differences", diffs);
	json_object_set_new(root, "summary",
						json_pack("{s:i, s:f}", "differences", total, "seconds", r->seconds));
	print_json(root);
}

void
compare_schema_print(const CmpSchemaReport *r, bool json)
{
	if (json)
	{
		print_schema_json(r);
	}
	else
	{
		print_schema_text(r);
	}
}

/* ---- data ---- */

static const char *
split_name(CmpSplit s)
{
	switch (s)
	{
		case CMP_SPLIT_NONE:
			return "none";
		case CMP_SPLIT_KEY:
			return "key";
		case CMP_SPLIT_CTID:
			return "ctid";
	}
	return "?";
}

static json_t *
sum_json(const CmpSum *s)
{
	if (!s->done)
	{
		return json_null();
	}
	char buf[24];
	cmp_format_sum(s->sum, buf, sizeof(buf));
	return json_pack("{s:I, s:s}", "rows", (json_int_t) s->rows, "checksum", buf);
}

static json_t *
strlist_json(const StrList *l)
{
	json_t *a = json_array();
	for (int i = 0; i < l->n; i++)
	{
		json_array_append_new(a, cmp_json_text(l->items[i]));
	}
	return a;
}

static void
count_tables(const CmpDataReport *r, int *equal, int *different, int *errors)
{
	*equal = *different = *errors = 0;
	for (int i = 0; i < r->ntables; i++)
	{
		switch (r->tables[i].status)
		{
			case CMP_EQUAL:
				(*equal)++;
				break;
			case CMP_ERROR:
				(*errors)++;
				break;
			case CMP_DIFFERENT:
			case CMP_ONLY_SOURCE:
			case CMP_ONLY_TARGET:
				(*different)++;
				break;
		}
	}
}

static bool
part_differs(const CmpPart *p)
{
	return p->src.done && p->tgt.done && (p->src.rows != p->tgt.rows || p->src.sum != p->tgt.sum);
}

static void
print_data_json(const CmpDataReport *r)
{
	json_t *tables = json_array();
	for (int i = 0; i < r->ntables; i++)
	{
		const CmpTable *t = &r->tables[i];
		json_t *o = json_object();
		json_object_set_new(o, "table", cmp_json_text(t->display));
		json_object_set_new(o, "schema", cmp_json_text(t->nspname));
		json_object_set_new(o, "name", cmp_json_text(t->relname));
		json_object_set_new(o, "result", json_string(cmp_status_name(t->status)));
		json_object_set_new(o, "source", t->on_source ? sum_json(&t->src) : json_null());
		json_object_set_new(o, "target", t->on_target ? sum_json(&t->tgt) : json_null());
		if (t->on_source && t->on_target)
		{
			json_object_set_new(o, "split", json_string(split_name(t->split)));
			json_t *parts = json_array();
			for (int p = 0; p < t->nparts && t->parts != NULL; p++)
			{
				const CmpPart *pp = &t->parts[p];
				const char *res = !pp->src.done || !pp->tgt.done ? "error"
								  : t->split == CMP_SPLIT_CTID   ? "not comparable"
								  : part_differs(pp)             ? "different"
																 : "equal";
				json_t *po = json_object();
				json_object_set_new(po, "part", json_integer(p + 1));
				json_object_set_new(po, "of", json_integer(t->nparts));
				json_object_set_new(po, "range", json_str_or_null(pp->range));
				json_object_set_new(po, "source", sum_json(&pp->src));
				json_object_set_new(po, "target", sum_json(&pp->tgt));
				json_object_set_new(po, "result", json_string(res));
				json_array_append_new(parts, po);
			}
			json_object_set_new(o, "parts", parts);
			json_object_set_new(o, "columns", json_str_or_null(t->col_diff));
		}
		if (t->error != NULL)
		{
			json_object_set_new(o, "error", cmp_json_text(t->error));
		}
		if (t->rows_listed)
		{
			json_object_set_new(o, "rows_only_on_source", strlist_json(&t->only_src.rows));
			json_object_set_new(o, "rows_only_on_target", strlist_json(&t->only_tgt.rows));
			json_object_set_new(o, "rows_only_on_source_count",
								json_integer((json_int_t) t->only_src.total));
			json_object_set_new(o, "rows_only_on_target_count",
								json_integer((json_int_t) t->only_tgt.total));
		}
		json_array_append_new(tables, o);
	}
	int equal, different, errors;
	count_tables(r, &equal, &different, &errors);
	json_t *root = json_object();
	json_object_set_new(root, "equal", json_boolean(different == 0 && errors == 0));
	json_object_set_new(root, "tables", tables);
	json_object_set_new(root, "summary",
						json_pack("{s:i, s:i, s:i, s:i, s:i, s:I, s:b, s:f}", "tables", r->ntables,
								  "equal", equal, "different", different, "errors", errors, "jobs",
								  r->jobs, "split_threshold_bytes", (json_int_t) r->split_threshold,
								  "interrupted", r->interrupted, "seconds", r->seconds));
	print_json(root);
}

static void
print_rows(const char *label, const CmpRowList *l)
{
	for (int i = 0; i < l->rows.n; i++)
	{
		printf("    only on %s: %s\n", label, l->rows.items[i]);
	}
	if (l->total > l->rows.n)
	{
		printf("    ... %lld row%s only on %s in all\n", (long long) l->total,
			   l->total == 1 ? "" : "s", label);
	}
}

static void
fmt_count(const CmpSum *s, bool present, char *buf, size_t size)
{
	if (!present)
	{
		snprintf(buf, size, "-");
	}
	else if (!s->done)
	{
		snprintf(buf, size, "?");
	}
	else
	{
		snprintf(buf, size, "%lld", (long long) s->rows);
	}
}

static void
fmt_sum(const CmpSum *s, bool present, char *buf, size_t size)
{
	if (!present)
	{
		snprintf(buf, size, "-");
	}
	else if (!s->done)
	{
		snprintf(buf, size, "?");
	}
	else
	{
		cmp_format_sum(s->sum, buf, size);
	}
}

static void
print_data_text(const CmpDataReport *r)
{
	int w = 5;
	for (int i = 0; i < r->ntables; i++)
	{
		int len = (int) strlen(r->tables[i].display);
		w = len > w ? len : w;
	}
	printf("%-*s %13s %13s  %-16s  %-16s  %s\n", w, "table", "source rows", "target rows",
		   "source checksum", "target checksum", "result");
	for (int i = 0; i < r->ntables; i++)
	{
		const CmpTable *t = &r->tables[i];
		char sr[32], tr[32], ss[24], ts[24];
		fmt_count(&t->src, t->on_source, sr, sizeof(sr));
		fmt_count(&t->tgt, t->on_target, tr, sizeof(tr));
		fmt_sum(&t->src, t->on_source, ss, sizeof(ss));
		fmt_sum(&t->tgt, t->on_target, ts, sizeof(ts));
		const char *res = t->status == CMP_EQUAL         ? "OK"
						  : t->status == CMP_ERROR       ? "ERROR"
						  : t->status == CMP_ONLY_SOURCE ? "DIFFERENT (only on source)"
						  : t->status == CMP_ONLY_TARGET ? "DIFFERENT (only on target)"
														 : "DIFFERENT";
		printf("%-*s %13s %13s  %-16s  %-16s  %s\n", w, t->display, sr, tr, ss, ts, res);
		if (t->error != NULL)
		{
			printf("  error: %s\n", t->error);
		}
		if (t->col_diff != NULL)
		{
			printf("  %s\n", t->col_diff);
		}
		if (t->split == CMP_SPLIT_KEY && t->status != CMP_EQUAL)
		{
			for (int p = 0; p < t->nparts && t->parts != NULL; p++)
			{
				const CmpPart *pp = &t->parts[p];
				if (!part_differs(pp))
				{
					continue;
				}
				char a[24], b[24];
				cmp_format_sum(pp->src.sum, a, sizeof(a));
				cmp_format_sum(pp->tgt.sum, b, sizeof(b));
				printf("  part %d/%d, %s: %lld/%lld rows, checksums %s/%s: DIFFERENT\n", p + 1,
					   t->nparts, pp->range, (long long) pp->src.rows, (long long) pp->tgt.rows, a,
					   b);
			}
		}
		if (t->rows_listed)
		{
			print_rows("source", &t->only_src);
			print_rows("target", &t->only_tgt);
		}
	}
	int equal, different, errors;
	count_tables(r, &equal, &different, &errors);
	char dur[32];
	time_format_duration(r->seconds, dur, sizeof(dur));
	printf("summary: %d table%s compared with %d job%s in %s: %d equal, %d different", r->ntables,
		   r->ntables == 1 ? "" : "s", r->jobs, r->jobs == 1 ? "" : "s", dur, equal, different);
	if (errors)
	{
		printf(", %d not compared (errors)", errors);
	}
	printf("\n");
	fflush(stdout);
}

void
compare_data_print(const CmpDataReport *r, bool json)
{
	if (json)
	{
		print_data_json(r);
	}
	else
	{
		print_data_text(r);
	}
}
