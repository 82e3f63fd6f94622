"""OAuth Client ID Metadata Documents (docs/oauth.md, "Client ID Metadata Documents"): a client whose
client_id is an HTTPS URL is described by the JSON document at that URL. The documents are served here
by a real HTTPS server on 127.0.0.1 (Python's http.server over TLS, a certificate made with openssl for
`localhost`), which Engram trusts through ENGRAM_OUTBOUND_CA_FILE.

The module's server, `cimd`, allow-lists the host name `localhost` (ENGRAM_OAUTH_CLIENT_METADATA_ALLOW),
so `https://localhost:PORT/...` may be fetched although it is loopback; everything else private stays
refused. A second server, `cimd-strict`, allow-lists nothing: there even `localhost` is refused.

- The official MCP SDK's OAuthClientProvider with `client_metadata_url` completes the flow (sign-in,
  consent showing the document's host, code + PKCE, tools and search over the session).
- Attack tests: metadata URLs on private, loopback, link-local and reserved addresses (as literals and, on
  the strict server, as a name) are refused before any connection (the document server sees no
  request); oversized documents (with and without Content-Length); a redirect (not followed); a slow
  server (time limit); documents naming another client_id or carrying a secret; caching.
"""
import http.server
import json
import pathlib
import socket
import ssl
import subprocess
import threading
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from conftest import EngramServer
from helpers import is_error, new_password, structured, text
from test_oauth import (CLIENT_NAME, REDIRECT, Browser, MemoryTokenStorage, PersonAtTheBrowser, TokenRequestLog,
                        oauth_mcp_session, pkce, resource_of, run, sdk_provider)

ORG = "cimdorg"


# ---------------------------------------------------------------------------------------- documents

class DocumentServer:
    """HTTPS on 127.0.0.1 with a certificate for localhost and 127.0.0.1; serves `documents` (path →
    (status, headers, body bytes, delay seconds, declare length)) and counts requests per path."""

    def __init__(self, directory: pathlib.Path):
        self.cert = directory / "cert.pem"
        key = directory / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(key), "-out", str(self.cert), "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        self.hits = {}
        self.documents = {}
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self):
                owner.hits[self.path] = owner.hits.get(self.path, 0) + 1
                status, headers, body, delay, declare = owner.documents.get(self.path, (404, {}, b"{}", 0, True))
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    if declare:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert), str(key))
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path, host="localhost"):
        return f"https://{host}:{self.port}{path}"

    def publish(self, path, document=None, status=200, headers=None, body=None, delay=0, declare=True):
        if body is None:
            body = json.dumps(document).encode()
        self.documents[path] = (status, {"Content-Type": "application/json", **(headers or {})}, body, delay, declare)

    def client_document(self, path, **changes):
        doc = {"client_id": self.url(path), "client_name": CLIENT_NAME, "redirect_uris": [REDIRECT],
               "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
               "token_endpoint_auth_method": "none"}
        doc.update(changes)
        return {k: v for k, v in doc.items() if v is not None}

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    d = DocumentServer(tmp_path_factory.mktemp("cimd-tls"))
    yield d
    d.stop()


def start_server(name, documents, **env):
    s = EngramServer(name, ENGRAM_OUTBOUND_CA_FILE=str(documents.cert), **env)
    try:
        s.start()
        s.passwords = {"alice": s.set_password("alice", new_password("alice"), org=ORG, role="member")}
    except BaseException:
        s.stop()
        raise
    return s


@pytest.fixture(scope="module")
def cimd(documents):
    s = start_server("cimd", documents, ENGRAM_OAUTH_CLIENT_METADATA_ALLOW="localhost")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def strict(documents):
    s = start_server("cimd-strict", documents)
    yield s
    s.stop()


