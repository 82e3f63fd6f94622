"""The Qdrant-compatible API (issue 8): qdrant-client conformance, auth, the secret filter on
memory collections, and snapshot create -> download -> restore.

Needs `pip install qdrant-client==1.20.0` (it brings httpx) and the team's `../shared/qdrant/`
beside the repository.
"""
import math
import re
import secrets
import subprocess
import sys
import time

import httpx
import pytest

import helpers
from conftest import REPO, start_with_qdrant_listener

CONFORMANCE = REPO.parent / "shared" / "qdrant" / "qdrant_conformance.py"
API_KEY = "qdrant-it-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def qdrant():
    """A server with ENGRAM_QDRANT_API_KEY set and the Qdrant API on its own free port."""
    s = start_with_qdrant_listener("qdrant", API_KEY)
    yield s
    s.q.close()
    s.stop()


def test_conformance_with_qdrant_client(qdrant):
    assert CONFORMANCE.exists(), f"{CONFORMANCE} is missing (the team's ../shared/qdrant beside the repository)"
    out = subprocess.run([sys.executable, str(CONFORMANCE), "--url", qdrant.qdrant_url, "--api-key", API_KEY],
                         capture_output=True, text=True, timeout=900)
    summary = re.findall(r"^(\d+) passed, (\d+) failed$", out.stdout, re.M)
    failures = [line for line in out.stdout.splitlines() if line.startswith("FAIL")]
    assert summary, f"no summary line; exit {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    passed, failed = map(int, summary[-1])
    assert failed == 0 and out.returncode == 0, "\n".join(failures) or out.stdout[-3000:]
    assert passed >= 140, out.stdout[-3000:]
    assert not any(line.startswith("SKIP") for line in out.stdout.splitlines()), "snapshots must not be skipped"


def test_root_reports_the_emulated_version_without_a_key(qdrant):
    r = httpx.get(qdrant.qdrant_url + "/")
    assert r.status_code == 200
    body = r.json()
    assert body["title"] == "qdrant - vector search engine" and body["version"].startswith("1.")


def test_api_key_is_required(qdrant):
    url = qdrant.qdrant_url + "/collections"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"api-key": API_KEY + "x"}).status_code == 403
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert httpx.get(url, headers={"api-key": API_KEY}).status_code == 200
    r = httpx.get(url, headers={"Authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 200 and r.json()["status"] == "ok"
    # The main listener does not serve the Qdrant API.
    assert httpx.get(qdrant.url + "/collections", headers={"api-key": API_KEY}).status_code == 404


def test_error_envelope(qdrant):
    r = qdrant.q.get("/collections/no_such_collection_here")
    assert r.status_code == 404
    body = r.json()
    assert body["status"]["error"] == "Not found: Collection `no_such_collection_here` doesn't exist!"
    assert isinstance(body["time"], float)
    r = qdrant.q.put("/collections/bad_json", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["status"]["error"].startswith("Format error in JSON body")


def test_secret_in_memory_collection_is_rejected_and_not_stored(qdrant):
    q = qdrant.q
    c = "memories_qdrant_it"
    q.delete(f"/collections/{c}")
    assert q.put(f"/collections/{c}", json={"vectors": {"size": 4, "distance": "Cosine"}}).json()["result"] is True
    token = helpers.fake_github_token()
    text = f"the release job pushes with {token} as its credential"
    r = q.put(f"/collections/{c}/points?wait=true",
              json={"points": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4], "payload": {"data": "clean note"}},
                               {"id": 2, "vector": [0.4, 0.3, 0.2, 0.1], "payload": {"data": "x", "meta": {"notes": [text]}}}]})
    assert r.status_code == 400, r.text
    err = r.json()["status"]["error"]
    assert "secret" in err and "github" in err.lower() and "meta.notes" in err
    assert token not in r.text, "the rejection must never echo the secret"
    assert q.post(f"/collections/{c}/points/count", json={"exact": True}).json()["result"]["count"] == 0, \
        "a rejected batch writes nothing"
    # Columnar body, set_payload and overwrite_payload are filtered too.
    r = q.put(f"/collections/{c}/points?wait=true",
              json={"batch": {"ids": [3], "vectors": [[1, 0, 0, 0]], "payloads": [{"data": text}]}})
    assert r.status_code == 400 and token not in r.text
    assert q.put(f"/collections/{c}/points?wait=true",
                 json={"points": [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4], "payload": {"data": "clean note"}}]}).status_code == 200
    for method, path in (("POST", "points/payload"), ("PUT", "points/payload")):
        r = q.request(method, f"/collections/{c}/{path}?wait=true", json={"payload": {"data": text}, "points": [1]})
        assert r.status_code == 400 and token not in r.text
    got = q.post(f"/collections/{c}/points", json={"ids": [1, 2, 3], "with_payload": True}).json()["result"]
    assert got == [{"id": 1, "payload": {"data": "clean note"}, "vector": None}]
    scrolled = q.post(f"/collections/{c}/points/scroll", json={"limit": 100}).text
    assert token not in scrolled
    # Collections outside the memory namespace are the operator's business: no filter there.
    other = "notes_qdrant_it"
    q.delete(f"/collections/{other}")
    q.put(f"/collections/{other}", json={"vectors": {"size": 4, "distance": "Cosine"}})
    assert q.put(f"/collections/{other}/points?wait=true",
                 json={"points": [{"id": 1, "vector": [1, 0, 0, 0], "payload": {"data": text}}]}).status_code == 200
    q.delete(f"/collections/{other}")
    assert token not in qdrant.log_path.read_text(errors="replace")


