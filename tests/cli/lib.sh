# Helpers for the CLI test scripts (sourced).
fail() { echo "FAIL: $*" >&2; exit 1; }

# run_expecting STATUS STREAM REGEX COMMAND...: runs COMMAND and says whether it exited with
# STATUS and its STREAM (stdout, stderr, or both: one stream as written) matches the extended regular
# expression REGEX, searched in the whole stream. Leaves run_out, run_err, run_status and, on a
# mismatch, run_why (what differed) for the caller to show. The one check of "exit status and
# message" every test script uses (expect, expect.sh, the probes).
run_expecting() {
  local expected=$1 stream=$2 pattern=$3 dir text
  shift 3
  dir=$(mktemp -d)
  if [ "$stream" = both ]; then
    "$@" > "$dir/out" 2>&1  # one stream, in the order it was written
  else
    "$@" > "$dir/out" 2> "$dir/err"
  fi
  run_status=$?
  run_out=$(cat "$dir/out")
  run_err=$(cat "$dir/err" 2> /dev/null)
  rm -rf "$dir"
  case $stream in
    stdout) text=$run_out ;;
    stderr) text=$run_err ;;
    *) text=$run_out ;;
  esac
  run_why=""
  [ "$run_status" -eq "$expected" ] || run_why="exit $run_status, expected $expected"
  [[ $text =~ $pattern ]] || run_why="${run_why:+$run_why; }$stream does not match /$pattern/"
  [ -z "$run_why" ]
}

# expect STATUS REGEX COMMAND...: COMMAND exits with STATUS and its stdout+stderr match REGEX.
expect() {
  local status=$1 pattern=$2
  shift 2
  if ! run_expecting "$status" both "$pattern" "$@"; then
    printf '%s\n%s\n' "$run_out" "$run_err" >&2
    fail "$run_why: $*"
  fi
  echo "ok: exit $status, /$pattern/"
}

# same FILE_A FILE_B: byte-identical.
same() { cmp "$1" "$2" || fail "$2 differs from $1"; echo "ok: $2 equals $1"; }