def authorize(server, client_id, browser=None):
    """GET /oauth/authorize for `client_id` (as `browser`'s user, or without a session)."""
    _, challenge = pkce()
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
                       "code_challenge": challenge, "code_challenge_method": "S256", "state": "st",
                       "resource": resource_of(server)})
    if browser:
        return browser.page(f"/oauth/authorize?{query}"), query
    return httpx.get(f"{server.url}/oauth/authorize?{query}", timeout=60, follow_redirects=False), query


def assert_refused(r, *words):
    """The authorization server shows the error (400, plain text) and never redirects to the client."""
    assert r.status_code == 400, (r.status_code, r.headers.get("location"), r.text[:300])
    assert "location" not in r.headers, r.headers
    assert "code=" not in r.text
    for w in words:
        assert w in r.text, r.text


# ---------------------------------------------------------------------------------------- the SDK

def test_metadata_advertises_client_id_metadata_documents(cimd):
    meta = httpx.get(f"{cimd.url}/.well-known/oauth-authorization-server", timeout=60).json()
    assert meta["client_id_metadata_document_supported"] is True, meta
    assert meta["token_endpoint_auth_methods_supported"] == ["none"], meta


def test_sdk_completes_the_flow_with_a_url_client_id(cimd, documents):
    """The SDK, given client_metadata_url and seeing client_id_metadata_document_supported, skips
    registration and uses the URL as its client_id; Engram fetches and validates the document; the
    consent step names the document's host; the tokens carry the URL as `cid`."""
    path = "/sdk-client.json"
    documents.publish(path, documents.client_document(path), headers={"Cache-Control": "max-age=600"})
    person = PersonAtTheBrowser(cimd, "alice")
    storage = MemoryTokenStorage()
    hook = TokenRequestLog(cimd)
    provider = sdk_provider(cimd, person, storage, client_metadata_url=documents.url(path))

    async def session():
        async with oauth_mcp_session(cimd, "alice", provider, hook) as s:
            r = await s.call_tool("add_memory", {"content": "CIMD test: the staging deploy runs make ship-staging",
                                                 "tags": ["cimd"]})
            assert not is_error(r), text(r)
            mid = structured(r)["memory"]["id"]
            r = await s.call_tool("search_memories", {"query": "how is staging deployed", "limit": 5})
            assert not is_error(r), text(r)
            assert mid in [x["memory"]["id"] for x in structured(r)["results"]]

    try:
        run(session())
    finally:
        person.browser.close()
    assert storage.client_info is not None and storage.client_info.client_id == documents.url(path)
    params = dict(parse_qsl(urlsplit(person.authorization_urls[0]).query))
    assert params["client_id"] == documents.url(path), params
    assert person.consents and person.consents[0]["client_host"] == "localhost", person.consents
    grants = [g for g in hook.grants if g.get("grant_type") == "authorization_code"]
    assert grants and grants[0]["client_id"] == documents.url(path), grants
    assert documents.hits.get(path, 0) == 1, documents.hits  # authorize, inspect and consent: one fetch (cached)


# ---------------------------------------------------------------------------------------- attacks

@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]"])
def test_a_metadata_url_on_a_loopback_literal_is_refused_without_a_request(cimd, documents, host):
    path = "/probe-" + host.strip("[]").replace(":", "-").replace(".", "-") + ".json"
    url = f"https://{host}:{documents.port}{path}"
    documents.publish(path, {"client_id": url, "client_name": "probe", "redirect_uris": [REDIRECT]})
    r, _ = authorize(cimd, url)
    assert_refused(r, "private")
    assert documents.hits.get(path, 0) == 0, "the server connected to a private address"


@pytest.mark.parametrize("url", ["https://169.254.169.254/latest/meta-data/iam.json", "https://10.0.0.1/client.json",
                                 "https://192.168.1.1:8443/client.json", "https://[fd00::1]/client.json",
                                 "https://0.0.0.0/client.json"])
