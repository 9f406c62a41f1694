#!/bin/bash
# bench/run-bench.sh — pgshift clone against pg_dump/pg_restore, same data, same sitting.
#
#   SCALE=10 RUNS=3 JOBS="2 4" bench/run-bench.sh
#
# Uses the benchmark kit in ../shared/bench (BENCH_KIT): clusters.sh starts a
# source (:5501, wal_level=logical) and a target (:5502) as user postgres;
# make-dataset.sh builds database `bench` (SCALE=10 is about 2 GB). Each run
# alternates, for every N in JOBS:
#   pgshift   pgshift clone --table-jobs N --index-jobs N   (peak RSS via /usr/bin/time -v)
#   dumpdir   pg_dump -Fd -j N + pg_restore -j N            (default compression)
#   dumpdirz0 pg_dump -Fd -j N -Z0 + pg_restore -j N
# and once per run: pg_dump -Fc | pg_restore (and -Z0), and the floor
# (copy-through with 2 streams + index floor with 2 jobs).
# Prints medians, ratios to pgshift, and peak RSS. Raw times: $BENCH_HOME/logs/times.tsv.
# Set SKIP_DATASET=1 to reuse the dataset already on the source,
# SKIP_PIPE=1 / SKIP_FLOOR=1 / SKIP_DUMPDIR=1 (default compression) to leave
# those out. PGSHIFT_B=<another binary> runs it too, right after PGSHIFT in
# every run (label pgshiftB): two builds compared in one sitting.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
KIT=${BENCH_KIT:-$REPO/../shared/bench}
[ -x "$KIT/clusters.sh" ] || { echo "benchmark kit not found in $KIT (set BENCH_KIT)" >&2; exit 1; }
SCALE=${SCALE:-10}
RUNS=${RUNS:-3}
JOBS=${JOBS:-"2 4"}
PGSHIFT=${PGSHIFT:-$REPO/build/pgshift}
export BENCH_HOME=${BENCH_HOME:-${TMPDIR:-/tmp}/pgshift-bench}
. "$KIT/bench-env.sh"
STAMP=$(date -u +%FT%TZ)
RESULTS=$LOGS/results-$STAMP.tsv
: >"$RESULTS"

"$KIT/clusters.sh" start
if [ "${SKIP_DATASET:-0}" != 1 ]; then
    SCALE=$SCALE "$KIT/make-dataset.sh"
fi
psql -X -q -h 127.0.0.1 -p "$SRC_PORT" -U postgres -d "$DB" -c "VACUUM ANALYZE" -c CHECKPOINT
SIZE=$(psql -X -At -h 127.0.0.1 -p "$SRC_PORT" -U postgres -d "$DB" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
echo "== dataset: SCALE=$SCALE, $SIZE on the source; $(nproc) cores; RUNS=$RUNS; JOBS=$JOBS"

record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }
elapsed() { echo "$2 - $1" | bc -l; }

run_pgshift() { # N [BINARY LABEL]
    local n=$1 bin=${2:-$PGSHIFT} label=${3:-pgshift} dir=$WORK/pgshift-dir
    reset_target
    rm -rf "$dir"
    local t0; t0=$(now)
    /usr/bin/time -v -o "$LOGS/$label-time-j$n.txt" "$bin" clone --source "$SRC_URI" --target "$TGT_URI" \
        --dir "$dir" --table-jobs "$n" --index-jobs "$n" ${PGSHIFT_OPTS:-} >"$LOGS/$label-j$n.log" 2>&1
    local t1; t1=$(now)
    record "$label-j$n" seconds "$(elapsed "$t0" "$t1")"
    record "$label-j$n" rss_kb "$(awk -F': ' '/Maximum resident set size/ {print $2}' "$LOGS/$label-time-j$n.txt")"
}

