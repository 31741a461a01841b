"""`python -m nin.publish --run runs/cpu --name nin_cpu.safetensors --command "..."`: ship a trained run in weights/.

Copies the run's weights.safetensors into weights/, scores it on all 10,000 official test images in fp32
on this machine (the figure the tests check the file against), and records in weights/metrics.json its
sha256, the run's per-epoch curves and header (recipe, seed, device, torch version, wall time), the
evaluation (accuracy, per-class accuracy, confusion matrix) and the command that reproduces it. Beside
the weights it writes <stem>.confusion.png, a sprite of the first 8 official test images (by test index)
of every confusion cell, indexed in the file's record, for the app's model report (nin/metrics_file.py).
Then it rewrites weights/README.md, the model card, from metrics.json for every shipped file.

  --refresh        re-evaluate an already shipped file (no run folder), keeping its run and curves
  --allow-weak-classes  ship a file even though a class scores under 50% (the card then says so)

A file with a class under MIN_CLASS_ACC is refused: a BatchNorm-free NiN can lose a class channel for
good (a run that never predicted Sandal scored 0.76 overall), and the overall accuracy hides it.
  --card-only      rewrite weights/README.md from metrics.json, nothing else

A tool, not library: nothing imports it.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nin.names import IMAGE_SIZE
from nin.data import load_fashion_mnist
from nin.train.evaluate import evaluate, evaluate_doodles, evaluate_drawn
from nin.model import NUM_CLASSES, load_weights, preprocessing_of
from nin.train.model_card import model_card
from nin.metrics_file import MIN_CLASS_ACC, PER_CELL, read_metrics, weak_classes  # every class must score MIN_CLASS_ACC to ship
from nin.files import sha256_of, write_atomically

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
METRICS_FILE = WEIGHTS_DIR / "metrics.json"
SPRITE_SUFFIX = ".confusion.png"


# ----------------------------------------------------------------------------- the confusion sprite

def sprite_name(name: str) -> str:
    return name.removesuffix(".safetensors") + SPRITE_SUFFIX


def confusion_sprite(images_u8: np.ndarray, labels: np.ndarray, predictions: np.ndarray,
                     per_cell: int = PER_CELL) -> tuple[np.ndarray, list]:
    """The first `per_cell` images (by index) of every confusion cell, tiled, and the index to find them.

    One sprite row per non-empty cell, in (true, predicted) order, so the PNG reads as a list of cells.
    Returns the uint8 sprite [rows * 28, per_cell * 28] and cells[i][j] = [[image index, tile number], ...],
    where tile number t sits at row t // per_cell, column t % per_cell.
    """
    cells: list = [[[] for _ in range(NUM_CLASSES)] for _ in range(NUM_CLASSES)]
    picked = []
    for i in range(NUM_CLASSES):
        for j in range(NUM_CLASSES):
            indices = np.flatnonzero((labels == i) & (predictions == j))[:per_cell]
            if len(indices):
                row = len(picked)
                cells[i][j] = [[int(index), row * per_cell + c] for c, index in enumerate(indices)]
                picked.append(indices)
    s = IMAGE_SIZE
    sprite = np.zeros((max(1, len(picked)) * s, per_cell * s), dtype=np.uint8)
    for row, indices in enumerate(picked):
        for c, index in enumerate(indices):
            sprite[row * s:(row + 1) * s, c * s:(c + 1) * s] = images_u8[index]
    return sprite, cells


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image, mode="L").save(buffer, format="PNG", optimize=True)  # lossless: tiles are the real pixels
    return buffer.getvalue()


# ----------------------------------------------------------------------------- evaluate and record

def evaluate_file(path: Path, weights_dir: Path, data_dir: str | None = None, limit: int | None = None) -> dict:
    """Score one weight file in fp32 on CPU, write its confusion sprite beside it; the record's fresh fields."""
    model, metadata = load_weights(path)
    model = model.to(memory_format=torch.channels_last)  # 1.6x faster on CPU, same numbers
    data = load_fashion_mnist(data_dir)
    images, labels = data.test_images[:limit], data.test_labels[:limit]
    evaluation = evaluate(model, images, labels, preprocessing_of(metadata), predictions=True)
    predictions = evaluation.pop("predictions").numpy()
    drawn = evaluate_drawn(model, images, labels, preprocessing_of(metadata))
    doodles = evaluate_doodles(model, preprocessing_of(metadata))
    sprite, cells = confusion_sprite(images.numpy(), labels.numpy(), predictions)
    sprite_path = weights_dir / sprite_name(path.name)
    png = png_bytes(sprite)
    write_atomically(sprite_path, lambda tmp: tmp.write_bytes(png))
    return {
        "sha256": sha256_of(path),
        "bytes": path.stat().st_size,
        "evaluation_fp32_cpu": evaluation,
        # The drawn test set: the same official test images drawn as people draw (nin.train.drawings).
        "drawn_evaluation_fp32_cpu": {style: {k: e[k] for k in ("accuracy", "n", "per_class_accuracy")}
                                      for style, e in drawn.items()},
        # People's doodles: real Quick, Draw! players' drawings (CC BY 4.0, Google), drawn on the canvas with the
        # Medium brush; measured only, never trained on.
        "doodles_evaluation_fp32_cpu": {k: doodles[k] for k in ("accuracy", "n", "per_class_accuracy", "misread_as",
                                                                "top_misread_share")},
        "confusion_examples": {
            "sprite": sprite_path.name,
            "sha256": sha256_of(sprite_path),
            "bytes": len(png),
            "tile_size": IMAGE_SIZE,
            "columns": PER_CELL,
            "per_cell": PER_CELL,
            "tiles": sum(len(cell) for row in cells for cell in row),
            "cells": cells,  # cells[true][predicted] = [[official test index, tile number], ...]
        },
    }


