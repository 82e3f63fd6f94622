"""Starts the real `engram` binary on a free loopback port for the integration tests."""
import base64
import hashlib
import hmac
import json
import os
import pathlib
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from mcp import ClientSession

import helpers
# The Chromium `browser` fixture lives in browser.py; importing it here makes it every module's fixture.
from browser import browser, browser_sign_in  # noqa: F401
from helpers import totp  # noqa: F401  (re-exported for the tests)

# Record what the MCP SDK sends, for the log-hygiene test.
_original_call_tool = ClientSession.call_tool


async def _recording_call_tool(self, name, arguments=None, *args, **kwargs):
    helpers.remember(arguments)
    return await _original_call_tool(self, name, arguments, *args, **kwargs)


ClientSession.call_tool = _recording_call_tool

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("ENGRAM_BIN", str(REPO / ".build" / "debug" / "engram"))
MODEL_DIR = os.environ.get("ENGRAM_MODEL_DIR", str(REPO / "models" / "all-MiniLM-L6-v2"))
OUTPUT = pathlib.Path(os.environ.get("ENGRAM_TEST_OUTPUT", str(REPO / "test-output")))
SECRET = "integration-secret-" + hashlib.sha256(b"engram-tests").hexdigest()
# Every server and command of the suite keeps its data encrypted at rest (README, "Encryption at rest"):
# the key is in the environment each subprocess inherits. A test that wants plaintext storage passes
# ENGRAM_ENCRYPTION_KEY="" (test_encryption.py does both).
ENCRYPTION_KEY = base64.b64encode(os.urandom(32)).decode()
os.environ["ENGRAM_ENCRYPTION_KEY"] = ENCRYPTION_KEY
helpers.SENT.add(ENCRYPTION_KEY)

# The PostgreSQL cluster of Tests/pg_cluster.sh (application and owner role URLs), when it runs.
PG_APP_URL = os.environ.get("ENGRAM_TEST_POSTGRES_URL")
PG_OWNER_URL = os.environ.get("ENGRAM_TEST_POSTGRES_OWNER_URL")
# ENGRAM_TEST_METADATA=postgres (Tests/postgres.sh): every EngramServer keeps its metadata in a fresh
# PostgreSQL database of that cluster (`--metadata`), so the same tests run on both metadata engines.
METADATA_ENGINE = os.environ.get("ENGRAM_TEST_METADATA", "sqlite")
if METADATA_ENGINE not in ("sqlite", "postgres"):
    raise RuntimeError(f"ENGRAM_TEST_METADATA must be sqlite or postgres, not {METADATA_ENGINE}")
if METADATA_ENGINE == "postgres" and not (PG_APP_URL and PG_OWNER_URL):
    raise RuntimeError("ENGRAM_TEST_METADATA=postgres needs the cluster of Tests/pg_cluster.sh (ENGRAM_TEST_POSTGRES_*URL)")
for _url in (PG_APP_URL, PG_OWNER_URL):
    if _url and urllib.parse.urlsplit(_url).password:
        # The log-hygiene test holds every server log and output to never showing them.
        helpers.SENT.add(urllib.parse.unquote(urllib.parse.urlsplit(_url).password))
requires_postgres = pytest.mark.skipif(
    not (PG_APP_URL and PG_OWNER_URL), reason="no PostgreSQL test cluster (Tests/postgres.sh starts one)")


