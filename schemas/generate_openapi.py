#!/usr/bin/env python3
"""Builds schemas/openapi.json from the MCP tool schemas (the single source of truth).

Run after changing schemas/mcp/*.json:  python3 schemas/generate_openapi.py
A test (Tests/Integration/test_schemas.py) fails when openapi.json is out of date.
"""
import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def tool(name):
    with open(os.path.join(HERE, "mcp", name + ".json")) as f:
        return json.load(f)["inputSchema"]


def without_id(schema):
    s = copy.deepcopy(schema)
    s["properties"].pop("id", None)
    s["required"] = [r for r in s.get("required", []) if r != "id"]
    if not s["required"]:
        del s["required"]
    return s


def param(name, schema, description, required=False, explode=False):
    p = {"name": name, "in": "query", "required": required, "schema": schema, "description": description}
    if explode:
        p["explode"] = True
        p["style"] = "form"
    return p


def json_response(description, schema):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_body(schema):
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def ref(name):
    return {"$ref": "#/components/schemas/" + name}


def history_ops(error, errors, memory_response, summary_suffix="", rejected=None):
    """`GET .../{id}/versions` and `POST .../{id}/revert` (the same answers under /v1/memories and /v1/admin/memories)."""
    versions = {"get": {
        "summary": "The memory's versions, oldest first (also of a deleted memory until retention purges them)" + summary_suffix,
        "responses": {"200": json_response("The version history", ref("History")), "404": error, **errors}}}
    revert = {"post": {
        "summary": "Restore a version as a new version (history is never rewritten; the text is re-scanned for secrets; audited). "
                   "Authors revert their personal memories, admins and owners org memories; a deleted memory can be restored"
                   + summary_suffix,
        "requestBody": json_body(ref("RevertMemory")),
        "responses": {"200": memory_response, "400": error, "403": error, "404": error, "409": error, "422": rejected or error, **errors}}}
    return versions, revert


def webhook_paths(error):
    """`POST /v1/hooks/{github,gitlab}/{org}` (REST/Hooks/WebhookRoutes.swift): no bearer token, the org's webhook secret
    authenticates the raw body instead."""
    org_param = {"name": "org", "in": "path", "required": True, "schema": {"type": "string"}, "description": "The organisation id"}

    def header(name, description, required=False):
        return {"name": name, "in": "header", "required": required, "schema": {"type": "string"}, "description": description}

    def responses(auth):
        return {
            "200": json_response("Applied (push: memories citing changed files flagged; merge: the branch's org drafts promoted), "
                                 "a replayed delivery (duplicate) or a ping (pong)", ref("WebhookResult")),
            "202": json_response("Ignored (an event or action Engram does not use)", ref("WebhookResult")),
            "400": error, "401": dict(error, description=f"Bad or missing {auth} (audited)"),
            "404": dict(error, description="No webhook secret is configured for this organisation"),
            "413": dict(error, description="Body over 5 MiB"),
        }

    body = {"required": True, "content": {"application/json": {"schema": {"type": "object", "description": "The provider's event payload"}}}}
    return {
        "/v1/hooks/github/{org}": {"parameters": [org_param], "post": {
            "summary": "GitHub webhook: push (flags memories whose anchors changed) and merged pull_request (promotes the branch's "
                       "org drafts); ping answers pong. Authenticated by X-Hub-Signature-256 (HMAC-SHA256 of the raw body under "
                       "the org's webhook secret); a delivery id seen before is acknowledged and ignored",
            "security": [],
            "parameters": [header("X-GitHub-Event", "push, pull_request or ping", required=True),
                           header("X-GitHub-Delivery", "Delivery id (replays are ignored)"),
                           header("X-Hub-Signature-256", "sha256=<hex HMAC-SHA256 of the raw body>", required=True)],
            "requestBody": body, "responses": responses("X-Hub-Signature-256")}},
        "/v1/hooks/gitlab/{org}": {"parameters": [org_param], "post": {
            "summary": "GitLab webhook: Push Hook (flags memories whose anchors changed) and merged Merge Request Hook (promotes "
                       "the branch's org drafts). Authenticated by X-Gitlab-Token (the org's webhook secret); a delivery id seen "
                       "before is acknowledged and ignored",
            "security": [],
            "parameters": [header("X-Gitlab-Event", "Push Hook or Merge Request Hook", required=True),
                           header("X-Gitlab-Token", "The org's webhook secret", required=True),
                           header("X-Gitlab-Event-UUID", "Delivery id (replays are ignored); Idempotency-Key is used when absent")],
            "requestBody": body, "responses": responses("X-Gitlab-Token")}},
    }


ORG_POLICY = {
    "stale_after_days": {"type": "integer", "minimum": 7, "maximum": 3650, "default": 180,
                         "description": "A published memory neither served nor confirmed for this many days becomes stale"},
    "version_retention_days": {"type": "integer", "minimum": 1, "maximum": 3650, "default": 30,
                               "description": "Versions of a deleted memory are purged this many days after the deletion"},
}


