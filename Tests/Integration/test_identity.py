"""A user id is one person's identity across organisations: an admin of another org cannot enrol it.
Adding a member invites them; only the invitee's own credential accepts (or declines) the invitation."""
import time
import uuid

from conftest import make_jwt
from helpers import http


def org_token(user, org, role="member"):
    """A correctly signed token for (user, org), as anyone holding a signing key could mint."""
    now = int(time.time())
    return make_jwt({"sub": user, "org": org, "role": role, "iat": now, "exp": now + 600, "jti": str(uuid.uuid4())})


def test_an_admin_of_another_org_cannot_enrol_an_existing_user(server, tokens):
    # alice (member of acme) keeps a personal memory.
    status, _, body = http("POST", server.url + "/v1/memories", {"content": "Alice's private note about her dotfiles"}, token=tokens["alice"])
    assert status == 201
    note = body["memory"]["id"]
    # mallory, owner of globex, adds alice to globex: that is only an invitation.
    status, _, body = http("POST", server.url + "/v1/admin/members", {"user_id": "alice", "role": "admin"}, token=tokens["mallory"])
    assert status == 202 and body["invitation"]["status"] == "pending", body
    members = http("GET", server.url + "/v1/admin/members", token=tokens["mallory"])[2]
    assert "alice" not in {m["user_id"] for m in members["members"]}
    assert "alice" in {i["user_id"] for i in members["invitations"]}
    # A token for alice in globex is refused until alice accepts: her personal memories stay hers.
    forged = org_token("alice", "globex", "admin")
    assert http("GET", f"{server.url}/v1/memories/{note}", token=forged)[0] == 401
    # mallory cannot accept on alice's behalf; alice can decline.
    invitation = body["invitation"]["id"]
    assert http("POST", f"{server.url}/v1/invitations/{invitation}/accept", token=tokens["mallory"])[0] == 404
    mine = http("GET", server.url + "/v1/invitations", token=tokens["alice"])[2]["invitations"]
    assert [i["id"] for i in mine] == [invitation]
    assert http("POST", f"{server.url}/v1/invitations/{invitation}/decline", token=tokens["alice"])[0] == 204
    assert http("POST", f"{server.url}/v1/invitations/{invitation}/accept", token=tokens["alice"])[0] == 404
    assert http("GET", f"{server.url}/v1/memories/{note}", token=forged)[0] == 401


def test_a_never_seen_id_is_invited_not_enrolled(server, tokens):
    ghost = f"ghost{uuid.uuid4().hex[:6]}"
    status, _, body = http("POST", server.url + "/v1/admin/members", {"user_id": ghost, "role": "member"}, token=tokens["mallory"])
    assert status == 202
    assert http("GET", server.url + "/v1/memories", token=org_token(ghost, "globex"))[0] == 401
    # The org can revoke a pending invitation.
    invitation = body["invitation"]["id"]
    assert http("DELETE", f"{server.url}/v1/admin/invitations/{invitation}", token=tokens["mallory"])[0] == 204
    assert http("DELETE", f"{server.url}/v1/admin/invitations/{invitation}", token=tokens["mallory"])[0] == 404
