"""The memory lifecycle over the wire: provenance (through the official MCP SDK), version history and
revert, ratings, Git host webhooks, the admin usage report and the sweep. Each test builds its own
organisation (fresh users, memories and task ids), so none depends on another."""
import asyncio
import contextlib
import hashlib
import hmac
import json
import pathlib
import time
import uuid

import pytest
from mcp import ClientSession
from mcp.client.session import DEFAULT_CLIENT_INFO
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import Implementation

import helpers
from helpers import http, is_error, mcp_session, structured, text

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "Fixtures" / "webhooks"
ROUTER = "Sources/App/Router.swift"
REPO = "github.com/acme/api"


def run(coro):
    return asyncio.run(coro)


class Team:
    """A fresh organisation for one test; `roles` maps short names to roles (the first should be the owner)."""

    def __init__(self, server, **roles):
        tag = uuid.uuid4().hex[:8]
        self.server, self.org = server, f"lc-{tag}"
        self.user = {name: f"{name}-{tag}" for name in roles}
        self.tok = {name: server.token(self.user[name], org=self.org, role=role) for name, role in roles.items()}

    def call(self, method, path, who, body=None, **kw):
        return http(method, self.server.url + path, body, token=self.tok[who], **kw)

    def memory(self, who, mid):
        status, _, body = self.call("GET", f"/v1/memories/{mid}", who)
        assert status == 200, (status, body)
        return body["memory"]

    def published(self, who, content, task, repo=None, anchors=None):
        """An org memory by `who`, finished (published: a fresh organisation does not require review)."""
        body = {"content": content, "scope": "org", "task_id": task}
        if repo:
            body["repo"] = repo
        if anchors:
            body["anchors"] = anchors
        status, _, r = self.call("POST", "/v1/memories", who, body)
        assert status == 201 and r["memory"]["state"] == "draft", (status, r)
        status, _, f = self.call("POST", "/v1/finish", who, {"task_id": task})
        assert status == 200 and f["promoted"] == [r["memory"]["id"]] and f["state"] == "published", f
        return r["memory"]["id"]

    def audit(self, who):
        status, _, body = self.call("GET", "/v1/admin/audit?limit=200", who)
        assert status == 200, body
        return body["entries"]


@contextlib.asynccontextmanager
async def sdk_session(server, user, token, client_info=None):
    """Like helpers.mcp_session, with the clientInfo the SDK announces in `initialize`."""
    helpers.SENT.add(token)
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with client:
        async with streamable_http_client(f"{server.url}/mcp/{user}", http_client=client) as (read, write):
            async with ClientSession(read, write, client_info=client_info) as session:
                await session.initialize()
                yield session


def mcp_call(team, who, tool, args):
    async def go():
        async with mcp_session(team.server, team.user[who], team.tok[who]) as s:
            return await s.call_tool(tool, args)
    return run(go())


def ids(results):
    return [r["memory"]["id"] for r in results]


# 1. Provenance


