"""Replicas on one PostgreSQL database share the write and failed-authentication limits: the token buckets
live in `engram.rate_buckets` (docs/postgres.md, "Running several replicas: what is shared"), so a burst
of 4 is 4 across the replicas, not 4 on each. Two servers here, each with its own data directory, on one
database of the cluster of Tests/pg_cluster.sh. Skipped without the cluster."""
import subprocess

import pytest

from conftest import EngramServer, pg_database, requires_postgres
from helpers import http

pytestmark = requires_postgres

# A burst of 4 and a refill so slow (one write in ~17 minutes, one failure in ~17 minutes) that nothing
# refills while the test runs; conftest's generous bursts are overridden.
LIMITS = dict(ENGRAM_RATE_WRITE_BURST="4", ENGRAM_RATE_WRITES_PER_SEC="0.001",
              ENGRAM_RATE_AUTH_FAILURE_BURST="4", ENGRAM_RATE_AUTH_FAILURES_PER_MIN="0.06")


@pytest.fixture(scope="module")
def replicas():
    app, owner = pg_database("shared-limits")
    servers = [EngramServer(f"limits-{i}", **LIMITS) for i in range(2)]
    for s in servers:
        # Explicitly on the shared database, whatever ENGRAM_TEST_METADATA says.
        s.env.update(ENGRAM_METADATA=app, ENGRAM_METADATA_OWNER=owner)
    try:
        for s in servers:
            s.start()
        yield servers, owner
    finally:
        for s in servers:
            s.stop()


def test_writes_alternating_across_replicas_share_one_burst(replicas):
    servers, owner = replicas
    token = servers[0].token("wendy", org="limits-org")
    statuses = []
    for i in range(8):
        s = servers[i % 2]
        status, hdrs, body = http("POST", s.url + "/v1/memories", {"content": f"shared limit note number {i} " + "q" * i},
                                  token=token)
        statuses.append(status)
        if status == 429:
            assert int(hdrs["Retry-After"]) >= 1 and body["error"]["code"] == "rate_limited"
    # Per-replica buckets would let all 8 through (4 on each).
    assert statuses == [201] * 4 + [429] * 4, statuses
    # Reads are not limited, and another token has its own bucket on both replicas.
    assert all(http("GET", s.url + "/v1/memories", token=token)[0] == 200 for s in servers)
    other = servers[1].token("walt", org="limits-org")
    assert [http("POST", s.url + "/v1/memories", {"content": f"walt's own note on {s.name}"}, token=other)[0]
            for s in servers] == [201, 201]
    # The buckets are stored under digests: no token id, IP or user in clear.
    keys = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", owner, "-c",
                           "SELECT key FROM engram.rate_buckets"], capture_output=True, text=True, timeout=60)
    assert keys.returncode == 0, keys.stderr
    stored = keys.stdout.split()
    assert len(stored) >= 2 and all(len(k) == 64 and "127.0.0.1" not in k for k in stored), stored


# Runs last: it empties this IP's failed-authentication bucket on both replicas.
def test_auth_failures_alternating_across_replicas_share_one_burst_and_the_right_token_passes(replicas):
    servers, _ = replicas
    codes = [http("GET", servers[i % 2].url + "/v1/memories", token="bogus")[0] for i in range(8)]
    # Per-replica buckets would answer 401 eight times.
    assert codes == [401] * 4 + [429] * 4, codes
    # A valid token is never refused by the failure limit, on either replica.
    token = servers[0].token("vera", org="limits-org")
    assert [http("GET", s.url + "/v1/memories", token=token)[0] for s in servers] == [200, 200]
    assert all(s.alive() for s in servers)
