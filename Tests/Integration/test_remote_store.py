"""The whole service on a remote Qdrant (the team's stand-in): memories round-trip, and when Qdrant
is down the service reports not-ready and refuses writes with 503 instead of losing them."""
import pathlib
import subprocess
import sys
import time

import pytest

from conftest import EngramServer, free_port
from helpers import http

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"


def start_stub(port):
    proc = subprocess.Popen([sys.executable, str(SHARED / "qdrant" / "qdrant_stub_server.py"), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            import urllib.request
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("stub did not start")


def test_service_on_remote_qdrant():
    if not (SHARED / "qdrant" / "qdrant_stub_server.py").exists():
        pytest.fail(f"the Qdrant stand-in is missing at {SHARED}")
    port = free_port()
    stub = start_stub(port)
    s = EngramServer("remote-store")
    try:
        s.start("--store", f"qdrant://127.0.0.1:{port}")
        token = s.token("rita")
        status, _, body = http("POST", s.url + "/v1/memories", {"content": "Our CI caches the SwiftPM build folder between runs"}, token=token)
        assert status == 201, body
        mid = body["memory"]["id"]
        status, _, body = http("GET", s.url + "/v1/memories/search?q=which+folder+does+CI+cache", token=token)
        assert body["results"][0]["memory"]["id"] == mid
        status, _, body = http("GET", s.url + "/readyz")
        assert status == 200 and body["store"] == "qdrant"
        stub.kill()
        stub.wait()
        status, _, body = http("GET", s.url + "/readyz")
        assert status == 503 and body["status"] == "not ready"
        status, _, body = http("POST", s.url + "/v1/memories", {"content": "This write must not be acknowledged"}, token=token)
        assert status == 503 and body["error"]["code"] == "unavailable"
        assert s.alive()
        stub = start_stub(port)
        status, _, _ = http("GET", s.url + "/readyz")
        assert status == 200
    finally:
        s.stop()
        stub.kill()
