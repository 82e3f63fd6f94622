"""Every MCP tool declares an outputSchema, and its structuredContent conforms (MCP 2025-06-18: a client such as the
official Python SDK validates results against it). Through the official SDK against the real server: every tool is
called with realistic arguments and each result is validated explicitly with a Draft 2020-12 validator, against the
served schema and against a closed copy of it (no key the schema does not declare), so the schemas stay exact."""
import asyncio
import copy
import json
import pathlib
import uuid

import jsonschema
import mcp.types as types
import pytest

from helpers import is_error, mcp_session, structured, text

REPO = pathlib.Path(__file__).resolve().parents[2]
TOOLS = ["add_memory", "search_memories", "list_memories", "get_memory", "update_memory", "delete_memory", "finish_task",
         "memory_history", "revert_memory", "rate_memory"]
PROJECT = "github.com/acme/output-schemas"
SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


def run(coro):
    return asyncio.run(coro)


def output_schema(tool):
    return tool.output_schema if hasattr(tool, "output_schema") else tool.outputSchema


def closed(schema):
    """The schema with `additionalProperties: false` on every object that lists its properties: a result validates
    against it only when the schema declares every key the server sent."""
    s = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(s)
    return s


def errors(schema, document):
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in jsonschema.Draft202012Validator(schema).iter_errors(document)]


class Checker:
    """Validates each tool result against the outputSchema its session listed and counts the tools it saw."""

    def __init__(self, schemas):
        self.schemas = schemas
        self.seen = {}

    def __call__(self, name, result):
        assert not is_error(result), f"{name}: {text(result)}"
        doc = structured(result)
        assert isinstance(doc, dict), f"{name} returned no structuredContent"
        schema = self.schemas[name]
        assert not errors(schema, doc), (name, errors(schema, doc), json.dumps(doc)[:2000])
        undeclared = errors(closed(schema), doc)
        assert not undeclared, f"{name} sent keys its outputSchema does not declare: {undeclared}"
        self.seen[name] = self.seen.get(name, 0) + 1
        return doc


def fresh_team(server):
    tag = uuid.uuid4().hex[:8]
    org = f"os-{tag}"
    users = {"ana": (f"ana-{tag}", "member"), "root": (f"root-{tag}", "owner")}
    return {name: (user, server.token(user, org=org, role=role)) for name, (user, role) in users.items()}


async def listed_schemas(session):
    tools = (await session.list_tools()).tools
    return {t.name: output_schema(t) for t in tools}


def test_output_schemas_are_valid_json_schema():
    for name in TOOLS:
        tool = json.loads((REPO / "schemas" / "mcp" / f"{name}.json").read_text())
        schema = tool["outputSchema"]
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and set(schema["required"]) <= set(schema["properties"]), name


def test_every_tool_declares_an_output_schema(server, tokens):
    async def go():
        async with mcp_session(server, "alice", tokens["alice"]) as s:
            return await listed_schemas(s)
    schemas = run(go())
    assert sorted(schemas) == sorted(TOOLS)
    for name, schema in schemas.items():
        assert schema is not None, f"{name} has no outputSchema"
        assert schema["type"] == "object", name
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema.get("properties") and schema.get("required"), name
        served_as_is = json.loads((REPO / "schemas" / "mcp" / f"{name}.json").read_text())["outputSchema"]
        assert schema == served_as_is, f"{name}: tools/list must serve schemas/mcp/{name}.json as it is"


