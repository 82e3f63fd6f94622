"""The admin page's memory history, diff and revert, its code-change, provenance and report
signals, and the Usage tab, driven in headless Chromium (the `browser` fixture is in browser.py).
Admins sign in with a password; their tokens serve the REST calls that set the scene.

Each test works in an organisation of its own, so its memories and reports do not mix with the
other tests' (which use "acme" and "acme-admin-ui").
"""
import hashlib
import hmac
import json
import uuid

from browser import _console, _csp_violations, _script_errors, _visible, _wait, browser_sign_in, wait_with_reauth
from conftest import OUTPUT
from helpers import SENT, http, new_password
from test_admin_page import _message

HISTORY_ORG = "acme-admin-history"
USAGE_ORG = "acme-admin-usage"


def _texts(driver, css):
    from selenium.webdriver.common.by import By
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]


def _rows(driver):
    from selenium.webdriver.common.by import By
    return driver.find_elements(By.CSS_SELECTOR, "#history-body [data-testid=history-row]")


def _versions(driver):
    return [int(r.get_attribute("data-version")) for r in _rows(driver)]


def _row(driver, version):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.CSS_SELECTOR, f"#history-body [data-testid=history-row][data-version='{version}']")


def _open(driver, mid):
    _wait(driver, lambda d: d.find_element("id", "detail").get_attribute("data-memory-id") == mid
          and d.find_element("id", "detail").is_displayed(), "detail did not open")


def _check_console(driver):
    log = _console(driver)
    assert _csp_violations(log) == [], _csp_violations(log)
    assert _script_errors(log) == [], _script_errors(log)


def _on_failure(driver, name):
    try:
        driver.save_screenshot(str(OUTPUT / f"{name}-failure.png"))
        (OUTPUT / f"{name}-failure.log").write_text("\n".join(str(e) for e in _console(driver)))
    except Exception:
        pass


