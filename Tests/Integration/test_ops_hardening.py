"""Operational hardening (issue 13): commands find the data directory's embedding model from any
working directory or fail loudly, read-only commands create nothing, data files are private, the CLI
resolves id prefixes and reports an unreachable server in one line, `recall` labels its columns, and
the OpenAPI document covers every registered route."""
import json
import os
import pathlib
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile

import pytest

from conftest import BIN, MODEL_DIR, REPO, EngramServer, free_port
from helpers import http

MODEL = "all-MiniLM-L6-v2"
TEXTS = ["Olga's service reads its settings from TOML files",
         "The nightly job compacts the event log before the backup",
         "Integration tests run against a throwaway Postgres container"]


def run(*args, data=None, env=None, cwd=None, timeout=300):
    cmd = [BIN, *args] + (["--data-dir", str(data)] if data else [])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


def env_without_model(base, **extra):
    """The server's environment less everything that names the model: what a shell elsewhere has."""
    env = {k: v for k, v in base.items() if k not in ("ENGRAM_MODEL_DIR", "ENGRAM_EMBEDDER")}
    env.update(extra)
    return env


def collections(data):
    with sqlite3.connect(f"file:{data / 'engram.sqlite'}?mode=ro", uri=True) as db:
        return sorted(r[0] for r in db.execute("SELECT name FROM collections"))


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(scope="module")
def populated():
    """A stopped server's data directory holding MiniLM memories of user olga."""
    s = EngramServer("ops-populated").start()
    try:
        token = s.token("olga", org="ops")
        for t in TEXTS:
            assert http("POST", s.url + "/v1/memories", {"content": t}, token=token)[0] == 201
    finally:
        s.stop()
    return s


def test_data_directory_records_its_embedding_model(populated):
    record = json.loads((populated.data / "engram.json").read_text())
    emb = record["embedding"]
    assert emb["model"] == MODEL and emb["dimensions"] == 384
    assert emb["collection"] == "memories_all_minilm_l6_v2_384"
    assert pathlib.Path(emb["model_dir"]).resolve() == pathlib.Path(MODEL_DIR).resolve()


def test_export_from_another_directory_uses_the_recorded_model(populated):
    before = collections(populated.data)
    elsewhere = tempfile.mkdtemp()
    out = pathlib.Path(elsewhere) / "out.jsonl"
    r = run("export", "--out", str(out), data=populated.data, env=env_without_model(populated.env), cwd=elsewhere)
    assert r.returncode == 0 and f"exported {len(TEXTS)} memories" in r.stdout, r.stdout + r.stderr
    assert len(out.read_text().splitlines()) == len(TEXTS)
    assert collections(populated.data) == before, "export must not create collections"


def test_every_command_fails_loudly_when_the_model_is_missing(populated):
    before = collections(populated.data)
    elsewhere = tempfile.mkdtemp()
    missing = dict(ENGRAM_MODEL_DIR=os.path.join(elsewhere, "no-model-here"))
    out = pathlib.Path(elsewhere) / "out.jsonl"
    r = run("export", "--out", str(out), data=populated.data, env=env_without_model(populated.env, **missing), cwd=elsewhere)
    assert r.returncode != 0, r.stdout
    assert MODEL in r.stderr and "ENGRAM_MODEL_DIR" in r.stderr and f"{len(TEXTS)} memories" in r.stderr, r.stderr
    assert not out.exists()
    r = run("export", "--out", str(out), data=populated.data, env=env_without_model(populated.env, ENGRAM_EMBEDDER="none"), cwd=elsewhere)
    assert r.returncode != 0 and MODEL in r.stderr, r.stdout + r.stderr
    r = run("migrate", "--from", "embedded", "--to", "embedded", "--target-data-dir", os.path.join(elsewhere, "target"),
            data=populated.data, env=env_without_model(populated.env, **missing), cwd=elsewhere)
    assert r.returncode != 0 and MODEL in r.stderr, r.stdout + r.stderr
    assert not os.path.exists(os.path.join(elsewhere, "target", "engram.sqlite")), "a refused migration must not create its target"
    r = run("import", "--in", str(out), data=populated.data, env=env_without_model(populated.env, **missing), cwd=elsewhere)
    assert r.returncode != 0 and MODEL in r.stderr, r.stdout + r.stderr
    r = run("serve", "--port", str(free_port()), data=populated.data, env=env_without_model(populated.env, **missing), cwd=elsewhere, timeout=60)
    assert r.returncode != 0 and MODEL in r.stderr and "ENGRAM_MODEL_DIR" in r.stderr, r.stderr[-2000:]
    assert collections(populated.data) == before, "a refused command must not create collections"