def test_every_tool_result_conforms_to_its_output_schema(server):
    team = fresh_team(server)
    user, token = team["ana"]

    async def go():
        async with mcp_session(server, user, token) as s:
            check = Checker(await listed_schemas(s))
            call = lambda name, args: s.call_tool(name, args)

            # add_memory: personal, created
            first = check("add_memory", await call("add_memory", {
                "content": "The API client retries 3 times with exponential backoff", "kind": "pattern",
                "tags": ["http-client"], "repo": PROJECT,
                "anchors": [{"path": "Sources/API/Client.swift", "sha": SHA, "lines": "40-72", "symbol": "RetryPolicy"}],
                "branch": "main", "commit": SHA[:12]}))
            mid = first["memory"]["id"]
            assert first["status"] == "created" and first["superseded"] is None and "next_step" not in first
            m = first["memory"]
            assert m["scope"] == "personal" and m["state"] == "published" and m["trust"] in ("own", "flagged")
            assert m["anchors"][0]["path"] == "Sources/API/Client.swift" and m["provenance"]["channel"] == "mcp"
            assert "content_hash" not in m and "embedding_model" not in m, "MCP returns the lean memory form"

            # the same text again: duplicate
            dup = check("add_memory", await call("add_memory", {
                "content": "The API client retries 3 times with exponential backoff", "tags": ["http-client"], "repo": PROJECT}))
            assert dup["status"] == "duplicate" and dup["memory"]["id"] == mid

            # close but different (cosine about 0.87 with all-MiniLM-L6-v2), same repo and tag: a possible conflict
            close = check("add_memory", await call("add_memory", {
                "content": "The API client retries 4 times with exponential backoff and jitter", "tags": ["http-client"],
                "repo": PROJECT}))
            assert close["status"] == "created"
            assert [c["id"] for c in close["possible_conflicts"]] == [mid], close["possible_conflicts"]
            conflict = close["possible_conflicts"][0]
            assert 0.80 <= conflict["similarity"] < 0.95 and conflict["trust"] == "own" and conflict["state"] == "published"

            # a flagged-or-not personal memory: a warning comes exactly with screen flags
            scoped = check("add_memory", await call("add_memory", {
                "content": "tools/legacy_export.py uses `verify=False` for the old reporting host (INFRA-442); "
                           "leave it until that host is retired.", "repo": PROJECT, "kind": "gotcha"}))
            flags = scoped["memory"]["screen_flags"]
            assert ("warning" in scoped) == bool(flags) and (scoped["memory"]["trust"] == "flagged") == bool(flags), scoped

            # org: a draft with its next step, published by finish_task, then superseded by a newer org memory
            task1, task2 = f"OS-{uuid.uuid4().hex[:6]}", f"OS-{uuid.uuid4().hex[:6]}"
            old = check("add_memory", await call("add_memory", {
                "content": "Release builds are signed on the build01 runner", "scope": "org", "kind": "decision",
                "task_id": task1, "repo": PROJECT, "tags": ["release"]}))
            old_id = old["memory"]["id"]
            assert old["memory"]["state"] == "draft" and task1 in old["next_step"] and old["memory"]["org_id"]
            done = check("finish_task", await call("finish_task", {"task_id": task1}))
            assert done == {"task_id": task1, "promoted": [old_id], "state": done["state"], "states": {old_id: done["state"]}}
            assert done["state"] in ("published", "pending_review")
            new = check("add_memory", await call("add_memory", {
                "content": "Release builds are signed on the dedicated signing runner since the build01 runner was retired",
                "scope": "org", "kind": "decision", "task_id": task2, "repo": PROJECT, "tags": ["release"],
                "supersedes": old_id}))
            new_id = new["memory"]["id"]
            assert new["status"] == "created" and new["superseded"] == old_id and new["memory"]["state"] == "draft"
            assert all(c["id"] != old_id for c in new["possible_conflicts"])
            done = check("finish_task", await call("finish_task", {"task_id": task2}))
            assert done["promoted"] == [new_id]
            again = check("finish_task", await call("finish_task", {"task_id": task2}))
            assert again == {"task_id": task2, "promoted": [], "state": None, "states": {}}
            nothing = check("finish_task", await call("finish_task", {}))
            assert nothing["task_id"] is None and nothing["promoted"] == [] and nothing["state"] is None

            # personal supersession: the author still reads the archived memory, with its link
            newer = check("add_memory", await call("add_memory", {
                "content": "The API client takes its retry count and delay from config/http.yaml", "tags": ["http-client"],
                "repo": PROJECT, "supersedes": close["memory"]["id"]}))
            assert newer["superseded"] == close["memory"]["id"] and newer["memory"]["superseded_by"] is None
            retired = check("get_memory", await call("get_memory", {"id": close["memory"]["id"]}))["memory"]
            assert retired["state"] == "archived" and retired["superseded_by"] == newer["memory"]["id"]

            # search, list (two pages: a cursor, then the rest), get
            found = check("search_memories", await call("search_memories", {
                "query": "how many times does the API client retry", "repo": PROJECT, "limit": 5}))
            assert found["results"] and any(r["memory"]["id"] == mid for r in found["results"])
            assert all(r["memory"]["id"] != old_id for r in found["results"]), "search never returns a superseded memory"
            page = check("list_memories", await call("list_memories", {"limit": 1, "repo": PROJECT}))
            assert len(page["memories"]) == 1 and isinstance(page["next_cursor"], str)
            rest = check("list_memories", await call("list_memories", {"limit": 100, "cursor": page["next_cursor"], "repo": PROJECT}))
            assert rest["next_cursor"] is None
            got = check("get_memory", await call("get_memory", {"id": mid}))["memory"]
            assert got["id"] == mid and got["freshness_state"] in ("fresh", "aging", "stale", "code_changed")

            # update, history, revert, rate
            updated = check("update_memory", await call("update_memory", {
                "id": mid, "content": "The API client retries 3 times with exponential backoff capped at 8 seconds",
                "tags": ["http-client", "resilience"], "commit": SHA}))
            assert updated["memory"]["version"] == 2 and isinstance(updated["possible_conflicts"], list)
            history = check("memory_history", await call("memory_history", {"id": mid}))
            assert history["id"] == mid and [v["version"] for v in history["versions"]] == [1, 2]
            reverted = check("revert_memory", await call("revert_memory", {"id": mid, "version": 1}))
            assert reverted["memory"]["version"] == 3 and "3 times" in reverted["memory"]["content"]
            rated = check("rate_memory", await call("rate_memory", {"id": mid, "verdict": "helpful", "note": "matches RetryPolicy"}))
            assert rated["outcome"] == "confirmed" and rated["memory"]["id"] == mid
            history = check("memory_history", await call("memory_history", {"id": close["memory"]["id"]}))
            assert history["versions"][-1]["state"] == "archived" and history["versions"][-1]["memory"]["superseded_by"]

            # delete
            gone = check("delete_memory", await call("delete_memory", {"id": newer["memory"]["id"]}))
            assert gone == {"deleted": newer["memory"]["id"]}
            return check, old_id, new_id

    check, old_id, new_id = run(go())

    # an archived org memory is for the organisation's reviewers: the owner sees the superseded one and its history
    owner, owner_token = team["root"]

    async def as_owner():
        async with mcp_session(server, owner, owner_token) as s:
            mine = Checker(await listed_schemas(s))
            retired = mine("get_memory", await s.call_tool("get_memory", {"id": old_id}))["memory"]
            assert retired["state"] == "archived" and retired["superseded_by"] == new_id and retired["trust"] == "unreviewed"
            history = mine("memory_history", await s.call_tool("memory_history", {"id": old_id}))
            assert [v["state"] for v in history["versions"]][-1] == "archived"
            found = mine("search_memories", await s.call_tool("search_memories", {"query": "which runner signs release builds",
                                                                                 "scope": "org"}))
            assert all(r["memory"]["id"] != old_id for r in found["results"]), "search never returns a superseded memory"
            return mine.seen

    seen = dict(check.seen)
    for name, n in run(as_owner()).items():
        seen[name] = seen.get(name, 0) + n
    assert sorted(seen) == sorted(TOOLS), f"tools not exercised: {sorted(set(TOOLS) - set(seen))}"


