"""The Qdrant-compatible listener has the main listener's edge: wrong keys are limited per client
(the right key always passes), and connections time out and are capped per IP."""
import secrets
import socket
import time
import urllib.parse

import httpx
import pytest

from conftest import start_with_qdrant_listener
from test_edge_hardening import closed_within

API_KEY = "qdrant-edge-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def listener():
    s = start_with_qdrant_listener("qdrant-edge", API_KEY, ENGRAM_RATE_AUTH_FAILURE_BURST="3", ENGRAM_RATE_AUTH_FAILURES_PER_MIN="6",
                                   ENGRAM_IDLE_TIMEOUT="2", ENGRAM_HEADER_TIMEOUT="2", ENGRAM_BODY_TIMEOUT="2",
                                   ENGRAM_MAX_CONNECTIONS_PER_IP="4")
    yield s
    s.q.close()
    s.stop()


def test_wrong_keys_are_limited_and_the_right_key_always_passes(listener):
    url = listener.qdrant_url + "/collections"
    statuses = [httpx.get(url, headers={"api-key": "wrong-" + str(i)}).status_code for i in range(6)]
    assert statuses[:3] == [403, 403, 403] and statuses[-1] == 429, statuses
    r = httpx.get(url, headers={"api-key": "wrong-again"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert httpx.get(url).status_code == 429, "a missing key counts as a failure too"
    for _ in range(5):
        assert httpx.get(url, headers={"api-key": API_KEY}).status_code == 200, "the right key is never refused"


def test_idle_and_half_sent_connections_are_closed(listener):
    port = urllib.parse.urlsplit(listener.qdrant_url).port
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: q\r\n\r\n")
    assert idle.recv(65536).startswith(b"HTTP/1.1 200")
    assert closed_within(idle, 8), "an idle keep-alive connection must be closed"
    half = socket.create_connection(("127.0.0.1", port), timeout=10)
    half.sendall(b"GET /healthz HTTP/1.1\r\nHost: q\r\nX-Slow: ")
    assert closed_within(half, 8), "a request head that never completes must be closed"


def test_connections_per_ip_are_capped(listener):
    port = urllib.parse.urlsplit(listener.qdrant_url).port
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(4)]
    for s in held:  # each answered once: admitted and counted before the extra one arrives
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: q\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
    extra = socket.create_connection(("127.0.0.1", port), timeout=10)
    extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: q\r\n\r\n")
    answer = extra.recv(65536)
    assert answer.startswith(b"HTTP/1.1 503") or answer == b"", answer[:60]
    for s in held + [extra]:
        s.close()
    # Closed connections free their places (the server notices the close asynchronously).
    deadline, status = time.time() + 10, None
    while time.time() < deadline and status != 200:
        try:
            status = httpx.get(listener.qdrant_url + "/healthz").status_code
        except httpx.HTTPError:
            status = None
        time.sleep(0.2)
    assert status == 200
