#!/usr/bin/env python3
"""Scores a lifecycle run: is the current fact ranked above the stale one, and is changed code labelled changed?

    score.py RESULTS.jsonl [--set eval/lifecycle/set.jsonl] [--json]

RESULTS.jsonl has one line per query:
    {"id": "s-001", "family": "supersede", "query": "...", "ranked_ids": ["newer", "d-017", "older"], "label": "fresh"}
`ranked_ids` is the search result in order. The item's own memories are named "older" and "newer" (or
"memory" for an anchor item); anything else, such as a distractor id, counts as some other memory.
For anchor items, `label` is what the service says about the memory after the push: "changed" or
anything else ("fresh", "unchanged", …). Standard library only.
"""
import argparse
import json
import sys
from pathlib import Path

FACT_FAMILIES = ("supersede", "confirm")
CURRENT = {"supersede": ("newer", "older"), "confirm": ("older", "newer")}  # (current, stale)


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def ratio(a, b):
    return a / b if b else None


def fact_scores(rows):
    """rows: list of (ranked_ids or None, current, stale)."""
    n = len(rows)
    answered = first = top1 = hidden = 0
    for ranked, cur, stale in rows:
        if ranked is None:
            continue
        answered += 1
        pc = ranked.index(cur) if cur in ranked else None
        ps = ranked.index(stale) if stale in ranked else None
        first += pc is not None and (ps is None or pc < ps)
        top1 += bool(ranked) and ranked[0] == cur
        hidden += ps is None
    return {"queries": n, "answered": answered, "current_first": ratio(first, n), "top1": ratio(top1, n),
            "stale_hidden": ratio(hidden, n)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--set", default=str(Path(__file__).resolve().parent / "set.jsonl"))
    ap.add_argument("--json", action="store_true", help="print the scores as JSON instead of a table")
    a = ap.parse_args()

    items = {it["id"]: it for it in load_jsonl(a.set) if it["family"] != "distractor"}
    results, unmatched = {}, 0
    for row in load_jsonl(a.results):
        it = items.get(row.get("id"))
        if it is None or row.get("query") not in it["queries"]:
            unmatched += 1
            continue
        results[(row["id"], row["query"])] = row  # a repeated query: the last line wins

    report = {}
    fact_rows = {fam: [] for fam in FACT_FAMILIES}
    by_lex = {fam: {} for fam in FACT_FAMILIES}
    anchor = {"queries": 0, "answered": 0, "tp": 0, "fp": 0, "fn": 0, "tn": 0, "memory_top1": 0, "memory_seen": False}
    for iid, it in items.items():
        fam = it["family"]
        for qi, q in enumerate(it["queries"]):
            row = results.get((iid, q))
            ranked = row.get("ranked_ids") if row else None
            if fam in FACT_FAMILIES:
                cur, stale = CURRENT[fam]
                fact_rows[fam].append((ranked, cur, stale))
                lex = it.get("lexical", [])[qi] if qi < len(it.get("lexical", [])) else "unknown"
                by_lex[fam].setdefault(lex, []).append((ranked, cur, stale))
            elif fam == "anchor":
                anchor["queries"] += 1
                truth = bool(it["changed"])
                if row is None or "label" not in row:
                    # No label: wrong either way (a changed memory missed, a fresh one not confirmed fresh).
                    anchor["fn" if truth else "fp"] += 1
                    continue
                anchor["answered"] += 1
                pred = row["label"] == "changed"
                anchor[{(True, True): "tp", (False, True): "fp", (True, False): "fn", (False, False): "tn"}[(truth, pred)]] += 1
                if ranked and "memory" in ranked:
                    anchor["memory_seen"] = True
                anchor["memory_top1"] += bool(ranked) and ranked[0] == "memory"

    for fam in FACT_FAMILIES:
        s = fact_scores(fact_rows[fam])
        s["by_lexical"] = {lex: fact_scores(rows) for lex, rows in sorted(by_lex[fam].items())}
        report[fam] = s
    report["facts"] = fact_scores(fact_rows["supersede"] + fact_rows["confirm"])
    tp, fp, fn, tn = (anchor[k] for k in ("tp", "fp", "fn", "tn"))
    prec, rec = ratio(tp, tp + fp), ratio(tp, tp + fn)
    report["anchor"] = {
        "queries": anchor["queries"], "answered": anchor["answered"], "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "precision": prec, "recall": rec,
        "f1": (2 * prec * rec / (prec + rec)) if prec and rec else (0.0 if prec is not None and rec is not None else None),
        "accuracy": ratio(tp + tn, anchor["queries"]),
        "memory_top1": ratio(anchor["memory_top1"], anchor["queries"]) if anchor["memory_seen"] else None,
    }
    report["unmatched_rows"] = unmatched

    if a.json:
        json.dump(report, sys.stdout, indent=1, sort_keys=True)
        print()
        return

    def pct(x):
        return "   -  " if x is None else f"{100 * x:5.1f}%"

    print("current fact ranked above the stale one (supersede: newer is current; confirm: confirmed older is current)")
    print(f"{'family':<28} {'queries':>7} {'answered':>8} {'current-first':>13} {'top-1':>7} {'stale-hidden':>12}")
    for name, s in (("supersede", report["supersede"]), ("confirm", report["confirm"]), ("supersede+confirm", report["facts"])):
        print(f"{name:<28} {s['queries']:>7} {s['answered']:>8} {pct(s['current_first']):>13} {pct(s['top1']):>7} "
              f"{pct(s['stale_hidden']):>12}")
        for lex, t in s.get("by_lexical", {}).items():
            label = {"older": "  query words favour older", "newer": "  query words favour newer",
                     "tie": "  query words: a tie"}.get(lex, f"  lexical: {lex}")
            print(f"{label:<28} {t['queries']:>7} {t['answered']:>8} {pct(t['current_first']):>13} {pct(t['top1']):>7} "
                  f"{pct(t['stale_hidden']):>12}")
    an = report["anchor"]
    print()
    print("'code changed' label on anchor memories after the push (positive = changed)")
    print(f"{'family':<28} {'queries':>7} {'answered':>8} {'precision':>9} {'recall':>7} {'F1':>7} {'accuracy':>8}   tp/fp/fn/tn")
    print(f"{'anchor':<28} {an['queries']:>7} {an['answered']:>8} {pct(an['precision']):>9} {pct(an['recall']):>7} "
          f"{pct(an['f1']):>7} {pct(an['accuracy']):>8}   {an['tp']}/{an['fp']}/{an['fn']}/{an['tn']}")
    if an["memory_top1"] is not None:
        print(f"{'  anchor memory ranked first':<28} {'':>7} {'':>8} {pct(an['memory_top1']):>9}")
    if unmatched:
        print(f"\n{unmatched} result line(s) matched no query of the set and were ignored.")


if __name__ == "__main__":
    main()
