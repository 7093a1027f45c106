#!/usr/bin/env bash
# Builds dnnfi (and its unit tests) against the LibTorch of a CUDA-enabled pip PyTorch, for NVIDIA
# GPUs: finds LibTorch through the Python interpreter's torch, refuses a CPU-only torch, finds the
# CUDA toolkit (nvcc) LibTorch's CMake files ask for, and configures a Release build with Ninja
# (else Makefiles). The C++ dependencies come from third_party/ (scripts/vendor_deps.sh) when it
# exists, header-only, else from the system's packages. The binary is BUILD_DIR/dnnfi.
#   scripts/build_cuda.sh [--allow-cpu] [BUILD_DIR] [-DCMAKE_OPTION=VALUE ...]   (default build-cuda)
# --allow-cpu accepts a CPU-only torch (to try the script on a machine without CUDA).
# Environment: PYTHON (default python3), JOBS (default: all cores, fewer if memory is short),
# DNNFI_SHARED (the shared data/weights/seed folder the tests read, if any), CUDA_ARCH (e.g. 90;
# default: the first GPU's, from nvidia-smi), CUDACXX (nvcc; default: PATH, then /usr/local/cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

allow_cpu=0 build="" extra=()
for arg in "$@"; do
  case $arg in
    --allow-cpu) allow_cpu=1 ;;
    -h | --help) usage; exit 0 ;;
    -D*) extra+=("$arg") ;;
    -*) echo "build_cuda: unknown option $arg (see --help)" >&2; exit 2 ;;
    *)
      [ -z "$build" ] || { echo "build_cuda: one build folder only, got $build and $arg" >&2; exit 2; }
      build=$arg ;;
  esac
done
build=${build:-build-cuda}
python=${PYTHON:-python3}
log() { echo "build_cuda: $*"; }

command -v "$python" > /dev/null || { echo "build_cuda: Python interpreter '$python' not found (set PYTHON)" >&2; exit 1; }
command -v cmake > /dev/null || { echo "build_cuda: cmake not found on PATH" >&2; exit 1; }
torch_info=$("$python" -c '
import torch, torch.utils
print(torch.__version__)
print(torch.utils.cmake_prefix_path)
print(torch.version.cuda)
print(int(torch._C._GLIBCXX_USE_CXX11_ABI))
') || { echo "build_cuda: '$python' cannot import torch; install a CUDA build of PyTorch for it or set PYTHON" >&2; exit 1; }
{ read -r torch_version; read -r torch_prefix; read -r torch_cuda; read -r torch_abi; } <<< "$torch_info"
if [ "$torch_cuda" = "None" ]; then
  if [ "$allow_cpu" = 0 ]; then
    echo "build_cuda: this PyTorch is CPU-only: $python has torch $torch_version without CUDA" \
      "(torch.version.cuda is None); install a CUDA build (e.g. pip install torch from" \
      "https://download.pytorch.org/whl/cu130), point PYTHON at one, or pass --allow-cpu" >&2
    exit 1
  fi
  log "torch $torch_version is CPU-only; building anyway (--allow-cpu)"
else
  log "torch $torch_version, CUDA $torch_cuda, C++11 ABI $torch_abi ($python)"
fi

args=(-DCMAKE_BUILD_TYPE=Release -DDNNFI_BUILD_TESTS=ON -DDNNFI_BUILD_BENCHMARKS=OFF)
# pip wheels carry TorchConfig.cmake under torch/share/cmake; Debian's libtorch-dev is found by
# CMake's default search instead.
if [ -f "$torch_prefix/Torch/TorchConfig.cmake" ]; then
  args+=("-DCMAKE_PREFIX_PATH=$torch_prefix")
  log "LibTorch: $torch_prefix"
else
  log "LibTorch: no TorchConfig.cmake under $torch_prefix; leaving it to CMake's default search"
fi

# The C++11 ABI flag comes with LibTorch's CMake target (TORCH_CXX_FLAGS); header-only
# dependencies are compiled with it, so their ABI cannot disagree with LibTorch's.
if [ -f third_party/include/fmt/format.h ]; then
  args+=("-DDNNFI_THIRD_PARTY=$(pwd)/third_party")
  log "dependencies: header-only, from third_party/ ($(paste -sd' ' third_party/VERSIONS 2>/dev/null || echo 'no VERSIONS file'))"
else
  torch_include=$(dirname "$(dirname "$torch_prefix")")/include
  if [ -f "$torch_include/fmt/format.h" ]; then
    echo "build_cuda: this PyTorch ships its own fmt headers ($torch_include/fmt), which would hide" \
      "the system's fmt that spdlog needs: run scripts/vendor_deps.sh (on a Debian machine; copy" \
      "third_party/ here) so the build uses header-only dependencies from third_party/" >&2
    exit 1
  fi
  log "dependencies: the system's packages (no third_party/; scripts/vendor_deps.sh makes one)"
fi

if [ "$torch_cuda" != "None" ]; then
  nvcc=${CUDACXX:-$(command -v nvcc || true)}
  if [ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ]; then nvcc=/usr/local/cuda/bin/nvcc; fi
  if [ -n "$nvcc" ] && [ -x "$nvcc" ]; then
    cuda_root=$(cd "$(dirname "$nvcc")/.." && pwd)
    export PATH="$cuda_root/bin:$PATH"
    args+=("-DCMAKE_CUDA_COMPILER=$nvcc" "-DCUDAToolkit_ROOT=$cuda_root" "-DCUDA_TOOLKIT_ROOT_DIR=$cuda_root")
    log "CUDA toolkit: $cuda_root ($("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'))"
  else
    log "warning: no nvcc (PATH, CUDACXX, /usr/local/cuda/bin); LibTorch's CMake files may not find CUDA"
  fi
  arch=${CUDA_ARCH:-}
  if [ -z "$arch" ] && command -v nvidia-smi > /dev/null; then
    arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2> /dev/null | head -1 | tr -d ' .' || true)
  fi
  if [[ $arch =~ ^[0-9]+$ ]]; then
    args+=("-DCMAKE_CUDA_ARCHITECTURES=$arch")
    # LibTorch's CMake files otherwise probe the GPU for their own (unused here) nvcc flags.
    export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-${arch%?}.${arch: -1}}
    log "CUDA architecture: $arch"
  fi
