"""OAuth 2.1 for MCP clients (docs/oauth.md): discovery, dynamic registration, authorization code + PKCE
with the accounts sign-in and a consent step, short-lived access tokens bound to one resource, rotating
refresh tokens with reuse detection, and revocation, against the real server.

The module runs its own server, `oauth`, whose access tokens live ACCESS_SECONDS (4) seconds, so expiry
and the SDK's refresh are seen without waiting an hour. `alice` and `bob` are members of `oauthorg`
with passwords.

- test_sdk_* drives the official MCP SDK's `OAuthClientProvider` end to end: the SDK discovers,
  registers and builds the authorization URL; `Browser` (an httpx client with a cookie jar that never
  follows redirects) plays the person: sign-in, consent page, Allow; the SDK exchanges the code, uses the
  session, and later refreshes the expired access token on its own.
- The attack tests speak raw HTTP: `register` a client, `authorize_query` builds the authorization
  request, `approve` runs it through the consent routes as a signed-in user and returns the code,
  `exchange`/`refresh_grant`/`revoke` talk to the token endpoints, `mcp_status` pings /mcp/{user}.
"""
import asyncio
import base64
import contextlib
import hashlib
import json
import secrets
import time
from urllib.parse import parse_qs, parse_qsl, urlencode, urljoin, urlsplit

import anyio
import httpx
import pytest
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from conftest import EngramServer, free_port
from helpers import SENT, http, is_error, mcp_session, new_password, rpc, structured, text

ORG = "oauthorg"
ACCESS_SECONDS = 4  # ENGRAM_OAUTH_ACCESS_TOKEN_SECONDS of this module's server
CLIENT_NAME = "Engram OAuth integration test"
CALLBACK_PORT = free_port()  # nothing listens there: redirects are read, never followed
REDIRECT = f"http://127.0.0.1:{CALLBACK_PORT}/callback"
REDIRECT_2 = f"http://127.0.0.1:{CALLBACK_PORT}/callback-two"


# ---------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def oauth():
    s = EngramServer("oauth", ENGRAM_OAUTH_ACCESS_TOKEN_SECONDS=str(ACCESS_SECONDS))
    try:
        s.start()
        s.passwords = {
            "alice": s.set_password("alice", new_password("alice"), org=ORG, role="member"),
            "bob": s.set_password("bob", new_password("bob"), org=ORG, role="member"),
        }
        s.owner = s.token("oauth-owner", org=ORG, role="owner")
    except BaseException:
        s.stop()
        raise
    yield s
    s.stop()


@pytest.fixture(scope="module")
def alice(oauth):
    """A browser signed in as alice (shared by the attack tests)."""
    b = Browser(oauth)
    b.sign_in("alice")
    yield b
    b.close()


@pytest.fixture(scope="module")
def client_a(oauth):
    """A registered public client with two loopback redirect URIs."""
    return register_ok(oauth, [REDIRECT, REDIRECT_2], name="Attack test client A")


@pytest.fixture(scope="module")
def client_b(oauth):
    """A second registered client with the same redirect URI as client A."""
    return register_ok(oauth, [REDIRECT], name="Attack test client B")


# ---------------------------------------------------------------------------------------- helpers

