"""Edge hardening (issue 13): failed-auth limits that never lock out valid users, trusted proxies,
connection timeouts and the per-IP connection cap, route-based origin checks, write limits per
verified token, CORS/HSTS on errors, closing after an early 413, JWT time claims and secrets,
and the token CLI."""
import base64
import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import BIN, EngramServer, make_jwt
from helpers import SENT, http, rpc

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


def fast_server(name, *flags, **env):
    """A server without the embedding model (starts in a second); limits from `env`."""
    env.setdefault("ENGRAM_EMBEDDER", "none")
    return EngramServer(name, **env).start(*flags)


@pytest.fixture(scope="module")
def limited():
    s = fast_server("hardening-limited", ENGRAM_RATE_AUTH_FAILURE_BURST="3", ENGRAM_RATE_AUTH_FAILURES_PER_MIN="6",
                    ENGRAM_RATE_WRITE_BURST="10", ENGRAM_RATE_WRITES_PER_SEC="0.5",
                    ENGRAM_ALLOWED_ORIGINS="http://localhost:3000", ENGRAM_CORS_ORIGIN="https://console.example")
    yield s
    s.stop()


def claims_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# Item 4: one bad client on an IP must not lock out valid users on that IP.
def test_valid_tokens_are_never_refused_for_other_callers_failures(limited):
    alice = limited.token("h-alice", org="h-org")
    now = int(time.time())
    forged = make_jwt({"sub": "h-alice", "org": "h-org", "role": "member", "iat": now, "exp": now + 600, "jti": "x"},
                      secret="not-the-server-secret-not-the-server-secret")
    bad_codes, good_codes = [], []
    for _ in range(12):
        bad_codes.append(http("GET", limited.url + "/v1/memories", token="bogus-token")[0])
        bad_codes.append(http("GET", limited.url + "/v1/memories", token=forged)[0])
        good_codes.append(http("GET", limited.url + "/v1/memories", token=alice)[0])
        good_codes.append(rpc(limited, "h-alice", alice, "ping")[0])
    assert 429 in bad_codes and set(bad_codes) <= {401, 429}
    assert set(good_codes) == {200}, good_codes
    # A correctly signed but expired token is no guess: it gets its 401 with the reason, not 429.
    expired = make_jwt({"sub": "h-alice", "org": "h-org", "role": "member", "iat": now - 7200, "exp": now - 3600, "jti": "y"})
    status, _, body = http("GET", limited.url + "/v1/memories", token=expired)
    assert status == 401 and "expired" in body["error"]["message"]
    assert limited.alive()


@pytest.fixture(scope="module")
def proxied():
    s = fast_server("hardening-proxy", ENGRAM_RATE_AUTH_FAILURE_BURST="3", ENGRAM_RATE_AUTH_FAILURES_PER_MIN="6",
                    ENGRAM_TRUSTED_PROXIES="10.9.9.9, 127.0.0.0/8")
    yield s
    s.stop()


def test_trusted_proxy_forwarded_clients_have_their_own_buckets(proxied):
    bad = {"X-Forwarded-For": "203.0.113.10, 127.0.0.1"}
    codes = [http("GET", proxied.url + "/v1/memories", token="bogus", headers=bad)[0] for _ in range(8)]
    assert 429 in codes
    # Another client behind the same proxy (same TCP peer) is not affected; nor is one named by `Forwarded`.
    status, _, _ = http("GET", proxied.url + "/v1/memories", token="bogus", headers={"X-Forwarded-For": "203.0.113.11"})
    assert status == 401
    status, _, _ = http("GET", proxied.url + "/v1/memories", token="bogus", headers={"Forwarded": 'for="[2001:db8::5]:4711"'})
    assert status == 401
    # Through the proxy, /metrics is not a loopback scrape any more.
    assert http("GET", proxied.url + "/metrics", headers={"X-Forwarded-For": "203.0.113.12"})[0] == 401
    assert http("GET", proxied.url + "/metrics")[0] == 200


def test_forwarding_headers_from_untrusted_peers_are_ignored_and_not_loopback(limited):
    # No trusted proxies: a spoofed X-Forwarded-For neither escapes the IP's bucket nor passes as loopback.
    assert http("GET", limited.url + "/metrics", headers={"X-Forwarded-For": "127.0.0.1"})[0] == 401
    assert http("GET", limited.url + "/metrics")[0] == 200


