#!/usr/bin/env bash
# `dnnfi report --html` on the published ResNet20 list, opened in headless Chromium: no console
# errors, a screenshot that is not blank, and the numbers on the page equal to the JSON.
set -eu
dnnfi=$1 published=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir"
"$dnnfi" report "$published" -n resnet20 -d cifar10 --json "$dir/report.json" --html "$dir/report.html" \
  --reference "$published" > "$dir/report.txt"
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --user-data-dir="$dir/profile" --enable-logging=stderr --v=0)
"${chrome[@]}" --window-size=1200,2400 --screenshot="$dir/page.png" "file://$dir/report.html" 2> "$dir/chromium.log" || {
  tail -20 "$dir/chromium.log"; echo "FAIL: chromium could not render the page" >&2; exit 1; }
"${chrome[@]}" --dump-dom "file://$dir/report.html" > "$dir/dom.html" 2>> "$dir/chromium.log"
if grep -E "CONSOLE|Uncaught" "$dir/chromium.log"; then echo "FAIL: console messages" >&2; exit 1; fi
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
from html.parser import HTMLParser
from PIL import Image

d = sys.argv[1]
report = json.load(open(f"{d}/report.json"))
image = Image.open(f"{d}/page.png").convert("RGB")
colours = len(set(image.resize((300, 600)).getdata()))
assert colours > 50, f"the screenshot looks blank ({colours} colours)"

class Values(HTMLParser):
    """Text of every element with data-key, and the data-layer / data-bit row it is in."""
    VOID = {"meta", "br", "img", "hr", "input", "link"}
    def __init__(self):
        super().__init__()
        self.stack, self.values, self.row = [], [], None
    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        a = dict(attrs)
        if tag == "tr":
            self.row = a.get("data-layer") or a.get("data-bit") or a.get("data-field")
        self.stack.append((tag, a.get("data-key"), []))
    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        while self.stack:
            open_tag, key, text = self.stack.pop()
            if key:
                self.values.append((self.row, key, "".join(text).strip()))
            if open_tag == tag:
                break
        if tag == "tr":
            self.row = None
    def handle_data(self, data):
        for _, key, text in self.stack:
            if key:
                text.append(data)

parser = Values()
parser.feed(open(f"{d}/dom.html").read())
page = {(row, key): text for row, key, text in parser.values}
pct = lambda v: f"{100 * v:.1f}%"
checks = [((None, "faults"), str(report["faults"])), ((None, "critical_faults"), str(report["critical_faults"])),
          ((None, "critical_fault_rate"), pct(report["critical_fault_rate"])),
          ((None, "margin"), f"{100 * report['margin']:.2f}%"),
          ((None, "common"), str(report["reference"]["common"]))]
for g in report["layers"]:
    checks += [((g["layer"], "faults"), str(g["faults"])), ((g["layer"], "critical_faults"), str(g["critical_faults"])),
               ((g["layer"], "critical_fault_rate"), pct(g["critical_fault_rate"]))]
for g in report["bits"]:
    checks.append(((str(g["bit"]), "critical_fault_rate"), pct(g["critical_fault_rate"])))
bad = [(k, page.get(k), v) for k, v in checks if page.get(k) != v]
assert not bad, f"page differs from the JSON: {bad[:5]}"
text = open(f"{d}/dom.html").read()
assert f"Critical-fault rate: <b data-key=\"critical_fault_rate\">{pct(report['critical_fault_rate'])}</b>" in text
print(f"PASS: {len(checks)} numbers on the page equal the JSON; {colours} colours in the screenshot; "
      f"critical-fault rate {pct(report['critical_fault_rate'])}")
PY