class Browser:
    """A browser without a page: httpx with a cookie jar that never follows redirects; it keeps the
    session's CSRF token and sends it on writes, as the pages do."""

    def __init__(self, server):
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=60, follow_redirects=False)
        self.csrf = None

    def close(self):
        self.http.close()

    def sign_in(self, user):
        r = self.http.post("/v1/session", json={"user_id": user, "password": self.server.passwords[user]},
                           headers={"Accept": "application/json"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["user_id"] == user, body
        self.csrf = body["csrf_token"]
        SENT.add(self.csrf)
        cookie = self.http.cookies.get("engram_session")
        assert cookie, "sign-in set no session cookie"
        SENT.add(cookie)
        return body

    def page(self, url):
        """GET as a browser navigates (HTML wanted)."""
        return self.http.get(url, headers={"Accept": "text/html,application/xhtml+xml"})

    def post(self, path, body, csrf=True):
        """POST JSON (the bodies here hold authorization queries, no secrets, so nothing goes to SENT)."""
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        return self.http.post(path, json=body, headers=headers)


def pkce():
    """A (verifier, S256 challenge) pair; the verifier is recorded in SENT."""
    verifier = secrets.token_urlsafe(48)
    SENT.add(verifier)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def resource_of(server, user="alice"):
    return f"{server.url}/mcp/{user}"


def register(server, redirect_uris, name="Attack test client"):
    return httpx.post(f"{server.url}/oauth/register", json={"redirect_uris": redirect_uris, "client_name": name},
                      headers={"Accept": "application/json"}, timeout=60)


def register_ok(server, redirect_uris, name):
    r = register(server, redirect_uris, name)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["client_id"] and body["redirect_uris"] == redirect_uris, body
    return body


def authorize_query(server, client, challenge, redirect_uri=REDIRECT, state=None, method="S256",
                    resource=None, drop=(), **extra):
    """The query string (no '?') of an authorization request; parameters named in `drop` are left out."""
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": method,
        "state": state or secrets.token_urlsafe(16),
        "resource": resource or resource_of(server),
        "scope": "memories",
    }
    params.update(extra)
    return urlencode({k: v for k, v in params.items() if k not in drop and v is not None})


def query_param(query, name):
    return dict(parse_qsl(query)).get(name)


def redirect_params(server, location, redirect_uri, state):
    """The query of a redirect back to the client: it must go to `redirect_uri` (same scheme, host and
    path; a loopback port may differ by RFC 8252) and carry our `state` and the issuer (RFC 9207)."""
    parts, expected = urlsplit(location), urlsplit(redirect_uri)
    assert (parts.scheme, parts.hostname, parts.path) == (expected.scheme, expected.hostname, expected.path), location
    params = dict(parse_qsl(parts.query))
    assert params.get("state") == state, location
    assert params.get("iss") == server.url, location
    if params.get("code"):
        SENT.add(params["code"])
    return params


def approve(server, browser, client, challenge, redirect_uri=REDIRECT, resource=None, approve=True):
    """Runs authorize + consent as the browser's user; returns the parameters of the redirect back."""
    state = secrets.token_urlsafe(16)
    query = authorize_query(server, client, challenge, redirect_uri=redirect_uri, state=state, resource=resource)
    r = browser.page(f"/oauth/authorize?{query}")
    assert r.status_code == 200, (r.status_code, r.headers.get("location"), r.text[:300])
    r = browser.post("/v1/oauth/consent", {"query": query, "approve": approve})
    assert r.status_code == 200, r.text
    return redirect_params(server, r.json()["redirect"], redirect_uri, state)


def get_code(server, browser, client, challenge, redirect_uri=REDIRECT, resource=None):
    params = approve(server, browser, client, challenge, redirect_uri=redirect_uri, resource=resource)
    assert params.get("code") and "error" not in params, params
    return params["code"]


def token_request(server, form):
    """POST /oauth/token (form-encoded); the code, verifier and tokens sent or received go to SENT (the
    rest of the form, grant type and URLs, is no secret and may well be logged)."""
    for key in ("code", "code_verifier", "refresh_token", "token"):
        if form.get(key):
            SENT.add(form[key])
    r = httpx.post(f"{server.url}/oauth/token", data=form, headers={"Accept": "application/json"}, timeout=60)
    try:
        body = r.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("access_token", "refresh_token"):
            if isinstance(body.get(key), str):
                SENT.add(body[key])
    return r


def exchange(server, client_id, code, verifier, redirect_uri=REDIRECT, resource=None):
    return token_request(server, {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                  "client_id": client_id, "code_verifier": verifier,
                                  "resource": resource or resource_of(server)})


def refresh_grant(server, client_id, refresh_token):
    return token_request(server, {"grant_type": "refresh_token", "refresh_token": refresh_token,
                                  "client_id": client_id, "resource": resource_of(server)})


def revoke(server, client_id, token, hint=None):
    SENT.add(token)
    form = {"token": token, "client_id": client_id}
    if hint:
        form["token_type_hint"] = hint
    return httpx.post(f"{server.url}/oauth/revoke", data=form, timeout=60)


def assert_token_error(r, *errors):
    assert r.status_code == 400, (r.status_code, r.text)
    body = r.json()
    assert body["error"] in errors, body
    assert "access_token" not in body and "refresh_token" not in body, body


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def check_pair(server, r, client_id, user="alice"):
    """A successful token answer: a Bearer JWT for /mcp/{user} of this client, and a refresh token."""
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"].lower() == "bearer", body
    assert 0 < body["expires_in"] <= ACCESS_SECONDS, body
    assert body["access_token"] and body["refresh_token"], body
    assert body["refresh_token"] != body["access_token"]
    claims = jwt_claims(body["access_token"])
    aud = claims.get("aud")
    assert resource_of(server, user) in (aud if isinstance(aud, list) else [aud]), claims
    assert claims.get("cid") == client_id, claims
    return body


def fresh_pair(server, browser, client, redirect_uri=REDIRECT):
    """A new authorization of `client` by the browser's user: the token answer of its code."""
    verifier, challenge = pkce()
    code = get_code(server, browser, client, challenge, redirect_uri=redirect_uri)
    return check_pair(server, exchange(server, client["client_id"], code, verifier, redirect_uri=redirect_uri),
                      client["client_id"])


def mcp_status(server, user, token):
    """The HTTP status of a JSON-RPC ping to /mcp/{user} with `token` (200: accepted)."""
    status, headers, body = rpc(server, user, token, "ping")
    if status == 200:
        assert body.get("result") == {}, body
    return status


def www_authenticate(headers):
    return {k.lower(): v for k, v in headers.items()}.get("www-authenticate", "")


def assert_refused_with_challenge(server, user, token):
    """A 401 from /mcp/{user} that points the client at the resource's metadata."""
    status, headers, body = rpc(server, user, token, "ping")
    assert status == 401, (status, body)
    challenge = www_authenticate(headers)
    assert challenge.startswith("Bearer"), challenge
    assert f'resource_metadata="{server.url}/.well-known/oauth-protected-resource/mcp/{user}"' in challenge, challenge


def consent_mints_no_code(browser, query, errors=None, not_to=None):
    """POSTing the consent route directly (an attacker skipping the page) with Allow must not mint a code:
    either a 4xx, or an `{error}`, or a redirect that carries an error and no code."""
    r = browser.post("/v1/oauth/consent", {"query": query, "approve": True})
    assert "code=" not in r.text, r.text
    if r.status_code >= 400:
        assert r.status_code < 500, r.text
        return
    assert r.status_code == 200, r.text
    body = r.json()
    target = body.get("redirect")
    if not target:
        assert body.get("error"), body
        return
    if not_to:
        assert not target.startswith(not_to), f"consent redirected to the unregistered {target}"
    params = dict(parse_qsl(urlsplit(target).query))
    assert "code" not in params and params.get("error"), target
    if errors:
        assert params["error"] in errors, target


def audit_entries(server):
    status, _, body = http("GET", f"{server.url}/v1/admin/audit?limit=200", token=server.owner)
    assert status == 200, body
    return body["entries"]


def run(coro, timeout=180):
    return asyncio.run(asyncio.wait_for(coro, timeout))


# ---------------------------------------------------------------------------------------- the MCP SDK

class MemoryTokenStorage:
    """The SDK's TokenStorage, in memory; every token it stores is recorded in SENT."""

    def __init__(self):
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None
        self.history: list[OAuthToken] = []

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        SENT.add(tokens.access_token)
        if tokens.refresh_token:
            SENT.add(tokens.refresh_token)
        self.tokens = tokens
        self.history.append(tokens)

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


class PersonAtTheBrowser:
    """The SDK's redirect_handler and callback_handler: the redirect handler gets the authorization URL
    and does what the person would do in a browser (sign in when sent to /signin, read the consent page,
    Allow); the callback handler returns what the redirect back to the client carried."""

    def __init__(self, server, user="alice"):
        self.server = server
        self.user = user
        self.browser = Browser(server)
        self.authorization_urls = []
        self.consents = []  # the inspect answers
        self.result = None

    async def redirect_handler(self, authorization_url):
        self.authorization_urls.append(authorization_url)
        self.result = await anyio.to_thread.run_sync(self._consent, authorization_url)

    async def callback_handler(self):
        assert self.result is not None, "the redirect handler produced no code"
        result, self.result = self.result, None
        return result

    def _consent(self, authorization_url):
        server, b = self.server, self.browser
        parts = urlsplit(authorization_url)
        assert f"{parts.scheme}://{parts.netloc}" == server.url and parts.path == "/oauth/authorize", authorization_url
        query = parts.query
        params = dict(parse_qsl(query))
        assert params["code_challenge_method"] == "S256" and params["code_challenge"], params
        assert params["resource"] == resource_of(server, self.user), params
        assert params["redirect_uri"] == REDIRECT, params

        r = b.page(authorization_url)
        if b.csrf is None:
            # No session yet: the authorization server sends the person to the accounts sign-in.
            assert r.status_code == 302, (r.status_code, r.text[:300])
            location = urlsplit(urljoin(server.url, r.headers["location"]))
            assert location.path == "/signin", r.headers["location"]
            next_url = parse_qs(location.query)["next"][0]
            assert next_url.startswith("/oauth/authorize?"), next_url
            assert query_param(urlsplit(next_url).query, "client_id") == params["client_id"], next_url
            assert query_param(urlsplit(next_url).query, "state") == params["state"], next_url
            b.sign_in(self.user)
            r = b.page(authorization_url)
        assert r.status_code == 200, (r.status_code, r.headers.get("location"), r.text[:300])
        assert r.headers["content-type"].startswith("text/html"), r.headers

        r = b.post("/v1/oauth/consent/inspect", {"query": query})
        assert r.status_code == 200, r.text
        inspect = r.json()
        assert "error" not in inspect, inspect
        assert inspect["client_name"] == CLIENT_NAME, inspect
        assert inspect["user_id"] == self.user, inspect
        assert inspect["resource"] == resource_of(server, self.user), inspect
        assert "127.0.0.1" in inspect["redirect_host"], inspect
        self.consents.append(inspect)

        r = b.post("/v1/oauth/consent", {"query": query, "approve": True})
        assert r.status_code == 200, r.text
        back = redirect_params(server, r.json()["redirect"], REDIRECT, params["state"])
        assert back.get("code") and "error" not in back, back
        return AuthorizationCodeResult(code=back["code"], state=back["state"], iss=back["iss"])


class TokenRequestLog:
    """An httpx2 request hook on the SDK's client: records what the SDK sends to the token endpoint (the
    code, verifier and refresh token go to SENT)."""

    def __init__(self, server):
        self.server = server
        self.grants = []

    async def __call__(self, request):
        if request.method == "POST" and str(request.url) == f"{self.server.url}/oauth/token":
            form = dict(parse_qsl(request.content.decode()))
            for key in ("code", "code_verifier", "refresh_token"):
                if form.get(key):
                    SENT.add(form[key])
            self.grants.append(form)


def sdk_provider(server, person, storage, **extra):
    """The SDK's OAuth client for `person`'s user endpoint, as a public client with our redirect URI."""
    return OAuthClientProvider(
        server_url=resource_of(server, person.user),
        client_metadata=OAuthClientMetadata(client_name=CLIENT_NAME, redirect_uris=[REDIRECT],
                                            grant_types=["authorization_code", "refresh_token"],
                                            response_types=["code"], token_endpoint_auth_method="none"),
        storage=storage,
        redirect_handler=person.redirect_handler,
        callback_handler=person.callback_handler,
        **extra,
    )


@contextlib.asynccontextmanager
async def oauth_mcp_session(server, user, provider, hook):
    """An initialised SDK session on /mcp/{user} whose HTTP client authenticates with `provider`."""
    client = create_mcp_http_client(auth=provider)
    client.event_hooks = {"request": [hook], "response": []}
    async with client:
        async with streamable_http_client(f"{server.url}/mcp/{user}", http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def test_sdk_authorizes_with_pkce_and_refreshes_with_rotation(oauth):
    """The whole MCP authorization flow with the official SDK: discovery from the 401, dynamic
    registration, sign-in and consent in the browser, code + PKCE exchange, tools over the OAuth
    session; after the access token expires the SDK refreshes on its own (no new consent) and the
    refresh token rotates. The audit log records consent and token issue, never a code or token."""
    person = PersonAtTheBrowser(oauth, "alice")
    storage = MemoryTokenStorage()
    hook = TokenRequestLog(oauth)
    provider = sdk_provider(oauth, person, storage)
    content = "OAuth test: the nightly export lands in the analytics bucket at 02:00 UTC"

    async def first():
        async with oauth_mcp_session(oauth, "alice", provider, hook) as s:
            names = {t.name for t in (await s.list_tools()).tools}
            assert {"add_memory", "search_memories"} <= names, names
            r = await s.call_tool("add_memory", {"content": content, "tags": ["oauth"]})
            assert not is_error(r), text(r)
            mid = structured(r)["memory"]["id"]
            r = await s.call_tool("search_memories", {"query": "when does the nightly export land", "limit": 5})
            assert not is_error(r), text(r)
            assert mid in [x["memory"]["id"] for x in structured(r)["results"]]
            return mid

    try:
        mid = run(first())
    finally:
        person.browser.close()

    assert len(person.authorization_urls) >= 1 and len(person.consents) >= 1
    assert storage.client_info is not None and storage.client_info.client_id
    client_id = storage.client_info.client_id
    code_grants = [g for g in hook.grants if g.get("grant_type") == "authorization_code"]
    assert code_grants, hook.grants
    assert code_grants[0]["client_id"] == client_id and code_grants[0]["code_verifier"], code_grants[0]
    assert code_grants[0].get("resource") == resource_of(oauth, "alice"), code_grants[0]
    tokens = storage.tokens
    assert tokens is not None and tokens.refresh_token, "the token answer has no refresh token"
    assert jwt_claims(tokens.access_token).get("cid") == client_id
    first_refresh = tokens.refresh_token
    consents_before = len(person.authorization_urls)

    time.sleep(ACCESS_SECONDS + 1)  # the access token has expired
    assert_refused_with_challenge(oauth, "alice", tokens.access_token)

    async def second():
        async with oauth_mcp_session(oauth, "alice", provider, hook) as s:
            r = await s.call_tool("search_memories", {"query": "analytics bucket nightly export", "limit": 5})
            assert not is_error(r), text(r)
            assert mid in [x["memory"]["id"] for x in structured(r)["results"]]
            assert (await s.list_tools()).tools

    run(second())
    assert len(person.authorization_urls) == consents_before, "the SDK had to ask the person again: no refresh"
    assert any(g.get("grant_type") == "refresh_token" for g in hook.grants), hook.grants
    assert storage.tokens.refresh_token and storage.tokens.refresh_token != first_refresh, \
        "the refresh token did not rotate"
    assert storage.tokens.access_token != tokens.access_token
    assert mcp_status(oauth, "alice", storage.tokens.access_token) == 200

    entries = audit_entries(oauth)
    actions = [e["action"] for e in entries]
    assert "oauth.consent" in actions and "oauth.token" in actions, actions
    assert "oauth.refresh" in actions, actions
    consent = [e for e in entries if e["action"] == "oauth.consent"]
    assert any(client_id in json.dumps(e) for e in consent), consent
    dump = json.dumps(entries)
    for secret in [first_refresh, tokens.access_token, storage.tokens.refresh_token,
                   *[g.get("code") or "" for g in code_grants], *[g.get("code_verifier") or "" for g in code_grants]]:
        if secret:
            assert secret not in dump, "the audit log holds a code, verifier or token"


def test_static_bearer_tokens_keep_working_beside_oauth(oauth):
    """Regression: adding OAuth must not lock out the personal/CLI bearer tokens on the same endpoint."""
    token = oauth.token("alice", org=ORG)

    async def go():
        async with mcp_session(oauth, "alice", token) as s:
            names = {t.name for t in (await s.list_tools()).tools}
            assert {"add_memory", "search_memories"} <= names, names

    run(go())
    status, _, body = http("GET", f"{oauth.url}/v1/memories", token=token)
    assert status == 200, body


# ---------------------------------------------------------------------------------------- discovery

def test_discovery_metadata_and_401_challenge(oauth):
    """Discovery (RFC 9728, RFC 8414): the resource names its authorization server, the 401 points at
    the resource metadata, and the server advertises S256 only and public clients only."""
    url = oauth.url
    status, _, prm = http("GET", f"{url}/.well-known/oauth-protected-resource/mcp/alice")
    assert status == 200, prm
    assert prm["resource"] == f"{url}/mcp/alice", prm
    assert prm["authorization_servers"] == [url], prm
    assert prm["bearer_methods_supported"] == ["header"], prm
    assert prm["scopes_supported"] == ["memories"], prm
    assert "alice" in prm["resource_name"], prm

    status, _, prm_bob = http("GET", f"{url}/.well-known/oauth-protected-resource/mcp/bob")
    assert status == 200 and prm_bob["resource"] == f"{url}/mcp/bob", prm_bob

    for token in (None, "not-a-token"):
        status, headers, body = http("POST", f"{url}/mcp/alice", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                     token=token)
        assert status == 401, (status, body)
        challenge = www_authenticate(headers)
        assert challenge.startswith("Bearer"), challenge
        assert f'resource_metadata="{url}/.well-known/oauth-protected-resource/mcp/alice"' in challenge, challenge

    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        status, _, meta = http("GET", url + path)
        assert status == 200, (path, meta)
        assert meta["issuer"] == url, meta
        assert meta["authorization_endpoint"] == f"{url}/oauth/authorize", meta
        assert meta["token_endpoint"] == f"{url}/oauth/token", meta
        assert meta["registration_endpoint"] == f"{url}/oauth/register", meta
        assert meta["revocation_endpoint"] == f"{url}/oauth/revoke", meta
        assert meta["code_challenge_methods_supported"] == ["S256"], meta
        assert meta["response_types_supported"] == ["code"], meta
        assert sorted(meta["grant_types_supported"]) == ["authorization_code", "refresh_token"], meta
        assert meta["token_endpoint_auth_methods_supported"] == ["none"], meta
        assert meta["scopes_supported"] == ["memories"], meta
        assert meta["client_id_metadata_document_supported"] is True, meta  # docs/oauth.md, "Client ID Metadata Documents"


# ---------------------------------------------------------------------------------------- attacks

def test_missing_pkce_is_refused_before_consent(oauth, alice, client_a):
    """PKCE downgrade (code interception without PKCE): an authorization request without a
    code_challenge, or with a challenge but no method (which means `plain`), redirects back with
    invalid_request without showing the consent page, and the consent route mints no code for it."""
    _, challenge = pkce()
    for drop in (("code_challenge", "code_challenge_method"), ("code_challenge_method",)):
        state = secrets.token_urlsafe(16)
        query = authorize_query(oauth, client_a, challenge, state=state, drop=drop)
        r = alice.page(f"/oauth/authorize?{query}")
        assert r.status_code == 302, (drop, r.status_code, r.text[:300])
        params = redirect_params(oauth, r.headers["location"], REDIRECT, state)
        assert params.get("error") == "invalid_request" and "code" not in params, (drop, params)
        consent_mints_no_code(alice, query)


def test_plain_pkce_method_is_refused(oauth, alice, client_a):
    """PKCE downgrade to `plain` (the challenge is the verifier, so an intercepted request reveals it):
    code_challenge_method=plain redirects back with invalid_request and no code."""
    verifier, _ = pkce()
    state = secrets.token_urlsafe(16)
    query = authorize_query(oauth, client_a, verifier, state=state, method="plain")
    r = alice.page(f"/oauth/authorize?{query}")
    assert r.status_code == 302, (r.status_code, r.text[:300])
    params = redirect_params(oauth, r.headers["location"], REDIRECT, state)
    assert params.get("error") == "invalid_request" and "code" not in params, params
    consent_mints_no_code(alice, query)


def test_wrong_code_verifier_is_invalid_grant(oauth, alice, client_a):
    """Stolen authorization code without the verifier: the exchange with another verifier fails with
    invalid_grant, and one without any verifier is refused too."""
    verifier, challenge = pkce()
    code = get_code(oauth, alice, client_a, challenge)
    other_verifier, _ = pkce()
    assert_token_error(exchange(oauth, client_a["client_id"], code, other_verifier), "invalid_grant")
    r = token_request(oauth, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                              "client_id": client_a["client_id"], "resource": resource_of(oauth)})
    assert_token_error(r, "invalid_grant", "invalid_request")  # no verifier at all


def test_unregistered_redirect_uri_is_never_redirected_to(oauth, alice, client_a):
    """Open redirect / code theft via redirect_uri: an unregistered redirect URI (another host, or
    another path on the loopback host) or an unknown client gets a 400 page, never a redirect, and the
    consent route never sends the browser (or a code) there."""
    _, challenge = pkce()
    for redirect_uri in ("https://evil.example/cb", f"http://127.0.0.1:{CALLBACK_PORT}/evil"):
        query = authorize_query(oauth, client_a, challenge, redirect_uri=redirect_uri)
        r = alice.page(f"/oauth/authorize?{query}")
        assert r.status_code == 400, (redirect_uri, r.status_code, r.headers.get("location"))
        assert "location" not in r.headers, r.headers
        consent_mints_no_code(alice, query, not_to=redirect_uri)
    query = authorize_query(oauth, {"client_id": "no-such-client-" + secrets.token_hex(4)}, challenge)
    r = alice.page(f"/oauth/authorize?{query}")
    assert r.status_code == 400 and "location" not in r.headers, (r.status_code, r.headers)


def test_redirect_uri_at_token_must_be_the_codes(oauth, alice, client_a):
    """Redirect URI substitution at the token endpoint: a code issued for one registered redirect URI
    cannot be exchanged naming another registered one (invalid_grant)."""
    verifier, challenge = pkce()
    code = get_code(oauth, alice, client_a, challenge, redirect_uri=REDIRECT)
    assert_token_error(exchange(oauth, client_a["client_id"], code, verifier, redirect_uri=REDIRECT_2),
                       "invalid_grant")


def test_code_reuse_revokes_the_tokens_it_issued(oauth, alice, client_a):
    """Authorization code replay: the second exchange of a code fails with invalid_grant, and the
    access and refresh tokens of the first exchange are revoked."""
    verifier, challenge = pkce()
    code = get_code(oauth, alice, client_a, challenge)
    pair = check_pair(oauth, exchange(oauth, client_a["client_id"], code, verifier), client_a["client_id"])
    assert mcp_status(oauth, "alice", pair["access_token"]) == 200
    assert_token_error(exchange(oauth, client_a["client_id"], code, verifier), "invalid_grant")
    assert_refused_with_challenge(oauth, "alice", pair["access_token"])
    assert_token_error(refresh_grant(oauth, client_a["client_id"], pair["refresh_token"]), "invalid_grant")


def test_code_of_one_client_is_useless_to_another(oauth, alice, client_a, client_b):
    """Code injection across clients: client A's code exchanged with client B's client_id (same
    redirect URI, right verifier) fails with invalid_grant."""
    verifier, challenge = pkce()
    code = get_code(oauth, alice, client_a, challenge)
    assert_token_error(exchange(oauth, client_b["client_id"], code, verifier), "invalid_grant")


def test_access_token_is_bound_to_its_resource(oauth, alice, client_a):
    """Token replay on another resource (audience confusion): alice's OAuth token for /mcp/alice gets
    403 on /mcp/bob and 403 forbidden on the REST API."""
    pair = fresh_pair(oauth, alice, client_a)
    token = pair["access_token"]
    assert mcp_status(oauth, "alice", token) == 200
    status, _, body = rpc(oauth, "bob", token, "ping")
    assert status == 403, (status, body)
    status, _, body = http("GET", f"{oauth.url}/v1/memories", token=token)
    assert status == 403, (status, body)
    assert body["error"]["code"] == "forbidden", body


def test_expired_access_token_is_401(oauth, alice, client_a):
    """Use of an expired access token: after ENGRAM_OAUTH_ACCESS_TOKEN_SECONDS it gets 401 with the
    resource-metadata challenge (so the client refreshes)."""
    pair = fresh_pair(oauth, alice, client_a)
    assert mcp_status(oauth, "alice", pair["access_token"]) == 200
    time.sleep(ACCESS_SECONDS + 1)
    assert_refused_with_challenge(oauth, "alice", pair["access_token"])


def test_refresh_token_reuse_revokes_the_family(oauth, alice, client_a):
    """Refresh token replay (a stolen, already-rotated refresh token): refreshing rotates the pair;
    presenting the spent refresh token again fails with invalid_grant and revokes the whole family: the
    newest refresh token is refused and the newest access token gets 401. Audited as reuse_detected."""
    client_id = client_a["client_id"]
    first = fresh_pair(oauth, alice, client_a)
    second = check_pair(oauth, refresh_grant(oauth, client_id, first["refresh_token"]), client_id)
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert mcp_status(oauth, "alice", second["access_token"]) == 200
    assert_token_error(refresh_grant(oauth, client_id, first["refresh_token"]), "invalid_grant")
    assert_token_error(refresh_grant(oauth, client_id, second["refresh_token"]), "invalid_grant")
    assert_refused_with_challenge(oauth, "alice", second["access_token"])
    assert "oauth.reuse_detected" in [e["action"] for e in audit_entries(oauth)]


def test_registration_refuses_dangerous_redirect_uris(oauth):
    """Malicious client registration: a javascript: redirect URI (script execution on redirect) and a
    plain-http non-loopback one (code sent in clear to anyone) are refused with invalid_redirect_uri;
    a loopback http URI is accepted as a public client without a secret."""
    for uris in (["javascript:alert(1)"], ["http://evil.example/cb"]):
        r = register(oauth, uris)
        assert r.status_code == 400, (uris, r.status_code, r.text)
        assert r.json()["error"] == "invalid_redirect_uri", r.text
    r = register(oauth, ["http://127.0.0.1:9/cb"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["client_id"] and isinstance(body["client_id_issued_at"], int), body
    assert body["redirect_uris"] == ["http://127.0.0.1:9/cb"], body
    assert body["token_endpoint_auth_method"] == "none", body
    assert "authorization_code" in body["grant_types"] and body["response_types"] == ["code"], body
    assert not body.get("client_secret"), "a public client gets no secret"


def test_resource_of_another_user_or_server_is_refused(oauth, alice, client_a):
    """Audience escalation: alice, signed in, asks for a token for /mcp/bob (access_denied or
    invalid_target) or for a resource that is not this server's (invalid_target); no code is minted
    either way, whether the error comes from the authorization request or the consent route."""
    _, challenge = pkce()
    cases = [(resource_of(oauth, "bob"), {"access_denied", "invalid_target"}),
             ("https://evil.example/mcp/alice", {"invalid_target"})]
    for resource, errors in cases:
        state = secrets.token_urlsafe(16)
        query = authorize_query(oauth, client_a, challenge, state=state, resource=resource)
        r = alice.page(f"/oauth/authorize?{query}")
        if r.status_code == 302:
            params = redirect_params(oauth, r.headers["location"], REDIRECT, state)
            assert params.get("error") in errors and "code" not in params, (resource, params)
        else:
            # The consent page is shown; it must learn of the error from inspect.
            assert r.status_code == 200, (resource, r.status_code, r.text[:300])
            r = alice.post("/v1/oauth/consent/inspect", {"query": query})
            body = r.json()
            assert body.get("error"), (resource, body)
            if body.get("redirect"):
                params = redirect_params(oauth, body["redirect"], REDIRECT, state)
                assert params.get("error") in errors and "code" not in params, (resource, params)
        consent_mints_no_code(alice, query, errors=errors)


def test_resource_swap_at_token_endpoint_is_refused(oauth, alice, client_a):
    """Audience escalation at the token endpoint: a code issued for /mcp/alice exchanged naming
    /mcp/bob as the resource gives no token (invalid_grant or invalid_target)."""
    verifier, challenge = pkce()
    code = get_code(oauth, alice, client_a, challenge)
    r = exchange(oauth, client_a["client_id"], code, verifier, resource=resource_of(oauth, "bob"))
    assert_token_error(r, "invalid_grant", "invalid_target")


def test_revocation_kills_the_refresh_token_family(oauth, alice, client_a):
    """Revocation (RFC 7009), e.g. after a device is lost: revoking a refresh token answers 200 and the
    refresh token then fails with invalid_grant, and its access token stops working; revoking an access
    token stops that token at once."""
    client_id = client_a["client_id"]
    pair = fresh_pair(oauth, alice, client_a)
    assert mcp_status(oauth, "alice", pair["access_token"]) == 200
    r = revoke(oauth, client_id, pair["refresh_token"], hint="refresh_token")
    assert r.status_code == 200, r.text
    assert_token_error(refresh_grant(oauth, client_id, pair["refresh_token"]), "invalid_grant")
    assert_refused_with_challenge(oauth, "alice", pair["access_token"])

    other = fresh_pair(oauth, alice, client_a)
    assert mcp_status(oauth, "alice", other["access_token"]) == 200
    r = revoke(oauth, client_id, other["access_token"])
    assert r.status_code == 200, r.text
    assert_refused_with_challenge(oauth, "alice", other["access_token"])
    r = revoke(oauth, client_id, "not-a-token-" + secrets.token_hex(8))
    assert r.status_code == 200, "revocation answers 200 always (RFC 7009)"
    assert "oauth.revoke" in [e["action"] for e in audit_entries(oauth)]


def test_deny_at_consent_redirects_with_access_denied(oauth, alice, client_a):
    """Consent bypass: when the person clicks Deny, the client gets error=access_denied and no code."""
    _, challenge = pkce()
    params = approve(oauth, alice, client_a, challenge, approve=False)
    assert params.get("error") == "access_denied" and "code" not in params, params
    assert "oauth.deny" in [e["action"] for e in audit_entries(oauth)]