fi

if [ -n "${DNNFI_SHARED:-}" ]; then
  shared=$(cd "$DNNFI_SHARED" 2> /dev/null && pwd) || { echo "build_cuda: DNNFI_SHARED=$DNNFI_SHARED is not a folder" >&2; exit 1; }
  args+=("-DDNNFI_SHARED_DIR=$shared")
fi

# Keep the generator of an existing build folder; else Ninja when there is one.
if [ -f "$build/CMakeCache.txt" ]; then
  generator=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$build/CMakeCache.txt")
elif command -v ninja > /dev/null; then
  generator=Ninja
else
  generator="Unix Makefiles"
fi
jobs=${JOBS:-$(nproc)}
if [ -z "${JOBS:-}" ]; then  # LibTorch translation units need ~1.5 GB each
  mem_jobs=$(awk '/MemAvailable/ {print int($2 / 1572864)}' /proc/meminfo)
  [ "$mem_jobs" -ge 1 ] && [ "$mem_jobs" -lt "$jobs" ] && jobs=$mem_jobs
fi

mkdir -p "$build"
log "configuring $build ($generator)"
start=$SECONDS
cmake -S . -B "$build" -G "$generator" "${args[@]}" "${extra[@]}" > "$build/configure.log" 2>&1 || {
  tail -40 "$build/configure.log" >&2
  echo "build_cuda: cmake configure failed; the whole log is $build/configure.log" >&2
  exit 1
}
log "building with $jobs job(s); log: $build/build.log"
cmake --build "$build" -j "$jobs" > "$build/build.log" 2>&1 || {
  tail -40 "$build/build.log" >&2
  echo "build_cuda: build failed; the whole log is $build/build.log" >&2
  exit 1
}
log "built $build/dnnfi and $build/tests/dnnfi_unit_tests in $((SECONDS - start)) s"