# Item 5: timeouts and the per-IP connection cap (raw sockets).
@pytest.fixture(scope="module")
def idle_server():
    s = fast_server("hardening-idle", ENGRAM_IDLE_TIMEOUT="2", ENGRAM_HEADER_TIMEOUT="30", ENGRAM_BODY_TIMEOUT="30")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def slow_server():
    s = fast_server("hardening-slow", ENGRAM_MAX_CONNECTIONS_PER_IP="4",
                    ENGRAM_IDLE_TIMEOUT="30", ENGRAM_HEADER_TIMEOUT="2", ENGRAM_BODY_TIMEOUT="2")
    yield s
    s.stop()


def connect(server, timeout=10):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    return s


def closed_within(sock, seconds):
    """Reads until EOF; True when the server closed the connection within `seconds`."""
    deadline = time.time() + seconds
    try:
        while time.time() < deadline:
            sock.settimeout(max(0.05, deadline - time.time()))
            if sock.recv(65536) == b"":
                return True
    except socket.timeout:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    return False


def get_healthz(sock):
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: engram\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_idle_keep_alive_connection_is_closed(idle_server):
    s = connect(idle_server)
    # A client that keeps talking keeps its connection.
    for _ in range(3):
        assert get_healthz(s).startswith(b"HTTP/1.1 200")
        time.sleep(1)
    assert closed_within(s, 8), "an idle keep-alive connection must be closed"
    s.close()


def test_half_sent_headers_are_closed(slow_server):
    s = connect(slow_server)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: engram\r\nX-Slow: ")
    start = time.time()
    assert closed_within(s, 8), "a request head that never completes must be closed"
    assert time.time() - start < 8
    s.close()


