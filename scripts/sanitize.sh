#!/usr/bin/env bash
# Builds the unit tests with AddressSanitizer and UndefinedBehaviorSanitizer (CMake preset
# "asan", into build-asan/) and runs them: memory errors, leaks and undefined behaviour in
# dnnfi's own code stop the run. Slow tests (staged vs naive on three models) and the [heavy]
# engines-against-naive unit tests (minutes each here, many more under the sanitizers) are left to
# the release build; lighter tests still run every engine's code. Needs scripts/setup.sh's packages.
#
# The release run (scripts/test.sh) starts one process per test; here the same tests run in two
# processes side by side (every other test in each), since a sanitized process takes about 2 s
# to start and to load LibTorch, and one more to load ResNet20: a third of the run's time before.
# Extra arguments go to both processes (Catch2's options, e.g. -d yes for each test's time).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=$(cd "${DNNFI_SHARED:-$(pwd)/../shared}" 2>/dev/null && pwd) || {
  echo "dnnfi sanitizer tests need the shared inputs (data, weights, seed): set DNNFI_SHARED" >&2; exit 1; }
jobs=$(nproc)
mem_jobs=$(( $(awk '/MemAvailable/ {print int($2 / 2097152)}' /proc/meminfo) ))  # ~2 GB per TU here
[ "$mem_jobs" -ge 1 ] && [ "$mem_jobs" -lt "$jobs" ] && jobs=$mem_jobs
cmake --preset asan -DDNNFI_SHARED_DIR="$shared" > build-asan.log 2>&1 || { cat build-asan.log; exit 1; }
cmake --build build-asan --target dnnfi_unit_tests -j "$jobs" >> build-asan.log 2>&1 || { tail -50 build-asan.log; exit 1; }
# ASan's defaults (leak checks included) stop at the first error; UBSan is fatal by the preset's
# -fno-sanitize-recover=all and prints where.
export UBSAN_OPTIONS=print_stacktrace=1
export DNNFI_SHARED="$shared" DNNFI_HOME="$PWD/build-asan/test-home"
export DNNFI_WEIGHTS_DIR="$shared/weights" DNNFI_DATA_DIR="$shared/data"
cd build-asan
# The resize test needs its Python-made fixtures: CTest runs both.
ctest --output-on-failure -R '^unit\.resize_matches_pil$'
# The tests CTest would run with -LE 'slow|heavy' (the same spec as tests/CMakeLists.txt's).
# (Catch2 exits with the number of tests it lists.)
{ tests/dnnfi_unit_tests --list-test-names-only '~[heavy]~[.]' || true; } | { grep -v '^$' || true; } > unit-tests.txt
[ -s unit-tests.txt ] || { echo "the sanitized unit test binary lists no tests" >&2; exit 1; }
# Each line of a -f file is a test spec: commas, brackets, backslashes and stars are escaped, and
# each shard must select exactly its own lines.
sed 's/[],[\\*]/\\&/g' unit-tests.txt | awk 'NR % 2 == 1' > unit-tests.1.txt
sed 's/[],[\\*]/\\&/g' unit-tests.txt | awk 'NR % 2 == 0' > unit-tests.2.txt
for shard in 1 2; do
  selected=$({ tests/dnnfi_unit_tests -f unit-tests.$shard.txt --list-test-names-only || true; } | grep -vc '^$' || true)
  [ "$selected" -eq "$(wc -l < unit-tests.$shard.txt)" ] || {
    echo "shard $shard selects $selected tests, not its $(wc -l < unit-tests.$shard.txt)" >&2; exit 1; }
done
# A hung process is stopped (CTest's per-test limit does not apply here): 20 minutes, about
# three times what a shard takes on the 2-core reference machine.
start=$SECONDS
timeout 1200 tests/dnnfi_unit_tests -f unit-tests.1.txt "$@" > unit-tests.1.log 2>&1 &
first=$!
timeout 1200 tests/dnnfi_unit_tests -f unit-tests.2.txt "$@" > unit-tests.2.log 2>&1 &
second=$!
status=0
wait "$first" || status=1
wait "$second" || status=1
for shard in 1 2; do
  echo "--- sanitized unit tests, shard $shard of 2 ($(wc -l < unit-tests.$shard.txt) tests):"
  cat unit-tests.$shard.log
done
echo "sanitized unit tests: $(wc -l < unit-tests.txt) in $((SECONDS - start)) s"
exit $status
