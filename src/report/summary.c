/*
 * src/report/summary.c — the end-of-run summary, printed and saved as JSON.
 *
 * One row per table (parts, copy time, bytes, rows, indexes, index time) and
 * one row per step. Times of tasks that ran in an earlier run (resume) come
 * from state.db, so a resumed run's summary covers the whole copy.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

typedef struct Row
{
	const CatTable *t;
	int parts;
	double copy_wall;
	double copy_sum;
	double first_start;
	double last_end;
	int64_t bytes;
	int64_t rows;
	int nindexes;
	double index_sum;
	double vacuum;
} Row;

static int
row_cmp(const void *a, const void *b)
{
	const Row *x = a, *y = b;
	if (x->copy_wall != y->copy_wall)
	{
		return x->copy_wall < y->copy_wall ? 1 : -1;
	}
	return strcmp(x->t->qname, y->t->qname);
}

/* Time and counts per task kind, over the whole graph. */
typedef struct KindTotals
{
	double cum[TASK_NKINDS];
	int counts[TASK_NKINDS];
	int done[TASK_NKINDS];
} KindTotals;

static Row *
row_of(Row *rows, int nrows, const CatTable *t)
{
	for (int k = 0; k < nrows; k++)
	{
		if (rows[k].t == t)
		{
			return &rows[k];
		}
	}
	return NULL;
}

/* A task's share of its table's row. */
static void
row_add_task(Row *r, const Task *t)
{
	switch (t->kind)
	{
		case TASK_COPY:
			r->parts++;
			r->copy_sum += t->duration;
			r->bytes += t->bytes;
			r->rows += t->rows;
			if (t->started > 0)
			{
				if (r->first_start < 0 || t->started < r->first_start)
				{
					r->first_start = t->started;
				}
				if (t->started + t->duration > r->last_end)
				{
					r->last_end = t->started + t->duration;
				}
			}
			break;
		case TASK_INDEX:
		case TASK_CONSTRAINT:
			r->nindexes += t->kind == TASK_INDEX || t->index->contype == 'x';
			r->index_sum += t->duration;
			break;
		case TASK_VACUUM:
			r->vacuum += t->duration;
			break;
		default:
			break;
	}
}

/* One row per copied table, slowest copy first; totals per kind of task. */
static Row *
summary_rows(const CloneRun *run, int *nrows_out, KindTotals *kt)
{
	const Catalog *cat = &run->cat;
	const Graph *g = &run->graph;
	Row *rows = xcalloc((size_t) cat->ntables + 1, sizeof(Row));
	int nrows = 0;
	for (int i = 0; i < cat->ntables; i++)
	{
		if (cat->tables[i].relkind == 'r' && !cat->tables[i].excluded)
		{
			rows[nrows].t = &cat->tables[i];
			rows[nrows].first_start = -1;
			nrows++;
		}
	}
	for (int i = 0; i < g->ntasks; i++)
	{
		Task *t = g->tasks[i];
		kt->counts[t->kind]++;
		if (t->status == TS_DONE)
		{
			kt->done[t->kind]++;
		}
		kt->cum[t->kind] += t->duration;
		if (t->table == NULL || t->kind == TASK_FKEY)
		{
			continue;
		}
		Row *r = row_of(rows, nrows, t->table);
		if (r != NULL)
		{
			row_add_task(r, t);
		}
	}
	for (int k = 0; k < nrows; k++)
	{
		rows[k].copy_wall = rows[k].first_start >= 0 ? rows[k].last_end - rows[k].first_start : 0;
	}
	qsort(rows, (size_t) nrows, sizeof(Row), row_cmp);
	*nrows_out = nrows;
	return rows;
}

