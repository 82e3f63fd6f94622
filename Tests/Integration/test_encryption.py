"""Encryption at rest: MCP canaries never reach the disk in plaintext (database, WAL, backups, exports),
a wrong or missing key stops the server with a clear message, one altered byte is detected, and a key
rotation stopped half-way completes when run again, with the server serving throughout."""
import asyncio
import base64
import os
import pathlib
import shutil
import sqlite3
import subprocess
import tempfile
import uuid

import pytest

from conftest import BIN, EngramServer
from helpers import SENT, http, mcp_session, structured


def new_key():
    key = base64.b64encode(os.urandom(32)).decode()
    SENT.add(key)
    return key


def files_under(path):
    for p in pathlib.Path(path).rglob("*"):
        if p.is_file():
            yield p


def holds(path, needle: str):
    data = needle.encode()
    return [str(p) for p in files_under(path) if data in p.read_bytes()]


def run(server, *args, env=None, input=None):
    return subprocess.run([BIN, *args], env=env or server.env, capture_output=True, text=True, timeout=300, input=input)


def add_through_mcp(server, user, token, texts):
    async def go():
        async with mcp_session(server, user, token) as s:
            ids = []
            for t in texts:
                r = await s.call_tool("add_memory", {"content": t, "tags": ["canary"]})
                ids.append(structured(r)["memory"]["id"])
            found = await s.call_tool("search_memories", {"query": texts[0], "limit": 3})
            return ids, structured(found)
    return asyncio.run(go())


def wait_exit(server, timeout=60):
    try:
        return server.proc.wait(timeout=timeout)
    finally:
        server.log.close()


@pytest.fixture(scope="module")
def sealed():
    key = new_key()
    s = EngramServer("sealed", ENGRAM_ENCRYPTION_KEY=key).start()
    yield s, key
    s.stop()


def test_canaries_never_reach_the_disk_in_plaintext(sealed):
    server, key = sealed
    token = server.token("ada", org="acme", role="owner")
    subjects = ["deploys of the billing service go through the blue pool", "the search index is rebuilt every Sunday night",
                "integration tests need the fake clock enabled"]
    canaries = [f"Canary {uuid.uuid4().hex}: {s}" for s in subjects]
    ids, found = add_through_mcp(server, "ada", token, canaries)
    assert canaries[0] in [r["memory"]["content"] for r in found["results"]], "the memory is served in plaintext"
    status, _, ready = http("GET", f"{server.url}/readyz")
    assert status == 200 and ready["encryption"].startswith("on (key ") and key not in ready["encryption"]
    # A change makes a second version (a sealed snapshot too).
    edited = canaries[1] + " (edited)"
    status, _, body = http("PATCH", f"{server.url}/v1/memories/{ids[1]}", {"content": edited}, token=token)
    assert status == 200, body
    secret = "whsec-" + uuid.uuid4().hex
    SENT.add(secret)
    status, _, body = http("PUT", f"{server.url}/v1/admin/webhook-secret", {"secret": secret}, token=token)
    assert status == 204, body
    # The database, its WAL (read before any checkpoint) and the shared-memory file.
    for needle in [*canaries, edited, secret]:
        assert holds(server.data, needle) == [], "plaintext on disk"
    assert any(p.name.endswith("-wal") for p in files_under(server.data)), "the WAL was read too"
    # A backup and an export hold ciphertext only; --decrypt writes plaintext on purpose.
    work = pathlib.Path(tempfile.mkdtemp(prefix="engram-enc-"))
    r = run(server, "backup", "--out", str(work / "b"), "--data-dir", str(server.data))
    assert r.returncode == 0, r.stderr
    r = run(server, "export", "--out", str(work / "x.jsonl"), "--data-dir", str(server.data))
    assert r.returncode == 0, r.stderr
    for needle in [*canaries, edited, secret]:
        assert holds(work, needle) == [], "plaintext in a backup or export"
    (work / "plain").mkdir()
    r = run(server, "export", "--decrypt", "--out", str(work / "plain" / "x.jsonl"), "--data-dir", str(server.data))
    assert r.returncode == 0, r.stderr
    assert holds(work / "plain", canaries[0]), "--decrypt exports plaintext"
    # The sealed export imports into another data directory holding the same key, not without it.
    target = work / "imported"
    r = run(server, "import", "--in", str(work / "x.jsonl"), "--data-dir", str(target))
    assert r.returncode == 0 and "imported 3" in r.stdout, r.stdout + r.stderr
    assert holds(target, canaries[2]) == []
    r = run(server, "import", "--in", str(work / "x.jsonl"), "--data-dir", str(work / "nokey"),
            env=dict(server.env, ENGRAM_ENCRYPTION_KEY=""))
    assert r.returncode != 0 and "encrypted" in r.stderr, r.stderr
    # The restored backup serves the memories under the same key.
    restored = work / "restored"
    r = run(server, "restore", str(work / "b"), "--to", str(restored))
    assert r.returncode == 0, r.stderr
    copy = EngramServer("sealed-restored", ENGRAM_ENCRYPTION_KEY=key)
    copy.data = restored
    copy.start()
    try:
        status, _, body = http("GET", f"{copy.url}/v1/memories/{ids[0]}", token=token)
        assert status == 200 and body["memory"]["content"] == canaries[0]
    finally:
        copy.stop()


