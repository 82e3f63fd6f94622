"""The PNG plots of `make eval-retrieval` (recall@k curves) and `make bench` (latency histograms), issue 21:
eval/plots.py draws them from the measured files; the latency samples come from a real (small) run of
`engram-bench search --samples-out`."""
import json
import os
import pathlib
import struct
import subprocess
import sys

import matplotlib.image

from conftest import BIN, MODEL_DIR, REPO

PLOTS = REPO / "eval" / "plots.py"
BENCH = os.environ.get("ENGRAM_BENCH_BIN", str(pathlib.Path(BIN).parent / "engram-bench"))


def png_size(path):
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_drawn(path):
    """A PNG of a plausible size whose pixels are not all one colour."""
    width, height = png_size(path)
    assert width >= 400 and height >= 200, (width, height)
    pixels = matplotlib.image.imread(str(path))
    assert pixels.std() > 0.01, "the image is blank"


def plots(*args):
    return subprocess.run([sys.executable, str(PLOTS), *map(str, args)], capture_output=True, text=True, timeout=120)


def test_recall_curves_from_a_summary(tmp_path):
    # The shape eval/retrieval/report.py writes (summary.json), with two units and three methods.
    def agg(scale):
        return {"recall@1": 0.2 * scale, "recall@5": 0.45 * scale, "recall@10": 0.6 * scale, "recall@20": 0.7 * scale,
                "mrr": 0.3 * scale, "ndcg@10": 0.4 * scale, "n": 100}
    summary = {unit: {"bar": bar, "pass": True, "seconds": 1, "stats": {},
                      "results": {"engram (hybrid)": agg(1.0), "bm25 (harness)": agg(0.8), "minilm (engram port)": agg(0.7)}}
               for unit, bar in (("turn", 0.55), ("observation", 0.72))}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    r = plots("recall", tmp_path / "summary.json", tmp_path / "recall.png")
    assert r.returncode == 0, r.stderr
    assert_drawn(tmp_path / "recall.png")
    (tmp_path / "empty.json").write_text("{}")
    r = plots("recall", tmp_path / "empty.json", tmp_path / "none.png")
    assert r.returncode != 0 and not (tmp_path / "none.png").exists()


def test_latency_histograms_from_a_real_bench_run(tmp_path):
    samples = tmp_path / "search.json"
    env = dict(os.environ, ENGRAM_MODEL_DIR=MODEL_DIR)
    r = subprocess.run([BENCH, "search", "--memories", "300", "--queries", "25", "--adds", "10", "--concurrency", "2",
                        "--samples-out", str(samples)], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    doc = json.loads(samples.read_text())
    assert doc["unit"] == "ms" and set(doc["series"]) == {
        "search incl. query embedding", "search alone (precomputed vector)", "query embedding alone"}, doc.keys()
    for name, xs in doc["series"].items():
        assert len(xs) == 25 and all(x > 0 for x in xs), name
    r = plots("latency", samples, tmp_path / "search.png")
    assert r.returncode == 0, r.stderr
    assert_drawn(tmp_path / "search.png")
