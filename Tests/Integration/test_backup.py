"""Backups: online backup while serving, integrity gates, the restore drill, and loud failure on damage."""
import os
import shutil
import subprocess
import tempfile

from conftest import BIN, EngramServer
from helpers import http


def engram(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120, env=env or dict(os.environ))


def test_backup_verify_restore_drill(server, tokens):
    ids = []
    for text in ["Backups are taken nightly at 02:00 UTC", "The restore drill runs every quarter", "Snapshots go to cold storage"]:
        status, _, body = http("POST", server.url + "/v1/memories", {"content": text, "tags": ["ops"]}, token=tokens["carol"])
        ids.append(body["memory"]["id"])
    out = os.path.join(tempfile.mkdtemp(), "b1")
    r = engram("backup", "--out", out, "--data-dir", str(server.data))  # while the server keeps serving
    assert r.returncode == 0, r.stderr
    r = engram("verify", out)
    assert r.returncode == 0 and "backup OK" in r.stdout and "integrity_check" in r.stdout
    restored = tempfile.mkdtemp(prefix="engram-restored-")
    shutil.rmtree(restored)
    r = engram("restore", out, "--to", restored)
    assert r.returncode == 0, r.stderr + r.stdout
    r = engram("restore", out, "--to", restored)
    assert r.returncode != 0 and "already exists" in r.stderr, "restore never overwrites a database"
    # A server on the restored data serves the same memories (same secret: the tokens stay valid).
    copy = EngramServer("restored")
    copy.data = __import__("pathlib").Path(restored)
    copy.start()
    try:
        for mid in ids:
            status, _, body = http("GET", f"{copy.url}/v1/memories/{mid}", token=tokens["carol"])
            assert status == 200, mid
        status, _, body = http("GET", f"{copy.url}/v1/memories/search?q=when+are+backups+taken", token=tokens["carol"])
        assert body["results"][0]["memory"]["id"] == ids[0]
    finally:
        copy.stop()


def test_damaged_backups_fail_loudly(server, tokens):
    http("POST", server.url + "/v1/memories", {"content": "A memory so the backup is not empty"}, token=tokens["carol"])
    base = tempfile.mkdtemp()
    good = os.path.join(base, "good")
    assert engram("backup", "--out", good, "--data-dir", str(server.data)).returncode == 0

    def damaged(name, damage):
        d = os.path.join(base, name)
        shutil.copytree(good, d)
        damage(os.path.join(d, "engram.sqlite"), os.path.join(d, "manifest.json"))
        return d

    def truncate(db, _):
        with open(db, "r+b") as f:
            f.truncate(os.path.getsize(db) // 3)

    def flip(db, _):
        with open(db, "r+b") as f:
            f.seek(os.path.getsize(db) // 2)
            b = f.read(64)
            f.seek(os.path.getsize(db) // 2)
            f.write(bytes(x ^ 0xFF for x in b))

    def tiny(db, _):
        with open(db, "wb") as f:
            f.write(b"SQLite format 3\x00")

    def manifest(_, m):
        text = open(m).read().replace('"points" : ', '"points" : 1').replace('"points": ', '"points": 1')
        open(m, "w").write(text)

    def missing(_, m):
        os.remove(m)

    for name, damage in [("truncated", truncate), ("flipped", flip), ("tiny", tiny), ("manifest", manifest), ("nomanifest", missing)]:
        d = damaged(name, damage)
        r = engram("verify", d)
        assert r.returncode == 1, name
        assert "BACKUP VERIFICATION FAILED" in r.stderr, name
        target = tempfile.mkdtemp()
        shutil.rmtree(target)
        r = engram("restore", d, "--to", target)
        assert r.returncode == 1 and not os.path.exists(os.path.join(target, "engram.sqlite")), name


def test_scheduled_backups_with_retention():
    import pathlib
    import time
    s = EngramServer("scheduled")
    backups = pathlib.Path(tempfile.mkdtemp(prefix="engram-sched-"))
    s.start("--backup-every", "1s", "--keep", "2", "--backup-dir", str(backups))
    try:
        token = s.token("sam")
        http("POST", s.url + "/v1/memories", {"content": "Scheduled backups keep the newest copies"}, token=token)
        deadline = time.time() + 30
        while time.time() < deadline and len(list(backups.glob("backup-*"))) < 2:
            time.sleep(0.5)
        time.sleep(2.5)
        dirs = sorted(backups.glob("backup-*"))
        assert 1 <= len(dirs) <= 2, dirs
        r = engram("verify", str(dirs[-1]))
        assert r.returncode == 0, r.stdout
    finally:
        s.stop()


def test_verify_names_a_malformed_owner_url_instead_of_skipping_the_drill(tmp_path):
    env = dict(os.environ, ENGRAM_METADATA_OWNER="postgres://owner@db:notaport/engram")
    out = subprocess.run([BIN, "verify", str(tmp_path)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "ENGRAM_METADATA_OWNER" in out.stderr and "invalid PostgreSQL URL" in out.stderr
