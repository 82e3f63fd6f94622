"""The admin page (/admin) driven in headless Chromium: sign in, review queue, approve, audit log.

Needs Debian's `chromium` and `chromium-driver` plus the `selenium` Python package (`make test`
installs them). Selenium Manager never runs: the driver and browser paths are given explicitly.
Without a browser the test fails, unless ENGRAM_ALLOW_NO_BROWSER=1 (then it is skipped).
"""
import os
import pathlib
import shutil
import tempfile
import uuid

import pytest

from conftest import OUTPUT
from helpers import fake_github_token, http

CHROMIUM = os.environ.get("ENGRAM_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ENGRAM_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 20  # seconds; a debug build on a busy 2-core machine is slow

# The admin test gets an org of its own, so that turning review on does not change what the
# other tests (which use "acme") see after finish_task.
ORG = "acme-admin-ui"


def _missing_browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python package selenium")
    return missing


@pytest.fixture
def browser():
    missing = _missing_browser()
    if missing:
        msg = ("headless browser missing: " + ", ".join(missing) +
               " (apt-get install -y chromium chromium-driver; python3 -m pip install selenium; `make test` does this)")
        if os.environ.get("ENGRAM_ALLOW_NO_BROWSER") == "1":
            pytest.skip(msg)
        pytest.fail(msg + "; set ENGRAM_ALLOW_NO_BROWSER=1 to skip instead", pytrace=False)

    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # belt and braces: Selenium Manager must not download
    profile = tempfile.mkdtemp(prefix="engram-chromium-")
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--metrics-recording-only", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    OUTPUT.mkdir(parents=True, exist_ok=True)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(OUTPUT / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, message, timeout=WAIT):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition, message)


def _visible(driver, by, value):
    from selenium.webdriver.support import expected_conditions as EC
    return _wait(driver, EC.visibility_of_element_located((by, value)), f"{value} never became visible")


def _message(driver):
    from selenium.webdriver.common.by import By
    box = driver.find_element(By.ID, "message")
    return box.text if box.is_displayed() else ""


def _sign_in(driver, token):
    from selenium.webdriver.common.by import By
    field = _visible(driver, By.ID, "token-input")
    field.clear()
    field.send_keys(token)
    driver.find_element(By.ID, "signin-button").click()


def _console(driver):
    return driver.get_log("browser")


def _csp_violations(entries):
    return [e for e in entries if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


def _script_errors(entries):
    return [e for e in entries if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]


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
    assert 'id="token-input"' in body and "/admin/admin.js" in body
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
        driver.get(f"{server.url}/admin")
        _visible(driver, By.ID, "signin")

        # A member's token is refused by the server and the page says so; no data is shown.
        _sign_in(driver, member)
        _wait(driver, lambda d: "forbidden" in _message(d).lower(), "no 'forbidden' message for a member token")
        assert not driver.find_element(By.ID, "app").is_displayed()
        assert driver.find_elements(By.CSS_SELECTOR, "[data-testid=memory-item]") == []
        assert driver.execute_script("return sessionStorage.getItem('engram.admin.token')") is None

        # The admin signs in; the token lives in sessionStorage only.
        _sign_in(driver, admin)
        _visible(driver, By.ID, "app")
        assert "cora" in driver.find_element(By.ID, "whoami").text
        assert driver.execute_script("return sessionStorage.getItem('engram.admin.token')") == admin
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

        # Sign out forgets the token.
        driver.find_element(By.ID, "signout-button").click()
        _visible(driver, By.ID, "signin")
        assert driver.execute_script("return sessionStorage.getItem('engram.admin.token')") is None

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
    from selenium.webdriver.support.ui import Select

    driver = browser
    author = server.token("ada", org=ORG, role="member")
    admin = server.token("cora", org=ORG, role="admin")
    task = f"UI-{uuid.uuid4().hex[:8]}"
    content = f"The billing worker retries webhooks five times ({task})"
    status, _, body = http("POST", f"{server.url}/v1/memories",
                           {"content": content, "scope": "org", "task_id": task, "kind": "fact"}, token=author)
    assert status == 201 and body["memory"]["state"] == "draft", body
    mid = body["memory"]["id"]
    item_css = f"[data-testid=memory-item][data-memory-id='{mid}']"

    try:
        driver.get(f"{server.url}/admin")
        _sign_in(driver, admin)
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

        # Delete asks first, then removes it.
        driver.find_element(By.ID, "btn-delete").click()
        _visible(driver, By.ID, "delete-confirm")
        driver.find_element(By.ID, "btn-delete-cancel").click()
        assert not driver.find_element(By.ID, "delete-confirm").is_displayed()
        assert http("GET", f"{server.url}/v1/admin/memories/{mid}", token=admin)[0] == 200
        driver.find_element(By.ID, "btn-delete").click()
        _visible(driver, By.ID, "btn-delete-confirm").click()
        _wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, item_css), "deleted memory still listed")
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
        _visible(driver, By.CSS_SELECTOR, f"[data-testid=invitation-row][data-user-id='{newcomer}']")
        assert newcomer not in {m["user_id"] for m in http("GET", f"{server.url}/v1/admin/members", token=admin)[2]["members"]}
        newcomer_token = server.token(newcomer)
        invitation = http("GET", f"{server.url}/v1/invitations", token=newcomer_token)[2]["invitations"][0]
        assert invitation["role"] == "viewer"
        assert http("POST", f"{server.url}/v1/invitations/{invitation['id']}/accept", token=newcomer_token)[0] == 200
        driver.find_element(By.ID, "tab-audit").click()
        driver.find_element(By.ID, "tab-members").click()
        row_css = f"[data-testid=member-row][data-user-id='{newcomer}']"
        row = _visible(driver, By.CSS_SELECTOR, row_css)
        Select(row.find_element(By.CSS_SELECTOR, "[data-testid=member-role-select]")).select_by_value("member")
        _wait(driver, lambda d: f"{newcomer} is now member" in _message(d), "role change not confirmed")
        members = {m["user_id"]: m["role"] for m in http("GET", f"{server.url}/v1/admin/members", token=admin)[2]["members"]}
        assert members.get(newcomer) == "member", members
        remove = driver.find_element(By.CSS_SELECTOR, f"{row_css} [data-testid=member-remove]")
        remove.click()
        remove.click()
        _wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, row_css), "member row not removed")
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
