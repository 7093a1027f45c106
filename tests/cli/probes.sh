#!/usr/bin/env bash
# probes.sh DNNFI DIR DATA SHARED: the edges a hostile but fair user tries. Each probe asserts
# the exit status (the README's table), the one-line message, and that every file it names as
# an input or an output it must not touch is unchanged byte for byte (sha256 before and after;
# a file that was absent stays absent).
set -u
dnnfi=$1 dir=$2 data=$3 shared=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
published=$shared/seed/ResNet20_FL.csv
quick=(-n resnet20 -d cifar10 --images 20 --threads 1 -q)
failures=0

state() { if [ -e "$1" ]; then sha256sum < "$1" | cut -c1-64; else echo absent; fi; }

# probe NAME STATUS REGEX [FILE...] -- COMMAND...: COMMAND exits with STATUS, its stderr and
# stdout together match REGEX, and every FILE is as it was.
probe() {
  local name=$1 status=$2 regex=$3 files=() before=() f i
  shift 3
  while [ "$1" != "--" ]; do files+=("$1"); shift; done
  shift
  for f in "${files[@]}"; do before+=("$(state "$f")"); done
  run_expecting "$status" both "$regex" "$@"
  local why=$run_why
  for i in "${!files[@]}"; do
    [ "$(state "${files[$i]}")" = "${before[$i]}" ] || why="${why:+$why; }${files[$i]} changed"
  done
  if [ -n "$why" ]; then
    printf 'FAIL %s: %s\n  command: %s\n%s\n' "$name" "$why" "$*" \
      "$(printf '%s\n%s' "$run_out" "$run_err" | tail -n 5 | sed 's/^/  | /')"
    failures=$((failures + 1))
  else
    echo "ok   $name (exit $run_status)"
  fi
}

# A finished campaign of 2 faults, and files of the user's that no command may touch.
head -n 3 "$here/../data/good.csv" > two.csv
"$dnnfi" run "${quick[@]}" -f two.csv -o R.csv > /dev/null 2>&1 || fail "the first campaign"
printf 'my notes about the run' > notes.txt
printf '<html><body>my page</body></html>\n' > page.html
printf '{"mine": true}\n' > mine.json
mkdir folder

echo "--- outputs that are inputs, or files dnnfi did not write"
probe report-html-over-input 2 "R\.csv is an input of this command and its --html" R.csv R.csv.json -- \
  "$dnnfi" report R.csv --html R.csv
probe report-json-over-input 2 "R\.csv is an input of this command and its --json" R.csv -- \
  "$dnnfi" report R.csv --json R.csv
probe report-json-over-notes 3 "notes\.txt:1: exists and is not a dnnfi JSON report \(it begins 'my notes about the run'\)" \
  notes.txt R.csv -- "$dnnfi" report R.csv --json notes.txt
probe report-html-over-page 3 "page\.html:1: exists and is not a dnnfi HTML report" page.html -- \
  "$dnnfi" report R.csv --html page.html
probe compare-json-over-input 2 "R\.csv is an input of this command and its --json" R.csv -- \
  "$dnnfi" compare R.csv R.csv --json R.csv
probe run-over-notes 3 "notes\.txt:1: exists and is not a dnnfi results file \(it begins 'my notes about the run'\)" \
  notes.txt notes.txt.json -- "$dnnfi" run "${quick[@]}" -f two.csv -o notes.txt
probe run-over-foreign-sidecar 3 "mine\.csv\.json:1: exists and is not the sidecar dnnfi writes" mine.json mine.csv -- \
  bash -c 'cp mine.json mine.csv.json && exec "$@"' _ "$dnnfi" run "${quick[@]}" -f two.csv -o mine.csv
rm -f mine.csv.json
probe run-to-device 4 "/dev/full is a character device, not a file dnnfi can write -o to" -- \
  "$dnnfi" run "${quick[@]}" -f two.csv -o /dev/full
