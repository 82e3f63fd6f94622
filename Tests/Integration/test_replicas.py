"""Three `engram serve` replicas over one PostgreSQL database and one Qdrant server (issue 20).

The deployment, all on 127.0.0.1: a fresh database of the test cluster (Tests/pg_cluster.sh; the module
is skipped without it), a Qdrant server, and three replicas. Every test runs twice, once per Qdrant
server: the team's stand-in (../shared/qdrant/qdrant_stub_server.py) with `--backend edge`, which executes
every request on Qdrant's own engine (qdrant-edge-py), and Engram's own Qdrant-compatible listener (a
fourth `engram serve --qdrant-listen`, API key required). The three
replicas, each with its own data directory and port, share the metadata (`ENGRAM_METADATA`,
`ENGRAM_METADATA_OWNER`) and the store (`ENGRAM_STORE=qdrant://…`). When `qdrant_edge` cannot be
imported the stand-in falls back to `--backend local` (qdrant-client's local mode, not Qdrant's engine)
and the run says so; `ENGRAM_REPLICA_QDRANT_BACKEND=local|edge` forces one.

What is checked, with a client spreading REST and MCP calls over the replicas:
- visibility: every acknowledged write is found by GET and by search on the two other replicas within a
  deadline (only a failure is bounded by time; the lag is printed: n, p50, p99, max), and at once on the
  replica that acknowledged it (read-your-writes);
- updates, deletes and an org draft's `finish` propagate;
- ranking: once the replicas hold the same memories, a search returns the same ids in the same order with
  the same scores on each (BM25 runs on each replica's postings, docs/replicas.md: Lexical search);
- isolation: another user, an org member and another org never see a personal memory on any replica;
  a token signed with another secret is refused (401) and another user's MCP endpoint too (403);
- restart: a replica stopped with SIGTERM and started again on its data directory serves what was
  written while it was down, and every replica lists the same ids and content hashes;
- crash: 16 writers across the replicas while one replica at a time is killed with SIGKILL and started
  again (`ENGRAM_REPLICA_CRASHES` times, default 3): every acknowledged memory is on every replica
  exactly once, the replicas agree, and the outbox drains to zero;
- engine fault: Qdrant made unreachable (a TCP gate between the replicas and the stand-in refuses and cuts
  every connection) during writes: each write fails with a 5xx naming the store or is acknowledged; an update
  refused by Qdrant is queued in the outbox and reaches every replica once Qdrant is back; reads by id keep
  being served, searches and `/readyz` answer 503; nothing acknowledged or queued is lost.

Knobs: ENGRAM_REPLICA_VISIBILITY_WRITES (60), ENGRAM_REPLICA_DEADLINE (seconds, 10),
ENGRAM_REPLICA_CRASHES (3), ENGRAM_REPLICA_WRITERS (16). Every server logs to ENGRAM_TEST_OUTPUT
(server-replica-N.log; the stand-in to qdrant-stub-replicas.log).
"""
import hashlib
import importlib.util
import json
import os
import pathlib
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

import helpers
from conftest import (OUTPUT, REPO, EngramServer, free_port, make_jwt, pg_database, requires_postgres,
                      start_with_qdrant_listener)
from helpers import http, rpc

pytestmark = requires_postgres

SHARED = pathlib.Path(os.environ.get("SHARED", str(REPO.parent / "shared")))
STUB = SHARED / "qdrant" / "qdrant_stub_server.py"
DEADLINE = float(os.environ.get("ENGRAM_REPLICA_DEADLINE", "10"))
VISIBILITY_WRITES = int(os.environ.get("ENGRAM_REPLICA_VISIBILITY_WRITES", "60"))
CRASHES = int(os.environ.get("ENGRAM_REPLICA_CRASHES", "3"))
WRITERS = int(os.environ.get("ENGRAM_REPLICA_WRITERS", "16"))
# The target is 1 s; the hard bound is generous so a loaded machine does not fail the suite.
P99_BOUND = 2.0
POLL = 0.02


def qdrant_backend():
    forced = os.environ.get("ENGRAM_REPLICA_QDRANT_BACKEND")
    if forced:
        return forced
    return "edge" if importlib.util.find_spec("qdrant_edge") else "local"


# ---- texts: pseudo-words keep random texts far apart in embedding space (no near-duplicate merges) ----

_SYL = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "pe", "da", "go", "bu", "ze", "fi", "ho", "ja"]
_REAL = ("cache queue index shard tenant payload vector retry backoff deploy rollout schema migration latency "
         "throughput buffer socket thread lock channel stream parser lexer compiler linker bundle module package "
         "release branch commit merge review pipeline runner worker scheduler").split()
