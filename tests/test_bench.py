"""`python -m nin.bench` and `python -m nin.bench_load`, as documented: what each prints and writes."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_documented(module: str, *args: str, timeout: int) -> str:
    """`python -m <module> <args>` as the README writes it; its stdout once it has exited 0."""
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_bench_on_cpu_prints_both_pipelines_and_the_ratio(tmp_path, official_data):
    out = tmp_path / "bench.json"
    stdout = run_documented("nin.bench", "--device", "cpu", "--limit", "64", "--batch-size", "8",
                            "--warmup-steps", "1", "--steps", "2", "--out", str(out), timeout=300)
    printed = {name: float(value.replace(",", "")) for name, value in
               re.findall(r"^(reference|project)\b.*: ([\d,.]+) examples/s$", stdout, re.MULTILINE)}
    assert set(printed) == {"reference", "project"} and all(v > 0 for v in printed.values())
    assert re.search(r"^ratio project/reference: [\d.]+x$", stdout, re.MULTILINE)

    report = json.loads(out.read_text())
    reference, project = report["reference"], report["project"]
    assert reference["steps"] == project["steps"] == 2 and reference["examples"] == project["examples"] == 16
    assert reference["precision"] == "fp32" and reference["workers"] == 4
    assert project["precision"] == "fp32"  # what the trainer uses on a CPU
    assert report["ratio"] == project["examples_per_s"] / reference["examples_per_s"]


@pytest.mark.slow
def test_bench_load_reports_levels_sessions_and_hostile_requests_against_a_launched_app(tmp_path):
    out = tmp_path / "load.json"
    stdout = run_documented("nin.bench_load", "--launch", "--baseline", "--levels", "1,2", "--requests", "4",
                            "--rounds", "2", "--sessions", "4", "--out", str(out), timeout=600)
    report = json.loads(out.read_text())
    sequential, concurrent = report["levels"]
    assert (sequential["clients"], concurrent["clients"]) == (1, 2)
    assert sequential["rounds"] == concurrent["rounds"] == 2 and len(concurrent["req_per_s_each_round"]) == 2
    assert sequential["ok"] == concurrent["ok"] == 8 and sequential["errors"] == concurrent["errors"] == 0
    assert sequential["vs_sequential"] == 1.0 and concurrent["vs_sequential"] > 0
    assert 0 < concurrent["p50_ms"] <= concurrent["p95_ms"]
    assert report["sessions"]["sessions"] == 4 and report["sessions"]["growth_mb"] is not None
    layer, live = report["attacks"]["layer_64mp"], report["attacks"]["live_1mb"]
    assert "64 megapixels" in layer["message"] and live["status"] == 413
    assert re.search(r"^ +2 +8 +0 ", stdout, re.MULTILINE)  # the printed table: 2 clients, 8 ok, 0 errors
    # The same levels against a minimal Gradio app (one Image in, one Label out): the framework's ceiling.
    minimal = report["baseline"]["levels"]
    assert [row["clients"] for row in minimal] == [1, 2] and all(row["ok"] == 8 and not row["errors"] for row in minimal)
    ratio = report["baseline"]["app_vs_minimal"]["2"]
    assert 0 < ratio and re.search(rf"^app ÷ minimal at 2 client\(s\): {ratio:.2f}", stdout, re.MULTILINE)
