#!/usr/bin/env python3
"""Builds schemas/openapi.json from the MCP tool schemas (the single source of truth).

Run after changing schemas/mcp/*.json:  python3 schemas/generate_openapi.py
A test (Tests/EngramServerTests) fails when openapi.json is out of date.
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


def admin_paths(error, auth_errors, memory_response, listing):
    """`/v1/admin/...`: the review queue and actions, members, org policy and audit log (AdminRoutes.swift).
    Admins and owners of the caller's org only: other roles get 403, another org's memories 404."""
    admin_errors = {"403": error, **auth_errors}
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
            "get": {"summary": "Get an org memory in any state", "responses": {"200": memory_response, "404": error, **admin_errors}},
            "patch": {"summary": "Edit an org memory (re-scanned and re-embedded; audited)",
                      "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MemoryPatch"}}}},
                      "responses": {"200": memory_response, "404": error, "422": error, **admin_errors}},
            "delete": {"summary": "Delete an org memory (audited)", "responses": {"204": {"description": "Deleted"}, "404": error, **admin_errors}},
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
            "patch": {"summary": "Set the org policy (owners)", "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["require_review"], "properties": {"require_review": {"type": "boolean"}}}}}},
                      "responses": {**org_response, "404": error, **admin_errors}},
        },
    }
    seen_hash = {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
        "content_hash": {"type": "string", "description": "The content hash of the text the reviewer read (or send If-Match)"}}}}}}
    for action, summary in [("approve", "Publish a draft or pending memory: needs the content hash the reviewer read "
                                        "(body content_hash or If-Match); 409 when the text changed since"),
                            ("reject", "Reject a memory"), ("archive", "Archive a memory")]:
        paths[f"/v1/admin/memories/{{id}}/{action}"] = {"parameters": [id_param], "post": {
            "summary": summary + " (audited)", "requestBody": seen_hash,
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
    auth_errors = {"400": error, "401": error, "413": error}
    memory_props = {
        "id": {"type": "string", "format": "uuid"}, "user_id": {"type": "string"}, "org_id": {"type": ["string", "null"]},
        "scope": {"type": "string", "enum": ["personal", "org"]},
        "state": {"type": "string", "enum": ["draft", "pending_review", "published", "archived", "rejected"]},
        "content": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
        "repo": {"type": ["string", "null"]}, "task_id": {"type": ["string", "null"]},
        "kind": {"type": "string", "enum": ["pattern", "preference", "decision", "fact", "gotcha"]},
        "content_hash": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"}, "embedding_model": {"type": "string"},
    }
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    memory_response = {"description": "The memory", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"memory": {"$ref": "#/components/schemas/Memory"}}, "required": ["memory"]}}}}
    finish_op = {
        "summary": "Finish a task: promote the caller's org drafts of that task",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Finish"}}}},
        "responses": {"200": {"description": "Promoted memory ids (empty when nothing to promote)", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"task_id": {"type": "string"}, "promoted": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                                             "state": {"type": ["string", "null"]}}}}}}, **auth_errors},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Engram REST API", "version": "0.1.0",
                 "description": "Memories for AI coding assistants. Authenticate with `Authorization: Bearer <token>` (engram token issue)."},
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "security": [{"bearer": []}],
        "paths": {
            "/v1/memories": {
                "post": {"summary": "Save a memory", "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewMemory"}}}},
                         "responses": {"201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AddResult"}}}},
                                       "200": {"description": "Duplicate or updated", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AddResult"}}}},
                                       "422": error, **auth_errors}},
                "get": {"summary": "List visible memories, newest first",
                        "parameters": [param("limit", listing["limit"], "Page size"), param("cursor", listing["cursor"], "next_cursor of the previous page"),
                                       param("scope", listing["scope"], "personal or org"), param("tag", {"type": "array", "items": listing["tags"]["items"]}, "Any of these tags", explode=True),
                                       param("repo", listing["repo"], "Repository"), param("kind", listing["kind"], "Kind"), param("state", listing["state"], "State"),
                                       param("task_id", listing["task_id"], "Task")],
                        "responses": {"200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}, **auth_errors}},
            },
            "/v1/memories/search": {
                "get": {"summary": "Hybrid search (vector + BM25)",
                        "parameters": [param("q", search["query"], "Query text", required=True), param("limit", search["limit"], "Maximum results"),
                                       param("scope", search["scope"], "personal or org"), param("tag", {"type": "array", "items": search["tags"]["items"]}, "Any of these tags", explode=True),
                                       param("repo", search["repo"], "Repository"), param("kind", search["kind"], "Kind"), param("min_score", search["min_score"], "Minimum cosine similarity"),
                                       param("created_after", search["created_after"], "Created at or after: RFC 3339, a date or a span back from now (7d)"),
                                       param("created_before", search["created_before"], "Created before: RFC 3339, a date or a span back from now"),
                                       param("updated_after", search["updated_after"], "Last changed at or after: RFC 3339, a date or a span back from now")],
                        "responses": {"200": {"description": "Results, best first", "content": {"application/json": {"schema": {
                            "type": "object", "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}}}}}}}, **auth_errors}},
            },
            "/v1/memories/{id}": {
                "parameters": [id_param],
                "get": {"summary": "Get a memory", "responses": {"200": memory_response, "404": error, **auth_errors}},
                "patch": {"summary": "Update one of your memories", "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MemoryPatch"}}}},
                          "responses": {"200": memory_response, "403": error, "404": error, "422": error, **auth_errors}},
                "delete": {"summary": "Delete one of your memories", "responses": {"204": {"description": "Deleted"}, "403": error, "404": error, **auth_errors}},
            },
            "/v1/finish": {"post": finish_op},
            "/finish": {"post": dict(finish_op, summary="Alias of /v1/finish")},
            "/v1/me": {"get": {"summary": "The caller", "responses": {"200": {"description": "User, org and role", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"user_id": {"type": "string"}, "org_id": {"type": ["string", "null"]}, "role": {"type": "string"}}}}}}, **auth_errors}}},
            "/v1/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            **admin_paths(error, auth_errors, memory_response, listing),
            "/healthz": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "Alive"}}}},
            "/readyz": {"get": {"summary": "Readiness: store, embedder and BLAS kind", "security": [], "responses": {"200": {"description": "Ready"}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "responses": {"Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "schemas": {
                "NewMemory": tool("add_memory"),
                "MemoryPatch": without_id(tool("update_memory")),
                "Finish": tool("finish_task"),
                "Memory": {"type": "object", "properties": memory_props, "required": sorted(memory_props)},
                "AddResult": {"type": "object", "properties": {"memory": {"$ref": "#/components/schemas/Memory"}, "status": {"type": "string", "enum": ["created", "duplicate", "updated"]}}},
                "Page": {"type": "object", "properties": {"memories": {"type": "array", "items": {"$ref": "#/components/schemas/Memory"}}, "next_cursor": {"type": ["string", "null"]}}},
                "Hit": {"type": "object", "properties": {"memory": {"$ref": "#/components/schemas/Memory"}, "score": {"type": "number"}, "similarity": {"type": ["number", "null"]}}},
                "Role": {"type": "string", "enum": ["owner", "admin", "member", "viewer"]},
                "Member": {"type": "object", "properties": {"user_id": {"type": "string"}, "role": {"$ref": "#/components/schemas/Role"},
                                                            "created_at": {"type": "string", "format": "date-time"}}},
                "Invitation": {"type": "object", "properties": {
                    "id": {"type": "string", "format": "uuid"}, "org_id": {"type": "string"}, "user_id": {"type": "string"},
                    "role": {"$ref": "#/components/schemas/Role"}, "invited_by": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"},
                    "status": {"type": "string", "enum": ["pending"]}}},
                "Organisation": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "require_review": {"type": "boolean"}}},
                "AuditEntry": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"},
                    "action": {"type": "string"}, "org_id": {"type": ["string", "null"]}, "memory_id": {"type": ["string", "null"], "format": "uuid"},
                    "before_hash": {"type": ["string", "null"]}, "after_hash": {"type": ["string", "null"]}, "detail": {"type": ["string", "null"]}}},
                "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}, "required": ["code", "message"]}}},
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
