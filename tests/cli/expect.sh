#!/usr/bin/env bash
# expect.sh STATUS STREAM REGEX COMMAND...: runs COMMAND and requires exit status STATUS and
# its STREAM (stdout or stderr) to match the extended regular expression REGEX, searched in
# the whole stream (a newline in REGEX matches a line break). The other stream is only shown.
set -u
. "$(dirname "$0")/lib.sh"
case "$2" in stdout | stderr) ;; *) echo "expect.sh: STREAM must be stdout or stderr" >&2; exit 2 ;; esac
run_expecting "$@"
ok=$?
echo "--- stdout"; echo "$run_out"
echo "--- stderr"; echo "$run_err"
[ "$ok" -eq 0 ] || { echo "FAIL: $run_why" >&2; exit 1; }
echo "PASS: exit $run_status, $2 matches"
