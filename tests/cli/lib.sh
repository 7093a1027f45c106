# Helpers for the CLI test scripts (sourced).
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect STATUS REGEX COMMAND...: COMMAND exits with STATUS and its stdout+stderr match REGEX.
expect() {
  local status=$1 pattern=$2 out got
  shift 2
  out=$("$@" 2>&1)
  got=$?
  if [ "$got" -ne "$status" ]; then echo "$out" >&2; fail "exit $got, expected $status: $*"; fi
  if ! [[ $out =~ $pattern ]]; then echo "$out" >&2; fail "output does not match '$pattern': $*"; fi
  echo "ok: exit $status, /$pattern/"
}

# same FILE_A FILE_B: byte-identical.
same() { cmp "$1" "$2" || fail "$2 differs from $1"; echo "ok: $2 equals $1"; }
