#!/usr/bin/env bash
# Runs the PostgreSQL engine's suites (EngramPostgresTests), the domain suites on the PostgreSQL
# metadata store, and the integration suites with the server's metadata in PostgreSQL, against a throwaway cluster that Tests/pg_cluster.sh starts and removes. Called by
# `make test-postgres`, after `swift build --build-tests`.
# Without the cluster (plain `swift test`) the same suites are skipped with the reason printed.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
# shellcheck source=Tests/pg_cluster.sh
source Tests/pg_cluster.sh
swift test --skip-build --filter EngramPostgresTests
# The domain suites whose metadata store comes from TestMetadata run again, on PostgreSQL (row-level
# security enforced); the model lives in models/ unless ENGRAM_MODEL_DIR says otherwise.
export ENGRAM_MODEL_DIR="${ENGRAM_MODEL_DIR:-$PWD/models/all-MiniLM-L6-v2}"
swift test --skip-build --filter 'EngramMemoryTests\.(MetadataSeamTests|MemberDirectoryTests|OrgAdministrationTests|AccountServiceTests|OAuthServiceTests|LifecycleTests|TrustTests|ReviewIntegrityTests|ClientMetadataDocumentsTests|ReplicaFollowTests|OutboxTests)'
# The memory-service and auth suites of the integration tests again, every server with its metadata in
# a fresh database of the cluster (`engram serve --metadata postgres://… --metadata-owner postgres://…`,
# conftest.py's ENGRAM_TEST_METADATA), then the tests that need the cluster itself (engine migration,
# PostgreSQL backups), whose servers choose their metadata engine per test.
export ENGRAM_BIN="${ENGRAM_BIN:-$PWD/.build/debug/engram}"
export ENGRAM_TEST_OUTPUT="${ENGRAM_TEST_OUTPUT:-$PWD/test-output}/postgres"
pg_suites=(test_mcp.py test_rest.py test_identity.py test_accounts.py test_oauth.py test_admin_api.py test_admin_history.py
  test_admin_trust.py test_lifecycle.py test_trust.py test_review_integrity.py test_protocol_errors.py)
ENGRAM_TEST_METADATA=postgres python3 -m pytest -q "${pg_suites[@]/#/Tests/Integration/}"
shopt -s nullglob
cluster_tests=(Tests/Integration/test_postgres_*.py)
if [ ${#cluster_tests[@]} -gt 0 ]; then python3 -m pytest -q "${cluster_tests[@]}"; fi
# Three replicas on one database, over the Qdrant stand-in (../shared/qdrant, --backend edge) and then over
# Engram's own Qdrant listener: visibility lag,
# propagation, isolation, restart and kill -9 (ENGRAM_REPLICA_CRASHES, default 3). -s prints the lag figures.
python3 -m pytest -q -s Tests/Integration/test_replicas.py
echo "==> PostgreSQL leg: $((SECONDS - started)) s (cluster included)"
