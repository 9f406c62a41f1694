#!/bin/bash
# bench/cutover-bench.sh — the write-unavailability window of `pgshift cutover`.
#
#   RUNS=5 bench/cutover-bench.sh
#
# Two throwaway clusters from the benchmark kit (BENCH_KIT, default
# ../shared/bench), on their own ports (SRC_PORT=5531, TGT_PORT=5532,
# BENCH_HOME=/tmp/pgshift-cutover-bench).  Each run:
#   1. a fresh pgbench database (pgbench -i -s SCALE) on the source, an empty
#      target; `pgshift clone --follow` in the background until "base copy
#      done";
#   2. the application: a loop of `pgbench -n -c CLIENTS -R RATE -l` whose
#      every round connects to the port written in a file (the source's
#      first).  When the fence ends its sessions, pgbench stops; the next
#      round connects again (new transactions are read-only until the switch
#      and fail at once, so rounds follow each other every ~20 ms);
#   3. after WARMUP seconds, `pgshift cutover` with the built-in fence and a
#      --switch-command that writes the target's port into that file;
#   4. AFTER seconds on the target, then the loop ends.
# The window is measured by the application: the longest gap between two
# successful transactions in pgbench's per-transaction logs (-l: each line
# is one committed transaction and its end time), over the whole run.  Also
# reported: cutover's own write_unavailable_seconds (fence started to switch
# done, from cutover.json) and its timeline.  Medians over RUNS.
#
# Rounds last ROUND seconds (a new connection between two rounds costs a few
# ms, far below the window).
#
# Environment: RUNS (5), SCALE (1), CLIENTS (2), RATE (200), WARMUP (10),
# AFTER (3), ROUND (5), PGSHIFT (build/pgshift), STOP_CLUSTERS=1.  Logs: $BENCH_HOME/logs.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
KIT=${BENCH_KIT:-$REPO/../shared/bench}
[ -x "$KIT/clusters.sh" ] || { echo "benchmark kit not found in $KIT (set BENCH_KIT)" >&2; exit 1; }
RUNS=${RUNS:-5}
SCALE=${SCALE:-1}
CLIENTS=${CLIENTS:-2}
RATE=${RATE:-200}
WARMUP=${WARMUP:-10}
AFTER=${AFTER:-3}
ROUND=${ROUND:-5}
PGSHIFT=${PGSHIFT:-$REPO/build/pgshift}
[ -x "$PGSHIFT" ] || { echo "pgshift not found: $PGSHIFT (make, or set PGSHIFT)" >&2; exit 1; }
export BENCH_HOME=${BENCH_HOME:-${TMPDIR:-/tmp}/pgshift-cutover-bench}
export SRC_PORT=${SRC_PORT:-5531}
export TGT_PORT=${TGT_PORT:-5532}
export BENCH_DIR=${BENCH_DIR:-$BENCH_HOME/pg}
export DB=${DB:-cutbench}
export TGT_DB=$DB
# shellcheck source=/dev/null
. "$KIT/bench-env.sh" # SRC_URI TGT_URI WORK LOGS reset_target now
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
REPORT=$LOGS/cutover-report-$STAMP.txt

src() { psql -X -q -At -h 127.0.0.1 -p "$SRC_PORT" -U postgres -d "$1" -c "$2"; }
say() { echo "$*" | tee -a "$REPORT"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "?"; exit } printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

wait_for_log() { # file regex timeout pid
    local deadline=$(($(date +%s) + $3))
    while ! grep -qE "$2" "$1" 2>/dev/null; do
        kill -0 "$4" 2>/dev/null || { echo "pgshift exited:" >&2; tail -20 "$1" >&2; return 1; }
        [ "$(date +%s)" -lt "$deadline" ] || { echo "timeout waiting for /$2/" >&2; return 1; }
        sleep 0.1
    done
}

