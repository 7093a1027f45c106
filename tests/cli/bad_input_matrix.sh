#!/usr/bin/env bash
# bad_input_matrix.sh DNNFI DIR WEIGHTS DATA: each bad input gets a clear message naming the
# file or value, a non-zero exit (the README's statuses), and nothing of an existing results file
# is lost. Exit 130 is tested by stop_and_resume.sh.
set -u
dnnfi=$1 dir=$2 weights=$3 data=$4
. "$(dirname "$0")/lib.sh"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
export DNNFI_HOME=$dir/home DNNFI_DATA_DIR=$data  # fresh exports: a bad checkpoint is met when exporting
cifar10=$data/cifar-10-batches-bin/test_batch.bin
args=(run -n resnet20 -d cifar10 --sample 8 --images 128 --threads 1 -q)
"$dnnfi" "${args[@]}" --weights-dir "$weights" -o results.csv > /dev/null 2>&1 || fail "first run"
cp results.csv results.before

# Checkpoints and exports (exit 4: cannot be verified).
mkdir truncated corrupted
head -c 100000 "$weights/ResNet20.th" > truncated/ResNet20.th
cp "$weights/ResNet20.th" corrupted/ && printf '\x5a' | dd of=corrupted/ResNet20.th bs=1 seek=5000 conv=notrunc 2> /dev/null
expect 4 "truncated/ResNet20\.th: size 100000 bytes, expected 1099231: not the published checkpoint" \
  env DNNFI_HOME="$dir/home-t" "$dnnfi" "${args[@]}" --weights-dir truncated -o results.csv
expect 4 "corrupted/ResNet20\.th: sha256 [0-9a-f]{64}, expected 12fca82f" \
  env DNNFI_HOME="$dir/home-c" "$dnnfi" "${args[@]}" --weights-dir corrupted -o results.csv
same results.before results.csv
export_pt=$(ls "$DNNFI_HOME"/models/resnet20-cifar10.pt)
/usr/bin/python3 -c "import sys; d=open(sys.argv[1],'rb').read(); open('broken.pt','wb').write(d[:len(d)//2]+d[len(d)//2+1:])" "$export_pt"
expect 4 "broken\.pt: cannot be loaded as TorchScript" "$dnnfi" eval --model broken.pt --data "$cifar10" --images 10

# Test sets (exit 3: malformed input; 4: missing).
head -c 1000000 "$cifar10" > truncated.bin
expect 3 "--data truncated\.bin: expected .* CIFAR-10 / CIFAR-100 binary \.bin file" \
  "$dnnfi" "${args[@]}" --weights-dir "$weights" --data truncated.bin -o results.csv
expect 3 "cifar-100-binary/test\.bin: image 1000 has label 10, but the model has 10 classes" \
  "$dnnfi" "${args[@]/128/2000}" --weights-dir "$weights" --data "$data/cifar-100-binary/test.bin" -o other.csv
[ -e other.csv ] && fail "a refused run left an empty results file"
expect 4 "no_such_dir/cifar-10-batches-bin/test_batch\.bin does not exist" \
  "$dnnfi" "${args[@]}" --weights-dir "$weights" --data-dir no_such_dir -o other.csv
same results.before results.csv

# Results files and outputs.
expect 3 "results\.csv holds another campaign's results.*images: 64 here, 128 in the file" \
  "$dnnfi" "${args[@]/128/64}" --weights-dir "$weights" -o results.csv
same results.before results.csv
if [ "$(id -u)" -eq 0 ]; then readonly_dir=/proc/dnnfi-test; else mkdir ro && chmod 555 ro && readonly_dir=ro/sub; fi
expect 4 "$readonly_dir/out\.csv: cannot be opened for writing" "$dnnfi" "${args[@]}" --weights-dir "$weights" -o $readonly_dir/out.csv
# A full disk (a file size limit): the run stops with exit 4, keeping the rows written; a later
# run with room finishes the campaign and equals an uninterrupted one.
long=(run -n resnet20 -d cifar10 --sample 30 --images 128 --threads 1 -q --weights-dir "$weights")
"$dnnfi" "${long[@]}" -o long.csv > /dev/null 2>&1 || fail "30-fault run"
[ "$(stat -c %s long.csv)" -gt 2048 ] || fail "the 30-fault file is too small for a 1 KiB limit"
head -n 3 long.csv > part.csv && cp long.csv.json part.csv.json
expect 4 "part\.csv: write failed: File too large" \
  bash -c 'trap "" XFSZ; ulimit -f 1; exec "$@"' _ "$dnnfi" "${long[@]}" -o part.csv
rows=$(($(grep -c '' part.csv) - 1))
[ "$rows" -ge 3 ] || fail "the rows written before the disk filled were lost ($rows left)"
expect 0 "resumed" "$dnnfi" "${long[@]}" -o part.csv
same long.csv part.csv

# Fault lists: a million rows of garbage are refused at their first line, at once.
{ echo "Injection,Layer,TensorIndex,Bit"; yes 'garbage,\x00,"(,,' | head -n 1000000; } > garbage.csv
expect 3 "garbage\.csv:2: " "$dnnfi" "${args[@]}" --weights-dir "$weights" -f garbage.csv -o other.csv
{ yes 'garbage;garbage' | head -n 1000000; } > garbage2.csv
expect 3 "garbage2\.csv:1: header must start with" "$dnnfi" "${args[@]}" --weights-dir "$weights" -f garbage2.csv -o other.csv
[ -e other.csv ] && fail "a refused run left an empty results file"

# Option values (exit 2).
expect 2 "-e/--error-margin must be in \(0, 1\), got 0" "$dnnfi" faultlist -e 0 -o fl.csv
[ -e fl.csv ] && fail "a refused faultlist wrote its output"
expect 2 "--memory-limit '5Q': expected a size such as 4G" "$dnnfi" "${args[@]}" --memory-limit 5Q -o results.csv
expect 2 "--workers must be at least 1, got 0" "$dnnfi" "${args[@]}" --workers 0 -o results.csv
same results.before results.csv

# Exit 1, an unexpected LibTorch error: a model whose forward fails on batches of more than one.
cat > one_at_a_time.py << 'PY'
import torch
class OneAtATime(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3 * 32 * 32, 10)

    def forward(self, x):
        if x.size(0) > 1:
            raise RuntimeError("this model takes one image at a time")
        return self.fc(x.flatten(1))
torch.jit.save(torch.jit.script(OneAtATime()), "one_at_a_time.pt")
PY
/usr/bin/python3 one_at_a_time.py || fail "cannot make the test model"
expect 1 "dnnfi: error: .*this model takes one image at a time" \
  "$dnnfi" eval --model one_at_a_time.pt --data "$cifar10" --images 20 --threads 1
echo "PASS: every bad input refused with its file or value named; nothing lost"
