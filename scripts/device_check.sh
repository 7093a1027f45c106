#!/usr/bin/env bash
# The GPU check (tests/device/check.sh), run from here as the README says: see that file for its
# steps, options and output.
exec bash "$(dirname "$0")/../tests/device/check.sh" "$@"