def test_provenance_through_the_mcp_sdk_and_rest(server):
    t = Team(server, pia="member")
    commit = hashlib.sha1(b"lifecycle-provenance").hexdigest()
    info = Implementation(name="lifecycle-it", version="1.2.3")

    async def go():
        async with sdk_session(server, t.user["pia"], t.tok["pia"], client_info=info) as s:
            r = await s.call_tool("add_memory", {
                "content": "The HTTP router registers every route in Router.register at start-up",
                "anchors": [{"path": "./Sources//App/Router.swift", "lines": "10-20", "symbol": "register"}],
                "repo": "github.com/acme/lc-provenance", "task_id": "LC-PROV-1", "branch": "feature/LC-PROV-1-router",
                "commit": commit})
            assert not is_error(r), text(r)
            m = structured(r)["memory"]
            before = structured(await s.call_tool("list_memories", {"limit": 100}))["memories"]
            rejected = {}
            for path in ("../etc/passwd", "/etc/passwd"):
                bad = await s.call_tool("add_memory", {"content": f"The password file lives at {path} on every host",
                                                       "anchors": [{"path": path}]})
                rejected[path] = (is_error(bad), text(bad))
            forged = await s.call_tool("add_memory", {"content": "Provenance is chosen by the server, never the client",
                                                      "provenance": {"channel": "admin", "client": "forged/1.0"}})
            after = structured(await s.call_tool("list_memories", {"limit": 100}))["memories"]
        async with mcp_session(server, t.user["pia"], t.tok["pia"]) as s:
            r2 = await s.call_tool("add_memory", {"content": "Feature flags are read from the environment at boot"})
        return m, before, rejected, forged, after, structured(r2)["memory"]

    m, before, rejected, forged, after, default_client = run(go())
    p = m["provenance"]
    assert p["channel"] == "mcp" and p["client"] == "lifecycle-it/1.2.3", p
    assert isinstance(p["request_id"], str) and p["request_id"]
    assert p["author"] == t.user["pia"] and p["repo"] == "github.com/acme/lc-provenance" and p["task_id"] == "LC-PROV-1"
    assert p["branch"] == "feature/LC-PROV-1-router" and p["commit"] == commit and p["version"] == 1
    assert m["anchors"] == [{"path": ROUTER, "lines": "10-20", "symbol": "register"}]
    assert m["version"] == 1
    # The SDK's default clientInfo is recorded the same way.
    assert default_client["provenance"]["client"] == f"{DEFAULT_CLIENT_INFO.name}/{DEFAULT_CLIENT_INFO.version}"
    # Paths escaping the repository are tool errors naming the problem; nothing was stored.
    assert rejected["../etc/passwd"][0] and "`..`" in rejected["../etc/passwd"][1], rejected
    assert rejected["/etc/passwd"][0] and "absolute" in rejected["/etc/passwd"][1], rejected
    # Provenance is not a client field: the schema rejects it.
    assert is_error(forged) and "provenance" in text(forged), text(forged)
    assert [x["id"] for x in after] == [x["id"] for x in before]
    # The stored memory reads back the same over REST (with its history's first version).
    got = t.memory("pia", m["id"])
    assert got["provenance"] == p and got["anchors"] == m["anchors"]
    status, _, h = t.call("GET", f"/v1/memories/{m['id']}/versions", "pia")
    assert status == 200 and h["versions"][0]["channel"] == "mcp" and h["versions"][0]["client"] == "lifecycle-it/1.2.3"

    # REST: channel rest, the User-Agent as client; provenance cannot be sent there either.
    status, _, r = t.call("POST", "/v1/memories", "pia", {"content": "Database migrations run before the HTTP server binds"},
                          headers={"User-Agent": "lifecycle-rest/4.5"})
    assert status == 201, r
    p = r["memory"]["provenance"]
    assert p["channel"] == "rest" and p["client"] == "lifecycle-rest/4.5" and p["request_id"] and p["version"] == 1
    status, _, r = t.call("POST", "/v1/memories", "pia", {"content": "Log lines are structured JSON in production",
                                                          "provenance": {"channel": "cli"}})
    assert status == 400 and "provenance" in r["error"]["message"], r
    status, _, r = t.call("POST", "/v1/memories", "pia", {"content": "Config files never leave the repository root",
                                                          "anchors": [{"path": "../../etc/passwd"}]})
    assert status == 400 and "`..`" in r["error"]["message"], r


# 2. History and revert


