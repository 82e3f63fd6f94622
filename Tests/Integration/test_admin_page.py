"""The admin page (/admin) driven in headless Chromium: sign in, review queue, approve, audit log.

People sign in at /signin with a password (browser_sign_in); the page then runs on the HttpOnly
session cookie. Pasting a token works only in dev mode, which the test servers do not use. The
`browser` fixture and the Selenium helpers are in browser.py.
"""
import uuid
from urllib.parse import parse_qs, urlsplit

from browser import (
    _console,
    _csp_violations,
    _path,
    _script_errors,
    _shown,
    _visible,
    _wait,
    assert_session_only_in_http_only_cookie,
    browser_sign_in,
    session_cookie,
    wait_with_reauth,
)
from conftest import OUTPUT
from helpers import fake_github_token, http, new_password

# The admin test gets an org of its own, so that turning review on does not change what the
# other tests (which use "acme") see after finish_task.
ORG = "acme-admin-ui"


def _message(driver):
    from selenium.webdriver.common.by import By
    box = driver.find_element(By.ID, "message")
    return box.text if box.is_displayed() else ""


def _session_status(server, cookie_value):
    """What GET /v1/session answers to a request carrying this session cookie value."""
    return http("GET", f"{server.url}/v1/session", headers={"Cookie": f"engram_session={cookie_value}"})[0]


def _left_app(driver):
    """The admin page is gone: the browser is at /signin, or the app panel is hidden."""
    return _path(driver) == "/signin" or not _shown(driver, "app")


def test_admin_assets_have_strict_csp(server):
    status, headers, body = http("GET", f"{server.url}/admin", headers={"Accept": "text/html"})
    assert status == 200, body
    headers = {k.lower(): v for k, v in headers.items()}
    assert headers.get("content-type", "").startswith("text/html")
    csp = headers.get("content-security-policy")
    assert csp, "GET /admin must carry a Content-Security-Policy header"
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, csp
    directives = {d.strip().split()[0]: d.strip().split()[1:] for d in csp.split(";") if d.strip()}
    for name in ("script-src", "style-src"):
        sources = directives.get(name, directives.get("default-src"))
        assert sources is not None, f"{name} (or default-src) missing from {csp}"
        assert "*" not in sources and not any(s.startswith(("http:", "https:")) for s in sources), csp
    assert "/admin/admin.js" in body
    assert "<style" not in body and " style=" not in body and "<script>" not in body, "no inline styles or scripts"
    for path, kind in (("/admin/admin.js", "javascript"), ("/admin/admin.css", "text/css")):
        status, headers, _ = http("GET", f"{server.url}{path}")
        headers = {k.lower(): v for k, v in headers.items()}
        assert status == 200 and kind in headers.get("content-type", ""), (path, status, headers)
    for path in ("/admin/nope.js", "/admin/..%2f..%2fPackage.swift", "/admin/%2e%2e/%2e%2e/Package.swift"):
        status, _, _ = http("GET", f"{server.url}{path}")
        assert status in (400, 403, 404), (path, status)


