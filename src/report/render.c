/*
 * src/report/render.c — how every report prints: aligned columns under a
 * header line and a line of dashes, or one JSON document; and a renderer
 * driven by a table of columns for the listings that print a query result
 * as it comes.
 *
 * Widths count UTF-8 code points, so names with accents stay aligned. JSON
 * strings that are not valid UTF-8 (a database in another encoding) have
 * their non-ASCII bytes replaced rather than dropping the whole value.
 */
#include "report/internal.h"

#include "compare/compare.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Aligned columns
 * ------------------------------------------------------------------------ */

void
grid_init(Grid *g, int ncols, const char *const *headers, const char *align)
{
	memset(g, 0, sizeof(*g));
	g->ncols = ncols;
	g->headers = headers;
	g->align = align;
}

void
grid_add(Grid *g, const char *s)
{
	char *c = xstrdup(s != NULL ? s : "");
	for (char *p = c; *p != '\0'; p++)
	{
		if (*p == '\n' || *p == '\r' || *p == '\t')
		{
			*p = ' ';
		}
	}
	strlist_add_owned(&g->cells, c);
}

void
grid_addf(Grid *g, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cell = xvasprintf(fmt, ap);
	va_end(ap);
	grid_add(g, cell);
	free(cell);
}

int
grid_rows(const Grid *g)
{
	return g->cells.n / g->ncols;
}

/* Width on a terminal: UTF-8 code points. */
static size_t
text_width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
	{
		if ((*p & 0xC0) != 0x80)
		{
			w++;
		}
	}
	return w;
}

static void
put_cell(StrBuf *line, const char *s, size_t width, char align)
{
	size_t w = text_width(s);
	size_t pad = width > w ? width - w : 0;
	if (align == 'r')
	{
		for (size_t k = 0; k < pad; k++)
		{
			sb_append_char(line, ' ');
		}
		sb_append(line, s);
	}
	else
	{
		sb_append(line, s);
		for (size_t k = 0; k < pad; k++)
		{
			sb_append_char(line, ' ');
		}
	}
}

/* Prints a line without its trailing blanks, and empties it. */
static void
put_line(StrBuf *line)
{
	size_t len = line->len;
	while (len > 0 && line->data[len - 1] == ' ')
	{
		len--;
	}
	fwrite(line->data, 1, len, stdout);
	putchar('\n');
	sb_reset(line);
}

void
grid_print(Grid *g)
{
	size_t *width = xcalloc((size_t) g->ncols, sizeof(size_t));
	for (int c = 0; c < g->ncols; c++)
	{
		width[c] = text_width(g->headers[c]);
	}
	for (int i = 0; i < g->cells.n; i++)
	{
		size_t w = text_width(g->cells.items[i]);
		if (w > width[i % g->ncols])
		{
			width[i % g->ncols] = w;
		}
	}
	StrBuf line;
	sb_init(&line);
	for (int c = 0; c < g->ncols; c++)
	{
		sb_append(&line, c > 0 ? "  " : "");
		put_cell(&line, g->headers[c], width[c], g->align[c]);
	}
	put_line(&line);
	for (int c = 0; c < g->ncols; c++)
	{
		sb_append(&line, c > 0 ? "  " : "");
		for (size_t k = 0; k < width[c]; k++)
		{
			sb_append_char(&line, '-');
		}
	}
	put_line(&line);
	for (int i = 0; i < g->cells.n; i++)
	{
		int c = i % g->ncols;
		sb_append(&line, c > 0 ? "  " : "");
		put_cell(&line, g->cells.items[i], width[c], g->align[c]);
		if (c == g->ncols - 1)
		{
			put_line(&line);
		}
	}
	sb_free(&line);
	free(width);
	strlist_free(&g->cells);
}

/* ------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------ */

json_t *
jstr(const char *s)
{
	json_t *j = s != NULL ? cmp_json_text(s) : NULL;
	return j != NULL ? j : json_null();
}

json_t *
jint(int64_t v)
{
	return json_integer((json_int_t) v);
}

void
jset(json_t *obj, const char *key, json_t *value)
{
	json_object_set_new(obj, key, value != NULL ? value : json_null());
}

void
json_print(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
	if (s != NULL)
	{
		printf("%s\n", s);
		free(s);
	}
	else
	{
		log_error("could not format the JSON output");
	}
	json_decref(j);
}

