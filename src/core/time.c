/*
 * src/core/time.c — clocks, durations and sizes, formatted and parsed.
 */
#include "core/core.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

double
time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int64_t
time_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
time_format_wall(int64_t us, char *buf, size_t size)
{
	time_t t = (time_t) (us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

void
time_format_duration(double seconds, char *buf, size_t size)
{
	if (seconds < 1.0)
	{
		snprintf(buf, size, "%dms", (int) (seconds * 1000.0 + 0.5));
	}
	else if (seconds < 60.0)
	{
		snprintf(buf, size, "%.1fs", seconds);
	}
	else if (seconds < 3600.0)
	{
		int s = (int) (seconds + 0.5);
		snprintf(buf, size, "%dm%02ds", s / 60, s % 60);
	}
	else
	{
		int s = (int) (seconds + 0.5);
		snprintf(buf, size, "%dh%02dm", s / 3600, (s % 3600) / 60);
	}
}

void
size_format(int64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double) bytes;
	int u = 0;
	while (v >= 1024.0 && u < 5)
	{
		v /= 1024.0;
		u++;
	}
	if (u == 0)
	{
		snprintf(buf, size, "%lld B", (long long) bytes);
	}
	else
	{
		snprintf(buf, size, "%.*f %s", v < 10.0 ? 1 : 0, v, units[u]);
	}
}

bool
size_parse(const char *s, int64_t *bytes)
{
	char *end;
	while (isspace((unsigned char) *s))
	{
		s++;
	}
	if (!isdigit((unsigned char) *s))
	{
		return false;
	}
	/* digits and an optional fraction only: no hex, no exponent */
	const char *q = s;
	while (isdigit((unsigned char) *q) || *q == '.')
	{
		q++;
	}
	double v = strtod(s, &end);
	if (end != q)
	{
		return false;
	}
	while (isspace((unsigned char) *end))
	{
		end++;
	}
	static const struct
	{
		const char *unit;
		double mult;
	} units[] = { { "", 1 },
				  { "b", 1 },
				  { "kb", 1024.0 },
				  { "k", 1024.0 },
				  { "kib", 1024.0 },
				  { "mb", 1048576.0 },
				  { "m", 1048576.0 },
				  { "mib", 1048576.0 },
				  { "gb", 1073741824.0 },
				  { "g", 1073741824.0 },
				  { "gib", 1073741824.0 },
				  { "tb", 1099511627776.0 },
				  { "t", 1099511627776.0 },
				  { "tib", 1099511627776.0 } };
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
	{
		if (strcasecmp(end, units[i].unit) == 0)
		{
			double b = v * units[i].mult;
			if (b >= 9.2e18)
			{
				return false;
			}
			*bytes = (int64_t) b;
			return true;
		}
	}
	return false;
}
