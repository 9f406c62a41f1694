/*
 * src/report/report.h — what pgshift reports about a run.
 */
#ifndef PGSHIFT_REPORT_H
#define PGSHIFT_REPORT_H

#include <stdbool.h>

#include "clone/clone.h"

/*
 * The end-of-run summary of a clone: saved as JSON in the work directory,
 * and printed as tables when print. A CloneSummaryFn (the command line hands
 * it to the clone in its CloneSpec).
 */
void report_summary(const CloneRun *run, bool print);

#endif /* PGSHIFT_REPORT_H */
