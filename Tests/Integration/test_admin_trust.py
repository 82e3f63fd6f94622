"""The admin page's trust tools, driven in headless Chromium (the `browser` fixture is in browser.py):
possible conflicts beside a memory under review and superseding them on approval, four-eyes review
(an owner cannot approve their own memory) and its Organisation setting, and the Containment tab
(quarantine and release by member, each shown as a dry run before it is confirmed).

Each test works in an organisation of its own, so its memories do not mix with the other tests'.
None depends on the poisoning screen's rules (texts are plainly benign), except
test_admin_flagged_memory_shows_its_flags, which checks the page's flag badge and skips while the
screen does not flag the documented example.
"""
import uuid
from urllib.parse import quote_plus

import pytest

from browser import _visible, _wait, browser_sign_in, wait_with_reauth
from conftest import OUTPUT
from helpers import http, new_password
from test_admin_history import _check_console, _on_failure, _open
from test_admin_page import _message

CONFLICT_ORG = "acme-admin-trust-conflicts"
FOUR_EYES_ORG = "acme-admin-trust-four-eyes"
CONTAINMENT_ORG = "acme-admin-trust-containment"
FLAG_ORG = "acme-admin-trust-flags"

# all-MiniLM-L6-v2 puts these two at cosine ≈ 0.85: a possible conflict (0.80 up to the 0.95
# near-duplicate threshold), about the same repository and tags.
OLD_RETRIES = "The orders API client retries failed requests three times with exponential backoff"
NEW_RETRIES = "The orders API client retries failed requests five times with a fixed two second delay"
ORDERS_REPO = "github.com/acme/orders"


def _add(server, token, content, task, **extra):
    status, _, body = http("POST", f"{server.url}/v1/memories",
                           {"content": content, "scope": "org", "task_id": task, **extra}, token=token)
    assert status == 201 and body["status"] == "created", body
    return body


def _finish(server, token, task, state):
    status, _, body = http("POST", f"{server.url}/v1/finish", {"task_id": task}, token=token)
    assert status == 200 and body["state"] == state, body
    return body["promoted"]


def _admin_get(server, token, mid):
    status, _, body = http("GET", f"{server.url}/v1/admin/memories/{mid}", token=token)
    assert status == 200, body
    return body


def _search_ids(server, token, query):
    status, _, body = http("GET", f"{server.url}/v1/memories/search?q={quote_plus(query)}&limit=20", token=token)
    assert status == 200, body
    return [r["memory"]["id"] for r in body["results"]]


def _detail_state(driver):
    return driver.find_element("id", "detail-state").get_attribute("data-state")