probe run-over-list 2 "two\.csv is an input of this command and its -o" two.csv -- \
  "$dnnfi" run "${quick[@]}" -f two.csv -o two.csv
cp two.csv users-list.csv
probe faultlist-over-users-list 3 "users-list\.csv:1: exists and is not a fault list dnnfi wrote" users-list.csv \
  users-list.csv.json -- "$dnnfi" faultlist --per-layer 1 -o users-list.csv
probe faultlist-writes-own 0 "20 faults" -- "$dnnfi" faultlist --per-layer 1 -o own-list.csv
probe faultlist-replaces-own 0 "20 faults" -- "$dnnfi" faultlist --per-layer 1 --seed 7 -o own-list.csv
probe faultlist-over-keras-input 2 "users-list\.csv is an input of this command and its -o" users-list.csv -- \
  "$dnnfi" faultlist --from-keras users-list.csv -o users-list.csv
probe merge-over-notes 3 "notes\.txt:1: exists and is not a dnnfi results file" notes.txt R.csv -- \
  "$dnnfi" merge -o notes.txt R.csv
probe merge-missing-input 3 "no_such\.csv: no such file" R.csv -- "$dnnfi" merge -o merged.csv R.csv no_such.csv
mkdir -p s.csv.slurm && printf '#!/bin/bash\necho my own job\n' > s.csv.slurm/array.sbatch
probe slurm-over-own-script 3 "array\.sbatch:1: exists and is not a job script dnnfi wrote" s.csv.slurm/array.sbatch -- \
  "$dnnfi" slurm -n resnet20 -d cifar10 --images 20 --sample 4 --tasks 2 --print -o s.csv

echo "--- provenance only after every check; rows of unknown origin"
cp R.csv orphan.csv
probe orphan-refused 3 "orphan\.csv holds 2 rows of unknown origin .*--adopt" orphan.csv orphan.csv.json -- \
  "$dnnfi" run "${quick[@]}" -f two.csv -o orphan.csv
probe orphan-wrong-shard 3 "orphan\.csv:2: Injection 0 does not match this campaign's fault list" \
  orphan.csv orphan.csv.json -- \
  "$dnnfi" run "${quick[@]}" -f two.csv --shard 1/2 -o orphan.csv
probe resume-wrong-shard 3 "R\.csv holds another campaign's results \(shard: 1/2 here, 0/1 in the file" \
  R.csv R.csv.json -- "$dnnfi" run "${quick[@]}" -f two.csv --shard 1/2 -o R.csv
probe orphan-adopted 0 "2 resumed" orphan.csv -- "$dnnfi" run "${quick[@]}" -f two.csv --adopt -o orphan.csv
grep -q '"adopted":"2 rows of a file without provenance' orphan.csv.json || {
  echo "FAIL orphan-adopted: the provenance does not record the adoption"; failures=$((failures + 1)); }
probe replay-other-rule 2 "--non-finite critical: the rows of .*ResNet20_FL\.csv were classified with argmax" \
  "$published" -- "$dnnfi" run -f "$published" --replay "$published" --non-finite critical -q -o replay-critical.csv
[ -e replay-critical.csv.json ] && { echo "FAIL replay-other-rule: a provenance was written"; failures=$((failures + 1)); }

echo "--- unknown counts stay unknown"
probe replay-published 0 "non-finite +n/a" "$published" -- \
  "$dnnfi" run -f "$published" --replay "$published" --sample 20 -o replayed.csv
/usr/bin/python3 -c "import csv, sys; sys.exit(any(r['non_finite'] for r in csv.DictReader(open('replayed.csv'))))" || {
  echo "FAIL replay-published: a non_finite cell is not empty"; failures=$((failures + 1)); }
probe replayed-as-list 0 "campaign: 20 faults" replayed.csv -- \
  "$dnnfi" run -f replayed.csv --replay "$published" -o relisted.csv