/* ------------------------------------------------------------------------
 * Listings: a JSON array or a grid
 * ------------------------------------------------------------------------ */

void
listing_init(Listing *l, bool json, int ncols, const char *const *headers, const char *align)
{
	l->arr = json ? json_array() : NULL;
	grid_init(&l->grid, ncols, headers, align);
}

void
listing_print(Listing *l)
{
	if (l->arr != NULL)
	{
		json_print(l->arr);
		l->arr = NULL;
		strlist_free(&l->grid.cells);
	}
	else
	{
		grid_print(&l->grid);
	}
}

/* ------------------------------------------------------------------------
 * Formatting
 * ------------------------------------------------------------------------ */

char *
fmt_size(int64_t bytes)
{
	char buf[32];
	size_format(bytes, buf, sizeof(buf));
	return xstrdup(buf);
}

char *
fmt_wall(int64_t us)
{
	char buf[40];
	time_format_wall(us, buf, sizeof(buf));
	return xasprintf("%s UTC", buf);
}

char *
fmt_duration(double seconds)
{
	char buf[32];
	time_format_duration(seconds < 0 ? 0 : seconds, buf, sizeof(buf));
	return xstrdup(buf);
}

/* ------------------------------------------------------------------------
 * Query results, table-driven
 * ------------------------------------------------------------------------ */

const char *
pval(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

int64_t
pint(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool
pbool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

static void
column_json(json_t *o, const Column *c, const PGresult *res, int i)
{
	bool null = PQgetisnull(res, i, c->col);
	switch (c->kind)
	{
		case COL_TEXT:
			jset(o, c->key, jstr(pval(res, i, c->col)));
			break;
		case COL_INT:
			jset(o, c->key, null ? json_null() : jint(pint(res, i, c->col)));
			break;
		case COL_BOOL:
			jset(o, c->key, json_boolean(pbool(res, i, c->col)));
			break;
		case COL_SIZE:
		{
			char *sz = null ? NULL : fmt_size(pint(res, i, c->col));
			jset(o, "bytes", null ? json_null() : jint(pint(res, i, c->col)));
			jset(o, "size", jstr(sz));
			free(sz);
			break;
		}
		case COL_JSON:
		{
			json_t *j = null ? NULL : json_loads(PQgetvalue(res, i, c->col), 0, NULL);
			jset(o, c->key, j);
			break;
		}
	}
}

static void
column_cell(Grid *g, const Column *c, const PGresult *res, int i)
{
	if (PQgetisnull(res, i, c->col) && c->kind != COL_BOOL)
	{
		grid_add(g, c->if_null);
		return;
	}
	switch (c->kind)
	{
		case COL_TEXT:
		case COL_INT:
		case COL_JSON:
			grid_add(g, pval(res, i, c->col));
			break;
		case COL_BOOL:
			grid_add(g, pbool(res, i, c->col) ? c->yes : c->no);
			break;
		case COL_SIZE:
		{
			char *sz = fmt_size(pint(res, i, c->col));
			grid_add(g, sz);
			free(sz);
			break;
		}
	}
}

void
render_result(const PGresult *res, const Column *cols, int ncols, const ListSpec *spec,
			  RowKeep keep)
{
	const char **headers = xcalloc((size_t) ncols + 1, sizeof(char *));
	char *align = xcalloc((size_t) ncols + 1, 1);
	int ngrid = 0;
	for (int c = 0; c < ncols; c++)
	{
		if (cols[c].header != NULL)
		{
			headers[ngrid] = cols[c].header;
			align[ngrid++] = cols[c].align;
		}
	}
	Listing l;
	listing_init(&l, spec->json, ngrid, headers, align);
	for (int i = 0; i < PQntuples(res); i++)
	{
		if (keep != NULL && !keep(res, i, spec))
		{
			continue;
		}
		json_t *o = l.arr != NULL ? json_object() : NULL;
		for (int c = 0; c < ncols; c++)
		{
			if (o != NULL && cols[c].key != NULL)
			{
				column_json(o, &cols[c], res, i);
			}
			else if (o == NULL && cols[c].header != NULL)
			{
				column_cell(&l.grid, &cols[c], res, i);
			}
		}
		if (o != NULL)
		{
			json_array_append_new(l.arr, o);
		}
	}
	listing_print(&l);
	free(headers);
	free(align);
}
