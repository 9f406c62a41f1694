/*
 * src/core/mem.c — allocation that never returns NULL, StrBuf and StrList.
 *
 * Out of memory is not recoverable for a copy tool: we report it and exit,
 * like pg_malloc does.
 */
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
mem_oom(size_t size)
{
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "pgshift: out of memory (requested %zu bytes)\n", size);
	if (n > 0)
	{
		ssize_t w = write(STDERR_FILENO, msg, (size_t) n);
		(void) w;
	}
	_exit(10);
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (p == NULL)
	{
		mem_oom(size);
	}
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
	{
		mem_oom(n * size);
	}
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (p == NULL)
	{
		mem_oom(size);
	}
	return p;
}

char *
xstrdup(const char *s)
{
	if (s == NULL)
	{
		return NULL;
	}
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	StrBuf sb;
	va_list ap;

	sb_init(&sb);
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	return sb_steal(&sb);
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	StrBuf sb;
	sb_init(&sb);
	sb_vprintf(&sb, fmt, ap);
	return sb_steal(&sb);
}

void
sb_init(StrBuf *sb)
{
	sb->cap = 256;
	sb->len = 0;
	sb->data = xmalloc(sb->cap);
	sb->data[0] = '\0';
}

void
sb_free(StrBuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

void
sb_reset(StrBuf *sb)
{
	sb->len = 0;
	sb->data[0] = '\0';
}

static void
sb_reserve(StrBuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->cap)
	{
		return;
	}
	size_t cap = sb->cap ? sb->cap : 256;
	while (sb->len + extra + 1 > cap)
	{
		cap *= 2;
	}
	sb->data = xrealloc(sb->data, cap);
	sb->cap = cap;
}

void
sb_append_n(StrBuf *sb, const char *s, size_t n)
{
	sb_reserve(sb, n);
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void
sb_append(StrBuf *sb, const char *s)
{
	sb_append_n(sb, s, strlen(s));
}

void
sb_append_char(StrBuf *sb, char c)
{
	sb_append_n(sb, &c, 1);
}

void
sb_vprintf(StrBuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;

	va_copy(ap2, ap);
	int n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
	{
		return;
	}
	if ((size_t) n >= sb->cap - sb->len)
	{
		sb_reserve(sb, (size_t) n);
		va_copy(ap2, ap);
		n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap2);
		va_end(ap2);
	}
	sb->len += (size_t) n;
}

void
sb_printf(StrBuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

char *
sb_steal(StrBuf *sb)
{
	char *s = sb->data;
	sb->data = NULL;
	sb->len = sb->cap = 0;
	return s;
}

void
strlist_add_owned(StrList *l, char *s)
{
	if (l->n == l->cap)
	{
		l->cap = l->cap ? l->cap * 2 : 8;
		l->items = xrealloc(l->items, sizeof(char *) * (size_t) l->cap);
	}
	l->items[l->n++] = s;
}

void
strlist_add(StrList *l, const char *s)
{
	strlist_add_owned(l, xstrdup(s));
}

bool
strlist_contains(const StrList *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
	{
		if (strcmp(l->items[i], s) == 0)
		{
			return true;
		}
	}
	return false;
}

void
strlist_free(StrList *l)
{
	for (int i = 0; i < l->n; i++)
	{
		free(l->items[i]);
	}
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}
