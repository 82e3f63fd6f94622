"""Backups of the PostgreSQL metadata store (docs/postgres-backups.md): `engram backup` adds a `pg_dump` of
the schema `engram` (metadata.pgdump) with its row counts; `engram verify` checks its checksum, lists it with
`pg_restore --list` and restores it into a scratch database whose counts must match; damage fails loudly;
MCP canaries never appear in plaintext in the dump or the SQLite file; a restore into an empty database
serves the same memories and audit log; the off-site copy carries the dump. Needs the cluster of
Tests/pg_cluster.sh (skipped otherwise)."""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import urllib.parse
import uuid

import pytest

from conftest import BIN, PG_OWNER_URL, EngramServer, pg_database, requires_postgres
import helpers
from helpers import http

pytestmark = requires_postgres


def engram(*args, env):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300, env=env)


def psql(url, sql):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def scratch_databases():
    return psql(PG_OWNER_URL, "SELECT datname FROM pg_database WHERE datname LIKE 'engram_verify_%'").split()


def without_metadata(env):
    return {k: v for k, v in env.items() if k not in ("ENGRAM_METADATA", "ENGRAM_METADATA_OWNER")}


def add_through_mcp(server, user, token, texts):
    return helpers.add_memories_through_mcp(server, user, token, texts)


@pytest.fixture(scope="module")
def pg_server():
    """A server whose metadata lives in a fresh PostgreSQL database, with canary memories written through
    MCP (encrypted at rest: conftest sets ENGRAM_ENCRYPTION_KEY), one of them edited (a second version),
    and a backup of it."""
    app, owner = pg_database("backup")
    server = EngramServer("pg-backup", ENGRAM_METADATA=app, ENGRAM_METADATA_OWNER=owner)
    server.pg_app_url, server.pg_owner_url = app, owner
    server.start()
    token = server.token("ada", org="acme", role="owner")
    subjects = ["the payments service deploys through the green pool", "release notes are drafted on Thursdays",
                "the staging database is refreshed every Monday"]
    canaries = [f"Canary {uuid.uuid4().hex}: {s}" for s in subjects]
    ids = add_through_mcp(server, "ada", token, canaries)
    edited = canaries[1] + " (edited)"
    status, _, body = http("PATCH", f"{server.url}/v1/memories/{ids[1]}", {"content": edited}, token=token)
    assert status == 200, body
    backup = pathlib.Path(tempfile.mkdtemp(prefix="engram-pgbk-")) / "b1"
    out = engram("backup", "--out", str(backup), "--data-dir", str(server.data), env=server.env)
    assert out.returncode == 0, out.stdout + out.stderr
    try:
        yield {"server": server, "token": token, "ids": ids, "canaries": [*canaries, edited], "backup": backup,
               "output": out.stdout + out.stderr}
    finally:
        server.stop()


