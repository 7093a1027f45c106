#!/usr/bin/env bash
# Checks that the C++ sources follow .clang-format (CI runs this), or reformats them with --fix.
# Needs Debian's clang-format (installed by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
# Tracked and new (not ignored) files alike, so a file not yet added is checked too.
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
  echo "format: ${#files[@]} files follow .clang-format"
fi
