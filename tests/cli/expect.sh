#!/usr/bin/env bash
# expect.sh STATUS STREAM REGEX COMMAND...: runs COMMAND and requires exit status STATUS and
# its STREAM (stdout or stderr) to match the extended regular expression REGEX, searched in
# the whole stream (a newline in REGEX matches a line break). The other stream is only shown.
set -u
expected=$1 stream=$2 pattern=$3
shift 3
case "$stream" in stdout | stderr) ;; *) echo "expect.sh: STREAM must be stdout or stderr" >&2; exit 2 ;; esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$@" > "$dir/stdout" 2> "$dir/stderr"
status=$?
echo "--- stdout"; cat "$dir/stdout"
echo "--- stderr"; cat "$dir/stderr"
if [ "$status" -ne "$expected" ]; then
  echo "FAIL: exit status $status, expected $expected" >&2
  exit 1
fi
text=$(cat "$dir/$stream")
if ! [[ $text =~ $pattern ]]; then
  echo "FAIL: $stream does not match: $pattern" >&2
  exit 1
fi
echo "PASS: exit $status, $stream matches"