APPROVER_MUST_DIFFER = {
    "type": "boolean", "default": True,
    "description": "Four-eyes review: nobody approves a memory they wrote or whose current text they wrote, owners included"}

CONTAINMENT_SELECTOR = {
    "type": "object", "additionalProperties": False,
    "description": "Which org memories to contain; every given condition must hold, at least one of member, token_id, task_id, "
                   "client, since, until, ids. The writer conditions (member, token_id, client, since, until) match any recorded "
                   "version of a memory; task_id and ids match the memory. Unknown fields answer 400",
    "properties": {
        "member": {"type": "string", "minLength": 1, "maxLength": 256, "description": "A writer's user id"},
        "token_id": {"type": "string", "minLength": 1, "maxLength": 256, "description": "The id (jti) of the token that wrote"},
        "task_id": {"type": "string", "minLength": 1, "maxLength": 256},
        "client": {"type": "string", "minLength": 1, "maxLength": 256,
                   "description": "The recorded client name/version, or its name (the prefix before /)"},
        "since": {"type": "string", "format": "date-time", "description": "Start of the window (RFC 3339, inclusive)"},
        "until": {"type": "string", "format": "date-time", "description": "End of the window (RFC 3339, exclusive)"},
        "ids": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"type": "string", "format": "uuid"}},
        "dry_run": {"type": "boolean", "default": False, "description": "Only count: change nothing, audit nothing"},
    },
    "anyOf": [{"required": [k]} for k in ["member", "token_id", "task_id", "client", "since", "until", "ids"]],
}


