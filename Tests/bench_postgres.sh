#!/usr/bin/env bash
# `make bench-postgres`: `engram-bench search` and `mcp` with the metadata on SQLite and on PostgreSQL in one
# run (the SQLite figures are the baseline; each PostgreSQL figure is printed beside it as a ratio), against
# a throwaway cluster from Tests/pg_cluster.sh (fsync off there, as in the tests: the figures measure the
# round trips and the row-level-security queries, not the disk). BENCH_MEMORIES sets the size (default 20000).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Tests/pg_cluster.sh
source Tests/pg_cluster.sh
bench=${ENGRAM_BENCH_BIN:-.build/release/engram-bench}
memories=${BENCH_MEMORIES:-20000}
export ENGRAM_MODEL_DIR="${ENGRAM_MODEL_DIR:-$PWD/models/all-MiniLM-L6-v2}"
for kind in search mcp; do
  suffix=$(pg_cluster_random)
  database="bench_${kind}_${suffix:0:8}"
  pg_cluster_psql -q -d postgres -c "CREATE DATABASE $database OWNER engram_owner" >/dev/null
  app=${ENGRAM_TEST_POSTGRES_URL/\/engram\?//$database?}
  owner=${ENGRAM_TEST_POSTGRES_OWNER_URL/\/engram\?//$database?}
  case $kind in
    search) "$bench" search --memories "$memories" --queries 200 --adds 300 --postgres "$app" --postgres-owner "$owner" ;;
    mcp) "$bench" mcp --memories "$memories" --clients 8 --requests 100 --postgres "$app" --postgres-owner "$owner" ;;
  esac
done