probe report-published 0 "NaN/Inf images n/a" "$published" -- "$dnnfi" report "$published"
probe report-replayed 0 "NaN/Inf images n/a" replayed.csv -- "$dnnfi" report replayed.csv --json replayed.json
grep -q '"non_finite_share":null' replayed.json || { echo "FAIL report-replayed: JSON share not null"; failures=$((failures + 1)); }

echo "--- resources and values bounded with a word"
probe workers-capped 0 "--workers 1000: running 2, one per fault" two.csv -- \
  "$dnnfi" run "${quick[@]}" -f two.csv --workers 1000 -o workers.csv
probe tasks-capped 0 "--tasks 100000: writing 4, one per fault.*--array=0-3" -- \
  "$dnnfi" slurm -n resnet20 -d cifar10 --images 20 --sample 4 --tasks 100000 --print -o tasks.csv
probe slurm-job-name 0 '--job-name="dnnfi-r_es"' -- \
  "$dnnfi" slurm -n resnet20 -d cifar10 --images 20 --sample 4 --tasks 2 --print -o "d/r es.csv"
probe slurm-time 2 "--time 'abc': expected a time sbatch takes" -- \
  "$dnnfi" slurm -n resnet20 -d cifar10 --sample 4 --tasks 2 --time abc --print -o t.csv
probe images-past-set 2 "--images 999999: .*test_batch\.bin holds only 10000 images" -- \
  "$dnnfi" eval -n resnet20 -d cifar10 --images 999999 --threads 1
probe seed-float 2 "--seed must be a whole number at least 0, got '1e23'" -- \
  "$dnnfi" faultlist --seed 1e23 -o never.csv
probe seed-negative 2 "--seed must be a whole number at least 0, got '-1'" -- \
  "$dnnfi" faultlist --seed -1 -o never.csv
probe sample-negative 2 "--sample must be a whole number at least 1, got '-1'" -- \
  "$dnnfi" run "${quick[@]}" -f two.csv --sample -1 -o never.csv
probe memory-below-a-batch 0 "--memory-limit 1K holds less than one batch of cached activations" two.csv -- \
  "$dnnfi" run "${quick[@]}" -f two.csv --memory-limit 1K -o small-memory.csv
# OpenMP may run fewer threads than asked for: then the log says so, and the provenance holds
# what ran.
text=$("$dnnfi" run -n resnet20 -d cifar10 --images 20 -q -f two.csv --threads 1000 -o threads.csv 2>&1)
ran=$(echo "$text" | sed -n 's/.*batch [0-9]*, \([0-9]*\) thread(s).*/\1/p')
recorded=$(/usr/bin/python3 -c "import json; print(json.load(open('threads.csv.json'))['threads'])")
if [ -z "$ran" ] || [ "$ran" != "$recorded" ] || { [ "$ran" != 1000 ] && ! [[ $text =~ "--threads 1000: LibTorch runs $ran threads" ]]; }; then
  echo "FAIL threads: ran '$ran', recorded '$recorded'"; echo "$text" | tail -n 3; failures=$((failures + 1))
else
  echo "ok   threads-said (ran $ran)"
fi
printf 'Injection,Layer,TensorIndex,Bit\n' > header-only.csv
probe header-only-list 3 "header-only\.csv: no faults" header-only.csv header-only.out.csv -- \
  "$dnnfi" run "${quick[@]}" -f header-only.csv -o header-only.out.csv
probe per-layer-zero 2 "--per-layer must be at least 1, got 0" -- \
  "$dnnfi" faultlist --per-layer 0 -o never.csv
probe shard-of-nothing 2 "--shard 3/4: the campaign's 2 faults leave this part none" -- \
  "$dnnfi" run "${quick[@]}" -f two.csv --shard 3/4 -o never.csv

