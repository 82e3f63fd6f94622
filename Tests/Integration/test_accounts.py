"""Accounts (docs/accounts.md): passwords, TOTP and backup codes, invitation and reset links, browser
sessions (cookie, CSRF, re-prompt) and the member page /me, against the real server.

The tests run on servers of their own:
- `accounts` (module fixture): an ENGRAM_ENCRYPTION_KEY (production servers refuse TOTP without one),
  a re-prompt window of REAUTH_WINDOW seconds instead of 300 (so a stale password is seen without
  waiting five minutes), and a high sign-in limit, since several tests fail sign-ins on purpose, all
  from 127.0.0.1, and the timing test needs many failures.
- `accounts-lockout` (test_password_guessing_is_locked_out_and_audited): a small sign-in limit.

`Visitor` is a browser without a page: an httpx client whose cookie jar holds the session cookie and
which, like the pages, sends the session's CSRF token on writes.
"""
import asyncio
import json
import re
import secrets
import statistics
import time
import uuid
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from browser import (
    _console,
    _csp_violations,
    _path,
    _script_errors,
    _visible,
    _wait,
    accept_confirm,
    assert_session_only_in_http_only_cookie,
    session_cookie,
    wait_with_reauth,
)
from conftest import OUTPUT, EngramServer
from helpers import SENT, fresh_totp, http, is_error, mcp_session, new_password, remember, rpc, text, totp, totp_step

COOKIE = "engram_session"
REAUTH_WINDOW = 5  # seconds (ENGRAM_REAUTH_WINDOW_SECONDS); the default is 300
EVIL = "https://evil.example"
ENCRYPTION_KEY = secrets.token_hex(32)
SENT.add(ENCRYPTION_KEY)
SESSION_FIELDS = {"user_id", "org_id", "role", "csrf_token", "totp_enabled", "totp_enrolment_required",
                  "reauth_until", "expires_at"}
BACKUP_CODE = re.compile(r"[0-9A-Za-z]{5}-[0-9A-Za-z]{5}")


def _start(server):
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise


@pytest.fixture(scope="module")
def accounts():
    s = _start(EngramServer("accounts", ENGRAM_ENCRYPTION_KEY=ENCRYPTION_KEY,
                            ENGRAM_REAUTH_WINDOW_SECONDS=str(REAUTH_WINDOW),
                            ENGRAM_SIGNIN_FAILURE_BURST="1000", ENGRAM_SIGNIN_FAILURES_PER_MINUTE="1000"))
    yield s
    s.stop()


# ---------------------------------------------------------------------------------------- helpers

def error_code(response):
    """The `code` of an `{"error": {"code", "message"}}` body, or None."""
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _record_secrets(body):
    """Adds the secrets of an answer (tokens, links, TOTP secrets, backup codes, CSRF tokens) to SENT."""
    if not isinstance(body, dict):
        return
    for key in ("csrf_token", "token", "link", "secret", "otpauth_uri"):
        if isinstance(body.get(key), str) and body[key]:
            SENT.add(body[key])
    for code in body.get("backup_codes") or []:
        SENT.add(code)


def session_cookie_of(response):
    """The `engram_session` Set-Cookie header of a response, or None."""
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "=")]
    assert len(found) <= 1, found
    return found[0] if found else None


def cookie_status(server, value):
    """What GET /v1/session answers to a request carrying `value` as the session cookie (nothing else)."""
    SENT.add(value)
    return httpx.get(f"{server.url}/v1/session", headers={"Cookie": f"{COOKIE}={value}", "Accept": "application/json"},
                     timeout=60).status_code


def api(server, method, path, body=None, headers=None):
    """One request without cookies or token (links, sign-in probes)."""
    remember(body)
    r = httpx.request(method, server.url + path, json=body, headers={"Accept": "application/json", **(headers or {})},
                      timeout=60)
    try:
        _record_secrets(r.json())
    except ValueError:
        pass
    return r


