"""MCP's two eras on one endpoint, and memories as resources and prompts.

Legacy clients (2025-03-26, 2025-06-18, 2025-11-25) open with `initialize`; 2026-07-28 clients may probe
`server/discover` and send every request self-contained: the protocol version and client capabilities in
`params._meta`, mirrored in the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers. Both eras
see the same tools, resources (`engram://memories/{id}`) and prompts (`recall`, `remember`).

The official SDK (mcp 2.3.0) picks the era with `Client(..., mode=...)`: "legacy" runs `initialize`,
"auto" probes `server/discover` and adopts 2026-07-28 when offered (else falls back to `initialize`, so
the tests assert the negotiated version), and "2026-07-28" pins that version without any probe.
"""
import asyncio
import contextlib
import json
import uuid

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.version import LATEST_HANDSHAKE_VERSION

import helpers
from helpers import http, is_error, rpc, structured, text

MODERN = "2026-07-28"
LEGACY = "2025-06-18"
VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo"
# The parameter each name-bearing method mirrors in Mcp-Name.
NAME_PARAM = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
HEADER_MISMATCH = -32020
UNSUPPORTED_VERSION = -32022
INVALID_PARAMS = -32602

TOOLS = sorted(["add_memory", "search_memories", "list_memories", "get_memory", "update_memory", "delete_memory",
                "finish_task", "memory_history", "revert_memory", "rate_memory"])
# "legacy": initialize; "auto": server/discover, adopting 2026-07-28; MODERN: pinned, no probe.
MODES = ["legacy", "auto", MODERN]
RESOURCE_PREFIX = "engram://memories/"
TEMPLATE = "engram://memories/{id}"

# One distinct memory per mode (distinct enough that no mode's add is answered as another's duplicate).
CONTENTS = {
    "legacy": "Eras check, legacy client: deploys of the billing service wait for the canary to stay green ten minutes",
    "auto": "Eras check, discovering client: the search service is deployed from the release branch on Thursdays",
    MODERN: "Eras check, pinned client: rollbacks of the gateway are started from the deploy dashboard",
}
REMEMBER_FACT = "The payments team reviews every schema migration before it reaches staging"


def run(coro):
    return asyncio.run(coro)


@contextlib.asynccontextmanager
async def sdk_client(server, user, token, mode):
    """A connected `mcp.Client` against /mcp/{user} with a bearer token, negotiated by `mode` (see MODES).
    The response cache is off so that every call reaches the server."""
    helpers.SENT.add(token)
    http_client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with http_client:
        transport = streamable_http_client(f"{server.url}/mcp/{user}", http_client=http_client)
        async with Client(transport, mode=mode, cache=None) as client:
            yield client


async def all_resource_uris(client):
    """Every resource uri of resources/list, following nextCursor to the end."""
    uris, cursor = [], None
    for _ in range(200):
        page = await client.list_resources(cursor=cursor)
        uris += [r.uri for r in page.resources]
        cursor = page.next_cursor
        if cursor is None:
            assert len(uris) == len(set(uris)), "a resource is listed on two pages"
            return uris
    raise AssertionError("resources/list never stopped answering a nextCursor")


def envelope(version=MODERN, **drop):
    """The `params._meta` of a 2026-07-28 request; `drop=True` keywords (capabilities, version) omit a key."""
    meta = {VERSION_KEY: version, CAPABILITIES_KEY: {}, CLIENT_INFO_KEY: {"name": "eras-test", "version": "1.0"}}
    if drop.get("capabilities"):
        del meta[CAPABILITIES_KEY]
    if drop.get("version"):
        del meta[VERSION_KEY]
    return meta


def modern_rpc(server, user, token, method, params=None, *, meta=None, headers=None, id=1):
    """A raw 2026-07-28 JSON-RPC request: `_meta` (default `envelope()`) in params and the matching
    MCP-Protocol-Version, Mcp-Method and Mcp-Name headers; `headers` overrides them (a None value drops one).
    Returns (status, headers, body) like `helpers.http`."""
    params = dict(params or {})
    params["_meta"] = envelope() if meta is None else meta
    h = {"MCP-Protocol-Version": params["_meta"].get(VERSION_KEY, MODERN), "Mcp-Method": method}
    if method in NAME_PARAM and isinstance(params.get(NAME_PARAM[method]), str):
        h["Mcp-Name"] = params[NAME_PARAM[method]]
    for key, value in (headers or {}).items():
        h.pop(key, None)
        if value is not None:
            h[key] = value
    return rpc(server, user, token, method, params, id=id, headers=h)


def error_code(body):
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), f"expected a JSON-RPC error, got {body!r}"
    assert "result" not in body, body
    return body["error"]["code"]


