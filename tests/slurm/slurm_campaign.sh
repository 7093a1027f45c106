#!/usr/bin/env bash
# slurm_campaign.sh DNNFI DIR: a campaign on a real single-node Slurm cluster started here
# (cluster.sh): `dnnfi slurm --tasks 4 --submit`, one array task cancelled mid-run (the merge
# job that waited on the array is then dropped), that task resubmitted (it resumes its part),
# the merge job again; the merged file equals the single-process run byte for byte.
# Exit 77 (skipped) when Slurm is not installed (tests/slurm/install.sh installs it).
set -u
dnnfi=$1 dir=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cli/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the Slurm daemons run as root"; exit 77; }
bash "$here/cluster.sh" available || exit 77
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
cluster=$(mktemp -d /tmp/dnnfi-slurm.XXXXXX)   # short: munge's socket path has a length limit
trap 'bash "$here/cluster.sh" stop "$cluster"; rm -rf "$cluster"' EXIT
start=$(date +%s)
eval "$(bash "$here/cluster.sh" start "$cluster")" || fail "the cluster did not start"
echo "cluster up in $(($(date +%s) - start)) s"

args=(-n resnet20 -d cifar10 --sample 80 --images 1024 -q)
"$dnnfi" run "${args[@]}" --threads 2 -o clean.csv > /dev/null 2>&1 || fail "single-process run"

# Waits until no job of the given ids is queued or running.
wait_jobs() {
  for _ in $(seq 600); do
    [ -z "$(squeue -h -j "$1" -o %i 2> /dev/null)" ] && return 0
    sleep 0.2
  done
  squeue -t all >&2
  fail "jobs $1 did not end"
}

out=$("$dnnfi" slurm "${args[@]}" --tasks 4 --cpus-per-task 1 --submit -o "$dir/campaign.csv" 2>&1) || {
  echo "$out" >&2
  fail "dnnfi slurm --submit"
}
echo "$out"
array=$(echo "$out" | sed -n 's/^submitted array job \([0-9]*\) .*merge job \([0-9]*\);.*/\1/p')
merge=$(echo "$out" | sed -n 's/^submitted array job \([0-9]*\) .*merge job \([0-9]*\);.*/\2/p')
[ -n "$array" ] && [ -n "$merge" ] || fail "no job ids in: $out"
part2=$dir/campaign.csv.parts/shard-2-of-4.csv

# Cancel task 2 once it has written a row or two.
for _ in $(seq 600); do
  [ -f "$part2" ] && [ "$(grep -c '' "$part2")" -ge 2 ] && break
  sleep 0.1
done
[ -f "$part2" ] && [ "$(grep -c '' "$part2")" -ge 2 ] || fail "task 2 wrote no row"
scancel "${array}_2"
wait_jobs "$array,$merge"
kept=$(($(grep -c '' "$part2") - 1))   # SIGTERM: the task ends its current fault and stops
[ "$kept" -lt 20 ] || fail "task 2 finished before it was cancelled"
state=$(sacct -n -j "${array}_2" -o State 2> /dev/null | head -n 1 | tr -d ' ')
echo "task 2 cancelled with $kept of its 20 rows written${state:+ ($state)}"
[ -e campaign.csv ] && fail "the merge job ran although a task was cancelled"

# Resubmit the cancelled task alone; it resumes its part. Then the merge.
task=$(sbatch --parsable --array=2 "$dir/campaign.csv.slurm/array.sbatch") || fail "resubmitting task 2"
task=${task%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$task" --kill-on-invalid-dep=yes \
  "$dir/campaign.csv.slurm/merge.sbatch") || fail "resubmitting the merge"
merge=${merge%%;*}
wait_jobs "$task,$merge"
grep -q "resuming, $kept of 20 faults already done" campaign.csv.slurm/shard-2.log ||
  { cat campaign.csv.slurm/shard-2.log >&2; fail "task 2 did not resume its part"; }
[ -f campaign.csv ] || { cat campaign.csv.slurm/merge.log >&2; fail "the merge job wrote nothing"; }
same clean.csv campaign.csv
echo "PASS: Slurm array of 4 tasks, one cancelled and resubmitted, merged: identical ($(($(date +%s) - start)) s)"
