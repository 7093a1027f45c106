#!/usr/bin/env bash
# run --per-image: the per-image file lists exactly each row's critical images (counted here with
# awk, apart from dnnfi's reader); an interrupted campaign resumes to the clean run's files byte for
# byte, also after a kill between a fault's lines and its row, and with a torn last line; shards
# merge to the same lines; and the per-image file is never written over when it is not the
# campaign's own. Every refusal leaves the files as they were.
set -u
dnnfi=$1 dir=$2
. "$(dirname "$0")/lib.sh"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
"$dnnfi" faultlist -n resnet20 -d cifar10 --bits 27-30 -o high.csv > /dev/null 2>&1 || fail "faultlist"
args=(run -n resnet20 -d cifar10 -f high.csv --sample 30 --images 256 --threads 1 -q)
"$dnnfi" "${args[@]}" --per-image -o clean.csv > /dev/null 2>&1 || fail "clean run"
rows() { echo $(($(grep -c '' "$1") - 1)); }
body() { grep -v '^#' "$1"; }

# Each row's critical count (fourth from the end: TensorIndex holds commas) is its number of
# lines; images ascending, within the test set; the head names the results file and holds 256
# labels and golden classes.
awk -F, 'NR == FNR { if (FNR > 1 && $(NF - 3) > 0) want[$1] = $(NF - 3); next }
         /^#/ || /^Injection/ { next }
         { got[$1]++; if ($2 < 0 || $2 >= 256) bad = "image " $2;
           if (($1 in last) && $2 <= last[$1]) bad = "order at " $1; last[$1] = $2 }
         END { for (k in want) if (got[k] != want[k]) bad = bad " Injection " k ": " got[k] " lines, " want[k] " critical";
               for (k in got) if (!(k in want)) bad = bad " Injection " k " has no critical row";
               if (bad != "") { print bad; exit 1 } }' clean.csv clean.images.csv || fail "lines do not match the rows"
[ "$(body clean.images.csv | wc -l)" -gt 101 ] || fail "too few critical images to test with"
grep -qx "# results: clean.csv" clean.images.csv || fail "the head does not name clean.csv"
[ "$(grep '^# golden: ' clean.images.csv | wc -w)" -eq 258 ] || fail "not 256 golden classes"
grep -q '"per_image":"clean.images.csv"' clean.csv.json || fail "the provenance does not name the per-image file"
echo "ok: every row's critical images, and nothing else"

# report: per golden class, counted here from the file's own lines and head; the page shows them.
expect 0 "per-image outcomes  clean.images.csv: [0-9]+ critical images of 30 faults x 256 images" \
  "$dnnfi" report clean.csv --json report.json --html report.html
/usr/bin/python3 - << 'PY' || fail "report's per-image findings"
import collections, csv, json
golden, labels, lines = [], [], []
for line in open("clean.images.csv"):
    if line.startswith("# golden: "): golden = [int(v) for v in line.split(": ")[1].split()]
    elif line.startswith("# labels: "): labels = [int(v) for v in line.split(": ")[1].split()]
    elif line[0].isdigit(): lines.append([int(v) for v in line.split(",")])
critical = sum(int(r["critical"]) for r in csv.DictReader(open("clean.csv")))
p = json.load(open("report.json"))["per_image"]
assert p["critical_images"] == len(lines) == critical, (p["critical_images"], len(lines), critical)
by_golden = collections.Counter(golden[image] for _, image, _ in lines)
pairs = collections.Counter((golden[image], faulty) for _, image, faulty in lines)
for c in p["by_class"]:
    k = c["class"]
    assert c["images"] == golden.count(k), k
    assert c["critical_images"] == by_golden[k], k
    assert abs(c["critical_rate"] - by_golden[k] / (30 * golden.count(k))) < 1e-12, k
    assert p["confusion"][k] == [pairs[(k, f)] for f in range(p["classes"])], k
per_image = collections.Counter(image for _, image, _ in lines)
top = p["most_vulnerable_images"][0]
assert top["faults"] == max(per_image.values()) and top["golden"] == golden[top["image"]]
assert top["label"] == labels[top["image"]]
page = open("report.html").read()
assert f"data-key='per_image_critical'>{critical}<" in page
assert page.count('data-class="') == p["classes"]
PY
echo "ok: report per golden class"

