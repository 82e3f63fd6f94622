"""Org memories: draft → finish → review → published, the role matrix of every admin route,
cross-org isolation and the audit log."""
import asyncio

import pytest

from helpers import http, is_error, mcp_session, structured


@pytest.fixture(scope="module")
def org(server):
    """Org "initech": olga owner, adam admin, mia member, val viewer; mallory owns org "umbrella"."""
    return {
        "olga": server.token("olga", org="initech", role="owner"),
        "adam": server.token("adam", org="initech", role="admin"),
        "mia": server.token("mia", org="initech", role="member"),
        "val": server.token("val", org="initech", role="viewer"),
        "umb": server.token("umbra", org="umbrella", role="owner"),
    }


def post(server, path, body, token):
    return http("POST", server.url + path, body, token=token)


def test_full_lifecycle_over_mcp_and_rest(server, org):
    status, _, body = http("PATCH", server.url + "/v1/admin/org", {"require_review": True}, token=org["adam"])
    assert status == 200 and body["require_review"] is True

    async def author():
        async with mcp_session(server, "mia", org["mia"]) as s:
            r = await s.call_tool("add_memory", {"content": "Initech services must pin their base images by digest",
                                                 "scope": "org", "task_id": "SEC-1", "kind": "decision"})
            assert not is_error(r)
            mid = structured(r)["memory"]["id"]
            r = await s.call_tool("finish_task", {"task_id": "SEC-1"})
            assert structured(r)["promoted"] == [mid] and structured(r)["state"] == "pending_review"
            return mid
    mid = asyncio.run(author())
    # Pending: invisible to other members, visible to admins in the queue.
    status, _, _ = http("GET", f"{server.url}/v1/memories/{mid}", token=org["val"])
    assert status == 404
    status, _, body = http("GET", server.url + "/v1/admin/memories?state=pending_review", token=org["adam"])
    assert status == 200 and mid in [m["id"] for m in body["memories"]]
    # Edit (re-scanned, re-embedded) then approve.
    status, _, body = http("PATCH", f"{server.url}/v1/admin/memories/{mid}",
                           {"content": "Initech services pin base images by sha256 digest"}, token=org["adam"])
    assert status == 200 and body["memory"]["state"] == "pending_review"
    # Approval names the text the reviewer read (its content hash). Four-eyes review: adam wrote this text
    # (his edit), so he cannot approve it; olga can.
    seen = {"content_hash": body["memory"]["content_hash"]}
    status, _, refused = post(server, f"/v1/admin/memories/{mid}/approve", seen, org["adam"])
    assert status == 403 and "four-eyes" in refused["error"]["message"]
    status, _, body = post(server, f"/v1/admin/memories/{mid}/approve", seen, org["olga"])
    assert status == 200 and body["memory"]["state"] == "published"
    status, _, body = http("GET", f"{server.url}/v1/memories/{mid}", token=org["val"])
    assert status == 200 and body["memory"]["content"].endswith("sha256 digest")
    status, _, body = http("GET", f"{server.url}/v1/memories/search?q=base+image+digest", token=org["val"])
    assert mid in [r["memory"]["id"] for r in body["results"]]
    # Audit: promote, edit, approve; never the content.
    status, _, body = http("GET", server.url + "/v1/admin/audit?limit=50", token=org["adam"])
    assert status == 200
    mine = [e for e in body["entries"] if e["memory_id"] == mid]
    assert [e["action"] for e in mine] == ["approve", "edit", "promote"]
    edit = mine[1]
    assert edit["before_hash"] != edit["after_hash"] and edit["actor"] == "adam"
    assert all("digest" not in (e["detail"] or "") for e in body["entries"])
    http("PATCH", server.url + "/v1/admin/org", {"require_review": False}, token=org["olga"])