def memories_tagged(server, token, tag):
    status, _, body = http("GET", f"{server.url}/v1/memories?tag={tag}&limit=100", token=token)
    assert status == 200, (status, body)
    return body["memories"]


def parse_memory(resource_text):
    """The memory in a resources/read text (the memory object itself, or wrapped as {"memory": ...})."""
    doc = json.loads(resource_text)
    return doc["memory"] if isinstance(doc.get("memory"), dict) else doc


@pytest.mark.parametrize("mode", MODES)
def test_sdk_tools_resources_and_prompts_in_each_era(server, tokens, mode):
    """Through the official SDK in legacy, discovering and pinned 2026-07-28 mode, alice saves a memory
    with add_memory, then finds it as a resource (listed, and read as JSON with its content, provenance and
    trust), sees the engram://memories/{id} template, and lists and renders the recall and remember prompts."""
    content = CONTENTS[mode]
    helpers.remember(content)
    helpers.remember(REMEMBER_FACT)

    async def go():
        async with sdk_client(server, "alice", tokens["alice"], mode) as c:
            if mode == "legacy":
                assert c.protocol_version == LATEST_HANDSHAKE_VERSION
                assert c.session.initialize_result is not None and c.server_info.name == "engram"
            else:
                assert c.protocol_version == MODERN, f"{mode}: negotiated {c.protocol_version}, not {MODERN}"
                assert c.session.initialize_result is None, "a 2026-07-28 connection never runs initialize"
            if mode == "auto":
                found = c.session.discover_result
                assert found is not None, "mode='auto' must have adopted the server/discover answer"
                assert found.supported_versions == [MODERN]
                assert found.cache_scope == "private" and found.ttl_ms == 0
                assert "search_memories" in (found.instructions or "")
                caps = found.capabilities
                assert caps.tools is not None and caps.resources is not None and caps.prompts is not None

            r = await c.call_tool("add_memory", {"content": content, "tags": ["eras"]})
            assert not is_error(r), text(r)
            mid = structured(r)["memory"]["id"]
            assert structured(r)["memory"]["content"] == content
            uri = RESOURCE_PREFIX + mid

            tools = (await c.list_tools()).tools
            assert sorted(t.name for t in tools) == TOOLS

            uris = await all_resource_uris(c)
            assert uri in uris, f"{uri} is not among alice's {len(uris)} resources"
            assert all(u.startswith(RESOURCE_PREFIX) for u in uris), uris

            read = await c.read_resource(uri)
            assert len(read.contents) == 1
            item = read.contents[0]
            assert item.uri == uri and item.mime_type == "application/json"
            m = parse_memory(item.text)
            assert m["id"] == mid and m["content"] == content
            assert "provenance" in m and "trust" in m, sorted(m)

            templates = (await c.list_resource_templates()).resource_templates
            assert TEMPLATE in [t.uri_template for t in templates]

            prompts = {p.name: p for p in (await c.list_prompts()).prompts}
            assert {"recall", "remember"} <= set(prompts)
            recall_args = {a.name: a for a in prompts["recall"].arguments or []}
            assert recall_args["topic"].required is True
            remember_args = {a.name: a for a in prompts["remember"].arguments or []}
            assert remember_args["fact"].required is True
            assert "scope" in remember_args and not remember_args["scope"].required

            got = await c.get_prompt("recall", {"topic": "deploys"})
            assert got.messages and got.messages[0].role == "user"
            assert got.messages[0].content.type == "text" and "deploys" in got.messages[0].content.text

            got = await c.get_prompt("remember", {"fact": REMEMBER_FACT, "scope": "org"})
            assert got.messages and got.messages[0].role == "user"
            assert got.messages[0].content.type == "text" and REMEMBER_FACT in got.messages[0].content.text

            with pytest.raises(MCPError):
                await c.get_prompt("recall", {})
            with pytest.raises(MCPError):
                await c.get_prompt("no_such_prompt", {"topic": "deploys"})
    run(go())


