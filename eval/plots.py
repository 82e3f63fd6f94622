#!/usr/bin/env python3
"""PNG plots beside the tables of `make eval-retrieval` and `make bench`.

    plots.py recall  SUMMARY.json OUT.png   recall@k curves (k = 1, 5, 10, 20) per method, one panel per
                                            LoCoMo unit, from eval/retrieval/report.py's summary.json
    plots.py latency SAMPLES.json OUT.png   latency histograms (log-spaced bins, p50/p99 marked), one panel
                                            per series, from `engram-bench search|mcp --samples-out`

Figures are drawn with matplotlib's Agg backend (no display needed) and only from the measured values
in the input files.
"""
import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

KS = [1, 5, 10, 20]


def recall(summary_path, out_path):
    summary = json.load(open(summary_path))
    units = [u for u in ("turn", "observation") if u in summary]
    if not units:
        raise SystemExit(f"plots: {summary_path} holds no LoCoMo unit")
    fig, axes = plt.subplots(1, len(units), figsize=(6 * len(units), 4.5), squeeze=False)
    for ax, unit in zip(axes[0], units):
        results = summary[unit]["results"]
        for method, agg in results.items():
            ys = [agg[f"recall@{k}"] for k in KS]
            ax.plot(KS, ys, marker="o", linewidth=2.5 if method.startswith("engram") else 1.2, label=method)
        ax.axhline(summary[unit]["bar"], color="grey", linestyle="--", linewidth=0.8, label=f"bar R@10 {summary[unit]['bar']:.2f}")
        ax.set_title(f"LoCoMo --unit {unit}")
        ax.set_xlabel("k")
        ax.set_ylabel("recall@k")
        ax.set_xticks(KS)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    print(f"wrote {out_path}")


def percentile(xs, p):
    s = sorted(xs)
    i = min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))
    return s[i]


def latency(samples_path, out_path):
    doc = json.load(open(samples_path))
    series = {k: v for k, v in doc["series"].items() if v}
    if not series:
        raise SystemExit(f"plots: {samples_path} holds no samples")
    unit = doc.get("unit", "ms")
    fig, axes = plt.subplots(len(series), 1, figsize=(7, 2.6 * len(series)), squeeze=False)
    for ax, (name, xs) in zip(axes[:, 0], series.items()):
        lo, hi = max(min(xs), 1e-3), max(max(xs), 2e-3)
        bins = [lo * (hi / lo) ** (i / 40) for i in range(41)]
        ax.hist(xs, bins=bins, color="#4472c4")
        ax.set_xscale("log")
        for p, style in ((50, "-"), (99, "--")):
            v = percentile(xs, p)
            ax.axvline(v, color="black", linestyle=style, linewidth=1, label=f"p{p} {v:.2f} {unit}")
        ax.set_title(f"{doc.get('bench', 'bench')}: {name} ({len(xs)} samples)", fontsize=10)
        ax.set_xlabel(f"latency ({unit}, log scale)")
        ax.set_ylabel("count")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    print(f"wrote {out_path}")


def main(argv):
    if len(argv) != 4 or argv[1] not in ("recall", "latency"):
        raise SystemExit(__doc__)
    {"recall": recall, "latency": latency}[argv[1]](argv[2], argv[3])


if __name__ == "__main__":
    main(sys.argv)