class Visitor:
    """A browser without a page: httpx with a cookie jar; it keeps the CSRF token of the last answer
    that carried one (a Session) and sends it on writes, as the pages do."""

    def __init__(self, server):
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=60, headers={"Accept": "application/json"})
        self.csrf = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.http.close()

    @property
    def cookie(self):
        value = self.http.cookies.get(COOKIE)
        if value:
            SENT.add(value)
        return value

    def request(self, method, path, body=None, csrf=True, headers=None):
        """`csrf`: True sends the session's token on writes, False none, a string that value."""
        h = dict(headers or {})
        if method not in ("GET", "HEAD"):
            h.setdefault("Content-Type", "application/json")
            token = self.csrf if csrf is True else (csrf or None)
            if token:
                SENT.add(token)
                h["X-CSRF-Token"] = token
        remember(body)
        r = self.http.request(method, path, json=body, headers=h)
        try:
            data = r.json()
        except ValueError:
            data = None
        _record_secrets(data)
        if isinstance(data, dict) and isinstance(data.get("csrf_token"), str):
            self.csrf = data["csrf_token"]
        self.cookie  # noqa: B018  (records the current cookie value in SENT)
        return r

    def sign_in(self, user, password, totp_code=None, headers=None):
        body = {"user_id": user, "password": password}
        if totp_code is not None:
            SENT.add(totp_code)
            body["totp_code"] = totp_code
        return self.request("POST", "/v1/session", body, csrf=False, headers=headers)

    def refresh(self):
        """GET /v1/session (keeps its CSRF token)."""
        return self.request("GET", "/v1/session")

    def sign_out(self):
        r = self.request("DELETE", "/v1/session")
        assert r.status_code == 204, r.text
        return r


def link_secret(link, path):
    """The secret of an invitation or reset link: it travels in the fragment (`PATH#t=SECRET`), never in
    the path or query, so it never reaches a server log or a Referer."""
    SENT.add(link)
    parts = urlsplit(link)
    assert parts.path == path, link
    m = re.search(r"(?:^|&)t=([^&]+)", parts.fragment)
    assert m, f"no #t= secret in {link}"
    secret = unquote(m.group(1))
    assert secret not in parts.path + parts.query
    SENT.add(secret)
    return secret


def page_url(server, link):
    """The link on the test server (same path and fragment; the base may name another host)."""
    parts = urlsplit(link)
    return f"{server.url}{parts.path}#{parts.fragment}"


def invite(server, owner_token, user, role="member"):
    """An invitation link issued by an owner over REST (bearer token): returns (link, secret)."""
    status, _, body = http("POST", f"{server.url}/v1/admin/invitations", {"user_id": user, "role": role}, token=owner_token)
    assert status == 201, body
    _record_secrets(body)
    return body["link"], link_secret(body["link"], "/invite")


def cli_link(server, *args):
    """Runs a link-printing CLI command; the link is the last line of its output."""
    out = server.cli(*args, "--base-url", server.url)
    link = out.stdout.strip().splitlines()[-1].strip()
    SENT.add(link)
    return link


