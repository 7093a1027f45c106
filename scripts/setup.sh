#!/usr/bin/env bash
# Installs the Debian packages dnnfi needs (idempotent: does nothing when all are there)
# and builds it into build/. Usage: scripts/setup.sh [extra cmake options...]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/packages.sh
ensure_packages cmake g++ make libtorch-dev libopenblas0-openmp libcli11-dev libfmt-dev libspdlog-dev catch2 \
  libstb-dev python3-torch python3-pil python3-matplotlib python3-pandas python3-tqdm

jobs=$(nproc)
# LibTorch translation units need ~1.5 GB each; keep parallel jobs within memory.
mem_jobs=$(( $(awk '/MemAvailable/ {print int($2 / 1572864)}' /proc/meminfo) ))
[ "$mem_jobs" -ge 1 ] && [ "$mem_jobs" -lt "$jobs" ] && jobs=$mem_jobs
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j "$jobs" >> build.log 2>&1 || { tail -50 build.log; exit 1; }
echo "dnnfi setup: built build/dnnfi"
