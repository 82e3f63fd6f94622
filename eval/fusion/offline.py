#!/usr/bin/env python3
"""Compares fusion functions offline on the exact candidates Engram's search fuses.

`engram-bench eval locomo ... --candidates-out C.jsonl` writes, per query, every vector and BM25
candidate with its cosine similarity and raw BM25 score. This script re-ranks them with several
fusion functions (the same convex formula and relevance floor as MemoryService.search) and scores
recall@1/@10 and MRR against qrels, so a fusion rule can be chosen on several sets at once without
re-running the embedder.

    offline.py --set NAME=CANDIDATES.jsonl:QRELS.jsonl [--set ...] [--grid]

QRELS lines: {"id": query id, "relevant": [eval ids]}.
"""
import argparse
import json
import math
import statistics

REFERENCE = 0.7
MIN_RELEVANCE = 0.15


def load(spec):
    name, rest = spec.split("=", 1)
    cpath, qpath = rest.split(":", 1)
    qrels = {}
    with open(qpath) as f:
        for row in map(json.loads, f):
            qrels[row["id"]] = set(row["relevant"])
    queries = []
    with open(cpath) as f:
        for row in map(json.loads, f):
            cands = [(c[0], c[1], c[2], c[3]) for c in row["candidates"]]
            queries.append((row["id"], cands))
    return name, queries, qrels


def lead(xs, depth=10):
    if len(xs) < 2:
        return 0.0
    top = sorted(xs, reverse=True)[:max(2, depth)]
    return top[0] - sum(top[1:]) / (len(top) - 1)


def fuse(cands, weight_fn):
    cos = [c[2] for c in cands if c[2] is not None]
    bm = [c[3] for c in cands if c[3] is not None]
    best = max(bm) if bm else 0.0
    w = weight_fn(cos, bm)
    scored = []
    for uid, evalids, s, b in cands:
        s0 = s if s is not None else 0.0
        l = (b / best) if (b is not None and best > 0) else 0.0
        if REFERENCE * s0 + (1 - REFERENCE) * l < MIN_RELEVANCE:
            continue
        scored.append((w * s0 + (1 - w) * l, uid, evalids))
    scored.sort(key=lambda t: (-t[0], t[1]))
    out, seen = [], set()
    for _, _, evalids in scored:
        for e in evalids:
            if e not in seen:
                seen.add(e)
                out.append(e)
    return out


def metrics(queries, qrels, weight_fn):
    r1 = r10 = mrr = 0.0
    n = 0
    for qid, cands in queries:
        rel = qrels.get(qid)
        if not rel:
            continue
        n += 1
        ranked = fuse(cands, weight_fn)
        r1 += len(set(ranked[:1]) & rel) / len(rel)
        r10 += len(set(ranked[:10]) & rel) / len(rel)
        first = next((i for i, m in enumerate(ranked) if m in rel), None)
        mrr += 0 if first is None else 1 / (first + 1)
    return r1 / n, r10 / n, mrr / n


def fixed(w):
    return lambda cos, bm: w


def adaptive(base, sg, lg, lo, hi):
    """RankFusion.adaptiveWeight."""
    def f(cos, bm):
        best = max(bm) if bm else 0
        ll = lead([b / best for b in bm]) if best > 0 else 0
        return min(hi, max(lo, base + sg * lead(cos) - lg * ll))
    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", action="append", required=True)
    ap.add_argument("--grid", action="store_true")
    a = ap.parse_args()
    sets = [load(s) for s in a.set]
    methods = {
        "cosine alone": fixed(1.0),
        "BM25 alone": fixed(0.0),
        "fixed 0.7": fixed(0.7),
        "fixed 0.8": fixed(0.8),
        "adaptive default": adaptive(0.6, 1.5, 0.2, 0.4, 0.9),
    }
    if a.grid:
        for base in (0.5, 0.6, 0.7):
            for sg in (0.0, 1.0, 1.5, 2.0, 3.0):
                for lg in (0.0, 0.2, 0.4):
                    methods[f"adaptive {base},{sg},{lg}"] = adaptive(base, sg, lg, 0.4, 0.9)
    header = "".join(f"{name:>28}" for name, _, _ in sets)
    print(f"{'method':<28}{header}   (R@1 / R@10 / MRR)")
    for mname, fn in methods.items():
        cells = []
        for _, queries, qrels in sets:
            r1, r10, mrr = metrics(queries, qrels, fn)
            cells.append(f"{r1:.3f}/{r10:.3f}/{mrr:.3f}")
        print(f"{mname:<28}" + "".join(f"{c:>28}" for c in cells))


if __name__ == "__main__":
    main()