def enrol_totp(visitor):
    """Enrols TOTP over the API on a signed-in Visitor: returns (secret, backup codes, step of the code used)."""
    visitor.refresh()
    r = visitor.request("POST", "/v1/me/totp/setup")
    assert r.status_code in (200, 201), r.text
    secret, uri = r.json()["secret"], r.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/") and "secret=" in uri, uri
    now = time.time()
    r = visitor.request("POST", "/v1/me/totp/enable", {"code": totp(secret, now)})
    assert r.status_code == 200, r.text
    codes = r.json()["backup_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10 and all(BACKUP_CODE.fullmatch(c) for c in codes), codes
    visitor.refresh()  # enrolment gave the session a new id: fetch its CSRF token
    return secret, codes, totp_step(now)


# ---------------------------------------------------------------------------------------- the browser

def _token_row_status(driver, name):
    """data-status of the row of the token named `name` in the Tokens list, or None."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    try:
        for row in driver.find_elements(By.CSS_SELECTOR, "#tokens [data-testid=token-row]"):
            cells = row.find_elements(By.TAG_NAME, "td")
            if cells and cells[0].text.strip() == name:
                return row.get_attribute("data-status")
    except StaleElementReferenceException:
        return None
    return None


def _revoke_button(driver, name):
    from selenium.webdriver.common.by import By
    for row in driver.find_elements(By.CSS_SELECTOR, "#tokens [data-testid=token-row]"):
        cells = row.find_elements(By.TAG_NAME, "td")
        if cells and cells[0].text.strip() == name:
            return row.find_element(By.CSS_SELECTOR, "[data-testid=token-revoke]")
    raise AssertionError(f"no token row named {name}")


def test_invitation_to_revoked_token_in_the_browser(accounts, browser):
    """A new member's whole path in Chromium, as the issue describes it: an owner's invitation link
    (secret in the fragment) → a password on /invite → /me → TOTP enrolment and ten backup codes →
    sign-out → sign-in with password and a fresh TOTP code → a token created on /me (the password is
    older than the re-prompt window by then, so the page asks again; a backup code answers the second
    factor) → the official MCP SDK works with it → revoked on the page → the server refuses it (401).
    Throughout: the session lives in an HttpOnly, SameSite=Strict cookie, never in web storage, and the
    pages break no Content-Security-Policy rule."""
    from selenium.webdriver.common.by import By

    driver = browser
    org = "acct"
    accounts.set_password("owner1", new_password("owner1"), org=org, role="owner")
    owner = accounts.token("owner1", org=org, role="owner")
    link, _ = invite(accounts, owner, "newbie", "member")
    password = new_password("newbie")
    log = []

    try:
        # The invitation page: it shows the org and role and asks for a password twice.
        driver.get(page_url(accounts, link))
        _visible(driver, By.ID, "link-password").send_keys(password)
        driver.find_element(By.ID, "link-password-repeat").send_keys(password)
        summary = driver.find_element(By.ID, "link-summary").text
        assert org in summary and "member" in summary, summary
        driver.find_element(By.ID, "link-submit").click()
        _wait(driver, lambda d: _path(d) == "/me", "accepting the invitation did not lead to /me")
        log += _console(driver)

        # /me, signed in as the newcomer.
        _wait(driver, lambda d: d.find_element(By.ID, "me-user").text == "newbie", "/me does not show the user")
        first = assert_session_only_in_http_only_cookie(driver, password)

        # TOTP: the secret is shown once; a code from it turns TOTP on and shows ten backup codes.
        _visible(driver, By.ID, "totp-setup").click()
        _wait(driver, lambda d: d.find_element(By.ID, "totp-secret").text.strip(), "no TOTP secret shown")
        secret = driver.find_element(By.ID, "totp-secret").text.strip()
        SENT.add(secret)
        SENT.add(driver.find_element(By.ID, "totp-uri").text.strip())
        now = time.time()
        used_step = totp_step(now)
        driver.find_element(By.ID, "totp-code").send_keys(totp(secret, now))
        driver.find_element(By.ID, "totp-enable").click()
        wait_with_reauth(driver, password, lambda d: len(d.find_element(By.ID, "backup-codes").text.split()) == 10,
                         "ten backup codes were not shown")
        backup_codes = driver.find_element(By.ID, "backup-codes").text.split()
        SENT.update(backup_codes)
        assert len(set(backup_codes)) == 10 and all(BACKUP_CODE.fullmatch(c) for c in backup_codes), backup_codes
        # Enrolment gives the session a new id: the cookie from the invitation is dead.
        _wait(driver, lambda d: (session_cookie(d) or {}).get("value") not in (None, first["value"]),
              "TOTP enrolment did not renew the session id")
        assert cookie_status(accounts, first["value"]) == 401
        log += _console(driver)

        # Sign out: to /signin, and the server forgets the session.
        enrolled = session_cookie(driver)["value"]
        driver.find_element(By.ID, "signout").click()
        _wait(driver, lambda d: _path(d) == "/signin", "sign-out did not lead to /signin")
        assert cookie_status(accounts, enrolled) == 401
        log += _console(driver)

        # Sign in: the password, then the code row appears; a code of a later step than the one used at
        # enrolment (that one would be a replay).
        _visible(driver, By.ID, "signin-user").send_keys("newbie")
        driver.find_element(By.ID, "signin-password").send_keys(password)
        driver.find_element(By.ID, "signin-submit").click()
        _visible(driver, By.ID, "signin-totp-row")
        assert _path(driver) == "/signin"
        code, used_step = fresh_totp(secret, used_step)
        driver.find_element(By.ID, "signin-totp").send_keys(code)
        driver.find_element(By.ID, "signin-submit").click()
        _wait(driver, lambda d: _path(d) == "/me", "signing in with the TOTP code did not lead to /me")
        _wait(driver, lambda d: d.find_element(By.ID, "me-user").text == "newbie", "/me does not show the user")
        cookie = assert_session_only_in_http_only_cookie(driver, password, *backup_codes)
        assert cookie["httpOnly"] is True and cookie.get("sameSite") == "Strict", cookie
        log += _console(driver)

        # A token: creating one needs a password typed within the re-prompt window. Let it pass, so the
        # page must ask again (password and, TOTP being on, a backup code).
        _visible(driver, By.ID, "token-name")
        time.sleep(REAUTH_WINDOW + 1)
        name = f"laptop-{uuid.uuid4().hex[:6]}"
        driver.find_element(By.ID, "token-name").send_keys(name)
        driver.find_element(By.ID, "token-create").click()
        wait_with_reauth(driver, password, lambda d: d.find_element(By.ID, "token-value").get_attribute("value"),
                         "the new token was not shown", code=backup_codes[0], expect_prompt=True)
        token = driver.find_element(By.ID, "token-value").get_attribute("value")
        SENT.add(token)
        assert "/mcp/newbie" in driver.find_element(By.ID, "token-command").get_attribute("value")
        _wait(driver, lambda d: _token_row_status(d, name) == "active", "the new token is not listed as active")
        assert_session_only_in_http_only_cookie(driver, token)

        # Claude's path: the official MCP SDK with that token.
        content = f"Release notes for the payments service live in docs/releases, newest first ({uuid.uuid4().hex[:8]})"

        async def use():
            async with mcp_session(accounts, "newbie", token) as s:
                names = {t.name for t in (await s.list_tools()).tools}
                assert {"add_memory", "search_memories"} <= names, names
                r = await s.call_tool("add_memory", {"content": content})
                assert not is_error(r), text(r)

        asyncio.run(asyncio.wait_for(use(), 120))
        assert rpc(accounts, "newbie", token, "ping")[0] == 200

        # Revoke it on the page: the server refuses it from then on.
        _revoke_button(driver, name).click()
        accept_confirm(driver)
        wait_with_reauth(driver, password, lambda d: _token_row_status(d, name) == "revoked",
                         "the token is not shown as revoked", code=backup_codes[1])
        assert rpc(accounts, "newbie", token, "ping")[0] == 401

        async def refused():
            async with mcp_session(accounts, "newbie", token) as s:
                await s.list_tools()

        try:
            asyncio.run(asyncio.wait_for(refused(), 60))
        except TimeoutError:
            pytest.fail("the MCP SDK hung on a revoked token instead of failing")
        except Exception:  # noqa: BLE001  (the SDK's error for the 401; its type is the SDK's business)
            pass
        else:
            pytest.fail("the MCP SDK still works with a revoked token")

        log += _console(driver)
        assert _csp_violations(log) == [], _csp_violations(log)
        assert _script_errors(log) == [], _script_errors(log)
        driver.save_screenshot(str(OUTPUT / "accounts-me.png"))
    except BaseException:
        try:
            driver.save_screenshot(str(OUTPUT / "accounts-browser-failure.png"))
            (OUTPUT / "accounts-browser-failure.log").write_text("\n".join(str(e) for e in log + _console(driver)))
        except Exception:
            pass
        raise


def test_pages_send_strict_security_headers(accounts):
    """Every page (sign-in, /me, the link pages, /admin) carries a Content-Security-Policy without
    'unsafe-inline' (no injected script runs), refuses framing (clickjacking) and sends no Referer
    (the link secrets and paths stay here); the pages hold no inline script or style."""
    for path in ("/signin", "/me", "/invite", "/reset", "/admin"):
        status, headers, body = http("GET", accounts.url + path, headers={"Accept": "text/html"})
        assert status == 200, (path, status)
        headers = {k.lower(): v for k, v in headers.items()}
        assert headers.get("content-type", "").startswith("text/html"), (path, headers)
        csp = headers.get("content-security-policy")
        assert csp, f"GET {path} must carry a Content-Security-Policy header"
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, (path, csp)
        directives = {d.strip().split()[0]: d.strip().split()[1:] for d in csp.split(";") if d.strip()}
        scripts = directives.get("script-src", directives.get("default-src"))
        assert scripts and "'self'" in scripts and "*" not in scripts, (path, csp)
        assert headers.get("x-frame-options", "").upper() == "DENY", (path, headers)
        assert headers.get("referrer-policy", "").lower() == "no-referrer", (path, headers)
        assert isinstance(body, str) and "<script>" not in body and "<style" not in body and " style=" not in body, path


# ---------------------------------------------------------------------------------------- sessions

def test_sensitive_change_needs_a_fresh_password(accounts):
    """A session left open (or stolen) cannot make sensitive changes: an org policy change works right
    after sign-in, is refused with 403 reauth_required once the password is older than the re-prompt
    window (token creation too), and works again after POST /v1/session/reauth, which also issues a new
    cookie and a new CSRF token."""
    org = "acct-reauth"
    password = accounts.set_password("reowner", new_password("reowner"), org=org, role="owner")
    owner = accounts.token("reowner", org=org, role="owner")
    with Visitor(accounts) as v:
        r = v.sign_in("reowner", password)
        assert r.status_code == 200, r.text
        assert v.refresh().status_code == 200
        r = v.request("PATCH", "/v1/admin/org", {"require_review": True})
        assert r.status_code == 200 and r.json()["require_review"] is True, r.text

        time.sleep(REAUTH_WINDOW + 1)
        r = v.request("PATCH", "/v1/admin/org", {"require_review": False})
        assert r.status_code == 403 and error_code(r) == "reauth_required", r.text
        r = v.request("POST", "/v1/me/tokens", {"name": "stale"})
        assert r.status_code == 403 and error_code(r) == "reauth_required", r.text
        assert http("GET", f"{accounts.url}/v1/admin/org", token=owner)[2]["require_review"] is True, "nothing changed"

        before_cookie, before_csrf = v.cookie, v.csrf
        r = v.request("POST", "/v1/session/reauth", {"password": password})
        assert r.status_code == 200, r.text
        assert r.json()["csrf_token"] != before_csrf and v.cookie and v.cookie != before_cookie
        assert cookie_status(accounts, before_cookie) == 401

        r = v.request("PATCH", "/v1/admin/org", {"require_review": False})
        assert r.status_code == 200 and r.json()["require_review"] is False, r.text
        r = v.request("POST", "/v1/me/tokens", {"name": "fresh"})
        assert r.status_code == 201 and r.json()["token"], r.text
    # Bearer tokens are not re-prompted: nobody types them.
    status, _, body = http("PATCH", f"{accounts.url}/v1/admin/org", {"require_review": True}, token=owner)
    assert status == 200 and body["require_review"] is True, body


def test_session_fixation_is_defeated(accounts):
    """Session fixation: a cookie value planted in the victim's browser before sign-in must not become
    the victim's session. The sign-in answers a new value and the planted one stays unauthenticated;
    re-authentication changes the id again and the previous value stops working."""
    password = accounts.set_password("fixie", new_password("fixie"), org="acct-fix", role="member")
    planted = "attacker-chosen-value"
    SENT.add(planted)
    with Visitor(accounts) as v:
        v.http.cookies.set(COOKIE, planted, domain="127.0.0.1", path="/")
        r = v.sign_in("fixie", password)
        assert r.status_code == 200, r.text
        assert session_cookie_of(r) is not None, "the sign-in must set its own cookie"
        a = v.cookie
        assert a and a != planted
        assert cookie_status(accounts, planted) == 401
        assert cookie_status(accounts, a) == 200

        assert v.refresh().status_code == 200
        r = v.request("POST", "/v1/session/reauth", {"password": password})
        assert r.status_code == 200, r.text
        b = v.cookie
        assert b and b != a
        assert cookie_status(accounts, a) == 401
        assert cookie_status(accounts, b) == 200


def test_cookie_writes_need_the_csrf_token_and_our_origin(accounts):
    """CSRF: another site can make the browser send the cookie, but not read the session's CSRF token.
    Writes on the cookie without X-CSRF-Token, with a wrong one, or from another Origin are refused (403),
    and change nothing; reads need no token; a sign-in posted from another origin is refused too."""
    user, org = "csrfy", "acct-csrf"
    token = accounts.token(user, org=org, role="member")
    password = accounts.set_password(user, new_password(user), org=org, role="member")
    original = f"The billing cron runs at 02:00 UTC on weekdays only ({uuid.uuid4().hex[:8]})"
    status, _, body = http("POST", f"{accounts.url}/v1/memories", {"content": original}, token=token)
    assert status == 201, body
    mid = body["memory"]["id"]
    edited = f"The billing cron runs at 03:00 UTC every day ({uuid.uuid4().hex[:8]})"

    with Visitor(accounts) as v:
        assert v.sign_in(user, password).status_code == 200
        assert v.refresh().status_code == 200 and v.csrf
        wrong = secrets.token_urlsafe(32)
        writes = [("DELETE", "/v1/me/tokens/x", None),
                  ("POST", "/v1/me/tokens", {"name": "csrf-probe"}),
                  ("PATCH", f"/v1/memories/{mid}", {"content": edited})]
        for method, path, payload in writes:
            r = v.request(method, path, payload, csrf=False)
            assert r.status_code == 403 and error_code(r) == "csrf_failed", (method, path, r.status_code, r.text)
            r = v.request(method, path, payload, csrf=wrong)
            assert r.status_code == 403 and error_code(r) == "csrf_failed", (method, path, r.status_code, r.text)
            # The right token from another origin: refused by the origin check (not by a re-prompt,
            # which would only mean the session's password is old).
            r = v.request(method, path, payload, headers={"Origin": EVIL})
            assert r.status_code == 403 and error_code(r) != "reauth_required", (method, path, EVIL, r.status_code, r.text)
        status, _, body = http("GET", f"{accounts.url}/v1/memories/{mid}", token=token)
        assert body["memory"]["content"] == original, "a refused write changed the memory"
        tokens = v.request("GET", "/v1/me/tokens")
        assert tokens.status_code == 200, tokens.text
        assert all(t["name"] != "csrf-probe" for t in tokens.json()["tokens"]), "a refused write created a token"

        # Reads need no token.
        assert v.request("GET", "/v1/session").status_code == 200
        assert v.request("GET", f"/v1/memories/{mid}").status_code == 200

        # With the token, from the server's own origin, the same edit goes through: the refusals above
        # were the CSRF guard, not something else.
        r = v.request("PATCH", f"/v1/memories/{mid}", {"content": edited}, headers={"Origin": accounts.url})
        assert r.status_code == 200, r.text
        assert http("GET", f"{accounts.url}/v1/memories/{mid}", token=token)[2]["memory"]["content"] == edited

    with Visitor(accounts) as w:
        r = w.sign_in(user, password, headers={"Origin": EVIL})
        assert r.status_code == 403, r.text
        assert session_cookie_of(r) is None and w.cookie is None, "no session for a cross-site sign-in"


def test_session_cookie_flags_and_sign_out(accounts):
    """The sign-in cookie cannot be read by scripts (HttpOnly), is not sent along by other sites
    (SameSite=Strict), covers the whole server (Path=/), and is not marked Secure on plain HTTP (no
    --behind-tls). Sign-out ends the session on the server: the old cookie value is refused."""
    password = accounts.set_password("cooky", new_password("cooky"), org="acct-cookie", role="member")
    with Visitor(accounts) as v:
        r = v.sign_in("cooky", password)
        assert r.status_code == 200, r.text
        assert SESSION_FIELDS <= set(r.json()), r.json()
        assert r.json()["user_id"] == "cooky" and r.json()["org_id"] == "acct-cookie" and r.json()["role"] == "member"
        header = session_cookie_of(r)
        assert header, r.headers
        attributes = [a.strip().lower() for a in header.split(";")[1:]]
        assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes, header
        assert "secure" not in attributes, header
        value = v.cookie
        assert value and len(value) >= 32, "32 random bytes, encoded"
        assert cookie_status(accounts, value) == 200

        v.refresh()
        r = v.sign_out()
        cleared = (session_cookie_of(r) or "").lower()
        assert "max-age=0" in cleared or "expires=" in cleared, r.headers
        assert v.cookie is None
        assert cookie_status(accounts, value) == 401


# ---------------------------------------------------------------------------------------- credentials

def test_password_guessing_is_locked_out_and_audited():
    """Brute force: after the burst of failed sign-ins (5 here) the next attempt is refused with 429 and
    Retry-After even with the right password, so guessing stops. The org's audit log records the
    failures and the lockout with the client IP, and never a password."""
    s = _start(EngramServer("accounts-lockout", ENGRAM_SIGNIN_FAILURE_BURST="5", ENGRAM_SIGNIN_FAILURES_PER_MINUTE="1"))
    try:
        org = "brute"
        owner = s.token("brute-owner", org=org, role="owner")
        password = s.set_password("target", new_password("target"), org=org, role="member")
        guesses = [new_password("target") for _ in range(5)]
        for guess in guesses:
            r = api(s, "POST", "/v1/session", {"user_id": "target", "password": guess})
            assert r.status_code == 401 and error_code(r) == "invalid_credentials", r.text
        r = api(s, "POST", "/v1/session", {"user_id": "target", "password": password})
        assert r.status_code == 429 and error_code(r) == "rate_limited", r.text
        assert int(r.headers["Retry-After"]) >= 1, r.headers
        assert session_cookie_of(r) is None

        status, _, body = http("GET", f"{s.url}/v1/admin/audit?limit=100", token=owner)
        assert status == 200, body
        entries = body["entries"]
        failures = [e for e in entries if e["action"] == "signin.failure"]
        locked = [e for e in entries if e["action"] == "signin.locked"]
        assert len(failures) >= 5, [e["action"] for e in entries]
        assert locked, [e["action"] for e in entries]
        for e in failures + locked:
            assert "127.0.0.1" in (e.get("detail") or ""), e
        dump = json.dumps(entries)
        for secret in (password, *guesses):
            assert secret not in dump, "the audit log holds a password"
    finally:
        s.stop()


def test_backup_codes_and_totp_codes_work_once(accounts):
    """Replay: a backup code signs in once and is then spent; a TOTP code that signed in is refused if
    sent again in the same step. Without a code, a TOTP account gets 401 totp_required and no session."""
    user = "backy"
    password = accounts.set_password(user, new_password(user), org="acct-codes", role="member")
    with Visitor(accounts) as v:
        assert v.sign_in(user, password).status_code == 200
        secret, codes, step = enrol_totp(v)
        v.sign_out()

    with Visitor(accounts) as v:
        r = v.sign_in(user, password)
        assert r.status_code == 401 and error_code(r) == "totp_required", r.text
        assert v.cookie is None

        r = v.sign_in(user, password, totp_code=codes[0])
        assert r.status_code == 200 and r.json()["totp_enabled"] is True, r.text
        v.refresh()
        v.sign_out()
        r = v.sign_in(user, password, totp_code=codes[0])
        assert r.status_code == 401 and error_code(r) == "invalid_totp", r.text
        assert v.cookie is None

        code, step = fresh_totp(secret, step)
        r = v.sign_in(user, password, totp_code=code)
        assert r.status_code == 200, r.text
        v.refresh()
        v.sign_out()
        r = v.sign_in(user, password, totp_code=code)
        assert r.status_code == 401 and error_code(r) == "invalid_totp", r.text
        assert v.cookie is None

        # The other backup codes still work.
        r = v.sign_in(user, password, totp_code=codes[1])
        assert r.status_code == 200, r.text


def test_links_are_single_use_and_expire(accounts):
    """Invitation and reset links are single-use and expire: a used or expired link answers 404
    invalid_link (the same for both, and for an unknown one). A reset revokes every session of the
    user. A password that breaks the rules is refused with 400 weak_password."""
    org = "acct-links"
    owner = accounts.token("links-owner", org=org, role="owner")

    # An invitation: inspect shows what it is; accepting sets the password and signs in.
    _, secret = invite(accounts, owner, "linka", "member")
    r = api(accounts, "POST", "/v1/links/inspect", {"token": secret})
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["kind"] == "invitation" and info["user_id"] == "linka" and info["org_id"] == org, info
    assert info["role"] == "member" and info["has_password"] is False, info
    first = new_password("linka")
    with Visitor(accounts) as v:
        r = v.request("POST", "/v1/links/invitation", {"token": secret, "password": first}, csrf=False)
        assert r.status_code == 200 and r.json()["user_id"] == "linka" and r.json()["org_id"] == org, r.text
        assert v.cookie and v.refresh().status_code == 200

        # Used: a second use is refused, whatever the password.
        r = api(accounts, "POST", "/v1/links/inspect", {"token": secret})
        assert r.status_code == 404 and error_code(r) == "invalid_link", r.text
        r = api(accounts, "POST", "/v1/links/invitation", {"token": secret, "password": first})
        assert r.status_code == 404 and error_code(r) == "invalid_link", r.text
        members = {m["user_id"]: m["role"] for m in http("GET", f"{accounts.url}/v1/admin/members", token=owner)[2]["members"]}
        assert members.get("linka") == "member", members

        # A reset link from the owner (bearer token): it sets a new password and revokes linka's sessions.
        status, _, body = http("POST", f"{accounts.url}/v1/admin/members/linka/reset-link", token=owner)
        assert status == 201 and body["expires_at"], body
        reset = link_secret(body["link"], "/reset")
        r = api(accounts, "POST", "/v1/links/inspect", {"token": reset})
        assert r.status_code == 200 and r.json()["kind"] == "reset" and r.json()["user_id"] == "linka", r.text
        second = new_password("linka")
        r = api(accounts, "POST", "/v1/links/reset", {"token": reset, "password": second})
        assert r.status_code == 200 and r.json()["user_id"] == "linka", r.text
        assert v.refresh().status_code == 401, "a reset must end the user's existing sessions"
        r = api(accounts, "POST", "/v1/links/reset", {"token": reset, "password": new_password("linka")})
        assert r.status_code == 404 and error_code(r) == "invalid_link", r.text

    r = api(accounts, "POST", "/v1/session", {"user_id": "linka", "password": first})
    assert r.status_code == 401 and error_code(r) == "invalid_credentials", "the old password still works"
    assert api(accounts, "POST", "/v1/session", {"user_id": "linka", "password": second}).status_code == 200

    # Expired links (the CLI's hidden --valid-seconds), and an unknown one: all 404 invalid_link.
    expired_invitation = link_secret(cli_link(accounts, "user", "invite", "--user", "linkx", "--org", org,
                                              "--role", "member", "--valid-seconds", "1"), "/invite")
    expired_reset = link_secret(cli_link(accounts, "user", "reset-link", "--user", "linka", "--valid-seconds", "1"), "/reset")
    time.sleep(2)
    unknown = secrets.token_urlsafe(32)
    SENT.add(unknown)
    for path, token in (("/v1/links/inspect", expired_invitation), ("/v1/links/invitation", expired_invitation),
                        ("/v1/links/inspect", expired_reset), ("/v1/links/reset", expired_reset),
                        ("/v1/links/inspect", unknown)):
        body = {"token": token} if path == "/v1/links/inspect" else {"token": token, "password": new_password("linkx")}
        r = api(accounts, "POST", path, body)
        assert r.status_code == 404 and error_code(r) == "invalid_link", (path, r.text)
    assert api(accounts, "POST", "/v1/session", {"user_id": "linka", "password": second}).status_code == 200

    # Password rules: too short, or containing the user id.
    _, weak = invite(accounts, owner, "linkw", "member")
    for bad in ("Sh0rt-pw", f"linkw-{secrets.token_hex(6)}"):
        SENT.add(bad)
        r = api(accounts, "POST", "/v1/links/invitation", {"token": weak, "password": bad})
        assert r.status_code == 400 and error_code(r) == "weak_password", (bad, r.text)
        assert bad not in r.text, "the refusal must not repeat the password"


def test_unknown_user_and_wrong_password_look_alike(accounts):
    """User enumeration: a sign-in for an unknown user and one with a wrong password for a real user
    get the same answer (401, same code and message) in about the same time (both pay for one bcrypt
    check of cost 12): median times of 8 alternating attempts each within 20 % of each other."""
    user = "timy"
    accounts.set_password(user, new_password(user), org="acct-timing", role="member")
    unknown = f"nobody-{uuid.uuid4().hex[:8]}"
    wrong = new_password(user)
    times = {"unknown": [], "wrong": []}
    answers = {}
    with httpx.Client(base_url=accounts.url, timeout=60, headers={"Accept": "application/json"}) as c:
        def attempt(kind):
            body = {"user_id": unknown if kind == "unknown" else user, "password": wrong}
            started = time.perf_counter()
            r = c.post("/v1/session", json=body)
            elapsed = time.perf_counter() - started
            assert r.status_code == 401, (kind, r.text)
            assert session_cookie_of(r) is None
            return r, elapsed

        attempt("unknown")
        attempt("wrong")  # warm-up, not measured
        for i in range(8):
            for kind in (("unknown", "wrong") if i % 2 == 0 else ("wrong", "unknown")):
                r, elapsed = attempt(kind)
                times[kind].append(elapsed)
                answers.setdefault(kind, set()).add((error_code(r), r.json()["error"]["message"]))
    assert answers["unknown"] == answers["wrong"] and len(answers["unknown"]) == 1, answers
    assert next(iter(answers["unknown"]))[0] == "invalid_credentials", answers
    unknown_median, wrong_median = statistics.median(times["unknown"]), statistics.median(times["wrong"])
    assert abs(unknown_median - wrong_median) <= 0.2 * max(unknown_median, wrong_median), (
        f"unknown user {unknown_median * 1000:.0f} ms vs wrong password {wrong_median * 1000:.0f} ms", times)


def test_org_requiring_totp_confines_members_without_it(accounts):
    """An org that requires TOTP: a member without it who signs in gets a session that can only enrol
    (403 totp_enrolment_required elsewhere); once enrolled, the session works."""
    user, org = "strictmem", "acct-strict"
    password = accounts.set_password(user, new_password(user), org=org, role="member")
    accounts.cli("org", "set", "--org", org, "--require-totp", "true")
    with Visitor(accounts) as v:
        r = v.sign_in(user, password)
        assert r.status_code == 200 and r.json()["totp_enrolment_required"] is True, r.text
        r = v.refresh()
        assert r.status_code == 200, r.text
        assert r.json()["totp_enrolment_required"] is True and r.json()["totp_enabled"] is False, r.json()
        for path in ("/v1/memories", "/v1/me/tokens"):
            r = v.request("GET", path)
            assert r.status_code == 403 and error_code(r) == "totp_enrolment_required", (path, r.text)

        enrol_totp(v)
        r = v.refresh()
        assert r.status_code == 200, r.text
        assert r.json()["totp_enrolment_required"] is False and r.json()["totp_enabled"] is True, r.json()
        assert v.request("GET", "/v1/memories").status_code == 200


def test_cli_tokens_are_listed_and_revocable_on_the_member_page(accounts):
    """A token the operator issued with `engram token issue --name` shows on its owner's /me list and
    revoking it there makes the server refuse it."""
    user, org = "clitok", "acct-cli"
    password = accounts.set_password(user, new_password(user), org=org, role="member")
    out = accounts.cli("token", "issue", "--user", user, "--org", org, "--name", "ci runner")
    token = out.stdout.strip().splitlines()[-1]
    SENT.add(token)
    assert http("GET", f"{accounts.url}/v1/me", token=token)[0] == 200
    with Visitor(accounts) as v:
        assert v.sign_in(user, password).status_code == 200
        listed = v.request("GET", "/v1/me/tokens").json()["tokens"]
        mine = [t for t in listed if t["name"] == "ci runner"]
        assert len(mine) == 1 and mine[0]["revoked"] is False, listed
        assert v.request("DELETE", f"/v1/me/tokens/{mine[0]['id']}").status_code == 204
    assert http("GET", f"{accounts.url}/v1/me", token=token)[0] == 401
