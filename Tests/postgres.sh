#!/usr/bin/env bash
# Runs the PostgreSQL engine's suites (EngramPostgresTests), then the domain suites on the PostgreSQL
# metadata store, against a throwaway cluster that Tests/pg_cluster.sh starts and removes. Called by
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
swift test --skip-build --filter 'EngramMemoryTests\.(MetadataSeamTests|MemberDirectoryTests|OrgAdministrationTests|AccountServiceTests|OAuthServiceTests|LifecycleTests|TrustTests|ReviewIntegrityTests|ClientMetadataDocumentsTests)'
echo "==> PostgreSQL leg: $((SECONDS - started)) s (cluster included)"