_VOCAB_RNG = random.Random(2020)
VOCAB = _REAL + ["".join(_VOCAB_RNG.choice(_SYL) for _ in range(_VOCAB_RNG.randint(2, 4))) for _ in range(3000)]


def marker(rng):
    """A pseudo-word no other text holds: a search for it finds one memory by BM25 alone."""
    return "qx" + "".join(rng.choice(_SYL) for _ in range(5))


def sentence(rng, n=10):
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def content_hash_of(m):
    return m.get("content_hash") or hashlib.sha256(m["content"].encode()).hexdigest()


# ---- the deployment ----

class QdrantStub:
    def __init__(self):
        self.backend = qdrant_backend()
        self.port = free_port()
        OUTPUT.mkdir(parents=True, exist_ok=True)
        self.log = open(OUTPUT / "qdrant-stub-replicas.log", "ab")
        self.proc = subprocess.Popen([sys.executable, str(STUB), "--backend", self.backend, "--port", str(self.port)],
                                     stdout=self.log, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Qdrant stand-in exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.time() > deadline:
                raise RuntimeError("the Qdrant stand-in did not come up in 60 s")
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class EngramQdrantHost:
    """Engram's own Qdrant-compatible listener as the replicas' Qdrant server: `engram serve --qdrant-listen`
    with an API key and the BM25-only memory domain (`ENGRAM_EMBEDDER=none`), so that its own memory
    collection (`memories_bm25`) is not the replicas' (`memories_all_minilm_l6_v2_384`, which it stores like
    any other collection: the secret filter applies, the memory rules of its own domain do not)."""

    backend = "engram"

    def __init__(self):
        self.key = "replica-store-" + uuid.uuid4().hex
        self.server = start_with_qdrant_listener("replica-qdrant-host", self.key, ENGRAM_EMBEDDER="none",
                                                 ENGRAM_MAX_CONNECTIONS_PER_IP="4096")
        self.url = self.server.qdrant_url
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self):
        self.server.q.close()
        self.server.stop()