def test_legacy_data_directory_finds_the_model_next_to_the_executable(populated):
    """No engram.json (a data directory made before it existed): the model is found by searching upward
    from the executable's real path, not relative to the working directory."""
    layout = pathlib.Path(tempfile.mkdtemp(prefix="engram-layout-"))
    (layout / "models").mkdir()
    (layout / "models" / MODEL).symlink_to(pathlib.Path(MODEL_DIR).resolve())
    (layout / ".build" / "debug").mkdir(parents=True)
    exe = layout / ".build" / "debug" / "engram"
    try:
        os.link(BIN, exe)
    except OSError:
        shutil.copy2(BIN, exe)
    data = pathlib.Path(tempfile.mkdtemp(prefix="engram-legacy-"))
    for f in populated.data.iterdir():
        if f.name.startswith("engram.sqlite"):
            shutil.copy2(f, data / f.name)
    elsewhere = tempfile.mkdtemp()
    r = subprocess.run([str(exe), "export", "--out", os.path.join(elsewhere, "x.jsonl"), "--data-dir", str(data)],
                       capture_output=True, text=True, timeout=300, env=env_without_model(populated.env), cwd=elsewhere)
    assert r.returncode == 0 and f"exported {len(TEXTS)} memories" in r.stdout, r.stdout + r.stderr


def test_read_only_commands_create_nothing():
    empty = pathlib.Path(tempfile.mkdtemp()) / "absent"
    r = run("export", "--out", str(empty.parent / "x.jsonl"), data=empty, env=dict(os.environ, ENGRAM_MODEL_DIR=MODEL_DIR))
    assert r.returncode != 0 and "no Engram database" in r.stderr, r.stdout + r.stderr
    assert not empty.exists()
    # A store with users but no memories yet: export says 0 and leaves no memory collection behind.
    data = pathlib.Path(tempfile.mkdtemp())
    assert run("user", "add", "--user", "ann", "--org", "zeta", data=data).returncode == 0
    r = run("export", "--out", str(data.parent / "y.jsonl"), data=data, env=dict(os.environ, ENGRAM_MODEL_DIR=MODEL_DIR))
    assert r.returncode == 0 and "exported 0 memories" in r.stdout, r.stdout + r.stderr
    assert collections(data) == []


