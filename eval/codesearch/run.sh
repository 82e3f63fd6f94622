#!/usr/bin/env bash
# Code-search evaluation of Engram's search (eval/codesearch/README.md).
#
# Feeds set.jsonl.gz (standard-library functions as memories, their docstring summaries as
# queries) through MemoryService with `engram-bench eval locomo` (one user, the real add and
# search path) and scores, from the same store in the same run: the default (adaptive)
# fusion, the fixed 0.7/0.3 fusion, BM25 alone (fixed:0) and exact cosine alone.
#
# Builds nothing: ENGRAM_BENCH_BIN (default .build/release/engram-bench) must exist.
# Env: ENGRAM_MODEL_DIR (default models/all-MiniLM-L6-v2), EVAL_OUT (default eval/codesearch/out),
# EXTRA_VARIANTS (more SPEC=NAME pairs for engram-bench's --variant, e.g. "adaptive:0.6,1.5,0.2,0.4,0.9=try1").
set -euo pipefail
cd "$(dirname "$0")/../.."
ENGRAM_BENCH_BIN=${ENGRAM_BENCH_BIN:-.build/release/engram-bench}
export ENGRAM_MODEL_DIR=${ENGRAM_MODEL_DIR:-models/all-MiniLM-L6-v2}
OUT=${EVAL_OUT:-eval/codesearch/out}
SET=eval/codesearch/set.jsonl.gz
[[ -x $ENGRAM_BENCH_BIN ]] || { echo "codesearch: $ENGRAM_BENCH_BIN not found (swift build -c release)" >&2; exit 1; }
[[ -f $ENGRAM_MODEL_DIR/model.safetensors ]] || { echo "codesearch: no model in $ENGRAM_MODEL_DIR (make model)" >&2; exit 1; }
mkdir -p "$OUT"
python3 - "$SET" "$OUT" <<'PY'
import gzip, json, sys
src, out = sys.argv[1], sys.argv[2]
with gzip.open(src, "rt", encoding="utf-8") as f, open(f"{out}/memories.jsonl", "w") as m, open(f"{out}/queries.jsonl", "w") as q:
    for r in map(json.loads, f):
        m.write(json.dumps({"id": r["id"], "user": "code", "text": r["text"]}) + "\n")
        if "query" in r:
            q.write(json.dumps({"id": "q:" + r["id"], "user": "code", "text": r["query"], "k": 100}) + "\n")
PY
variants=(--variant "fixed:0.7=$OUT/fixed.jsonl" --variant "fixed:0=$OUT/bm25.jsonl")
names=("adaptive (default)=$OUT/adaptive.jsonl" "fixed 0.7/0.3=$OUT/fixed.jsonl" "BM25 alone=$OUT/bm25.jsonl" "cosine alone=$OUT/cosine.jsonl")
for extra in ${EXTRA_VARIANTS:-}; do
  variants+=(--variant "${extra%=*}=$OUT/${extra##*=}.jsonl")
  names+=("${extra%=*}=$OUT/${extra##*=}.jsonl")
done
"$ENGRAM_BENCH_BIN" eval locomo --memories "$OUT/memories.jsonl" --queries "$OUT/queries.jsonl" \
  --out "$OUT/adaptive.jsonl" --vector-out "$OUT/cosine.jsonl" "${variants[@]}" 2> "$OUT/engram.log" \
  || { cat "$OUT/engram.log" >&2; exit 1; }
grep -E "^(added|secret filter)" "$OUT/engram.log" >&2 || true
python3 eval/codesearch/score.py --set "$SET" --json-out "$OUT/summary.json" "${names[@]}"