class WeakClassError(SystemExit):
    """A file scores under MIN_CLASS_ACC on some class; it was not shipped."""


def check_classes(record: dict, target: Path, allow_weak: bool, remove: bool = True) -> None:
    """Refuse a file with a class under MIN_CLASS_ACC, unless allowed; `remove` deletes the just-copied file
    and its sprite (publish; a refresh leaves the shipped file alone). An allowed one gets
    `weak_classes_allowed` in its record, which the model card prints."""
    per_class = record["evaluation_fp32_cpu"]["per_class_accuracy"]
    weak = weak_classes(per_class)
    record.pop("weak_classes_allowed", None)
    if not weak:
        return
    if allow_weak:
        record["weak_classes_allowed"] = weak
        return
    for path in (target, target.parent / sprite_name(target.name)) if remove else ():
        path.unlink(missing_ok=True)
    raise WeakClassError(f"{target.name}: refusing to ship it: " + ", ".join(f"{c} {a:.3f}" for c, a in weak.items())
                         + f" under {MIN_CLASS_ACC} on the official test set (a dead class channel?). Train again, or "
                         "pass --allow-weak-classes and the model card will say so.")


def publish(run: Path, name: str, command: str, bench: Path | None = None, data_dir: str | None = None,
            weights_dir: Path = WEIGHTS_DIR, limit: int | None = None, trained_by: str | None = None,
            notes: list[str] | None = None, allow_weak: bool = False) -> dict:
    """Copy, evaluate and record one run, rewrite the model card; returns the record written to metrics.json."""
    run_metrics = json.loads((run / "metrics.json").read_text())
    if run_metrics.get("status") not in (None, "complete"):
        raise SystemExit(f"{run}: run status is {run_metrics.get('status')!r}, not complete; refusing to ship it")
    target = weights_dir / name
    weights_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "weights.safetensors", target)
    record = {
        "command": command,
        "run": {k: v for k, v in run_metrics.items() if k != "epochs"},
        "epochs": run_metrics.get("epochs", []),
        **({"trained_by": trained_by} if trained_by else {}),
        **({"notes": notes} if notes else {}),
        **evaluate_file(target, weights_dir, data_dir, limit),
    }
    check_classes(record, target, allow_weak)
    metrics = read_metrics(weights_dir)
    metrics["files"][name] = record
    if bench is not None:
        metrics["bench"] = json.loads(Path(bench).read_text())
    write_metrics_and_card(metrics, weights_dir)
    return record


def refresh(name: str, data_dir: str | None = None, weights_dir: Path = WEIGHTS_DIR, limit: int | None = None,
            notes: list[str] | None = None, allow_weak: bool = False) -> dict:
    """Re-evaluate a shipped file in place (new evaluation and sprite), keeping its command, run and curves."""
    metrics = read_metrics(weights_dir)
    record = metrics["files"].get(name)
    target = weights_dir / name
    if record is None or not target.exists():
        raise SystemExit(f"{name}: not shipped in {weights_dir} (file and metrics.json record); publish it with --run")
    if sha256_of(target) != record["sha256"]:
        raise SystemExit(f"{target}: sha256 differs from its record, so the recorded run is not this file's; "
                         "publish it again from its run with --run")
    record.update(evaluate_file(target, weights_dir, data_dir, limit))
    check_classes(record, target, allow_weak, remove=False)
    if notes is not None:
        record["notes"] = notes
    write_metrics_and_card(metrics, weights_dir)
    return record


