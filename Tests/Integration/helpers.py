"""Small HTTP and MCP helpers for the integration tests."""
import base64
import contextlib
import hashlib
import hmac
import json
import random
import secrets
import string
import time
import urllib.error
import urllib.request

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


# Every memory text, query, secret and token the suite sends: the log-hygiene test
# (test_zz_log_hygiene.py) checks that none of them reached a server log.
SENT = set()


def remember(value):
    if isinstance(value, str):
        if len(value) >= 12:
            SENT.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            remember(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            remember(v)


def http(method, url, body=None, token=None, headers=None, raw=None):
    """Returns (status, headers, parsed JSON or text)."""
    remember(body)
    if token:
        SENT.add(token)
    if "?" in url:
        from urllib.parse import parse_qsl, urlsplit
        remember([v for _, v in parse_qsl(urlsplit(url).query)])
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, hdrs, payload = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, payload = e.code, dict(e.headers), e.read()
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = payload.decode(errors="replace")
    return status, hdrs, parsed


def totp(secret_base32, t=None, step=30, digits=6):
    """The RFC 6238 code (HMAC-SHA-1, 6 digits, 30 s steps) of a base32 secret at time `t` (default now)."""
    compact = secret_base32.replace(" ", "").replace("-", "").upper()
    key = base64.b32decode(compact + "=" * (-len(compact) % 8))
    counter = int((time.time() if t is None else t) // step)
    mac = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF) % 10 ** digits
    return f"{code:0{digits}d}"


def totp_step(t=None, step=30):
    """The RFC 6238 time step of `t` (default now)."""
    return int((time.time() if t is None else t) // step)


def fresh_totp(secret_base32, after_step):
    """A code of a step later than `after_step`, waiting for that step if need be (up to 30 s): a code
    is accepted once, so a code of a step already used is refused as a replay."""
    while totp_step() <= after_step:
        time.sleep(0.2)
    return totp(secret_base32), totp_step()


def new_password(user=""):
    """A random password that meets the server's rules (12–72 bytes, 6 distinct characters, not the
    user id, not a common one); recorded in SENT."""
    while True:
        password = "Pw-" + secrets.token_urlsafe(18)
        if len(user) < 3 or user.lower() not in password.lower():
            SENT.add(password)
            return password


def rpc(server, user, token, method, params=None, id=1, headers=None):
    msg = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return http("POST", f"{server.url}/mcp/{user}", msg, token=token, headers=headers)


@contextlib.asynccontextmanager
async def mcp_session(server, user, token):
    """An initialised session of the official Python MCP SDK against /mcp/{user}."""
    SENT.add(token)
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with client:
        async with streamable_http_client(f"{server.url}/mcp/{user}", http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def fake_github_token():
    """A checksum-valid GitHub-style token assembled at run time (no literal in the repo)."""
    import zlib
    alphabet = string.digits + string.ascii_uppercase + string.ascii_lowercase
    body = "".join(random.choice(alphabet) for _ in range(30))
    crc = zlib.crc32(body.encode()) & 0xFFFFFFFF
    digits = []
    for _ in range(6):
        digits.append(alphabet[crc % 62])
        crc //= 62
    token = "gh" + "p_" + body + "".join(reversed(digits))
    SENT.add(token)
    return token


def structured(result):
    """structuredContent of a CallToolResult (SDK object)."""
    return result.structured_content if hasattr(result, "structured_content") else result.structuredContent


def is_error(result):
    return result.is_error if hasattr(result, "is_error") else result.isError


def text(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def add_memories_through_mcp(server, user, token, texts, tags=("canary",)):
    """Adds each text with `add_memory` over one MCP session; returns the new memories' ids."""
    import asyncio

    async def go():
        async with mcp_session(server, user, token) as s:
            ids = []
            for t in texts:
                r = await s.call_tool("add_memory", {"content": t, "tags": list(tags)})
                ids.append(structured(r)["memory"]["id"])
            return ids
    return asyncio.run(go())