def test_admin_page_review_flow(server, browser):
    from selenium.webdriver.common.by import By

    driver = browser
    author = server.token("ada", org=ORG, role="member")
    admin = server.token("cora", org=ORG, role="admin")
    member = server.token("bert", org=ORG, role="member")
    admin_password = server.set_password("cora", new_password("cora"), org=ORG, role="admin")
    member_password = server.set_password("bert", new_password("bert"), org=ORG, role="member")

    # The org requires review, so finish leaves the draft pending.
    status, _, body = http("PATCH", f"{server.url}/v1/admin/org", {"require_review": True}, token=admin)
    assert status == 200 and body["require_review"] is True, body
    task = f"UI-{uuid.uuid4().hex[:8]}"
    # Markup in the content must show up as text, never as HTML.
    content = f"Deploys of the billing service go through <b>blue-green</b> switches ({task})"
    status, _, body = http("POST", f"{server.url}/v1/memories",
                           {"content": content, "scope": "org", "task_id": task, "kind": "pattern",
                            "tags": ["deploy", "billing"], "repo": "github.com/acme/billing"}, token=author)
    assert status == 201 and body["memory"]["state"] == "draft", body
    mid = body["memory"]["id"]
    status, _, body = http("POST", f"{server.url}/v1/finish", {"task_id": task}, token=author)
    assert status == 200 and body["promoted"] == [mid] and body["state"] == "pending_review", body

    try:
        # Without a session the page sends the visitor to sign in (and back here afterwards).
        driver.get(f"{server.url}/admin")
        _wait(driver, lambda d: _path(d) == "/signin", "an anonymous visitor to /admin was not sent to /signin")
        assert parse_qs(urlsplit(driver.current_url).query).get("next") == ["/admin"], driver.current_url
        assert driver.find_elements(By.CSS_SELECTOR, "[data-testid=memory-item]") == []

        # A member signs in: the server refuses the admin API and the page says so; no data is shown.
        browser_sign_in(driver, server, "bert", member_password, next="/admin")
        _wait(driver, lambda d: "forbidden" in _message(d).lower(), "no 'forbidden' message for a member")
        assert not driver.find_element(By.ID, "app").is_displayed()
        assert driver.find_elements(By.CSS_SELECTOR, "[data-testid=memory-item]") == []
        assert_session_only_in_http_only_cookie(driver, member, member_password)

        # The admin signs in; the credential is the HttpOnly session cookie, no token in web storage.
        browser_sign_in(driver, server, "cora", admin_password, next="/admin")
        _visible(driver, By.ID, "app")
        assert "cora" in driver.find_element(By.ID, "whoami").text
        cookie = assert_session_only_in_http_only_cookie(driver, admin, admin_password)
        assert _session_status(server, cookie["value"]) == 200
        assert driver.execute_script("return localStorage.length") == 0

        # The pending memory is in the default queue (pending review + drafts).
        item = _visible(driver, By.CSS_SELECTOR, f"[data-testid=memory-item][data-memory-id='{mid}']")
        assert item.get_attribute("data-state") == "pending_review"
        assert "<b>blue-green</b>" in item.text, "content is rendered as text"
        assert item.find_elements(By.TAG_NAME, "b") == []
        item.click()
        _wait(driver, lambda d: d.find_element(By.ID, "detail").get_attribute("data-memory-id") == mid, "detail did not open")
        assert driver.find_element(By.ID, "detail-state").get_attribute("data-state") == "pending_review"
        assert driver.find_element(By.ID, "detail-content").get_attribute("value") == content
        assert driver.find_element(By.ID, "detail-tags").get_attribute("value") == "deploy, billing"

        # Approve: the detail and the list show it published.
        driver.find_element(By.ID, "btn-approve").click()
        _wait(driver, lambda d: d.find_element(By.ID, "detail-state").get_attribute("data-state") == "published",
              "state did not become published")
        _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, f"[data-testid=memory-item][data-memory-id='{mid}']")
              .get_attribute("data-state") == "published", "list item not updated")
        assert "approved" in _message(driver).lower()
        assert driver.find_element(By.ID, "btn-approve").get_attribute("disabled") is not None
        driver.save_screenshot(str(OUTPUT / "admin-page.png"))
        status, _, body = http("GET", f"{server.url}/v1/admin/memories/{mid}", token=admin)
        assert status == 200 and body["memory"]["state"] == "published", body
        status, _, body = http("GET", f"{server.url}/v1/memories/{mid}", token=member)
        assert status == 200 and body["memory"]["state"] == "published", "the org sees it now"

        # The audit log has the approval of that memory by cora.
        driver.find_element(By.ID, "tab-audit").click()
        row = _visible(driver, By.CSS_SELECTOR, f"[data-testid=audit-row][data-action=approve][data-memory-id='{mid}']")
        assert row.get_attribute("data-actor") == "cora"
        assert content not in driver.find_element(By.ID, "audit-table").text, "the audit log never holds content"
        driver.save_screenshot(str(OUTPUT / "admin-audit.png"))

        # Members and org settings render from the API.
        driver.find_element(By.ID, "tab-members").click()
        _visible(driver, By.CSS_SELECTOR, "[data-testid=member-row][data-user-id=cora]")
        driver.find_element(By.ID, "tab-org").click()
        _wait(driver, lambda d: d.find_element(By.ID, "org-id").text == ORG, "org settings not shown")
        assert driver.find_element(By.ID, "org-require-review").is_selected()

        # Sign out ends the session: the page leaves, and the server refuses the old cookie.
        driver.find_element(By.ID, "signout-button").click()
        _wait(driver, _left_app, "the page did not leave after sign-out")
        _wait(driver, lambda d: _session_status(server, cookie["value"]) == 401, "the session outlived the sign-out")
        assert driver.execute_script("return sessionStorage.getItem('engram.admin.token')") is None
        current = session_cookie(driver)
        assert current is None or current["value"] != cookie["value"], "the browser still holds the ended session"

        log = _console(driver)
        assert _csp_violations(log) == [], _csp_violations(log)
        assert _script_errors(log) == [], _script_errors(log)
    except BaseException:
        try:
            driver.save_screenshot(str(OUTPUT / "admin-page-failure.png"))
            (OUTPUT / "admin-page-failure.log").write_text("\n".join(str(e) for e in _console(driver)))
        except Exception:
            pass
        raise