def admin_paths(error, auth_errors, memory_response, listing, rejected):
    """`/v1/admin/...`: the review queue and actions, members, org policy, usage, sweep, webhook secret and audit log
    (AdminRoutes.swift). Admins and owners of the caller's org only: other roles get 403, another org's memories 404."""
    admin_errors = {"403": error, **auth_errors}
    org_props = ORG_POLICY
    versions, revert = history_ops(error, admin_errors, memory_response, " (audited)", rejected=rejected)
    page = {"200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}}
    user_param = {"name": "userId", "in": "path", "required": True, "schema": {"type": "string"}}
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    member_response = {"content": {"application/json": {"schema": {
        "type": "object", "properties": {"member": {"$ref": "#/components/schemas/Member"}}, "required": ["member"]}}}}
    org_response = {"200": {"description": "The organisation", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Organisation"}}}}}
    invitation_response = {"content": {"application/json": {"schema": {
        "type": "object", "properties": {"invitation": {"$ref": "#/components/schemas/Invitation"}}, "required": ["invitation"]}}}}
    role_body = lambda required: {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": required,
        "properties": {"user_id": {"type": "string"}, "role": {"$ref": "#/components/schemas/Role"}}}}}}
    paths = {
        "/v1/admin/memories": {"get": {
            "summary": "Review queue: the org's memories in every state (drafts and pending reviews included), newest first",
            "parameters": [param("state", listing["state"], "Only this state"), param("author", {"type": "string"}, "Author's user id"),
                           param("tag", {"type": "string"}, "Tag"), param("repo", {"type": "string"}, "Repository"),
                           param("q", {"type": "string"}, "Case-insensitive text in the content"),
                           param("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}, "Page size"),
                           param("cursor", {"type": "string"}, "next_cursor of the previous page")],
            "responses": {**page, **admin_errors}}},
        "/v1/admin/memories/{id}": {
            "parameters": [id_param],
            "get": {"summary": "Get an org memory in any state, with its usage, freshness, open reports and possible conflicts "
                               "(the memories a reviewer should read beside it; approving can supersede them)",
                    "responses": {"200": json_response("The memory, its open reports and its possible conflicts", {
                        "type": "object", "properties": {"memory": ref("Memory"), "reports": {"type": "array", "items": ref("Report")},
                                                         "possible_conflicts": {"type": "array", "items": ref("PossibleConflict")}},
                        "required": ["memory", "reports", "possible_conflicts"]}), "404": error, **admin_errors}},
            "patch": {"summary": "Edit an org memory (re-scanned, re-screened and re-embedded; audited)",
                      "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MemoryPatch"}}}},
                      "responses": {"200": memory_response, "404": error, "422": rejected, **admin_errors}},
            "delete": {"summary": "Delete an org memory (audited)", "responses": {"204": {"description": "Deleted"}, "404": error, **admin_errors}},
        },
        "/v1/admin/memories/{id}/versions": {"parameters": [id_param], **versions},
        "/v1/admin/memories/{id}/revert": {"parameters": [id_param], **revert},
        "/v1/admin/usage": {"get": {
            "summary": "How the org's memories are used: most served, never served, reports of the last `days` days, per-member counts",
            "parameters": [param("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "Entries per list"),
                           param("days", {"type": "integer", "minimum": 1, "maximum": 3650, "default": 30}, "Report window in days")],
            "responses": {"200": json_response("The usage report", ref("UsageReport")), **admin_errors}}},
        "/v1/admin/sweep": {"post": {
            "summary": "Run the freshness sweep now (it also runs on the server's timer): unserved, unconfirmed published memories "
                       "become stale, expired ones archived",
            "responses": {"200": json_response("The caller's org memories the sweep changed", {
                "type": "object", "required": ["stale", "archived"], "properties": {
                    "stale": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                    "archived": {"type": "array", "items": {"type": "string", "format": "uuid"}}}}), **admin_errors}}},
        "/v1/admin/quarantine": {
            "get": {
                "summary": "The org's quarantined memories (contained by an admin, or found by `engram rescan --apply`), newest change "
                           "first, with the rules their text matches today (the text only when it holds no secret), and the memory "
                           "versions a rescan quarantined: ids and rule names, never the text",
                "responses": {"200": json_response("Quarantined memories and versions", {
                    "type": "object", "required": ["memories", "quarantine"], "properties": {
                        "memories": {"type": "array", "items": {
                            "type": "object", "required": ["memory", "text_shown", "rules", "quarantined_from"], "properties": {
                                "memory": ref("Memory"),
                                "text_shown": {"type": "boolean", "description": "False when the text fails the secret filter (content and tags are then empty)"},
                                "rules": {"type": "array", "items": {"type": "string"},
                                          "description": "Secret filter or blocking screen rules the text matches today"},
                                "quarantined_from": {"type": ["string", "null"], "description": "The state a release returns it to"}}}},
                        "quarantine": {"type": "array", "description": "Versions a rescan quarantined, newest first", "items": {
                            "type": "object", "required": ["memory_id", "version", "rules", "at"], "properties": {
                                "memory_id": {"type": "string", "format": "uuid"}, "version": {"type": "integer"},
                                "rules": {"type": "array", "items": {"type": "string"}}, "at": {"type": "string", "format": "date-time"}}}}}}),
                    **admin_errors}},
            "post": {
                "summary": "Quarantine every org memory the selector matches: it leaves every read path at once (MCP, REST, the Qdrant "
                           "API, export), remembering its state for a release. One audit entry with the selector and the counts; "
                           "dry_run only counts",
                "requestBody": json_body(ref("ContainmentSelector")),
                "responses": {"200": json_response("What was (or would be) quarantined", ref("ContainmentReport")), **admin_errors}},
        },
        "/v1/admin/release": {"post": {
            "summary": "Release the quarantined org memories the selector matches back to the state they were quarantined from (a "
                       "text that fails the secret filter or the blocking screen stays quarantined and counts as unchanged). One audit "
                       "entry; dry_run only counts",
            "requestBody": json_body(ref("ContainmentSelector")),
            "responses": {"200": json_response("What was (or would be) released", ref("ContainmentReport")), **admin_errors}}},
        "/v1/admin/rollback": {"post": {
            "summary": "Undo a window of writes: every org memory whose versions in [since, until) match the selector returns to its "
                       "last version before since (as a new version; a deleted one comes back); memories created in the window are "
                       "quarantined. One audit entry; dry_run only counts",
            "requestBody": json_body(ref("RollbackSelector")),
            "responses": {"200": json_response("What was (or would be) restored and quarantined", ref("ContainmentReport")), **admin_errors}}},
        "/v1/admin/webhook-secret": {
            "put": {"summary": "Set the org's webhook secret (GitHub signature key, GitLab token; never returned; audited without it)",
                    "requestBody": json_body({"type": "object", "required": ["secret"], "properties": {"secret": {
                        "type": "string", "minLength": 16, "maxLength": 256, "description": "No spaces or control characters"}}}),
                    "responses": {"204": {"description": "Set"}, "404": error, **admin_errors}},
            "delete": {"summary": "Clear the org's webhook secret (its webhooks then answer 404; audited)",
                       "responses": {"204": {"description": "Cleared"}, "404": error, **admin_errors}},
        },
        "/v1/admin/audit": {"get": {
            "summary": "The org's audit log, newest first (hashes, never content)",
            "parameters": [param("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size"),
                           param("cursor", {"type": "string"}, "next_cursor of the previous page")],
            "responses": {"200": {"description": "A page of entries", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"entries": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
                                                 "next_cursor": {"type": ["string", "null"]}}}}}}, **admin_errors}}},
        "/v1/admin/members": {
            "get": {"summary": "The org's members and pending invitations", "responses": {"200": {"description": "Members", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"members": {"type": "array", "items": {"$ref": "#/components/schemas/Member"}},
                                                 "invitations": {"type": "array", "items": {"$ref": "#/components/schemas/Invitation"}}}}}}}, **admin_errors}},
            "post": {"summary": "Invite a user (they join when they accept; only owners invite owners)", "requestBody": role_body(["user_id", "role"]),
                     "responses": {"202": {"description": "Invited", **invitation_response}, "409": error, **admin_errors}},
        },
        "/v1/admin/invitations": {
            "post": {"summary": "Invite a user and get their single-use link (shown once; the person sets a password on it)",
                     "requestBody": role_body(["user_id", "role"]),
                     "responses": {"201": {"description": "Invited", "content": {"application/json": {"schema": {
                         "type": "object", "properties": {"invitation": {"$ref": "#/components/schemas/Invitation"},
                                                          "link": {"type": "string", "format": "uri"}}}}}},
                                   "409": error, **admin_errors}},
        },
        "/v1/admin/members/{userId}/reset-link": {
            "parameters": [user_param],
            "post": {"summary": "A single-use password reset link for a member (shown once; using it ends their sessions; "
                                "only owners reset owners; a browser session needs a recent password)",
                     "responses": {"201": {"description": "Issued", "content": {"application/json": {"schema": {
                         "type": "object", "properties": {"link": {"type": "string", "format": "uri"},
                                                          "expires_at": {"type": "string", "format": "date-time"}}}}}},
                                   "404": error, **admin_errors}},
        },
        "/v1/admin/invitations/{id}": {
            "parameters": [id_param],
            "delete": {"summary": "Revoke a pending invitation (audited)", "responses": {"204": {"description": "Revoked"}, "404": error, **admin_errors}},
        },
        "/v1/admin/members/{userId}": {
            "parameters": [user_param],
            "patch": {"summary": "Change a member's role (the last owner cannot be demoted)", "requestBody": role_body(["role"]),
                      "responses": {"200": {"description": "Changed", **member_response}, "404": error, "409": error, **admin_errors}},
            "delete": {"summary": "Remove a member (not the last owner)",
                       "responses": {"204": {"description": "Removed"}, "404": error, "409": error, **admin_errors}},
        },
        "/v1/admin/org": {
            "get": {"summary": "The caller's organisation and its policy", "responses": {**org_response, "404": error, **admin_errors}},
            "patch": {"summary": "Set the org policy: any of require_review, require_totp, approver_must_differ, stale_after_days, "
                                 "version_retention_days",
                      "requestBody": json_body({"type": "object", "minProperties": 1, "properties": {
                          "require_review": {"type": "boolean"}, "require_totp": {"type": "boolean"},
                          "approver_must_differ": APPROVER_MUST_DIFFER,
                          "stale_after_days": org_props["stale_after_days"],
                          "version_retention_days": org_props["version_retention_days"]}}),
                      "responses": {**org_response, "404": error, **admin_errors}},
        },
    }
    content_hash = {"type": "string", "description": "The content hash of the text the reviewer read (or send If-Match)"}
    seen_hash = {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {"content_hash": content_hash}}}}}
    approval = {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
        "content_hash": content_hash,
        "supersedes": {"type": "array", "maxItems": 20, "items": {"type": "string", "format": "uuid"},
                       "description": "Memories the approved one replaces: each is archived with superseded_by set to it"}}}}}}
    for action, summary, body in [
            ("approve", "Publish a draft or pending memory: needs the content hash the reviewer read (body content_hash or "
                        "If-Match); 409 when the text changed since. Records the reviewer (reviewed_by; trust reviewed) and clears "
                        "the screen's flags; supersedes archives the listed memories. Under four-eyes review (approver_must_differ) "
                        "approving a memory whose text you wrote answers 403", approval),
            ("reject", "Reject a memory", seen_hash), ("archive", "Archive a memory", seen_hash)]:
        paths[f"/v1/admin/memories/{{id}}/{action}"] = {"parameters": [id_param], "post": {
            "summary": summary + " (audited)", "requestBody": body,
            "responses": {"200": memory_response, "400": error, "404": error, "409": error, **admin_errors}}}
    invitations = {"200": {"description": "Invitations addressed to the caller", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"invitations": {"type": "array", "items": {"$ref": "#/components/schemas/Invitation"}}}}}}}}
    paths["/v1/invitations"] = {"get": {"summary": "Pending invitations addressed to the caller", "responses": {**invitations, **auth_errors}}}
    paths["/v1/invitations/{id}/accept"] = {"parameters": [id_param], "post": {
        "summary": "Accept an invitation: the caller joins the org with the invited role (audited)",
        "responses": {"200": {"description": "Joined", **member_response}, "404": error, **auth_errors}}}
    paths["/v1/invitations/{id}/decline"] = {"parameters": [id_param], "post": {
        "summary": "Decline an invitation (audited)", "responses": {"204": {"description": "Declined"}, "404": error, **auth_errors}}}
    return paths