run_dumpdir() { # N LABEL [pg_dump opts]
    local n=$1 label=$2; shift 2
    reset_target
    local dump=$WORK/dumpdir-$label
    rm -rf "$dump"
    local t0; t0=$(now)
    pg_dump -h 127.0.0.1 -p "$SRC_PORT" -U postgres -Fd -j "$n" "$@" -f "$dump" "$DB" >"$LOGS/$label.log" 2>&1
    pg_restore -h 127.0.0.1 -p "$TGT_PORT" -U postgres -j "$n" -d "$TGT_DB" "$dump" >>"$LOGS/$label.log" 2>&1
    local t1; t1=$(now)
    record "$label" seconds "$(elapsed "$t0" "$t1")"
}

run_pipe() { # LABEL [pg_dump opts]
    local label=$1; shift
    reset_target
    local t0; t0=$(now)
    pg_dump -h 127.0.0.1 -p "$SRC_PORT" -U postgres -Fc "$@" "$DB" 2>"$LOGS/$label.log" |
        pg_restore -h 127.0.0.1 -p "$TGT_PORT" -U postgres -d "$TGT_DB" >>"$LOGS/$label.log" 2>&1
    local t1; t1=$(now)
    record "$label" seconds "$(elapsed "$t0" "$t1")"
}

run_floor() {
    local t0; t0=$(now)
    "$KIT/run-copy-through.sh" 2 >"$LOGS/floor-copy.log" 2>&1
    local t1; t1=$(now)
    [ -d "$WORK/dumpdir-dumpdirz0-j2" ] || run_dumpdir 2 dumpdirz0-j2 -Z0
    "$KIT/run-index-floor.sh" 2 "$WORK/dumpdir-dumpdirz0-j2" >"$LOGS/floor-index.log" 2>&1
    local t2; t2=$(now)
    record copy-through-s2 seconds "$(elapsed "$t0" "$t1")"
    # the index floor's own timing excludes its setup
    record index-floor-j2 seconds "$(tail -1 "$LOGS/times.tsv" | cut -f3)"
}

for run in $(seq 1 "$RUNS"); do
    echo "== run $run/$RUNS"
    for n in $JOBS; do
        run_pgshift "$n"
        if [ -n "${PGSHIFT_B:-}" ]; then
            run_pgshift "$n" "$PGSHIFT_B" pgshiftB
        fi
        if [ "${SKIP_DUMPDIR:-0}" != 1 ]; then
            run_dumpdir "$n" "dumpdir-j$n"
        fi
        run_dumpdir "$n" "dumpdirz0-j$n" -Z0
    done
    if [ "${SKIP_PIPE:-0}" != 1 ]; then
        run_pipe dumppipe
        run_pipe dumppipez0 -Z0
    fi
    if [ "${SKIP_FLOOR:-0}" != 1 ]; then
        run_floor
    fi
    tail -n 20 "$RESULTS" | grep seconds | sed 's/^/   /'
done

echo "== medians over $RUNS runs (seconds); ratio = method / pgshift with the same jobs"
python3 - "$RESULTS" "$JOBS" <<'PY'
import sys, statistics, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
jobs = sys.argv[2].split()
sec = collections.defaultdict(list); rss = collections.defaultdict(list)
for label, kind, v in rows:
    if not v:
        continue
    (sec if kind == "seconds" else rss)[label].append(float(v))
med = {k: statistics.median(v) for k, v in sec.items()}
floor = med.get("copy-through-s2", 0) + med.get("index-floor-j2", 0)
for n in jobs:
    base = med.get(f"pgshift-j{n}")
    if base is None:
        continue
    print(f"jobs={n}")
    for label in (f"pgshift-j{n}", f"pgshiftB-j{n}", f"dumpdir-j{n}", f"dumpdirz0-j{n}", "dumppipe", "dumppipez0"):
        if label in med:
            print(f"  {label:16s} {med[label]:8.1f} s   x{med[label] / base:5.2f} of pgshift   (pgshift = {base / med[label]:.2f} x this)")
    if floor:
        print(f"  {'floor (copy+idx)':16s} {floor:8.1f} s   pgshift / floor = {base / floor:.2f}")
    for b in ("pgshift", "pgshiftB"):
        if f"{b}-j{n}" in rss:
            print(f"  {b} peak RSS {max(rss[f'{b}-j{n}']) / 1024:.1f} MB (max over runs)")
PY
echo "raw results: $RESULTS"
