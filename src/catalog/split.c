/*
 * src/catalog/split.c — the one rule for splitting a table into COPY parts.
 *
 * clone plans with it, and `list table-parts`, `list progress` and `compare
 * data` describe or follow the same parts: a single pure function keeps them
 * from drifting apart. Parts are ctid block ranges [min, max) of the table's
 * size at the snapshot; the last one is open-ended, so rows in pages added
 * after the size was read are still copied.
 */
#include "catalog/catalog.h"

#define AUTO_SPLIT_MIN (1024LL * 1024 * 1024)

int64_t
split_threshold(const SplitSpec *s, const Catalog *cat)
{
	if (s->larger_than >= 0)
	{
		return s->larger_than; /* 0: never */
	}
	/*
	 * Automatic: a table bigger than one worker's fair share of all the data
	 * (and than 1 GB) is split, so it does not become the tail of the run.
	 * Below that, one part is cheaper: parts of one table contend on its
	 * relation extension lock, read through a TID range scan instead of a
	 * plain COPY, and lose COPY FREEZE (so need a VACUUM afterwards).
	 */
	int64_t total = 0;
	for (int i = 0; i < cat->ntables; i++)
	{
		total += cat->tables[i].bytes;
	}
	int jobs = s->table_jobs > 0 ? s->table_jobs : 1;
	int64_t share = total / jobs;
	return share > AUTO_SPLIT_MIN ? share : AUTO_SPLIT_MIN;
}

int
split_max_parts(const SplitSpec *s)
{
	int maxparts = s->max_parts > 0 ? s->max_parts : s->table_jobs;
	return maxparts < 1 ? 1 : maxparts;
}

int
split_table_parts(const CatTable *t, int64_t threshold, int maxparts)
{
	if (t->relkind != 'r' || threshold <= 0 || t->bytes <= threshold || t->relpages < 2)
	{
		return 1;
	}
	int64_t n = (t->bytes + threshold - 1) / threshold;
	if (n > maxparts)
	{
		n = maxparts;
	}
	if (n > t->relpages)
	{
		n = t->relpages;
	}
	return n < 1 ? 1 : (int) n;
}

void
split_tables(Catalog *cat, const SplitSpec *s)
{
	int64_t threshold = split_threshold(s, cat);
	int maxparts = split_max_parts(s);
	for (int i = 0; i < cat->ntables; i++)
	{
		cat->tables[i].nparts = split_table_parts(&cat->tables[i], threshold, maxparts);
	}
}

int
split_copy_parts(const CatTable *t)
{
	if (t->relkind != 'r' || t->excluded || t->exclude_data)
	{
		return 0;
	}
	return t->nparts > 0 ? t->nparts : 1;
}

void
split_part_range(const CatTable *t, int n, int p, int64_t *min, int64_t *max)
{
	int64_t per = n > 1 ? (t->relpages + n - 1) / n : 0;
	*min = per * p;
	*max = p == n - 1 ? -1 : per * (p + 1);
}