def test_database_wal_and_backups_are_private():
    s = EngramServer("ops-modes")
    os.chmod(s.data, 0o755)
    s.start()
    try:
        token = s.token("pia", org="ops")
        assert http("POST", s.url + "/v1/memories", {"content": "Pia keeps the staging config in a private repository"}, token=token)[0] == 201
        assert mode(s.data) == 0o700
        for name in ("engram.sqlite", "engram.sqlite-wal", "engram.sqlite-shm"):
            assert mode(s.data / name) == 0o600, name
        out = pathlib.Path(tempfile.mkdtemp()) / "nested" / "bk"
        r = run("backup", "--out", str(out), data=s.data, env=s.env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert mode(out) == 0o700
        for f in out.iterdir():
            assert mode(f) == 0o600, f.name
    finally:
        s.stop()
    # Existing files made world-readable by an older version are tightened on open.
    os.chmod(s.data, 0o755)
    os.chmod(s.data / "engram.sqlite", 0o644)
    assert run("org", "show", "--org", "ops", data=s.data, env=s.env).returncode == 0
    assert mode(s.data) == 0o700 and mode(s.data / "engram.sqlite") == 0o600


def client(server, token, *args, url=None):
    env = dict(os.environ, ENGRAM_URL=url or server.url, ENGRAM_TOKEN=token, HOME=tempfile.mkdtemp())
    return subprocess.run([BIN, *args], env=env, capture_output=True, text=True, timeout=60)


def test_cli_accepts_unique_id_prefixes():
    """Memories with chosen ids (through export, id rewrite and import) so that prefixes collide."""
    a = EngramServer("ops-prefix-a").start()
    try:
        token = a.token("quinn")
        for t in TEXTS:
            assert http("POST", a.url + "/v1/memories", {"content": t}, token=token)[0] == 201
    finally:
        a.stop()
    work = pathlib.Path(tempfile.mkdtemp())
    # Plaintext (--decrypt): sealed content is bound to its memory id, which this test rewrites.
    assert run("export", "--decrypt", "--out", str(work / "a.jsonl"), data=a.data, env=a.env).returncode == 0
    ids = ["abcd1111-0000-4000-8000-000000000001", "abcd2222-0000-4000-8000-000000000002", "abce3333-0000-4000-8000-000000000003"]
    lines = [json.loads(l) for l in (work / "a.jsonl").read_text().splitlines()]
    for line, new in zip(lines, ids):
        line["memory"]["id"] = new.upper()
    (work / "b.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
    b = EngramServer("ops-prefix-b")
    r = run("import", "--in", str(work / "b.jsonl"), data=b.data, env=b.env)
    assert r.returncode == 0 and "imported 3" in r.stdout, r.stdout + r.stderr
    b.start()
    try:
        token = b.token("quinn")
        r = client(b, token, "memories", "show", "abce")
        assert r.returncode == 0 and ids[2] in r.stdout, r.stdout + r.stderr
        r = client(b, token, "memories", "show", "ABCD2")
        assert r.returncode == 0 and ids[1] in r.stdout, r.stdout + r.stderr
        r = client(b, token, "memories", "show", "abcd")
        assert r.returncode != 0 and "ambiguous" in r.stderr and "abcd1111" in r.stderr and "abcd2222" in r.stderr, r.stderr
        r = client(b, token, "memories", "show", "abc")
        assert r.returncode != 0 and "at least 4" in r.stderr, r.stderr
        r = client(b, token, "memories", "show", "ffff")
        assert r.returncode != 0 and "not found" in r.stderr, r.stderr
        r = client(b, token, "memories", "delete", "abcd1")
        assert r.returncode == 0 and ids[0] in r.stdout, r.stdout + r.stderr
        assert http("GET", f"{b.url}/v1/memories/{ids[0]}", token=token)[0] == 404
        r = client(b, token, "memories", "show", "abcd")  # no longer ambiguous
        assert r.returncode == 0 and ids[1] in r.stdout, r.stdout + r.stderr
    finally:
        b.stop()


def test_cli_errors_are_one_clean_line(server):
    token = server.token("rita")
    url = f"http://127.0.0.1:{free_port()}"
    r = client(server, token, "recall", "anything", url=url)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert lines == [f"engram: cannot reach {url}: connection refused — is the server running? (set ENGRAM_URL)"], r.stderr
    r = client(server, token, "memories", "show", "00000000-0000-4000-8000-000000000000")
    assert r.returncode != 0 and "not found" in r.stderr and "error: error" not in r.stderr.lower(), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_recall_labels_its_columns_and_sorts_by_the_printed_score(server):
    token = server.token("sven")
    for t in TEXTS:
        assert http("POST", server.url + "/v1/memories", {"content": t}, token=token)[0] == 201
    r = client(server, token, "recall", "where do the settings come from", "--json")
    results = json.loads(r.stdout)["results"]
    r = client(server, token, "recall", "where do the settings come from")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "sorted by score" in lines[0] and "similarity" in lines[0], r.stdout
    assert lines[1].split()[:3] == ["score", "similarity", "id"], r.stdout
    rows = lines[2:2 + len(results)]
    printed = [float(row.split()[0]) for row in rows]
    assert printed == sorted(printed, reverse=True)
    assert printed == [round(x["score"], 3) for x in results]
    assert [row.split()[2] for row in rows] == [x["memory"]["id"][:8] for x in results]


def registered_routes():
    """(method, path) of every route registered in REST/MemoryRoutes.swift, AdminRoutes.swift, AdminRoutes+Containment.swift,
    InvitationRoutes.swift and Hooks/WebhookRoutes.swift."""
    src = REPO / "Sources" / "EngramServer" / "REST"
    actions = re.search(r"enum ReviewAction[^{]*\{\s*case ([a-z, ]+)", (REPO / "Sources" / "EngramMemory" / "MemoryService+Review.swift").read_text())
    actions = [a.strip() for a in actions.group(1).split(",")]
    routes = set()
    for file in ("MemoryRoutes.swift", "AdminRoutes.swift", "AdminRoutes+Containment.swift", "InvitationRoutes.swift", "Hooks/WebhookRoutes.swift"):
        text = (src / file).read_text()
        groups = {name: "/" + path for name, path in re.findall(r'let (\w+) = router\.group\("([^"]+)"\)', text)}
        groups["router"] = ""
        # Extensions that register on the admin group receive it as a parameter named `admin`.
        if re.search(r'func \w+\(on admin: RouterGroup', text):
            groups["admin"] = "/v1/admin"
        for receiver, method, path in re.findall(r'\b(\w+)\.(get|post|put|patch|delete)\("([^"]*)"\)', text):
            if receiver not in groups:
                continue
            full = f"{groups[receiver]}/{path}"
            if r"\(action.rawValue)" in full:
                routes |= {(method, full.replace(r"\(action.rawValue)", a)) for a in actions}
            else:
                routes.add((method, full))
    return routes


def test_openapi_documents_every_registered_route(server):
    routes = registered_routes()
    assert ("get", "/v1/admin/memories") in routes and ("post", "/v1/admin/memories/{id}/approve") in routes and len(routes) >= 20
    document = json.loads((REPO / "schemas" / "openapi.json").read_text())
    missing = sorted(f"{m.upper()} {p}" for m, p in routes if m not in document["paths"].get(p, {}))
    assert not missing, f"routes missing from schemas/openapi.json: {missing}"
    status, _, served = http("GET", server.url + "/v1/openapi.json")
    assert status == 200 and served == document
