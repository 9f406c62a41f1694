#!/bin/bash
# bench/follow-bench.sh — pgshift clone --follow under a pgbench write load.
#
#   SCALE=10 DURATION=60 bench/follow-bench.sh            # live + backlog
#   SCALE=10 DURATION=20 bench/follow-bench.sh live       # one mode only
#
# Two throwaway clusters come from the benchmark kit (BENCH_KIT, default
# ../shared/bench: clusters.sh, bench-env.sh), on their own ports and data
# directory (SRC_PORT=5521, TGT_PORT=5522, BENCH_HOME=/tmp/pgshift-follow-bench)
# so they do not collide with the copy benchmark.  The source gets a pgbench
# database (pgbench -i -s SCALE, pgbench_history made REPLICA IDENTITY FULL).
#
# live:    clone --follow starts; as soon as its slot exists,
#          pgbench -n -c CLIENTS -T DURATION writes to the source.  Every
#          second: source pg_current_wal_lsn() vs the target's
#          pg_replication_origin_status.remote_lsn (lag in bytes) and the lag
#          in seconds (how long ago the source was at the position the
#          target has reached, interpolated between samples).  When pgbench
#          ends: `stream sentinel set endpos --current`, then the time until
#          pgshift exits.
# backlog: the copy is held back (a session on the target holds SHARE lock on
#          pg_class, so the schema cannot be created) while pgbench runs for
#          BACKLOG_DURATION seconds; the end position is set, the hold is
#          released: the copy runs, then the applier replays the whole
#          backlog.  Replay rate vs production rate.
#
# Reported: pgbench transactions/s; transactions/s and rows/s replayed (from
# "applier stopped at ...: N transactions, M changes applied" and the time
# between "applying changes" and that line); max and median lag during the
# live phase (applier running, before the end position); time from the end
# position to exit; peak RSS (/usr/bin/time -v).
#
# Environment: SCALE (10), DURATION (60), BACKLOG_DURATION (DURATION),
# CLIENTS (2), JOBS (2: --table-jobs/--index-jobs), PLUGIN (pgoutput),
# PGSHIFT (build/pgshift), SKIP_DATASET=1 (reuse the source database),
# STOP_CLUSTERS=1 (stop them at the end).  Logs: $BENCH_HOME/logs.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
KIT=${BENCH_KIT:-$REPO/../shared/bench}
[ -x "$KIT/clusters.sh" ] || { echo "benchmark kit not found in $KIT (set BENCH_KIT)" >&2; exit 1; }
MODES=${1:-all}
case $MODES in all) MODES="live backlog" ;; live | backlog) ;; *)
    echo "usage: $0 [live|backlog|all]" >&2
    exit 1
    ;;
esac

SCALE=${SCALE:-10}
DURATION=${DURATION:-60}
BACKLOG_DURATION=${BACKLOG_DURATION:-$DURATION}
CLIENTS=${CLIENTS:-2}
JOBS=${JOBS:-2}
PLUGIN=${PLUGIN:-pgoutput}
PGSHIFT=${PGSHIFT:-$REPO/build/pgshift}
[ -x "$PGSHIFT" ] || { echo "pgshift not found: $PGSHIFT (make, or set PGSHIFT)" >&2; exit 1; }
export BENCH_HOME=${BENCH_HOME:-${TMPDIR:-/tmp}/pgshift-follow-bench}
export SRC_PORT=${SRC_PORT:-5521}
export TGT_PORT=${TGT_PORT:-5522}
export BENCH_DIR=${BENCH_DIR:-$BENCH_HOME/pg}
export DB=${DB:-followbench}
export TGT_DB=$DB
# shellcheck source=/dev/null
. "$KIT/bench-env.sh" # SRC_URI TGT_URI WORK LOGS reset_target now
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
REPORT=$LOGS/follow-report-$STAMP.txt

src() { psql -X -q -At -h 127.0.0.1 -p "$SRC_PORT" -U postgres -d "$DB" "$@"; }
tgt() { psql -X -q -At -h 127.0.0.1 -p "$TGT_PORT" -U postgres -d "$TGT_DB" "$@"; }
say() { echo "$*" | tee -a "$REPORT"; }

# log timestamp "2026-11-26 06:12:31.302" of the first line matching $2 -> epoch seconds
log_time() {
    local line
    line=$(grep -m1 -E "$2" "$1" || true)
    [ -n "$line" ] || { echo ""; return; }
    date -d "$(echo "$line" | cut -c1-23)" +%s.%N
}

