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
        # Encrypted at rest (the suite's default): the vector shards are not written out in the clear.
        assert not (s.data / "engram.sqlite.segments").exists()

        # Started again on the same data: the drained write and the served count are there.
        s.start()
        status, _, got = http("GET", f"{s.url}/v1/memories/{drained['id']}", token=tok)
        assert status == 200 and got["memory"]["content_hash"] == drained["content_hash"], got
        status, _, got = http("GET", f"{s.url}/v1/memories/{seen['memory']['id']}", token=tok)
        assert status == 200 and got["memory"]["usage"]["served_count"] >= 1, got
    finally:
        s.stop()


def test_a_clean_stop_writes_segment_files_that_the_next_start_maps():
    """Without encryption at rest, a clean stop writes the vector shards as segment files, and the next start
    maps them instead of rebuilding them from SQLite, answering as before. A write after that start
    disqualifies the file, so a start after a kill rebuilds from SQLite."""
    s = EngramServer("segments", ENGRAM_ENCRYPTION_KEY="").start()

    def store_opened(since):
        with open(s.log_path, "rb") as f:
            f.seek(since)
            lines = [line for line in f.read().decode(errors="replace").splitlines() if "store opened" in line]
        assert lines, "no 'store opened' line"
        return dict(part.split("=", 1) for part in lines[-1].split() if "=" in part)

    def kill_and_start():
        """kill -9, then a start: the log offset before it and its 'store opened' fields."""
        s.proc.kill()
        s.proc.wait()
        s.log.close()
        before = s.log_path.stat().st_size
        s.start()
        return before, store_opened(before)

    def finds_late_write():
        status, _, hits = http("GET", s.url + "/v1/memories/search?q=where+are+feature+flags+read", token=tok)
        assert status == 200 and hits["results"][0]["memory"]["id"] == late["memory"]["id"], hits

    try:
        tok = s.token("sena")
        ids = []
        for text in ["The docs site builds with make docs-serve", "Releases ship with scripts/ship.sh from main",
                     "Integration tests run against a throwaway PostgreSQL cluster"]:
            status, _, got = http("POST", s.url + "/v1/memories", {"content": text}, token=tok)
            assert status == 201, got
            ids.append(got["memory"]["id"])
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(timeout=30) == 0
        s.log.close()
        assert list((s.data / "engram.sqlite.segments").glob("collection-*.seg")), "no segment file after a clean stop"

        before = s.log_path.stat().st_size
        s.start()
        fields = store_opened(before)
        assert int(fields["points"]) >= 3 and fields["mapped"] == fields["points"], fields
        status, _, hits = http("GET", s.url + "/v1/memories/search?q=which+script+ships+a+release", token=tok)
        assert status == 200 and hits["results"][0]["memory"]["id"] == ids[1], hits

        # A write, then a kill: the file no longer matches, so the next start rebuilds and keeps the write.
        status, _, late = http("POST", s.url + "/v1/memories", {"content": "Feature flags are read from Consul at start-up"},
                               token=tok)
        assert status == 201, late
        before, fields = kill_and_start()
        assert fields["mapped"] == "0", fields
        finds_late_write()

        # That start writes the rebuilt shards to a segment file itself, so even a kill now leaves a file
        # the next start maps, with the write in it.
        deadline = time.time() + 30
        while True:
            with open(s.log_path, "rb") as f:
                f.seek(before)
                written = [line for line in f.read().decode(errors="replace").splitlines() if "segments written" in line]
            if written:
                break
            assert time.time() < deadline, "no 'segments written' line after a start that rebuilt"
            time.sleep(0.2)
        assert "files=1" in written[0], written[0]
        before, fields = kill_and_start()
        assert int(fields["points"]) >= 4 and fields["mapped"] == fields["points"], fields
        finds_late_write()
    finally:
        s.stop()
