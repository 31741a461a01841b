"""nin.bench as a specification: one run times both pipelines on one device and reports their ratio."""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_on_cpu_prints_both_pipelines_and_the_ratio(tmp_path, official_data):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "nin.bench", "--device", "cpu", "--limit", "64", "--batch-size", "8",
         "--warmup-steps", "1", "--steps", "2", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = {name: float(value.replace(",", "")) for name, value in
               re.findall(r"^(reference|project)\b.*: ([\d,.]+) examples/s$", proc.stdout, re.MULTILINE)}
    assert set(printed) == {"reference", "project"} and all(v > 0 for v in printed.values())
    assert re.search(r"^ratio project/reference: [\d.]+x$", proc.stdout, re.MULTILINE)

    report = json.loads(out.read_text())
    reference, project = report["reference"], report["project"]
    assert reference["steps"] == project["steps"] == 2 and reference["examples"] == project["examples"] == 16
    assert reference["precision"] == "fp32" and reference["workers"] == 4
    assert project["precision"] == "fp32"  # what the trainer uses on a CPU
    assert report["ratio"] == project["examples_per_s"] / reference["examples_per_s"]
