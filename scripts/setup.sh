#!/usr/bin/env bash
# Installs the Debian packages dnnfi needs (idempotent: does nothing when all are there)
# and builds it into build/. Usage: scripts/setup.sh [extra cmake options...]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make libtorch-dev libopenblas0-openmp libcli11-dev libfmt-dev libspdlog-dev catch2 python3-torch python3-pil)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "dnnfi setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # Without --no-install-recommends libtorch-dev pulls about 1 GB of extras it does not need.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc)
# LibTorch translation units need ~1.5 GB each; keep parallel jobs within memory.
mem_jobs=$(( $(awk '/MemAvailable/ {print int($2 / 1572864)}' /proc/meminfo) ))
[ "$mem_jobs" -ge 1 ] && [ "$mem_jobs" -lt "$jobs" ] && jobs=$mem_jobs
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j "$jobs" >> build.log 2>&1 || { tail -50 build.log; exit 1; }
echo "dnnfi setup: built build/dnnfi"
