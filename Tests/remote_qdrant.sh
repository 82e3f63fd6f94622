#!/usr/bin/env bash
# Runs the memory-service test suite on the remote-Qdrant backend: against the team's Qdrant
# stand-in (../shared/qdrant/qdrant_stub_server.py) and against Engram's own Qdrant-compatible
# listener. Called by `make test` (target test-remote-qdrant).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-$(cd .. && pwd)/shared}"
BIN="${ENGRAM_BIN:-$PWD/.build/debug/engram}"
free_port() { python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened"; return 1; }
mkdir -p test-output

echo "==> memory-service suite on the remote-Qdrant backend via the Qdrant stand-in"
port=$(free_port)
python3 "$SHARED/qdrant/qdrant_stub_server.py" --port "$port" > test-output/qdrant-stub.log 2>&1 &
pids+=($!)
wait_port "$port"
ENGRAM_TEST_QDRANT_URL="qdrant://127.0.0.1:$port" swift test --skip-build --filter "EngramMemoryTests.MemoryServiceTests|EngramMemoryTests.IsolationTests|EngramMemoryTests.TrustTests"

if "$BIN" serve --help | grep -q -- "--qdrant-listen"; then
  echo "==> memory-service suite on the remote-Qdrant backend via Engram's own Qdrant listener"
  key="remote-backend-test-key-$(date +%s)"
  port=$(free_port); qport=$(free_port); data=$(mktemp -d)
  ENGRAM_JWT_SECRET="remote-backend-test-secret-0123456789abcdef" ENGRAM_QDRANT_API_KEY="$key" ENGRAM_EMBEDDER=none \
    "$BIN" serve --port "$port" --data-dir "$data" --qdrant-listen "127.0.0.1:$qport" > test-output/qdrant-listener.log 2>&1 &
  pids+=($!)
  wait_port "$qport"
  ENGRAM_TEST_QDRANT_URL="qdrant://127.0.0.1:$qport?api_key=$key" swift test --skip-build --filter "EngramMemoryTests.MemoryServiceTests|EngramMemoryTests.IsolationTests|EngramMemoryTests.TrustTests"
fi
