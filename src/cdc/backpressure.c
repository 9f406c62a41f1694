/*
 * src/cdc/backpressure.c — the receiver pauses when the journal's disk runs
 * low, instead of failing a write.
 *
 * Invariant: pausing only stops reading the stream; the receiver keeps
 * sending status updates (so the walsender does not time out) and reports
 * nothing new as flushed, so the source keeps in the slot every change not
 * on disk here. When space comes back (the applier prunes applied segments,
 * or an operator frees some), reading resumes from where it stopped: no
 * change is lost or received twice.
 *
 * Why a threshold rather than ENOSPC: a failed write stops the receiver for
 * good (nothing after it may be reported as flushed), while the applier
 * usually frees space within seconds. The threshold is --journal-min-free,
 * or by default the smaller of 1 GiB and 5% of the filesystem, so that a
 * small disk is not declared full while it has room. The free space is read
 * (statvfs) at most once a second.
 */
#include "cdc/cdc.h"
#include "cdc/cdc_int.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

#define DEFAULT_MIN_FREE (1024LL * 1024 * 1024)

int64_t
cdc_space_threshold(int64_t min_free, int64_t fs_bytes)
{
	if (min_free >= 0)
	{
		return min_free;
	}
	int64_t five_pct = fs_bytes / 20;
	return five_pct < DEFAULT_MIN_FREE ? five_pct : DEFAULT_MIN_FREE;
}

bool
cdc_space_low(CdcSpace *s, const char *dir, int64_t min_free, CdcShared *sh)
{
	double now = time_now();
	if (now - s->checked < 1.0)
	{
		return s->paused;
	}
	s->checked = now;
	struct statvfs v;
	if (statvfs(dir, &v) != 0)
	{
		if (!s->warned)
		{
			log_warn("could not read the free space of \"%s\": %s (not pausing on it)", dir,
					 strerror(errno));
			s->warned = true;
		}
		return false;
	}
	int64_t avail = (int64_t) v.f_bavail * (int64_t) v.f_frsize;
	int64_t limit = cdc_space_threshold(min_free, (int64_t) v.f_blocks * (int64_t) v.f_frsize);
	bool low = avail < limit;
	if (low != s->paused)
	{
		char a[32], l[32];
		size_format(avail, a, sizeof(a));
		size_format(limit, l, sizeof(l));
		if (low)
		{
			log_warn("the journal's disk has %s free, under %s: receiving paused until there "
					 "is room again (the source keeps the changes in its slot)",
					 a, l);
		}
		else
		{
			log_info("the journal's disk has %s free again: receiving resumed", a);
		}
		s->paused = low;
		atomic_store(&sh->journal_paused, low ? 1 : 0);
	}
	return low;
}
