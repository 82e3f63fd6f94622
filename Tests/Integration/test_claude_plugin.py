"""The Claude Code plugin (integrations/claude-code) and `engram doctor`.

- The session hooks run as Claude Code runs them (the hook input as JSON on standard input, in a Git
  checkout) against a live server, and their output is validated against the SessionStart output format
  Claude Code documents: https://code.claude.com/docs/en/hooks (JSON output, SessionStart decision control),
  the same shape as the Agent SDK's `SyncHookJSONOutput` / `SessionStartHookSpecificOutput` types.
- Failure cases (nothing listening, a refused token, a server that accepts and never answers, no token)
  exit 0 within the time limit with one line.
- The plugin's files are checked structurally: plugin.json (plugins reference, manifest), hooks/hooks.json
  (plugin hooks file: {"description"?, "hooks": {event: [{matcher?, hooks: [{type, command, timeout?}]}]}}),
  .mcp.json (an HTTP server with `${VAR}` / `${VAR:-default}` expansion and a headersHelper that prints a
  JSON object of headers), the marketplace file (.claude-plugin/marketplace.json: name, owner.name,
  plugins[].name/source) and the slash commands' frontmatter (description, argument-hint, allowed-tools,
  model, disable-model-invocation).
"""
import json
import os
import pathlib
import re
import socket
import stat
import subprocess
import tempfile
import threading
import time
import uuid

import jsonschema
import pytest

import helpers
from conftest import BIN, REPO, EngramServer, free_port, make_jwt
from helpers import http

PLUGIN = REPO / "integrations" / "claude-code"
MARKETPLACE = REPO / ".claude-plugin" / "marketplace.json"
BOUND_BYTES = 6000  # the context block's bound (about 1,500 tokens)
HOOK_DEADLINE = 2.0  # the hook's own deadline for the server (SessionHook.swift)
# No test bounds the hook's time with a clock (a loaded machine makes such bounds flaky): each failure test
# checks the reason the hook reports (refused, 401, its own 2 s deadline), and subprocess's timeout catches a hang.

# The SessionStart hook output Claude Code accepts on standard output (exit 0): the common JSON fields and
# the SessionStart-specific one. additionalProperties false: anything else would be a field we invented.
SESSION_START_OUTPUT = {
    "type": "object",
    "properties": {
        "continue": {"type": "boolean"},
        "suppressOutput": {"type": "boolean"},
        "stopReason": {"type": "string"},
        "systemMessage": {"type": "string"},
        "hookSpecificOutput": {
            "type": "object",
            "properties": {
                "hookEventName": {"const": "SessionStart"},
                "additionalContext": {"type": "string"},
            },
            "required": ["hookEventName"],
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

HOOK_EVENTS = {"PreToolUse", "PostToolUse", "PostToolUseFailure", "Notification", "UserPromptSubmit", "SessionStart",
               "SessionEnd", "Stop", "SubagentStart", "SubagentStop", "PreCompact", "PermissionRequest"}

# The plugin hooks file.
HOOKS_FILE = {
    "type": "object",
    "properties": {
        "description": {"type": "string"},
        "hooks": {
            "type": "object",
            "propertyNames": {"enum": sorted(HOOK_EVENTS)},
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "matcher": {"type": "string"},
                        "hooks": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "properties": {
                                    "type": {"const": "command"},
                                    "command": {"type": "string", "minLength": 1},
                                    "timeout": {"type": "number", "exclusiveMinimum": 0},
                                },
                                "required": ["type", "command"],
                                "additionalProperties": False,
                            },
                        },
                    },
                    "required": ["hooks"],
                    "additionalProperties": False,
                },
            },
        },
    },
    "required": ["hooks"],
    "additionalProperties": False,
}

PLUGIN_MANIFEST = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"},
        "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$"},
        "description": {"type": "string", "minLength": 10},
        "author": {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"},
                                                    "url": {"type": "string"}},
                   "required": ["name"], "additionalProperties": False},
        "homepage": {"type": "string"},
        "repository": {"type": "string"},
        "license": {"type": "string"},
        "keywords": {"type": "array", "items": {"type": "string"}},
        "commands": {}, "agents": {}, "skills": {}, "hooks": {}, "mcpServers": {},
    },
    "required": ["name"],
    "additionalProperties": False,
}