def test_history_and_revert_over_mcp_and_rest(server):
    t = Team(server, ada="admin", hal="member", ivy="member")
    texts = ["The nightly job rebuilds the search index at 02:00 UTC",
             "The nightly job rebuilds the search index at 03:00 UTC",
             "The nightly job rebuilds the search index at 04:00 UTC after the backup"]
    commit = "4e1f0c9d"

    async def author():
        async with mcp_session(server, t.user["hal"], t.tok["hal"]) as s:
            mid = structured(await s.call_tool("add_memory", {"content": texts[0], "tags": ["cron"]}))["memory"]["id"]
            r = await s.call_tool("update_memory", {"id": mid, "content": texts[1]})
            assert not is_error(r) and structured(r)["memory"]["version"] == 2, text(r)
            r = await s.call_tool("update_memory", {"id": mid, "content": texts[2], "commit": commit})
            assert structured(r)["memory"]["version"] == 3
            h = structured(await s.call_tool("memory_history", {"id": mid}))
            r = await s.call_tool("revert_memory", {"id": mid, "version": 1})
            assert not is_error(r), text(r)
            reverted = structured(r)["memory"]
            missing = await s.call_tool("revert_memory", {"id": mid, "version": 9})
            return mid, h, reverted, missing
    mid, h, reverted, missing = run(author())
    assert h["id"] == mid
    assert [v["version"] for v in h["versions"]] == [1, 2, 3]
    assert [v["reason"] for v in h["versions"]] == ["created", "edit", f"edit at {commit}"]
    assert [v["memory"]["content"] for v in h["versions"]] == texts
    assert all(v["actor"] == t.user["hal"] and v["channel"] == "mcp" and v["state"] == "published" for v in h["versions"])
    assert reverted["version"] == 4 and reverted["content"] == texts[0] and reverted["tags"] == ["cron"]
    assert is_error(missing) and "no version 9" in text(missing) and "1 to 4" in text(missing), text(missing)

    # Another user (even of the same org) sees no history and cannot revert.
    async def stranger():
        async with mcp_session(server, t.user["ivy"], t.tok["ivy"]) as s:
            return [await s.call_tool("memory_history", {"id": mid}), await s.call_tool("revert_memory", {"id": mid, "version": 2})]
    for r in run(stranger()):
        assert is_error(r) and "not found" in text(r), text(r)
    assert t.call("GET", f"/v1/memories/{mid}/versions", "ivy")[0] == 404
    assert t.call("POST", f"/v1/memories/{mid}/revert", "ivy", {"version": 2})[0] == 404

    # REST: the same history, one more revert, and a clear error for a version that does not exist.
    status, _, body = t.call("GET", f"/v1/memories/{mid}/versions", "hal")
    assert status == 200 and [v["version"] for v in body["versions"]] == [1, 2, 3, 4]
    assert body["versions"][3]["reason"] == "revert to v1"
    status, _, body = t.call("POST", f"/v1/memories/{mid}/revert", "hal", {"version": 2})
    assert status == 200 and body["memory"]["version"] == 5 and body["memory"]["content"] == texts[1], body
    status, _, body = t.call("POST", f"/v1/memories/{mid}/revert", "hal", {"version": 42})
    assert status == 400 and "no version 42" in body["error"]["message"], body
    status, _, body = t.call("POST", f"/v1/memories/{mid}/revert", "hal", {"version": 0})
    assert status == 400, body
    assert t.memory("hal", mid)["version"] == 5

    # An org memory: its member author cannot revert it (403 over REST, a tool error over MCP); an admin can.
    oid = t.published("hal", "Release branches are cut from main every second Monday", "LC-HIST-ORG")
    status, _, body = t.call("PATCH", f"/v1/memories/{oid}", "hal", {"content": "Release branches are cut from main every Friday"})
    assert status == 200 and body["memory"]["version"] == 3 and body["memory"]["state"] == "published", body
    status, _, body = t.call("POST", f"/v1/memories/{oid}/revert", "hal", {"version": 2})
    assert status == 403 and body["error"]["code"] == "forbidden", body
    r = mcp_call(t, "hal", "revert_memory", {"id": oid, "version": 2})
    assert is_error(r) and "admin" in text(r), text(r)
    assert t.memory("hal", oid)["version"] == 3
    status, _, body = t.call("POST", f"/v1/memories/{oid}/revert", "ada", {"version": 2})
    assert status == 200, body
    m = body["memory"]
    assert m["version"] == 4 and m["state"] == "published" and m["content"].endswith("second Monday")
    status, _, body = t.call("GET", f"/v1/memories/{oid}/versions", "ada")
    last = body["versions"][-1]
    assert last["actor"] == t.user["ada"] and last["reason"] == "revert to v2" and last["channel"] == "rest"
    assert any(e["action"] == "revert" and e["memory_id"] == oid for e in t.audit("ada"))


