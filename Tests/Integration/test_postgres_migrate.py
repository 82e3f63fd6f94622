"""`engram migrate` of the metadata between a data directory's SQLite file and PostgreSQL (issue 19):
copied, verified by counts and hashes, idempotent on a rerun, refusing a target that differs, and back.

Runs only with the PostgreSQL test cluster (Tests/pg_cluster.sh exports ENGRAM_TEST_POSTGRES_*URL)."""
import collections
import re
import sqlite3
import subprocess
import urllib.parse

import pytest

import conftest
from conftest import BIN, EngramServer
from helpers import http, new_password

pytestmark = pytest.mark.skipif(
    not (conftest.PG_APP_URL and conftest.PG_OWNER_URL),
    reason="no PostgreSQL test cluster (ENGRAM_TEST_POSTGRES_OWNER_URL unset; Tests/postgres.sh starts one)")

# The embedded vector store's tables and the engines' bookkeeping: not metadata, not migrated.
NOT_METADATA = {"collections", "points", "payload_indexes", "grdb_migrations", "sqlite_sequence"}
TABLE_LINE = re.compile(r"^\s+([\w.]+)\s+source (\d+) rows ([0-9a-f]{16})\s+target (\d+) rows ([0-9a-f]{16})\s+(ok|DIFFERS)$")


def psql(owner_url, sql):
    """Runs `sql` as the schema owner and returns the rows (tab-separated, unaligned)."""
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", owner_url, "-c", sql],
                         check=True, capture_output=True, text=True, timeout=60)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


Outcome = collections.namedtuple("Outcome", "returncode stdout stderr")


def migrate(env, source, target):
    """Runs `engram migrate`; the outcome carries no arguments, so a failing assertion never shows a URL."""
    out = subprocess.run([BIN, "migrate", "--from", source, "--to", target], env=dict(env, ENGRAM_PROGRESS="plain"),
                         capture_output=True, text=True, timeout=300)
    return Outcome(out.returncode, out.stdout, out.stderr)


def table_lines(stdout):
    """{table: (source rows, source hash, target rows, target hash, verdict)} from the verification lines."""
    found = {}
    for line in stdout.splitlines():
        m = TABLE_LINE.match(line)
        if m:
            found[m[1]] = (int(m[2]), m[3], int(m[4]), m[5], m[6])
    return found