def test_a_wrong_document_fails_its_output_schema(server, tokens):
    """The schemas can fail: a broken result is rejected by our validator and by the SDK's own check."""
    async def go():
        async with mcp_session(server, "alice", tokens["alice"]) as s:
            schemas = await listed_schemas(s)
            r = await s.call_tool("add_memory", {"content": "Feature flags are read from config/flags.yaml at start-up",
                                                 "repo": PROJECT, "tags": ["config"]})
            good = structured(r)
            assert not errors(schemas["add_memory"], good)

            def broken(change):
                doc = copy.deepcopy(good)
                change(doc)
                return doc

            bad = {
                "unknown status": broken(lambda d: d.update(status="saved")),
                "conflicts missing": broken(lambda d: d.pop("possible_conflicts")),
                "superseded not an id": broken(lambda d: d.update(superseded=42)),
                "memory without trust": broken(lambda d: d["memory"].pop("trust")),
                "unknown trust": broken(lambda d: d["memory"].update(trust="trusted")),
                "reviewed_by a number": broken(lambda d: d["memory"].update(reviewed_by=7)),
                "screen_flags not a list": broken(lambda d: d["memory"].update(screen_flags="none")),
                "provenance without channel": broken(lambda d: d["memory"]["provenance"].pop("channel")),
                "conflict without similarity": broken(lambda d: d.update(possible_conflicts=[{
                    "id": d["memory"]["id"], "content": "x", "state": "published", "user_id": "alice", "trust": "own"}])),
            }
            for why, doc in bad.items():
                assert errors(schemas["add_memory"], doc), f"{why}: the schema accepted a wrong document"
                with pytest.raises(RuntimeError):
                    await s.validate_tool_result("add_memory", types.CallToolResult(
                        content=[types.TextContent(type="text", text="x")], structured_content=doc, is_error=False))
            assert errors(schemas["search_memories"], {"results": {"memory": good["memory"]}})
            assert errors(schemas["finish_task"], {"task_id": None, "promoted": "none", "state": None})
            # a failed call is an error result without structuredContent: the SDK does not validate it
            r = await s.call_tool("get_memory", {"id": str(uuid.uuid4())})
            assert is_error(r) and structured(r) is None
            # the lean form sends no content hash: the closed check catches a key the schema does not declare
            leaky = broken(lambda d: d["memory"].update(content_hash="sha256:00"))
            assert not errors(schemas["add_memory"], leaky) and errors(closed(schemas["add_memory"]), leaky)
    run(go())