def test_backup_holds_the_dump_and_its_drill_passes(pg_server):
    backup, output = pg_server["backup"], pg_server["output"]
    manifest = json.loads((backup / "manifest.json").read_text())
    assert [f["name"] for f in manifest["files"]] == ["engram.sqlite", "metadata.pgdump"]
    dump = manifest["postgres"]
    assert dump["file"] == "metadata.pgdump" and dump["schema"] == "engram"
    assert dump["owner"] == urllib.parse.urlsplit(pg_server["server"].pg_owner_url).username
    assert dump["tables"]["memory_versions"] >= 4, dump["tables"]  # three memories and one edit
    assert dump["tables"]["audit_log"] >= 1 and dump["tables"]["members"] >= 1
    assert (backup / "metadata.pgdump").read_bytes()[:5] == b"PGDMP"
    # The backup ran the drill on the owner's server (it has CREATEDB in the test cluster).
    assert "pg restore drill" in output and "SKIPPED" not in output, output
    assert scratch_databases() == [], "the scratch database is dropped"

    env = without_metadata(pg_server["server"].env)
    r = engram("verify", str(backup), "--scratch", pg_server["server"].pg_owner_url, env=env)
    assert r.returncode == 0 and "backup OK" in r.stdout, r.stdout + r.stderr
    assert "ok   pg_dump archive" in r.stdout and "ok   pg restore drill: restored into a scratch database" in r.stdout
    counts = " ".join(f"{k}={v}" for k, v in sorted(dump["tables"].items()))
    assert counts in r.stdout, "the scratch database's counts are the manifest's"
    assert scratch_databases() == []
    # Without a scratch server the drill is skipped, loudly, and the other gates still pass.
    r = engram("verify", str(backup), env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pg restore drill: SKIPPED" in r.stdout and "restore drill was skipped" in r.stderr


def damaged_copy(backup, name):
    d = pathlib.Path(tempfile.mkdtemp(prefix="engram-pgbk-dmg-")) / name
    shutil.copytree(backup, d)
    return d, d / "metadata.pgdump", d / "manifest.json"


def test_a_flipped_byte_in_the_dump_fails_the_checksum(pg_server):
    d, dump, _ = damaged_copy(pg_server["backup"], "flipped")
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    r = engram("verify", str(d), "--scratch", pg_server["server"].pg_owner_url, env=without_metadata(os.environ))
    assert r.returncode != 0 and "BACKUP VERIFICATION FAILED" in r.stderr
    assert "FAIL sha256 metadata.pgdump" in r.stdout, r.stdout
    assert scratch_databases() == []


def test_a_truncated_dump_with_a_matching_manifest_fails_the_restore_gates(pg_server):
    d, dump, manifest_path = damaged_copy(pg_server["backup"], "truncated")
    data = dump.read_bytes()[: (dump.stat().st_size * 2) // 3]
    dump.write_bytes(data)
    manifest = json.loads(manifest_path.read_text())
    for f in manifest["files"]:
        if f["name"] == "metadata.pgdump":
            f["bytes"], f["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    r = engram("verify", str(d), "--scratch", pg_server["server"].pg_owner_url, env=without_metadata(os.environ))
    assert r.returncode != 0 and "BACKUP VERIFICATION FAILED" in r.stderr, r.stdout
    assert "ok   sha256 metadata.pgdump" in r.stdout, "the checksum matches the forged manifest"
    assert "FAIL pg_dump archive" in r.stdout or "FAIL pg restore drill" in r.stdout, r.stdout
    assert scratch_databases() == [], "the scratch database is dropped after a failed restore too"


def test_canaries_never_appear_in_plaintext_in_the_dump_or_the_sqlite_file(pg_server):
    backup = pg_server["backup"]
    # The custom format compresses table data: read the dump's plain SQL (with every row) as well.
    script = subprocess.run(["pg_restore", "-f", "-", str(backup / "metadata.pgdump")], capture_output=True, timeout=120)
    assert script.returncode == 0, script.stderr
    assert pg_server["ids"][0].encode() in script.stdout, "the rows are readable in the script (the check can see)"
    for needle in pg_server["canaries"]:
        for blob, where in [(script.stdout, "the dump's SQL"), ((backup / "metadata.pgdump").read_bytes(), "metadata.pgdump"),
                            ((backup / "engram.sqlite").read_bytes(), "engram.sqlite")]:
            assert needle.encode() not in blob, f"plaintext in {where}"


def test_restore_into_an_empty_database_serves_the_same_memories_and_audit(pg_server):
    server, backup, token = pg_server["server"], pg_server["backup"], pg_server["token"]
    app2, owner2 = pg_database("restored")
    target = pathlib.Path(tempfile.mkdtemp(prefix="engram-pgrestored-")) / "data"
    env = without_metadata(server.env)
    r = engram("restore", str(backup), "--to", str(target), env=env)
    assert r.returncode != 0 and "--metadata-to" in r.stderr, "a PostgreSQL backup needs --metadata-to"
    assert not (target / "engram.sqlite").exists(), "nothing was restored"
    r = engram("restore", str(backup), "--to", str(target), "--metadata-to", owner2, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PostgreSQL metadata restored" in r.stdout
    other = pathlib.Path(tempfile.mkdtemp(prefix="engram-pgrestored-")) / "data"
    r = engram("restore", str(backup), "--to", str(other), "--metadata-to", owner2, env=env)
    assert r.returncode != 0 and "already has a schema engram" in r.stderr, "a restore never overwrites metadata"
    assert not (other / "engram.sqlite").exists()

    status, _, before = http("GET", f"{server.url}/v1/admin/audit?limit=50", token=token)
    assert status == 200, before
    copy = EngramServer("pg-restored", ENGRAM_METADATA=app2, ENGRAM_METADATA_OWNER=owner2)
    copy.data = target
    copy.start()
    try:
        for mid, text in zip(pg_server["ids"], [pg_server["canaries"][0], pg_server["canaries"][3], pg_server["canaries"][2]]):
            status, _, body = http("GET", f"{copy.url}/v1/memories/{mid}", token=token)
            assert status == 200 and body["memory"]["content"] == text, mid
        status, _, after = http("GET", f"{copy.url}/v1/admin/audit?limit=50", token=token)
        assert status == 200, after
        assert after == before, "the restored audit log is the original's"
    finally:
        copy.stop()


try:
    from test_offsite import BUCKET, PREFIX, moto, offsite_env  # noqa: F401  (moto is a fixture)
    HAVE_MOTO = True
except ImportError:  # boto3 or moto missing: the off-site test is skipped
    HAVE_MOTO = False


@pytest.mark.skipif(not HAVE_MOTO, reason="boto3/moto not installed")
def test_the_offsite_copy_carries_the_dump_and_restores_it(pg_server, moto):
    server = pg_server["server"]
    local = pathlib.Path(tempfile.mkdtemp(prefix="engram-pgbk-offsite-")) / "b"
    env = dict(offsite_env(moto), ENGRAM_METADATA=server.pg_app_url, ENGRAM_METADATA_OWNER=server.pg_owner_url)
    r = engram("backup", "--out", str(local), "--offsite", f"s3://{BUCKET}/{PREFIX}-pg", "--data-dir", str(server.data), env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "metadata.pgdump" in r.stdout and "locked" in r.stdout
    manifest = json.loads((local / "manifest.json").read_text())
    folder = [line.split()[2] for line in r.stdout.splitlines() if line.startswith("off-site copy ")]
    assert folder, r.stdout
    _, owner3 = pg_database("offsite")
    target = pathlib.Path(tempfile.mkdtemp(prefix="engram-pgbk-offsite-")) / "data"
    r = engram("restore", "--offsite", folder[0].rstrip(":"), "--to", str(target), "--metadata-to", owner3,
               env=without_metadata(offsite_env(moto)))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "metadata.pgdump" in r.stdout and "PostgreSQL metadata restored" in r.stdout
    counts = psql(owner3, "SELECT count(*) FROM engram.memory_versions")
    assert int(counts) == manifest["postgres"]["tables"]["memory_versions"]