def write_metrics_and_card(metrics: dict, weights_dir: Path) -> None:
    """Write metrics.json and README.md; records of weight files no longer in weights/ are dropped first."""
    for name in [n for n in metrics["files"] if not (weights_dir / n).exists()]:
        del metrics["files"][name]
        leftover = weights_dir / sprite_name(name)
        print(f"{name} is no longer in {weights_dir}: dropped its record"
              + (f"; remove {leftover} too (git rm)" if leftover.exists() else ""), file=sys.stderr)
    text = dumps(metrics) + "\n"
    write_atomically(weights_dir / "metrics.json", lambda tmp: tmp.write_text(text))
    card = model_card(metrics)
    write_atomically(weights_dir / "README.md", lambda tmp: tmp.write_text(card))


def dumps(value, indent: int = 0, width: int = 110) -> str:
    """JSON with one item per line, except that anything fitting in `width` stays on one line:
    confusion-matrix rows and example lists read as rows instead of a column of numbers."""
    flat = json.dumps(value)
    if not isinstance(value, (dict, list)) or not value or (indent and indent + len(flat) <= width):
        return flat
    pad = " " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 1, width)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    return "[\n" + ",\n".join(pad + dumps(v, indent + 1, width) for v in value) + "\n" + " " * indent + "]"


# ----------------------------------------------------------------------------- command line

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m nin.publish", description=__doc__.split("\n\n")[0],
                                epilog="Examples:\n  python -m nin.publish --run runs/cpu --name nin_cpu.safetensors "
                                       "--command \"python -m nin.train --recipe cpu --out runs/cpu\"\n"
                                       "  python -m nin.publish --refresh --name nin_provisional_cpu.safetensors\n"
                                       "  python -m nin.publish --card-only",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--run", type=Path, help="a nin.train output folder (weights.safetensors + metrics.json)")
    mode.add_argument("--refresh", action="store_true",
                      help="re-evaluate the shipped --name (new evaluation and sprite), keeping its run record")
    mode.add_argument("--card-only", action="store_true", help="only rewrite weights/README.md from metrics.json")
    p.add_argument("--name", help="file name in weights/, e.g. nin_cpu.safetensors")
    p.add_argument("--command", help="with --run: the exact command that produced the run, for the record")
    p.add_argument("--trained-by", help="with --run: who trained it and on what machine, for the model card")
    p.add_argument("--note", action="append", dest="notes", metavar="TEXT",
                   help="a remark for the model card's section on this file (repeatable; replaces earlier notes)")
    p.add_argument("--allow-weak-classes", action="store_true", dest="allow_weak",
                   help=f"ship even if a class scores under {MIN_CLASS_ACC} (the model card says so)")
    p.add_argument("--bench", type=Path, help="a `python -m nin.bench --out` JSON from the same device, to record too")
    p.add_argument("--data-dir", help="folder with the four Fashion-MNIST files (default: search, see nin.data)")
    p.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR, help="where the shipped files live (default: weights/)")
    p.add_argument("--limit", type=int, metavar="N",
                   help="evaluate the first N test images only: for trying publish out, never for a shipped file")
    args = p.parse_args(argv)
    if (args.run or args.refresh) and not args.name:
        p.error("--run and --refresh need --name")
    if args.run and not args.command:
        p.error("--run needs --command")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.card_only:
        metrics = read_metrics(args.weights_dir)
        write_metrics_and_card(metrics, args.weights_dir)
        print(f"wrote {args.weights_dir / 'README.md'} for {len(metrics['files'])} file(s)")
        return
    if args.refresh:
        record = refresh(args.name, args.data_dir, args.weights_dir, args.limit, args.notes, args.allow_weak)
    else:
        record = publish(args.run, args.name, args.command, args.bench, args.data_dir, args.weights_dir,
                         args.limit, args.trained_by, args.notes, args.allow_weak)
    evaluation, examples = record["evaluation_fp32_cpu"], record["confusion_examples"]
    print(f"{args.name}: sha256 {record['sha256']}, test accuracy {evaluation['accuracy']:.4f} "
          f"on {evaluation['n']} official test images (fp32)")
    print(f"{examples['sprite']}: {examples['tiles']} tiles, {examples['bytes'] / 1024:.0f} KB; "
          f"wrote {args.weights_dir / 'metrics.json'} and {args.weights_dir / 'README.md'}")


if __name__ == "__main__":
    main()
