"""`engram config` and the configuration table: every variable the binary reads is documented in the
README's table, credentials are never printed, and a malformed value is refused by name."""
import json
import os
import re
import subprocess
import tempfile

from conftest import BIN, REPO


def run(args, **env):
    full = {k: v for k, v in os.environ.items() if not k.startswith("ENGRAM_")}
    full.update(env)
    return subprocess.run([BIN, *args], env=full, capture_output=True, text=True, timeout=60)


def readme_table_variables():
    text = (REPO / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    names = set(re.findall(r"ENGRAM_[A-Z0-9_]+", table))
    # The table abbreviates families: `ENGRAM_EMBEDDER_URL`, `_MODEL`, … and `ENGRAM_RATE_…`, `_BURST`.
    for line in table.splitlines():
        stems = re.findall(r"`(ENGRAM_[A-Z0-9]+)_[A-Z0-9_]+`", line)
        for suffix in re.findall(r"`(_[A-Z0-9_]+)`", line):
            names.update(stem + suffix for stem in stems)
    return names


def test_every_variable_is_in_the_readme_table_and_back():
    out = run(["config", "--json"])
    assert out.returncode == 0, out.stderr
    known = {row["variable"] for row in json.loads(out.stdout)}
    assert len(known) >= 25
    documented = readme_table_variables()
    assert known - documented == set(), f"read by engram but missing from the README table: {known - documented}"
    assert documented - known == set(), f"in the README table but not read by engram: {documented - known}"


def test_credentials_are_shown_only_as_set():
    secret = "cfg-secret-" + "q7" * 20
    out = run(["config", "--json"], ENGRAM_JWT_SECRET=secret, ENGRAM_TOKEN=secret, ENGRAM_QDRANT_API_KEY=secret,
              ENGRAM_EMBEDDER_API_KEY=secret, ENGRAM_QDRANT_REMOTE_API_KEY=secret, ENGRAM_PORT="9191")
    assert out.returncode == 0, out.stderr
    assert secret not in out.stdout + out.stderr
    rows = {row["variable"]: row for row in json.loads(out.stdout)}
    assert rows["ENGRAM_JWT_SECRET"]["value"] == "(set)"
    assert rows["ENGRAM_TOKEN"]["value"] == "(set)"
    assert rows["ENGRAM_PORT"]["value"] == "9191"
    assert rows["ENGRAM_PORT"]["flag"] == "--port"
    assert rows["ENGRAM_HOST"]["value"] == "(unset)"


def test_a_malformed_value_is_refused_by_name():
    with tempfile.TemporaryDirectory() as data:
        for name, value in [("ENGRAM_PORT", "eighty"), ("ENGRAM_IDLE_TIMEOUT", "soon"), ("ENGRAM_LOG_LEVEL", "loud"),
                            ("ENGRAM_RATE_WRITES_PER_SEC", "-1"), ("ENGRAM_INT8_ISA", "7")]:
            out = run(["serve", "--dev", "--data-dir", data, "--port", "0"] if name != "ENGRAM_PORT"
                      else ["serve", "--dev", "--data-dir", data], **{name: value, "ENGRAM_EMBEDDER": "none"})
            assert out.returncode != 0, f"{name}={value} was accepted"
            assert name in out.stderr, (name, out.stderr[-500:])