def test_snapshot_create_download_restore_round_trip(qdrant):
    q = qdrant.q
    c = "snap_qdrant_it"
    q.delete(f"/collections/{c}")
    assert q.put(f"/collections/{c}", json={"vectors": {"size": 4, "distance": "Cosine"},
                                           "sparse_vectors": {"bm25": {"modifier": "idf"}}}).status_code == 200
    assert q.put(f"/collections/{c}/index?wait=true",
                 json={"field_name": "user_id", "field_schema": {"type": "keyword", "is_tenant": True}}).status_code == 200
    points = [{"id": i if i % 2 else f"00000000-0000-4000-8000-{i:012d}",
               "vector": {"": [math.sin(i * 1.7 + k) + 1.1 for k in range(4)],
                          "bm25": {"indices": [i % 5, 10 + i % 3], "values": [1.0 + i / 100, 0.5]}},
               "payload": {"user_id": f"u{i % 3}", "n": i, "tags": ["a", "b"][: i % 3]}} for i in range(1, 41)]
    assert q.put(f"/collections/{c}/points?wait=true", json={"points": points}).status_code == 200

    def state():
        scroll = q.post(f"/collections/{c}/points/scroll", json={"limit": 1000, "with_vector": True}).json()["result"]
        dense = q.post(f"/collections/{c}/points/query", json={"query": [0.3, 0.1, 0.4, 0.1], "limit": 5,
                                                                "with_payload": True}).json()["result"]
        sparse = q.post(f"/collections/{c}/points/query", json={"query": {"indices": [1, 11], "values": [1, 1]},
                                                                 "using": "bm25", "limit": 5}).json()["result"]
        def untied(result):  # equal scores may come back in another order after a restore
            return sorted(result["points"], key=lambda p: (-round(p["score"], 5), str(p["id"])))
        return scroll, untied(dense), untied(sparse)

    before = state()
    assert len(before[0]["points"]) == 40
    snap = q.post(f"/collections/{c}/snapshots?wait=true").json()["result"]
    assert snap["name"].endswith(".snapshot") and snap["size"] > 0
    assert snap["name"] in [s["name"] for s in q.get(f"/collections/{c}/snapshots").json()["result"]]
    download = q.get(f"/collections/{c}/snapshots/{snap['name']}")
    assert download.status_code == 200 and len(download.content) == snap["size"]
    assert download.content.startswith(b"SQLite format 3\x00")

    # Lose the collection, then restore it from the downloaded file (multipart upload, as qdrant-client does).
    assert q.delete(f"/collections/{c}").json()["result"] is True
    r = q.post(f"/collections/{c}/snapshots/upload?wait=true", files={"snapshot": (snap["name"], download.content)})
    assert r.status_code == 200 and r.json()["result"] is True, r.text
    assert state() == before
    info = q.get(f"/collections/{c}").json()["result"]
    assert info["points_count"] == 40 and "bm25" in info["config"]["params"]["sparse_vectors"]
    assert info["payload_schema"]["user_id"]["params"]["is_tenant"] is True

    # Recover into another collection (a file under DATA_DIR/snapshots), then roll `c` back by snapshot name.
    q.post(f"/collections/{c}/points/delete?wait=true", json={"points": [1, 3, 5]})
    copy = c + "_copy"
    q.delete(f"/collections/{copy}")
    r = q.put(f"/collections/{copy}/snapshots/recover", json={"location": f"file://{qdrant.data}/snapshots/{c}/{snap['name']}"})
    assert r.status_code == 200, r.text
    copied = q.post(f"/collections/{copy}/points/scroll", json={"limit": 1000, "with_vector": True}).json()["result"]
    assert copied == before[0]
    assert q.post(f"/collections/{c}/points/count", json={}).json()["result"]["count"] == 37
    q.delete(f"/collections/{copy}")
    r = q.put(f"/collections/{c}/snapshots/recover", json={"location": snap["name"]})
    assert r.status_code == 200, r.text
    assert state() == before

    # A file outside the snapshots directory is refused.
    r = q.put(f"/collections/{c}/snapshots/recover", json={"location": "file:///etc/hostname"})
    assert r.status_code == 400
    # Garbage is refused and the collection stays as it was.
    r = q.post(f"/collections/{c}/snapshots/upload", files={"snapshot": ("x.snapshot", b"not a database")})
    assert r.status_code == 400 and state() == before

    assert q.delete(f"/collections/{c}/snapshots/{snap['name']}").json()["result"] is True
    assert q.delete(f"/collections/{c}/snapshots/{snap['name']}").status_code == 404
    assert q.get(f"/collections/{c}/snapshots/{snap['name']}").status_code == 404
    q.delete(f"/collections/{c}")


