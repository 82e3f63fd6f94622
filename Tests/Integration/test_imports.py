"""`engram import --from claude-md|mem0|mcp-memory-service`: another tool's memory, split into memories and
sent through a live server's add path (secret filter, poisoning screen, dedup), with provenance.

Fixtures (Tests/Fixtures/imports/) are shaped like each source's real output; see the README there. The
secret they stand for is `{{GITHUB_TOKEN}}`, replaced at run time by a checksum-valid token made by
`helpers.fake_github_token` (so no credential-shaped literal sits in the repository)."""
import gzip
import io
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import zipfile

import helpers
from conftest import BIN
from helpers import fake_github_token, http

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "Fixtures" / "imports"
PLACEHOLDER = "{{GITHUB_TOKEN}}"


def engram_import(server, token, *args, check=True):
    """`engram import ARGS` as a developer runs it: server and token from the environment, stderr not a terminal."""
    env = dict(os.environ, ENGRAM_URL=server.url, ENGRAM_TOKEN=token, HOME=tempfile.mkdtemp())
    env.pop("ENGRAM_PROGRESS", None)
    out = subprocess.run([BIN, "import", *args], env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert out.returncode == 0, f"engram import {' '.join(args)} exited {out.returncode}: {out.stderr}"
    return out


def as_json(out):
    return json.loads(out.stdout)


def dry_run(server, token, *args):
    """The dry run's JSON; every memory text it shows is recorded for the log-hygiene test."""
    body = as_json(engram_import(server, token, *args, "--dry-run", "--json"))
    helpers.remember([m.get("content") for m in body["memories"] if m.get("content")])
    return body


def memories(server, token):
    """Every memory the token's user can list (all pages)."""
    found, cursor = [], None
    while True:
        url = f"{server.url}/v1/memories?limit=100" + (f"&cursor={cursor}" if cursor else "")
        status, _, body = http("GET", url, token=token)
        assert status == 200, body
        found += body["memories"]
        cursor = body.get("next_cursor")
        if not cursor:
            return found


def with_secret(src: pathlib.Path, dst: pathlib.Path, secret: str):
    dst.write_text(src.read_text().replace(PLACEHOLDER, secret))


def assert_no_secret(secret, *outs):
    for out in outs:
        assert secret not in out.stdout and secret not in out.stderr, "the import echoed a secret"


# ---------------------------------------------------------------------------------------------- claude-md


def widgets_checkout(secret):
    """The claude-md fixture as a Git checkout whose origin is git@github.com:Acme/Widgets.git, with a
    node_modules package that carries its own CLAUDE.md and a slash command in .claude/commands (which the
    walk must skip)."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="engram-import-")) / "widgets"
    shutil.copytree(FIXTURES / "claude-md", root)
    with_secret(FIXTURES / "claude-md" / "CLAUDE.md", root / "CLAUDE.md", secret)
    (root / "node_modules" / "left-pad").mkdir(parents=True)
    (root / "node_modules" / "left-pad" / "CLAUDE.md").write_text("- left-pad is published from its own repository\n")
    (root / ".claude" / "commands").mkdir()
    (root / ".claude" / "commands" / "ship.md").write_text("Ship the current branch: run the release workflow for $ARGUMENTS\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "remote", "add", "origin", "git@github.com:Acme/Widgets.git"], check=True)
    return root


def test_claude_md_directory_import(server):
    token = server.token("imp-claude", org="imports", role="member")
    secret = fake_github_token()
    root = widgets_checkout(secret)

    # Dry run: what would be stored, split as documented; nothing reaches the server.
    plan = dry_run(server, token, "--from", "claude-md", str(root))
    assert plan["dry_run"] is True and plan["files"] == 4, plan
    by_location = {m["location"]: m for m in plan["memories"]}
    assert sorted(by_location) == sorted([
        ".claude/rules/testing.md:8", "CLAUDE.local.md:3", "CLAUDE.md:3", "CLAUDE.md:12", "CLAUDE.md:13-15", "CLAUDE.md:17-21",
        "CLAUDE.md:26", "CLAUDE.md:27", "CLAUDE.md:29", "CLAUDE.md:33-38", "CLAUDE.md:46", "services/billing/CLAUDE.md:3",
    ]), sorted(by_location)
    texts = [m.get("content", "") for m in plan["memories"]]
    # Headings give context; a sub-bullet stays with its bullet; a fence stays with the bullet or line it belongs to.
    assert by_location["CLAUDE.md:13-15"]["content"] == (
        "Build and test: Run the unit tests with `make test` before every push.\n"
        "- Integration tests need Docker running locally.\n- Set `WIDGETS_FAST=1` to skip the slow rendering suite.")
    assert by_location["CLAUDE.md:17-21"]["content"].endswith("`openapi.yaml`:\n\n```sh\nmake generate-client\n```")
    assert "# a shell comment inside a fence" in by_location["CLAUDE.md:33-38"]["content"]
    assert by_location["CLAUDE.md:26"]["content"].startswith("Code style: Formatting rules: Swift files")
    assert by_location["services/billing/CLAUDE.md:3"]["content"].startswith("Billing service: Invoices")
    assert by_location["CLAUDE.md:3"]["content"].startswith("Widgets renders")  # the title `# CLAUDE.md` adds nothing
    # Left out: @imports, HTML comments, the empty bullet, a fence that belongs to nothing, README.md, node_modules.
    joined = "\n".join(texts)
    for absent in ("@README.md", "Maintainers", "rollback.sh", "left-pad", "Not a memory file", "Ship the current branch"):
        assert absent not in joined, absent
    assert all(m["repo"] == "github.com/acme/widgets" for m in plan["memories"] if m["verdict"] != "refuse")
    assert by_location["CLAUDE.md:13-15"]["anchors"] == [{"path": "CLAUDE.md", "lines": "13-15"}]
    # The local secret scanner names the memory that would be refused, and withholds its text.
    refused = [m for m in plan["memories"] if m["verdict"] == "refuse"]
    assert [(m["location"], m["code"], m["rules"]) for m in refused] == [("CLAUDE.md:46", "secret_detected", ["github-pat"])]
    assert not {"content", "tags", "repo", "anchors"} & set(refused[0])
    assert plan["would_store"] == 11 and plan["would_refuse"] == 1
    assert memories(server, token) == [], "a dry run stored something"
    human = engram_import(server, token, "--from", "claude-md", str(root), "--dry-run")
    assert "REFUSED secret_detected: github-pat (text withheld)" in human.stdout
    assert_no_secret(secret, human)
    assert memories(server, token) == [], "a dry run stored something"

    # The real import: through the server's add path.
    first = engram_import(server, token, "--from", "claude-md", str(root), "--json")
    summary = as_json(first)
    assert (summary["stored"], summary["merged"], summary["refused"], summary["failed"]) == (11, 0, 1, 0), summary
    assert summary["refusals"] == [{"location": "CLAUDE.md:46", "code": "secret_detected", "rules": ["github-pat"]}]
    assert "importing" in first.stderr  # plain progress lines when stderr is not a terminal
    assert_no_secret(secret, first)

    stored = memories(server, token)
    assert len(stored) == 11
    assert not any(secret in m["content"] for m in stored)
    for m in stored:
        assert m["repo"] == "github.com/acme/widgets" and "claude-md" in m["tags"], m
        assert m["provenance"]["client"] == "engram-import/claude-md" and m["provenance"]["channel"] == "rest", m["provenance"]
        assert m["scope"] == "personal" and m["state"] == "published"
    billing = next(m for m in stored if m["content"].startswith("Billing service:"))
    assert billing["anchors"] == [{"path": "services/billing/CLAUDE.md", "lines": "3"}]
    rules = next(m for m in stored if m["content"].startswith("Testing rules:"))
    assert rules["anchors"] == [{"path": ".claude/rules/testing.md", "lines": "8"}]

    # Importing again stores nothing new: every memory is the server's duplicate.
    again = as_json(engram_import(server, token, "--from", "claude-md", str(root), "--json"))
    assert (again["stored"], again["merged"], again["refused"]) == (0, 11, 1), again
    assert {m["status"] for m in again["memories"]} == {"duplicate"}
    assert len(memories(server, token)) == 11

    # The human summary names the refusal by rule, never the secret.
    third = engram_import(server, token, "--from", "claude-md", str(root))
    assert "stored 0, merged 11 as duplicates, refused 1 (github-pat ×1)" in third.stdout, third.stdout
    assert "refused CLAUDE.md:46: secret_detected (github-pat)" in third.stdout
    assert_no_secret(secret, third)


def test_claude_memory_file_with_scope_task_and_repo(server):
    """One MEMORY.md outside any repository: the path is the file name, `--repo` names the repository,
    `--scope org --task-id` makes drafts that `finish` publishes, `--tag` adds a tag."""
    token = server.token("imp-memory-md", org="imports-org", role="member")
    home = pathlib.Path(tempfile.mkdtemp(prefix="engram-automemory-"))
    shutil.copy(FIXTURES / "claude-memory" / "MEMORY.md", home / "MEMORY.md")
    args = ["--from", "claude-md", str(home / "MEMORY.md"), "--scope", "org", "--task-id", "import-memory-md", "--tag", "imported",
            "--repo", "https://github.com/Acme/Widgets.git"]
    plan = dry_run(server, token, *args)
    assert [m["location"] for m in plan["memories"]] == ["MEMORY.md:3", "MEMORY.md:4"]
    out = engram_import(server, token, *args)
    assert "stored 2, merged 0 as duplicates, refused 0" in out.stdout
    assert 'POST /v1/finish {"task_id": "import-memory-md"}' in out.stdout
    stored = memories(server, token)
    assert len(stored) == 2
    for m in stored:
        assert (m["scope"], m["state"], m["task_id"], m["repo"]) == ("org", "draft", "import-memory-md", "github.com/acme/widgets"), m
        assert m["tags"][:2] == ["claude-md", "imported"] or {"claude-md", "imported"} <= set(m["tags"])
        assert m["anchors"][0]["path"] == "MEMORY.md"
    status, _, body = http("POST", f"{server.url}/v1/finish", {"task_id": "import-memory-md"}, token=token)
    assert status == 200, body
    assert {m["state"] for m in memories(server, token)} == {"published"}


# ---------------------------------------------------------------------------------------------- mem0


def openmemory_zip(secret):
    """The zip OpenMemory's `POST /api/v1/backup/export` returns: `memories.json` (the fixture) and
    `memories.jsonl.gz` (one logical record per memory, built from it as the exporter does)."""
    doc = json.loads((FIXTURES / "mem0" / "memories.json").read_text().replace(PLACEHOLDER, secret))
    apps = {a["id"]: a["name"] for a in doc["apps"]}
    categories = {c["id"]: c["name"] for c in doc["categories"]}
    lines = io.BytesIO()
    with gzip.GzipFile(fileobj=lines, mode="wb") as gz:
        for m in doc["memories"]:
            record = {"id": m["id"], "content": m["content"], "metadata": m["metadata"] or {}, "created_at": m["created_at"],
                      "updated_at": m["updated_at"], "state": m["state"], "app": apps.get(m["app_id"]),
                      "categories": [categories[c] for c in m["category_ids"]]}
            gz.write((json.dumps(record) + "\n").encode())
    directory = pathlib.Path(tempfile.mkdtemp(prefix="engram-mem0-"))
    path = directory / "memories_export_dana.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("memories.json", json.dumps(doc, indent=2))
        zf.writestr("memories.jsonl.gz", lines.getvalue())
    (directory / "memories.jsonl.gz").write_bytes(lines.getvalue())
    return path, directory / "memories.jsonl.gz"


def test_mem0_openmemory_export_import(server):
    token = server.token("imp-mem0", org="imports", role="member")
    secret = fake_github_token()
    archive, jsonl = openmemory_zip(secret)

    plan = dry_run(server, token, "--from", "mem0", str(archive))
    assert plan["candidates"] == 4, plan  # active and paused memories; deleted and archived ones are left out
    assert sorted(s["reason"] for s in plan["skipped"]) == ["state archived", "state deleted"]
    first = plan["memories"][0]
    assert first["content"] == "Dana prefers pytest fixtures over unittest setUp methods"
    assert first["tags"] == ["mem0", "preferences", "app:claude"] and first["source_id"] == "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
    assert [(m["location"], m["rules"]) for m in plan["memories"] if m["verdict"] == "refuse"] == [("mem0 be6f7a8b", ["github-pat"])]
    # The logical JSON lines alone (memories.jsonl.gz) give the same memories.
    lines_plan = dry_run(server, token, "--from", "mem0", str(jsonl))
    assert [m.get("content") for m in lines_plan["memories"]] == [m.get("content") for m in plan["memories"]]
    assert [m.get("tags") for m in lines_plan["memories"]] == [m.get("tags") for m in plan["memories"]]
    assert memories(server, token) == [], "a dry run stored something"

    out = engram_import(server, token, "--from", "mem0", str(archive), "--json")
    summary = as_json(out)
    assert (summary["stored"], summary["merged"], summary["refused"], len(summary["skipped"])) == (3, 0, 1, 2), summary
    assert summary["refusals"] == [{"location": "mem0 be6f7a8b", "code": "secret_detected", "rules": ["github-pat"]}]
    assert_no_secret(secret, out)
    stored = memories(server, token)
    assert len(stored) == 3
    for m in stored:
        assert "mem0" in m["tags"] and m["provenance"]["client"] == "engram-import/mem0", m
    poetry = next(m for m in stored if "Poetry" in m["content"])
    assert set(poetry["tags"]) == {"mem0", "tools", "app:cursor"}

    again = as_json(engram_import(server, token, "--from", "mem0", str(archive), "--json"))
    assert (again["stored"], again["merged"], again["refused"]) == (0, 3, 1), again
    assert len(memories(server, token)) == 3


def test_mem0_get_all_export(server):
    """mem0's `Memory.get_all()` answer saved as JSON (`{"results": [...]}`)."""
    token = server.token("imp-mem0-getall", org="imports", role="member")
    source = str(FIXTURES / "mem0" / "get-all.json")
    plan = dry_run(server, token, "--from", "mem0", source)
    assert [m["content"] for m in plan["memories"]] == [
        "Prefers ruff over flake8 for linting Python code",
        "Keeps database migrations in the migrations/ directory managed by Alembic",
    ]
    assert [m["location"] for m in plan["memories"]] == ["mem0 3f2a91c0", "mem0 4a3b02d1"]
    summary = as_json(engram_import(server, token, "--from", "mem0", source, "--json"))
    assert (summary["stored"], summary["merged"]) == (2, 0)
    summary = as_json(engram_import(server, token, "--from", "mem0", source, "--json"))
    assert (summary["stored"], summary["merged"]) == (0, 2)
    assert len(memories(server, token)) == 2


# ---------------------------------------------------------------------------------------------- mcp-memory-service


def test_mcp_memory_service_export_import(server):
    token = server.token("imp-mcp-memory", org="imports", role="member")
    secret = fake_github_token()
    directory = pathlib.Path(tempfile.mkdtemp(prefix="engram-mms-"))
    name = "dana-laptop_memories_export_20240821_091244.json"
    with_secret(FIXTURES / "mcp-memory-service" / name, directory / name, secret)
    source = str(directory / name)

    plan = dry_run(server, token, "--from", "mcp-memory-service", source)
    assert plan["candidates"] == 6
    refused = {m["code"]: m["rules"] for m in plan["memories"] if m["verdict"] == "refuse"}
    assert refused == {"poisoning_detected": ["remote-script-exec"], "secret_detected": ["github-pat"]}, refused
    kinds = [m.get("kind", "withheld") for m in plan["memories"]]
    assert kinds == ["decision", None, "gotcha", "withheld", "withheld", "preference"]  # a refused memory shows no more than its rules
    assert plan["memories"][1]["tags"] == ["mcp-memory-service", "ci", "caching", "note"]
    assert memories(server, token) == [], "a dry run stored something"

    out = engram_import(server, token, "--from", "mcp-memory-service", source, "--json")
    summary = as_json(out)
    assert (summary["stored"], summary["merged"], summary["refused"], summary["failed"]) == (4, 0, 2, 0), summary
    assert sorted((r["code"], tuple(r["rules"])) for r in summary["refusals"]) == [
        ("poisoning_detected", ("remote-script-exec",)), ("secret_detected", ("github-pat",))]
    assert_no_secret(secret, out)
    stored = memories(server, token)
    assert len(stored) == 4
    by_kind = {m["kind"]: m for m in stored}
    assert set(by_kind) == {"decision", "gotcha", "preference", "pattern"}  # the `note` keeps the default kind
    assert set(by_kind["decision"]["tags"]) == {"mcp-memory-service", "architecture", "storage"}
    assert all(m["provenance"]["client"] == "engram-import/mcp-memory-service" for m in stored)
    assert not any("attacker.example" in m["content"] for m in stored)

    again = engram_import(server, token, "--from", "mcp-memory-service", source)
    assert "stored 0, merged 4 as duplicates, refused 2 (remote-script-exec ×1, github-pat ×1)" in again.stdout, again.stdout
    assert_no_secret(secret, again)
    assert len(memories(server, token)) == 4


# ---------------------------------------------------------------------------------------------- the command


def test_import_options_and_failures(server):
    token = server.token("imp-cli", org="imports", role="member")
    out = engram_import(server, token, check=False)
    assert out.returncode != 0 and "--in FILE" in out.stderr
    out = engram_import(server, token, "--from", "mem0", check=False)
    assert out.returncode != 0 and "needs the FILE" in out.stderr
    out = engram_import(server, token, "--dry-run", check=False)
    assert out.returncode != 0 and "go with --from" in out.stderr
    out = engram_import(server, token, "--from", "mem0", str(FIXTURES / "claude-memory" / "MEMORY.md"), check=False)
    assert out.returncode != 0 and "not a mem0 export" in out.stderr
    out = engram_import(server, token, "--from", "mcp-memory-service", str(FIXTURES / "mem0" / "get-all.json"), check=False)
    assert out.returncode != 0 and "mcp-memory-service export" in out.stderr
    # A bad token stops the import at the first memory, in one line.
    out = engram_import(server, "not.a.token", "--from", "mem0", str(FIXTURES / "mem0" / "get-all.json"), check=False)
    assert out.returncode != 0 and "HTTP 401" in out.stderr and "Traceback" not in out.stderr
    # An unreachable server: one line, non-zero.
    env = dict(os.environ, ENGRAM_URL="http://127.0.0.1:9", ENGRAM_TOKEN=token, HOME=tempfile.mkdtemp())
    out = subprocess.run([BIN, "import", "--from", "mem0", str(FIXTURES / "mem0" / "get-all.json")], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0 and "cannot reach" in out.stderr
    # A dry run needs no server and no token.
    env = {k: v for k, v in os.environ.items() if k not in ("ENGRAM_URL", "ENGRAM_TOKEN")}
    env["HOME"] = tempfile.mkdtemp()
    out = subprocess.run([BIN, "import", "--from", "mem0", str(FIXTURES / "mem0" / "get-all.json"), "--dry-run"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "2 would be stored" in out.stdout, out.stderr