# 3. rate_memory


def test_rating_personal_and_org_memories(server):
    t = Team(server, ann="admin", auth="member", rex="member", sam="member")
    stale_text = "The staging cluster is reached through the bastion host on port 2222"
    query = "how do I reach the staging cluster bastion"

    async def own():
        async with mcp_session(server, t.user["rex"], t.tok["rex"]) as s:
            mid = structured(await s.call_tool("add_memory", {"content": stale_text}))["memory"]["id"]
            hit = structured(await s.call_tool("search_memories", {"query": query}))["results"]
            r = await s.call_tool("rate_memory", {"id": mid, "verdict": "outdated", "note": "The bastion moved to port 22"})
            assert not is_error(r), text(r)
            rated = structured(r)
            default = structured(await s.call_tool("search_memories", {"query": query}))["results"]
            stale = structured(await s.call_tool("search_memories", {"query": query, "include_stale": True}))["results"]
            return mid, hit, rated, default, stale
    mid, hit, rated, default, stale = run(own())
    assert ids(hit) == [mid]
    assert rated["outcome"] == "marked_stale" and rated["memory"]["state"] == "stale", rated
    assert mid not in ids(default)
    assert ids(stale) == [mid] and stale[0]["freshness"] == "stale" and stale[0]["memory"]["state"] == "stale"
    status, _, body = t.call("GET", "/v1/memories/search?q=staging+cluster+bastion", "rex")
    assert status == 200 and mid not in ids(body["results"])
    status, _, body = t.call("GET", "/v1/memories/search?q=staging+cluster+bastion&include_stale=true", "rex")
    assert status == 200 and ids(body["results"]) == [mid] and body["results"][0]["freshness"] == "stale"
    assert t.memory("rex", mid)["freshness"] == "stale"

    # An org memory: one member's report is recorded, a second member's sends it to review with the notes.
    oid = t.published("auth", "Every public endpoint is rate limited at the ingress", "LC-RATE-ORG")
    r = mcp_call(t, "rex", "rate_memory", {"id": oid, "verdict": "outdated", "note": "Rate limits moved into the gateway"})
    assert not is_error(r) and structured(r)["outcome"] == "recorded" and structured(r)["reporters"] == 1, text(r)
    assert t.memory("sam", oid)["state"] == "published"
    status, _, body = t.call("POST", f"/v1/memories/{oid}/rate", "sam", {"verdict": "wrong", "note": "Only the login endpoint is limited"})
    assert status == 200 and body["outcome"] == "sent_to_review" and body["reporters"] == 2, body
    assert body["memory"]["state"] == "pending_review"
    assert t.call("GET", f"/v1/memories/{oid}", "sam")[0] == 404, "a memory in review is not served to members"
    status, _, body = t.call("GET", "/v1/admin/memories?state=pending_review", "ann")
    assert oid in [m["id"] for m in body["memories"]]
    status, _, body = t.call("GET", f"/v1/admin/memories/{oid}", "ann")
    assert status == 200 and body["memory"]["usage"]["open_reports"] == 2, body
    notes = {(x["user_id"], x["verdict"], x["note"]) for x in body["reports"]}
    assert notes == {(t.user["rex"], "outdated", "Rate limits moved into the gateway"),
                     (t.user["sam"], "wrong", "Only the login endpoint is limited")}
    assert all(x["memory_id"] == oid and not x["resolved"] for x in body["reports"])

    # helpful confirms.
    hid = t.published("auth", "Container images are scanned by Trivy in the CI pipeline", "LC-RATE-OK")
    assert t.memory("sam", hid)["usage"]["last_confirmed_at"] is None
    r = mcp_call(t, "sam", "rate_memory", {"id": hid, "verdict": "helpful"})
    assert not is_error(r) and structured(r)["outcome"] == "confirmed", text(r)
    m = t.memory("sam", hid)
    assert m["usage"]["last_confirmed_at"] and m["state"] == "published" and m["freshness"] == "fresh"


