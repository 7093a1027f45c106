#!/usr/bin/env bash
# Installs the Debian packages that tests/slurm/cluster.sh needs (run as root).
# The daemons are started by cluster.sh under a private folder, so apt must not start
# the system services: a policy-rc.d that answers 101 ("action not allowed") prevents that.
set -euo pipefail

pkgs=(slurmctld slurmd slurm-client munge)

if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: must run as root" >&2
    exit 1
fi

policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    created_policy=1
fi
# Remove only a policy-rc.d that this script created.
cleanup() {
    if [ "$created_policy" -eq 1 ]; then
        rm -f "$policy"
    fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
# Nothing to do when everything is installed already.
if dpkg-query -W -f='${Status}\n' "${pkgs[@]}" 2>/dev/null | grep -qv '^install ok installed$' ||
    [ "$(dpkg-query -W -f='${Status}\n' "${pkgs[@]}" 2>/dev/null | wc -l)" -ne "${#pkgs[@]}" ]; then
    # The package lists may be missing or stale on a fresh machine: refresh and retry once.
    if ! apt-get install -y --no-install-recommends "${pkgs[@]}"; then
        apt-get update
        apt-get install -y --no-install-recommends "${pkgs[@]}"
    fi
fi
