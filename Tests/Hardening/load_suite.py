#!/usr/bin/env python3
"""Load suite: 64 concurrent MCP clients mixing add / search / list for a bounded time on loopback.

Each client is its own user with its own keep-alive connection, and waits a random think time
(exponential, mean --think seconds) between calls, like an assistant between tool uses. Reports
throughput, p50/p99 per operation, errors (must be 0) and the server's RSS over time (must plateau:
the growth over the second half of the run must stay under --max-growth-mb).

  python3 Tests/Hardening/load_suite.py --clients 64 --seconds 60
"""
import argparse
import random
import sys
import threading
import time

from common import RPC, EngramServer, random_text, summary_line


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(xs, p):
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, default=0.5, help="mean think time between a client's calls (s)")
    ap.add_argument("--preload", type=int, default=20, help="memories each client adds before the timed run")
    ap.add_argument("--max-p99-search-ms", type=float, default=100)
    ap.add_argument("--max-growth-mb", type=float, default=64)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    server = EngramServer("load", ENGRAM_MAX_CONNECTIONS_PER_IP="1024")  # every client shares 127.0.0.1
    server.start()
    users = [f"load{c}" for c in range(args.clients)]
    clients = {u: RPC(server, u, server.token(u), timeout=30) for u in users}
    rng = random.Random(args.seed)
    print(f"load suite: {args.clients} clients, {args.seconds:.0f} s, think {args.think} s, preload {args.preload}/client")
    for u in users:
        for _ in range(args.preload):
            clients[u].call("add_memory", {"content": f"{u} " + random_text(rng)})

    lat = {"add": [], "search": [], "list": []}
    errors = []
    lock = threading.Lock()
    stop = time.time() + args.seconds

    def run(user, seed):
        r = random.Random(seed)
        c = clients[user]
        while time.time() < stop:
            time.sleep(r.expovariate(1 / args.think))
            x = r.random()
            op = "add" if x < 0.2 else "search" if x < 0.8 else "list"
            a = {"add": {"content": f"{user} " + random_text(r)},
                 "search": {"query": random_text(r, 5), "limit": 10},
                 "list": {"limit": 20}}[op]
            tool = {"add": "add_memory", "search": "search_memories", "list": "list_memories"}[op]
            t0 = time.perf_counter()
            try:
                status, body = c.call(tool, a)
                ok = status == 200 and body and "result" in body and not body["result"].get("isError")
            except Exception as e:  # noqa: BLE001
                status, ok = repr(e), False
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                lat[op].append(dt)
                if not ok:
                    errors.append(f"{op}: {status}")

    threads = [threading.Thread(target=run, args=(u, rng.random())) for u in users]
    samples = []
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        samples.append((time.time(), rss_mb(server.proc.pid)))
        time.sleep(1)
    for t in threads:
        t.join()
    alive = server.alive()
    server.stop()

    total = sum(len(v) for v in lat.values())
    print(f"requests: {total} in {args.seconds:.0f} s = {total / args.seconds:.1f} req/s; errors: {len(errors)}")
    for op, xs in lat.items():
        print(f"  {op:6s} n={len(xs):5d}  p50 {pct(xs, 50):7.2f} ms  p99 {pct(xs, 99):7.2f} ms  max {max(xs) if xs else 0:7.2f} ms")
    half = [m for t, m in samples[len(samples) // 2:]]
    growth = (max(half) - half[0]) if half else 0
    print(f"RSS: start {samples[0][1]:.0f} MB, end {samples[-1][1]:.0f} MB, max {max(m for _, m in samples):.0f} MB, "
          f"growth over the second half {growth:.1f} MB")
    checks = {
        "no errors": not errors,
        f"search p99 <= {args.max_p99_search_ms} ms": pct(lat["search"], 99) <= args.max_p99_search_ms,
        f"RSS plateau (growth <= {args.max_growth_mb} MB)": growth <= args.max_growth_mb,
        "server alive": alive,
    }
    for name, ok in checks.items():
        print(("PASS " if ok else "FAIL ") + name)
    for e in errors[:10]:
        print("  error:", e)
    summary_line(sum(checks.values()), len(checks) - sum(checks.values()))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