# 4. Webhooks


def fixture(name):
    """The raw bytes of a webhook fixture (waits a little for a helper still writing them)."""
    path = FIXTURES / name
    deadline = time.time() + 5
    while not path.exists() and time.time() < deadline:
        time.sleep(0.5)
    if not path.exists():
        pytest.fail(f"missing webhook fixture {path}")
    return path.read_bytes()


def sign(body, secret):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github(team, event, body, secret=None, signature=None, delivery=None, org=None):
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()), "User-Agent": "GitHub-Hookshot/044aadd"}
    if signature is None and secret is not None:
        signature = sign(body, secret)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return http("POST", f"{team.server.url}/v1/hooks/github/{org or team.org}", raw=body, headers=headers)


def gitlab(team, event, body, token, delivery=None):
    headers = {"X-Gitlab-Event": event, "X-Gitlab-Event-UUID": delivery or str(uuid.uuid4()), "X-Gitlab-Token": token,
               "User-Agent": "GitLab/15.5.0-pre"}
    return http("POST", f"{team.server.url}/v1/hooks/gitlab/{team.org}", raw=body, headers=headers)


def with_secret(team):
    """Sets the organisation's webhook secret as its owner and returns it."""
    secret = "whsec-" + uuid.uuid4().hex + uuid.uuid4().hex[:8]
    helpers.SENT.add(secret)
    status, _, body = team.call("GET", "/v1/admin/org", "own")
    assert status == 200 and body["webhook_secret_set"] is False, body
    status, _, body = team.call("PUT", "/v1/admin/webhook-secret", "mem", {"secret": secret})
    assert status == 403, body
    status, _, body = team.call("PUT", "/v1/admin/webhook-secret", "own", {"secret": "short"})
    assert status == 400, body
    status, _, body = team.call("PUT", "/v1/admin/webhook-secret", "own", {"secret": secret})
    assert status == 204, body
    status, _, body = team.call("GET", "/v1/admin/org", "own")
    assert status == 200 and body["webhook_secret_set"] is True and secret not in json.dumps(body), body
    return secret


def anchored(team, who, task, content, repo=REPO):
    return team.published(who, content, task, repo=repo, anchors=[{"path": ROUTER, "symbol": "register"}])


def changed_paths(payload):
    return {p for c in payload["commits"] for k in ("added", "modified", "removed") for p in c.get(k, [])}


def test_github_push_marks_anchored_memories(server):
    t = Team(server, own="owner", mem="member")
    secret = with_secret(t)
    raw = fixture("github-push.json")
    push = json.loads(raw)
    assert push["repository"]["full_name"] == "acme/api" and ROUTER in changed_paths(push)
    mid = anchored(t, "mem", "LC-GH-PUSH", "Routes are registered in Router.register, grouped by API version")
    other = t.published("mem", "Handlers return typed responses rather than raw bytes", "LC-GH-OTHER", repo=REPO,
                        anchors=[{"path": "Sources/App/Handlers/Untouched.swift"}])
    delivery = str(uuid.uuid4())
    status, _, body = github(t, "push", raw, secret, delivery=delivery)
    assert status == 200, body
    assert body["status"] == "applied" and body["event"] == "push" and body["commit"] == push["after"]
    assert body["anchor_changed"] == [mid], body
    status, _, m = t.call("GET", f"/v1/admin/memories/{mid}", "own")
    m = m["memory"]
    assert m["state"] == "pending_review" and m["anchor_changed"]["commit"] == push["after"]
    assert m["anchor_changed"]["paths"] == [ROUTER] and m["version"] == 3
    assert m["freshness"].startswith("code changed since") and m["freshness_state"] == "code_changed"
    status, _, body = t.call("GET", "/v1/admin/memories?state=pending_review", "own")
    assert mid in [x["id"] for x in body["memories"]] and other not in [x["id"] for x in body["memories"]]
    status, _, body = t.call("GET", "/v1/memories/search?q=where+are+routes+registered", "mem")
    hit = next(h for h in body["results"] if h["memory"]["id"] == mid)
    assert hit["freshness"] == f"code changed since {push['after'][:12]}", hit
    assert t.memory("mem", other)["anchor_changed"] is None
    assert any(e["action"] == "code-changed" and e["memory_id"] == mid for e in t.audit("own"))

    # The same delivery again is a replay: acknowledged, nothing changes (even after the author answered the mark).
    status, _, body = t.call("PATCH", f"/v1/memories/{mid}", "mem", {"anchors": [{"path": ROUTER, "lines": "1-40"}]})
    assert status == 200 and body["memory"]["anchor_changed"] is None, body
    before = t.memory("mem", mid)
    status, _, body = github(t, "push", raw, secret, delivery=delivery)
    assert status == 200 and body == {"status": "duplicate"}, body
    assert t.memory("mem", mid) == before


