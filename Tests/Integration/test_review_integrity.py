"""Attack-test fixes in the memory domain, over the wire: reviewed memories cannot be rewritten
without review or audit (MCP, REST, near-duplicates, the Qdrant API), approval binds to the text
the reviewer read, task-less org drafts can be published, control characters are refused, weak
search hits are dropped and tool results say when, where and in which state a memory is."""
import asyncio
import secrets
import time

import pytest

import helpers
from conftest import start_with_qdrant_listener
from helpers import http, is_error, mcp_session, structured, text

API_KEY = "qdrant-ri-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def srv():
    """A server with the Qdrant-compatible listener on, and org "revco" requiring review."""
    s = start_with_qdrant_listener("review-integrity", API_KEY)
    s.tok = {
        "rhea": s.token("rhea", org="revco", role="member"),
        "rory": s.token("rory", org="revco", role="member"),
        "rita": s.token("rita", org="revco", role="admin"),
    }
    assert http("PATCH", s.url + "/v1/admin/org", {"require_review": True}, token=s.tok["rita"])[0] == 200
    yield s
    s.q.close()
    s.stop()


def approved_memory(s, content, task):
    """An org memory by rhea, finished and approved by rita; returns the memory as approved."""
    status, _, body = http("POST", s.url + "/v1/memories", {"content": content, "scope": "org", "task_id": task}, token=s.tok["rhea"])
    assert status == 201, body
    mid = body["memory"]["id"]
    assert http("POST", s.url + "/v1/finish", {"task_id": task}, token=s.tok["rhea"])[2]["state"] == "pending_review"
    seen = http("GET", f"{s.url}/v1/admin/memories/{mid}", token=s.tok["rita"])[2]["memory"]
    status, _, body = http("POST", f"{s.url}/v1/admin/memories/{mid}/approve", {"content_hash": seen["content_hash"]}, token=s.tok["rita"])
    assert status == 200 and body["memory"]["state"] == "published"
    return body["memory"]


def audit_for(s, mid):
    entries = http("GET", s.url + "/v1/admin/audit?limit=200", token=s.tok["rita"])[2]["entries"]
    return [e for e in entries if e["memory_id"] == mid]


def test_mcp_update_of_an_approved_memory_goes_back_to_review(srv):
    m = approved_memory(srv, "Revco services pin their base images by digest", "RI-1")
    assert http("GET", f"{srv.url}/v1/memories/{m['id']}", token=srv.tok["rory"])[0] == 200

    async def rewrite():
        async with mcp_session(srv, "rhea", srv.tok["rhea"]) as session:
            r = await session.call_tool("update_memory", {"id": m["id"], "content": "Revco services use the latest tag for base images"})
            assert not is_error(r), text(r)
            assert structured(r)["memory"]["state"] == "pending_review"
            assert "review" in text(r)
    asyncio.run(rewrite())
    # Teammates no longer read the unreviewed text; the audit log has the change with both hashes.
    assert http("GET", f"{srv.url}/v1/memories/{m['id']}", token=srv.tok["rory"])[0] == 404
    status, _, body = http("GET", srv.url + "/v1/memories/search?q=base+images+latest+tag", token=srv.tok["rory"])
    assert m["id"] not in [h["memory"]["id"] for h in body["results"]]
    update = next(e for e in audit_for(srv, m["id"]) if e["action"] == "update")
    assert update["actor"] == "rhea" and update["before_hash"] == m["content_hash"] and update["after_hash"] != m["content_hash"]
    assert update["detail"] == "via mcp; state published→pending_review"


