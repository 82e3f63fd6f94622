"""Edge policy: security headers, DNS-rebinding protection, CORS, rate limits, metrics."""
import pytest

from conftest import EngramServer
from helpers import http, rpc


@pytest.fixture(scope="module")
def strict():
    s = EngramServer("edge", ENGRAM_RATE_AUTH_FAILURE_BURST="5", ENGRAM_RATE_AUTH_FAILURES_PER_MIN="6",
                     ENGRAM_RATE_WRITE_BURST="10", ENGRAM_RATE_WRITES_PER_SEC="1",
                     ENGRAM_CORS_ORIGIN="https://console.example", ENGRAM_ALLOWED_ORIGINS="http://localhost:3000").start()
    yield s
    s.stop()


def test_security_headers_on_every_response(server, tokens):
    for method, path, token in [("GET", "/healthz", None), ("GET", "/v1/memories", None), ("GET", "/nope", None),
                                ("GET", "/v1/memories", tokens["alice"]), ("GET", "/admin", None)]:
        status, hdrs, _ = http(method, server.url + path, token=token)
        h = {k.lower(): v for k, v in hdrs.items()}
        assert "unsafe-inline" not in h["content-security-policy"] and "frame-ancestors 'none'" in h["content-security-policy"], path
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff", path
        assert h["referrer-policy"] == "no-referrer" and "permissions-policy" in h, path
        assert "strict-transport-security" not in h, "HSTS only with --behind-tls"


def test_origin_check_and_cors(strict):
    token = strict.token("oscar", org="edge-org")
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    status, _, _ = http("POST", strict.url + "/mcp/oscar", ping, token=token, headers={"Origin": "http://evil.example"})
    assert status == 403, "a foreign browser origin must not reach /mcp (DNS rebinding)"
    status, _, _ = http("POST", strict.url + "/mcp/oscar", ping, token=token, headers={"Origin": "http://localhost:3000"})
    assert status == 200
    status, _, _ = http("POST", strict.url + "/mcp/oscar", ping, token=token)
    assert status == 200, "clients without Origin (CLI, Claude Code) pass"
    status, hdrs, _ = http("OPTIONS", strict.url + "/v1/memories", headers={"Origin": "https://console.example",
                                                                          "Access-Control-Request-Method": "POST"})
    assert status == 204 and hdrs.get("Access-Control-Allow-Origin") == "https://console.example"
    status, hdrs, _ = http("GET", strict.url + "/v1/memories", token=token, headers={"Origin": "https://console.example"})
    assert hdrs.get("Access-Control-Allow-Origin") == "https://console.example"
    status, hdrs, _ = http("GET", strict.url + "/v1/memories", token=token, headers={"Origin": "https://other.example"})
    assert "Access-Control-Allow-Origin" not in hdrs
    status, _, _ = http("OPTIONS", strict.url + "/v1/memories", headers={"Origin": "https://other.example"})
    assert status == 403


def test_write_rate_limit(strict):
    token = strict.token("wendy", org="edge-org")
    statuses = []
    for i in range(14):
        status, hdrs, body = http("POST", strict.url + "/v1/memories", {"content": f"rate limited note {i} " + "x" * i}, token=token)
        statuses.append(status)
        if status == 429:
            assert int(hdrs["Retry-After"]) >= 1 and body["error"]["code"] == "rate_limited"
    assert 429 in statuses and statuses[0] in (200, 201)
    # Reads are not limited, and another token has its own bucket.
    assert http("GET", strict.url + "/v1/memories", token=token)[0] == 200
    other = strict.token("walt", org="edge-org")
    assert http("POST", strict.url + "/v1/memories", {"content": "walt's own note"}, token=other)[0] == 201


def test_metrics_on_loopback(server, tokens):
    rpc(server, "alice", tokens["alice"], "tools/call", {"name": "search_memories", "arguments": {"query": "metrics"}})
    status, _, body = http("GET", server.url + "/metrics")
    assert status == 200
    assert 'engram_mcp_tool_calls_total{tool="search_memories"}' in body
    assert "engram_search_duration_seconds" in body and "engram_memories{" in body
    assert "hb_requests" in body and "http_server_request_duration" in body


def test_mcp_reads_are_not_rate_limited_but_writes_are(strict):
    token = strict.token("mona", org="edge-org")
    for i in range(15):
        status, _, body = rpc(strict, "mona", token, "tools/call", {"name": "search_memories", "arguments": {"query": f"anything {i}"}})
        assert status == 200 and body["result"]["isError"] is False
    statuses = []
    for i in range(14):
        status, hdrs, body = rpc(strict, "mona", token, "tools/call",
                                 {"name": "add_memory", "arguments": {"content": f"mona note number {i} " + "z" * i}})
        statuses.append(status)
        if status == 429:
            assert int(hdrs["Retry-After"]) >= 1
            # A JSON-RPC error (not a REST body) that MCP clients surface as such.
            assert body["jsonrpc"] == "2.0" and body["id"] == 1 and body["error"]["code"] == -32000
            assert body["error"]["data"]["retry_after"] >= 1 and "error" not in body["error"]
    assert 429 in statuses and statuses[0] == 200


# Runs last against the strict server: it exhausts this IP's failed-authentication bucket.
def test_auth_failure_rate_limit_and_server_survives(strict):
    codes = [http("GET", strict.url + "/v1/memories", token="bogus")[0] for _ in range(10)]
    assert codes[0] == 401 and 429 in codes
    status, hdrs, _ = http("GET", strict.url + "/v1/memories", token="bogus")
    assert status == 429 and "Retry-After" in hdrs
    assert strict.alive()
