"""Headless Chromium for the page tests: the `browser` fixture (re-exported by conftest.py, so every
test module gets it) and small Selenium helpers.

Needs Debian's `chromium` and `chromium-driver` plus the `selenium` Python package (`make test`
installs them). Selenium Manager never runs: the driver and browser paths are given explicitly.
Without a browser the tests that use it fail, unless ENGRAM_ALLOW_NO_BROWSER=1 (then they are skipped).
"""
import os
import shutil
import tempfile
from urllib.parse import quote, urlsplit

import pytest

import helpers

CHROMIUM = os.environ.get("ENGRAM_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ENGRAM_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 20  # seconds; a debug build on a busy 2-core machine is slow

SESSION_COOKIE = "engram_session"


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

    from conftest import OUTPUT  # here, not at the top: conftest imports this module

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


def _console(driver):
    return driver.get_log("browser")


def _csp_violations(entries):
    return [e for e in entries if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


def _script_errors(entries):
    return [e for e in entries if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]


def _path(driver):
    return urlsplit(driver.current_url).path


def _shown(driver, element_id):
    """True when the element exists and is displayed (never raises for a missing element)."""
    from selenium.common.exceptions import StaleElementReferenceException
    found = driver.find_elements("id", element_id)
    try:
        return bool(found) and found[0].is_displayed()
    except StaleElementReferenceException:
        return False


def browser_sign_in(driver, server, user, password, next="/admin"):
    """Signs in on /signin?next=… with a user id and password and waits until the page is at `next`."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By

    helpers.SENT.add(password)
    driver.get(f"{server.url}/signin?next={quote(next, safe='/')}")
    field = _visible(driver, By.ID, "signin-user")
    field.clear()
    field.send_keys(user)
    secret = driver.find_element(By.ID, "signin-password")
    secret.clear()
    secret.send_keys(password)
    driver.find_element(By.ID, "signin-submit").click()
    target = urlsplit(next).path
    try:
        _wait(driver, lambda d: _path(d) == target, f"sign-in as {user} did not reach {target}")
    except TimeoutException:
        said = driver.find_elements(By.ID, "signin-message")
        raise AssertionError(f"sign-in as {user} did not reach {target}; the page is at {driver.current_url}, "
                             f"its message: {said[0].text if said else '(none)'!r}") from None


def session_cookie(driver):
    """The `engram_session` cookie as the browser holds it (name, value, httpOnly, sameSite, …), or None."""
    for c in driver.get_cookies():
        if c["name"] == SESSION_COOKIE:
            helpers.SENT.add(c["value"])
            return c
    return None


def assert_session_only_in_http_only_cookie(driver, *secrets):
    """The browser's credential is the HttpOnly session cookie: scripts cannot read it, and no token
    (nor the cookie's value, nor any of `secrets`) sits in sessionStorage or localStorage."""
    cookie = session_cookie(driver)
    assert cookie is not None, f"no {SESSION_COOKIE} cookie: {driver.get_cookies()}"
    assert cookie.get("httpOnly") is True, cookie
    assert SESSION_COOKIE not in driver.execute_script("return document.cookie"), "scripts must not see the session cookie"
    assert driver.execute_script("return sessionStorage.getItem('engram.admin.token')") is None
    storage = driver.execute_script(
        "return JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])")
    for value in (cookie["value"], *secrets):
        assert value not in storage, "a credential is in web storage"
    return cookie


def accept_confirm(driver, timeout=5):
    """Accepts the page's window.confirm() if one opens within `timeout` seconds; returns its text or None."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support import expected_conditions as EC
    try:
        alert = _wait(driver, EC.alert_is_present(), "no confirmation", timeout=timeout)
    except TimeoutException:
        return None
    text = alert.text
    alert.accept()
    return text


def answer_reauth(driver, password, code=None):
    """Fills the open re-prompt dialog with the password (and `code` when the dialog shows its TOTP row,
    at once or after the server answered totp_required), submits it and waits until it closes. Fails
    with the dialog's message if the server refuses."""
    from selenium.webdriver.common.by import By

    helpers.SENT.add(password)
    field = _visible(driver, By.ID, "reauth-password")
    field.clear()
    field.send_keys(password)
    code_sent = False

    def send_code():
        helpers.SENT.add(code)
        box = driver.find_element(By.ID, "reauth-totp")
        box.clear()
        box.send_keys(code)

    if code is not None and _shown(driver, "reauth-totp"):
        send_code()
        code_sent = True
    driver.find_element(By.ID, "reauth-submit").click()

    def settled(d):
        nonlocal code_sent
        if not _shown(d, "reauth-dialog"):
            return True
        if code is not None and not code_sent and _shown(d, "reauth-totp"):
            send_code()  # the server asked for the second factor: the password is still filled in
            code_sent = True
            d.find_element(By.ID, "reauth-submit").click()
            return False
        if _shown(d, "reauth-message") and d.find_element(By.ID, "reauth-message").text.strip():
            raise AssertionError("the re-prompt was refused: " + d.find_element(By.ID, "reauth-message").text)
        return False

    _wait(driver, settled, "the re-prompt dialog did not close")


def wait_with_reauth(driver, password, condition, message, code=None, expect_prompt=False, timeout=WAIT):
    """Waits for `condition` after a sensitive action (role change, member removal, org policy, deleting
    org memories, the webhook secret, creating tokens). Those need a password typed within the server's
    re-prompt window: when the page opens its re-prompt dialog (ids reauth-*), it is answered with
    `password` (and `code`) and the wait goes on. With `expect_prompt` the dialog must have opened."""
    prompted = []

    def check(d):
        if _shown(d, "reauth-dialog"):
            answer_reauth(d, password, code)
            prompted.append(True)
            return False
        return condition(d)

    result = _wait(driver, check, message, timeout=timeout)
    if expect_prompt:
        assert prompted, "the page did not ask for the password again although the re-prompt window had passed"
    return result