def test_rest_update_and_near_duplicate_of_approved_memories_go_back_to_review(srv):
    m = approved_memory(srv, "The payments API retries webhooks five times", "RI-2")
    status, _, body = http("PATCH", f"{srv.url}/v1/memories/{m['id']}", {"content": "The payments API never retries webhooks"},
                           token=srv.tok["rhea"])
    assert status == 200 and body["memory"]["state"] == "pending_review"
    assert any(e["action"] == "update" and e["detail"].startswith("via rest") for e in audit_for(srv, m["id"]))

    n = approved_memory(srv, "Use pnpm, not npm, in the revco web package", "RI-3")
    status, _, body = http("POST", srv.url + "/v1/memories", {"content": "USE PNPM, NOT NPM, in the revco web package", "scope": "org",
                                                              "task_id": "RI-4"}, token=srv.tok["rhea"])
    assert body["status"] == "updated" and body["memory"]["id"] == n["id"] and body["memory"]["state"] == "pending_review"
    assert http("GET", f"{srv.url}/v1/memories/{n['id']}", token=srv.tok["rory"])[0] == 404
    merge = next(e for e in audit_for(srv, n["id"]) if e["action"] == "update")
    assert merge["before_hash"] == n["content_hash"] and "near-duplicate merge" in merge["detail"]


def test_approve_binds_to_the_text_the_reviewer_read(srv):
    status, _, body = http("POST", srv.url + "/v1/memories", {"content": "Revco feature flags live in flags.yaml", "scope": "org",
                                                              "task_id": "RI-5"}, token=srv.tok["rhea"])
    mid = body["memory"]["id"]
    http("POST", srv.url + "/v1/finish", {"task_id": "RI-5"}, token=srv.tok["rhea"])
    seen = http("GET", f"{srv.url}/v1/admin/memories/{mid}", token=srv.tok["rita"])[2]["memory"]
    # The author edits after the reviewer opened it.
    status, _, body = http("PATCH", f"{srv.url}/v1/memories/{mid}", {"content": "Revco feature flags are toggled by anyone in prod"},
                           token=srv.tok["rhea"])
    assert status == 200 and body["memory"]["state"] == "pending_review"
    url = f"{srv.url}/v1/admin/memories/{mid}/approve"
    status, _, body = http("POST", url, {"content_hash": seen["content_hash"]}, token=srv.tok["rita"])
    assert status == 409 and body["error"]["code"] == "conflict"
    status, _, body = http("POST", url, None, token=srv.tok["rita"], headers={"If-Match": f'"{seen["content_hash"]}"'})
    assert status == 409
    status, _, body = http("POST", url, None, token=srv.tok["rita"])
    assert status == 400 and "content_hash" in body["error"]["message"]
    assert http("GET", f"{srv.url}/v1/admin/memories/{mid}", token=srv.tok["rita"])[2]["memory"]["state"] == "pending_review"
    current = http("GET", f"{srv.url}/v1/admin/memories/{mid}", token=srv.tok["rita"])[2]["memory"]
    status, _, body = http("POST", url, None, token=srv.tok["rita"], headers={"If-Match": f'"{current["content_hash"]}"'})
    assert status == 200 and body["memory"]["state"] == "published"


def test_taskless_org_drafts_can_be_published(srv):
    async def flow():
        async with mcp_session(srv, "rory", srv.tok["rory"]) as session:
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert "task_id" not in tools["finish_task"].input_schema.get("required", [])
            assert "without" in tools["finish_task"].description
            r = await session.call_tool("add_memory", {"content": "Revco's CI caches Gradle dependencies per branch", "scope": "org"})
            s = structured(r)
            assert s["memory"]["state"] == "draft" and "finish_task without a task_id" in s["next_step"]
            assert "finish_task without a task_id" in text(r)
            r = await session.call_tool("finish_task", {})
            assert not is_error(r), text(r)
            assert structured(r)["promoted"] == [s["memory"]["id"]] and structured(r)["task_id"] is None
            return s["memory"]["id"]
    mid = asyncio.run(flow())
    assert http("GET", f"{srv.url}/v1/admin/memories/{mid}", token=srv.tok["rita"])[2]["memory"]["state"] == "pending_review"
    status, _, body = http("POST", srv.url + "/v1/finish", {}, token=srv.tok["rory"])
    assert status == 200 and body["promoted"] == []


def test_control_characters_are_refused(srv):
    for body in ({"content": "null\u0000byte"}, {"content": "fine text", "tags": ["a\u0000b"]}, {"content": "ok", "repo": "a\u0007b"}):
        status, _, payload = http("POST", srv.url + "/v1/memories", body, token=srv.tok["rory"])
        assert status == 400 and "control" in payload["error"]["message"], payload


