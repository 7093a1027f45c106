#!/usr/bin/env bash
# Builds the unit tests with AddressSanitizer and UndefinedBehaviorSanitizer (CMake preset
# "asan", into build-asan/) and runs them: memory errors, leaks and undefined behaviour in
# dnnfi's own code stop the run. Slow tests (staged vs naive on three models) and the [heavy]
# engines-against-naive unit tests (minutes each here, many more under the sanitizers) are left to
# the release build; lighter tests still run every engine's code. Needs scripts/setup.sh's packages.
#
# The light unit tests run in two processes side by side (every other test in each): a sanitized
# process takes about 2 s to start and to load LibTorch, and one more to load ResNet20, a third
# of the run's time when each test had its own.
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
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}  # two processes at once (scripts/test.sh)
export DNNFI_SHARED="$shared" DNNFI_HOME="$PWD/build-asan/test-home"
export DNNFI_WEIGHTS_DIR="$shared/weights" DNNFI_DATA_DIR="$shared/data"
cd build-asan
# The resize test needs its Python-made fixtures: CTest runs both.
ctest --output-on-failure -R '^unit\.resize_matches_pil$'
# The light unit tests, as the release run's four shards take them (tests/unit/shard.sh), here
# in two. A hung process is stopped (CTest's per-test limit does not apply here): 20 minutes,
# about three times what a shard takes on the 2-core reference machine.
start=$SECONDS
for shard in 1 2; do
  timeout 1200 bash ../tests/unit/shard.sh tests/dnnfi_unit_tests $shard 2 "$@" > unit-tests.$shard.log 2>&1 &
  pids[shard]=$!
done
status=0
for shard in 1 2; do wait "${pids[shard]}" || status=1; done
for shard in 1 2; do
  echo "--- sanitized unit tests, shard $shard of 2:"
  cat unit-tests.$shard.log
done
echo "sanitized unit tests: $((SECONDS - start)) s"
exit $status
