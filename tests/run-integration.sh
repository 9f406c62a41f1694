#!/usr/bin/env bash
# Run pgshift's TAP integration tests (tests/integration/t/*.pl) with prove.
#
#   tests/run-integration.sh                         # all tests
#   tests/run-integration.sh tests/integration/t/001_ping.pl
#   tests/run-integration.sh -v t/010_clone.pl       # prove options pass through
#
# Environment:
#   PGSHIFT_BIN      binary under test (default: <repo>/build/pgshift)
#   PG_BINDIR        PostgreSQL server binaries (default /usr/lib/postgresql/15/bin)
#   PG_TEST_NOCLEAN  keep the clusters' data directories
#   PGSHIFT_TEST_KEEP=1  keep the work directory (logs) even when all pass
#   ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS  passed through to pgshift
#
# The tests and the binary are copied to a fresh directory under /tmp; as
# root, they run as the unprivileged user "postgres" (initdb refuses root),
# which may not be able to read the repository.  The directory is removed
# after a successful run and kept (and its logs shown) after a failure.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
PGXS_DIR=${PGXS_DIR:-/usr/lib/postgresql/15/lib/pgxs}
PGSHIFT_BIN=${PGSHIFT_BIN:-$REPO/build/pgshift}
TEST_USER=${PGSHIFT_TEST_OS_USER:-postgres}

die() {
	echo "run-integration: $*" >&2
	exit 2
}

[[ -x $PGSHIFT_BIN ]] || die "pgshift binary not found or not executable: $PGSHIFT_BIN (build it with make, or set PGSHIFT_BIN)"
[[ -x $PG_BINDIR/initdb ]] || die "PostgreSQL server binaries not found in $PG_BINDIR (scripts/install-deps.sh)"
[[ -f $PGXS_DIR/src/test/perl/PostgreSQL/Test/Cluster.pm ]] ||
	die "PostgreSQL::Test::Cluster not found under $PGXS_DIR (install postgresql-server-dev-15)"
command -v prove >/dev/null || die "prove not found (perl)"
perl -MIPC::Run -e 1 2>/dev/null || die "IPC::Run missing (libipc-run-perl)"

