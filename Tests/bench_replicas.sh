#!/usr/bin/env bash
# `make bench-replicas`: `engram-bench mcp` against 1 and 3 Engram replicas in one run (issue 20). On loopback:
# a throwaway PostgreSQL cluster (Tests/pg_cluster.sh, fsync off), the Qdrant stand-in
# (../shared/qdrant/qdrant_stub_server.py --backend edge: Qdrant's own engine in Python) and three
# `engram serve` replicas sharing both. BENCH_MEMORIES memories (default 2000) are added through MCP
# add_memory spread over the replicas (a near-duplicate updates the memory it resembles, so a few less are
# stored); once every replica holds them all, the benchmark measures
# search_memories plus a fraction of add_memory writes against the first replica alone (the baseline),
# then against all three (clients round robin), and prints the ratios.
#
# Knobs: BENCH_MEMORIES (2000), BENCH_CLIENTS (8), BENCH_REQUESTS (per client, 200), BENCH_WRITE_FRACTION
# (0.2), BENCH_THINK_MS (0), BENCH_QDRANT (stand-in: the Python stand-in running Qdrant's engine; engram: a
# fourth `engram serve --qdrant-listen`, whose Swift listener is not the bottleneck the stand-in is), ENGRAM_BIN / ENGRAM_BENCH_BIN (default .build/release/…), SHARED (../shared),
# ENGRAM_MODEL_DIR. Servers log to $BENCH_OUT (default bench-out/replicas/).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
engram=${ENGRAM_BIN:-$repo/.build/release/engram}
bench=${ENGRAM_BENCH_BIN:-$repo/.build/release/engram-bench}
stub=${SHARED:-$repo/../shared}/qdrant/qdrant_stub_server.py
memories=${BENCH_MEMORIES:-2000}
clients=${BENCH_CLIENTS:-8}
requests=${BENCH_REQUESTS:-200}
write_fraction=${BENCH_WRITE_FRACTION:-0.2}
think_ms=${BENCH_THINK_MS:-0}
qdrant=${BENCH_QDRANT:-stand-in}
out=${BENCH_OUT:-$repo/bench-out/replicas}
export ENGRAM_MODEL_DIR="${ENGRAM_MODEL_DIR:-$repo/models/all-MiniLM-L6-v2}"
for f in "$engram" "$bench"; do [ -x "$f" ] || { echo "bench_replicas: $f is missing (make release)" >&2; exit 1; }; done
[ "$qdrant" = engram ] || [ -f "$stub" ] || { echo "bench_replicas: the Qdrant stand-in is missing: $stub (set SHARED)" >&2; exit 1; }
python3 -c "import qdrant_edge" 2>/dev/null || { echo "bench_replicas: python3 cannot import qdrant_edge (pip install qdrant-edge-py)" >&2; exit 1; }

# shellcheck source=Tests/pg_cluster.sh
source Tests/pg_cluster.sh
work=$(mktemp -d /tmp/engram-bench-replicas.XXXXXX)
mkdir -p "$out"
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  pg_cluster_stop "$status"
  exit "$status"
}
trap cleanup EXIT

