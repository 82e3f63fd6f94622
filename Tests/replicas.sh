#!/usr/bin/env bash
# The multi-replica suite alone (Tests/Integration/test_replicas.py): a throwaway PostgreSQL cluster
# (Tests/pg_cluster.sh), a Qdrant server (the stand-in of ../shared/qdrant with --backend edge, then Engram's own
# Qdrant-compatible listener: every test runs once over each) and three `engram serve`
# replicas. Tests/postgres.sh runs the same suite in the PostgreSQL leg of `make test`.
#   bash Tests/replicas.sh [pytest arguments]     e.g. ENGRAM_REPLICA_CRASHES=10 bash Tests/replicas.sh -x
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Tests/pg_cluster.sh
source Tests/pg_cluster.sh
export ENGRAM_BIN="${ENGRAM_BIN:-$PWD/.build/debug/engram}"
export ENGRAM_MODEL_DIR="${ENGRAM_MODEL_DIR:-$PWD/models/all-MiniLM-L6-v2}"
export ENGRAM_TEST_OUTPUT="${ENGRAM_TEST_OUTPUT:-$PWD/test-output}/replicas"
python3 -m pytest -q -s Tests/Integration/test_replicas.py "$@"
