"""Claude's path: the official Python MCP SDK against the real server."""
import asyncio

import jsonschema
import pytest

from helpers import fake_github_token, http, is_error, mcp_session, structured, text


def run(coro):
    return asyncio.run(coro)


def test_initialize_and_list_tools(server, tokens):
    async def go():
        async with mcp_session(server, "alice", tokens["alice"]) as s:
            init = s.initialize_result
            info = init.server_info if hasattr(init, "server_info") else init.serverInfo
            assert info.name == "engram"
            assert "search_memories" in (init.instructions or "")
            assert "secret" in init.instructions.lower()
            tools = (await s.list_tools()).tools
            names = sorted(t.name for t in tools)
            assert names == sorted(["add_memory", "search_memories", "list_memories", "get_memory",
                                    "update_memory", "delete_memory", "finish_task",
                                    "memory_history", "revert_memory", "rate_memory"])
            for t in tools:
                schema = t.input_schema if hasattr(t, "input_schema") else t.inputSchema
                jsonschema.Draft202012Validator.check_schema(schema)
                assert schema["type"] == "object"
                assert len(t.description) > 40, f"{t.name} needs a description a model can use"
    run(go())


def test_add_search_update_delete(server, tokens):
    async def go():
        async with mcp_session(server, "alice", tokens["alice"]) as s:
            r = await s.call_tool("add_memory", {"content": "This repo runs its tests with swift test --parallel",
                                                 "tags": ["testing"], "repo": "github.com/acme/api"})
            assert not is_error(r), text(r)
            mid = structured(r)["memory"]["id"]
            assert structured(r)["status"] == "created"
            await s.call_tool("add_memory", {"content": "Deploys go out on Tuesdays after the standup"})
            r = await s.call_tool("search_memories", {"query": "how do I run the test suite", "limit": 3})
            assert not is_error(r)
            results = structured(r)["results"]
            assert results[0]["memory"]["id"] == mid
            assert "swift test --parallel" in text(r)
            r = await s.call_tool("update_memory", {"id": mid, "content": "This repo runs its tests with make test"})
            assert not is_error(r), text(r)
            r = await s.call_tool("get_memory", {"id": mid})
            assert structured(r)["memory"]["content"] == "This repo runs its tests with make test"
            r = await s.call_tool("delete_memory", {"id": mid})
            assert not is_error(r)
            r = await s.call_tool("get_memory", {"id": mid})
            assert is_error(r) and "not found" in text(r)
            r = await s.call_tool("search_memories", {"query": "run tests make test", "limit": 10})
            assert all(x["memory"]["id"] != mid for x in structured(r)["results"])
    run(go())


def test_secret_is_rejected_and_not_stored(server, tokens):
    token = fake_github_token()
    async def go():
        async with mcp_session(server, "alice", tokens["alice"]) as s:
            before = structured(await s.call_tool("list_memories", {"limit": 100}))["memories"]
            r = await s.call_tool("add_memory", {"content": f"The release job pushes with {token} as the credential"})
            assert is_error(r)
            msg = text(r)
            assert token not in msg, "the rejection must never echo the secret"
            assert "github" in msg.lower()
            after = structured(await s.call_tool("list_memories", {"limit": 100}))["memories"]
            assert len(after) == len(before)
            r = await s.call_tool("search_memories", {"query": "release job credential", "limit": 20})
            assert all(token not in x["memory"]["content"] for x in structured(r)["results"])
    run(go())
    log = server.log_path.read_text(errors="replace")
    assert token not in log


def test_isolation_between_users(server, tokens):
    async def go():
        async with mcp_session(server, "alice", tokens["alice"]) as s:
            r = await s.call_tool("add_memory", {"content": "Alice's private note: the staging database is reset nightly"})
            return structured(r)["memory"]["id"]
    mid = run(go())

    async def as_bob():
        async with mcp_session(server, "bob", tokens["bob"]) as s:
            for tool, args in [("get_memory", {"id": mid}), ("update_memory", {"id": mid, "content": "hijacked"}),
                               ("delete_memory", {"id": mid})]:
                r = await s.call_tool(tool, args)
                assert is_error(r) and "not found" in text(r), tool
            r = await s.call_tool("search_memories", {"query": "staging database reset nightly", "limit": 50})
            assert all(x["memory"]["id"] != mid for x in structured(r)["results"])
            r = await s.call_tool("list_memories", {"limit": 100})
            assert all(m["id"] != mid for m in structured(r)["memories"])
    run(as_bob())
    for method, body in [("GET", None), ("PATCH", {"content": "hijacked"}), ("DELETE", None)]:
        status, _, payload = http(method, f"{server.url}/v1/memories/{mid}", body, token=tokens["bob"])
        assert status == 404, (method, status, payload)
    status, _, payload = http("GET", f"{server.url}/v1/memories/search?q=staging+database", token=tokens["mallory"])
    assert status == 200 and all(x["memory"]["id"] != mid for x in payload["results"])
    # alice's memory is intact
    status, _, payload = http("GET", f"{server.url}/v1/memories/{mid}", token=tokens["alice"])
    assert status == 200 and "staging database" in payload["memory"]["content"]
    # a token for alice cannot open bob's endpoint
    status, _, _ = http("POST", f"{server.url}/mcp/bob", {"jsonrpc": "2.0", "id": 1, "method": "ping"}, token=tokens["alice"])
    assert status == 403


def test_org_draft_finish_lifecycle(server, tokens):
    async def go():
        async with mcp_session(server, "alice", tokens["alice"]) as s:
            r = await s.call_tool("add_memory", {"content": "Every service exposes /metrics for Prometheus scraping",
                                                 "scope": "org", "task_id": "OPS-7", "kind": "pattern"})
            m = structured(r)["memory"]
            assert m["state"] == "draft"
            return m["id"]
    mid = run(go())
    status, _, _ = http("GET", f"{server.url}/v1/memories/{mid}", token=tokens["bob"])
    assert status == 404, "a draft is visible only to its author"

    async def finish():
        async with mcp_session(server, "alice", tokens["alice"]) as s:
            r = await s.call_tool("finish_task", {"task_id": "OPS-7"})
            assert structured(r)["promoted"] == [mid]
            r = await s.call_tool("finish_task", {"task_id": "OPS-7"})
            assert structured(r)["promoted"] == []
    run(finish())
    status, _, payload = http("GET", f"{server.url}/v1/memories/{mid}", token=tokens["bob"])
    assert status == 200 and payload["memory"]["state"] == "published"
    status, _, payload = http("GET", f"{server.url}/v1/memories/{mid}", token=tokens["mallory"])
    assert status == 404, "another org never sees it"


def test_viewer_reads_but_never_writes(server, tokens):
    async def go():
        async with mcp_session(server, "vic", tokens["vic"]) as s:
            r = await s.call_tool("add_memory", {"content": "viewers cannot write"})
            assert is_error(r) and "forbidden" in text(r)
            r = await s.call_tool("search_memories", {"query": "metrics prometheus"})
            assert not is_error(r)
    run(go())