def test_github_authentication_and_edge_cases(server):
    t = Team(server, own="owner", mem="member")
    raw = fixture("github-push.json")
    status, _, body = github(t, "push", raw, "no-secret-is-set-here")
    assert status == 404 and body["error"]["code"] == "not_found", body
    status, _, _ = github(t, "push", raw, "no-secret-is-set-here", org="lc-no-such-org")
    assert status == 404
    secret = with_secret(t)
    mid = anchored(t, "mem", "LC-GH-AUTH", "Middleware order is declared next to Router.register")

    status, _, body = github(t, "push", raw, signature=sign(raw, secret + "x"))
    assert status == 401, body
    status, _, body = github(t, "push", raw, signature=sign(raw + b" ", secret))
    assert status == 401, body
    status, _, body = github(t, "push", raw)
    assert status == 401, body
    rejected = [e for e in t.audit("own") if e["action"] == "webhook-rejected"]
    assert len(rejected) == 3 and {e["detail"] for e in rejected} == {"github: bad signature", "github: missing signature"}
    assert all(secret not in json.dumps(e) for e in rejected)
    m = t.memory("mem", mid)
    assert m["anchor_changed"] is None and m["state"] == "published" and m["version"] == 2

    status, _, body = github(t, "issues", raw, secret)
    assert status == 202 and body["status"] == "ignored", body
    status, _, body = github(t, "ping", fixture("github-ping.json"), secret)
    assert status == 200 and body == {"status": "pong"}, body
    big = b'{"padding": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    status, _, body = github(t, "push", big, secret)
    assert status == 413, (status, body)
    assert t.memory("mem", mid)["version"] == 2
    assert server.alive()


def test_github_merged_pull_request_publishes_task_drafts(server):
    t = Team(server, own="owner", mem="member")
    secret = with_secret(t)
    status, _, body = t.call("POST", "/v1/memories", "mem", {"content": "API pagination uses opaque cursors, never offsets",
                                                             "scope": "org", "task_id": "ENG-123", "repo": REPO})
    assert status == 201 and body["memory"]["state"] == "draft"
    mid = body["memory"]["id"]
    closed = fixture("github-pull-request-closed.json")
    status, _, body = github(t, "pull_request", closed, secret)
    assert status == 202 and body["status"] == "ignored", body
    assert t.memory("mem", mid)["state"] == "draft"
    status, _, body = github(t, "pull_request", fixture("github-pull-request-merged.json"), secret)
    assert status == 200 and body["promoted"] == [mid] and body["state"] == "published", body
    m = t.memory("own", mid)
    assert m["state"] == "published" and m["version"] == 2
    status, _, h = t.call("GET", f"/v1/memories/{mid}/versions", "mem")
    assert h["versions"][-1]["channel"] == "webhook" and "ENG-123" in h["versions"][-1]["reason"]


