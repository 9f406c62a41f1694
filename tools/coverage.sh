#!/usr/bin/env bash
# tools/coverage.sh — line coverage of src/pg, src/cdc and src/clone (`make coverage`).
#
# Builds with --coverage into build-cov (its own tree: the normal build is
# never instrumented), runs the unit tests and the integration tests (all,
# or the files in TESTS), then gcovr reports the lines run per file.
# Counts start from zero on every run.
#
#   make coverage
#   TESTS=tests/integration/t/001_ping.pl make coverage
#
# The integration tests run pgshift as the user "postgres" when started as
# root: build-cov is opened to it so the .gcda counts can be written.
# gcovr is not a CI dependency: scripts/install-deps.sh --coverage installs it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${COV_BUILD:-build-cov}
TESTS=${TESTS:-}
FILTERS=(--filter 'src/pg/' --filter 'src/cdc/' --filter 'src/clone/')

if ! command -v gcovr >/dev/null 2>&1; then
	echo "coverage: gcovr not found: apt-get install gcovr (or scripts/install-deps.sh --coverage)" >&2
	exit 2
fi

if [[ -d $BUILD ]]; then
	find "$BUILD" -name '*.gcda' -delete
fi
make -j2 BUILD="$BUILD" COVERAGE=1 all
rc=0
make BUILD="$BUILD" COVERAGE=1 check-unit || rc=1

if [[ $(id -u) -eq 0 ]]; then
	chmod -R a+rwX "$BUILD"
fi
# shellcheck disable=SC2086 # TESTS is a list of files
PGSHIFT_BIN="$PWD/$BUILD/pgshift" tests/run-integration.sh $TESTS || rc=1

echo "==> line coverage (${TESTS:-all integration tests} + unit tests)"
gcovr --root . "${FILTERS[@]}" --sort-percentage --print-summary \
	--txt "$BUILD/coverage.txt" --html-details "$BUILD/coverage.html" "$BUILD"
# per file: lines, lines run, percentage (the missed line numbers are in coverage.txt)
cut -c 1-64 "$BUILD/coverage.txt"
echo "coverage: $BUILD/coverage.txt (missed lines), $BUILD/coverage.html (per line)"
if [[ $rc -ne 0 ]]; then
	echo "coverage: some tests failed (the report counts what ran)" >&2
fi
exit "$rc"