def test_missing_or_wrong_key_is_a_clear_start_up_error(sealed):
    server, _ = sealed
    work = pathlib.Path(tempfile.mkdtemp(prefix="engram-enc-keys-"))
    r = run(server, "backup", "--out", str(work / "b"), "--data-dir", str(server.data))
    assert r.returncode == 0, r.stderr
    assert run(server, "restore", str(work / "b"), "--to", str(work / "d")).returncode == 0
    for name, key, expected in [("nokey", "", "ENGRAM_ENCRYPTION_KEY is not set"), ("wrongkey", new_key(), "does not fit")]:
        s = EngramServer(name, ENGRAM_ENCRYPTION_KEY=key)
        s.data = work / "d"
        with pytest.raises(RuntimeError):
            s.start()
        s.log.close()
        log = s.log_path.read_text()
        assert expected in log and "refusing to start" in log, log[-2000:]
    r = run(server, "keys", "status", "--data-dir", str(work / "d"), env=dict(server.env, ENGRAM_ENCRYPTION_KEY=new_key()))
    assert r.returncode != 0 and "does not fit" in r.stderr


def test_one_altered_byte_is_detected_and_withholds_that_memory_only(sealed):
    server, key = sealed
    token = server.token("tamper", org=None)
    ids = []
    for text in ("Tamper check: the cache warms at boot", "Tamper check: the queue drains hourly"):
        status, _, body = http("POST", f"{server.url}/v1/memories", {"content": text}, token=token)
        assert status in (200, 201), body
        ids.append(body["memory"]["id"])
    altered, kept = ids
    work = pathlib.Path(tempfile.mkdtemp(prefix="engram-enc-tamper-"))
    assert run(server, "backup", "--out", str(work / "b"), "--data-dir", str(server.data)).returncode == 0
    assert run(server, "restore", str(work / "b"), "--to", str(work / "d")).returncode == 0
    db = sqlite3.connect(work / "d" / "engram.sqlite")
    rowid, payload = db.execute("SELECT rowid, payload FROM points WHERE tenant = 'user:tamper' AND pid = ?", ("u" + altered,)).fetchone()
    assert payload[:4] == b"\x00EA\x01", "payloads are sealed"
    flipped = bytearray(payload)
    flipped[len(flipped) // 2] ^= 0x01
    db.execute("UPDATE points SET payload = ? WHERE rowid = ?", (bytes(flipped), rowid))
    db.commit()
    db.close()
    # The altered value is detected (never served as garbage) and withholds that one memory: the server
    # starts and serves every other memory; the log names the point, never its content.
    s = EngramServer("tampered", ENGRAM_ENCRYPTION_KEY=key)
    s.data = work / "d"
    s.start()
    try:
        assert http("GET", f"{s.url}/v1/memories/{altered}", token=token)[0] == 404
        status, _, body = http("GET", f"{s.url}/v1/memories/{kept}", token=token)
        assert status == 200 and body["memory"]["content"] == "Tamper check: the queue drains hourly", body
    finally:
        s.stop()
    log = s.log_path.read_text()
    assert "does not open (altered or moved)" in log and altered in log
    assert "the cache warms at boot" not in log


def test_rotation_stopped_midway_then_run_again_completes(tmp_path):
    old = new_key()
    s = EngramServer("rotate", ENGRAM_ENCRYPTION_KEY="").start()
    token = s.token("rita", org="rot", role="owner")
    topics = ["the payments queue drains hourly", "logs rotate at midnight", "the cache is warmed at boot",
              "releases are tagged from main", "migrations run before deploys", "feature flags live in Consul",
              "the staging database resets nightly", "on-call hands over on Mondays"]
    texts = [f"Rotation memory {uuid.uuid4().hex}: {t}" for t in topics]
    try:
        # Four memories from before encryption was turned on, four sealed under the old key.
        assert http("GET", f"{s.url}/readyz")[2]["encryption"] == "off"
        for t in texts[:4]:
            assert http("POST", f"{s.url}/v1/memories", {"content": t}, token=token)[0] in (200, 201)
        status, _, body = http("PUT", f"{s.url}/v1/admin/webhook-secret", {"secret": "x" * 20}, token=token)
        assert status == 409 and "ENGRAM_ENCRYPTION_KEY" in body["error"]["message"], "no secret stored unencrypted"
    finally:
        s.stop()
    s.env["ENGRAM_ENCRYPTION_KEY"] = old
    s.start()
    try:
        for t in texts[4:]:
            assert http("POST", f"{s.url}/v1/memories", {"content": t}, token=token)[0] in (200, 201)
    finally:
        s.stop()
    assert holds(s.data, texts[0]), "memories from before the key stay plaintext until a rotation"
    # The server runs with the new key and the old one as previous, and keeps serving while the rotation runs.
    new = new_key()
    s.env.update(ENGRAM_ENCRYPTION_KEY=new, ENGRAM_ENCRYPTION_KEY_PREVIOUS=old)
    s.start()
    try:
        r = run(s, "keys", "rotate", "--stop-after", "3", "--batch", "2", "--data-dir", str(s.data))
        assert r.returncode == 0 and "stopped after 3" in r.stdout, r.stdout + r.stderr
        status, _, body = http("GET", f"{s.url}/v1/memories/search?q=rotation+memory&limit=10", token=token)
        assert status == 200 and len(body["results"]) == 8, "served during the rotation"
        r = run(s, "keys", "rotate", "--data-dir", str(s.data))
        assert r.returncode == 0 and "done" in r.stdout, r.stdout + r.stderr
        r = run(s, "keys", "status", "--data-dir", str(s.data))
        assert r.returncode == 0 and "other=0 plaintext=0" in r.stdout and "plaintext=1" not in r.stdout, r.stdout
    finally:
        s.stop()
    for t in texts:
        assert holds(s.data, t) == []
    # The new key alone now opens everything; the old one alone is refused.
    s.env.pop("ENGRAM_ENCRYPTION_KEY_PREVIOUS")
    s.start()
    try:
        status, _, body = http("GET", f"{s.url}/v1/memories/search?q=rotation+memory&limit=10", token=token)
        assert status == 200 and sorted(r["memory"]["content"] for r in body["results"]) == sorted(texts)
    finally:
        s.stop()
    s.env["ENGRAM_ENCRYPTION_KEY"] = old
    with pytest.raises(RuntimeError):
        s.start()
    s.log.close()