def test_admin_page_edit_delete_and_members(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select

    driver = browser
    author = server.token("ada", org=ORG, role="member")
    admin = server.token("cora", org=ORG, role="admin")
    password = server.set_password("cora", new_password("cora"), org=ORG, role="admin")
    task = f"UI-{uuid.uuid4().hex[:8]}"
    content = f"The billing worker retries webhooks five times ({task})"
    status, _, body = http("POST", f"{server.url}/v1/memories",
                           {"content": content, "scope": "org", "task_id": task, "kind": "fact"}, token=author)
    assert status == 201 and body["memory"]["state"] == "draft", body
    mid = body["memory"]["id"]
    item_css = f"[data-testid=memory-item][data-memory-id='{mid}']"

    try:
        browser_sign_in(driver, server, "cora", password, next="/admin")
        # Drafts are in the default queue too; the text filter narrows it to this one.
        _visible(driver, By.ID, "app")
        driver.find_element(By.ID, "filter-q").send_keys(task)
        driver.find_element(By.ID, "filter-apply").click()
        _wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid=memory-item]")) == 1
              and d.find_elements(By.CSS_SELECTOR, item_css), "text filter did not narrow the queue")
        driver.find_element(By.CSS_SELECTOR, item_css).click()
        _wait(driver, lambda d: d.find_element(By.ID, "detail").get_attribute("data-memory-id") == mid, "detail did not open")

        # An edit that adds a credential is refused by the server, visibly; nothing changes.
        editor = driver.find_element(By.ID, "detail-content")
        editor.clear()
        editor.send_keys(f"The billing worker authenticates with {fake_github_token()}")
        driver.find_element(By.ID, "btn-save").click()
        _wait(driver, lambda d: "secret_detected" in _message(d), "secret_detected not shown")
        status, _, body = http("GET", f"{server.url}/v1/admin/memories/{mid}", token=admin)
        assert body["memory"]["content"] == content

        # A clean edit of content and tags is saved.
        edited = f"The billing worker retries webhooks seven times with jitter ({task})"
        editor.clear()
        editor.send_keys(edited)
        tags = driver.find_element(By.ID, "detail-tags")
        tags.clear()
        tags.send_keys("billing, webhooks")
        driver.find_element(By.ID, "btn-save").click()
        _wait(driver, lambda d: "saved" in _message(d).lower(), "edit not saved")
        _wait(driver, lambda d: "seven times" in d.find_element(By.CSS_SELECTOR, item_css).text, "list not updated")
        status, _, body = http("GET", f"{server.url}/v1/admin/memories/{mid}", token=admin)
        assert body["memory"]["content"] == edited and body["memory"]["tags"] == ["billing", "webhooks"], body

        # Delete asks first, then removes it (deleting an org memory may ask for the password again).
        driver.find_element(By.ID, "btn-delete").click()
        _visible(driver, By.ID, "delete-confirm")
        driver.find_element(By.ID, "btn-delete-cancel").click()
        assert not driver.find_element(By.ID, "delete-confirm").is_displayed()
        assert http("GET", f"{server.url}/v1/admin/memories/{mid}", token=admin)[0] == 200
        driver.find_element(By.ID, "btn-delete").click()
        _visible(driver, By.ID, "btn-delete-confirm").click()
        wait_with_reauth(driver, password, lambda d: not d.find_elements(By.CSS_SELECTOR, item_css),
                         "deleted memory still listed")
        assert not driver.find_element(By.ID, "detail").is_displayed()
        assert http("GET", f"{server.url}/v1/admin/memories/{mid}", token=admin)[0] == 404

        # Members: add, change role, remove (two clicks).
        newcomer = f"dora{uuid.uuid4().hex[:6]}"
        driver.find_element(By.ID, "tab-members").click()
        _visible(driver, By.CSS_SELECTOR, "[data-testid=member-row][data-user-id=cora]")
        driver.find_element(By.ID, "member-user").send_keys(newcomer)
        Select(driver.find_element(By.ID, "member-role")).select_by_value("viewer")
        driver.find_element(By.ID, "member-add").click()
        # Adding invites: the newcomer is pending until they accept with their own credential.
        invitation_css = f"[data-testid=invitation-row][data-user-id='{newcomer}']"
        wait_with_reauth(driver, password, EC.visibility_of_element_located((By.CSS_SELECTOR, invitation_css)),
                         "the invitation is not listed")
        assert newcomer not in {m["user_id"] for m in http("GET", f"{server.url}/v1/admin/members", token=admin)[2]["members"]}
        newcomer_token = server.token(newcomer)
        invitation = http("GET", f"{server.url}/v1/invitations", token=newcomer_token)[2]["invitations"][0]
        assert invitation["role"] == "viewer"
        assert http("POST", f"{server.url}/v1/invitations/{invitation['id']}/accept", token=newcomer_token)[0] == 200
        driver.find_element(By.ID, "tab-audit").click()
        driver.find_element(By.ID, "tab-members").click()
        row_css = f"[data-testid=member-row][data-user-id='{newcomer}']"
        row = _visible(driver, By.CSS_SELECTOR, row_css)
        # Role changes and removals are re-prompted: the password again if the last one is too old.
        Select(row.find_element(By.CSS_SELECTOR, "[data-testid=member-role-select]")).select_by_value("member")
        wait_with_reauth(driver, password, lambda d: f"{newcomer} is now member" in _message(d), "role change not confirmed")
        members = {m["user_id"]: m["role"] for m in http("GET", f"{server.url}/v1/admin/members", token=admin)[2]["members"]}
        assert members.get(newcomer) == "member", members
        remove = driver.find_element(By.CSS_SELECTOR, f"{row_css} [data-testid=member-remove]")
        remove.click()
        remove.click()
        wait_with_reauth(driver, password, lambda d: not d.find_elements(By.CSS_SELECTOR, row_css), "member row not removed")
        members = {m["user_id"] for m in http("GET", f"{server.url}/v1/admin/members", token=admin)[2]["members"]}
        assert newcomer not in members

        # The audit log records the edit and the delete of that memory.
        driver.find_element(By.ID, "tab-audit").click()
        for action in ("edit", "delete"):
            _visible(driver, By.CSS_SELECTOR, f"[data-testid=audit-row][data-action={action}][data-memory-id='{mid}']")

        log = _console(driver)
        assert _csp_violations(log) == [], _csp_violations(log)
        assert _script_errors(log) == [], _script_errors(log)
    except BaseException:
        try:
            driver.save_screenshot(str(OUTPUT / "admin-edit-failure.png"))
            (OUTPUT / "admin-edit-failure.log").write_text("\n".join(str(e) for e in _console(driver)))
        except Exception:
            pass
        raise