def test_admin_history_diff_and_revert(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    admin = server.token("hedy", org=HISTORY_ORG, role="admin")
    owner = server.token("olga", org=HISTORY_ORG, role="owner")
    password = server.set_password("hedy", new_password("hedy"), org=HISTORY_ORG, role="admin")
    task = f"HIST-{uuid.uuid4().hex[:8]}"
    repo = "github.com/acme/billing"
    # Markup in the content must be shown as text in the history and the diff, never parsed.
    original = f"Billing deploys go through the blue lane behind the <b>canary</b> gate ({task})"
    edited = f"Billing deploys go through the green lane behind the manual <b>canary</b> gate ({task})"

    # v1: the admin writes an org draft; v2: finishing the task publishes it (this org does not
    # require review); v3: its author edits content, tags and kind.
    status, _, body = http("POST", f"{server.url}/v1/memories",
                           {"content": original, "scope": "org", "task_id": task, "kind": "pattern",
                            "tags": ["deploy"], "repo": repo}, token=admin)
    assert status == 201 and body["memory"]["state"] == "draft" and body["memory"]["version"] == 1, body
    mid = body["memory"]["id"]
    status, _, body = http("POST", f"{server.url}/v1/finish", {"task_id": task}, token=admin)
    assert status == 200 and body["promoted"] == [mid] and body["state"] == "published", body
    status, _, body = http("PATCH", f"{server.url}/v1/memories/{mid}",
                           {"content": edited, "tags": ["deploy", "billing"], "kind": "decision"}, token=admin)
    assert status == 200 and body["memory"]["version"] == 3 and body["memory"]["state"] == "published", body
    status, _, body = http("GET", f"{server.url}/v1/admin/memories/{mid}/versions", token=admin)
    assert status == 200 and [v["version"] for v in body["versions"]] == [1, 2, 3], body
    reasons = [v["reason"] for v in body["versions"]]
    assert reasons == ["created", f"finish task {task}", "edit"], reasons
    item_css = f"[data-testid=memory-item][data-memory-id='{mid}']"

    try:
        browser_sign_in(driver, server, "hedy", password, next="/admin")
        _visible(driver, By.ID, "app")

        # The memory is published: list published memories with its task id in the text.
        Select(driver.find_element(By.ID, "filter-state")).select_by_value("published")
        driver.find_element(By.ID, "filter-q").send_keys(task)
        driver.find_element(By.ID, "filter-apply").click()
        _wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid=memory-item]")) == 1
              and d.find_elements(By.CSS_SELECTOR, item_css), "the filters did not narrow the queue to the memory")
        driver.find_element(By.CSS_SELECTOR, item_css).click()
        _open(driver, mid)
        assert driver.find_element(By.ID, "detail-version").text == "v3"
        _wait(driver, lambda d: d.find_element(By.ID, "detail-freshness").get_attribute("data-state") == "fresh",
              "freshness not shown")
        assert driver.find_element(By.ID, "detail-freshness").text == "fresh"
        assert not driver.find_element(By.ID, "detail-anchor-changed").is_displayed(), "no code change yet"
        assert not driver.find_element(By.ID, "detail-reports").is_displayed(), "no reports yet"
        assert driver.find_element(By.ID, "prov-author").text == "hedy"
        assert driver.find_element(By.ID, "prov-channel").text == "rest"
        assert driver.find_element(By.ID, "prov-task").text == task
        assert driver.find_element(By.ID, "prov-repo").text == repo

        # History: versions 1..3, oldest first, with who, how, why and the state after each change.
        _wait(driver, lambda d: _versions(d) == [1, 2, 3], "history does not list versions 1..3")
        assert [r.get_attribute("data-reason") for r in _rows(driver)] == reasons
        assert [r.get_attribute("data-state") for r in _rows(driver)] == ["draft", "published", "published"]
        assert {r.get_attribute("data-actor") for r in _rows(driver)} == {"hedy"}
        for row, reason in zip(_rows(driver), reasons):
            assert reason in row.text and "hedy" in row.text and "rest" in row.text, row.text
        assert driver.find_element(By.ID, "history-count").text == "3 versions"
        # Older versions can be reverted to; the latest cannot.
        revertable = [int(b.get_attribute("data-version"))
                      for b in driver.find_elements(By.CSS_SELECTOR, "#history-body [data-testid=history-revert]")]
        assert revertable == [1, 2], revertable

        # The latest change is diffed against the version before it: removed and added words,
        # changed tags and kind. Content stays text: the <b> of the memory is not an element.
        diff = _visible(driver, By.ID, "history-diff")
        assert diff.get_attribute("data-from") == "v2" and diff.get_attribute("data-to") == "v3"
        assert "v2 → v3" in driver.find_element(By.ID, "diff-title").text
        removed = _texts(driver, "#diff-content del")
        added = _texts(driver, "#diff-content ins")
        assert any("blue" in t for t in removed), removed
        assert any("green" in t for t in added) and any("manual" in t for t in added), added
        assert not any("canary" in t or "Billing" in t for t in removed + added), "unchanged words are not marked"
        assert driver.find_element(By.ID, "diff-content").text.count("<b>canary</b>") == 1
        assert driver.find_elements(By.CSS_SELECTOR, "#diff-content b, #history-body b") == []
        assert _texts(driver, "[data-testid=diff-tag-added]") == ["billing"]
        assert _texts(driver, "[data-testid=diff-tag-removed]") == []
        kind = driver.find_element(By.CSS_SELECTOR, "[data-testid=diff-kind]")
        assert kind.find_element(By.TAG_NAME, "del").text == "pattern" and kind.find_element(By.TAG_NAME, "ins").text == "decision"
        assert _row(driver, 3).get_attribute("class").split().count("selected") == 1

        # v2 only published v1: the state changed, the content did not.
        _row(driver, 2).find_element(By.CSS_SELECTOR, "[data-testid=history-diff-button]").click()
        _wait(driver, lambda d: d.find_element(By.ID, "history-diff").get_attribute("data-to") == "v2", "v2 not diffed")
        assert driver.find_element(By.ID, "diff-same").is_displayed()
        assert driver.find_elements(By.CSS_SELECTOR, "#diff-content del, #diff-content ins") == []
        state = driver.find_element(By.CSS_SELECTOR, "[data-testid=diff-state]")
        assert state.find_element(By.TAG_NAME, "del").text == "draft" and state.find_element(By.TAG_NAME, "ins").text == "published"

        # v1 against the current memory.
        Select(driver.find_element(By.ID, "history-compare")).select_by_value("current")
        _row(driver, 1).find_element(By.CSS_SELECTOR, "[data-testid=history-diff-button]").click()
        _wait(driver, lambda d: d.find_element(By.ID, "history-diff").get_attribute("data-from") == "v1"
              and d.find_element(By.ID, "history-diff").get_attribute("data-to") == "current (v3)", "v1 → current not diffed")
        assert any("blue" in t for t in _texts(driver, "#diff-content del"))
        assert any("green" in t for t in _texts(driver, "#diff-content ins"))
        driver.execute_script("arguments[0].scrollIntoView({block: 'end'})", driver.find_element(By.ID, "history-diff"))
        driver.save_screenshot(str(OUTPUT / "admin-history.png"))

        # Revert asks first. While hedy is demoted to member, the server refuses and the page shows
        # its error; nothing changes.
        _row(driver, 2).find_element(By.CSS_SELECTOR, "[data-testid=history-revert]").click()
        confirm = _visible(driver, By.ID, "revert-confirm")
        assert confirm.get_attribute("data-version") == "2"
        assert "version 2" in driver.find_element(By.ID, "revert-confirm-text").text
        status, _, body = http("PATCH", f"{server.url}/v1/admin/members/hedy", {"role": "member"}, token=owner)
        assert status == 200 and body["member"]["role"] == "member", body
        try:
            driver.find_element(By.ID, "btn-revert-confirm").click()
            _wait(driver, lambda d: d.find_element(By.ID, "message").get_attribute("data-kind") == "error"
                  and "HTTP 4" in _message(d), "the refused revert showed no error")
            error = _message(driver)
            assert "forbidden" in error.lower() or "not_found" in error.lower(), error
            status, _, body = http("GET", f"{server.url}/v1/memories/{mid}", token=admin)
            assert body["memory"]["version"] == 3 and body["memory"]["content"] == edited, body
            assert _versions(driver) == [1, 2, 3]
        finally:
            status, _, body = http("PATCH", f"{server.url}/v1/admin/members/hedy", {"role": "admin"}, token=owner)
            assert status == 200 and body["member"]["role"] == "admin", body

        # As an admin again, the revert goes through: v4 restores v2's text, tags and kind.
        assert driver.find_element(By.ID, "revert-confirm").is_displayed()
        driver.find_element(By.ID, "btn-revert-confirm").click()
        _wait(driver, lambda d: "reverted to v2" in _message(d).lower(), "revert not confirmed")
        _wait(driver, lambda d: _versions(d) == [1, 2, 3, 4], "history not reloaded after the revert")
        assert _row(driver, 4).get_attribute("data-reason") == "revert to v2"
        assert not driver.find_element(By.ID, "revert-confirm").is_displayed()
        assert driver.find_element(By.ID, "detail-content").get_attribute("value") == original
        assert driver.find_element(By.ID, "detail-tags").get_attribute("value") == "deploy"
        assert driver.find_element(By.ID, "detail-version").text == "v4"
        # The diff now shows the revert itself (v3 → v4): the edit's words go, the original's come back.
        _wait(driver, lambda d: d.find_element(By.ID, "history-diff").get_attribute("data-to") == "v4", "revert not diffed")
        assert any("green" in t for t in _texts(driver, "#diff-content del"))
        assert any("blue" in t for t in _texts(driver, "#diff-content ins"))

        status, _, body = http("GET", f"{server.url}/v1/memories/{mid}", token=admin)
        assert status == 200, body
        m = body["memory"]
        assert m["content"] == original and m["version"] == 4 and m["version"] > 3, m
        assert m["tags"] == ["deploy"] and m["kind"] == "pattern" and m["state"] == "published", m
        status, _, body = http("GET", f"{server.url}/v1/admin/audit?limit=50", token=admin)
        assert status == 200, body
        reverts = [e for e in body["entries"] if e["action"] == "revert" and e["memory_id"] == mid]
        assert len(reverts) == 1 and reverts[0]["actor"] == "hedy", body["entries"]
        assert "to v2" in (reverts[0].get("detail") or ""), reverts[0]
        assert original not in json.dumps(body), "the audit log never holds content"

        # The page's audit log shows it too.
        driver.find_element(By.ID, "tab-audit").click()
        row = _visible(driver, By.CSS_SELECTOR, f"[data-testid=audit-row][data-action=revert][data-memory-id='{mid}']")
        assert row.get_attribute("data-actor") == "hedy"

        _check_console(driver)
    except BaseException:
        _on_failure(driver, "admin-history")
        raise