def sqlite_tables(path):
    """Every metadata table of a SQLite file: {table: sorted rows}."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") if r[0] not in NOT_METADATA]
        return {name: sorted(db.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in names}


@pytest.fixture(scope="module")
def source():
    """A SQLite server's data directory with users, an org, members, a password, memories (one with two
    versions, one personal), searches (served log) and an admin change (audit log); the server stopped."""
    s = EngramServer("pgmigrate-src")
    # Whatever engine the rest of the suite runs on, this server keeps its metadata in SQLite.
    for key in ("ENGRAM_METADATA", "ENGRAM_METADATA_OWNER"):
        s.env.pop(key, None)
    s.start()
    try:
        owner = s.token("olive", org="migr", role="owner")
        member = s.token("milo", org="migr", role="member")
        s.set_password("milo", new_password("milo"), org="migr", role="member")
        status, _, body = http("POST", f"{s.url}/v1/memories",
                               {"content": "The migr repo formats Swift with swift format before each commit",
                                "scope": "org", "kind": "pattern", "tags": ["swift"]}, token=member)
        assert status == 201, body
        org_memory = body["memory"]["id"]
        status, _, body = http("PATCH", f"{s.url}/v1/memories/{org_memory}",
                               {"content": "The migr repo formats Swift with swift format and lints it before each commit"},
                               token=member)
        assert status == 200, body
        status, _, body = http("POST", f"{s.url}/v1/memories",
                               {"content": "Milo prefers small focused pull requests", "scope": "personal",
                                "kind": "preference"}, token=member)
        assert status == 201, body
        personal_memory = body["memory"]["id"]
        status, _, _ = http("GET", f"{s.url}/v1/memories/search?q=how+is+swift+formatted&limit=3", token=member)
        assert status == 200
        status, _, body = http("PATCH", f"{s.url}/v1/admin/org", {"require_review": False}, token=owner)
        assert status == 200, body
        status, _, body = http("GET", f"{s.url}/v1/memories/{org_memory}/versions", token=member)
        assert status == 200 and len(body["versions"]) == 2, body
    finally:
        s.stop()
    # More rows than a batch (500), with text keys whose byte order differs from a locale's (case, accents).
    with sqlite3.connect(s.data / "engram.sqlite") as db:
        words = ["a", "B", "b", "\u00c4", "\u00e9", "Z", "_", "10", "9"]
        db.executemany("INSERT INTO webhook_deliveries (org_id, provider, delivery_id, at) VALUES ('migr', ?, ?, ?)",
                       [(words[i % 3], f"{words[i % len(words)]}-{i}", 1.5 + i) for i in range(1234)])
        db.executemany("INSERT INTO served_log (at, memory_id, user_id, rank) VALUES (?, ?, 'milo', ?)",
                       [(2.25 + i, org_memory, i % 5) for i in range(700)])
    return {"server": s, "owner": owner, "member": member, "org_memory": org_memory, "personal_memory": personal_memory}


def test_sqlite_to_postgres_verified_idempotent_tamper_and_back(source, tmp_path):
    s = source["server"]
    app_url, owner_url = conftest.pg_database("pgmigrate")
    password = urllib.parse.unquote(urllib.parse.urlsplit(owner_url).password or "")

    first = migrate(s.env, f"sqlite:{s.data}", owner_url)
    assert first.returncode == 0, first.stderr
    assert "counts and hashes match" in first.stdout
    if password:
        assert password not in first.stdout + first.stderr
    tables = table_lines(first.stdout)
    assert {"users", "orgs", "members", "credentials", "audit_log", "memory_versions", "served_log"} <= set(tables)
    assert all(verdict == "ok" and n == m and h == g for n, h, m, g, verdict in tables.values()), first.stdout
    assert tables["users"][0] >= 2 and tables["members"][0] >= 2 and tables["credentials"][0] >= 1
    assert tables["memory_versions"][0] >= 3 and tables["audit_log"][0] >= 1
    assert tables["webhook_deliveries"][0] == 1234 and tables["served_log"][0] > 700
    copied = int(re.search(r"copied (\d+) rows", first.stdout)[1])
    assert copied == sum(t[0] for name, t in tables.items() if "." not in name)
    # The tenants derived for the memories' rows are verified too.
    assert {"memory_versions.tenant", "memory_usage.tenant", "served_log.tenant"} <= set(tables)

    # Each memory's rows are filed under the memory's tenant, a personal memory under its user's.
    assert psql(owner_url, f"SELECT DISTINCT tenant FROM engram.memory_versions WHERE memory_id = '{source['org_memory']}'") == [["org:migr"]]
    assert psql(owner_url, f"SELECT DISTINCT tenant FROM engram.memory_versions WHERE memory_id = '{source['personal_memory']}'") == [["user:milo"]]
    # The identity sequences moved past the copied ids.
    for table in ("audit_log", "served_log"):
        [[max_id, last]] = psql(owner_url, f"SELECT max(id), pg_sequence_last_value(pg_get_serial_sequence('engram.{table}', 'id')) FROM engram.{table}")
        assert int(last) >= int(max_id)

    # A rerun copies nothing new and still verifies.
    again = migrate(s.env, f"sqlite:{s.data}", owner_url)
    assert again.returncode == 0, again.stderr
    assert "copied 0 rows" in again.stdout
    assert table_lines(again.stdout) == tables
    counts = psql(owner_url, "SELECT (SELECT count(*) FROM engram.memory_versions), (SELECT count(*) FROM engram.users)")
    assert [int(c) for c in counts[0]] == [tables["memory_versions"][0], tables["users"][0]]

    # An interrupted copy (rows missing from the target) is finished by running the command again.
    psql(owner_url, f"DELETE FROM engram.memory_versions WHERE memory_id = '{source['org_memory']}' AND version = 2")
    psql(owner_url, "DELETE FROM engram.served_log")
    resumed = migrate(s.env, f"sqlite:{s.data}", owner_url)
    assert resumed.returncode == 0, resumed.stderr
    assert int(re.search(r"copied (\d+) rows", resumed.stdout)[1]) == 1 + tables["served_log"][0]
    assert table_lines(resumed.stdout) == tables

    # A target row that differs from the source's is never overwritten: the verification fails.
    psql(owner_url, "UPDATE engram.members SET role = 'viewer' WHERE user_id = 'milo'")
    tampered = migrate(s.env, f"sqlite:{s.data}", owner_url)
    assert tampered.returncode == 1
    assert "MIGRATION VERIFICATION FAILED" in tampered.stderr and "members" in tampered.stderr
    assert table_lines(tampered.stdout)["members"][4] == "DIFFERS"
    assert psql(owner_url, "SELECT role FROM engram.members WHERE user_id = 'milo'") == [["viewer"]]
    psql(owner_url, "UPDATE engram.members SET role = 'member' WHERE user_id = 'milo'")
    # The same for a memory row filed under another tenant than its memory's.
    [[usage_tenant]] = psql(owner_url, "SELECT tenant FROM engram.memory_usage LIMIT 1")
    psql(owner_url, "UPDATE engram.memory_usage SET tenant = 'org:elsewhere'")
    misfiled = migrate(s.env, f"sqlite:{s.data}", owner_url)
    assert misfiled.returncode == 1
    assert "MIGRATION VERIFICATION FAILED" in misfiled.stderr and "memory_usage.tenant" in misfiled.stderr
    psql(owner_url, f"UPDATE engram.memory_usage SET tenant = '{usage_tenant}'")

    # And back: PostgreSQL into a new data directory, the same metadata as the original file.
    back_dir = tmp_path / "back"
    back = migrate(s.env, owner_url, f"sqlite:{back_dir}")
    assert back.returncode == 0, back.stderr
    assert "counts and hashes match" in back.stdout
    original = sqlite_tables(s.data / "engram.sqlite")
    returned = sqlite_tables(back_dir / "engram.sqlite")
    assert set(original) == set(returned)
    for name in original:
        assert original[name] == returned[name], f"{name} differs after the round trip"

    # With `engram serve --metadata postgres://…` available, the migrated database serves the old data.
    help_text = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True).stdout
    if "--metadata-owner" not in help_text:
        return
    migrated = EngramServer("pgmigrate-served", ENGRAM_METADATA=app_url, ENGRAM_METADATA_OWNER=owner_url)
    migrated.data = s.data
    migrated.start()
    try:
        status, _, body = http("GET", f"{migrated.url}/v1/memories/{source['org_memory']}/versions", token=source["member"])
        assert status == 200 and len(body["versions"]) == 2, body
        status, _, body = http("GET", f"{migrated.url}/v1/memories/{source['personal_memory']}", token=source["member"])
        assert status == 200, body
    finally:
        migrated.stop()


def test_refuses_two_of_a_kind_and_missing_source(tmp_path):
    env = dict(conftest.os.environ)
    out = migrate(env, f"sqlite:{tmp_path / 'a'}", f"sqlite:{tmp_path / 'b'}")
    assert out.returncode != 0 and "one of each" in out.stderr
    out = migrate(env, f"sqlite:{tmp_path / 'missing'}", conftest.PG_OWNER_URL)
    assert out.returncode == 1 and "no engram.sqlite" in out.stderr