MARKETPLACE_FILE = {
    "type": "object",
    "properties": {
        "$schema": {"type": "string"},
        "name": {"type": "string", "pattern": r"^[A-Za-z0-9._-]+$"},
        "description": {"type": "string"},
        "version": {"type": "string"},
        "owner": {"type": "object", "properties": {"name": {"type": "string", "minLength": 1}, "email": {"type": "string"},
                                                   "url": {"type": "string"}},
                  "required": ["name"], "additionalProperties": False},
        "metadata": {"type": "object"},
        "plugins": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "pattern": r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"},
                    "source": {"type": "string", "pattern": r"^\./"},
                    "description": {"type": "string"},
                    "version": {"type": "string"},
                    "category": {"type": "string"},
                    "keywords": {"type": "array", "items": {"type": "string"}},
                    "author": {"type": "object"},
                    "strict": {"type": "boolean"},
                },
                "required": ["name", "source"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["name", "owner", "plugins"],
    "additionalProperties": False,
}

MCP_FILE = {
    "type": "object",
    "properties": {
        "mcpServers": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "type": {"enum": ["http", "sse"]},
                    "url": {"type": "string"},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "headersHelper": {"type": "string"},
                },
                "required": ["type", "url"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["mcpServers"],
    "additionalProperties": False,
}

COMMAND_KEYS = {"description", "argument-hint", "allowed-tools", "model", "disable-model-invocation"}


# ----------------------------------------------------------------------------------------------------------
# Fixtures: a server of its own (the memories below would disturb other modules' counts), users in two
# organisations, Git checkouts.

@pytest.fixture(scope="module")
def plug():
    s = EngramServer("claude-plugin").start()
    s.tokens = {
        "pat": s.token("pat", org="plugorg", role="member"),
        "quinn": s.token("quinn", org="plugorg", role="member"),
        "rex": s.token("rex", org="otherorg", role="member"),
        "bulk": s.token("bulk", org="plugorg", role="member"),
    }
    yield s
    s.stop()


def add(server, token, content, **fields):
    status, _, body = http("POST", server.url + "/v1/memories", dict(content=content, **fields), token=token)
    assert status in (200, 201), body
    return body["memory"]["id"]


@pytest.fixture(scope="module")
def memories(plug):
    t = plug.tokens
    widgets = "github.com/acme/widgets"
    ids = {
        "tests": add(plug, t["pat"], "Widgets tests run with make test-fast, which skips the browser suite.",
                     repo=widgets, kind="pattern", tags=["testing"]),
        "short": add(plug, t["pat"], "Widgets releases are tagged by the release workflow only, never by hand.",
                     repo="acme/widgets", kind="decision"),
        "multiline": add(plug, t["pat"], "Widgets CI has two stages:\nthe first builds the images\nthe second runs the tests",
                         repo=widgets, kind="fact"),
        "task": add(plug, t["pat"], "The ENG-12 cache layer keys entries by tenant and content hash.",
                    repo=widgets, scope="org", task_id="ENG-12", kind="decision"),
        "other_repo": add(plug, t["pat"], "Gadgets deploys always go through the staging cluster first.",
                          repo="github.com/acme/gadgets", kind="pattern"),
        "quinn_private": add(plug, t["quinn"], "Quinn keeps a private note: widgets benchmarks need the turbo flag.",
                             repo=widgets, kind="gotcha"),
        "rex_other_org": add(plug, t["rex"], "Rex's widgets memory from another organisation: use the blue pipeline.",
                             repo=widgets, kind="pattern"),
    }
    contents = {}
    for name, mid in ids.items():
        token = t["quinn"] if name == "quinn_private" else t["rex"] if name == "rex_other_org" else t["pat"]
        contents[name] = http("GET", f"{plug.url}/v1/memories/{mid}", token=token)[2]["memory"]["content"]
    return ids, contents


def checkout(remote, branch):
    """A Git working directory with `remote` as origin and `branch` checked out (no commits needed)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="engram-plugin-repo-"))
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_SYSTEM="/dev/null")
    subprocess.run(["git", "init", "-q", str(d)], check=True, env=env)
    subprocess.run(["git", "-C", str(d), "remote", "add", "origin", remote], check=True, env=env)
    subprocess.run(["git", "-C", str(d), "checkout", "-q", "-b", branch], check=True, env=env)
    return d


@pytest.fixture(scope="module")
def widgets_repo():
    return checkout("https://github.com/acme/widgets.git", "feature/ENG-12-cache")


def hook(event, cwd, url, token, extra_env=None, args=()):
    """Runs `engram recall --hook EVENT` as Claude Code does: hook input on stdin, in a clean HOME."""
    helpers.SENT.add(token or "")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGRAM_")}
    env.update(HOME=tempfile.mkdtemp(prefix="engram-plugin-home-"), ENGRAM_URL=url)
    if token:
        env["ENGRAM_TOKEN"] = token
    env.update(extra_env or {})
    name = {"session-start": "SessionStart", "session-end": "SessionEnd"}[event]
    payload = {"session_id": str(uuid.uuid4()), "transcript_path": "/tmp/transcript.jsonl", "cwd": str(cwd),
               "hook_event_name": name, "source": "startup", "reason": "exit"}
    started = time.monotonic()
    out = subprocess.run([BIN, "recall", "--hook", event, *args], input=json.dumps(payload), env=env,
                         capture_output=True, text=True, timeout=30)
    return out, time.monotonic() - started


def session_start_output(out):
    """The hook's stdout: exactly one line, JSON, valid against the documented SessionStart output."""
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 1, out.stdout
    document = json.loads(lines[0])
    jsonschema.validate(document, SESSION_START_OUTPUT)
    return document


# ----------------------------------------------------------------------------------------------------------
# SessionStart against a live server.

def test_session_start_recalls_the_repositorys_memories_as_bounded_quoted_data(plug, memories, widgets_repo):
    ids, contents = memories
    out, _ = hook("session-start", widgets_repo, plug.url, plug.tokens["pat"])
    document = session_start_output(out)
    context = document["hookSpecificOutput"]["additionalContext"]
    assert len(context.encode()) <= BOUND_BYTES
    assert "systemMessage" not in document  # nothing to warn the user about
    # The repository and the branch's task were detected from the checkout.
    assert "github.com/acme/widgets" in context and "feature/ENG-12-cache" in context
    assert '"ENG-12"' in context
    # Memories are data, each quoted under a header with its id, trust and freshness.
    assert "not instructions" in context
    for name in ("tests", "short", "multiline", "task"):
        assert f"[memory {ids[name]} · trust: " in context, name
        for line in contents[name].split("\n"):
            assert f"\n> {line}" in context, (name, line)
    assert "trust: own" in context and "freshness: fresh" in context
    assert "task ENG-12" in context
    # Another repository's memories are not recalled; nor another user's private ones, nor another org's.
    for name in ("other_repo", "quinn_private", "rex_other_org"):
        assert ids[name] not in context, name
        assert contents[name] not in context, name
    # The branch task's memory (the work in progress) comes first.
    assert context.index(ids["task"]) < context.index(ids["tests"])


def test_session_start_for_a_teammate_shows_published_memories_but_never_others_private_ones(plug, memories, widgets_repo):
    ids, contents = memories
    out, _ = hook("session-start", widgets_repo, plug.url, plug.tokens["quinn"])
    context = session_start_output(out)["hookSpecificOutput"]["additionalContext"]
    assert ids["quinn_private"] in context
    for name in ("tests", "short", "multiline", "task", "rex_other_org"):  # pat's personal memories and draft
        assert ids[name] not in context, name
        assert contents[name] not in context, name


def test_session_start_normalises_the_remote_and_never_repeats_its_credentials(plug, memories):
    ids, _ = memories
    secret = "hunter2-" + uuid.uuid4().hex
    helpers.SENT.add(secret)
    repo = checkout(f"https://deploy:{secret}@GitHub.com:443/Acme/Widgets.git/", "ENG-12")
    out, _ = hook("session-start", repo, plug.url, plug.tokens["pat"])
    context = session_start_output(out)["hookSpecificOutput"]["additionalContext"]
    assert "repository github.com/acme/widgets" in context and ids["tests"] in context
    assert secret not in out.stdout + out.stderr and "deploy" not in context


def test_session_start_block_stays_within_the_bound(plug):
    topics = [
        "database migrations are written as numbered SQL files and reviewed before merging",
        "log lines use the key=value format with the request id first",
        "the CI cache is keyed by the lockfile hash and cleared every Monday",
        "release notes are drafted in the changelog during each pull request",
        "API list endpoints paginate with an opaque cursor, never page numbers",
        "error responses carry a stable machine-readable code beside the message",
        "feature flags live in the flags table and are removed two weeks after launch",
        "container images are built from the slim base image and scanned nightly",
        "every pull request needs one approving review from the owning team",
        "translations are stored in one JSON file per locale under the i18n folder",
        "the home page must render in under two hundred milliseconds on a cold cache",
        "background jobs are idempotent and retried five times with jitter",
    ]
    shown_ids = set()
    for i, topic in enumerate(topics):
        text = " ".join(f"Bigrepo rule {i}.{k}: {topic}." for k in range(12))
        shown_ids.add(add(plug, plug.tokens["bulk"], text, repo="github.com/acme/bigrepo", kind="pattern"))
    assert len(shown_ids) == len(topics)
    repo = checkout("git@github.com:Acme/BigRepo.git", "main")
    out, _ = hook("session-start", repo, plug.url, plug.tokens["bulk"], args=("--limit", "20"))
    context = session_start_output(out)["hookSpecificOutput"]["additionalContext"]
    assert len(context.encode()) <= BOUND_BYTES
    assert "github.com/acme/bigrepo" in context  # the scp-style remote, normalised
    shown = [i for i in shown_ids if i in context]
    assert 1 <= len(shown) < len(topics)
    assert f"({len(topics) - len(shown)} more not shown" in context
    # Whole memories only: every shown header is followed by its quoted text, and the block ends cleanly.
    assert context.count("[memory ") == len(shown)
    assert "<<< end of engram memories >>>" in context
    # A cut quote says where the rest is.
    assert "get_memory" in context


def test_session_start_outside_a_git_checkout_says_so_in_one_line(plug):
    out, elapsed = hook("session-start", tempfile.mkdtemp(), plug.url, plug.tokens["pat"])
    context = session_start_output(out)["hookSpecificOutput"]["additionalContext"]
    assert "no Git remote" in context


# ----------------------------------------------------------------------------------------------------------
# Failure: the hook never blocks or breaks the session.

def assert_unavailable(out, elapsed, word):
    document = session_start_output(out)
    context = document["hookSpecificOutput"]["additionalContext"]
    assert "unavailable" in context and word in context, context
    assert "\n" not in context
    assert "unavailable" in document.get("systemMessage", "")


def test_hook_with_nothing_listening_exits_0_at_once(widgets_repo):
    out, elapsed = hook("session-start", widgets_repo, f"http://127.0.0.1:{free_port()}", "some.token.value")
    assert_unavailable(out, elapsed, "connection refused")


def test_hook_with_a_refused_token_exits_0(plug, widgets_repo):
    now = int(time.time())
    forged = make_jwt({"sub": "pat", "org": "plugorg", "role": "member", "iat": now, "exp": now + 600, "jti": str(uuid.uuid4())},
                      secret="not-the-server-secret-" + "x" * 20)
    out, elapsed = hook("session-start", widgets_repo, plug.url, forged)
    assert_unavailable(out, elapsed, "401")
    assert forged not in out.stdout + out.stderr


def test_hook_with_a_server_that_never_answers_gives_up_within_the_limit(widgets_repo):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # accept, read nothing, answer nothing
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        out, elapsed = hook("session-start", widgets_repo, f"http://127.0.0.1:{port}", "some.token.value")
        assert_unavailable(out, elapsed, "2 s")
        assert accepted, "the hook never connected"
    finally:
        stop.set()
        thread.join(2)
        for c in accepted:
            c.close()
        listener.close()


def test_hook_without_a_token_exits_0(plug, widgets_repo):
    out, elapsed = hook("session-start", widgets_repo, plug.url, None)
    assert_unavailable(out, elapsed, "no token")


# ----------------------------------------------------------------------------------------------------------
# SessionEnd: finishing the branch's task, only when the user opted in.

def test_session_end_finishes_the_branch_task_only_when_opted_in(plug):
    token = plug.tokens["pat"]
    draft = add(plug, token, "The ENG-77 importer streams rows in batches of five hundred.",
                repo="github.com/acme/widgets", scope="org", task_id="ENG-77", kind="decision")
    repo = checkout("https://github.com/acme/widgets.git", "bugfix/ENG-77-importer")
    state = lambda: http("GET", f"{plug.url}/v1/memories/{draft}", token=token)[2]["memory"]["state"]
    assert state() == "draft"
    script = PLUGIN / "scripts" / "session-end"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGRAM_")}
    env.update(HOME=tempfile.mkdtemp(), ENGRAM_URL=plug.url, ENGRAM_TOKEN=token,
               PATH=f"{pathlib.Path(BIN).parent}{os.pathsep}{env.get('PATH', '')}")
    payload = json.dumps({"session_id": "s", "cwd": str(repo), "hook_event_name": "SessionEnd", "reason": "exit"})
    # Without the opt-in: nothing happens.
    out = subprocess.run([str(script)], input=payload, env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout == ""
    assert state() == "draft"
    # With ENGRAM_FINISH_ON_END=1: finish_task for ENG-77 (from the branch name) publishes it.
    out = subprocess.run([str(script)], input=payload, env=dict(env, ENGRAM_FINISH_ON_END="1"), capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "finished task ENG-77: 1 draft" in out.stdout
    assert state() == "published"


def test_session_end_failure_is_one_line_and_exit_0(widgets_repo):
    out, elapsed = hook("session-end", widgets_repo, f"http://127.0.0.1:{free_port()}", "some.token.value")
    assert out.returncode == 0
    assert len(out.stdout.splitlines()) == 1 and "unavailable" in out.stdout


# ----------------------------------------------------------------------------------------------------------
# The plugin's files.

def load(path):
    return json.loads(pathlib.Path(path).read_text())


def plugin_path(command):
    """The file a hook or helper command names through ${CLAUDE_PLUGIN_ROOT}, or None."""
    m = re.search(r"\$\{CLAUDE_PLUGIN_ROOT\}/([^\"' ]+)", command)
    return PLUGIN / m.group(1) if m else None


def test_plugin_manifest():
    manifest = load(PLUGIN / ".claude-plugin" / "plugin.json")
    jsonschema.validate(manifest, PLUGIN_MANIFEST)
    assert manifest["name"] == "engram"  # the slash commands are /engram:remember, …
    # Components sit at the default locations Claude Code scans.
    assert (PLUGIN / "hooks" / "hooks.json").is_file() and (PLUGIN / ".mcp.json").is_file()
    assert (PLUGIN / "commands").is_dir()


def test_hooks_file():
    hooks = load(PLUGIN / "hooks" / "hooks.json")
    jsonschema.validate(hooks, HOOKS_FILE)
    start = hooks["hooks"]["SessionStart"]
    assert [h["command"] for group in start for h in group["hooks"]] == ["engram recall --hook session-start"]
    matcher = start[0].get("matcher", "")
    for source in ("startup", "resume", "clear", "compact"):
        assert re.fullmatch(matcher, source), source
    end = [h["command"] for group in hooks["hooks"]["SessionEnd"] for h in group["hooks"]]
    assert len(end) == 1
    script = plugin_path(end[0])
    assert script and script.is_file() and os.access(script, os.X_OK)
    assert "ENGRAM_FINISH_ON_END" in script.read_text()
    # Every hook has a timeout above the hook's own limit, so Claude Code never has to kill it.
    for groups in hooks["hooks"].values():
        for group in groups:
            for h in group["hooks"]:
                assert h.get("timeout", 60) > 2 * HOOK_DEADLINE


def expand(value, env):
    """Claude Code's expansion in .mcp.json: ${VAR} and ${VAR:-default}."""
    def one(m):
        name, default = m.group(1), m.group(3)
        if env.get(name):
            return env[name]
        assert default is not None, f"${{{name}}} unset and without a default"
        return default
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}", one, value)


def test_mcp_server_entry_with_headers_helper_reaches_the_users_endpoint(plug):
    config = load(PLUGIN / ".mcp.json")
    jsonschema.validate(config, MCP_FILE)
    server = config["mcpServers"]["engram"]
    assert server["type"] == "http"
    assert expand(server["url"], {}) == "http://127.0.0.1:8080/mcp/demo"  # the defaults: `make run`
    url = expand(server["url"], {"ENGRAM_URL": plug.url, "ENGRAM_USER": "pat"})
    assert url == f"{plug.url}/mcp/pat"
    helper = plugin_path(server["headersHelper"])
    assert helper and helper.is_file() and os.access(helper, os.X_OK)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("ENGRAM_")}

    def headers(env):
        run_env = dict(base_env, HOME=tempfile.mkdtemp(), CLAUDE_PLUGIN_ROOT=str(PLUGIN),
                       CLAUDE_CODE_MCP_SERVER_NAME="engram", CLAUDE_CODE_MCP_SERVER_URL=url)
        run_env.update(env)
        command = server["headersHelper"].replace("${CLAUDE_PLUGIN_ROOT}", str(PLUGIN))
        out = subprocess.run(command, shell=True, env=run_env, capture_output=True, text=True, timeout=10)
        assert out.returncode == 0 and out.stderr == ""
        value = json.loads(out.stdout)
        assert isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        return value

    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "plugin-test", "version": "1"}}}
    accept = {"Accept": "application/json, text/event-stream"}
    # From ENGRAM_TOKEN.
    h = headers({"ENGRAM_TOKEN": plug.tokens["pat"]})
    assert h == {"Authorization": "Bearer " + plug.tokens["pat"]}
    status, _, body = http("POST", url, initialize, headers={**accept, **h})
    assert status == 200 and body["result"]["serverInfo"], body
    # From the CLI's config file.
    home = pathlib.Path(tempfile.mkdtemp())
    (home / ".config" / "engram").mkdir(parents=True)
    (home / ".config" / "engram" / "config.json").write_text(json.dumps({"url": plug.url, "token": plug.tokens["pat"]}))
    assert headers({"HOME": str(home)}) == h
    # Without a token: no header, so Claude Code falls back to OAuth on the 401.
    assert headers({}) == {}
    status, hdrs, _ = http("POST", url, initialize, headers=accept)
    assert status == 401
    # Never anything that is not a plain token.
    assert headers({"ENGRAM_TOKEN": 'x", "X-Injected": "1'}) == {}