# Interrupted, then resumed: the clean run's files.
expect 130 "interrupted: 9 of 30 faults done" \
  env DNNFI_TEST_SIGNAL_AFTER_ROWS=9:INT "$dnnfi" "${args[@]}" --per-image -o resumed.csv
expect 0 "21 done now, 9 resumed" "$dnnfi" "${args[@]}" --per-image -o resumed.csv
same clean.csv resumed.csv
diff <(body clean.images.csv) <(body resumed.images.csv) || fail "resumed per-image lines differ"

# A kill after a fault's lines and before its row (the last row cut), and a torn last line.
env DNNFI_TEST_SIGNAL_AFTER_ROWS=12:INT "$dnnfi" "${args[@]}" --per-image -o cut.csv > /dev/null 2>&1
last=$(tail -n 1 cut.csv | cut -d, -f1)
grep -q "^$last," cut.images.csv || fail "the 12th fault has no critical image; pick another row count"
head -n -1 cut.csv > cut.tmp && cat cut.tmp > cut.csv && rm cut.tmp
printf '%s,1' "$last" >> cut.images.csv
expect 0 "dropping the lines of 2 fault\\(s\\) without a results row.*19 done now, 11 resumed" \
  "$dnnfi" "${args[@]}" --per-image -o cut.csv
same clean.csv cut.csv
diff <(body clean.images.csv) <(body cut.images.csv) || fail "per-image lines differ after the cut"

# Refusals, each leaving both files as they were.
cp resumed.csv keep.csv && cp resumed.images.csv keep.images.csv
expect 3 "started with --per-image; continue it with --per-image" "$dnnfi" "${args[@]}" -o resumed.csv
"$dnnfi" "${args[@]}" -o plain.csv > /dev/null 2>&1 || fail "plain run"
expect 3 "plain.csv: its 30 rows were run without --per-image" "$dnnfi" "${args[@]}" --per-image -o plain.csv
[ ! -e plain.images.csv ] || fail "a refused run left plain.images.csv"
sed -i 's/^\(# golden: \)[0-9]*/\19/' resumed.images.csv
expect 3 "resumed.images.csv: its labels or golden classes are not this run's" \
  "$dnnfi" "${args[@]}" --per-image -o resumed.csv
cp keep.images.csv resumed.images.csv
sed -i '7d' resumed.images.csv  # one critical image fewer
expect 3 "resumed.images.csv: Injection [0-9]+ lists [0-9]+ critical images, its row in resumed.csv counts" \
  "$dnnfi" "${args[@]}" --per-image -o resumed.csv
cp keep.images.csv resumed.images.csv
same keep.csv resumed.csv
echo "my notes" > mine.images.csv
expect 3 "mine.images.csv: exists and is not dnnfi's per-image outcomes" "$dnnfi" "${args[@]}" --per-image -o mine.csv
[ "$(cat mine.images.csv)" = "my notes" ] || fail "mine.images.csv was written over"
[ ! -s mine.csv ] || fail "a refused run wrote mine.csv"
cp clean.images.csv orphan.images.csv
sed -i 's/^# results: clean.csv$/# results: orphan.csv/' orphan.images.csv
expect 3 "orphan.images.csv: holds the per-image outcomes of [0-9]+ faults, and orphan.csv holds no row" \
  "$dnnfi" "${args[@]}" --per-image -o orphan.csv
expect 2 "--per-image with --replay clean.csv: a replay" "$dnnfi" "${args[@]}" --per-image --replay clean.csv -o replayed.csv

# Shards with their per-image files merge to the clean run's lines.
for k in 0 1; do
  "$dnnfi" "${args[@]}" --per-image --shard $k/2 -o part$k.csv > /dev/null 2>&1 || fail "shard $k"
done
expect 0 "" "$dnnfi" merge part0.csv part1.csv -o merged.csv
same clean.csv merged.csv
diff <(body clean.images.csv) <(body merged.images.csv) || fail "merged per-image lines differ"
grep -qx "# results: merged.csv" merged.images.csv || fail "the merged head does not name merged.csv"
"$dnnfi" "${args[@]}" --shard 1/2 -o plain1.csv > /dev/null 2>&1 || fail "plain shard"
expect 3 "1 of the 2 parts were run with --per-image" "$dnnfi" merge part0.csv plain1.csv -o mixed.csv
echo "ok: per-image outcomes"