def build():
    search = tool("search_memories")["properties"]
    listing = tool("list_memories")["properties"]
    error = {"$ref": "#/components/responses/Error"}
    rejected = {"$ref": "#/components/responses/Rejected"}
    auth_errors = {"400": error, "401": error, "413": error}
    memory_props = {
        "id": {"type": "string", "format": "uuid"}, "user_id": {"type": "string"}, "org_id": {"type": ["string", "null"]},
        "scope": {"type": "string", "enum": ["personal", "org"]},
        "state": {"type": "string", "enum": listing["state"]["enum"] + ["quarantined"]},
        "content": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
        "repo": {"type": ["string", "null"]}, "task_id": {"type": ["string", "null"]},
        "kind": {"type": "string", "enum": ["pattern", "preference", "decision", "fact", "gotcha"]},
        "content_hash": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"}, "embedding_model": {"type": "string"},
        "version": {"type": "integer", "minimum": 1}, "provenance": ref("Provenance"),
        "anchors": {"type": "array", "items": ref("Anchor")},
        "anchor_changed": {"oneOf": [ref("AnchorChange"), {"type": "null"}], "description": "Set when a push changed code the memory cites"},
        "expires_at": {"type": ["string", "null"], "format": "date-time", "description": "Archived after this time (expires_in_days)"},
        "screen_flags": {"type": "array", "items": {"type": "string"},
                         "description": "Rule ids of the poisoning screen's flags on the current text (empty: none); an approval clears them"},
        "reviewed_by": {"type": ["string", "null"], "description": "The reviewer who approved the current text"},
        "superseded_by": {"type": ["string", "null"], "format": "uuid", "description": "The memory that replaced this one (it is then archived)"},
    }
    # Where the reader is known: get, list, search, add, update and the admin review queue.
    reader_props = {"trust": ref("Trust")}
    # Only on GET /v1/memories/{id}, GET /v1/admin/memories/{id} and search hits.
    served_props = {
        "usage": ref("Usage"),
        "freshness": {"type": "string", "description": "fresh, aging, stale or `code changed since <commit>`"},
        "freshness_state": {"type": "string", "enum": ["fresh", "aging", "stale", "code_changed"]},
    }
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    memory_response = {"description": "The memory", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"memory": {"$ref": "#/components/schemas/Memory"}}, "required": ["memory"]}}}}
    versions, revert = history_ops(error, auth_errors, memory_response, rejected=rejected)
    containment_selector = CONTAINMENT_SELECTOR
    timestamp = {"type": "string", "format": "date-time"}
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    nullable = {"type": ["string", "null"]}
    usage_entry = {"type": "object", "properties": {
        "id": {"type": "string", "format": "uuid"}, "user_id": {"type": "string"}, "state": memory_props["state"],
        "content": {"type": "string"}, "usage": ref("Usage"), "created_at": timestamp}}
    finish_op = {
        "summary": "Finish a task: promote the caller's org drafts of that task",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Finish"}}}},
        "responses": {"200": {"description": "Promoted memory ids (empty when nothing to promote)", "content": {"application/json": {"schema": {
            "type": "object", "required": ["task_id", "promoted", "state", "states"], "properties": {
                "task_id": {"type": ["string", "null"]}, "promoted": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                "state": {"type": ["string", "null"], "description": "The state they all reached (published or pending_review); null when none, or when flagged memories went to review and others were published"},
                "states": {"type": "object", "additionalProperties": {"type": "string", "enum": ["published", "pending_review"]}, "description": "Each promoted memory's state, by id"}}}}}},
            **auth_errors},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Engram REST API", "version": "0.1.0",
                 "description": "Memories for AI coding assistants. Authenticate with `Authorization: Bearer <token>` (engram token issue)."},
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "security": [{"bearer": []}],
        "paths": {
            "/v1/memories": {
                "post": {"summary": "Save a memory (the add_memory tool's arguments). With supersedes, the older memory is archived with a "
                                    "superseded_by link in the same write (you must be its author, or a reviewer of an org memory; same "
                                    "scope). The answer lists possible_conflicts; a flagged text carries a warning",
                         "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewMemory"}}}},
                         "responses": {"201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AddResult"}}}},
                                       "200": {"description": "Duplicate or updated", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AddResult"}}}},
                                       "403": dict(error, description="supersedes names a memory you may not retire"),
                                       "404": dict(error, description="supersedes names no memory you can see"),
                                       "409": dict(error, description="The memory to supersede is no longer live"),
                                       "422": rejected, **auth_errors}},
                "get": {"summary": "List visible memories, newest first",
                        "parameters": [param("limit", listing["limit"], "Page size"), param("cursor", listing["cursor"], "next_cursor of the previous page"),
                                       param("scope", listing["scope"], "personal or org"), param("tag", {"type": "array", "items": listing["tags"]["items"]}, "Any of these tags", explode=True),
                                       param("repo", listing["repo"], "Repository"), param("kind", listing["kind"], "Kind"), param("state", listing["state"], "State"),
                                       param("task_id", listing["task_id"], "Task"),
                                       param("include_stale", listing["include_stale"], "Also return stale memories (left out by default)")],
                        "responses": {"200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}, **auth_errors}},
            },
            "/v1/memories/search": {
                "get": {"summary": "Hybrid search (vector + BM25)",
                        "parameters": [param("q", search["query"], "Query text", required=True), param("limit", search["limit"], "Maximum results"),
                                       param("scope", search["scope"], "personal or org"), param("tag", {"type": "array", "items": search["tags"]["items"]}, "Any of these tags", explode=True),
                                       param("repo", search["repo"], "Repository"), param("kind", search["kind"], "Kind"), param("min_score", search["min_score"], "Minimum cosine similarity"),
                                       param("created_after", search["created_after"], "Created at or after: RFC 3339, a date or a span back from now (7d)"),
                                       param("created_before", search["created_before"], "Created before: RFC 3339, a date or a span back from now"),
                                       param("updated_after", search["updated_after"], "Last changed at or after: RFC 3339, a date or a span back from now"),
                                       param("include_stale", search["include_stale"], "Also return stale memories (left out by default)")],
                        "responses": {"200": {"description": "Results, best first", "content": {"application/json": {"schema": {
                            "type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}}}}}}}, **auth_errors}},
            },
            "/v1/memories/{id}": {
                "parameters": [id_param],
                "get": {"summary": "Get a memory, with its usage and freshness", "responses": {"200": memory_response, "404": error, **auth_errors}},
                "patch": {"summary": "Update one of your memories (re-screened: the answer lists possible_conflicts; a flagged text carries a warning)",
                          "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MemoryPatch"}}}},
                          "responses": {"200": json_response("The memory after the update", ref("UpdateResult")), "403": error, "404": error,
                                        "422": rejected, **auth_errors}},
                "delete": {"summary": "Delete one of your memories", "responses": {"204": {"description": "Deleted"}, "403": error, "404": error, **auth_errors}},
            },
            "/v1/memories/{id}/versions": {"parameters": [id_param], **versions},
            "/v1/memories/{id}/revert": {"parameters": [id_param], **revert},
            "/v1/memories/{id}/rate": {"parameters": [id_param], "post": {
                "summary": "Rate a memory: helpful confirms it; outdated or wrong makes your personal memory stale, and sends an org "
                           "memory back to review after two members' reports (or one admin's)",
                "requestBody": json_body(ref("RateMemory")),
                "responses": {"200": json_response("The memory after the rating", {"type": "object", "required": ["memory", "outcome", "reporters"], "properties": {
                    "memory": ref("Memory"), "outcome": {"type": "string", "enum": ["confirmed", "marked_stale", "sent_to_review", "recorded"]},
                    "reporters": {"type": "integer", "description": "Distinct members with an open outdated or wrong report"}}}),
                              "404": error, "422": error, **auth_errors}}},
            "/v1/memories/{id}/reports": {"parameters": [id_param], "get": {
                "summary": "Open reports of a memory (its reviewers, or the author of a personal memory)",
                "responses": {"200": json_response("Open reports", {"type": "object", "required": ["reports"], "properties": {
                    "reports": {"type": "array", "items": ref("Report")}}}), "403": error, "404": error, **auth_errors}}},
            "/v1/finish": {"post": finish_op},
            "/finish": {"post": dict(finish_op, summary="Alias of /v1/finish")},
            "/v1/me": {"get": {"summary": "The caller", "responses": {"200": {"description": "User, org and role", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"user_id": {"type": "string"}, "org_id": {"type": ["string", "null"]}, "role": {"type": "string"}}}}}}, **auth_errors}}},
            "/v1/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            **admin_paths(error, auth_errors, memory_response, listing, rejected),
            **webhook_paths(error),
            "/healthz": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "Alive"}}}},
            "/readyz": {"get": {"summary": "Readiness: store, embedder and BLAS kind", "security": [], "responses": {"200": {"description": "Ready"}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "responses": {"Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                          "Rejected": {"description": "The text was rejected and nothing was stored: `secret_detected` (it holds a secret; "
                                                      "the message names the rule, never the secret) or `poisoning_detected` (it reads as an "
                                                      "instruction planted for assistants; the message names the screen's rules and character "
                                                      "spans, never the matched text)",
                                       "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}, "examples": {
                                           "poisoning_detected": {"value": {"error": {"code": "poisoning_detected", "message":
                                               "rejected: content reads as an instruction planted for assistants (remote-script-exec at "
                                               "characters 62–115). Memories record facts and conventions; they must not direct assistants to "
                                               "run downloaded code, send data out, hide text or override instructions."}}},
                                           "secret_detected": {"value": {"error": {"code": "secret_detected", "message":
                                               "rejected: content contains a secret (github-pat at characters 28–68). Remove the credential "
                                               "and save the memory without it."}}}}}}}},
            "schemas": {
                "NewMemory": tool("add_memory"),
                "MemoryPatch": without_id(tool("update_memory")),
                "Finish": tool("finish_task"),
                "RevertMemory": without_id(tool("revert_memory")),
                "RateMemory": without_id(tool("rate_memory")),
                "Memory": {"type": "object", "properties": {**memory_props, **reader_props, **served_props}, "required": sorted(memory_props)},
                "Trust": {"type": "string", "enum": ["reviewed", "own", "unreviewed", "flagged"],
                          "description": "How far the reader can trust the memory: reviewed (a reviewer approved the current text), own (the "
                                         "reader wrote it), unreviewed (a teammate wrote it, nobody reviewed it), flagged (the poisoning screen "
                                         "flagged the text and no reviewer approved it since)"},
                "PossibleConflict": {"type": "object", "description": "A memory visible to the writer that says something close (cosine "
                                     "0.80 to 0.95) about the same repository, tag or anchor path (at most 5)", "properties": {
                    "id": {"type": "string", "format": "uuid"}, "content": {"type": "string"}, "similarity": {"type": "number"},
                    "state": memory_props["state"], "user_id": {"type": "string"}, "trust": ref("Trust")},
                    "required": ["id", "content", "similarity", "state", "user_id", "trust"]},
                "UpdateResult": {"type": "object", "properties": {
                    "memory": ref("Memory"), "possible_conflicts": {"type": "array", "items": ref("PossibleConflict")},
                    "warning": {"type": "string", "description": "Set when the poisoning screen flagged the new text"}},
                    "required": ["memory", "possible_conflicts"]},
                "ContainmentSelector": containment_selector,
                "RollbackSelector": {"allOf": [ref("ContainmentSelector"), {"required": ["since"]}],
                                     "description": "A selector with since: the start of the window to undo"},
                "ContainmentReport": {"type": "object", "description": "What the action did (or, in a dry run, would do)", "properties": {
                    "action": {"type": "string", "enum": ["quarantine", "release", "rollback"]}, "dry_run": {"type": "boolean"},
                    "matched": {"type": "integer", "description": "Memories the selector matched"},
                    "quarantined": {"type": "integer"}, "released": {"type": "integer"},
                    "restored": {"type": "integer", "description": "Memories returned to their last version before the window (rollback)"},
                    "unchanged": {"type": "integer", "description": "Matched memories left as they were (already in the wanted state, or a "
                                                                    "release of text that still fails the secret filter or the poisoning screen)"},
                    "memory_ids": {"type": "array", "items": {"type": "string", "format": "uuid"}, "description": "The memories changed (or that would be)"}},
                    "required": ["action", "dry_run", "matched", "quarantined", "released", "restored", "unchanged", "memory_ids"]},
                "Provenance": {"type": "object", "description": "Where the memory came from (set by the server, never by clients)", "properties": {
                    "author": {"type": "string"}, "channel": ref("WriteChannel"), "client": nullable, "request_id": nullable,
                    "task_id": nullable, "repo": nullable, "branch": nullable, "commit": nullable,
                    "created_at": timestamp, "updated_at": timestamp, "version": {"type": "integer"}},
                    "required": ["author", "channel", "client", "request_id", "task_id", "repo", "branch", "commit", "created_at", "updated_at", "version"]},
                "WriteChannel": {"type": "string", "enum": ["mcp", "rest", "admin", "cli", "webhook", "import", "qdrant-api", "system"]},
                "Anchor": tool("add_memory")["properties"]["anchors"]["items"],
                "AnchorChange": {"type": "object", "properties": {"commit": {"type": "string"},
                                                                  "paths": {"type": "array", "items": {"type": "string"}}, "at": timestamp},
                                 "required": ["commit", "paths", "at"]},
                "Usage": {"type": "object", "properties": {"served_count": {"type": "integer"}, "last_served_at": nullable_time,
                                                           "last_confirmed_at": nullable_time, "open_reports": {"type": "integer"}},
                          "required": ["served_count", "last_served_at", "last_confirmed_at", "open_reports"]},
                "MemoryVersion": {"type": "object", "properties": {
                    "version": {"type": "integer"}, "at": timestamp, "actor": {"type": "string", "description": "A user id, or system"},
                    "channel": {"type": "string"}, "client": nullable, "request_id": nullable,
                    "reason": {"type": "string", "description": "created, edit, revert to v3, approve, stale: …, deleted, …"},
                    "state": {"type": "string", "description": "The memory's state after the change, or deleted"},
                    "recorded": {"type": "boolean", "description": "False for a version derived from the stored memory, not recorded by the ledger"},
                    "withheld_rules": {"type": ["array", "null"], "items": {"type": "string"},
                                       "description": "Set when a rescan quarantined this version: its text, tags, repo, task and anchors are left out"},
                    "memory": ref("Memory")},
                    "required": ["version", "at", "actor", "channel", "client", "request_id", "reason", "state", "recorded", "memory"]},
                "History": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"},
                                                             "versions": {"type": "array", "items": ref("MemoryVersion")}}, "required": ["id", "versions"]},
                "Report": {"type": "object", "properties": {
                    "at": timestamp, "memory_id": {"type": "string", "format": "uuid"}, "user_id": {"type": "string"},
                    "verdict": tool("rate_memory")["properties"]["verdict"], "note": nullable, "resolved": {"type": "boolean"}},
                    "required": ["at", "memory_id", "user_id", "verdict", "note", "resolved"]},
                "UsageReport": {"type": "object", "required": ["most_served", "never_served", "recent_reports", "members"], "properties": {
                    "most_served": {"type": "array", "items": usage_entry, "description": "Published or stale memories, most served first"},
                    "never_served": {"type": "array", "items": usage_entry, "description": "Published memories never served, oldest first"},
                    "recent_reports": {"type": "array", "items": ref("Report"), "description": "Verdicts of the window, newest first"},
                    "members": {"type": "array", "items": {"type": "object", "properties": {
                        "user_id": {"type": "string"}, "authored": {"type": "integer"}, "served": {"type": "integer"}, "reports": {"type": "integer"}}}}}},
                "WebhookResult": {"type": "object", "required": ["status"], "properties": {
                    "status": {"type": "string", "enum": ["applied", "duplicate", "pong", "ignored"]},
                    "reason": {"type": "string", "description": "Why it was ignored"},
                    "event": {"type": "string", "enum": ["push", "merged"]}, "commit": {"type": "string"},
                    "anchor_changed": {"type": "array", "items": {"type": "string", "format": "uuid"}, "description": "push: memories flagged"},
                    "promoted": {"type": "array", "items": {"type": "string", "format": "uuid"}, "description": "merged: drafts promoted"},
                    "state": {"type": ["string", "null"], "description": "merged: the promoted memories' state"}}},
                "AddResult": {"type": "object", "properties": {
                    "memory": {"$ref": "#/components/schemas/Memory"}, "status": {"type": "string", "enum": ["created", "duplicate", "updated"]},
                    "possible_conflicts": {"type": "array", "items": ref("PossibleConflict")},
                    "superseded": {"type": ["string", "null"], "format": "uuid", "description": "The memory this one superseded (now archived)"},
                    "next_step": {"type": "string", "description": "Set for an org draft: how to publish it (finish_task / POST /v1/finish)"},
                    "warning": {"type": "string", "description": "Set when the poisoning screen flagged the text"}},
                    "required": ["memory", "status", "possible_conflicts", "superseded"]},
                "Page": {"type": "object", "properties": {"memories": {"type": "array", "items": {"$ref": "#/components/schemas/Memory"}}, "next_cursor": {"type": ["string", "null"]}},
                         "required": ["memories", "next_cursor"]},
                "Hit": {"type": "object", "properties": {"memory": {"$ref": "#/components/schemas/Memory"}, "score": {"type": "number"}, "similarity": {"type": ["number", "null"]},
                                                         "freshness": served_props["freshness"]}, "required": ["memory", "score", "similarity", "freshness"]},
                "Role": {"type": "string", "enum": ["owner", "admin", "member", "viewer"]},
                "Member": {"type": "object", "properties": {"user_id": {"type": "string"}, "role": {"$ref": "#/components/schemas/Role"},
                                                            "created_at": {"type": "string", "format": "date-time"}}},
                "Invitation": {"type": "object", "properties": {
                    "id": {"type": "string", "format": "uuid"}, "org_id": {"type": "string"}, "user_id": {"type": "string"},
                    "role": {"$ref": "#/components/schemas/Role"}, "invited_by": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"},
                    "status": {"type": "string", "enum": ["pending"]}}},
                "Organisation": {"type": "object", "properties": {
                    "id": {"type": "string"}, "name": {"type": "string"}, "require_review": {"type": "boolean"}, **ORG_POLICY,
                    "approver_must_differ": APPROVER_MUST_DIFFER,
                    "require_totp": {"type": "boolean", "description": "Members must enrol in TOTP before a browser session works"},
                    "webhook_secret_set": {"type": "boolean", "description": "Whether a webhook secret is set (the secret is never returned)"}}},
                "AuditEntry": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"},
                    "action": {"type": "string"}, "org_id": {"type": ["string", "null"]}, "memory_id": {"type": ["string", "null"], "format": "uuid"},
                    "before_hash": {"type": ["string", "null"]}, "after_hash": {"type": ["string", "null"]}, "detail": {"type": ["string", "null"]}}},
                "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string", "description": "invalid_request, unauthorized, forbidden, not_found, conflict, secret_detected, "
                                                              "poisoning_detected, unavailable, …"},
                    "message": {"type": "string"}}, "required": ["code", "message"]}}},
            },
        },
    }


def render():
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    import sys
    out = os.path.join(HERE, "openapi.json")
    if "--check" in sys.argv:
        with open(out) as f:
            sys.exit(0 if f.read() == render() else 1)
    with open(out, "w") as f:
        f.write(render())
