#!/usr/bin/env bash
# Smoke test of the private Slurm cluster: job array, afterok dependency, a dependency that
# can never be met, scancel of one array task and its requeue.
#
#   bash tests/slurm/smoke.sh DIR
#
# DIR holds the cluster (see cluster.sh) and the jobs' files; the cluster is always stopped
# on exit. Exit 0 on success.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cluster="$here/cluster.sh"
mkdir -p "$1"
dir=$(cd "$1" && pwd -P)
out="$dir/jobs"
mkdir -p "$out"

TIMEOUT=120
t0=$(date +%s)

log() { echo "smoke.sh: [$(($(date +%s) - t0)) s] $*" >&2; }
fail() {
    log "FAIL: $*"
    squeue -t all -o '%.18i %.9P %.12j %.12T %.10M %R' >&2 2>/dev/null || true
    exit 1
}

trap 'bash "$cluster" stop "$dir" || true' EXIT

bash "$cluster" available
eval "$(bash "$cluster" start "$dir")"
log "cluster started"

# Waits until none of the given jobs (ids or array ids) is pending or running. Polls squeue
# because sbatch --wait only notices the end after a long delay.
wait_jobs() {
    local deadline=$(($(date +%s) + TIMEOUT)) left
    while :; do
        left=$(squeue -h -j "$1" -o '%i' 2>/dev/null) || fail "squeue failed for $1"
        [ -z "$left" ] && return 0
        [ "$(date +%s)" -lt "$deadline" ] || fail "jobs $1 still queued after $TIMEOUT s: $left"
        sleep 0.5
    done
}

# Prints the state of one job or array task, e.g. COMPLETED.
job_state() {
    squeue -h -t all -j "$1" -o '%T' 2>/dev/null | head -n 1
}

wait_state() {
    local id=$1 want=$2 deadline=$(($(date +%s) + TIMEOUT)) st
    while :; do
        st=$(job_state "$id")
        [ "$st" = "$want" ] && return 0
        [ "$(date +%s)" -lt "$deadline" ] || fail "job $id is '$st', not $want, after $TIMEOUT s"
        sleep 0.2
    done
}

common=(--parsable --chdir="$dir" --ntasks=1 --cpus-per-task=1 --mem=50M --time=5)

# 1. A 4-task array, each task writing its index, and a job that merges them once all
#    tasks have succeeded.
aid=$(sbatch "${common[@]}" --array=0-3 --job-name=smoke-array \
    --output="$out/array-%A_%a.out" \
    --wrap="echo \$SLURM_ARRAY_TASK_ID > '$out/task-'\$SLURM_ARRAY_TASK_ID.txt")
mid=$(sbatch "${common[@]}" --dependency=afterok:"$aid" --job-name=smoke-merge \
    --output="$out/merge-%j.out" \
    --wrap="cat '$out'/task-0.txt '$out'/task-1.txt '$out'/task-2.txt '$out'/task-3.txt > '$out/merged.txt'")
log "submitted array $aid and merge job $mid"
wait_jobs "$aid,$mid"
for i in 0 1 2 3; do
    [ "$(job_state "${aid}_$i")" = COMPLETED ] || fail "array task ${aid}_$i: $(job_state "${aid}_$i")"
done
[ "$(job_state "$mid")" = COMPLETED ] || fail "merge job $mid: $(job_state "$mid")"
printf '0\n1\n2\n3\n' | cmp -s - "$out/merged.txt" || fail "merged.txt is wrong: $(cat "$out/merged.txt" 2>&1)"
log "array and afterok dependency: ok"

# 2. An afterok dependency on a failed job must be cancelled, not left pending for ever.
fid=$(sbatch "${common[@]}" --job-name=smoke-fail --output="$out/fail-%j.out" --wrap="exit 3")
did=$(sbatch "${common[@]}" --dependency=afterok:"$fid" --job-name=smoke-never \
    --output="$out/never-%j.out" --wrap="touch '$out/never-ran'")
wait_jobs "$fid,$did"
[ "$(job_state "$fid")" = FAILED ] || fail "job $fid should have failed: $(job_state "$fid")"
[ "$(job_state "$did")" = CANCELLED ] || fail "dependent job $did: $(job_state "$did")"
[ ! -e "$out/never-ran" ] || fail "dependent job $did ran although its dependency failed"
log "failed dependency cancels the dependent job: ok"

# 3. Cancel one running array task, then requeue it. A task sleeps only on its first run
#    (SLURM_RESTART_COUNT is set on a requeued job), so the requeued run finishes at once.
rid=$(sbatch "${common[@]}" --array=0-1 --job-name=smoke-requeue --requeue \
    --output="$out/requeue-%A_%a.out" \
    --wrap="if [ \$SLURM_ARRAY_TASK_ID = 1 ] && [ \${SLURM_RESTART_COUNT:-0} = 0 ]; then sleep 300; fi; echo \$SLURM_ARRAY_TASK_ID:\${SLURM_RESTART_COUNT:-0} > '$out/requeue-'\$SLURM_ARRAY_TASK_ID.txt")
log "submitted array $rid"
wait_state "${rid}_1" RUNNING
scancel "${rid}_1"
wait_state "${rid}_1" CANCELLED
[ ! -e "$out/requeue-1.txt" ] || fail "cancelled task ${rid}_1 wrote its file"
log "scancel of one array task: ok"
scontrol requeue "${rid}_1"
wait_jobs "$rid"
[ "$(job_state "${rid}_0")" = COMPLETED ] || fail "task ${rid}_0: $(job_state "${rid}_0")"
[ "$(job_state "${rid}_1")" = COMPLETED ] || fail "requeued task ${rid}_1: $(job_state "${rid}_1")"
[ "$(cat "$out/requeue-0.txt")" = 0:0 ] || fail "requeue-0.txt: $(cat "$out/requeue-0.txt")"
[ "$(cat "$out/requeue-1.txt")" = 1:1 ] || fail "requeue-1.txt: $(cat "$out/requeue-1.txt")"
log "scontrol requeue of the cancelled task: ok"

log "all Slurm smoke checks passed"