def test_sdk_eras_see_the_same_surface(server, tokens):
    """Legacy, discovering and pinned SDK clients of the same user see the same tool names, the same
    resource uris (a memory saved in one era is a resource in the others, read with the same content) and the
    same prompt names and resource templates."""
    content = "Eras check, shared view: the nightly export job writes to the archive bucket before midnight"
    helpers.remember(content)

    async def add():
        async with sdk_client(server, "alice", tokens["alice"], "legacy") as c:
            r = await c.call_tool("add_memory", {"content": content, "tags": ["eras"]})
            assert not is_error(r), text(r)
            return structured(r)["memory"]["id"]
    mid = run(add())
    uri = RESOURCE_PREFIX + mid

    async def survey(mode):
        async with sdk_client(server, "alice", tokens["alice"], mode) as c:
            read = await c.read_resource(uri)
            return {
                "tools": sorted(t.name for t in (await c.list_tools()).tools),
                "uris": sorted(await all_resource_uris(c)),
                "prompts": sorted(p.name for p in (await c.list_prompts()).prompts),
                "templates": sorted(t.uri_template for t in (await c.list_resource_templates()).resource_templates),
                "read": (parse_memory(read.contents[0].text)["id"], parse_memory(read.contents[0].text)["content"]),
            }
    views = {mode: run(survey(mode)) for mode in MODES}
    legacy = views["legacy"]
    assert uri in legacy["uris"] and legacy["read"] == (mid, content)
    for mode in MODES[1:]:
        for key in legacy:
            assert views[mode][key] == legacy[key], f"{mode} differs from legacy in {key}"


def test_modern_envelope_ladder_over_raw_jsonrpc(server, tokens):
    """Raw 2026-07-28 requests: server/discover answers the versions, capabilities, instructions and
    server info with cache hints; Mcp-Name, Mcp-Method and MCP-Protocol-Version headers that disagree with
    the body are -32020 (and nothing runs); a _meta without clientCapabilities is -32602; an unsupported
    version is -32022 naming the supported ones; modern results say resultType complete; legacy requests
    (no _meta) still work; GET stays 405."""
    t = tokens["alice"]
    helpers.SENT.add(t)

    status, _, body = modern_rpc(server, "alice", t, "server/discover", id="d1")
    assert status == 200 and body["id"] == "d1", body
    found = body["result"]
    assert found["supportedVersions"] == [MODERN]
    assert {"tools", "resources", "prompts"} <= set(found["capabilities"])
    assert "search_memories" in found["instructions"]
    assert found["serverInfo"]["name"] == "engram"
    assert found["resultType"] == "complete" and found["ttlMs"] == 0 and found["cacheScope"] == "private"

    status, _, body = modern_rpc(server, "alice", t, "tools/list", id=2)
    assert status == 200 and body["id"] == 2, body
    assert sorted(x["name"] for x in body["result"]["tools"]) == TOOLS
    assert body["result"]["resultType"] == "complete"
    # The SDK (mcp 2.3.0) validates every 2026-07-28 list and read result against the schema, which
    # requires the cache hints too; without them the SDK tests above fail with a pydantic error.
    assert "ttlMs" in body["result"] and "cacheScope" in body["result"], sorted(body["result"])

    status, _, body = modern_rpc(server, "alice", t, "tools/call", {"name": "list_memories", "arguments": {"limit": 1}})
    assert status == 200 and body["result"]["resultType"] == "complete" and body["result"]["isError"] is False, body

    # A header that disagrees with the body is refused before anything runs: no memory with this tag appears.
    tag = "eras-mismatch"
    write = {"name": "add_memory", "arguments": {"content": "Eras check: the staging cache holds two gigabytes per node",
                                                 "tags": [tag]}}
    helpers.remember(write)
    for label, headers in [("Mcp-Name", {"Mcp-Name": "search_memories"}),
                           ("Mcp-Name missing", {"Mcp-Name": None}),
                           ("Mcp-Method", {"Mcp-Method": "tools/list"}),
                           ("MCP-Protocol-Version", {"MCP-Protocol-Version": LEGACY})]:
        status, _, body = modern_rpc(server, "alice", t, "tools/call", write, headers=headers, id=label)
        assert error_code(body) == HEADER_MISMATCH, (label, status, body)
        assert body["id"] == label, body
    assert memories_tagged(server, t, tag) == [], "a request refused for its headers must not run"

    status, _, body = modern_rpc(server, "alice", t, "prompts/get", {"name": "recall", "arguments": {"topic": "deploys"}},
                                 headers={"Mcp-Name": "remember"})
    assert error_code(body) == HEADER_MISMATCH, body
    status, _, body = modern_rpc(server, "alice", t, "resources/read",
                                 {"uri": RESOURCE_PREFIX + "00000000-0000-4000-8000-000000000000"},
                                 headers={"Mcp-Name": RESOURCE_PREFIX + "11111111-1111-4111-8111-111111111111"})
    assert error_code(body) == HEADER_MISMATCH, body

    status, _, body = modern_rpc(server, "alice", t, "tools/list", meta=envelope(capabilities=True))
    assert error_code(body) == INVALID_PARAMS, body

    status, _, body = modern_rpc(server, "alice", t, "tools/list", meta=envelope("2099-01-01"), id=9)
    assert error_code(body) == UNSUPPORTED_VERSION, (status, body)
    assert body["id"] == 9
    data = body["error"].get("data") or {}
    assert MODERN in data.get("supported", []) and data.get("requested") == "2099-01-01", body["error"]

    # The legacy era is untouched: no _meta, a legacy header, no session.
    status, _, body = rpc(server, "alice", t, "tools/list", headers={"MCP-Protocol-Version": LEGACY})
    assert status == 200 and sorted(x["name"] for x in body["result"]["tools"]) == TOOLS, body
    status, _, body = rpc(server, "alice", t, "initialize", {"protocolVersion": LEGACY, "capabilities": {},
                                                             "clientInfo": {"name": "eras-test", "version": "1"}})
    assert status == 200 and body["result"]["protocolVersion"] == LEGACY, body

    status, _, _ = http("GET", f"{server.url}/mcp/alice", token=t)
    assert status == 405
    status, _, _ = http("GET", f"{server.url}/mcp/alice", token=t,
                        headers={"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"})
    assert status == 405
    assert server.alive()