wait_for_log() { # file regex timeout pid
    local deadline=$(($(date +%s) + $3))
    while ! grep -qE "$2" "$1" 2>/dev/null; do
        if ! kill -0 "$4" 2>/dev/null; then
            echo "pgshift exited before logging /$2/:" >&2
            tail -20 "$1" >&2
            return 1
        fi
        [ "$(date +%s)" -lt "$deadline" ] || { echo "timeout waiting for /$2/ in $1" >&2; return 1; }
        sleep 0.1
    done
}

cleanup_stream() { # dir slot
    "$PGSHIFT" stream cleanup --source "$SRC_URI" --target "$TGT_URI" --dir "$1" \
        --plugin "$PLUGIN" --slot-name "$2" --origin "$2" >/dev/null 2>&1 || true
}

# samples: epoch src_bytes tgt_bytes(or -) phase
# The target is read first, then the source: the lag is never underestimated.
# Before the applier has committed anything, the target is at the slot's
# start (the copy's snapshot): $START_LSN.
sample() { # slot phase file
    local t s r
    r=$(tgt -c "SELECT pg_wal_lsn_diff(remote_lsn, '0/0') FROM pg_replication_origin_status WHERE external_id = '$1' AND remote_lsn <> '0/0'" 2>/dev/null || true)
    [ -n "$r" ] || r=$(src -c "SELECT pg_wal_lsn_diff('$START_LSN', '0/0')")
    t=$(now)
    s=$(src -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")
    echo "$t $s $r $2" >>"$3"
}

# the slot's start, from the log line "created replication slot ... at X/Y"
start_lsn() { grep -m1 -oE "created replication slot .* at [0-9A-F]+/[0-9A-F]+" "$1" | awk '{print $NF}'; }

# lag statistics over the samples of one phase: bytes and seconds
lag_stats() { # file phase
    awk -v phase="$2" '
    { t[NR] = $1; s[NR] = $2; r[NR] = $3; p[NR] = $4 }
    END {
        n = 0
        for (i = 1; i <= NR; i++) {
            if (p[i] != phase || r[i] == "-") continue
            b = s[i] - r[i]; if (b < 0) b = 0
            # lag in seconds: when was the source at r[i]?
            sec = 0
            if (s[i] > r[i]) {
                for (j = 1; j <= i; j++) if (s[j] >= r[i]) break
                if (j == 1) tj = t[1]
                else tj = t[j-1] + (t[j] - t[j-1]) * (r[i] - s[j-1]) / (s[j] - s[j-1])
                sec = t[i] - tj; if (sec < 0) sec = 0
            }
            n++; B[n] = b; S[n] = sec
        }
        if (n == 0) { print "n=0"; exit }
        # sort both (insertion sort: a few hundred samples)
        for (i = 2; i <= n; i++) { v = B[i]; for (k = i - 1; k >= 1 && B[k] > v; k--) B[k+1] = B[k]; B[k+1] = v }
        for (i = 2; i <= n; i++) { v = S[i]; for (k = i - 1; k >= 1 && S[k] > v; k--) S[k+1] = S[k]; S[k+1] = v }
        mb = (n % 2) ? B[(n+1)/2] : (B[n/2] + B[n/2+1]) / 2
        ms = (n % 2) ? S[(n+1)/2] : (S[n/2] + S[n/2+1]) / 2
        printf "n=%d max_bytes=%d median_bytes=%d max_s=%.2f median_s=%.2f\n", n, B[n], mb, S[n], ms
    }' "$1"
}

apply_figures() { # log -> "txns changes seconds"
    local log=$1 t_a t_b line
    t_a=$(log_time "$log" "applying changes on the target")
    t_b=$(log_time "$log" "applier stopped at")
    line=$(grep -m1 -oE "applier stopped at [^:]+: [0-9]+ transactions, [0-9]+ changes" "$log" || true)
    local tx ch
    tx=$(echo "$line" | sed -E 's/.*: ([0-9]+) transactions.*/\1/')
    ch=$(echo "$line" | sed -E 's/.* ([0-9]+) changes/\1/')
    echo "${tx:-0} ${ch:-0} $(echo "${t_b:-0} - ${t_a:-0}" | bc -l)"
}

peak_rss() { grep -m1 "Maximum resident set size" "$1" | awk '{printf "%.1f MB", $NF / 1024}'; }

pgbench_tps() { grep -m1 -oE "tps = [0-9.]+" "$1" | awk '{printf "%.0f", $3}'; }
pgbench_txns() { grep -m1 -oE "actually processed: [0-9]+" "$1" | awk '{print $3}'; }

# ---------------------------------------------------------------- setup
"$KIT/clusters.sh" start
if [ "${SKIP_DATASET:-0}" != 1 ]; then
    psql -X -q -h 127.0.0.1 -p "$SRC_PORT" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
    pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$DB" >"$LOGS/pgbench-init.log" 2>&1
    src -c "ALTER TABLE pgbench_history REPLICA IDENTITY FULL" -c "VACUUM ANALYZE" -c CHECKPOINT
fi
SIZE=$(src -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
say "== follow-bench $STAMP: SCALE=$SCALE ($SIZE), pgbench -c $CLIENTS, live ${DURATION}s, backlog ${BACKLOG_DURATION}s, plugin $PLUGIN, jobs $JOBS, $(nproc) cores"
say "   pgshift: $PGSHIFT ($(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"

# ------------------------------------------------------------------ live
run_live() {
    local dir=$WORK/follow-live slot=bench_live log=$LOGS/follow-live-$STAMP.log
    local samples=$LOGS/follow-live-samples-$STAMP.txt timef=$LOGS/follow-live-time-$STAMP.txt
    local pgb=$LOGS/pgbench-live-$STAMP.txt
    cleanup_stream "$dir" "$slot"
    reset_target
    rm -rf "$dir"
    : >"$samples"
    local t0; t0=$(now)
    /usr/bin/time -v -o "$timef" "$PGSHIFT" clone --follow --source "$SRC_URI" --target "$TGT_URI" \
        --dir "$dir" --plugin "$PLUGIN" --slot-name "$slot" --origin "$slot" \
        --table-jobs "$JOBS" --index-jobs "$JOBS" >"$log" 2>&1 &
    local pid=$!
    wait_for_log "$log" "created replication slot" 120 "$pid"
    START_LSN=$(start_lsn "$log")
    pgbench -n -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$DB" >"$pgb" 2>&1 &
    local pgbpid=$!
    while kill -0 "$pgbpid" 2>/dev/null; do
        if grep -q "applying changes on the target" "$log"; then
            sample "$slot" live "$samples"
        else
            sample "$slot" copy "$samples"
        fi
        sleep 1
    done
    wait "$pgbpid" || { echo "pgbench failed:" >&2; cat "$pgb" >&2; }
    kill -0 "$pid" 2>/dev/null || { echo "pgshift exited during the live phase:" >&2; tail -20 "$log" >&2; }
    local t_end; t_end=$(now)
    "$PGSHIFT" stream sentinel set endpos --current --source "$SRC_URI" --dir "$dir" >>"$log.sentinel" 2>&1
    while kill -0 "$pid" 2>/dev/null; do
        sample "$slot" drain "$samples"
        sleep 0.2
    done
    local rc=0
    wait "$pid" || rc=$?
    local t_exit; t_exit=$(now)

    local tx ch secs
    read -r tx ch secs <<<"$(apply_figures "$log")"
    local t_copy; t_copy=$(log_time "$log" "base copy done")
    say ""
    say "-- live: pgshift exit code $rc, total $(printf '%.1f' "$(echo "$t_exit - $t0" | bc -l)") s"
    say "   copy (slot -> base copy done):   $(printf '%.1f' "$(echo "${t_copy:-$t0} - $t0" | bc -l)") s"
    say "   pgbench:                         $(pgbench_txns "$pgb") transactions, $(pgbench_tps "$pgb") tps"
    say "   applier (paced by the source):   $tx transactions, $ch changes in $(printf '%.1f' "$secs") s" \
        "= $(printf '%.0f' "$(echo "$tx / ($secs + 0.000001)" | bc -l)") txn/s, $(printf '%.0f' "$(echo "$ch / ($secs + 0.000001)" | bc -l)") rows/s"
    # "steady": the live samples after the first one under 256 kB of lag
    # (the applier has caught up with what accumulated during the copy)
    local t_apply; t_apply=$(log_time "$log" "applying changes on the target")
    awk '$4 == "live" && !c && $2 - $3 < 262144 { c = 1 } { if (c && $4 == "live") $4 = "steady"; print }' \
        "$samples" >"$samples.phases"
    local t_caught; t_caught=$(awk '$4 == "steady" { print $1; exit }' "$samples.phases")
    say "   lag while copying:               $(lag_stats "$samples.phases" copy)"
    say "   lag while following (all live):  $(lag_stats "$samples" live)"
    if [ -n "$t_caught" ] && [ -n "$t_apply" ]; then
        say "   caught up (lag < 256 kB) after:  $(printf '%.1f' "$(echo "$t_caught - $t_apply" | bc -l)") s of applying"
        say "   lag once caught up:              $(lag_stats "$samples.phases" steady)"
    else
        say "   never caught up (lag < 256 kB) before the end position"
    fi
    say "   endpos set -> exit:              $(printf '%.2f' "$(echo "$t_exit - $t_end" | bc -l)") s"
    say "   peak RSS:                        $(peak_rss "$timef")"
    say "   samples: $samples"
    cleanup_stream "$dir" "$slot"
}

# --------------------------------------------------------------- backlog
run_backlog() {
    local dir=$WORK/follow-backlog slot=bench_backlog log=$LOGS/follow-backlog-$STAMP.log
    local timef=$LOGS/follow-backlog-time-$STAMP.txt pgb=$LOGS/pgbench-backlog-$STAMP.txt
    cleanup_stream "$dir" "$slot"
    reset_target
    rm -rf "$dir"
    # hold the copy back: no table can be created on the target meanwhile
    psql -X -q -h 127.0.0.1 -p "$TGT_PORT" -U postgres -d "$TGT_DB" \
        -c "SET application_name = 'follow_bench_gate'" \
        -c "BEGIN" -c "LOCK TABLE pg_catalog.pg_class IN SHARE MODE" \
        -c "SELECT pg_sleep(86400)" >/dev/null 2>&1 &
    local gate=$!
    for _ in $(seq 100); do
        [ "$(tgt -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'follow_bench_gate' AND wait_event = 'PgSleep'")" = 1 ] && break
        sleep 0.1
    done
    local t0; t0=$(now)
    /usr/bin/time -v -o "$timef" "$PGSHIFT" clone --follow --source "$SRC_URI" --target "$TGT_URI" \
        --dir "$dir" --plugin "$PLUGIN" --slot-name "$slot" --origin "$slot" \
        --table-jobs "$JOBS" --index-jobs "$JOBS" >"$log" 2>&1 &
    local pid=$!
    wait_for_log "$log" "created replication slot" 120 "$pid"
    local lsn0; lsn0=$(src -c "SELECT pg_current_wal_lsn()")
    pgbench -n -c "$CLIENTS" -j "$CLIENTS" -T "$BACKLOG_DURATION" -h 127.0.0.1 -p "$SRC_PORT" -U postgres "$DB" >"$pgb" 2>&1 ||
        { echo "pgbench failed:" >&2; cat "$pgb" >&2; }
    "$PGSHIFT" stream sentinel set endpos --current --source "$SRC_URI" --dir "$dir" >>"$log.sentinel" 2>&1
    local wal; wal=$(src -c "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0'))")
    tgt -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'follow_bench_gate'" >/dev/null
    wait "$gate" 2>/dev/null || true
    local rc=0
    wait "$pid" || rc=$?
    local t_exit; t_exit=$(now)

    local tx ch secs
    read -r tx ch secs <<<"$(apply_figures "$log")"
    local t_copy; t_copy=$(log_time "$log" "base copy done")
    local ptps; ptps=$(pgbench_tps "$pgb")
    local rtps; rtps=$(echo "$tx / ($secs + 0.000001)" | bc -l)
    say ""
    say "-- backlog: pgshift exit code $rc, total $(printf '%.1f' "$(echo "$t_exit - $t0" | bc -l)") s"
    say "   backlog produced:                $(pgbench_txns "$pgb") pgbench transactions in ${BACKLOG_DURATION} s, $ptps tps, $wal of WAL"
    say "   copy (after the hold):           done at +$(printf '%.1f' "$(echo "${t_copy:-$t0} - $t0" | bc -l)") s"
    say "   replay:                          $tx transactions, $ch changes in $(printf '%.1f' "$secs") s" \
        "= $(printf '%.0f' "$rtps") txn/s, $(printf '%.0f' "$(echo "$ch / ($secs + 0.000001)" | bc -l)") rows/s"
    say "   replay / production rate:        $(printf '%.2f' "$(echo "$rtps / (${ptps:-0} + 0.000001)" | bc -l)")"
    say "   peak RSS:                        $(peak_rss "$timef")"
    cleanup_stream "$dir" "$slot"
}

for m in $MODES; do
    "run_$m"
done
say ""
say "report: $REPORT"
if [ "${STOP_CLUSTERS:-0}" = 1 ]; then
    "$KIT/clusters.sh" stop
fi