def test_marketplace_lists_the_plugin_from_a_local_path():
    market = load(MARKETPLACE)
    jsonschema.validate(market, MARKETPLACE_FILE)
    entries = {p["name"]: p for p in market["plugins"]}
    assert "engram" in entries
    source = (REPO / entries["engram"]["source"]).resolve()
    assert source == PLUGIN.resolve()
    assert load(source / ".claude-plugin" / "plugin.json")["name"] == "engram"


def frontmatter(path):
    text = path.read_text()
    assert text.startswith("---\n"), path
    head, _, body = text[4:].partition("\n---\n")
    fields = {}
    for line in head.splitlines():
        key, sep, value = line.partition(":")
        assert sep and key.strip() and not line.startswith(" "), f"{path.name}: not a 'key: value' line: {line!r}"
        fields[key.strip()] = value.strip()
    return fields, body


def test_slash_commands():
    tools = {json.loads(p.read_text())["name"] for p in (REPO / "schemas" / "mcp").glob("*.json")}
    found = {p.stem: p for p in (PLUGIN / "commands").glob("*.md")}
    assert set(found) == {"remember", "recall", "forget"}  # /engram:remember, /engram:recall, /engram:forget
    for name, path in found.items():
        fields, body = frontmatter(path)
        assert set(fields) <= COMMAND_KEYS, (name, set(fields) - COMMAND_KEYS)
        assert 0 < len(fields["description"]) <= 80, name
        assert fields.get("argument-hint"), name
        assert "$ARGUMENTS" in body, name
        allowed = [t.strip() for t in fields.get("allowed-tools", "").split(",") if t.strip()]
        for tool in allowed:
            m = re.fullmatch(r"mcp__plugin_engram_engram__(\w+)", tool)
            assert m and m.group(1) in tools, (name, tool)
        if "disable-model-invocation" in fields:
            assert fields["disable-model-invocation"] in ("true", "false")
    # Forgetting is destructive: only the user invokes it, and deleting is not pre-approved (Claude Code asks).
    fields, body = frontmatter(found["forget"])
    assert fields["disable-model-invocation"] == "true"
    assert "delete_memory" not in fields.get("allowed-tools", "") and "delete_memory" in body
    assert "add_memory" in frontmatter(found["remember"])[0]["allowed-tools"]
    assert "search_memories" in frontmatter(found["recall"])[0]["allowed-tools"]


