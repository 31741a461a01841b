"""`python -m nin.publish --run runs/best --name nin_fashion_mnist.safetensors`: ship a trained run in weights/.

Copies the run's weights.safetensors into weights/, scores it on all 10,000 official test images in fp32
on this machine (the figure the tests check the file against), and records in weights/metrics.json its
sha256, the run's per-epoch curves and header (recipe, seed, device, torch version, wall time), the
evaluation (accuracy, per-class accuracy, confusion matrix) and the command that reproduces it. Optionally
adds a `python -m nin.bench --out` report measured on the same device as the training.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from nin.data import load_fashion_mnist
from nin.evaluate import evaluate, sha256_of
from nin.model import load_weights, preprocessing_of

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
METRICS_FILE = WEIGHTS_DIR / "metrics.json"


def read_metrics(path: Path = METRICS_FILE) -> dict:
    return json.loads(path.read_text()) if path.exists() else {"files": {}}


def publish(run: Path, name: str, command: str, bench: Path | None = None, data_dir: str | None = None,
            weights_dir: Path = WEIGHTS_DIR) -> dict:
    """Copy, evaluate and record one run; returns the record written to metrics.json."""
    run_metrics = json.loads((run / "metrics.json").read_text())
    if run_metrics.get("status") not in (None, "complete"):
        raise SystemExit(f"{run}: run status is {run_metrics.get('status')!r}, not complete; refusing to ship it")
    target = weights_dir / name
    weights_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "weights.safetensors", target)
    model, metadata = load_weights(target)
    data = load_fashion_mnist(data_dir)
    report = evaluate(model, data.test_images, data.test_labels, preprocessing_of(metadata))
    record = {
        "sha256": sha256_of(target),
        "bytes": target.stat().st_size,
        "command": command,
        "run": {k: v for k, v in run_metrics.items() if k != "epochs"},
        "epochs": run_metrics.get("epochs", []),
        "evaluation_fp32_cpu": report,
    }
    metrics_path = weights_dir / "metrics.json"
    metrics = read_metrics(metrics_path)
    metrics["files"][name] = record
    if bench is not None:
        metrics["bench"] = json.loads(Path(bench).read_text())
    metrics_path.write_text(json.dumps(metrics, indent=1) + "\n")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description="Ship a trained run's weights in weights/ with verified metrics.")
    parser.add_argument("--run", required=True, help="a nin.train output folder (weights.safetensors + metrics.json)")
    parser.add_argument("--name", required=True, help="file name in weights/, e.g. nin_fashion_mnist.safetensors")
    parser.add_argument("--command", required=True, help="the exact command that produced the run, for the record")
    parser.add_argument("--bench", help="a `python -m nin.bench --out` JSON from the same device, to record too")
    parser.add_argument("--data-dir", help="folder with the four Fashion-MNIST files (default: search, see nin.data)")
    args = parser.parse_args()
    record = publish(Path(args.run), args.name, args.command, Path(args.bench) if args.bench else None, args.data_dir)
    evaluation = record["evaluation_fp32_cpu"]
    print(f"{args.name}: sha256 {record['sha256']}, test accuracy {evaluation['accuracy']:.4f} "
          f"on {evaluation['n']} official test images (fp32)")


if __name__ == "__main__":
    main()
