"""Graceful drain on SIGTERM, end to end: `engram serve` stops accepting connections at once, finishes the
requests already in flight (their writes acknowledged and durable), writes what searches served, and exits
with status 0; started again on its data directory it serves every acknowledged write. This is what a
rolling restart of one replica behind a load balancer relies on."""
import json
import signal
import socket
import time

from conftest import EngramServer
from helpers import http


def read_response(sock, timeout=30):
    """Reads one HTTP/1.1 response on `sock` until the server closes the connection; returns (status, body)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, body


def refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def test_sigterm_finishes_in_flight_requests_and_refuses_new_ones():
    s = EngramServer("drain").start()
    try:
        tok = s.token("dora")
        status, _, seen = http("POST", s.url + "/v1/memories", {"content": "The docs site builds with make docs-serve"}, token=tok)
        assert status == 201, seen
        # Served by a search just before the signal: the served log is written on the way out.
        status, _, hits = http("GET", s.url + "/v1/memories/search?q=how+do+the+docs+build", token=tok)
        assert status == 200 and hits["results"][0]["memory"]["id"] == seen["memory"]["id"], hits

        # A write in flight: its head and part of its body are in, the rest comes after the signal.
        body = json.dumps({"content": "Drained writes land: the release script is scripts/ship.sh"}).encode()
        head = ("POST /v1/memories HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {tok}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        sock.sendall(head + body[:12])
        time.sleep(0.5)
        s.proc.send_signal(signal.SIGTERM)

        # New connections are refused while the in-flight request is still open.
        deadline = time.time() + 10
        while time.time() < deadline and not refused(s.port):
            time.sleep(0.05)
        assert refused(s.port), "the listener still accepts connections after SIGTERM"
        assert s.proc.poll() is None, "the server exited with a request in flight"

        sock.sendall(body[12:])
        status, answer = read_response(sock)
        sock.close()
        assert status == 201, answer
        drained = json.loads(answer)["memory"]
        assert s.proc.wait(timeout=15) == 0
        s.log.close()

        # Started again on the same data: the drained write and the served count are there.
        s.start()
        status, _, got = http("GET", f"{s.url}/v1/memories/{drained['id']}", token=tok)
        assert status == 200 and got["memory"]["content_hash"] == drained["content_hash"], got
        status, _, got = http("GET", f"{s.url}/v1/memories/{seen['memory']['id']}", token=tok)
        assert status == 200 and got["memory"]["usage"]["served_count"] >= 1, got
    finally:
        s.stop()
