#!/bin/bash
# bench/fault-bench.sh — how long the follower takes to come back after a fault.
#
#   ROUNDS=3 TARGET_DOWN=30 bench/fault-bench.sh
#
# Runs tests/integration/t/090_follow_faults.pl ROUNDS times (real clusters,
# pgbench -c 2 on the source, `clone --follow` running) with the target
# stopped for TARGET_DOWN seconds in its "target down" fault (the test's
# default is 10 s to stay under CI's 120 s per file; the issue asks for 30).
# For each fault, the test inserts a marker row on the source right after
# the fault and reads the target until it is there: the reconnect time is
# from the fault to that row applied (also from the server being back, for
# the faults that take a server down). Prints every figure and the median
# per fault.
#
# Environment: ROUNDS (3), TARGET_DOWN (30), PGSHIFT_BIN (build/pgshift).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
TARGET_DOWN=${TARGET_DOWN:-30}
OUT=$(mktemp /tmp/fault-bench.XXXXXX)
trap 'rm -f "$OUT"' EXIT

for round in $(seq "$ROUNDS"); do
	echo "fault-bench: round $round of $ROUNDS (target down ${TARGET_DOWN}s)" >&2
	PGSHIFT_TEST_TARGET_DOWN=$TARGET_DOWN "$REPO/tests/run-integration.sh" -v \
		"$REPO/tests/integration/t/090_follow_faults.pl" 2>&1 |
		grep -o 'reconnect time after .*' >>"$OUT" || {
		echo "fault-bench: round $round failed" >&2
		exit 1
	}
done

# "reconnect time after <fault>: X.Xs from the fault, Y.Ys from the server back"
awk '
	{
		sub(/^reconnect time after /, "")
		split($0, p, ": ")
		fault = p[1]
		split(p[2], v, " ")
		from_fault = v[1] + 0
		from_back = v[5] + 0
		n[fault]++
		ff[fault, n[fault]] = from_fault
		fb[fault, n[fault]] = from_back
		if (!(fault in seen)) { seen[fault] = 1; order[++nf] = fault }
	}
	function median(arr, f, k,    i, j, t, a) {
		for (i = 1; i <= k; i++) a[i] = arr[f, i]
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	END {
		printf "%-18s %-28s %-28s %s\n", "fault", "from the fault (s)", "from the server back (s)", "median (fault / back)"
		for (i = 1; i <= nf; i++) {
			f = order[i]; a = ""; b = ""
			for (j = 1; j <= n[f]; j++) { a = a sprintf("%.1f ", ff[f, j]); b = b sprintf("%.1f ", fb[f, j]) }
			printf "%-18s %-28s %-28s %.1f / %.1f\n", f, a, b, median(ff, f, n[f]), median(fb, f, n[f])
		}
	}' "$OUT"