def test_trickled_body_is_closed(slow_server):
    s = connect(slow_server)
    s.sendall(b"POST /v1/memories HTTP/1.1\r\nHost: engram\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
    deadline, closed = time.time() + 8, False
    try:
        while time.time() < deadline:  # one byte a second never completes a 100-byte body
            s.sendall(b"{")
            s.settimeout(1)
            try:
                if s.recv(65536) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    assert closed, "a trickled body must be cut off"
    s.close()


def test_connections_per_ip_are_capped(slow_server):
    held = [connect(slow_server) for _ in range(4)]
    time.sleep(0.3)
    extra = connect(slow_server)
    extra.settimeout(5)
    try:
        data = extra.recv(65536)
    except ConnectionResetError:
        data = b""
    except socket.timeout:
        data = None
    assert data is not None, "the connection over the cap must be refused at once"
    assert data == b"" or data.startswith(b"HTTP/1.1 503"), data
    assert closed_within(extra, 5)
    extra.close()
    # The admitted connections keep working.
    for s in held:
        assert get_healthz(s).startswith(b"HTTP/1.1 200")
    held.pop().close()
    # The freed place is reusable once the server has seen the close (asynchronous: retry briefly).
    deadline, answer = time.time() + 10, b""
    while time.time() < deadline and not answer.startswith(b"HTTP/1.1 200"):
        again = connect(slow_server)
        try:
            answer = get_healthz(again)
        except OSError:
            answer = b""
        again.close()
        if not answer.startswith(b"HTTP/1.1 200"):
            time.sleep(0.2)
    assert answer.startswith(b"HTTP/1.1 200")
    for s in held:
        s.close()
    time.sleep(0.5)  # the server releases closed connections asynchronously
    assert slow_server.alive()


# Item 9: the origin check follows the matched route, not the raw path.
def test_origin_check_applies_to_every_spelling_of_the_mcp_route(limited):
    token = limited.token("h-oscar", org="h-org")
    for path in ["/mcp/h-oscar", "//mcp/h-oscar", "/mcp//h-oscar"]:
        status, _, _ = http("POST", limited.url + path, PING, token=token, headers={"Origin": "http://evil.example"})
        assert status == 403, path


# Item 10: the write limit is per verified token, whatever the header's spelling.
def test_write_limit_is_per_token_not_per_header_text(limited):
    token = limited.token("h-wendy", org="h-org")
    spellings = [f"Bearer {token}", f"bearer {token}", f"BEARER {token}", f"Bearer   {token} "]
    statuses = []
    for i in range(16):
        status, _, _ = http("POST", limited.url + "/v1/memories", {"content": f"hardening write number {i} " + "q" * i},
                            headers={"Authorization": spellings[i % 4]})
        statuses.append(status)
    assert statuses[0] == 201 and 429 in statuses, statuses


# Item 12: CORS and HSTS on every response, errors included; /mcp usable from an allowed origin.
@pytest.fixture(scope="module")
def browser_server():
    s = fast_server("hardening-browser", "--behind-tls", ENGRAM_ALLOWED_ORIGINS="http://localhost:3000",
                    ENGRAM_CORS_ORIGIN="https://console.example")
    yield s
    s.stop()


def lower(hdrs):
    return {k.lower(): v for k, v in hdrs.items()}


def test_hsts_and_cors_on_error_responses(browser_server):
    for path, token in [("/v1/memories", None), ("/v1/memories", "bogus"), ("/nope", None), ("/healthz", None)]:
        status, hdrs, _ = http("GET", browser_server.url + path, token=token, headers={"Origin": "https://console.example"})
        h = lower(hdrs)
        assert "max-age" in h.get("strict-transport-security", ""), (path, status)
        assert h.get("access-control-allow-origin") == "https://console.example", (path, status)
        assert "frame-ancestors 'none'" in h["content-security-policy"]


def test_mcp_preflight_and_responses_for_allowed_origins(browser_server):
    origin = {"Origin": "http://localhost:3000"}
    status, hdrs, _ = http("OPTIONS", browser_server.url + "/mcp/h-bea",
                           headers=dict(origin, **{"Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version"}))
    h = lower(hdrs)
    assert status == 204 and h["access-control-allow-origin"] == "http://localhost:3000"
    assert "POST" in h["access-control-allow-methods"]
    allowed = {x.strip().lower() for x in h["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "mcp-protocol-version", "mcp-session-id", "last-event-id"} <= allowed
    token = browser_server.token("h-bea", org="h-org")
    status, hdrs, _ = http("POST", browser_server.url + "/mcp/h-bea", PING, token=token, headers=origin)
    h = lower(hdrs)
    assert status == 200 and h["access-control-allow-origin"] == "http://localhost:3000" and "origin" in h["vary"].lower()
    assert "mcp-session-id" in h["access-control-expose-headers"].lower() and "www-authenticate" in h["access-control-expose-headers"].lower()
    status, hdrs, _ = http("POST", browser_server.url + "/mcp/h-bea", PING, token="bogus", headers=origin)
    assert status == 401 and lower(hdrs)["access-control-allow-origin"] == "http://localhost:3000"
    # Foreign origins still get neither a preflight nor the endpoint.
    status, hdrs, _ = http("OPTIONS", browser_server.url + "/mcp/h-bea", headers={"Origin": "http://evil.example"})
    assert status == 403 and "access-control-allow-origin" not in lower(hdrs)


# Item 14: an early 413 closes the connection, so clients that send everything first get it promptly.
def test_early_413_reaches_urllib_and_closes_the_connection(server, tokens):
    big = b'{"content": "' + b"a" * (8 << 20) + b'"}'
    for path in ["/v1/memories", "/mcp/alice"]:
        start = time.time()
        status, hdrs, _ = http("POST", server.url + path, raw=big, token=tokens["alice"])
        assert status == 413 and time.time() - start < 10, (path, status)
    # Raw keep-alive client: the 413 says Connection: close and the server closes once the body is in.
    s = connect(server)
    head = (f"POST /v1/memories HTTP/1.1\r\nHost: engram\r\nAuthorization: Bearer {tokens['alice']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {3 << 20}\r\n\r\n").encode()
    s.sendall(head + b"x" * (2 << 20))
    s.settimeout(10)
    response = s.recv(65536)
    assert response.startswith(b"HTTP/1.1 413") and b"connection: close" in response.lower(), response[:200]
    try:
        s.sendall(b"x" * (1 << 20))
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert closed_within(s, 10), "the connection must be closed after an early 413"
    s.close()
    assert server.alive()


# Item 16: JWT time claims, lifetime, org-bound roles, secret strength.
def test_jwt_time_claims_lifetime_and_org_bound_roles(server, tokens):
    now = int(time.time())
    base = {"sub": "alice", "org": "acme", "role": "member", "iat": now, "exp": now + 600, "jti": str(uuid.uuid4())}
    cases = {
        "future iat": dict(base, iat=now + 3600, exp=now + 7200),
        "future nbf": dict(base, nbf=now + 3600),
        "1000 years": dict(base, exp=now + 1000 * 366 * 86400),
        "400 days": dict(base, exp=now + 400 * 86400),
    }
    for name, claims in cases.items():
        status, _, body = http("GET", server.url + "/v1/me", token=make_jwt(claims))
        assert status == 401, (name, status, body)
    # Small clock skew is tolerated.
    assert http("GET", server.url + "/v1/me", token=make_jwt(dict(base, iat=now + 20, nbf=now + 20)))[0] == 200
    # A token without an org carries no org role.
    server.token("h-solo")
    status, _, body = http("GET", server.url + "/v1/me", token=make_jwt(dict(base, sub="h-solo", org=None, role="owner")))
    assert status == 200 and body["role"] == "member" and body["org_id"] is None


def test_weak_signing_secret_is_refused_outside_dev_mode():
    for weak in ["a" * 32, "ab" * 24]:
        s = EngramServer("hardening-weak", ENGRAM_JWT_SECRET=weak, ENGRAM_EMBEDDER="none")
        r = subprocess.run([BIN, "serve", "--port", str(s.port), "--data-dir", str(s.data)], env=s.env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "ENGRAM_JWT_SECRET" in r.stderr and "entropy" in r.stderr, r.stderr[-500:]


def cli(server, *args):
    return subprocess.run([BIN, *args, "--data-dir", str(server.data)], env=server.env, capture_output=True, text=True, timeout=60)


# Item 17: issuing a token never changes a membership.
def test_token_issue_never_changes_membership(limited):
    admin = limited.token("h-ada", org="h-cli", role="admin")
    viewer_token = limited.token("h-ada", org="h-cli", role="viewer")
    status, _, body = http("GET", limited.url + "/v1/me", token=viewer_token)
    assert status == 200 and body["role"] == "viewer"
    status, _, body = http("GET", limited.url + "/v1/admin/members", token=admin)
    assert status == 200 and {m["user_id"]: m["role"] for m in body["members"]}["h-ada"] == "admin", "the member was demoted"
    r = cli(limited, "token", "issue", "--user", "h-ada", "--org", "h-cli", "--role", "owner")
    assert r.returncode != 0 and r.stdout == "" and "admin" in r.stderr
    r = cli(limited, "token", "issue", "--user", "h-solo2", "--role", "admin")
    assert r.returncode != 0 and "--org" in r.stderr
    r = cli(limited, "token", "issue", "--user", "h-ada", "--org", "h-cli", "--days", "400")
    assert r.returncode != 0 and "366" in r.stderr


# Item 18: the jti is printed (stderr), revoke validates it, /readyz does not count memories.
def test_token_issue_prints_jti_and_revoke_validates_it(limited):
    r = cli(limited, "token", "issue", "--user", "h-rex", "--org", "h-org")
    assert r.returncode == 0
    token = r.stdout.strip()
    SENT.add(token)
    assert r.stdout == token + "\n", "stdout is exactly the token"
    jti = claims_of(token)["jti"]
    assert re.search(rf"^jti: {jti}$", r.stderr, re.M) and re.search(r"^expires: \d{4}-\d\d-\d\dT", r.stderr, re.M), r.stderr
    r = cli(limited, "token", "revoke", "--jti", "not-a-jti")
    assert r.returncode != 0 and "UUID" in r.stderr
    r = cli(limited, "token", "revoke", "--jti", jti)
    assert r.returncode == 0 and "revoked" in r.stdout and "already" not in r.stdout
    r = cli(limited, "token", "revoke", "--jti", jti.upper())
    assert r.returncode == 0 and "already revoked" in r.stdout
    assert http("GET", limited.url + "/v1/memories", token=token)[0] == 401


def test_readiness_does_not_expose_the_memory_count(limited):
    status, _, body = http("GET", limited.url + "/readyz")
    assert status == 200 and body["status"] == "ready" and "memories" not in body


def test_edge_settings_are_validated_at_start_up():
    for flags, expected in [(["--header-timeout", "0"], "--header-timeout"), (["--trusted-proxies", "proxy.example"], "proxy.example"),
                            (["--max-connections-per-ip", "0"], "--max-connections-per-ip")]:
        s = EngramServer("hardening-flags", ENGRAM_EMBEDDER="none")
        r = subprocess.run([BIN, "serve", "--port", str(s.port), "--data-dir", str(s.data), *flags], env=s.env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and expected in r.stderr, r.stderr[-500:]