def _sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_admin_detail_signals_and_usage(server, browser):
    from selenium.webdriver.common.by import By

    driver = browser
    admin = server.token("greta", org=USAGE_ORG, role="admin")
    member = server.token("ivan", org=USAGE_ORG, role="member")
    password = server.set_password("greta", new_password("greta"), org=USAGE_ORG, role="admin")
    task = f"USE-{uuid.uuid4().hex[:8]}"
    repo = "github.com/acme/payments"
    path = "Sources/Payments/Refunds.swift"
    written_at = "1f" * 20
    pushed = "2e" * 20

    def add(content, **extra):
        status, _, body = http("POST", f"{server.url}/v1/memories",
                               {"content": content, "scope": "org", "task_id": task, **extra}, token=admin)
        assert status == 201, body
        return body["memory"]["id"]

    # anchored: cites a file that a push will change, and gets a member's report.
    anchored = add(f"Refunds are idempotent on the refund request id ({task})", kind="gotcha", repo=repo,
                   anchors=[{"path": path, "symbol": "RefundService.refund"}], branch="main", commit=written_at)
    # served: a member's search finds it.
    served = add(f"Payment webhooks arrive out of order; sort by the event sequence number ({task})", kind="fact")
    # never: published, never served.
    never = add(f"The quarterly tax export runs on the first Monday after the quarter ends ({task})", kind="fact")
    status, _, body = http("POST", f"{server.url}/v1/finish", {"task_id": task}, token=admin)
    assert status == 200 and sorted(body["promoted"]) == sorted([anchored, served, never]), body

    status, _, body = http("GET", f"{server.url}/v1/memories/search?q=payment+webhooks+arrive+out+of+order+event+sequence&limit=1",
                           token=member)
    assert status == 200 and [r["memory"]["id"] for r in body["results"]] == [served], body
    note = "The <i>refund</i> id is no longer unique since the v2 API"
    status, _, body = http("POST", f"{server.url}/v1/memories/{anchored}/rate", {"verdict": "outdated", "note": note}, token=member)
    assert status == 200 and body["outcome"] == "recorded", body

    # A signed GitHub push that modifies the cited file marks the memory (and sends it back to review).
    secret = "whsec-" + uuid.uuid4().hex + uuid.uuid4().hex[:8]
    SENT.add(secret)
    status, _, body = http("PUT", f"{server.url}/v1/admin/webhook-secret", {"secret": secret}, token=admin)
    assert status == 204, body
    push = json.dumps({
        "ref": "refs/heads/main", "before": written_at, "after": pushed,
        "repository": {"full_name": "acme/payments", "html_url": "https://github.com/acme/payments"},
        "commits": [{"id": pushed, "added": [], "removed": [], "modified": [path]}],
    }).encode()
    status, _, body = http("POST", f"{server.url}/v1/hooks/github/{USAGE_ORG}", raw=push,
                           headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4()),
                                    "X-Hub-Signature-256": _sign(push, secret)})
    assert status == 200 and body["anchor_changed"] == [anchored], body
    status, _, body = http("GET", f"{server.url}/v1/admin/memories/{anchored}", token=admin)
    assert status == 200 and body["memory"]["anchor_changed"]["commit"] == pushed, body
    assert [r["user_id"] for r in body["reports"]] == ["ivan"], body

    try:
        browser_sign_in(driver, server, "greta", password, next="/admin")
        _visible(driver, By.ID, "app")

        # Usage: most served, never served, recent reports and members.
        driver.find_element(By.ID, "tab-usage").click()
        row = _visible(driver, By.CSS_SELECTOR, f"[data-testid=usage-most-row][data-memory-id='{served}']")
        assert int(row.get_attribute("data-served")) >= 1
        assert "out of order" in row.text
        _visible(driver, By.CSS_SELECTOR, f"[data-testid=usage-never-row][data-memory-id='{never}']")
        assert not driver.find_elements(By.CSS_SELECTOR, f"[data-testid=usage-never-row][data-memory-id='{served}']")
        report = _visible(driver, By.CSS_SELECTOR, f"[data-testid=usage-report-row][data-memory-id='{anchored}']")
        assert report.get_attribute("data-user-id") == "ivan" and report.get_attribute("data-verdict") == "outdated"
        assert note in report.text, "the note is shown as text"
        assert driver.find_elements(By.CSS_SELECTOR, "#panel-usage i") == []
        members = {r.get_attribute("data-user-id"): r.text for r in
                   driver.find_elements(By.CSS_SELECTOR, "[data-testid=usage-member-row]")}
        assert set(members) >= {"greta", "ivan"}, members
        assert members["greta"].split()[1:3] == ["3", "1"], members["greta"]  # authored 3, served 1
        assert members["ivan"].split()[-1] == "1", members["ivan"]  # one report
        driver.save_screenshot(str(OUTPUT / "admin-usage.png"))

        # The report's memory link opens it: code change, freshness, provenance and the open report.
        report.find_element(By.CSS_SELECTOR, "[data-testid=usage-memory-link]").click()
        _open(driver, anchored)
        notice = _visible(driver, By.ID, "detail-anchor-changed")
        assert notice.get_attribute("data-commit") == pushed
        text = driver.find_element(By.ID, "detail-anchor-changed-text").text
        assert f"code changed since {pushed[:12]}" in text.lower() and path in text, text
        fresh = driver.find_element(By.ID, "detail-freshness")
        assert fresh.get_attribute("data-state") == "code_changed" and pushed[:12] in fresh.text, fresh.text
        assert driver.find_element(By.ID, "detail-state").get_attribute("data-state") == "pending_review"
        assert driver.find_element(By.ID, "prov-commit").text == written_at
        assert driver.find_element(By.ID, "prov-branch").text == "main"
        assert driver.find_element(By.ID, "prov-repo").text == repo
        assert driver.find_element(By.ID, "prov-task").text == task
        assert path in driver.find_element(By.ID, "prov-anchors").text
        _visible(driver, By.ID, "detail-reports")
        items = driver.find_elements(By.CSS_SELECTOR, "#detail-reports-list [data-testid=report-item]")
        assert [(i.get_attribute("data-user-id"), i.get_attribute("data-verdict")) for i in items] == [("ivan", "outdated")]
        assert items[0].find_element(By.CSS_SELECTOR, "[data-testid=report-note]").text == note
        assert driver.find_elements(By.CSS_SELECTOR, "#detail-reports-list i") == []
        # The webhook's change is the latest version: no content change, state published → pending review.
        _wait(driver, lambda d: len(_rows(d)) >= 3, "history not loaded")
        last = _rows(driver)[-1]
        assert last.get_attribute("data-state") == "pending_review" and last.get_attribute("data-actor"), last.text
        assert driver.find_element(By.ID, "diff-same").is_displayed()
        driver.save_screenshot(str(OUTPUT / "admin-signals.png"))

        _check_console(driver)
    except BaseException:
        _on_failure(driver, "admin-usage")
        raise


