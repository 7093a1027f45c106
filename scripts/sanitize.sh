#!/usr/bin/env bash
# Builds the unit tests with AddressSanitizer and UndefinedBehaviorSanitizer (CMake preset
# "asan", into build-asan/) and runs them: memory errors, leaks and undefined behaviour in
# dnnfi's own code stop the run. Slow tests (staged vs naive on three models) and the [heavy]
# engines-against-naive unit tests (minutes each here, many more under the sanitizers) are left to
# the release build; lighter tests still run every engine's code. Needs scripts/setup.sh's packages.
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
cd build-asan
ctest --output-on-failure -j 2 -R '^unit\.' -LE 'slow|heavy' "$@"
