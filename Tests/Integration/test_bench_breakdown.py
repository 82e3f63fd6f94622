"""`engram-bench mcp` prints where a search request's time goes (issue 22's stage breakdown) and the
process's resident memory after loading: run for real on a small in-process server; `engram-bench store` opens
a store from SQLite and from its segment files."""
import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("ENGRAM_BIN", str(ROOT / ".build/debug/engram"))
BENCH = os.environ.get("ENGRAM_BENCH_BIN", str(pathlib.Path(BIN).parent / "engram-bench"))
MODEL_DIR = os.environ.get("ENGRAM_MODEL_DIR", str(ROOT / "models/all-MiniLM-L6-v2"))

STAGES = ["server", "auth", "json", "embed", "lexical", "scan", "fusion", "serialise"]


def test_mcp_bench_breaks_a_search_into_stages():
    env = dict(os.environ, ENGRAM_MODEL_DIR=MODEL_DIR)
    r = subprocess.run([BENCH, "mcp", "--memories", "200", "--clients", "2", "--requests", "6"],
                       capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    out = r.stdout
    assert re.search(r"loaded 200 memories in [\d.]+ s, RSS [\d.]+ MB", out), out[:600]
    assert "errors 0" in out, out
    head = re.search(r"bounds: scan ([\d.]+) ms = int8 rows at ([\d.]+) GB/s, embed ([\d.]+) ms = ([\d.]+) tokens "
                     r"at an sgemm peak of ([\d.]+) GFLOP/s", out)
    assert head, out
    assert all(float(x) > 0 for x in head.groups()), head.groups()
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) >= 3 and re.fullmatch(r"[a-z ]+", cells[0]) and re.fullmatch(r"-?[\d.]+", cells[1]):
            rows[cells[0]] = (float(cells[1]), float(cells[2]), cells[3:])
    for name in ["round trip", "http", "other"] + STAGES:
        assert name in rows, (name, out)
    # Every stage of a search ran in both runs (one client, then two), and was timed.
    for stage in STAGES:
        alone, loaded, _ = rows[stage]
        assert alone > 0 and loaded > 0, (stage, rows[stage])
    # The server's part is inside the client's round trip; the stages inside the server's.
    for run in (0, 1):
        assert rows["server"][run] <= rows["round trip"][run] + 0.01, rows
        named = sum(rows[s][run] for s in ["auth", "json", "embed", "scan", "fusion", "serialise"])
        assert named <= rows["server"][run] * 1.05 + 0.05, (run, rows)
    # The two bounded stages carry a ratio to their bound; the others none.
    for stage in ["scan", "embed"]:
        assert all(c.endswith("x") for c in rows[stage][2]), rows[stage]
    assert not any(c for c in rows["auth"][2]), rows["auth"]


def test_store_bench_opens_from_segment_files_and_from_sqlite():
    """`engram-bench store` at a small size: it writes the segment files, then opens the store both ways in one
    run and prints the ratio (the figures themselves are for the README, not asserted)."""
    r = subprocess.run([BENCH, "store", "--points", "3000", "--tenants", "3"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert any(line.startswith("wrote the segment files") for line in lines), r.stdout
    assert any(line.startswith("warm rebuilt from SQLite, 3000 points") for line in lines), r.stdout
    assert any(line.startswith("warm from segment files, 3000 points") for line in lines), r.stdout
    # Each open reports what it added to resident memory: the process's own and mapped file pages.
    opens = [line for line in lines if line.startswith("warm ") and " points: open " in line]
    assert len(opens) == 2 and all(re.search(r"resident \+-?\d+ MB own, \+-?\d+ MB mapped file$", line) for line in opens), opens
    assert any(line.startswith("warm: open + first search from segments / rebuilt = ") for line in lines), r.stdout
    # The second open served from the files (the store logs what it mapped).
    assert "mapped=3000" in r.stdout + r.stderr, (r.stdout + r.stderr)[-2000:]
