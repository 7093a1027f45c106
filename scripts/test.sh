#!/usr/bin/env bash
# Sets up (packages, build with tests) and runs the whole test suite with CTest.
# Tests read the shared data, weights and seed files from DNNFI_SHARED (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=$(cd "${DNNFI_SHARED:-$(pwd)/../shared}" 2>/dev/null && pwd) || {
  echo "dnnfi tests need the shared inputs (data, weights, seed): set DNNFI_SHARED" >&2; exit 1; }
extra=()
[ "${CI:-}" = "true" ] && extra+=(-DDNNFI_WARNINGS_AS_ERRORS=ON)
scripts/setup.sh -DDNNFI_BUILD_TESTS=ON -DDNNFI_SHARED_DIR="$shared" "${extra[@]}"
# The report's HTML page is checked in a real browser, headless; the Python package's tests run
# under pytest, the example notebooks in a Jupyter kernel, headless (jupyter nbconvert --execute).
. scripts/packages.sh
ensure_packages chromium python3-pytest jupyter-nbconvert python3-ipykernel
# The Slurm test starts its own single-node cluster, which needs root; others skip it.
if [ "$(id -u)" -eq 0 ]; then bash tests/slurm/install.sh; fi
# Two tests at once, each with up to two threads: OpenMP's threads that spin while they wait for
# work take the cores from the other test's (a staged-vs-naive test took 121 s beside a 2-thread
# campaign with spinning threads, 54 s with waiting ones sleeping, 26 s alone).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
cd build
ctest --output-on-failure -j 2 "$@"
