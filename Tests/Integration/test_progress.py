"""Progress of the long commands (export, import, migrate, backup, rescan; issue 21): on a terminal a bar
redrawn in place, otherwise plain lines a log can hold (no carriage returns). The terminal case runs the
real binary with its standard error on a pseudo-terminal."""
import os
import pathlib
import pty
import re
import subprocess
import tempfile

import pytest

from conftest import BIN, EngramServer
from helpers import http

TOPICS = ["billing", "search", "auth", "payments", "logging", "metrics", "frontend", "mobile", "ingest", "mailer",
          "scheduler", "reports", "gateway", "cache", "exports", "webhooks", "profiles", "inventory", "pricing", "ledger"]
TOOLS = ["pnpm", "cargo", "gradle", "poetry", "bazel"]
COUNT = len(TOPICS) * 2


@pytest.fixture(scope="module")
def stopped_store():
    """A data directory holding COUNT memories, with its server stopped (the offline commands need that)."""
    s = EngramServer("progress")
    s.start()
    try:
        token = s.token("pat", org="progressorg")
        for i, topic in enumerate(TOPICS):
            for text in (f"The {topic} service is built with {TOOLS[i % 5]} and deployed on Fridays",
                         f"Alerts for {topic} page the on-call engineer after {i + 3} failed health checks"):
                status, _, body = http("POST", s.url + "/v1/memories", {"content": text}, token=token)
                assert status == 201, body
    finally:
        s.stop()
    return s


def run(args, server, env_extra=None):
    env = dict(server.env, **(env_extra or {}))
    env.pop("ENGRAM_PROGRESS", None)
    env.update(env_extra or {})
    return subprocess.run([BIN, *args, "--data-dir", str(server.data)], capture_output=True, text=True, timeout=300, env=env)


def run_on_terminal(args, server):
    """Runs with standard error on a pseudo-terminal; returns (exit code, stdout, what the terminal saw)."""
    master, slave = pty.openpty()
    env = dict(server.env)
    env.pop("ENGRAM_PROGRESS", None)
    p = subprocess.Popen([BIN, *args, "--data-dir", str(server.data)], stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out, _ = p.communicate(timeout=300)
    os.close(master)
    return p.returncode, out.decode(), seen.decode(errors="replace")


def test_export_prints_plain_lines_off_a_terminal(stopped_store, tmp_path):
    r = run(["export", "--out", str(tmp_path / "all.jsonl")], stopped_store)
    assert r.returncode == 0, r.stderr
    assert f"exported {COUNT} memories" in r.stdout
    assert "\r" not in r.stderr, repr(r.stderr)
    final = [line for line in r.stderr.splitlines() if line.startswith("exporting")]
    assert final and re.match(rf"exporting {COUNT}/{COUNT} \(100%\).* in \d+", final[-1]), r.stderr


def test_export_draws_a_bar_on_a_terminal(stopped_store, tmp_path):
    code, out, seen = run_on_terminal(["export", "--out", str(tmp_path / "all.jsonl")], stopped_store)
    assert code == 0, seen
    assert "\r" in seen and re.search(rf"exporting \[#+\] {COUNT}/{COUNT} \(100%\)", seen), repr(seen)


def test_progress_can_be_silenced(stopped_store, tmp_path):
    r = run(["export", "--out", str(tmp_path / "all.jsonl")], stopped_store, {"ENGRAM_PROGRESS": "off"})
    assert r.returncode == 0 and "exporting" not in r.stderr, r.stderr


def test_import_backup_and_rescan_report_progress(stopped_store, tmp_path):
    r = run(["export", "--out", str(tmp_path / "all.jsonl")], stopped_store)
    assert r.returncode == 0, r.stderr
    fresh = EngramServer("progress-import")
    r = run(["import", "--in", str(tmp_path / "all.jsonl")], fresh)
    assert r.returncode == 0, r.stderr
    assert re.search(rf"importing {COUNT}/{COUNT} \(100%\)", r.stderr), r.stderr

    r = run(["backup", "--out", str(tmp_path / "backup")], stopped_store)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("backing up")]
    assert lines and re.match(r"backing up \(pages\) (\d+)/\1 \(100%\)", lines[-1]), r.stderr

    r = run(["rescan"], stopped_store)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("rescanning")]
    assert lines and re.match(r"rescanning (\d+)/\1 \(100%\)", lines[-1]), r.stderr
    assert "\r" not in r.stderr