def test_reject_archive_delete_and_secret_edit(server, org):
    ids = []
    texts = ["The build cache lives on the shared NFS volume", "Release notes are drafted in the wiki before tagging",
             "Flaky integration tests are quarantined with a skip marker"]
    for content in texts:
        status, _, body = post(server, "/v1/memories", {"content": content, "scope": "org", "task_id": "B-1"}, org["mia"])
        assert status == 201
        ids.append(body["memory"]["id"])
    status, _, body = post(server, f"/v1/admin/memories/{ids[0]}/reject", None, org["olga"])
    assert body["memory"]["state"] == "rejected"
    status, _, body = post(server, f"/v1/admin/memories/{ids[1]}/archive", None, org["olga"])
    assert body["memory"]["state"] == "archived"
    from helpers import fake_github_token
    secret = fake_github_token()
    status, _, body = http("PATCH", f"{server.url}/v1/admin/memories/{ids[2]}", {"content": f"use {secret}"}, token=org["olga"])
    assert status == 422 and body["error"]["code"] == "secret_detected" and secret not in body["error"]["message"]
    status, _, _ = http("DELETE", f"{server.url}/v1/admin/memories/{ids[2]}", token=org["olga"])
    assert status == 204
    status, _, _ = http("GET", f"{server.url}/v1/admin/memories/{ids[2]}", token=org["olga"])
    assert status == 404
    # The author no longer sees rejected/archived memories; admins still do.
    status, _, _ = http("GET", f"{server.url}/v1/memories/{ids[0]}", token=org["mia"])
    assert status == 404
    status, _, body = http("GET", server.url + "/v1/admin/memories?state=rejected", token=org["adam"])
    assert ids[0] in [m["id"] for m in body["memories"]]
    status, _, body = http("GET", server.url + "/v1/admin/audit?limit=100", token=org["olga"])
    actions = {(e["action"], e["memory_id"]) for e in body["entries"]}
    assert {("reject", ids[0]), ("archive", ids[1]), ("delete", ids[2])} <= actions


ADMIN_ROUTES = [
    ("GET", "/v1/admin/memories", None),
    ("GET", "/v1/admin/memories/{id}", None),
    ("POST", "/v1/admin/memories/{id}/approve", None),
    ("POST", "/v1/admin/memories/{id}/reject", None),
    ("POST", "/v1/admin/memories/{id}/archive", None),
    ("PATCH", "/v1/admin/memories/{id}", {"tags": ["x"]}),
    ("DELETE", "/v1/admin/memories/{id}", None),
    ("GET", "/v1/admin/audit", None),
    ("GET", "/v1/admin/members", None),
    ("POST", "/v1/admin/members", {"user_id": "newbie", "role": "member"}),
    ("PATCH", "/v1/admin/members/mia", {"role": "member"}),
    ("DELETE", "/v1/admin/members/nobody", None),
    ("GET", "/v1/admin/org", None),
    ("PATCH", "/v1/admin/org", {"require_review": False}),
]


def test_role_matrix(server, org):
    status, _, body = post(server, "/v1/memories", {"content": "Matrix draft for the role test", "scope": "org"}, org["mia"])
    mid = body["memory"]["id"]
    for method, path, body in ADMIN_ROUTES:
        url = server.url + path.replace("{id}", mid)
        for who in ("mia", "val"):
            status, _, payload = http(method, url, body, token=org[who])
            assert status == 403, (who, method, path, status, payload)
        status, _, _ = http(method, url, body, token=None)
        assert status == 401, (method, path)
        # An owner of another org: forbidden on org-wide routes, not found on this org's memory.
        status, _, payload = http(method, url, body, token=org["umb"])
        if "{id}" in path:
            assert status == 404, ("other org", method, path, status, payload)
        elif path.startswith("/v1/admin/members/"):
            assert status in (404,), ("other org", method, path, status)
        else:
            assert status in (200, 201, 202), ("other org sees only its own org", method, path, status)
    # Admins: every route works (delete last); approval names the content hash it reviewed.
    content_hash = http("GET", f"{server.url}/v1/admin/memories/{mid}", token=org["adam"])[2]["memory"]["content_hash"]
    for method, path, body in ADMIN_ROUTES:
        if path.endswith("/members/nobody"):
            continue
        if path.endswith("/approve"):
            body = {"content_hash": content_hash}
        status, _, payload = http(method, server.url + path.replace("{id}", mid), body, token=org["adam"])
        assert status in (200, 201, 202, 204), (method, path, status, payload)


