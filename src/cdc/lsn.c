/*
 * src/cdc/lsn.c — LSN text form: two hex numbers, "%X/%X".
 */
#include "cdc/cdc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

bool
lsn_parse(const char *s, Lsn *out)
{
	if (s == NULL)
	{
		return false;
	}
	char *end;
	if (!isxdigit((unsigned char) s[0]))
	{
		return false;
	}
	unsigned long hi = strtoul(s, &end, 16);
	if (*end != '/' || !isxdigit((unsigned char) end[1]))
	{
		return false;
	}
	unsigned long lo = strtoul(end + 1, &end, 16);
	if (*end != '\0' || hi > 0xFFFFFFFFUL || lo > 0xFFFFFFFFUL)
	{
		return false;
	}
	*out = ((Lsn) hi << 32) | (Lsn) lo;
	return true;
}

void
lsn_format(Lsn lsn, char *buf, size_t size)
{
	snprintf(buf, size, "%X/%X", (unsigned) (lsn >> 32), (unsigned) (lsn & 0xFFFFFFFF));
}