# The application: pgbench rounds of ROUND seconds against the port in $1
# until the file $2 exists (each round ends by itself: its log is complete).
app_loop() { # portfile stopfile logdir
    local n=0
    while [ ! -e "$2" ]; do
        n=$((n + 1))
        pgbench -n -c "$CLIENTS" -j "$CLIENTS" -R "$RATE" -T "$ROUND" -l \
            --log-prefix="$3/pgb.$n" -h 127.0.0.1 -p "$(cat "$1")" -U postgres "$DB" \
            >>"$3/pgbench.out" 2>&1 || true
        sleep 0.02
    done
}

# Longest gap (seconds) between two successive committed transactions in the logs.
max_gap() { # logdir
    cat "$1"/pgb.* 2>/dev/null | awk '{ printf "%d.%06d\n", $5, $6 }' | sort -n |
        awk 'NR > 1 && $1 - p > m { m = $1 - p } { p = $1 } END { printf "%.3f", m }'
}

json_num() { grep -oE "\"$2\": [0-9.]+" "$1" | awk '{ print $2 }'; }

run_one() { # i
    local i=$1 dir=$WORK/cutover-$1 logdir=$LOGS/cutover-$STAMP-$1
    mkdir -p "$logdir"
    rm -rf "$dir"
    psql -X -q -h 127.0.0.1 -p "$SRC_PORT" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
    pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$DB" >"$logdir/init.log" 2>&1
    src "$DB" "ALTER TABLE pgbench_history REPLICA IDENTITY FULL"
    src postgres "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'cutbench'" >/dev/null
    reset_target
    psql -X -q -At -h 127.0.0.1 -p "$TGT_PORT" -U postgres -d postgres -c \
        "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname = 'cutbench'" >/dev/null
    "$PGSHIFT" clone --follow --source "$SRC_URI" --target "$TGT_URI" --dir "$dir" \
        --slot-name cutbench --origin cutbench --table-jobs 2 --index-jobs 2 \
        >"$logdir/follow.log" 2>&1 &
    local fpid=$!
    wait_for_log "$logdir/follow.log" "base copy done" 300 "$fpid"
    echo "$SRC_PORT" >"$logdir/port"
    app_loop "$logdir/port" "$logdir/stop" "$logdir" &
    local app=$!
    sleep "$WARMUP"
    "$PGSHIFT" cutover --source "$SRC_URI" --target "$TGT_URI" --dir "$dir" \
        --switch-command "echo $TGT_PORT > '$logdir/port'" >"$logdir/cutover.out" 2>"$logdir/cutover.err" ||
        { echo "run $i: cutover failed:" >&2; cat "$logdir/cutover.err" >&2; }
    sleep "$AFTER"
    touch "$logdir/stop"
    wait "$app" || true
    wait "$fpid" || echo "run $i: the follower exited $?" >&2
    local gap own
    gap=$(max_gap "$logdir")
    own=$(json_num "$dir/cutover.json" write_unavailable_seconds)
    echo "$gap" >>"$LOGS/gaps-$STAMP"
    echo "$own" >>"$LOGS/own-$STAMP"
    say "run $i: application gap ${gap}s, cutover window ${own}s; pgbench rounds $(ls "$logdir"/pgb.* 2>/dev/null | wc -l) log files"
    sed 's/^/    /' "$logdir/cutover.out" | tee -a "$REPORT"
    src postgres "ALTER DATABASE $DB RESET default_transaction_read_only" >/dev/null
}

"$KIT/clusters.sh" start
say "== cutover-bench $STAMP: pgbench -c $CLIENTS -R $RATE, SCALE=$SCALE, $RUNS runs, $(nproc) cores"
say "   pgshift: $PGSHIFT ($(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
for i in $(seq 1 "$RUNS"); do
    run_one "$i"
done
say "median over $RUNS runs: application gap $(median <"$LOGS/gaps-$STAMP")s, cutover window $(median <"$LOGS/own-$STAMP")s"
[ "${STOP_CLUSTERS:-0}" = 1 ] && "$KIT/clusters.sh" stop
exit 0
