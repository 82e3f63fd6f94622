#!/usr/bin/env bash
# Runs the PostgreSQL engine's suites (EngramPostgresTests) against a throwaway cluster that
# Tests/pg_cluster.sh starts and removes. Called by `make test-postgres`, after `swift build --build-tests`.
# Without the cluster (plain `swift test`) the same suites are skipped with the reason printed.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
# shellcheck source=Tests/pg_cluster.sh
source Tests/pg_cluster.sh
swift test --skip-build --filter EngramPostgresTests
echo "==> PostgreSQL leg: $((SECONDS - started)) s (cluster included)"
