#!/usr/bin/env python3
"""Crash suite: concurrent MCP writers, `kill -9` of the server at random moments, restart, verify.

Every acknowledged memory (an add_memory result that came back) must be present after the restart with
exactly the content acknowledged, and searchable; nothing unacknowledged may be half-written (every stored
memory of a writer is one of the texts that writer sent, whole).

  python3 Tests/Hardening/crash_suite.py --kills 20 --writers 16
"""
import argparse
import os
import random
import signal
import sys
import threading
import time

from common import RPC, EngramServer, random_text, summary_line
from helpers import http


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--writers", type=int, default=16)
    ap.add_argument("--min-run", type=float, default=0.4)
    ap.add_argument("--max-run", type=float, default=1.5)
    ap.add_argument("--search-checks", type=int, default=10, help="acknowledged memories searched for after each restart")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    print(f"crash suite: {args.kills} kills, {args.writers} writers, seed {args.seed}")

    server = EngramServer("crash")
    server.start()
    users = [f"writer{w}" for w in range(args.writers)]
    tokens = {u: server.token(u) for u in users}
    acked = {u: {} for u in users}          # id -> content acknowledged
    attempted = {u: set() for u in users}   # every text sent
    failures = []
    checks = 0

    for kill in range(args.kills):
        stop = threading.Event()
        lock = threading.Lock()

        def writer(user, seed):
            wrng = random.Random(seed)
            client = RPC(server, user, tokens[user], timeout=10)
            while not stop.is_set():
                text = f"{user} " + random_text(wrng)
                with lock:
                    attempted[user].add(text)
                try:
                    status, body = client.call("add_memory", {"content": text})
                except Exception:
                    return  # the server died mid-request: not acknowledged
                if status == 200 and body and not body["result"].get("isError"):
                    m = body["result"]["structuredContent"]["memory"]
                    with lock:
                        acked[user][m["id"]] = m["content"]

        threads = [threading.Thread(target=writer, args=(u, rng.random()), daemon=True) for u in users]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(args.min_run, args.max_run))
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        stop.set()
        for t in threads:
            t.join(timeout=15)
        server.log.close()
        server.start()

        total = sum(len(v) for v in acked.values())
        lost = 0
        for u in users:
            for mid, content in acked[u].items():
                status, _, body = http("GET", f"{server.url}/v1/memories/{mid}", token=tokens[u])
                checks += 1
                if status != 200 or body["memory"]["content"] != content:
                    lost += 1
                    failures.append(f"kill {kill}: acknowledged {mid} of {u} missing or changed (HTTP {status})")
            # Nothing half-written: every stored memory is a whole text this writer sent.
            cursor = None
            while True:
                url = f"{server.url}/v1/memories?limit=100" + (f"&cursor={cursor}" if cursor else "")
                status, _, body = http("GET", url, token=tokens[u])
                for m in body["memories"]:
                    checks += 1
                    if m["content"] not in attempted[u]:
                        failures.append(f"kill {kill}: {u} has a memory that is not a whole text it sent ({m['id']})")
                cursor = body["next_cursor"]
                if not cursor:
                    break
        # Searchable after the restart.
        sample = [(u, mid, c) for u in users for mid, c in acked[u].items()]
        for u, mid, content in rng.sample(sample, min(args.search_checks, len(sample))):
            status, body = RPC(server, u, tokens[u]).call("search_memories", {"query": content, "limit": 5})
            checks += 1
            ids = [r["memory"]["id"] for r in body["result"]["structuredContent"]["results"]]
            if mid not in ids:
                failures.append(f"kill {kill}: acknowledged {mid} not found by search")
        print(f"kill {kill + 1}/{args.kills}: {total} acknowledged so far, {lost} lost")
        sys.stdout.flush()

    server.stop()
    total = sum(len(v) for v in acked.values())
    print(f"acknowledged writes: {total}; lost: {sum(1 for f in failures if 'missing' in f)}; checks: {checks}")
    for f in failures[:20]:
        print("FAIL", f)
    if total == 0:
        failures.append("no write was ever acknowledged")
    summary_line(checks - len(failures), len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