def test_memory_service_sees_writes_made_through_the_qdrant_api(qdrant):
    """A memory point written or deleted through the Qdrant API shows up in (or leaves) MCP/REST results."""
    import uuid
    token = qdrant.token("quinn")
    status, _, body = helpers.http("POST", qdrant.url + "/v1/memories", {"content": "Quinn keeps release notes in CHANGELOG.md"}, token=token)
    assert status == 201
    collection = qdrant.q.get("/collections").json()["result"]["collections"]
    name = next(c["name"] for c in collection if c["name"].startswith("memories_all_minilm"))
    existing = qdrant.q.post(f"/collections/{name}/points", json={"ids": [body["memory"]["id"]], "with_payload": True,
                                                                   "with_vector": True}).json()["result"][0]
    new_id = str(uuid.uuid4())
    payload = dict(existing["payload"], content="Quinn tags releases from the main branch only",
                   content_hash="0" * 64)
    r = qdrant.q.put(f"/collections/{name}/points?wait=true", json={"points": [{"id": new_id, "vector": existing["vector"], "payload": payload}]})
    assert r.status_code == 200, r.text
    deadline = time.time() + 10
    while time.time() < deadline:
        status, _, got = helpers.http("GET", f"{qdrant.url}/v1/memories/{new_id}", token=token)
        if status == 200:
            break
        time.sleep(0.1)
    assert status == 200 and got["memory"]["content"].startswith("Quinn tags releases")
    qdrant.q.post(f"/collections/{name}/points/delete?wait=true", json={"points": [new_id]})
    deadline = time.time() + 10
    while time.time() < deadline and helpers.http("GET", f"{qdrant.url}/v1/memories/{new_id}", token=token)[0] == 200:
        time.sleep(0.1)
    assert helpers.http("GET", f"{qdrant.url}/v1/memories/{new_id}", token=token)[0] == 404


def test_deleting_the_memory_collection_through_the_qdrant_api_recovers(qdrant):
    token = qdrant.token("ursula")
    assert helpers.http("POST", qdrant.url + "/v1/memories", {"content": "Ursula's note before the wipe"}, token=token)[0] == 201
    names = [c["name"] for c in qdrant.q.get("/collections").json()["result"]["collections"] if c["name"].startswith("memories_all_minilm")]
    assert qdrant.q.delete(f"/collections/{names[0]}").status_code == 200
    deadline = time.time() + 10
    while time.time() < deadline:
        status, _, body = helpers.http("GET", qdrant.url + "/v1/memories", token=token)
        if status == 200 and body["memories"] == []:
            break
        time.sleep(0.1)
    assert body["memories"] == []
    status, _, body = helpers.http("POST", qdrant.url + "/v1/memories", {"content": "Ursula's note after the wipe"}, token=token)
    assert status == 201, body
    status, _, body = helpers.http("GET", qdrant.url + "/v1/memories/search?q=note+after+the+wipe", token=token)
    assert body["results"][0]["memory"]["content"] == "Ursula's note after the wipe"