def test_admin_review_shows_conflicts_and_supersedes_on_approval(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    admin = server.token("tc-cleo", org=CONFLICT_ORG, role="admin")
    password = server.set_password("tc-cleo", new_password("tc-cleo"), org=CONFLICT_ORG, role="admin")
    old_author = server.token("tc-otto", org=CONFLICT_ORG, role="member")
    new_author = server.token("tc-nina", org=CONFLICT_ORG, role="member")
    status, _, body = http("PATCH", f"{server.url}/v1/admin/org", {"require_review": True}, token=admin)
    assert status == 200 and body["require_review"] is True and body["approver_must_differ"] is True, body

    # The old memory: otto's, approved by cleo, published.
    task = f"TC-{uuid.uuid4().hex[:8]}"
    old = _add(server, old_author, OLD_RETRIES, task, repo=ORDERS_REPO, tags=["orders", "http"], kind="pattern")["memory"]
    assert _finish(server, old_author, task, "pending_review") == [old["id"]]
    status, _, body = http("POST", f"{server.url}/v1/admin/memories/{old['id']}/approve",
                           {"content_hash": old["content_hash"]}, token=admin)
    assert status == 200 and body["memory"]["state"] == "published", body

    # nina writes a memory that contradicts it: the add answers the old one as a possible conflict.
    task = f"TC-{uuid.uuid4().hex[:8]}"
    added = _add(server, new_author, NEW_RETRIES, task, repo=ORDERS_REPO, tags=["orders", "http"], kind="pattern")
    new = added["memory"]
    conflicts = {c["id"]: c for c in added["possible_conflicts"]}
    assert old["id"] in conflicts, ("the add did not return the old memory as a possible conflict", added)
    assert 0.80 <= conflicts[old["id"]]["similarity"] < 0.95, conflicts
    assert _finish(server, new_author, task, "pending_review") == [new["id"]]
    detail = _admin_get(server, admin, new["id"])
    assert old["id"] in [c["id"] for c in detail["possible_conflicts"]], detail["possible_conflicts"]
    assert detail["memory"]["trust"] == "unreviewed" and detail["memory"]["screen_flags"] == [], detail["memory"]
    item_css = f"[data-testid=memory-item][data-memory-id='{new['id']}']"
    conflict_css = f"#detail-conflicts-list [data-testid=conflict-item][data-memory-id='{old['id']}']"

    try:
        browser_sign_in(driver, server, "tc-cleo", password, next="/admin")
        _visible(driver, By.ID, "app")

        # The pending memory is in the default queue; it opens with its trust and its conflict.
        _visible(driver, By.CSS_SELECTOR, item_css).click()
        _open(driver, new["id"])
        assert _detail_state(driver) == "pending_review"
        _wait(driver, lambda d: d.find_element(By.ID, "detail-trust").get_attribute("data-trust") == "unreviewed",
              "trust not shown")
        assert not driver.find_element(By.ID, "detail-flags").is_displayed(), "an unflagged memory shows no flag badge"
        assert not driver.find_element(By.ID, "detail-four-eyes").is_displayed(), "cleo did not write it"
        _visible(driver, By.ID, "detail-conflicts")
        conflict = _visible(driver, By.CSS_SELECTOR, conflict_css)
        assert conflict.get_attribute("data-state") == "published"
        assert conflict.find_element(By.CSS_SELECTOR, "[data-testid=conflict-content]").text == OLD_RETRIES
        assert "tc-otto" in conflict.text
        assert float(conflict.get_attribute("data-similarity")) == conflicts[old["id"]]["similarity"]
        assert conflict.find_element(By.CSS_SELECTOR, "[data-testid=conflict-similarity]").text.startswith("similarity 0.")
        box = conflict.find_element(By.CSS_SELECTOR, "[data-testid=conflict-supersede]")
        assert box.is_enabled() and not box.is_selected()

        # Tick "supersede on approval" and approve.
        box.click()
        assert box.is_selected()
        driver.find_element(By.ID, "btn-approve").click()
        _wait(driver, lambda d: _detail_state(d) == "published", "state did not become published")
        _wait(driver, lambda d: "superseded" in _message(d).lower(), "the approval did not report the supersession")
        # After the reload: reviewed, and the archived memory is no longer a conflict.
        _wait(driver, lambda d: d.find_element(By.ID, "detail-trust").get_attribute("data-trust") == "reviewed",
              "trust not reloaded as reviewed")
        _wait(driver, lambda d: not d.find_element(By.ID, "detail-conflicts").is_displayed(), "the superseded memory is still listed")
        assert driver.find_element(By.ID, "detail-reviewed-by").text == "tc-cleo"

        # Over REST: the old memory is archived with a link to the new one, which cleo reviewed.
        old_now = _admin_get(server, admin, old["id"])["memory"]
        assert old_now["state"] == "archived" and old_now["superseded_by"] == new["id"], old_now
        new_now = _admin_get(server, admin, new["id"])["memory"]
        assert new_now["state"] == "published" and new_now["reviewed_by"] == "tc-cleo", new_now
        assert new_now["trust"] == "reviewed" and new_now["superseded_by"] is None, new_now
        found = _search_ids(server, old_author, "orders API client retries failed requests")
        assert new["id"] in found and old["id"] not in found, found
        status, _, body = http("GET", f"{server.url}/v1/admin/audit?limit=50", token=admin)
        assert status == 200, body
        supersede = [e for e in body["entries"] if e["action"] == "supersede" and e["memory_id"] == old["id"]]
        assert len(supersede) == 1 and supersede[0]["actor"] == "tc-cleo", body["entries"]
        assert new["id"] in (supersede[0].get("detail") or ""), supersede[0]

        # The archived memory names its successor; the link opens it.
        Select(driver.find_element(By.ID, "filter-state")).select_by_value("archived")
        old_item = _visible(driver, By.CSS_SELECTOR, f"[data-testid=memory-item][data-memory-id='{old['id']}']")
        old_item.click()
        _open(driver, old["id"])
        link = _visible(driver, By.ID, "detail-superseded-link")
        assert link.get_attribute("data-memory-id") == new["id"]
        link.click()
        _open(driver, new["id"])
        driver.save_screenshot(str(OUTPUT / "admin-trust-conflicts.png"))

        _check_console(driver)
    except BaseException:
        _on_failure(driver, "admin-trust-conflicts")
        raise


def test_admin_owner_cannot_approve_own_memory(server, browser):
    from selenium.webdriver.common.by import By

    driver = browser
    owner = server.token("tf-owen", org=FOUR_EYES_ORG, role="owner")
    password = server.set_password("tf-owen", new_password("tf-owen"), org=FOUR_EYES_ORG, role="owner")
    member = server.token("tf-mia", org=FOUR_EYES_ORG, role="member")
    # Review is required, so the owner's finished memory waits in the queue.
    status, _, body = http("PATCH", f"{server.url}/v1/admin/org", {"require_review": True}, token=owner)
    assert status == 200 and body["require_review"] is True and body["approver_must_differ"] is True, body
    task = f"TF-{uuid.uuid4().hex[:8]}"
    content = f"Database migrations run in a separate deploy step before the application rolls out ({task})"
    mid = _add(server, owner, content, task, kind="decision")["memory"]["id"]
    assert _finish(server, owner, task, "pending_review") == [mid]
    item_css = f"[data-testid=memory-item][data-memory-id='{mid}']"

    try:
        browser_sign_in(driver, server, "tf-owen", password, next="/admin")
        _visible(driver, By.ID, "app")
        _visible(driver, By.CSS_SELECTOR, item_css).click()
        _open(driver, mid)
        assert _detail_state(driver) == "pending_review"
        assert driver.find_element(By.ID, "detail-trust").get_attribute("data-trust") == "own"
        # The page warns ahead; the server decides.
        hint = _visible(driver, By.ID, "detail-four-eyes")
        assert hint.get_attribute("data-kind") == "hint"

        driver.find_element(By.ID, "btn-approve").click()
        _wait(driver, lambda d: d.find_element(By.ID, "message").get_attribute("data-kind") == "error"
              and "four-eyes" in _message(d), "the refused approval showed no four-eyes message")
        error = _message(driver)
        assert "another admin or owner must approve it" in error and "HTTP 403" in error, error
        assert error.count("forbidden:") <= 1, error
        _wait(driver, lambda d: d.find_element(By.ID, "detail-four-eyes").get_attribute("data-kind") == "refused",
              "the refusal is not shown beside the memory")
        assert "four-eyes review" in driver.find_element(By.ID, "detail-four-eyes-text").text
        assert _detail_state(driver) == "pending_review"
        assert driver.find_element(By.ID, "btn-approve").is_enabled()
        body = _admin_get(server, owner, mid)
        assert body["memory"]["state"] == "pending_review" and body["memory"]["reviewed_by"] is None, body
        assert http("GET", f"{server.url}/v1/memories/{mid}", token=member)[0] == 404, "teammates do not see it"
        status, _, body = http("GET", f"{server.url}/v1/admin/audit?limit=50", token=owner)
        assert not [e for e in body["entries"] if e["action"] == "approve" and e["memory_id"] == mid], body["entries"]
        driver.save_screenshot(str(OUTPUT / "admin-trust-four-eyes.png"))

        # The Organisation tab shows the policy (on by default) and turns it off.
        driver.find_element(By.ID, "tab-org").click()
        _wait(driver, lambda d: d.find_element(By.ID, "org-id").text == FOUR_EYES_ORG, "org settings not shown")
        box = driver.find_element(By.ID, "org-approver-must-differ")
        assert box.is_selected()
        box.click()
        # An org policy change is re-prompted: the password again if the last one is too old.
        driver.find_element(By.ID, "org-save").click()
        wait_with_reauth(driver, password, lambda d: "four-eyes review off" in _message(d), "the setting was not saved")
        status, _, body = http("GET", f"{server.url}/v1/admin/org", token=owner)
        assert status == 200 and body["approver_must_differ"] is False and body["require_review"] is True, body

        # Now the owner may approve their own memory.
        driver.find_element(By.ID, "tab-queue").click()
        _visible(driver, By.CSS_SELECTOR, item_css).click()
        _open(driver, mid)
        _wait(driver, lambda d: not d.find_element(By.ID, "detail-four-eyes").is_displayed(), "the hint stayed with four-eyes off")
        driver.find_element(By.ID, "btn-approve").click()
        _wait(driver, lambda d: _detail_state(d) == "published", "the approval with four-eyes off failed")
        body = _admin_get(server, owner, mid)
        assert body["memory"]["state"] == "published" and body["memory"]["reviewed_by"] == "tf-owen", body

        # And back on: the checkbox follows the server.
        driver.find_element(By.ID, "tab-org").click()
        _wait(driver, lambda d: not d.find_element(By.ID, "org-approver-must-differ").is_selected(), "setting not shown as off")
        driver.find_element(By.ID, "org-approver-must-differ").click()
        driver.find_element(By.ID, "org-save").click()
        wait_with_reauth(driver, password, lambda d: "four-eyes review on" in _message(d), "the setting was not saved")
        assert http("GET", f"{server.url}/v1/admin/org", token=owner)[2]["approver_must_differ"] is True

        _check_console(driver)
    except BaseException:
        _on_failure(driver, "admin-trust-four-eyes")
        raise


QUARANTINED_2 = {"matched": 2, "quarantined": 2, "released": 0, "restored": 0, "unchanged": 0}


def _counts(driver, container_id):
    el = driver.find_element("id", container_id)
    return {name: int(el.get_attribute(f"data-{name}") or -1)
            for name in ("matched", "quarantined", "released", "restored", "unchanged")}


def _quarantined_ids(driver):
    from selenium.webdriver.common.by import By
    items = driver.find_elements(By.CSS_SELECTOR, "#quarantine-list [data-testid=quarantine-item]")
    return {e.get_attribute("data-memory-id") for e in items}


def test_admin_containment_quarantine_and_release_by_member(server, browser):
    from selenium.webdriver.common.by import By

    driver = browser
    admin = server.token("tq-ines", org=CONTAINMENT_ORG, role="admin")
    password = server.set_password("tq-ines", new_password("tq-ines"), org=CONTAINMENT_ORG, role="admin")
    suspect = server.token("tq-mark", org=CONTAINMENT_ORG, role="member")
    reader = server.token("tq-rosa", org=CONTAINMENT_ORG, role="member")
    # This org does not require review: finishing publishes.
    status, _, body = http("GET", f"{server.url}/v1/admin/org", token=admin)
    assert status == 200 and body["require_review"] is False, body

    task = f"TQ-{uuid.uuid4().hex[:8]}"
    # Markup in the content must show up as text in the quarantine list, never as HTML.
    staging = "The <b>staging</b> database is reset every Sunday night at 02:00 UTC"
    flags = "Feature flags for the checkout flow live in flags.yaml in the web repository"
    mine = "The mobile release train leaves every second Thursday afternoon"
    m1 = _add(server, suspect, staging, task, kind="fact")["memory"]["id"]
    m2 = _add(server, suspect, flags, task, kind="fact")["memory"]["id"]
    assert sorted(_finish(server, suspect, task, "published")) == sorted([m1, m2])
    other_task = f"TQ-{uuid.uuid4().hex[:8]}"
    r1 = _add(server, reader, mine, other_task, kind="fact")["memory"]["id"]
    assert _finish(server, reader, other_task, "published") == [r1]

    def visible_to_reader():
        found = set(_search_ids(server, reader, "staging database reset every Sunday night"))
        found |= set(_search_ids(server, reader, "feature flags checkout flow flags.yaml"))
        found |= set(_search_ids(server, reader, "mobile release train every second Thursday"))
        return found & {m1, m2, r1}

    assert visible_to_reader() == {m1, m2, r1}
    status, _, body = http("GET", f"{server.url}/v1/admin/quarantine", token=admin)
    assert status == 200 and body["memories"] == [], body

    try:
        browser_sign_in(driver, server, "tq-ines", password, next="/admin")
        _visible(driver, By.ID, "app")
        driver.find_element(By.ID, "tab-containment").click()
        _visible(driver, By.ID, "quarantine-empty")
        assert not driver.find_element(By.ID, "containment-confirm").is_displayed()

        # Quarantine by member: first the dry run, with its counts; nothing changes.
        driver.find_element(By.ID, "containment-member").send_keys("tq-mark")
        driver.find_element(By.ID, "containment-quarantine").click()
        confirm = _visible(driver, By.ID, "containment-confirm")
        assert confirm.get_attribute("data-action") == "quarantine"
        dry = driver.find_element(By.ID, "containment-dry-counts")
        assert dry.get_attribute("data-dry-run") == "true"
        assert _counts(driver, "containment-dry-counts") == QUARANTINED_2
        assert dry.find_element(By.CSS_SELECTOR, "[data-testid=count-quarantined]").text.split()[0] == "2"
        assert len(driver.find_elements(By.CSS_SELECTOR, "#containment-dry-ids [data-testid=containment-dry-id]")) == 2
        assert "dry run" in driver.find_element(By.ID, "containment-confirm-title").text.lower()
        assert visible_to_reader() == {m1, m2, r1}, "a dry run changes nothing"
        assert http("GET", f"{server.url}/v1/memories/{m1}", token=reader)[0] == 200
        assert http("GET", f"{server.url}/v1/admin/quarantine", token=admin)[2]["memories"] == []
        status, _, body = http("GET", f"{server.url}/v1/admin/audit?limit=50", token=admin)
        assert not [e for e in body["entries"] if e["action"] == "quarantine"], "a dry run is not audited"

        # Cancel, then the same again; changing the selector would also void the dry run.
        driver.find_element(By.ID, "containment-cancel").click()
        assert not driver.find_element(By.ID, "containment-confirm").is_displayed()
        driver.find_element(By.ID, "containment-quarantine").click()
        _visible(driver, By.ID, "containment-confirm")
        driver.find_element(By.ID, "containment-member").send_keys(" ")
        _wait(driver, lambda d: not d.find_element(By.ID, "containment-confirm").is_displayed(),
              "editing the selector did not void the dry run")
        assert visible_to_reader() == {m1, m2, r1}
        driver.find_element(By.ID, "containment-quarantine").click()
        _visible(driver, By.ID, "containment-confirm")
        assert _counts(driver, "containment-dry-counts")["quarantined"] == 2
        driver.save_screenshot(str(OUTPUT / "admin-containment-dry-run.png"))

        # Confirm: the final counts, the quarantine list, and mark's memories leave rosa's search at once.
        driver.find_element(By.ID, "containment-confirm-button").click()
        result = _visible(driver, By.ID, "containment-result")
        assert result.get_attribute("data-action") == "quarantine"
        assert not driver.find_element(By.ID, "containment-confirm").is_displayed()
        counts = driver.find_element(By.ID, "containment-result-counts")
        assert counts.get_attribute("data-dry-run") == "false"
        assert _counts(driver, "containment-result-counts") == QUARANTINED_2
        _wait(driver, lambda d: _quarantined_ids(d) == {m1, m2}, "the quarantine list does not show mark's memories")
        item = driver.find_element(By.CSS_SELECTOR, f"#quarantine-list [data-testid=quarantine-item][data-memory-id='{m1}']")
        assert item.get_attribute("data-from") == "published" and item.get_attribute("data-user-id") == "tq-mark"
        assert item.find_element(By.CSS_SELECTOR, "[data-testid=quarantine-text]").text == staging, "content is shown as text"
        assert driver.find_elements(By.CSS_SELECTOR, "#quarantine-list b") == []
        driver.save_screenshot(str(OUTPUT / "admin-containment.png"))

        assert visible_to_reader() == {r1}
        assert http("GET", f"{server.url}/v1/memories/{m1}", token=reader)[0] == 404
        status, _, body = http("GET", f"{server.url}/v1/admin/quarantine", token=admin)
        held = {q["memory"]["id"]: q for q in body["memories"]}
        assert set(held) == {m1, m2} and held[m1]["quarantined_from"] == "published" and held[m1]["text_shown"] is True, body
        status, _, body = http("GET", f"{server.url}/v1/admin/audit?limit=50", token=admin)
        entries = [e for e in body["entries"] if e["action"] == "quarantine"]
        assert len(entries) == 1 and entries[0]["actor"] == "tq-ines", body["entries"]
        assert "member=tq-mark" in entries[0]["detail"] and "matched 2; quarantined 2" in entries[0]["detail"], entries[0]

        # Release by the same selector: dry run first (nothing comes back yet), then confirm.
        driver.find_element(By.ID, "containment-release").click()
        confirm = _visible(driver, By.ID, "containment-confirm")
        assert confirm.get_attribute("data-action") == "release"
        assert not driver.find_element(By.ID, "containment-result").is_displayed()
        assert _counts(driver, "containment-dry-counts") == {"matched": 2, "quarantined": 0, "released": 2, "restored": 0, "unchanged": 0}
        assert visible_to_reader() == {r1}, "a dry run changes nothing"
        driver.find_element(By.ID, "containment-confirm-button").click()
        _visible(driver, By.ID, "containment-result")
        assert driver.find_element(By.ID, "containment-result").get_attribute("data-action") == "release"
        assert _counts(driver, "containment-result-counts")["released"] == 2
        _visible(driver, By.ID, "quarantine-empty")
        assert _quarantined_ids(driver) == set()

        assert visible_to_reader() == {m1, m2, r1}
        for mid in (m1, m2):
            assert _admin_get(server, admin, mid)["memory"]["state"] == "published"

        _check_console(driver)
    except BaseException:
        _on_failure(driver, "admin-trust-containment")
        raise


# A scoped, plausibly legitimate security exception: the screen's documented `flag` example.
FLAG_EXAMPLE = ("tools/legacy_export.py uses `verify=False` for the old reporting host (INFRA-442); "
                "leave it until that host is retired.")


def test_admin_flagged_memory_shows_its_flags(server, browser):
    """Deliberately uses the poisoning screen: skipped while it does not flag the documented example."""
    from selenium.webdriver.common.by import By

    driver = browser
    admin = server.token("tg-gina", org=FLAG_ORG, role="admin")
    password = server.set_password("tg-gina", new_password("tg-gina"), org=FLAG_ORG, role="admin")
    author = server.token("tg-finn", org=FLAG_ORG, role="member")
    task = f"TG-{uuid.uuid4().hex[:8]}"
    status, _, body = http("POST", f"{server.url}/v1/memories", {"content": FLAG_EXAMPLE, "scope": "org", "task_id": task},
                           token=author)
    if status == 422 or (status == 201 and not body["memory"]["screen_flags"]):
        pytest.skip(f"the poisoning screen does not flag the documented example yet (HTTP {status})")
    assert status == 201, body
    mid = body["memory"]["id"]
    rules = body["memory"]["screen_flags"]
    # A flagged org memory goes to review even though this org does not require it.
    assert _finish(server, author, task, "pending_review") == [mid]

    try:
        browser_sign_in(driver, server, "tg-gina", password, next="/admin")
        _visible(driver, By.ID, "app")
        item = _visible(driver, By.CSS_SELECTOR, f"[data-testid=memory-item][data-memory-id='{mid}']")
        assert item.find_element(By.CSS_SELECTOR, "[data-testid=memory-item-flagged]").get_attribute("data-rules") == ",".join(rules)
        item.click()
        _open(driver, mid)
        flags = _visible(driver, By.ID, "detail-flags")
        assert flags.text.startswith("flagged: ") and all(r in flags.text for r in rules), flags.text
        assert driver.find_element(By.ID, "detail-trust").get_attribute("data-trust") == "flagged"
        _visible(driver, By.ID, "detail-flagged")
        # Approving vouches for the text: the flags are cleared.
        driver.find_element(By.ID, "btn-approve").click()
        _wait(driver, lambda d: _detail_state(d) == "published", "state did not become published")
        _wait(driver, lambda d: not d.find_element(By.ID, "detail-flags").is_displayed(), "flags still shown after approval")
        m = _admin_get(server, admin, mid)["memory"]
        assert m["screen_flags"] == [] and m["trust"] == "reviewed", m
        _check_console(driver)
    except BaseException:
        _on_failure(driver, "admin-trust-flags")
        raise