# Split the arguments into prove options and test files; test files given
# as paths into the repository are mapped to the copy.
prove_opts=()
test_files=()
for arg in "$@"; do
	if [[ $arg == *.pl || $arg == *.t ]]; then
		if [[ -f $arg ]]; then
			abs=$(cd "$(dirname "$arg")" && pwd)/$(basename "$arg")
		elif [[ -f $REPO/tests/integration/$arg ]]; then
			abs=$REPO/tests/integration/$arg
		elif [[ -f $REPO/$arg ]]; then
			abs=$REPO/$arg
		else
			die "no such test file: $arg"
		fi
		case $abs in
		"$REPO"/tests/integration/*) test_files+=("${abs#"$REPO"/tests/integration/}") ;;
		*) die "test file must live under $REPO/tests/integration: $arg" ;;
		esac
	else
		prove_opts+=("$arg")
	fi
done
if [[ ${#test_files[@]} -eq 0 ]]; then
	for f in "$REPO"/tests/integration/t/*.pl; do
		[[ -e $f ]] && test_files+=("t/$(basename "$f")")
	done
fi
[[ ${#test_files[@]} -gt 0 ]] || die "no tests found in $REPO/tests/integration/t"

WORK=$(mktemp -d /tmp/pgshift-it.XXXXXX) || die "mktemp failed"
mkdir -p "$WORK/bin" "$WORK/tmp" "$WORK/home"
cp -a "$REPO/tests" "$WORK/tests"
rm -rf "$WORK/tests/integration/tmp_check"
cp "$PGSHIFT_BIN" "$WORK/bin/pgshift"
chmod 0755 "$WORK/bin/pgshift"

run_as=()
if [[ $(id -u) -eq 0 ]]; then
	id "$TEST_USER" >/dev/null 2>&1 || die "user $TEST_USER does not exist"
	chown -R "$TEST_USER:" "$WORK"
	chmod 0755 "$WORK"
	run_as=(runuser -u "$TEST_USER" --)
fi

env_vars=(
	"PATH=$PG_BINDIR:/usr/local/bin:/usr/bin:/bin"
	"PERL5LIB=$PGXS_DIR/src/test/perl:$WORK/tests/lib"
	"PG_REGRESS=$PGXS_DIR/src/test/regress/pg_regress"
	"PGSHIFT_BIN=$WORK/bin/pgshift"
	"TESTDIR=$WORK/tests/integration"
	"TMPDIR=$WORK/tmp"
	"HOME=$WORK/home"
	"LANG=C.UTF-8"
)
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS MSAN_OPTIONS TSAN_OPTIONS \
	PG_TEST_NOCLEAN PG_TEST_TIMEOUT_DEFAULT PG_TEST_EXTRA TEMP_CONFIG CI \
	PGSHIFT_TEST_VERBOSE PGSHIFT_TEST_TARGET_DOWN PGSHIFT_TEST_BIG_ROWS PGSHIFT_VERSION_PAIRS \
	PGSHIFT_VERSIONS_NO_FOLLOW PGSHIFT_TEST_STREAM_ROWS PGSHIFT_PG_BIN; do
	if [[ -n ${!v+x} ]]; then
		env_vars+=("$v=${!v}")
	fi
done

echo "run-integration: pgshift=$PGSHIFT_BIN, work dir $WORK${run_as:+ (as $TEST_USER)}"

cd "$WORK/tests/integration" || die "cd $WORK/tests/integration"
"${run_as[@]}" env -i "${env_vars[@]}" \
	prove --timer "${prove_opts[@]}" "${test_files[@]}" 2>&1 | tee "$WORK/prove.out"
rc=${PIPESTATUS[0]}
cd / || true

if [[ $rc -eq 0 ]]; then
	if [[ -n ${PGSHIFT_TEST_KEEP:-} ]]; then
		echo "run-integration: kept $WORK (PGSHIFT_TEST_KEEP)" >&2
	else
		rm -rf "$WORK"
	fi
	exit 0
fi

# Failure: show the logs, then repeat prove's summary so it stays last.
logdir=$WORK/tests/integration/tmp_check/log
echo
echo "run-integration: FAILED (prove exit $rc); everything is kept in $WORK"
shopt -s nullglob
for f in "$logdir"/regress_log_*; do
	echo
	echo "======== tail -n 80 $f"
	tail -n 80 "$f"
done
for f in "$logdir"/*.log; do
	echo
	echo "======== errors and warnings in $f (last 30)"
	grep -E 'ERROR|FATAL|PANIC|WARNING' "$f" | tail -n 30
done
while IFS= read -r -d '' f; do
	echo
	echo "======== tail -n 30 $f"
	tail -n 30 "$f"
done < <(find "$WORK/tests/integration/tmp_check" -name pgshift.log -print0 2>/dev/null)
echo
echo "======== prove summary (repeated)"
if grep -q '^Test Summary Report' "$WORK/prove.out"; then
	sed -n '/^Test Summary Report/,$p' "$WORK/prove.out"
else
	tail -n 3 "$WORK/prove.out"
fi
# The first failed assertions of each failed file, last, where a truncated
# CI log still shows them.
for t in $(grep -E '^t/[^ ]+\.pl +\(Wstat' "$WORK/prove.out" | awk '{print $1}' | sort -u); do
	f=$logdir/regress_log_$(basename "$t" .pl)
	[[ -f $f ]] || continue
	echo
	echo "======== first failed assertions of $t (from $f)"
	grep -A 4 -E '^\[[0-9:.]+\]\([0-9.]+s\) +# +Failed test' "$f" | cut -c 1-240 | head -n 30
	echo "======== errors in the pgshift logs of $t (last 10)"
	find "$WORK/tests/integration/tmp_check" -path "*/pgshift_$(basename "$t" .pl)_*/pgshift.log" \
		-exec grep -H -E ' (ERROR|FATAL|PANIC) ' {} + 2>/dev/null | sed "s|^$WORK/tests/integration/tmp_check/||" |
		cut -c 1-300 | tail -n 10
done
exit "$rc"