free_port() { python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"; }
# Waits up to $2 seconds for URL $1 to answer 200.
wait_http() {
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; do
    [ $SECONDS -lt "$deadline" ] || { echo "bench_replicas: $1 did not answer in $2 s" >&2; return 1; }
    sleep 0.2
  done
}
# The memories a replica's index holds (the sum of engram_memories over the states in /metrics).
memory_count() {
  { curl -fsS --max-time 5 "$1/metrics" || true; } | awk '/^engram_memories\{/ { n += $NF } END { printf "%d\n", n }'
}

qport=$(free_port)
if [ "$qdrant" = engram ]; then
  # Engram's own Qdrant-compatible listener, BM25-only so its own memory collection is not the replicas'.
  qkey=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir -p "$work/qdrant-host"
  ENGRAM_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') ENGRAM_QDRANT_API_KEY="$qkey" ENGRAM_EMBEDDER=none ENGRAM_MAX_CONNECTIONS_PER_IP=4096 ENGRAM_LOG_LEVEL=warning \
    ENGRAM_RATE_WRITES_PER_SEC=100000 ENGRAM_RATE_WRITE_BURST=100000 \
    "$engram" serve --host 127.0.0.1 --port "$(free_port)" --data-dir "$work/qdrant-host" \
    --qdrant-listen "127.0.0.1:$qport" >"$out/qdrant-host.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$qport/" 60
  export ENGRAM_QDRANT_REMOTE_API_KEY="$qkey"
  echo "==> Qdrant server: Engram's own Qdrant-compatible listener on 127.0.0.1:$qport"
else
  python3 "$stub" --backend edge --port "$qport" >"$out/qdrant-stub.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$qport/" 60
  echo "==> Qdrant stand-in (--backend edge) on 127.0.0.1:$qport"
fi

# The same secrets on every replica, random per run and never printed.
ENGRAM_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
ENGRAM_ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64)
export ENGRAM_JWT_SECRET ENGRAM_ENCRYPTION_KEY
export ENGRAM_METADATA="$ENGRAM_TEST_POSTGRES_URL" ENGRAM_METADATA_OWNER="$ENGRAM_TEST_POSTGRES_OWNER_URL"
export ENGRAM_STORE="qdrant://127.0.0.1:$qport"
# Limits far above what the benchmark sends, so it measures the replicas and not the rate limiter.
export ENGRAM_RATE_WRITES_PER_SEC=100000 ENGRAM_RATE_WRITE_BURST=100000 ENGRAM_RATE_AUTH_FAILURE_BURST=100000
export ENGRAM_MAX_CONNECTIONS_PER_IP=1024 ENGRAM_LOG_LEVEL=${ENGRAM_LOG_LEVEL:-warning}

urls=()
for i in 0 1 2; do
  port=$(free_port)
  mkdir -p "$work/replica-$i"
  "$engram" serve --host 127.0.0.1 --port "$port" --data-dir "$work/replica-$i" >"$out/replica-$i.log" 2>&1 &
  pids+=($!)
  urls+=("http://127.0.0.1:$port")
  # The first replica migrates the database and creates the collection before the others start.
  if [ "$i" = 0 ]; then wait_http "${urls[0]}/readyz" 120; fi
done
for u in "${urls[@]}"; do wait_http "$u/readyz" 120; done
echo "==> 3 replicas: ${urls[*]} (logs in $out)"

"$engram" token issue --user bench --data-dir "$work/replica-0" >"$work/token"
chmod 600 "$work/token"
all=$(IFS=,; echo "${urls[*]}")

started=$SECONDS
"$bench" mcp --targets "$all" --token-file "$work/token" --user bench --clients "$clients" --preload "$memories" --preload-only
# Every replica follows the others' writes through the change feed: wait until all three hold the same count.
deadline=$((SECONDS + 120))
while :; do
  counts=()
  for u in "${urls[@]}"; do counts+=("$(memory_count "$u")"); done
  if [ "${counts[0]}" -gt 0 ] && [ "${counts[0]}" = "${counts[1]}" ] && [ "${counts[0]}" = "${counts[2]}" ]; then break; fi
  [ $SECONDS -lt "$deadline" ] || { echo "bench_replicas: the replicas did not converge: ${counts[*]}" >&2; exit 1; }
  sleep 0.5
done
echo "==> every replica holds ${counts[0]} memories ($((SECONDS - started)) s to load and converge)"

set -x
"$bench" mcp --targets "$all" --baseline-targets "${urls[0]}" --token-file "$work/token" --user bench \
  --clients "$clients" --requests "$requests" --write-fraction "$write_fraction" --think-ms "$think_ms"
{ set +x; } 2>/dev/null