class Gate:
    """A TCP relay from the replicas to the Qdrant stand-in that can be shut: `close()` stops accepting (new
    connections are refused) and cuts every relayed connection, as a Qdrant that went away; `open()` listens
    again on the same port."""

    def __init__(self, target_port):
        self.target = target_port
        self.port = free_port()
        self.lock = threading.Lock()
        self.conns = []
        self.listener = None
        self.open()

    def open(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(256)
        self.listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for x in (a, b):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for x in conns:
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            x.close()


class Cluster:
    """Three replicas on one database and one Qdrant (through `gate`); `tokens[user]` are issued by the CLI."""

    def __init__(self, stub):
        self.stub = stub
        self.gate = Gate(stub.port)
        self.app_url, self.owner_url = pg_database("replicas")
        env = dict(ENGRAM_METADATA=self.app_url, ENGRAM_METADATA_OWNER=self.owner_url,
                   ENGRAM_STORE=f"qdrant://127.0.0.1:{self.gate.port}")
        if getattr(stub, "key", None):
            env["ENGRAM_QDRANT_REMOTE_API_KEY"] = stub.key
        self.replicas = [EngramServer(f"replica-{i}", **env) for i in range(3)]
        self.tokens = {}
        self.seed = {}

    def token(self, user, org=None, role="member"):
        t = self.replicas[0].token(user, org=org, role=role)
        self.tokens[user] = t
        return t

    def stop(self):
        for r in self.replicas:
            r.stop()


def kill9(server):
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    server.log.close()


def restart(server):
    if getattr(server, "log", None) and not server.log.closed:
        server.log.close()
    server.start()


@pytest.fixture(scope="module", params=["stand-in", "engram"])
def cluster(request):
    """The deployment, once over the team's Qdrant stand-in and once over Engram's own Qdrant listener."""
    if request.param == "stand-in":
        if not STUB.exists():
            pytest.fail(f"the Qdrant stand-in is missing: {STUB} (set SHARED to the shared directory)")
        stub = QdrantStub()
        print(f"\nQdrant stand-in: --backend {stub.backend} on {stub.url}"
              + ("" if stub.backend == "edge" else " (qdrant_edge unavailable: qdrant-client local mode, NOT Qdrant's engine)"))
    else:
        stub = EngramQdrantHost()
        print(f"\nQdrant server: Engram's own Qdrant-compatible listener on {stub.url}")
    c = Cluster(stub)
    try:
        # One replica first: it migrates the database and creates the collection.
        c.replicas[0].start()
        c.token("alice", org="acme", role="member")
        c.token("bob", org="acme", role="member")
        c.token("carol", org="acme", role="admin")
        c.token("mallory", org="globex", role="owner")
        # Written before the other replicas start, so they load them from Qdrant whether or not they
        # follow the change feed: the isolation checks then never pass for want of the memory.
        rng = random.Random(7)
        word = marker(rng)
        m = add_rest(c.replicas[0], c.tokens["alice"], f"Alice keeps her personal dotfiles notes here {sentence(rng, 6)} {word}")
        c.seed["personal"] = (m["id"], word, m["content"])
        word = marker(rng)
        m = add_rest(c.replicas[0], c.tokens["alice"], f"The acme on-call rotation {sentence(rng, 6)} {word}",
                     scope="org", task_id="SEED-1")
        status, _, body = http("POST", f"{c.replicas[0].url}/v1/finish", {"task_id": "SEED-1"}, token=c.tokens["alice"])
        assert status == 200 and body["promoted"] == [m["id"]], body
        c.seed["org"] = (m["id"], word, m["content"])
        c.replicas[1].start()
        c.replicas[2].start()
        yield c
    finally:
        c.stop()
        stub.stop()


# ---- REST and MCP calls ----

def add_rest(r, token, content, **extra):
    status, _, body = http("POST", f"{r.url}/v1/memories", {"content": content, **extra}, token=token)
    assert status == 201 and body["status"] == "created", (r.name, status, body)
    return body["memory"]


def add_mcp(r, user, token, content, **extra):
    status, _, body = rpc(r, user, token, "tools/call", {"name": "add_memory", "arguments": {"content": content, **extra}})
    assert status == 200 and not body["result"]["isError"], (r.name, status, body)
    sc = body["result"]["structuredContent"]
    assert sc["status"] == "created", (r.name, sc)
    return sc["memory"]


def get(r, token, mid):
    status, _, body = http("GET", f"{r.url}/v1/memories/{mid}", token=token)
    return status, (body["memory"] if status == 200 else body)


def ranked(r, token, query, limit=10):
    """[(id, score)] of a search on replica `r`, best first."""
    status, _, body = http("GET", f"{r.url}/v1/memories/search?" + urllib.parse.urlencode({"q": query, "limit": limit}),
                           token=token)
    assert status == 200, (r.name, status, body)
    return [(h["memory"]["id"], h["score"]) for h in body["results"]]


def search_ids(r, token, query, limit=10):
    return [mid for mid, _ in ranked(r, token, query, limit)]


def list_all(r, token):
    """{id: (content_hash, content)} of every memory the token's user lists on replica `r` (paged by 100)."""
    out, cursor = {}, None
    while True:
        url = f"{r.url}/v1/memories?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        status, _, body = http("GET", url, token=token)
        assert status == 200, (r.name, status, body)
        for m in body["memories"]:
            assert m["id"] not in out, f"{r.name} listed {m['id']} twice"
            out[m["id"]] = (content_hash_of(m), m["content"])
        cursor = body["next_cursor"]
        if not cursor:
            return out


def visible(r, token, mid, word, content):
    status, m = get(r, token, mid)
    return status == 200 and m["content"] == content and mid in search_ids(r, token, word)


def wait_for(what, check, deadline=DEADLINE):
    """Polls `check()` until it is true; returns the seconds it took. Fails the test past the deadline."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > deadline:
            pytest.fail(f"{what}: not the case after {deadline:.0f} s")
        time.sleep(POLL)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def lag_line(lags):
    if not lags:
        return "replica visibility lag: n=0"
    return (f"replica visibility lag: n={len(lags)} p50={statistics.median(lags) * 1000:.0f} ms "
            f"p99={percentile(lags, 99) * 1000:.0f} ms max={max(lags) * 1000:.0f} ms")


def others(cluster, r):
    return [x for x in cluster.replicas if x is not r]


# ---- 1. visibility ----

def test_every_acknowledged_write_becomes_visible_on_every_replica(cluster):
    rng = random.Random(11)
    writers = [("alice", None), ("bob", None), ("carol", None), ("alice", "org"), ("bob", "org")]
    lags = []
    try:
        for i in range(VISIBILITY_WRITES):
            ack = cluster.replicas[i % 3]
            user, scope = writers[i % len(writers)]
            token = cluster.tokens[user]
            word = marker(rng)
            content = f"{sentence(rng)} {word}"
            extra = {"scope": "org", "task_id": f"VIS-{i}"} if scope else {}
            via = "mcp" if i % 2 else "rest"
            m = add_mcp(ack, user, token, content, **extra) if via == "mcp" else add_rest(ack, token, content, **extra)
            acked = time.monotonic()
            # Read-your-writes: the acknowledging replica serves it at once, no polling.
            status, got = get(ack, token, m["id"])
            assert status == 200 and got["content"] == content, f"{ack.name} does not serve its own write {m['id']}"
            assert m["id"] in search_ids(ack, token, word), f"{ack.name} does not find its own write {m['id']} by search"
            pending = set(range(3)) - {i % 3}
            while pending:
                for j in sorted(pending):
                    if visible(cluster.replicas[j], token, m["id"], word, content):
                        lags.append(time.monotonic() - acked)
                        pending.discard(j)
                if pending and time.monotonic() - acked > DEADLINE:
                    pytest.fail(f"write {i} ({via}, {user}, {scope or 'personal'}) acknowledged by {ack.name} is served "
                                f"there but not by {', '.join(cluster.replicas[j].name for j in sorted(pending))} "
                                f"after {DEADLINE:.0f} s")
                if pending:
                    time.sleep(POLL)
    finally:
        print("\n" + lag_line(lags))
    p99 = percentile(lags, 99)
    assert p99 < P99_BOUND, f"p99 visibility lag {p99:.3f} s is over {P99_BOUND} s (target 1 s)"


# ---- 2. updates, deletes, org lifecycle ----

def test_updates_and_deletes_propagate(cluster):
    rng = random.Random(12)
    r0, r1, r2 = cluster.replicas
    token = cluster.tokens["alice"]
    old_word, new_word = marker(rng), marker(rng)
    old = f"{sentence(rng)} {old_word}"
    m = add_rest(r0, token, old)
    for r in (r1, r2):
        wait_for(f"the new memory on {r.name}", lambda r=r: visible(r, token, m["id"], old_word, old))
    new = f"{sentence(rng)} {new_word}"
    status, _, body = http("PATCH", f"{r0.url}/v1/memories/{m['id']}", {"content": new}, token=token)
    assert status == 200 and body["memory"]["content"] == new, body
    assert visible(r0, token, m["id"], new_word, new), "read-your-writes after an update"
    for r in (r1, r2):
        lag = wait_for(f"the updated content on {r.name}", lambda r=r: visible(r, token, m["id"], new_word, new))
        print(f"\nupdate visible on {r.name} after {lag * 1000:.0f} ms")
        assert m["id"] not in search_ids(r, token, old_word), f"{r.name} still finds the old content's word"
    status, _, _ = http("DELETE", f"{r1.url}/v1/memories/{m['id']}", token=token)
    assert status == 204
    assert get(r1, token, m["id"])[0] == 404, "read-your-writes after a delete"
    for r in (r0, r2):
        lag = wait_for(f"the delete on {r.name}", lambda r=r: get(r, token, m["id"])[0] == 404)
        print(f"delete visible on {r.name} after {lag * 1000:.0f} ms")
        assert m["id"] not in search_ids(r, token, new_word), f"{r.name} still finds a deleted memory"
        assert m["id"] not in list_all(r, token), f"{r.name} still lists a deleted memory"


def test_an_org_draft_finished_on_one_replica_is_found_by_a_teammate_on_another(cluster):
    rng = random.Random(13)
    r0, r1, r2 = cluster.replicas
    alice, bob, mallory = (cluster.tokens[u] for u in ("alice", "bob", "mallory"))
    word = marker(rng)
    content = f"Team convention {sentence(rng)} {word}"
    task = f"ORG-{uuid.uuid4().hex[:8]}"
    m = add_rest(r0, alice, content, scope="org", task_id=task)
    assert m["state"] == "draft"
    wait_for(f"alice's draft on {r1.name}", lambda: visible(r1, alice, m["id"], word, content))
    assert get(r2, bob, m["id"])[0] == 404, "a draft is visible only to its author (and admins)"
    status, _, body = http("POST", f"{r1.url}/v1/finish", {"task_id": task}, token=alice)
    assert status == 200 and body["promoted"] == [m["id"]], body
    for r in (r2, r0):
        def published(r=r):
            status, got = get(r, bob, m["id"])
            return status == 200 and got["state"] == "published" and m["id"] in search_ids(r, bob, word)
        lag = wait_for(f"the published memory for bob on {r.name}", published)
        print(f"\nfinish on {r1.name} visible to bob on {r.name} after {lag * 1000:.0f} ms")
        assert get(r, mallory, m["id"])[0] == 404, "another org never sees it"
        assert m["id"] not in search_ids(r, mallory, word)


def test_every_replica_ranks_a_search_alike(cluster):
    """Search without per-replica divergence: once the replicas hold the same memories, a query returns the same
    memories in the same order with the same scores on each. Dense search runs in Qdrant; BM25 runs on each
    replica's postings, which follow the change feed (docs/replicas.md: Lexical search), so a replica that missed
    or misapplied a change would rank differently here. The memories share a small vocabulary, so each query
    matches many of them lexically and the BM25 part decides the order."""
    rng = random.Random(17)
    user = "carol"
    token = cluster.tokens[user]
    vocabulary = ["deploy", "staging", "rollback", "migration", "schema", "cache", "invalidate", "queue",
                  "worker", "retry", "timeout", "healthcheck", "canary", "feature", "flag", "index"]
    for i in range(36):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(4, 14))]
        r = cluster.replicas[i % 3]
        status, _, body = http("POST", f"{r.url}/v1/memories",
                               {"content": f"Runbook note {i}: " + " ".join(words) + f" {marker(rng)}"}, token=token)
        # Two notes close enough in meaning merge (a near-duplicate updates the first): either is fine here.
        assert status in (200, 201) and body["status"] in ("created", "updated"), (r.name, status, body)
    wait_agreement(cluster, [user], "the runbook notes on every replica")
    queries = [" ".join(rng.sample(vocabulary, rng.randint(1, 3))) for _ in range(12)]
    for q in queries:
        results = [ranked(r, token, q) for r in cluster.replicas]
        assert results[0], f"no result for {q!r}"
        for r, got in zip(cluster.replicas[1:], results[1:]):
            assert [i for i, _ in got] == [i for i, _ in results[0]], \
                f"{r.name} ranks {q!r} differently from {cluster.replicas[0].name}: {got} vs {results[0]}"
            # The freshness prior moves with the clock between two calls; nothing else may differ.
            for (mid, a), (_, b) in zip(got, results[0]):
                assert abs(a - b) < 1e-3, f"{r.name} scores {mid} {a} for {q!r}, {cluster.replicas[0].name} {b}"


# ---- 3. isolation ----

def forged_token(user, org):
    now = int(time.time())
    wrong = "not-the-server-secret-" + os.urandom(16).hex()
    helpers.SENT.add(wrong)
    t = make_jwt({"sub": user, "org": org, "role": "owner", "iat": now, "exp": now + 600, "jti": str(uuid.uuid4())},
                 secret=wrong)
    helpers.SENT.add(t)
    return t


def assert_invisible(cluster, r, mid, word, readers=("bob", "carol", "mallory")):
    for reader in readers:
        token = cluster.tokens[reader]
        for method, body in [("GET", None), ("PATCH", {"content": "hijacked by another tenant " + word}), ("DELETE", None)]:
            status, _, payload = http(method, f"{r.url}/v1/memories/{mid}", body, token=token)
            assert status == 404, (r.name, reader, method, status, payload)
        assert mid not in search_ids(r, token, word, limit=50), (r.name, reader, "search")
        assert mid not in list_all(r, token), (r.name, reader, "list")
        status, _, payload = rpc(r, reader, token, "tools/call", {"name": "get_memory", "arguments": {"id": mid}})
        assert status == 200 and payload["result"]["isError"], (r.name, reader, "MCP get_memory", payload)
        status, _, payload = rpc(r, reader, token, "tools/call",
                                 {"name": "search_memories", "arguments": {"query": word, "limit": 50}})
        assert status == 200 and all(h["memory"]["id"] != mid for h in payload["result"]["structuredContent"]["results"])


def assert_edge_refusals(cluster, r, mid):
    forged = forged_token("alice", "acme")
    assert http("GET", f"{r.url}/v1/memories/{mid}", token=forged)[0] == 401, r.name
    assert http("GET", f"{r.url}/v1/memories", token=forged)[0] == 401, r.name
    assert rpc(r, "alice", forged, "ping")[0] == 401, r.name
    # A token for alice cannot open bob's MCP endpoint, nor bob alice's.
    assert rpc(r, "bob", cluster.tokens["alice"], "ping")[0] == 403, r.name
    status, _, _ = rpc(r, "alice", cluster.tokens["bob"], "tools/call", {"name": "get_memory", "arguments": {"id": mid}})
    assert status == 403, r.name


def test_isolation_of_memories_every_replica_loaded_at_start(cluster):
    mid, word, content = cluster.seed["personal"]
    org_mid, org_word, _ = cluster.seed["org"]
    alice, bob, mallory = (cluster.tokens[u] for u in ("alice", "bob", "mallory"))
    for r in cluster.replicas:
        # Present on this replica (so the refusals below are isolation, not absence) …
        assert visible(r, alice, mid, word, content), f"{r.name} does not serve alice's seeded memory to alice"
        assert get(r, bob, org_mid)[0] == 200 and org_mid in search_ids(r, bob, org_word), r.name
        # … and nobody else's.
        assert_invisible(cluster, r, mid, word)
        assert get(r, mallory, org_mid)[0] == 404 and org_mid not in search_ids(r, mallory, org_word), r.name
        assert_edge_refusals(cluster, r, mid)
    for r in cluster.replicas:
        assert visible(r, alice, mid, word, content), f"alice's memory changed on {r.name}"


def test_isolation_of_a_memory_written_while_the_replicas_run(cluster):
    rng = random.Random(14)
    r0 = cluster.replicas[0]
    alice = cluster.tokens["alice"]
    word = marker(rng)
    content = f"Alice's private note {sentence(rng)} {word}"
    m = add_rest(r0, alice, content)
    for r in cluster.replicas[1:]:
        wait_for(f"alice's memory for alice on {r.name}", lambda r=r: visible(r, alice, m["id"], word, content))
    for r in cluster.replicas:
        assert_invisible(cluster, r, m["id"], word)
        assert_edge_refusals(cluster, r, m["id"])
    for r in cluster.replicas:
        assert visible(r, alice, m["id"], word, content), f"alice's memory changed on {r.name}"


# ---- 4. restart ----

def agree(cluster, users):
    """Per user, {id: (hash, content)} of each replica; (all equal?, the listings)."""
    listings = [{u: list_all(r, cluster.tokens[u]) for u in users} for r in cluster.replicas]
    return all(x == listings[0] for x in listings[1:]), listings


def pg_facts(cluster, ids):
    """What PostgreSQL holds about memories `ids` (versions and change-feed rows; read as the owner, who sees
    every row): the evidence when replicas disagree."""
    if not ids:
        return ""
    quoted = ",".join("'" + i.replace("'", "") + "'" for i in ids)
    sql = (f"SELECT v.memory_id, count(*), max(v.version), string_agg(DISTINCT v.state, '/'), "
           f"(SELECT count(*) FROM engram.changes c WHERE c.kind = 'memory' AND c.key = v.memory_id) "
           f"FROM engram.memory_versions v WHERE v.memory_id IN ({quoted}) GROUP BY v.memory_id")
    out = subprocess.run(["psql", "-X", "-A", "-t", "-F", " ", cluster.owner_url, "-c", sql],
                         capture_output=True, text=True, timeout=60)
    rows = {line.split()[0]: line for line in out.stdout.split("\n") if line.strip()}
    return "; ".join(
        f"{i}: " + (f"versions={rows[i].split()[1]} max={rows[i].split()[2]} states={rows[i].split()[3]} "
                    f"changes={rows[i].split()[4]}" if i in rows else "no version row in PostgreSQL")
        for i in ids) + (f" (psql: {out.stderr.strip()})" if out.returncode else "")


def describe_disagreement(cluster, listings, users, explain=None):
    lines, odd = [], []
    for u in users:
        sets = [set(lst[u].items()) for lst in listings]
        union = set().union(*sets)
        for r, s in zip(cluster.replicas, sets):
            if s != union:
                lines.append(f"{r.name} lacks {len(union - s)} of {u}'s {len(union)} (id, hash) pairs")
        for mid, (h, content) in sorted(union - set.intersection(*sets))[:5]:
            holders = [r.name for r, s in zip(cluster.replicas, sets) if (mid, (h, content)) in s]
            odd.append(mid)
            lines.append(f"  {u}'s {mid} (hash {h[:12]}) only on {', '.join(holders)}"
                         + (f" [{explain(u, mid, content)}]" if explain else ""))
    return "; ".join(lines) + ("; PostgreSQL: " + pg_facts(cluster, odd[:10]) if odd else "") or "no difference"


def wait_agreement(cluster, users, what, explain=None):
    start = time.monotonic()
    while True:
        same, listings = agree(cluster, users)
        if same:
            return time.monotonic() - start, listings
        if time.monotonic() - start > DEADLINE:
            pytest.fail(f"{what}: the replicas still disagree after {DEADLINE:.0f} s: "
                        + describe_disagreement(cluster, listings, users, explain))
        time.sleep(0.2)


def test_a_restarted_replica_serves_what_was_written_while_it_was_down(cluster):
    rng = random.Random(15)
    r0, r1, r2 = cluster.replicas
    logged = r2.log_path.stat().st_size
    r2.proc.send_signal(signal.SIGTERM)
    try:
        code = r2.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        r2.proc.kill()
        code = r2.proc.wait()
        pytest.fail(f"{r2.name} did not stop within 15 s of SIGTERM")
    finally:
        r2.log.close()
    print(f"\n{r2.name} stopped on SIGTERM with exit status {code}")
    assert code == 0, f"{r2.name} exited with {code} on SIGTERM"
    # A drain is not an outage: the loops reading PostgreSQL stop before it is closed, so the log shows no
    # "unreachable" or "failed; retrying" for the engines it closed itself.
    with open(r2.log_path, "rb") as f:
        f.seek(logged)
        shutdown_log = f.read().decode(errors="replace")
    for line in shutdown_log.splitlines():
        assert "unreachable" not in line and "failed; retrying" not in line, f"{r2.name} at SIGTERM: {line}"
    written = []
    for i in range(12):
        user = ("alice", "bob")[i % 2]
        word = marker(rng)
        content = f"{sentence(rng)} {word}"
        m = add_rest((r0, r1)[i % 2], cluster.tokens[user], content)
        written.append((user, m["id"], word, content))
    restart(r2)
    for user, mid, word, content in written:
        assert visible(r2, cluster.tokens[user], mid, word, content), \
            f"{r2.name}, restarted, does not serve {mid} written while it was down"
    took, listings = wait_agreement(cluster, ["alice", "bob"], "after the restart")
    print(f"replicas agree after {took * 1000:.0f} ms: " +
          ", ".join(f"{u}={len(listings[0][u])}" for u in ("alice", "bob")))
    for user, mid, _, content in written:
        assert listings[0][user][mid][1] == content


# ---- 5. crash ----

def post_add(r, user, token, content, timeout=10):
    """One MCP add_memory on replica `r`: the memory dict when acknowledged, None when not (connection
    error, timeout, 5xx, tool error)."""
    helpers.remember(content)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "add_memory", "arguments": {"content": content}}}).encode()
    req = urllib.request.Request(f"{r.url}/mcp/{user}", data=body, method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
        "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            payload = json.loads(resp.read())
    except Exception:  # noqa: BLE001 (any failure is "not acknowledged")
        return None, "error"
    result = payload.get("result") or {}
    if result.get("isError"):
        return None, "tool-error"
    sc = result.get("structuredContent") or {}
    return sc.get("memory"), sc.get("status")


# A replica records the version and its outbox row first, then writes Qdrant, then settles the row: a kill -9
# in between leaves a row that the reconciler of another replica finishes after the lease, and a client's retry
# elsewhere meanwhile finds the recorded memory (settleRecordedDuplicates) instead of saving it twice.
def test_kill_9_during_write_load_loses_and_duplicates_nothing(cluster):
    rng = random.Random(int(os.environ.get("ENGRAM_REPLICA_SEED", str(int(time.time())))))
    users = [f"loadw{w:02d}" for w in range(WRITERS)]
    for u in users:
        cluster.token(u)
    acked = {u: {} for u in users}        # content -> id acknowledged
    sent = {u: set() for u in users}      # every content sent
    history = {}                          # (user, content) -> [(replica, outcome, seconds since start)]
    statuses = {}
    lock = threading.Lock()
    stop = threading.Event()
    down = set()

    def writer(index, user):
        wrng = random.Random(rng.random())
        token = cluster.tokens[user]
        seq = 0
        while not stop.is_set():
            seq += 1
            content = f"{user} item {seq} {sentence(wrng, 12)}"
            with lock:
                sent[user].add(content)
            for attempt in range(3):
                r = cluster.replicas[(index + seq + attempt) % 3]
                if r.name in down:
                    continue
                m, status = post_add(r, user, token, content)
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    history.setdefault((user, content), []).append(
                        (r.name, status if m is None else f"{status} {m['id']}", round(time.monotonic() - started, 2)))
                if m is not None:
                    with lock:
                        acked[user][content] = m["id"]
                    break
                # Not acknowledged: try another replica after the followers have had time to catch up.
                time.sleep(1.0)

    threads = [threading.Thread(target=writer, args=(i, u), daemon=True) for i, u in enumerate(users)]
    started = time.monotonic()
    kills = []
    for t in threads:
        t.start()
    for k in range(CRASHES):
        time.sleep(rng.uniform(1.0, 2.5))
        victim = rng.choice(cluster.replicas)
        with lock:
            down.add(victim.name)
        kills.append((victim.name, round(time.monotonic() - started, 2)))
        kill9(victim)
        time.sleep(rng.uniform(0.1, 0.5))
        restart(victim)
        with lock:
            down.discard(victim.name)
        print(f"\ncrash {k + 1}/{CRASHES}: kill -9 {victim.name} at {time.monotonic() - started:.1f} s; "
              f"{sum(len(v) for v in acked.values())} acknowledged so far")
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    total = sum(len(v) for v in acked.values())
    print(f"writes: {total} acknowledged, {sum(len(v) for v in sent.values()) - total} not; outcomes {statuses}")
    assert total > 0, "no write was acknowledged"

    def explain(user, mid, content):
        """How the writers came by memory `mid`: its text acknowledged or not, each attempt, the kills."""
        if content not in sent[user]:
            return f"not a text {user} sent; kills {kills}"
        state = f"acknowledged as {acked[user][content]}" if content in acked[user] else "unacknowledged"
        return f"{state}; attempts {history.get((user, content))}; kills {kills}"

    took, listings = wait_agreement(cluster, users, "after the crashes", explain)
    print(f"replicas agree {took * 1000:.0f} ms after the load: "
          f"{sum(len(listings[0][u]) for u in users)} memories of the writers on each")
    problems = []
    for r, listing in zip(cluster.replicas, listings):
        for u in users:
            by_content = {}
            for mid, (_, content) in listing[u].items():
                by_content.setdefault(content, []).append(mid)
                if content not in sent[u]:
                    problems.append(f"{r.name}: {u} has {mid}, not a whole text it sent")
            for content, mid in acked[u].items():
                ids = by_content.get(content, [])
                if ids != [mid]:
                    problems.append(f"{r.name}: acknowledged {mid} of {u} is there as {ids or 'nothing'}")
            for content, ids in by_content.items():
                if len(ids) > 1 and content not in acked[u]:
                    problems.append(f"{r.name}: an unacknowledged text of {u} is there {len(ids)} times")
    assert not problems, f"{len(problems)} problems, e.g. " + "; ".join(problems[:8])

    def outbox_pending(r):
        with urllib.request.urlopen(f"{r.url}/readyz", timeout=5) as resp:
            return json.loads(resp.read())["outbox"]["pending"]

    # Rows left by the killed writers are finished by a reconciler once their lease (10 s) runs out.
    took = wait_for("the outbox drains to zero", lambda: all(outbox_pending(r) == 0 for r in cluster.replicas),
                    deadline=60)
    print(f"outbox drained {took * 1000:.0f} ms after the agreement")


# ---- 6. engine fault: Qdrant unreachable ----

def test_qdrant_unreachable_during_writes_loses_nothing(cluster):
    rng = random.Random(31)
    token = cluster.tokens["carol"]
    r0, r1, r2 = cluster.replicas
    word = marker(rng)
    kept = add_rest(r0, token, f"{sentence(rng)} {word}")
    for r in (r1, r2):
        wait_for(f"the memory on {r.name}", lambda r=r: visible(r, token, kept["id"], word, kept["content"]))
    tag = "queued-" + marker(rng).lower()
    sent, acked, refused = [], {}, []
    cluster.gate.close()
    try:
        # An update reaches Qdrant only after its version is recorded: refused, it is queued (and says so).
        status, _, body = http("PATCH", f"{r1.url}/v1/memories/{kept['id']}", {"tags": [tag]}, token=token)
        assert status == 503 and "queued" in json.dumps(body), (r1.name, status, body)
        last_tags = [tag]
        # New memories: each is acknowledged or fails with a 5xx that names the store.
        for i, r in enumerate(cluster.replicas * 2):
            content = f"{sentence(rng)} outage {i} {marker(rng)}"
            sent.append(content)
            status, _, body = http("POST", f"{r.url}/v1/memories", {"content": content}, token=token)
            if status == 201:
                acked[content] = body["memory"]["id"]
            else:
                assert status >= 500 and "store" in json.dumps(body), (r.name, status, body)
                refused.append(content)
        # Reads degrade as documented: by id from the index, searches and readiness 503.
        for r in cluster.replicas:
            status, m = get(r, token, kept["id"])
            assert status == 200 and m["content"] == kept["content"], (r.name, status, m)
            status, _, _ = http("GET", f"{r.url}/v1/memories/search?q=outage", token=token)
            assert status == 503, (r.name, status)
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(f"{r.url}/readyz", timeout=10)
            assert e.value.code == 503
        print(f"\nwhile Qdrant was unreachable: {len(acked)} writes acknowledged, {len(refused)} refused with a 5xx")
    finally:
        cluster.gate.open()

    # The queued update reaches Qdrant (the reconciler, after the lease) and every replica: the last one recorded.
    def updated(r):
        status, m = get(r, token, kept["id"])
        return status == 200 and sorted(m["tags"]) == last_tags and m["content"] == kept["content"]
    took = wait_for("the queued update on every replica", lambda: all(updated(r) for r in cluster.replicas), deadline=60)
    print(f"the queued update reached every replica {took * 1000:.0f} ms after Qdrant returned")
    # Nothing acknowledged is lost, nothing is there twice, and every replica agrees.
    listings = None

    def settled():
        nonlocal listings
        same, listings = agree(cluster, ["carol"])
        return same
    wait_for("the replicas agree after the outage", settled, deadline=60)
    by_content = {}
    for mid, (_, content) in listings[0]["carol"].items():
        by_content.setdefault(content, []).append(mid)
    for content, mid in acked.items():
        assert by_content.get(content) == [mid], f"acknowledged {mid} is there as {by_content.get(content)}"
    for content in refused:
        assert len(by_content.get(content, [])) <= 1, "a refused write is there twice"

    def outbox_pending(r):
        with urllib.request.urlopen(f"{r.url}/readyz", timeout=5) as resp:
            return json.loads(resp.read())["outbox"]["pending"]
    wait_for("the outbox drains to zero", lambda: all(outbox_pending(r) == 0 for r in cluster.replicas), deadline=60)