echo "--- outputs named through a folder that does not exist yet (x/ is never made)"
probe via-missing-report-json 2 "\./x/\.\./R\.csv \(that is .*/R\.csv\) is an input of this command and its --json" \
  R.csv R.csv.json -- "$dnnfi" report R.csv --json ./x/../R.csv
probe via-missing-report-html 2 "x/\.\./R\.csv \(that is .*\) is an input of this command and its --html" R.csv -- \
  "$dnnfi" report R.csv --html x/../R.csv
probe via-missing-report-notes 3 "x/\.\./notes\.txt \(that is .*/notes\.txt\):1: exists and is not a dnnfi JSON report" \
  notes.txt R.csv -- "$dnnfi" report R.csv --json x/../notes.txt
probe via-missing-run 3 "x/y/\.\./\.\./notes\.txt \(that is .*\):1: exists and is not a dnnfi results file" \
  notes.txt notes.txt.json -- "$dnnfi" run "${quick[@]}" -f two.csv -o x/y/../../notes.txt
probe via-missing-run-input 2 "x/\.\./two\.csv \(that is .*\) is an input of this command and its -o" two.csv -- \
  "$dnnfi" run "${quick[@]}" -f two.csv -o x/../two.csv
probe via-missing-faultlist 3 "x/\.\./users-list\.csv \(that is .*\):1: exists and is not a fault list dnnfi wrote" \
  users-list.csv users-list.csv.json -- "$dnnfi" faultlist --per-layer 1 -o x/../users-list.csv
probe via-missing-merge 3 "x/\.\./notes\.txt \(that is .*\):1: exists and is not a dnnfi results file" notes.txt R.csv -- \
  "$dnnfi" merge -o x/../notes.txt R.csv
probe via-missing-compare 2 "x/\.\./R\.csv \(that is .*\) is an input of this command and its --json" R.csv -- \
  "$dnnfi" compare R.csv R.csv --json x/../R.csv
probe via-missing-compare-page 3 "x/\.\./mine\.json \(that is .*\):1: exists and is not a dnnfi JSON report" mine.json -- \
  "$dnnfi" compare R.csv R.csv --json x/../mine.json
probe via-missing-slurm 3 "array\.sbatch:1: exists and is not a job script dnnfi wrote" s.csv.slurm/array.sbatch -- \
  "$dnnfi" slurm -n resnet20 -d cifar10 --images 20 --sample 4 --tasks 2 --print -o x/../s.csv
[ -e x ] && { echo "FAIL via-missing: a refused command made x/"; failures=$((failures + 1)); }

echo "--- what is in a results file is never lost nor counted twice"
cp R.csv noted.csv && cp R.csv.json noted.csv.json && printf 'checked by Ann' >> noted.csv
probe note-not-dropped 3 "noted\.csv:4: the last line \('checked by Ann'\) has no line end and is not the start of a results row" \
  noted.csv noted.csv.json -- "$dnnfi" run "${quick[@]}" -f two.csv -o noted.csv
probe note-report 3 "noted\.csv:4: the last line" noted.csv -- "$dnnfi" report noted.csv
cp R.csv torn.csv && cp R.csv.json torn.csv.json && printf '1,layer1.0.co' >> torn.csv
probe torn-row-redone 0 "dropping a torn last line \(13 bytes\)" -- "$dnnfi" run "${quick[@]}" -f two.csv -o torn.csv
cmp -s R.csv torn.csv || { echo "FAIL torn-row-redone: the resumed file differs from the campaign's"; failures=$((failures + 1)); }
{ cat R.csv; tail -n +2 R.csv; } > twice.csv
probe twice-report 3 "twice\.csv:4: Injection 0 is already on line 2" twice.csv -- "$dnnfi" report twice.csv
probe twice-compare 3 "twice\.csv:4: Injection 0 is already on line 2" twice.csv R.csv -- "$dnnfi" compare twice.csv R.csv
probe twice-replay 3 "twice\.csv:4: Injection 0 is already on line 2" twice.csv -- \
  "$dnnfi" run -f two.csv --replay twice.csv -q -o never.csv