def test_admin_org_lifecycle_settings_and_webhook_secret(server, browser):
    """The Organisation tab sets the stale and retention periods and the webhook secret (never shown again)."""
    from selenium.webdriver.common.by import By

    driver = browser
    org = "acme-admin-settings"
    admin = server.token("hanna", org=org, role="admin")
    password = server.set_password("hanna", new_password("hanna"), org=org, role="admin")
    secret = "settings-" + uuid.uuid4().hex
    SENT.add(secret)
    try:
        browser_sign_in(driver, server, "hanna", password, next="/admin")
        _visible(driver, By.ID, "app")
        driver.find_element(By.ID, "tab-org").click()
        _wait(driver, lambda d: d.find_element(By.ID, "org-id").text == org, "org settings not shown")
        assert driver.find_element(By.ID, "org-stale-days").get_attribute("value") == "180"
        assert driver.find_element(By.ID, "org-webhook-state").text == "not set"
        for field, value in (("org-stale-days", "45"), ("org-retention-days", "60"), ("org-webhook-secret", secret)):
            el = driver.find_element(By.ID, field)
            el.clear()
            el.send_keys(value)
        # Org policy and the webhook secret are re-prompted: the password again if the last one is too old.
        driver.find_element(By.ID, "org-save").click()
        wait_with_reauth(driver, password, lambda d: d.find_element(By.ID, "org-webhook-state").text == "set",
                         "webhook secret not saved")
        assert driver.find_element(By.ID, "org-webhook-secret").get_attribute("value") == "", "the secret is not kept in the page"
        assert secret not in driver.page_source
        status, _, body = http("GET", f"{server.url}/v1/admin/org", token=admin)
        assert status == 200 and body["stale_after_days"] == 45 and body["version_retention_days"] == 60
        assert body["webhook_secret_set"] is True and secret not in json.dumps(body)
        # The secret works: a ping signed with it is accepted.
        ping = b'{"zen": "Keep it logically awesome."}'
        sig = "sha256=" + hmac.new(secret.encode(), ping, hashlib.sha256).hexdigest()
        status, _, _ = http("POST", f"{server.url}/v1/hooks/github/{org}", raw=ping,
                            headers={"X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": sig})
        assert status == 200
        # A period outside the bounds is refused by the server, and nothing changes.
        el = driver.find_element(By.ID, "org-stale-days")
        driver.execute_script("arguments[0].removeAttribute('min')", el)
        el.clear()
        el.send_keys("2")
        driver.find_element(By.ID, "org-save").click()
        wait_with_reauth(driver, password, lambda d: "stale_after_days" in _message(d), "out-of-range period not refused")
        assert http("GET", f"{server.url}/v1/admin/org", token=admin)[2]["stale_after_days"] == 45
        driver.find_element(By.ID, "org-webhook-clear").click()
        wait_with_reauth(driver, password, lambda d: d.find_element(By.ID, "org-webhook-state").text == "not set",
                         "webhook secret not removed")
        _check_console(driver)
    except Exception:
        _on_failure(driver, "admin-org-settings")
        raise