def test_resources_read_only_what_the_caller_sees(server, tokens):
    """alice cannot read bob's personal memory as a resource (nor list it), another org cannot read
    alice's, and unknown or malformed uris are errors, in both eras and through the SDK; the refusal never
    carries the memory's content."""
    bob_note = "Eras check, bob only: bob keeps his on-call handover notes in the blue notebook"
    status, _, body = http("POST", f"{server.url}/v1/memories", {"content": bob_note}, token=tokens["bob"])
    assert status == 201, (status, body)
    bob_uri = RESOURCE_PREFIX + body["memory"]["id"]
    status, _, body = http("POST", f"{server.url}/v1/memories",
                           {"content": "Eras check, alice only: alice pairs on reviews every Wednesday afternoon"},
                           token=tokens["alice"])
    assert status == 201, (status, body)
    alice_uri = RESOURCE_PREFIX + body["memory"]["id"]

    # bob can read his own, so the refusals below are about who asks.
    status, _, body = modern_rpc(server, "bob", tokens["bob"], "resources/read", {"uri": bob_uri})
    assert status == 200 and parse_memory(body["result"]["contents"][0]["text"])["content"] == bob_note, body

    unknown = RESOURCE_PREFIX + str(uuid.uuid4())
    malformed = [RESOURCE_PREFIX + "not-a-uuid", RESOURCE_PREFIX, "engram://notes/" + bob_uri.rsplit("/", 1)[1],
                 "https://example.com/memories/1", "", bob_uri + "/../x"]
    refused = [("alice", bob_uri), ("mallory", alice_uri), ("alice", unknown)] + [("alice", u) for u in malformed]
    for user, uri in refused:
        for era in ("legacy", "modern"):
            if era == "legacy":
                status, _, body = rpc(server, user, tokens[user], "resources/read", {"uri": uri},
                                      headers={"MCP-Protocol-Version": LEGACY})
            else:
                status, _, body = modern_rpc(server, user, tokens[user], "resources/read", {"uri": uri})
            error_code(body)
            assert bob_note not in json.dumps(body), (user, uri, era)

    async def sdk():
        for mode in ("legacy", MODERN):
            async with sdk_client(server, "alice", tokens["alice"], mode) as c:
                assert bob_uri not in await all_resource_uris(c)
                for uri in (bob_uri, unknown, RESOURCE_PREFIX + "not-a-uuid"):
                    with pytest.raises(MCPError):
                        await c.read_resource(uri)
    run(sdk())
    assert server.alive()


def test_search_results_link_their_resources(server, tokens):
    """Search results carry a resource link per hit (engram://memories/{id}) that resources/read opens."""
    from helpers import http
    token = tokens["alice"]
    text = "Resource link check: the payments service deploys with make ship-payments"
    status, _, body = http("POST", f"{server.url}/v1/memories", {"content": text}, token=token)
    assert status == 201, body
    mid = body["memory"]["id"]
    status, _, body = http("POST", f"{server.url}/mcp/alice", {
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "search_memories", "arguments": {"query": "how does the payments service deploy"}}}, token=token,
        headers={"MCP-Protocol-Version": "2025-11-25"})
    assert status == 200, body
    links = [c for c in body["result"]["content"] if c["type"] == "resource_link"]
    assert f"engram://memories/{mid}" in [link["uri"] for link in links], body["result"]["content"]
    status, _, body = http("POST", f"{server.url}/mcp/alice", {
        "jsonrpc": "2.0", "id": 2, "method": "resources/read", "params": {"uri": f"engram://memories/{mid}"}}, token=token,
        headers={"MCP-Protocol-Version": "2025-11-25"})
    assert status == 200 and text in body["result"]["contents"][0]["text"], body