def _with_database(url: str, database: str) -> str:
    """`url` with its path (the database name) replaced."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


def pg_database(name: str):
    """A fresh, empty database in the test cluster, owned by the owner role (which has CREATEDB there);
    returns `(app_url, owner_url)` for it. The migrations run when a server or command first gets the owner
    URL (`--metadata-owner`). The cluster, and every database in it, is removed when the leg ends."""
    if not (PG_APP_URL and PG_OWNER_URL):
        raise RuntimeError("no PostgreSQL test cluster")
    database = "it_" + "".join(c if c.isalnum() else "_" for c in name.lower())[:40] + "_" + os.urandom(4).hex()
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", PG_OWNER_URL, "-c", f'CREATE DATABASE "{database}"'],
                   check=True, capture_output=True, text=True, timeout=60)
    return _with_database(PG_APP_URL, database), _with_database(PG_OWNER_URL, database)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims: dict, secret: str = SECRET, alg: str = "HS256") -> str:
    """Builds a JWT by hand (for forged, expired and alg:none tokens)."""
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    if alg == "none":
        return f"{header}.{payload}."
    sig = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(sig)}"


class EngramServer:
    def __init__(self, name: str, **env_extra):
        self.name = name
        self.data = pathlib.Path(tempfile.mkdtemp(prefix=f"engram-it-{name}-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        OUTPUT.mkdir(parents=True, exist_ok=True)
        self.log_path = OUTPUT / f"server-{name}.log"
        # Generous edge limits: the suite sends many bad tokens on purpose; test_edge.py checks the limits.
        self.env = dict(os.environ, ENGRAM_JWT_SECRET=SECRET, ENGRAM_MODEL_DIR=MODEL_DIR, ENGRAM_LOG_LEVEL="info",
                        ENGRAM_RATE_AUTH_FAILURE_BURST="100000", ENGRAM_RATE_WRITE_BURST="100000")
        if METADATA_ENGINE == "postgres":
            self.pg_app_url, self.pg_owner_url = pg_database(name)
            self.env.update(ENGRAM_METADATA=self.pg_app_url, ENGRAM_METADATA_OWNER=self.pg_owner_url)
        self.env.update(env_extra)
        self.proc = None

    def start(self, *extra):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.data), *extra],
            stdout=self.log, stderr=self.log, env=self.env)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"engram exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise RuntimeError("engram did not become healthy in 60 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()

    def token(self, user, org=None, role="member", days=30):
        cmd = [BIN, "token", "issue", "--user", user, "--role", role, "--days", str(days), "--data-dir", str(self.data)]
        if org:
            cmd += ["--org", org]
        out = subprocess.run(cmd, env=self.env, check=True, capture_output=True, text=True)
        helpers.SENT.add(out.stdout.strip())
        return out.stdout.strip()

    def cli(self, *args, input=None, check=True):
        """Runs `engram ARGS --data-dir DATA` on this server's data directory (the server may be running:
        the CLI writes the same SQLite file). Returns the CompletedProcess; with `check`, a non-zero exit
        fails the test with the CLI's stderr."""
        out = subprocess.run([BIN, *args, "--data-dir", str(self.data)], env=self.env, input=input,
                             capture_output=True, text=True, timeout=120)
        if check and out.returncode != 0:
            raise AssertionError(f"engram {' '.join(args)} exited with {out.returncode}: {out.stderr.strip()}")
        return out

    def set_password(self, user, password, org=None, role="member"):
        """Sets `user`'s password with `engram user add --password-stdin` (and their membership of `org`
        with `role`, when given)."""
        helpers.SENT.add(password)
        args = ["user", "add", "--user", user]
        if org:
            args += ["--org", org, "--role", role]
        self.cli(*args, "--password-stdin", input=password)
        return password

    def alive(self):
        with urllib.request.urlopen(self.url + "/healthz", timeout=5) as r:
            return r.status == 200


def start_with_qdrant_listener(name, api_key, **env_extra):
    """A started server with ENGRAM_QDRANT_API_KEY set and the Qdrant API on its own free port;
    `s.q` is an httpx client for that API (close it and stop the server when done)."""
    import httpx
    s = EngramServer(name, ENGRAM_QDRANT_API_KEY=api_key, **env_extra)
    port = free_port()
    s.qdrant_url = f"http://127.0.0.1:{port}"
    s.start("--qdrant-listen", f"127.0.0.1:{port}")
    deadline = time.time() + 30
    while True:
        try:
            if httpx.get(s.qdrant_url + "/", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.time() > deadline:
            s.stop()
            raise RuntimeError("the Qdrant listener did not come up")
        time.sleep(0.1)
    s.q = httpx.Client(base_url=s.qdrant_url, headers={"api-key": api_key}, timeout=60)
    return s


@pytest.fixture(scope="session")
def server():
    s = EngramServer("main").start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def tokens(server):
    return {
        "alice": server.token("alice", org="acme", role="member"),
        "bob": server.token("bob", org="acme", role="member"),
        "carol": server.token("carol", org="acme", role="admin"),
        "mallory": server.token("mallory", org="globex", role="owner"),
        "vic": server.token("vic", org="acme", role="viewer"),
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report carries the last lines of each server log it used (ids, sizes and rule names
    only: the server never logs secrets or memory content), so a CI failure can be read without artefacts."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for name, value in getattr(item, "funcargs", {}).items():
        path = getattr(value, "log_path", None)
        if not isinstance(path, pathlib.Path) or not path.exists():
            continue
        lines = path.read_text(errors="replace").splitlines()[-40:]
        report.sections.append((f"server log of `{name}` ({path.name}), last {len(lines)} lines", "\n".join(lines)))
