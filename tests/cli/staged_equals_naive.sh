#!/usr/bin/env bash
# Through the CLI: the staged engine split into chunks (a memory limit of one batch) and groups
# (more than 64 faults), with two threads, writes byte for byte the naive engine's results file.
set -eu
dnnfi=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
args=(run -n resnet20 -d cifar10 --sample 70 --images 300 --threads 2 -q)
"$dnnfi" "${args[@]}" --engine naive -o "$dir/naive.csv"
"$dnnfi" -v "${args[@]}" --engine staged --memory-limit 1K -o "$dir/staged.csv" 2> "$dir/staged.log"
grep -q "chunks of 128 images" "$dir/staged.log" || { cat "$dir/staged.log"; echo "FAIL: not chunked" >&2; exit 1; }
[ "$(wc -l < "$dir/naive.csv")" -eq 71 ] || { echo "FAIL: expected 70 rows" >&2; exit 1; }
cmp "$dir/naive.csv" "$dir/staged.csv"
echo "PASS: 70 faults x 300 images, staged (3 chunks) and naive results files identical"