echo "--- labels that contradict the campaign's provenance"
probe report-other-format 2 "--format fp16: R\.csv is a campaign of --format fp32" R.csv -- "$dnnfi" report R.csv --format fp16
probe report-other-target 2 "--target activations: R\.csv is a campaign of --target weights" R.csv -- \
  "$dnnfi" report R.csv --target activations
probe report-other-model 2 "-n/-d resnet32/cifar10: R\.csv is a campaign of resnet20/cifar10" R.csv -- \
  "$dnnfi" report R.csv -n resnet32 -d cifar10
"$dnnfi" faultlist --format int8 --per-layer 1 -o l8.csv > /dev/null 2>&1 || fail "an int8 list"
"$dnnfi" run "${quick[@]}" --format int8 -f l8.csv --sample 2 -o R8.csv > /dev/null 2>&1 || fail "an int8 campaign"
probe compare-formats 3 "R\.csv holds faults of fp32 weights and R8\.csv of int8 weights" R.csv R8.csv -- \
  "$dnnfi" compare R.csv R8.csv
cp l8.csv l8-plain.csv  # no record beside it: only the replayed file's provenance says int8
probe replay-other-format 2 "--format fp32 --target weights: the rows of R8\.csv are faults of int8 weights" R8.csv -- \
  "$dnnfi" run "${quick[@]}" -f l8-plain.csv --sample 2 --replay R8.csv -o never.csv
"$dnnfi" faultlist --target activations --per-layer 1 -o act1.csv > /dev/null 2>&1 || fail "an activation list"
"$dnnfi" run "${quick[@]}" --target activations -f act1.csv --sample 3 -o Ract.csv > /dev/null 2>&1 || fail "activations"
probe report-activation-population 0 "possible faults.*12059264|12059264 possible faults" Ract.csv -- \
  "$dnnfi" report Ract.csv -n resnet20 -d cifar10

echo "--- values not changed without a word"
probe bits-past-word 2 "--bits 0-15: int8 words have bits 0-7" -- \
  "$dnnfi" faultlist --format int8 --bits 0-15 -o never.csv
probe per-layer-capped 0 "--per-layer 1000000000: 1 layer\(s\) have fewer possible faults and get every one of them \(conv1 13824\)" -- \
  "$dnnfi" faultlist --per-layer 1000000000 --layers '^conv1$' -o all-conv1.csv
probe sample-zero 2 "--sample must be at least 1, got 0" -- "$dnnfi" run "${quick[@]}" -f two.csv --sample 0 -o never.csv
probe huge-batch 0 "campaign: 2 faults x 20 images" -- \
  "$dnnfi" run "${quick[@]}" -f two.csv -b 99999999999 -o batch.csv
grep -q '"batch_size":20,' batch.csv.json || { echo "FAIL huge-batch: the provenance does not record the batch that ran"; failures=$((failures + 1)); }
probe huge-batch-resumes 0 "0 done now, 2 resumed" batch.csv -- "$dnnfi" run "${quick[@]}" -f two.csv -b 20 -o batch.csv
probe keras-bits-past-word 3 "ResNet20_TF_FL\.csv:[0-9]+: Bit [0-9]+ is past the word of fp16" -- \
  "$dnnfi" faultlist --from-keras "$shared/seed/ResNet20_TF_FL.csv" --format fp16 -o never.csv
/usr/bin/python3 -c "
import torch
torch.manual_seed(0)
torch.save({'images': torch.rand(20, 3, 32, 32) * 255, 'labels': torch.zeros(20, dtype=torch.long)}, 'f255.pt')
x = torch.rand(20, 3, 32, 32); x[3, 0, 0, 0] = float('nan')
torch.save({'images': x, 'labels': torch.zeros(20, dtype=torch.long)}, 'fnan.pt')"
probe float-pixels-range 3 "f255\.pt: float32 images hold values from [0-9.e-]+ to 254\.[0-9]+; they must be pixels in 0\.\.1" f255.pt -- \
  "$dnnfi" eval -n resnet20 -d cifar10 --data f255.pt
