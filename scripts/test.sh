#!/usr/bin/env bash
# `make test`: builds, then runs every suite (unit tests through ctest, the
# end-to-end suite with pytest, the fuzz corpora replay plus optional
# fuzzing), each to the end even when an earlier one failed, and closes with
# a summary that counts each suite and names every skipped test with why.
#   scripts/test.sh BUILD_DIR FUZZ_BUILD_DIR FUZZ_SECONDS
# The end-to-end files run E2E_JOBS at a time (pytest-xdist, one file per
# worker from start to end, as the files' module fixtures expect): they
# mostly wait on the processes they start, so three share two cores well.
set -uo pipefail
E2E_JOBS=${E2E_JOBS:-3}
build=${1:?usage: scripts/test.sh BUILD_DIR FUZZ_BUILD_DIR FUZZ_SECONDS}
fuzz_build=${2:?}
fuzz_seconds=${3:-0}
cd "$(dirname "$0")/.."
logs=$build/test-results
failed=()

make --no-print-directory build BUILD="$build" || exit 1
rm -rf "$logs" && mkdir -p "$logs"

echo "== unit tests (ctest)"
(cd "$build" && ctest --output-on-failure --output-junit "$PWD/test-results/unit.xml") || failed+=(unit)

echo "== end-to-end tests (pytest, real broker processes and peers; $E2E_JOBS files at once)"
TOLLGATE_BIN=$PWD/$build/tollgate /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider \
  -n "$E2E_JOBS" --dist loadfile --junitxml="$logs/e2e.xml" tests/e2e || failed+=(e2e)

echo "== fuzz targets (corpus replay${fuzz_seconds:+, then $fuzz_seconds s each})"
make --no-print-directory fuzz-replay FUZZ_BUILD="$fuzz_build" FUZZ_SECONDS="$fuzz_seconds" \
  2>&1 | tee "$logs/fuzz.log" || failed+=(fuzz)

/usr/bin/python3 scripts/test_summary.py "$logs/unit.xml" "$logs/e2e.xml"
if [ ${#failed[@]} -gt 0 ]; then
  echo "make test: FAILED: ${failed[*]} (output above; results in $logs/)"
  exit 1
fi
echo "make test: every suite passed"