def test_other_org_sees_nothing(server, org):
    status, _, body = post(server, "/v1/memories", {"content": "Initech secret sauce recipe is kept in the vault", "scope": "org",
                                                    "task_id": "Q"}, org["mia"])
    mid = body["memory"]["id"]
    post(server, "/v1/finish", {"task_id": "Q"}, org["mia"])
    status, _, body = http("GET", server.url + "/v1/admin/memories?limit=100", token=org["umb"])
    assert status == 200 and all(m["org_id"] == "umbrella" for m in body["memories"])
    status, _, body = http("GET", server.url + "/v1/admin/audit?limit=200", token=org["umb"])
    assert all(e["org_id"] == "umbrella" for e in body["entries"])
    assert all(e["memory_id"] != mid for e in body["entries"])
    status, _, body = http("GET", server.url + "/v1/memories/search?q=secret+sauce+vault", token=org["umb"])
    assert all(r["memory"]["id"] != mid for r in body["results"])
    status, _, body = http("GET", server.url + "/v1/admin/members", token=org["umb"])
    assert not {m["user_id"] for m in body["members"]} & {"olga", "adam", "mia", "val"}


def test_members_and_last_owner(server, org):
    # Adding invites; nina joins when she accepts with her own (personal) token.
    status, _, body = post(server, "/v1/admin/members", {"user_id": "nina", "role": "member"}, org["adam"])
    assert status == 202 and body["invitation"]["role"] == "member" and body["invitation"]["status"] == "pending"
    status, _, body = post(server, "/v1/admin/members", {"user_id": "nina", "role": "member"}, org["adam"])
    assert status == 409
    nina_personal = server.token("nina")
    invitation = http("GET", server.url + "/v1/invitations", token=nina_personal)[2]["invitations"][0]
    assert invitation["org_id"] == "initech"
    status, _, body = post(server, f"/v1/invitations/{invitation['id']}/accept", None, nina_personal)
    assert status == 200 and body["member"]["role"] == "member"
    status, _, body = post(server, "/v1/admin/members", {"user_id": "nina", "role": "member"}, org["adam"])
    assert status == 409
    status, _, body = http("PATCH", server.url + "/v1/admin/members/nina", {"role": "owner"}, token=org["adam"])
    assert status == 403, "admins cannot make owners"
    status, _, body = http("DELETE", server.url + "/v1/admin/members/olga", token=org["adam"])
    assert status == 403, "admins cannot remove owners"
    status, _, body = http("DELETE", server.url + "/v1/admin/members/olga", token=org["olga"])
    assert status == 409, "the last owner cannot be removed"
    status, _, body = http("PATCH", server.url + "/v1/admin/members/olga", {"role": "admin"}, token=org["olga"])
    assert status == 409, "the last owner cannot be demoted"
    # A removed member loses access at once, even with a valid token.
    nina = server.token("nina", org="initech", role="member")
    status, _, _ = http("GET", server.url + "/v1/memories", token=nina)
    assert status == 200
    status, _, _ = http("DELETE", server.url + "/v1/admin/members/nina", token=org["adam"])
    assert status == 204
    status, _, _ = http("GET", server.url + "/v1/memories", token=nina)
    assert status == 401
    status, _, body = http("GET", server.url + "/v1/admin/audit?limit=200", token=org["olga"])
    kinds = [e["action"] for e in body["entries"] if (e["detail"] or "").startswith("user nina")]
    assert kinds[:3] == ["member.remove", "member.join", "member.invite"]
