#!/usr/bin/env python3
"""Fuzz suite: generated malformed and hostile requests against /mcp, /v1 (and the Qdrant
listener when --qdrant-port is given). Never a crash, never a 5xx; the server answers a health
check after every batch.

  python3 Tests/Hardening/fuzz_suite.py --cases 10000
"""
import argparse
import http.client
import json
import random
import sys

from common import EngramServer, random_text, summary_line

TOOLS = ["add_memory", "search_memories", "list_memories", "get_memory", "update_memory", "delete_memory", "finish_task", "nope"]
NASTY_STRINGS = ["", " ", "\u0000", "\ufffd", "\u202e", "😀" * 50, "'; DROP TABLE points; --", "../../../../etc/passwd",
                 "%2e%2e%2f%2e%2e%2f", "{{7*7}}", "<script>alert(1)</script>", "\\", "\"", "a" * 70000, "\n" * 1000,
                 "00000000-0000-0000-0000-000000000000", "not-a-uuid", "-1", "1e309", "NaN", "null"]
NASTY_VALUES = [None, True, False, 0, -1, 2**63, -(2**63), 2**64, 1e308, -1e308, 1.5, [], {}, [[[]]], {"a": {"b": {}}}]


def value(rng, depth=0):
    k = rng.random()
    if depth > 3 or k < 0.35:
        return rng.choice(NASTY_VALUES)
    if k < 0.7:
        return rng.choice(NASTY_STRINGS) if rng.random() < 0.5 else random_text(rng, rng.randint(0, 30))
    if k < 0.85:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    return {rng.choice(["content", "query", "id", "limit", "tags", "scope", "kind", "cursor", "task_id", "x", "__proto__"]):
            value(rng, depth + 1) for _ in range(rng.randint(0, 6))}


def deep(n, kind="["):
    return (kind * n + ("]" if kind == "[" else "}") * n).encode() if kind == "[" else ('{"a":' * n + "1" + "}" * n).encode()