/* summary.json in the work directory */
static void
summary_save(const CloneRun *run, const Row *rows, int nrows, const KindTotals *kt)
{
	const double *cum = kt->cum;
	json_t *jt = json_array();
	for (int k = 0; k < nrows; k++)
	{
		const Row *r = &rows[k];
		json_array_append_new(
			jt, json_pack("{s:s, s:s, s:i, s:f, s:f, s:I, s:I, s:i, s:f, s:f}", "schema",
						  r->t->nspname, "table", r->t->relname, "parts", r->parts, "copy_seconds",
						  r->copy_wall, "copy_seconds_cumulative", r->copy_sum, "bytes",
						  (json_int_t) r->bytes, "rows", (json_int_t) r->rows, "indexes",
						  r->nindexes, "index_seconds", r->index_sum, "vacuum_seconds", r->vacuum));
	}
	json_t *steps =
		json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "catalog",
				  run->t_catalog, "dump_schema", run->t_dump, "pre_data", run->t_predata,
				  "data_and_indexes_wall", run->t_data, "copy_cumulative", cum[TASK_COPY],
				  "index_cumulative", cum[TASK_INDEX] + cum[TASK_CONSTRAINT] + cum[TASK_FKEY],
				  "vacuum_cumulative", cum[TASK_VACUUM], "large_objects_cumulative",
				  cum[TASK_BLOBS], "materialized_views_cumulative", cum[TASK_MATVIEW], "sequences",
				  run->t_sequences, "post_data", run->t_postdata, "total", run->t_total);
	json_t *tasks = json_object();
	for (int k = 0; k < TASK_NKINDS; k++)
	{
		json_object_set_new(tasks, task_kind_name((TaskKind) k),
							json_pack("{s:i, s:i}", "total", kt->counts[k], "done", kt->done[k]));
	}
	json_t *failures = json_array();
	for (int i = 0; i < run->failures.n; i++)
	{
		json_array_append_new(failures, json_string(run->failures.items[i]));
	}
	json_t *root = json_pack("{s:s, s:s?, s:o, s:o, s:o, s:o}", "pgshift", PGSHIFT_VERSION,
							 "snapshot", run->snapshot, "tables", jt, "steps", steps, "tasks",
							 tasks, "failures", failures);
	char *js = json_dumps(root, JSON_INDENT(2));
	if (js != NULL)
	{
		StrBuf sb;
		sb_init(&sb);
		sb_append(&sb, js);
		sb_append_char(&sb, '\n');
		file_write_all(run->wd.summary_file, sb.data, sb.len, true);
		sb_free(&sb);
		free(js);
	}
	json_decref(root);
}

/* the tables and steps on stdout */
static void
summary_print(const CloneRun *run, const Row *rows, int nrows, const KindTotals *kt)
{
	const double *cum = kt->cum;
	char b1[32], b2[32], b3[32];
	printf("\n%-44s %5s %9s %10s %12s %7s %9s\n", "Table", "Parts", "Copy", "Bytes", "Rows",
		   "Indexes", "Idx time");
	for (int k = 0; k < nrows; k++)
	{
		const Row *r = &rows[k];
		time_format_duration(r->copy_wall, b1, sizeof(b1));
		size_format(r->bytes, b2, sizeof(b2));
		time_format_duration(r->index_sum, b3, sizeof(b3));
		printf("%-44.44s %5d %9s %10s %12lld %7d %9s\n", r->t->qname, r->parts, b1, b2,
			   (long long) r->rows, r->nindexes, b3);
	}
	printf("\n%-44s %12s\n", "Step", "Time");
	struct
	{
		const char *name;
		double v;
	} st[] = { { "catalog", run->t_catalog },
			   { "dump schema", run->t_dump },
			   { "pre-data", run->t_predata },
			   { "data + indexes (wall clock)", run->t_data },
			   { "  copy (cumulative)", cum[TASK_COPY] },
			   { "  indexes + constraints (cumulative)",
				 cum[TASK_INDEX] + cum[TASK_CONSTRAINT] + cum[TASK_FKEY] },
			   { "  vacuum/analyze (cumulative)", cum[TASK_VACUUM] },
			   { "  large objects (cumulative)", cum[TASK_BLOBS] },
			   { "  materialized views (cumulative)", cum[TASK_MATVIEW] },
			   { "sequences", run->t_sequences },
			   { "post-data", run->t_postdata },
			   { "total", run->t_total } };
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
	{
		time_format_duration(st[i].v, b1, sizeof(b1));
		printf("%-44s %12s\n", st[i].name, b1);
	}
	printf("\n");
	fflush(stdout);
}

void
report_summary(const CloneRun *run, bool print)
{
	KindTotals kt = { 0 };
	int nrows = 0;
	Row *rows = summary_rows(run, &nrows, &kt);
	summary_save(run, rows, nrows, &kt);
	if (print)
	{
		summary_print(run, rows, nrows, &kt);
	}
	free(rows);
}
