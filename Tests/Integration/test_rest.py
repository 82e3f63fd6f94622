"""The REST API: same service and policy as MCP."""
from helpers import http


def test_rest_crud_and_search(server, tokens):
    t = tokens["bob"]
    status, _, body = http("POST", f"{server.url}/v1/memories",
                           {"content": "Bob prefers pytest fixtures over setUp methods", "kind": "preference", "tags": ["python", "testing"]}, token=t)
    assert status == 201 and body["status"] == "created"
    mid = body["memory"]["id"]
    status, _, body = http("POST", f"{server.url}/v1/memories", {"content": "Bob prefers pytest fixtures over setUp methods"}, token=t)
    assert status == 200 and body["status"] == "duplicate" and body["memory"]["id"] == mid
    status, _, body = http("GET", f"{server.url}/v1/memories/search?q=which+test+style+does+bob+like&limit=3", token=t)
    assert status == 200 and body["results"][0]["memory"]["id"] == mid
    status, _, body = http("GET", f"{server.url}/v1/memories?tag=python&limit=5", token=t)
    assert status == 200 and [m["id"] for m in body["memories"]] == [mid]
    status, _, body = http("PATCH", f"{server.url}/v1/memories/{mid}", {"tags": ["python"]}, token=t)
    assert status == 200 and body["memory"]["tags"] == ["python"]
    status, _, _ = http("DELETE", f"{server.url}/v1/memories/{mid}", token=t)
    assert status == 204
    status, _, _ = http("GET", f"{server.url}/v1/memories/{mid}", token=t)
    assert status == 404


def test_finish_alias_and_readiness(server, tokens):
    t = tokens["bob"]
    status, _, body = http("POST", f"{server.url}/finish", {"task_id": "nothing-here"}, token=t)
    assert status == 200 and body["promoted"] == []
    # Without task_id, finish publishes the caller's org drafts saved without one (none here).
    status, _, body = http("POST", f"{server.url}/v1/finish", {}, token=t)
    assert status == 200 and body["promoted"] == [] and body["task_id"] is None
    status, _, body = http("POST", f"{server.url}/v1/finish", {"task_id": 7}, token=t)
    assert status == 400
    status, _, body = http("GET", f"{server.url}/readyz")
    assert status == 200 and body["store"] == "embedded" and body["blas"] in ("openblas", "reference")
    assert body["embedder"] == "all-MiniLM-L6-v2"
    assert body["kernels"]["int8_scan"] in ("avx512", "avx2", "portable")
    assert body["kernels"]["minilm_sgemm"] in ("avx512", "avx2", "blas")
