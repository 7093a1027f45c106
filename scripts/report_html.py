#!/usr/bin/env python3
"""Writes `dnnfi report --html`: one self-contained HTML page (charts as inline SVG drawn by
matplotlib, no script, no network) from the report's JSON.

    /usr/bin/python3 scripts/report_html.py REPORT.json OUT.html

Elements holding a reported number carry data-key="..." (and data-layer / data-bit in the
tables), so tests can check the page against the JSON.
"""
import html
import io
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "dnnfi"  # the same report gives the same page
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

FIELD_COLOURS = {"sign": "#d62728", "exponent": "#1f77b4", "mantissa": "#2ca02c", "magnitude": "#9467bd"}


def fields_of(report):
    """The word format's fields, most significant first (reports of an older dnnfi: fp32's)."""
    return report.get("field_names", ["sign", "exponent", "mantissa"])


def pct(rate, digits=1):
    # A share the results do not record (the published lists have no NaN/Inf count) is unknown.
    return "n/a" if rate is None else f"{100 * rate:.{digits}f}%"


def svg(fig):
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = out.getvalue()
    return text[text.index("<svg"):]


def interval_errors(groups):
    rates = [g["critical_fault_rate"] for g in groups]
    low = [r - g["ci99"][0] for r, g in zip(rates, groups)]
    high = [g["ci99"][1] - r for r, g in zip(rates, groups)]
    return rates, [low, high]


