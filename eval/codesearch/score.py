#!/usr/bin/env python3
"""Scores code-search rankings: recall@1/@10 and MRR@100 of the one relevant function per query.

    score.py --set set.jsonl.gz NAME=rankings.jsonl [NAME=rankings.jsonl ...] [--json-out F]
"""
import argparse
import gzip
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", required=True)
    ap.add_argument("--json-out")
    ap.add_argument("runs", nargs="+", help="NAME=PATH")
    a = ap.parse_args()
    with gzip.open(a.set, "rt", encoding="utf-8") as f:
        answer = {f"q:{r['id']}": r["id"] for r in map(json.loads, f) if "query" in r}
    table = {}
    print(f"{'method':<34} {'R@1':>7} {'R@10':>7} {'MRR':>7}  ({len(answer)} queries)")
    for spec in a.runs:
        name, path = spec.split("=", 1)
        ranked = {}
        with open(path) as f:
            for row in map(json.loads, f):
                ranked[row["id"]] = row["ranked"]
        r1 = r10 = mrr = 0.0
        for qid, doc in answer.items():
            lst = ranked.get(qid, [])
            if doc in lst:
                rank = lst.index(doc) + 1
                mrr += 1 / rank
                r1 += rank == 1
                r10 += rank <= 10
        n = len(answer)
        table[name] = {"recall@1": r1 / n, "recall@10": r10 / n, "mrr": mrr / n}
        print(f"{name:<34} {r1 / n:7.4f} {r10 / n:7.4f} {mrr / n:7.4f}")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(table, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