def test_gitlab_push_and_merge_request(server):
    t = Team(server, own="owner", mem="member")
    secret = with_secret(t)
    raw = fixture("gitlab-push.json")
    push = json.loads(raw)
    commit = push.get("checkout_sha") or push["after"]
    assert ROUTER in changed_paths(push)
    mid = anchored(t, "mem", "LC-GL-PUSH", "Router.register also mounts the health endpoints", repo="gitlab.example.com/acme/api")
    status, _, body = gitlab(t, "Push Hook", raw, secret + "-wrong")
    assert status == 401, body
    assert t.memory("mem", mid)["anchor_changed"] is None
    assert any(e["action"] == "webhook-rejected" and e["detail"] == "gitlab: bad token" for e in t.audit("own"))
    status, _, body = gitlab(t, "Push Hook", raw, secret)
    assert status == 200 and body["anchor_changed"] == [mid] and body["commit"] == commit, body
    status, _, body = t.call("GET", f"/v1/admin/memories/{mid}", "own")
    assert body["memory"]["state"] == "pending_review" and body["memory"]["anchor_changed"]["commit"] == commit

    status, _, body = t.call("POST", "/v1/memories", "mem", {"content": "Background jobs are idempotent and keyed by job id",
                                                             "scope": "org", "task_id": "ENG-456"})
    did = body["memory"]["id"]
    status, _, body = gitlab(t, "Merge Request Hook", fixture("gitlab-merge-request-merged.json"), secret)
    assert status == 200 and body["promoted"] == [did], body
    assert t.memory("own", did)["state"] == "published"


# 5. Admin usage


def test_admin_usage_report(server):
    t = Team(server, boss="admin", wri="member", rea="member")
    served = t.published("wri", "The payments service retries card captures three times with backoff", "LC-USE-1")
    unused = t.published("wri", "Office plants are watered on Thursdays", "LC-USE-2")
    for _ in range(3):
        status, _, body = t.call("GET", "/v1/memories/search?q=payments+card+capture+retries&limit=1", "rea")
        assert status == 200 and ids(body["results"]) == [served], body
    status, _, body = t.call("POST", f"/v1/memories/{served}/rate", "rea", {"verdict": "outdated", "note": "Captures retry five times now"})
    assert status == 200 and body["outcome"] == "recorded", body
    assert t.call("GET", "/v1/admin/usage", "rea")[0] == 403

    deadline = time.time() + 5
    while True:
        status, _, report = t.call("GET", "/v1/admin/usage", "boss")
        assert status == 200, report
        most = {e["id"]: e for e in report["most_served"]}
        if most.get(served, {}).get("usage", {}).get("served_count") == 3 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert list(most) == [served] and most[served]["usage"]["served_count"] == 3, report["most_served"]
    assert most[served]["usage"]["last_served_at"] and most[served]["user_id"] == t.user["wri"]
    assert [e["id"] for e in report["never_served"]] == [unused]
    assert [(r["memory_id"], r["user_id"], r["verdict"], r["note"]) for r in report["recent_reports"]] == [
        (served, t.user["rea"], "outdated", "Captures retry five times now")]
    members = {m["user_id"]: m for m in report["members"]}
    assert members[t.user["wri"]] == {"user_id": t.user["wri"], "authored": 2, "served": 3, "reports": 0}
    assert members[t.user["rea"]] == {"user_id": t.user["rea"], "authored": 0, "served": 0, "reports": 1}


# 6. Sweep


def test_sweep_is_for_admins(server):
    t = Team(server, boss="admin", mem="member")
    t.published("mem", "Feature branches are deleted after merge", "LC-SWEEP")
    status, _, body = t.call("POST", "/v1/admin/sweep", "boss")
    assert status == 200 and isinstance(body["stale"], list) and isinstance(body["archived"], list), body
    assert body == {"stale": [], "archived": []}, "nothing of a fresh organisation is due"
    status, _, body = t.call("POST", "/v1/admin/sweep", "mem")
    assert status == 403 and body["error"]["code"] == "forbidden", body
