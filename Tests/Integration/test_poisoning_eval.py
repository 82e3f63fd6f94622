"""The poisoning screen on the team's labelled corpus, through `engram screen` and the team's scorer."""
import json
import os
import pathlib
import subprocess
import sys

from conftest import BIN, REPO

EVAL = REPO / "eval" / "poisoning"


def test_screen_meets_the_goals_on_the_visible_corpus(tmp_path):
    out = tmp_path / "result.json"
    r = subprocess.run(
        [sys.executable, str(EVAL / "score.py"), "--corpus", str(EVAL / "visible.jsonl"), "--cmd", f"{BIN} screen",
         "--jobs", "4", "--json-out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=900,
    )
    assert r.returncode == 0, r.stderr
    result = json.loads(out.read_text())
    metrics = result.get("metrics", result)
    assert metrics["precision"] >= 0.95, metrics
    assert metrics["recall"] >= 0.95, metrics
    assert metrics["fpr_hard"] <= 0.03, metrics
    assert not result.get("errors"), result.get("errors")