def test_search_drops_weak_hits_and_text_results_carry_state_date_and_repo(srv):
    status, _, body = http("POST", srv.url + "/v1/memories", {"content": "Rory runs the revco integration tests with make it",
                                                              "repo": "github.com/revco/api"}, token=srv.tok["rory"])
    assert status == 201
    status, _, body = http("GET", srv.url + "/v1/memories/search?q=banana+bread+recipe+with+walnuts", token=srv.tok["rory"])
    assert status == 200 and body["results"] == [], [(r["score"], r["similarity"]) for r in body["results"]]

    async def recall():
        async with mcp_session(srv, "rory", srv.tok["rory"]) as session:
            r = await session.call_tool("search_memories", {"query": "how does rory run the integration tests"})
            t = text(r)
            assert "personal/published" in t and "repo github.com/revco/api" in t and "updated 20" in t and "relevance" in t
            hit = structured(r)["results"][0]["memory"]
            assert "content_hash" not in hit and "embedding_model" not in hit
    asyncio.run(recall())


def memory_collection(s):
    names = [c["name"] for c in s.q.get("/collections").json()["result"]["collections"]]
    return next(n for n in names if n.startswith("memories_all_minilm"))


def test_qdrant_api_writes_follow_the_memory_rules(srv):
    m = approved_memory(srv, "Revco deploys run from the release branch only", "RI-6")
    name = memory_collection(srv)
    point = srv.q.post(f"/collections/{name}/points", json={"ids": [m["id"]], "with_payload": True, "with_vector": True}).json()["result"][0]

    # Oversized content and control characters are refused; nothing is written.
    for bad in (dict(point["payload"], content="x" * 9000), dict(point["payload"], content="a\u0000b")):
        r = srv.q.put(f"/collections/{name}/points?wait=true", json={"points": [{"id": m["id"], "vector": point["vector"], "payload": bad}]})
        assert r.status_code == 400, r.text
    r = srv.q.post(f"/collections/{name}/points/payload?wait=true", json={"payload": {"content": "y" * 9000}, "points": [m["id"]]})
    assert r.status_code == 400, r.text
    # A payload that is not a memory is refused in a memory collection.
    r = srv.q.put(f"/collections/{name}/points?wait=true", json={"points": [{"id": m["id"], "vector": point["vector"], "payload": {"x": 1}}]})
    assert r.status_code == 400, r.text
    # A secret used as a payload key is found (and not echoed).
    token = helpers.fake_github_token()
    r = srv.q.post(f"/collections/{name}/points/payload?wait=true", json={"payload": {token: "x"}, "points": [m["id"]]})
    assert r.status_code == 400 and token not in r.text, r.text
    assert http("GET", f"{srv.url}/v1/memories/{m['id']}", token=srv.tok["rory"])[2]["memory"]["content"] == m["content"]

    # Rewriting the approved text through the API sends it back to review and is audited.
    r = srv.q.post(f"/collections/{name}/points/payload?wait=true",
                   json={"payload": {"content": "Revco deploys run from any branch", "content_hash": "0" * 64}, "points": [m["id"]]})
    assert r.status_code == 200, r.text
    deadline = time.time() + 10
    while time.time() < deadline and http("GET", f"{srv.url}/v1/memories/{m['id']}", token=srv.tok["rory"])[0] == 200:
        time.sleep(0.1)
    assert http("GET", f"{srv.url}/v1/memories/{m['id']}", token=srv.tok["rory"])[0] == 404
    now = http("GET", f"{srv.url}/v1/admin/memories/{m['id']}", token=srv.tok["rita"])[2]["memory"]
    assert now["state"] == "pending_review" and now["content_hash"] != "0" * 64
    update = next(e for e in audit_for(srv, m["id"]) if e["actor"] == "qdrant-api")
    assert update["action"] == "update" and update["before_hash"] == m["content_hash"] and update["after_hash"] == now["content_hash"]
