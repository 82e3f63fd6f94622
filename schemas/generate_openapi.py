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
                                       param("repo", search["repo"], "Repository"), param("kind", search["kind"], "Kind"), param("min_score", search["min_score"], "Minimum cosine similarity")],
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