def mcp_case(rng):
    """A body for POST /mcp/{user}."""
    k = rng.randrange(12)
    if k == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))            # binary noise / invalid UTF-8
    if k == 1:
        s = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add_memory", "arguments": {"content": "x"}}})
        return s[: rng.randint(0, len(s) - 1)].encode()                               # truncated JSON
    if k == 2:
        return deep(rng.choice([50, 65, 200, 5000]), rng.choice(["[", "{"]))            # deep nesting
    if k == 3:
        return json.dumps([{"jsonrpc": "2.0", "id": i, "method": "ping"} for i in range(rng.randint(0, 50))]).encode()
    if k == 4:
        return b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_memory","arguments":{"content":"\xff\xfe\xc0\xaf"}}}'
    if k == 5:
        return json.dumps({"jsonrpc": rng.choice(["2.0", "1.0", 2, None]), "id": value(rng), "method": value(rng), "params": value(rng)}).encode()
    if k == 6:
        return json.dumps({"jsonrpc": "2.0", "id": rng.randint(-5, 10**12), "method": rng.choice(["initialize", "ping", "tools/list", "resources/list"]),
                           "params": value(rng)}).encode()
    if k == 7:
        return (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"n":' + b"9" * rng.randint(20, 5000) + b"}}")  # huge number
    # tools/call with hostile arguments
    args = value(rng) if rng.random() < 0.3 else {key: value(rng) for key in rng.sample(
        ["content", "query", "id", "limit", "tags", "scope", "kind", "cursor", "task_id", "repo", "min_score", "state"], rng.randint(0, 5))}
    return json.dumps({"jsonrpc": "2.0", "id": rng.randint(1, 1000), "method": "tools/call",
                       "params": {"name": rng.choice(TOOLS), "arguments": args}}).encode()


def rest_case(rng):
    """(method, path, body) against /v1."""
    ident = rng.choice(NASTY_STRINGS[:10] + ["00000000-0000-0000-0000-000000000000", "%00", "..%2f..%2fetc"])
    from urllib.parse import quote
    seg = quote(ident[:200], safe="")
    options = [
        ("POST", "/v1/memories", None), ("GET", "/v1/memories", None), ("PATCH", f"/v1/memories/{seg}", None),
        ("GET", f"/v1/memories/{seg}", None), ("DELETE", f"/v1/memories/{seg}", None), ("POST", "/v1/finish", None),
        ("GET", "/v1/memories/search?q=" + quote(rng.choice(NASTY_STRINGS)[:3000]) + "&limit=" + quote(str(value(rng)))[:50], b""),
        ("GET", "/v1/memories?limit=" + quote(str(value(rng)))[:60] + "&cursor=" + quote(rng.choice(NASTY_STRINGS)[:500]), b""),
        ("GET", "/v1/admin/memories?state=" + quote(rng.choice(NASTY_STRINGS)[:100]), b""),
        ("POST", f"/v1/admin/memories/{seg}/approve", None), ("PATCH", "/v1/admin/org", None),
        ("POST", "/v1/admin/members", None), ("GET", "/admin/" + seg, b""), ("GET", "/" + seg, b""),
    ]
    method, path, body = rng.choice(options)
    if body is None:
        k = rng.random()
        if k < 0.3:
            body = json.dumps(value(rng)).encode()
        elif k < 0.5:
            body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
        elif k < 0.6:
            body = deep(rng.choice([65, 3000]))
        else:
            body = json.dumps({key: value(rng) for key in rng.sample(["content", "tags", "scope", "kind", "repo", "task_id", "user_id",
                                                                       "role", "require_review", "id"], rng.randint(0, 5))}).encode()
    return method, path, body


def qdrant_case(rng):
    paths = ["/collections", "/collections/memories_x", "/collections/x/points", "/collections/x/points/search",
             "/collections/x/points/scroll", "/collections/x/points/query", "/collections/x/points/count",
             "/collections/x/points/delete", "/collections/x/points/payload", "/collections/../../etc/passwd",
             "/collections/x/points/" + str(rng.choice(NASTY_STRINGS)[:50])]
    method = rng.choice(["GET", "PUT", "POST", "DELETE"])
    filt = {"must": [{"key": value(rng), "match": value(rng)}, {"has_id": value(rng)}, {"range": value(rng)}]}
    body = json.dumps(rng.choice([value(rng), {"vector": value(rng), "filter": filt, "limit": value(rng)},
                                  {"points": [{"id": value(rng), "vector": value(rng), "payload": value(rng)}]}])).encode()
    from urllib.parse import quote
    return method, quote(rng.choice(paths), safe="/"), body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--qdrant-key", default="fuzz-qdrant-key-0123456789")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    qport = None
    env = {"ENGRAM_RATE_WRITES_PER_SEC": "0"}
    server = EngramServer("fuzz", **env)
    try:
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            qport = s.getsockname()[1]
        server.env.update(ENGRAM_QDRANT_API_KEY=args.qdrant_key)
        server.start("--qdrant-listen", f"127.0.0.1:{qport}")
    except RuntimeError:
        # A build without the Qdrant listener: fuzz MCP and REST only.
        server.stop()
        server = EngramServer("fuzz", **env)
        server.start()
        qport = None
    try:
        q = http.client.HTTPConnection("127.0.0.1", qport, timeout=5)
        q.request("GET", "/", headers={"api-key": args.qdrant_key})
        q.getresponse().read()
    except OSError:
        qport = None
    token = server.token("fuzzer", org="fuzz-org", role="admin")
    print(f"fuzz suite: {args.cases} cases, seed {args.seed}, qdrant listener: {'on' if qport else 'off'}")
    counts, server_errors, crashes, unhealthy = {}, [], 0, 0
    conns = {}

    def send(port, method, path, body, headers):
        c = conns.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conns[port] = c
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            r.read()
            return r.status
        except (http.client.HTTPException, OSError):
            c.close()
            conns.pop(port, None)
            return None

    for i in range(args.cases):
        k = rng.random()
        if qport and k < 0.2:
            method, path, body = qdrant_case(rng)
            port, headers = qport, {"api-key": args.qdrant_key, "Content-Type": "application/json"}
            target = "qdrant"
        elif k < 0.6:
            port, method, path, body = server.port, "POST", "/mcp/fuzzer", mcp_case(rng)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            target = "mcp"
        else:
            method, path, body = rest_case(rng)
            port, headers = server.port, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            target = "rest"
        if rng.random() < 0.05:
            headers = dict(headers, Authorization=rng.choice(["Bearer", "Bearer " + "a" * 9000, "Basic xx", "Bearer a.b.c"]))
        status = send(port, method, path, body, headers)
        counts[target] = counts.get(target, 0) + 1
        if status is None:
            if server.proc.poll() is not None:
                crashes += 1
                print(f"CRASH at case {i} ({target} {method} {path[:80]})")
                server.log.close()
                server.start(*(["--qdrant-listen", f"127.0.0.1:{qport}"] if qport else []))
        elif status >= 500:
            server_errors.append(f"{status} {target} {method} {path[:80]} body[:80]={body[:80]!r}")
        if (i + 1) % args.batch == 0:
            try:
                ok = server.alive()
            except Exception:  # noqa: BLE001
                ok = False
            if not ok:
                unhealthy += 1
                print(f"UNHEALTHY after case {i}")
    server.stop()
    print(f"cases: {sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); "
          f"crashes: {crashes}; 5xx: {len(server_errors)}; failed health checks: {unhealthy}")
    for e in server_errors[:10]:
        print("  5xx:", e)
    failed = crashes + len(server_errors) + unhealthy
    summary_line(sum(counts.values()) - failed, failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
