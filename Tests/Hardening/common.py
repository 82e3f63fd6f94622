"""Shared plumbing of the hardening suites (crash, load, fuzz): the real server, tokens, raw JSON-RPC."""
import http.client
import json
import os
import pathlib
import random
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "Integration"))

from conftest import EngramServer  # noqa: E402

WORDS = None


def vocabulary():
    """Pseudo-words: random texts built from them are far apart in embedding space (no near-duplicate merges)."""
    global WORDS
    if WORDS is None:
        rng = random.Random(1234)
        syl = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "pe", "da", "go", "bu", "ze", "fi", "ho", "ja"]
        real = ("cache queue index shard tenant payload vector token retry backoff deploy rollout schema migration "
                "latency throughput buffer socket thread lock mutex channel stream parser lexer compiler linker "
                "bundle module package release branch commit merge review pipeline runner worker scheduler").split()
        WORDS = real + ["".join(rng.choice(syl) for _ in range(rng.randint(2, 4))) for _ in range(3000)]
    return WORDS


def random_text(rng, n=14):
    return " ".join(rng.choice(vocabulary()) for _ in range(n))


class RPC:
    """A keep-alive JSON-RPC client for /mcp/{user}."""

    def __init__(self, server, user, token, timeout=30):
        self.host, self.port = "127.0.0.1", server.port
        self.user, self.token, self.timeout = user, token, timeout
        self.conn = None
        self.next_id = 0

    def _connect(self):
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def raw(self, method, path, body=b"", headers=None):
        if self.conn is None:
            self._connect()
        h = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        h.update(headers or {})
        try:
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse()
            data = r.read()
            return r.status, data
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = None
            raise

    def call(self, tool, arguments):
        self.next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call",
                           "params": {"name": tool, "arguments": arguments}}).encode()
        status, data = self.raw("POST", f"/mcp/{self.user}", body)
        return status, (json.loads(data) if data else None)


def summary_line(passed, failed):
    """The closing line CI reads: 'N passed, N failed'."""
    print(f"{passed} passed, {failed} failed")
