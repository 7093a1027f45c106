#!/usr/bin/env bash
# Copies the header-only parts of dnnfi's C++ dependencies (CLI11, fmt, spdlog, Catch2, stb_image)
# out of Debian's packages into third_party/, for machines that have a compiler and LibTorch but
# not these packages (and maybe no network): configure with -DDNNFI_THIRD_PARTY=$PWD/third_party
# (scripts/build_cuda.sh does when the folder exists). Run it on a Debian 12 machine with apt;
# it takes the versions installed there (else apt's candidates). Idempotent: when third_party/
# already holds those versions it does nothing.
#   scripts/vendor_deps.sh [DEST]      (default: third_party)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-third_party}
packages=(libcli11-dev libfmt-dev libspdlog-dev catch2 libstb-dev)

for tool in apt-get apt-cache dpkg-deb dpkg-query; do
  command -v "$tool" > /dev/null || { echo "vendor_deps: $tool not found: run this on a Debian/Ubuntu machine" >&2; exit 1; }
done

# The version of each package: the installed one, else apt's candidate.
wanted=()
for p in "${packages[@]}"; do
  v=$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>/dev/null | awk '$3 == "installed" {print $4}')
  [ -n "$v" ] || v=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$v" ] || [ "$v" = "(none)" ]; then
    echo "vendor_deps: apt knows no version of $p (run apt-get update, or check the sources list)" >&2
    exit 1
  fi
  wanted+=("$p=$v")
done
manifest=$(printf '%s\n' "${wanted[@]}")
if [ -f "$dest/VERSIONS" ] && [ "$(cat "$dest/VERSIONS")" = "$manifest" ]; then
  echo "vendor_deps: $dest/ already holds $(echo "$manifest" | tr '\n' ' ')"
  exit 0
fi

if [ -n "$(ls -A "$dest" 2> /dev/null)" ] && [ ! -f "$dest/VERSIONS" ]; then
  echo "vendor_deps: $dest exists but was not made by this script (no $dest/VERSIONS); move it away or name another folder" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/debs" "$work/root"
(cd "$work/debs" && apt-get download -q "${wanted[@]}") > "$work/download.log" 2>&1 || {
  cat "$work/download.log" >&2
  echo "vendor_deps: apt-get download ${wanted[*]} failed (see above)" >&2
  exit 1
}
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done

# Keep headers, Catch2's CMake test discovery and the licences; no libraries, no config files
# (they name /usr paths and compiled libraries; CMakeLists.txt makes header-only targets).
usr=$work/root/usr
new=$work/third_party
mkdir -p "$new/include/stb" "$new/lib/cmake/Catch2" "$new/licenses"
for dir in CLI fmt spdlog catch2; do
  [ -d "$usr/include/$dir" ] || { echo "vendor_deps: the packages hold no include/$dir" >&2; exit 1; }
  cp -r "$usr/include/$dir" "$new/include/"
done
cp "$usr/include/stb/stb_image.h" "$new/include/stb/"
for f in Catch.cmake CatchAddTests.cmake; do cp "$usr/lib/cmake/Catch2/$f" "$new/lib/cmake/Catch2/"; done
for p in "${packages[@]}"; do cp "$usr/share/doc/$p/copyright" "$new/licenses/$p.copyright"; done
echo "$manifest" > "$new/VERSIONS"

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$new" "$dest"
echo "vendor_deps: $dest/ now holds the headers of $(echo "$manifest" | tr '\n' ' ')($(du -sh "$dest" | cut -f1))"
