#!/usr/bin/env python3
"""Summarise an eval/retrieval/run.sh run: Engram beside the baselines, per unit.

Reads <out>/<unit>/harness.json (eval_locomo.py --json-out), scores <out>/<unit>/vector.jsonl
(Engram's vector-only rankings = the MiniLM baseline) with the harness's own `score`, fuses it
with the harness's BM25 run by the harness's `fuse_rrf` (k = 60, equal weights), prints a
compact table and writes <out>/summary.json. Exits 1 when Engram misses a bar.
"""
import argparse
import importlib.util
import json
import os
import sys

BARS = {"turn": 0.55, "observation": 0.72}
# Documented in DESIGN.md §7 / issue 5 (harness runs with sentence-transformers), recall@10.
REFERENCE = {"turn": {"minilm": 0.451, "bm25": 0.511, "rrf": 0.542},
             "observation": {"minilm": 0.708, "bm25": 0.607, "rrf": 0.690}}
COLS = [("recall@1", "R@1"), ("recall@5", "R@5"), ("recall@10", "R@10"), ("recall@20", "R@20"), ("mrr", "MRR"),
        ("ndcg@10", "nDCG@10")]


def load_harness(locomo_dir):
    spec = importlib.util.spec_from_file_location("eval_locomo", os.path.join(locomo_dir, "eval_locomo.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--locomo-dir", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    h = load_harness(a.locomo_dir)
    summary, ok = {}, True
    for unit in ("turn", "observation"):
        work = os.path.join(a.out, unit)
        res = json.load(open(os.path.join(work, "harness.json")))["results"]
        rows = {"engram (hybrid)": res["external"], "bm25 (harness)": res["bm25"]}
        if "minilm" in res:
            rows["minilm (harness)"] = res["minilm"]
        if "hybrid" in res:
            rows["rrf (harness)"] = res["hybrid"]
        vec = os.path.join(work, "vector.jsonl")
        if os.path.exists(vec):
            memories, queries, qrels, _ = h.build_benchmark(os.path.join(a.locomo_dir, "data", "locomo10_v2"), unit)
            vrun = h.read_run(vec)
            rows["minilm (engram port)"] = h.score(vrun, queries, qrels, memories)
            rrf = h.fuse_rrf([vrun, h.rank_bm25(memories, queries)], k=60, depth=100)
            rows["rrf k=60 (minilm+bm25)"] = h.score(rrf, queries, qrels, memories)
        stats = json.load(open(os.path.join(work, "stats.json")))
        seconds = int(open(os.path.join(work, "seconds")).read())
        engram = rows["engram (hybrid)"]["all"]
        passed = engram["recall@10"] >= BARS[unit]
        ok &= passed
        print(f"\nLoCoMo --unit {unit}: {engram['n']} queries, {stats['memories']} memories "
              f"(embedder {stats['embedder']}), {seconds} s")
        print(f"  {'method':<24}" + "".join(f"{c:>9}" for _, c in COLS))
        for name, agg in rows.items():
            print(f"  {name:<24}" + "".join(f"{agg['all'][k]:>9.4f}" for k, _ in COLS))
        ref = REFERENCE[unit]
        print(f"  reference R@10 (DESIGN.md, not re-measured): minilm {ref['minilm']:.3f}  bm25 {ref['bm25']:.3f}  "
              f"rrf {ref['rrf']:.3f}")
        print(f"  bar: recall@10 >= {BARS[unit]:.2f}: {'PASS' if passed else 'FAIL'} ({engram['recall@10']:.4f})")
        rules = ", ".join(f"{r} x{n}" for r, n in sorted(stats["secretRules"].items())) or "-"
        print(f"  adds {stats['memories'] / max(stats['addSeconds'], 1e-9):.0f}/s "
              f"({', '.join(f'{k} {v}' for k, v in sorted(stats['addStatus'].items()))}); "
              f"searches {stats['queries'] / max(stats['searchSeconds'], 1e-9):.0f}/s with {stats['jobs']} jobs; "
              f"secret filter rejected {stats['secretRejected']} ({rules})")
        summary[unit] = {"bar": BARS[unit], "pass": passed, "seconds": seconds, "stats": stats,
                         "results": {k: v["all"] for k, v in rows.items()}}
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