def test_scripts_are_executable_and_never_print_the_token():
    for script in (PLUGIN / "scripts").iterdir():
        assert script.stat().st_mode & stat.S_IXUSR, script
        text = script.read_text()
        assert text.startswith("#!/usr/bin/env bash"), script
        assert "set -x" not in text and "echo \"$token\"" not in text


# ----------------------------------------------------------------------------------------------------------
# engram doctor.

def doctor(url, token, *args, **env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGRAM_")}
    env.update(HOME=tempfile.mkdtemp(prefix="engram-doctor-home-"), ENGRAM_URL=url, **env_extra)
    if token:
        env["ENGRAM_TOKEN"] = token
        helpers.SENT.add(token)
    out = subprocess.run([BIN, "doctor", *args], env=env, capture_output=True, text=True, timeout=60)
    lines = {}
    for line in out.stdout.splitlines():
        m = re.match(r"^([✓✗!-]) ([a-z ]+): ", line)
        assert m, f"not a check line: {line!r}"
        lines[m.group(2)] = (m.group(1), line)
    assert token is None or token not in out.stdout + out.stderr
    return out, lines


def test_doctor_on_a_healthy_server(plug):
    out, lines = doctor(plug.url, plug.tokens["pat"])
    assert out.returncode == 0, out.stdout
    assert {"url", "reachable", "tls", "clock", "server", "store", "embedder", "token", "membership"} <= set(lines)
    assert all(mark == "✓" for mark, _ in lines.values()), out.stdout
    assert "pat" in lines["membership"][1] and "plugorg" in lines["membership"][1] and "member" in lines["membership"][1]
    assert "all-MiniLM-L6-v2" in lines["embedder"][1]
    # --json says the same.
    env = dict(os.environ, HOME=tempfile.mkdtemp(), ENGRAM_URL=plug.url, ENGRAM_TOKEN=plug.tokens["pat"])
    out = subprocess.run([BIN, "doctor", "--json"], env=env, capture_output=True, text=True, timeout=60)
    report = json.loads(out.stdout)
    assert out.returncode == 0 and {r["status"] for r in report} == {"ok"}


def test_doctor_with_a_bad_token(plug):
    now = int(time.time())
    forged = make_jwt({"sub": "pat", "org": "plugorg", "role": "member", "iat": now, "exp": now + 600, "jti": str(uuid.uuid4())},
                      secret="not-the-server-secret-" + "y" * 20)
    out, lines = doctor(plug.url, forged)
    assert out.returncode == 1
    assert lines["token"][0] == "✗" and "401" in lines["token"][1] and "fix:" in lines["token"][1]
    assert lines["reachable"][0] == "✓"


def test_doctor_with_no_token(plug):
    out, lines = doctor(plug.url, None)
    assert out.returncode == 1 and lines["token"][0] == "✗"


def test_doctor_with_an_unreachable_url():
    out, lines = doctor(f"http://127.0.0.1:{free_port()}", "some.token.value")
    assert out.returncode == 1
    assert lines["reachable"][0] == "✗" and "connection refused" in lines["reachable"][1]
    assert lines["membership"][0] == "-"


def test_doctor_warns_about_a_token_expiring_within_a_day(plug):
    now = int(time.time())
    soon = make_jwt({"sub": "pat", "org": "plugorg", "role": "member", "iat": now, "exp": now + 3 * 3600, "jti": str(uuid.uuid4())})
    out, lines = doctor(plug.url, soon)
    assert out.returncode == 2, out.stdout
    assert lines["token"][0] == "!" and re.search(r"in [23] h", lines["token"][1]), lines["token"][1]


def test_doctor_fails_when_engram_user_is_not_the_tokens_user(plug):
    out, lines = doctor(plug.url, plug.tokens["pat"], ENGRAM_USER="quinn")
    assert out.returncode == 1
    assert lines["membership"][0] == "✗" and "ENGRAM_USER=pat" in lines["membership"][1]


def test_doctor_warns_about_plain_http_to_another_host():
    # Nothing needs to answer: the TLS verdict depends on the URL alone when the connection fails.
    out, lines = doctor("http://192.0.2.1:9", "some.token.value", "--timeout", "1")
    assert out.returncode == 1
    assert lines["tls"][0] == "!" and "not loopback" in lines["tls"][1]