def layer_chart(report):
    layers = report["layers"]
    rates, errors = interval_errors(layers)
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(layers) + 1.2))
    y = range(len(layers))
    ax.barh(y, [100 * r for r in rates], xerr=[[100 * e for e in errors[0]], [100 * e for e in errors[1]]],
            color="#4c72b0", ecolor="#333333", capsize=2)
    ax.set_yticks(list(y), [g["layer"] for g in layers], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("critical-fault rate (%), 99% Wilson interval")
    ax.set_xlim(0, 100)
    ax.grid(axis="x", alpha=0.3)
    return svg(fig)


def bit_chart(report):
    bits = report["bits"]
    rates, errors = interval_errors(bits)
    fig, ax = plt.subplots(figsize=(9, 3.2))
    colours = [FIELD_COLOURS[b["field"]] for b in bits]
    ax.bar([b["bit"] for b in bits], [100 * r for r in rates], color=colours,
           yerr=[[100 * e for e in errors[0]], [100 * e for e in errors[1]]], ecolor="#333333", capsize=1.5)
    ax.legend(handles=[Patch(color=FIELD_COLOURS[field], label=field) for field in fields_of(report)], fontsize=8,
              loc="upper left")
    width = report.get("word_bits", 32)
    ax.set_xlabel(f"bit of the {report.get('format', 'fp32')} word (0 = least significant, {width - 1} = sign)")
    ax.set_ylabel("critical-fault rate (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(range(0, width, 2 if width > 8 else 1))
    ax.grid(axis="y", alpha=0.3)
    return svg(fig)


def heat_map(report):
    rows = report["layer_fields"]
    fields = fields_of(report)
    values = [[next(f for f in row["fields"] if f["field"] == name) for name in fields] for row in rows]
    matrix = [[100 * v["critical_fault_rate"] if v["faults"] else float("nan") for v in row] for row in values]
    fig, ax = plt.subplots(figsize=(5, 0.28 * len(rows) + 1.2))
    image = ax.imshow(matrix, aspect="auto", cmap="Reds", vmin=0, vmax=100)
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if v["faults"]:
                rate = 100 * v["critical_fault_rate"]
                ax.text(j, i, f"{rate:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if rate > 60 else "black")
    ax.set_xticks(range(len(fields)), fields)
    ax.set_yticks(range(len(rows)), [r["layer"] for r in rows], fontsize=8)
    fig.colorbar(image, ax=ax, label="critical-fault rate (%)")
    return svg(fig)


def sdc1_histogram(report):
    rates = report["critical_sdc1_rates"]
    fig, ax = plt.subplots(figsize=(7, 3))
    if rates:
        ax.hist([100 * r for r in rates], bins=50, range=(0, 100), color="#8172b2")
        ax.set_yscale("log")
    ax.set_xlabel("SDC-1 rate of a critical fault (% of images)")
    ax.set_ylabel("critical faults")
    return svg(fig)


def group_rows(groups, key, attr):
    lines = []
    for g in groups:
        name = html.escape(str(g[key]))
        lines.append(
            f'<tr {attr}="{name}"><td>{name}</td><td data-key="faults">{g["faults"]}</td>'
            f'<td data-key="critical_faults">{g["critical_faults"]}</td>'
            f'<td data-key="critical_fault_rate">{pct(g["critical_fault_rate"])}</td>'
            f'<td>{pct(g["ci99"][0])} &ndash; {pct(g["ci99"][1])}</td>'
            f'<td>{pct(g["mean_sdc1_rate"], 3)}</td>'
            f'<td>{pct(g["sdc1_ci99"][0], 3)} &ndash; {pct(g["sdc1_ci99"][1], 3)}</td>'
            f'<td>{pct(g["masked_share"])}</td></tr>')
    head = ("<tr><th></th><th>faults</th><th>critical faults</th><th>critical-fault rate</th>"
            "<th>99% interval</th><th>mean SDC-1</th><th>99% interval</th><th>masked images</th></tr>")
    return "<table>" + head + "".join(lines) + "</table>"


def design_section(d):
    """A stratified campaign: both rates as its design weighs them, its strata, weighted layers and
    bits. The page's other rates are then those of the faults drawn."""
    f, i = d["faults"], d["inferences"]
    rows = []
    for s in d["strata"]:
        name = html.escape(s["stratum"])
        if s["exact"]:
            rows.append(f'<tr data-stratum="{name}"><td>{name}</td><td>{s["population"]:,.0f}</td>'
                        "<td>-</td><td>-</td><td>0.0%</td><td>exact: masked</td><td>0.000%</td></tr>")
        else:
            rows.append(f'<tr data-stratum="{name}"><td>{name}</td><td>{s["population"]:,.0f}</td>'
                        f'<td data-key="faults">{s["faults"]}</td><td>{s["critical_faults"]}</td>'
                        f'<td>{pct(s["critical_fault_rate"])}</td>'
                        f'<td>{pct(s["ci99"][0])} &ndash; {pct(s["ci99"][1])}</td>'
                        f'<td>{pct(s["mean_sdc1_rate"], 3)}</td></tr>')
    weighted = []
    for key, title in (("layers", "layer"), ("bits", "bit")):
        lines = [f"<tr><td>{html.escape(str(g[title]))}</td><td>{g['faults']}</td>"
                 f"<td>{pct(g['critical_fault_rate'])}</td>"
                 f"<td>{pct(g['ci99'][0])} &ndash; {pct(g['ci99'][1])}</td>"
                 f"<td>{pct(g['mean_sdc1_rate'], 3)}</td>"
                 f"<td>{pct(g['sdc1_ci99'][0], 3)} &ndash; {pct(g['sdc1_ci99'][1], 3)}</td></tr>"
                 for g in d[key]]
        weighted.append(f"<h3>Per {title}, weighted</h3><table><tr><th>{title}</th><th>faults drawn</th>"
                        "<th>critical-fault rate</th><th>99% interval</th><th>mean SDC-1</th>"
                        "<th>99% interval</th></tr>" + "".join(lines) + "</table>"
                        "<p>Intervals of a " + title + " as a domain of the stratified sample "
                        "(Wilson at the effective sample size).</p>")
    return "".join([
        "<h2>Stratified design</h2>",
        f"<p>{html.escape(d['description'])}; the population: {d['population']:,.0f} faults.</p>",
        f"<p class='big'>Critical-fault rate: <b data-key='design_critical_fault_rate'>{pct(f['critical_fault_rate'], 2)}</b> "
        f"(99% interval {pct(f['ci99'][0], 2)} &ndash; {pct(f['ci99'][1], 2)}); SDC-1 rate per inference "
        f"<b data-key='design_sdc1_rate'>{pct(i['sdc1_rate'], 3)}</b> ({pct(i['ci99'][0], 3)} &ndash; "
        f"{pct(i['ci99'][1], 3)}). {html.escape(d['interval'])}.</p>",
        f"<p>Design effect {d['design_effect']:.3f}: a simple random sample would need "
        f"{d['simple_random_needs']:,.0f} faults for the same interval. The charts and tables below the "
        "design's are of the faults drawn, unweighted.</p>",
        "<table><tr><th>stratum</th><th>population</th><th>faults</th><th>critical</th><th>rate</th>"
        "<th>99% interval</th><th>mean SDC-1</th></tr>" + "".join(rows) + "</table>",
        *weighted,
    ])


def most_critical_table(report):
    lines = ["<tr><th>layer</th><th>index</th><th>bit</th><th>masked</th><th>non-critical</th>"
             "<th>critical</th><th>SDC-1</th></tr>"]
    for r in report["most_critical"]:
        lines.append(f"<tr><td>{html.escape(r['layer'])}</td><td>{html.escape(r['index'])}</td><td>{r['bit']}</td>"
                     f"<td>{r['masked']}</td><td>{r['non_critical']}</td><td>{r['critical']}</td>"
                     f"<td>{pct(r['sdc1_rate'], 2)}</td></tr>")
    return "<table>" + "".join(lines) + "</table>"


def per_image_section(p):
    """Per-image outcomes (run --per-image): a golden x faulty class heat map of the critical images,
    each golden class's critical rate, and the images most faults made critical."""
    matrix = p["confusion"]
    k = len(matrix)
    fig, ax = plt.subplots(figsize=(min(2 + 0.45 * k, 12), min(1.6 + 0.4 * k, 11)))
    image = ax.imshow(matrix, cmap="Reds", vmin=0)
    if k <= 20:
        top = max(max(row) for row in matrix) or 1
        for g, row in enumerate(matrix):
            for f, v in enumerate(row):
                if v:
                    ax.text(f, g, str(v), ha="center", va="center", fontsize=7,
                            color="white" if v > 0.6 * top else "black")
    ticks = list(range(0, k, 1 if k <= 20 else max(1, k // 20)))
    ax.set_xticks(ticks, [str(t) for t in ticks], fontsize=8)
    ax.set_yticks(ticks, [str(t) for t in ticks], fontsize=8)
    ax.set_xlabel("faulty top-1 class")
    ax.set_ylabel("golden top-1 class")
    fig.colorbar(image, ax=ax, label="critical images")
    order = sorted(p["by_class"], key=lambda c: -c["critical_rate"])
    rows = "".join(
        f'<tr data-class="{c["class"]}"><td>{c["class"]}</td><td>{c["images"]}</td>'
        f'<td data-key="critical_images">{c["critical_images"]}</td>'
        f'<td data-key="critical_rate">{pct(c["critical_rate"], 3)}</td></tr>' for c in order)
    images = "".join(f"<tr><td>{m['image']}</td><td>{m['label']}</td><td>{m['golden']}</td><td>{m['faults']}</td></tr>"
                     for m in p["most_vulnerable_images"])
    return "".join([
        "<h2>Per-image outcomes</h2>",
        f"<p>{html.escape(p['source'])}: <b data-key='per_image_critical'>{p['critical_images']}</b> critical images "
        f"of {p['faults']} faults x {p['images']} images.</p>",
        "<h3>Golden class x faulty class of the critical images</h3>", svg(fig),
        "<h3>Critical rate per golden class (most vulnerable first)</h3>",
        "<table><tr><th>class</th><th>images</th><th>critical images</th><th>critical rate</th></tr>" + rows
        + "</table>",
        "<h3>Images most faults made critical</h3>",
        "<table><tr><th>image</th><th>label</th><th>golden</th><th>faults</th></tr>" + images + "</table>",
    ])


def agreement_table(c):
    common = c["common"] or 1
    rows = [
        ("faults in A / in B / compared", f"{c['a_faults']} / {c['b_faults']} / "
                                          f"<span data-key='common'>{c['common']}</span>"),
        ("critical counts equal", f"{c['critical_exact']} ({100 * c['critical_exact'] / common:.1f}%)"),
        ("critical counts within 1", f"{c['critical_within_1']} ({100 * c['critical_within_1'] / common:.1f}%)"),
        (f"critical counts within {c['max_critical_diff']}",
         f"{c['critical_within_k']} ({100 * c['critical_within_k'] / common:.1f}%)"),
        ("largest critical difference", f"<span data-key='largest_critical_diff'>{c['largest_critical_diff']}</span>"),
        ("masked counts equal", f"{c['masked_exact']} ({100 * c['masked_exact'] / common:.1f}%)"),
        ("non-critical counts equal", f"{c['non_critical_exact']} ({100 * c['non_critical_exact'] / common:.1f}%)"),
        ("critical-fault rate, A / B", f"{pct(c['a_critical_fault_rate'])} / {pct(c['b_critical_fault_rate'])}"),
    ]
    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in rows)
    return (f"<p>A: {html.escape(c['a'])}<br>B (reference): {html.escape(c['b'])}</p><table>{body}</table>"
            "<p>Critical (SDC-1) counts are comparable across platforms; masked counts only within one "
            "platform and its numerics (the published campaigns ran convolutions in TF32 on a GPU).</p>")


STYLE = """body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
td:first-child{text-align:left}h2{margin-top:2em}.big{font-size:1.3em}svg{max-width:100%;height:auto}"""


def page(report):
    o = report
    models = ", ".join(report["fault_models"])
    rules = ", ".join(report["non_finite_rules"])
    population = (f"for the model's {o['population']:,.0f} possible faults" if o["population"]
                  else "(model's fault population not given)")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='generator' content='dnnfi report'>",
        f"<title>dnnfi report: {html.escape(os.path.basename(o['source']))}</title><style>{STYLE}</style></head><body>",
        f"<h1>Fault-injection report</h1><p>{html.escape(o['source'])}: <span data-key='faults'>{o['faults']}</span> "
        f"faults x {o['n_injections'] or 'varying'} images ({html.escape(models)}; NaN/Inf images: {html.escape(rules)}); "
        f"faults in <span data-key='target'>{html.escape(o.get('target', 'weights'))}</span> stored as "
        f"<span data-key='format'>{html.escape(o.get('format', 'fp32'))}</span>.</p>",
        f"<p class='big'>Critical-fault rate: <b data-key='critical_fault_rate'>{pct(o['critical_fault_rate'])}</b> "
        f"(<span data-key='critical_faults'>{o['critical_faults']}</span> of {o['faults']} faults corrupt the top-1 "
        f"class of at least one image; 99% Wilson interval {pct(o['ci99'][0])} &ndash; {pct(o['ci99'][1])}).</p>",
        (f"<p>Margin of error of the sample: &plusmn;<span data-key='margin'>{pct(o['margin'], 2)}</span> {population} "
         "(99%, p = 0.5)." if o["margin"] <= 1 else
         f"<p>Margin of error: none, {o['faults']} faults are too few for one (99%, p = 0.5).")
        + f" Mean SDC-1 rate {pct(o['mean_sdc1_rate'], 3)} (99% interval {pct(o['sdc1_ci99'][0], 3)} &ndash; "
        f"{pct(o['sdc1_ci99'][1], 3)}); masked images {pct(o['masked_share'])}; "
        f"images with NaN/Inf logits {pct(o['non_finite_share'], 2)}.</p>",
        design_section(report["design"]) if report.get("design") else "",
        "<h2>Critical-fault rate per layer</h2>", layer_chart(report),
        "<h2>Critical-fault rate per bit</h2>", bit_chart(report),
        group_rows(report["fields"], "field", "data-field"),
        "<h2>Layer x bit field</h2>", heat_map(report),
        "<h2>SDC-1 rates of the critical faults</h2>", sdc1_histogram(report),
        "<h2>Most critical faults</h2>", most_critical_table(report),
        "<h2>Per layer</h2>", group_rows(report["layers"], "layer", "data-layer"),
        "<h2>Per bit</h2>", group_rows(report["bits"], "bit", "data-bit"),
    ]
    if "per_image" in report:
        parts.append(per_image_section(report["per_image"]))
    if report.get("reference"):
        parts += ["<h2>Agreement with the reference</h2>", agreement_table(report["reference"])]
    parts.append("<p><small>Made by dnnfi report.</small></p></body></html>")
    return "\n".join(parts)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        report = json.load(f)
    text = page(report)
    # dnnfi gives a temporary path and renames it over the page once this succeeds.
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
