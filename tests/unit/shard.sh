#!/usr/bin/env bash
# shard.sh UNIT_TESTS K N [Catch2 options...]: runs shard K of N of the light unit tests (those
# CTest would otherwise run one process each: not [heavy], not hidden) in one process. Every Nth
# test of the binary's own list goes to a shard, so the shards together run each light test
# exactly once; starting LibTorch (and loading ResNet20) once per shard instead of once per test
# is most of what these tests cost. The binary's exit status is the shard's.
set -euo pipefail
bin=$1 k=$2 n=$3
shift 3
list=$(mktemp)
trap 'rm -f "$list"' EXIT
# Catch2 exits with the number of tests it lists. Each line of a -f file is a test spec: commas,
# brackets, backslashes and stars are escaped, and the shard must select exactly its own lines.
{ "$bin" --list-test-names-only '~[heavy]~[.]' || true; } | { grep -v '^$' || true; } \
  | sed 's/[],[\\*]/\\&/g' | awk -v k="$k" -v n="$n" '(NR - 1) % n == k - 1' > "$list"
want=$(wc -l < "$list")
[ "$want" -gt 0 ] || { echo "shard $k of $n: the unit test binary $bin lists no tests for it" >&2; exit 1; }
got=$({ "$bin" -f "$list" --list-test-names-only || true; } | grep -vc '^$' || true)
[ "$got" -eq "$want" ] || { echo "shard $k of $n selects $got tests, not its $want" >&2; exit 1; }
echo "shard $k of $n: $want unit tests"
"$bin" -f "$list" "$@"