probe float-pixels-nan 3 "fnan\.pt: image 3 holds NaN or infinite values" fnan.pt -- \
  "$dnnfi" eval -n resnet20 -d cifar10 --data fnan.pt

echo "--- processes, pipes and folders"
mkdir -p stale.csv.parts && : > stale.csv.parts/shard-0-of-100000.csv
probe stale-parts 3 "stale\.csv\.parts holds parts of 100000 workers \(shard-0-of-100000\.csv\), more than the campaign's 2 faults" \
  stale.csv.parts/shard-0-of-100000.csv -- "$dnnfi" run "${quick[@]}" -f two.csv --workers 2 -o stale.csv
: > a-file
probe parts-folder-unmakeable 4 "a-file/w\.csv: cannot be opened for writing \(Not a directory\)" a-file -- \
  "$dnnfi" run "${quick[@]}" -f two.csv --workers 2 -o a-file/w.csv
probe progress-fd-read-only 2 "--progress-fd 3: open for reading only" -- \
  bash -c 'exec "$@" 3< two.csv' _ "$dnnfi" run -n resnet20 -d cifar10 --images 20 --threads 1 -f two.csv \
  --progress json --progress-fd 3 -o never.csv
probe progress-reader-gone 0 "--progress-fd 3: the reader closed its end; the campaign goes on" -- \
  bash -c '"$@" 3>&1 1>&2 | head -c 1 > /dev/null; exit "${PIPESTATUS[0]}"' _ \
  "$dnnfi" run -n resnet20 -d cifar10 --images 20 --threads 1 -f "$shared/seed/ResNet20_FL.csv" --sample 30 \
  --progress json --progress-fd 3 -o piped.csv
probe slurm-newline 2 "-o '.*/a\.\.\.' holds a line break" -- \
  "$dnnfi" slurm -n resnet20 -d cifar10 --images 20 --sample 4 --tasks 2 --print -o "$(printf 'a\nb.csv')"
probe html-new-folder 0 "critical faults" R.csv -- "$dnnfi" report R.csv --html newdir/r.html
[ -s newdir/r.html ] || { echo "FAIL html-new-folder: no page"; failures=$((failures + 1)); }
text=$("$dnnfi" run "${quick[@]}" --target activations -f act1.csv --sample 2 --layout nchw -o nchw.csv 2>&1)
if [[ $text == *"layout nhwc"* ]]; then echo "FAIL nchw-log: an nchw run says nhwc"; failures=$((failures + 1)); else echo "ok   nchw-log"; fi

echo "--- messages and exit codes"
probe workers-zero 2 "--workers must be at least 1, got 0" -- \
  "$dnnfi" run "${quick[@]}" -f two.csv --workers 0 -o never.csv
printf '\xef\xbb\xbfInjection,Layer,TensorIndex,Bit\n0,conv1,"(3, 0, 2, 1)",15\n' > bom.csv
probe bom-list 0 "1 done now" bom.csv -- "$dnnfi" run "${quick[@]}" -f bom.csv -o bom.out.csv
probe report-folder 3 "folder: a folder, not a results file" -- "$dnnfi" report folder
probe unknown-command 2 "unknown command 'frobnicate' \(the commands: eval, " -- "$dnnfi" frobnicate
head -n 2 R.csv > one-row.csv
probe report-one-row 0 "margin of error  none: 1 faults are too few" one-row.csv -- "$dnnfi" report one-row.csv
for never in never.csv never.csv.json; do
  [ -e "$never" ] && { echo "FAIL: a refused command left $never"; failures=$((failures + 1)); }
done

[ "$failures" -eq 0 ] || fail "$failures probe(s) failed"
echo "PASS: every probe"