def test_a_metadata_url_on_a_private_address_is_refused(cimd, url):
    # Refused before connecting: a connection to these would end as "timed out" or "connection failed".
    r, _ = authorize(cimd, url)
    assert_refused(r, "private")


def test_a_name_resolving_to_loopback_is_refused_unless_allow_listed(strict, cimd, documents):
    path = "/by-name.json"
    documents.publish(path, documents.client_document(path))
    r, _ = authorize(strict, documents.url(path))
    assert_refused(r, "private")
    assert documents.hits.get(path, 0) == 0
    # The same document on the server that allow-lists localhost: fetched and accepted (a session-less
    # request is sent to sign in, so it got past the client check).
    r, _ = authorize(cimd, documents.url(path))
    assert r.status_code == 302 and r.headers["location"].startswith("/signin"), (r.status_code, r.text[:300])
    assert documents.hits[path] == 1


def test_oversized_documents_are_refused(cimd, documents):
    path = "/big.json"
    documents.publish(path, documents.client_document(path, client_name="x" * 100, logo_uri="https://a.example/" + "y" * 20000))
    r, _ = authorize(cimd, documents.url(path))
    assert_refused(r, "larger than")
    # Without a Content-Length the body is read up to the limit and no further.
    path = "/big-stream.json"
    body = json.dumps(documents.client_document(path, padding="z" * 200_000)).encode()
    documents.publish(path, body=body, declare=False)
    r, _ = authorize(cimd, documents.url(path))
    assert_refused(r, "larger than")


def test_redirects_are_not_followed(cimd, documents):
    target = "/redirect-target.json"
    documents.publish(target, documents.client_document(target))
    path = "/redirect.json"
    documents.publish(path, status=302, headers={"Location": documents.url(target)}, body=b"")
    r, _ = authorize(cimd, documents.url(path))
    assert_refused(r, "HTTP 302")
    assert documents.hits.get(target, 0) == 0


def test_a_slow_document_server_hits_the_time_limit(cimd, documents):
    path = "/slow.json"
    documents.publish(path, documents.client_document(path), delay=30)
    started = time.monotonic()
    r, _ = authorize(cimd, documents.url(path))
    assert_refused(r, "timed out")
    assert time.monotonic() - started < 25  # the server holds the answer 30 s; the limit is 5


@pytest.mark.parametrize("label,changes", [
    ("another client_id", {"client_id": "https://elsewhere.example/client.json"}),
    ("a client secret", {"client_secret": "cimd-doc-secret-value"}),
    ("a javascript redirect", {"redirect_uris": ["javascript:alert(document.cookie)"]}),
    ("a confidential client", {"token_endpoint_auth_method": "client_secret_basic"}),
])
def test_documents_breaking_the_rules_are_refused(cimd, documents, label, changes):
    path = "/bad-" + label.replace(" ", "-") + ".json"
    documents.publish(path, documents.client_document(path, **changes))
    r, _ = authorize(cimd, documents.url(path))
    assert_refused(r, "metadata document")


def test_a_redirect_uri_missing_from_the_document_is_refused(cimd, documents):
    path = "/narrow.json"
    documents.publish(path, documents.client_document(path, redirect_uris=["http://127.0.0.1:1/only-this"]))
    r, _ = authorize(cimd, documents.url(path))
    assert_refused(r, "redirect URI")


def test_plain_http_and_unknown_documents(cimd, documents):
    r, _ = authorize(cimd, f"http://localhost:{documents.port}/client.json")
    assert_refused(r, "unknown client")
    r, _ = authorize(cimd, documents.url("/missing.json"))
    assert_refused(r, "HTTP 404")


def test_documents_are_cached(cimd, documents):
    path = "/cached.json"
    documents.publish(path, documents.client_document(path), headers={"Cache-Control": "max-age=300"})
    for _ in range(3):
        r, _ = authorize(cimd, documents.url(path))
        assert r.status_code == 302, r.text[:300]
    assert documents.hits[path] == 1, documents.hits
