"""Export → import round trip (identical memories, vectors, search results), dedup on re-import,
secret scan on import, and a verified migration to a remote Qdrant (the team's stand-in)."""
import gzip
import json
import os
import pathlib
import subprocess
import tempfile

from conftest import BIN, EngramServer, free_port
from helpers import fake_github_token, http
from test_remote_store import start_stub

TEXTS = {
    "ivan": ["Ivan's services log in logfmt, not JSON", "Ivan prefers small pull requests with one concern each",
             "The payment retries use idempotency keys", "Cron jobs run in UTC on the ops box"],
    "judy": ["Judy's frontend uses pnpm workspaces", "Storybook stories live beside their components"],
}
QUERIES = ["how are logs formatted", "package manager for the web app", "when do scheduled jobs run", "retrying payments safely"]


def cli(*args, data=None, env=None):
    cmd = [BIN, *args] + (["--data-dir", str(data)] if data else [])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env or dict(os.environ))


def snapshot(server, tokens):
    out = {}
    for user, token in tokens.items():
        status, _, body = http("GET", f"{server.url}/v1/memories?limit=100", token=token)
        mems = sorted(body["memories"], key=lambda m: m["id"])
        searches = []
        for q in QUERIES:
            status, _, r = http("GET", f"{server.url}/v1/memories/search?q={q.replace(' ', '+')}&limit=3", token=token)
            searches.append([(x["memory"]["id"], round(x["similarity"], 5)) for x in r["results"]])
        out[user] = ([(m["id"], m["content"], m["state"], m["tags"], m["created_at"], m["content_hash"]) for m in mems], searches)
    return out


def test_export_import_round_trip_and_migration():
    a = EngramServer("transfer-a")
    a.start()
    try:
        tokens_a = {u: a.token(u, org="xfer") for u in TEXTS}
        for user, texts in TEXTS.items():
            for t in texts:
                assert http("POST", a.url + "/v1/memories", {"content": t, "tags": [user]}, token=tokens_a[user])[0] == 201
        before = snapshot(a, tokens_a)
        work = pathlib.Path(tempfile.mkdtemp())
        # Plaintext exports (--decrypt) compare byte for byte; test_encryption.py covers sealed ones.
        r = cli("export", "--decrypt", "--out", str(work / "all.jsonl.gz"), data=a.data, env=a.env)
        assert r.returncode == 0 and "exported 6 memories" in r.stdout, r.stderr
    finally:
        a.stop()

    # Import into a fresh store and serve it.
    b = EngramServer("transfer-b")
    r = cli("import", "--in", str(work / "all.jsonl.gz"), data=b.data, env=b.env)
    assert r.returncode == 0 and "imported 6" in r.stdout, r.stdout + r.stderr
    r = cli("import", "--in", str(work / "all.jsonl.gz"), data=b.data, env=b.env)
    assert "imported 0, skipped 6" in r.stdout, "re-import must skip duplicates"
    # Exported again before anything reads it (searches add usage): the same bytes, versions,
    # provenance and usage included.
    r = cli("export", "--decrypt", "--out", str(work / "again.jsonl"), data=b.data, env=b.env)
    first = sorted(gzip.open(work / "all.jsonl.gz", "rt").read().splitlines())
    second = sorted(open(work / "again.jsonl").read().splitlines())
    assert first == second, "vectors or fields changed in the round trip"
    assert all(json.loads(l)["versions"] for l in first), "every exported memory carries its versions"
    b.start()
    try:
        tokens_b = {u: b.token(u, org="xfer") for u in TEXTS}
        after = snapshot(b, tokens_b)
        assert after == before, "memories, order, scores or search results differ after the round trip"
    finally:
        b.stop()

    # A secret smuggled into an import file is refused; the rest imports.
    lines = [json.loads(l) for l in first]
    bad = json.loads(json.dumps(lines[0]))
    bad["memory"]["id"] = "11111111-2222-3333-4444-555555555555"
    bad["memory"]["content"] = "deploy with " + fake_github_token()
    with open(work / "with-secret.jsonl", "w") as f:
        f.write(json.dumps(bad) + "\n" + json.dumps(lines[1]) + "\n")
    fresh = pathlib.Path(tempfile.mkdtemp())
    r = cli("import", "--in", str(work / "with-secret.jsonl"), data=fresh, env=b.env)
    assert "imported 1" in r.stdout and "rejected 1" in r.stdout, r.stdout

    # Migration to a remote Qdrant, verified by counts and checksums.
    port = free_port()
    stub = start_stub(port)
    try:
        r = cli("migrate", "--from", "embedded", "--to", f"qdrant://127.0.0.1:{port}", data=b.data, env=b.env)
        assert r.returncode == 0 and "counts and checksums match" in r.stdout, r.stdout + r.stderr
        r = cli("export", "--decrypt", "--store", f"qdrant://127.0.0.1:{port}", "--out", str(work / "remote.jsonl"), env=b.env)
        remote = [json.loads(l) for l in sorted(open(work / "remote.jsonl").read().splitlines())]
        local = [json.loads(l) for l in first]
        assert [x["memory"] for x in remote] == [x["memory"] for x in local]
        for x, y in zip(remote, local):  # Qdrant renormalises cosine vectors: equal to float precision
            assert max(abs(p - q) for p, q in zip(x["vector"], y["vector"])) < 1e-6
    finally:
        stub.kill()
