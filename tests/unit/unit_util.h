/*
 * tests/unit/unit_util.h — what several unit tests need besides cmocka.
 */
#ifndef PGSHIFT_UNIT_UTIL_H
#define PGSHIFT_UNIT_UTIL_H

#include <stdio.h>
#include <unistd.h>

/* Removes a state.db file and the WAL-mode files beside it. */
static inline void
remove_db(const char *path)
{
	char side[256];
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

#endif /* PGSHIFT_UNIT_UTIL_H */
