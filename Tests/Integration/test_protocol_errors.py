"""Bad input gets the right error, and the server keeps serving."""
import time

from conftest import make_jwt
from helpers import http, rpc


def test_jsonrpc_protocol_faults(server, tokens):
    t = tokens["alice"]
    url = f"{server.url}/mcp/alice"
    status, _, body = http("POST", url, raw=b'{"jsonrpc": "2.0", "id": 1, "method": ', token=t)
    assert status == 400 and body["error"]["code"] == -32700 and body["id"] is None
    status, _, body = http("POST", url, [{"jsonrpc": "2.0", "id": 1, "method": "ping"}], token=t)
    assert status == 400 and body["error"]["code"] == -32600
    status, _, body = http("POST", url, {"jsonrpc": "1.0", "id": 1, "method": "ping"}, token=t)
    assert body["error"]["code"] == -32600
    status, _, body = rpc(server, "alice", t, "no/such/method", id=7)
    assert status == 200 and body["error"]["code"] == -32601 and body["id"] == 7
    status, _, body = rpc(server, "alice", t, "tools/call", {"name": "drop_database", "arguments": {}}, id="x")
    assert body["error"]["code"] == -32602 and body["id"] == "x"
    status, _, body = rpc(server, "alice", t, "tools/call", {"name": "add_memory", "arguments": "nope"})
    assert body["error"]["code"] == -32602
    status, _, body = rpc(server, "alice", t, "ping", id=3)
    assert status == 200 and body == {"jsonrpc": "2.0", "id": 3, "result": {}}
    status, _, body = http("POST", url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, token=t)
    assert status == 202
    status, hdrs, _ = http("GET", url, token=t)
    assert status == 405
    status, _, body = rpc(server, "alice", t, "ping", headers={"MCP-Protocol-Version": "1999-01-01"})
    assert status == 400 and body["error"]["code"] == -32600
    status, _, body = rpc(server, "alice", t, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                                             "clientInfo": {"name": "t", "version": "1"}})
    assert body["result"]["protocolVersion"] == "2025-06-18"
    status, _, body = rpc(server, "alice", t, "initialize", {"protocolVersion": "2024-01-01", "capabilities": {},
                                                             "clientInfo": {"name": "t", "version": "1"}})
    assert body["result"]["protocolVersion"] == "2025-11-25"
    assert server.alive()


def test_tool_validation_errors_are_tool_errors(server, tokens):
    t = tokens["alice"]
    cases = [
        {"name": "add_memory", "arguments": {"content": 42}},
        {"name": "add_memory", "arguments": {}},
        {"name": "add_memory", "arguments": {"content": "x", "scope": "galaxy"}},
        {"name": "add_memory", "arguments": {"content": "x", "surprise": True}},
        {"name": "search_memories", "arguments": {"query": "x", "limit": 100000}},
        {"name": "get_memory", "arguments": {"id": "../../etc/passwd"}},
        {"name": "add_memory", "arguments": {"content": "y" * 9000}},
    ]
    for params in cases:
        status, _, body = rpc(server, "alice", t, "tools/call", params)
        assert status == 200, params
        assert body["result"]["isError"] is True, (params, body)
        assert body["result"]["content"][0]["text"]
    assert server.alive()


def test_oversize_body_is_413(server, tokens):
    big = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"' + b"a" * (2 << 20) + b'"}}'
    status, _, _ = http("POST", f"{server.url}/mcp/alice", raw=big, token=tokens["alice"])
    assert status == 413
    status, _, _ = http("POST", f"{server.url}/v1/memories", raw=big, token=tokens["alice"])
    assert status == 413
    assert server.alive()


def test_bad_tokens_are_401(server, tokens):
    now = int(time.time())
    good_claims = {"sub": "alice", "org": "acme", "role": "member", "iat": now, "exp": now + 600, "jti": "t-1"}
    cases = {
        "missing": None,
        "garbage": "not-a-jwt",
        "forged": make_jwt(good_claims, secret="the-wrong-secret-the-wrong-secret-123"),
        "alg-none": make_jwt(good_claims, alg="none"),
        "expired": make_jwt(dict(good_claims, exp=now - 60)),
        "owner-escalation": make_jwt(dict(good_claims, sub="nobody-known", role="owner")),
    }
    for name, token in cases.items():
        for method, path, body in [("POST", "/mcp/alice", {"jsonrpc": "2.0", "id": 1, "method": "ping"}),
                                   ("GET", "/v1/memories", None)]:
            status, hdrs, payload = http(method, server.url + path, body, token=token)
            assert status == 401, (name, path, status, payload)
            assert "Bearer" in {k.lower(): v for k, v in hdrs.items()}.get("www-authenticate", ""), name
    # A correctly signed token whose role is higher than the directory's is held to the directory's role.
    inflated = make_jwt(dict(good_claims, role="owner"))
    status, _, body = http("GET", f"{server.url}/v1/me", token=inflated)
    assert status == 200 and body["role"] == "member"
    assert server.alive()


def test_rest_errors(server, tokens):
    t = tokens["alice"]
    status, _, body = http("POST", f"{server.url}/v1/memories", raw=b"{not json", token=t)
    assert status == 400 and body["error"]["code"] == "invalid_request"
    status, _, body = http("POST", f"{server.url}/v1/memories", {"content": 5}, token=t)
    assert status == 400 and "content" in body["error"]["message"]
    status, _, body = http("GET", f"{server.url}/v1/memories/not-a-uuid", token=t)
    assert status == 400
    status, _, body = http("GET", f"{server.url}/v1/memories/00000000-0000-0000-0000-000000000000", token=t)
    assert status == 404 and body["error"]["code"] == "not_found"
    status, _, body = http("GET", f"{server.url}/v1/memories/search", token=t)
    assert status == 400
    deep = b"[" * 5000 + b"]" * 5000
    status, _, body = http("POST", f"{server.url}/v1/memories", raw=deep, token=t)
    assert status == 400
    status, _, body = http("GET", f"{server.url}/v1/openapi.json")
    assert status == 200 and body["openapi"].startswith("3.")
    assert server.alive()


def test_revoked_token_is_refused_at_once(server):
    import base64
    import json as _json
    import subprocess
    from conftest import BIN
    token = server.token("rex", org="acme")
    status, _, _ = http("GET", f"{server.url}/v1/memories", token=token)
    assert status == 200
    payload = token.split(".")[1]
    jti = _json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]
    r = subprocess.run([BIN, "token", "revoke", "--jti", jti, "--data-dir", str(server.data)], env=server.env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    status, _, body = http("GET", f"{server.url}/v1/memories", token=token)
    assert status == 401 and "revoked" in body["error"]["message"]
    status, _, _ = http("POST", f"{server.url}/mcp/rex", {"jsonrpc": "2.0", "id": 1, "method": "ping"}, token=token)
    assert status == 401
    fresh = server.token("rex", org="acme")
    assert http("GET", f"{server.url}/v1/memories", token=fresh)[0] == 200, "other tokens of the user keep working"


def test_short_lived_token_expires(server):
    token = server.token("tina", org="acme", days=0.00003)  # about 2.6 seconds
    assert http("GET", f"{server.url}/v1/memories", token=token)[0] == 200
    time.sleep(3.5)
    status, _, body = http("GET", f"{server.url}/v1/memories", token=token)
    assert status == 401 and "expired" in body["error"]["message"]
