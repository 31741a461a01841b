"""Score a weight file on the official Fashion-MNIST test set: `python -m nin.evaluate --weights PATH`.

Loads through nin.model.load_weights (safetensors only), feeds the network exactly the preprocessing
recorded in the file's metadata (input size, mean, std; the d2l seed's 224 / 0 / 1 when absent), and
reports overall accuracy, per-class accuracy and the 10x10 confusion matrix (rows = true class,
columns = predicted), then the same for the drawn test set: official test images drawn as silhouettes and
as outlines, the way people draw (nin.train.drawings), through the app's canvas path, and for people's
doodles: real players' Quick, Draw! drawings, drawn on the canvas with the Medium brush. It measures; it does
not train and draws no pictures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nin.data import DeviceBatches, load_fashion_mnist
from nin.model import CLASS_NAMES, Preprocessing, load_weights, preprocessing_of
from nin.files import sha256_of
from nin.ink import ink_to_image
from nin.train.doodle_hand import render_doodle, steady_hand
from nin.train.drawings import drawn_test_set
from nin.train.runtime import resolve_device
from nin.train.scoring import confusion as confusion_counts
from nin.train.scoring import predict


@torch.no_grad()
def evaluate(model: nn.Module, images_u8: torch.Tensor, labels: torch.Tensor, preprocessing: Preprocessing,
             batch_size: int = 256, device: str | torch.device | None = None, predictions: bool = False) -> dict:
    """Accuracy, per-class accuracy and confusion matrix of `model` on uint8 [N, 28, 28] images (fp32, eval mode).

    `preprocessing` is a weight file's nin.model.Preprocessing; the pixels go through the same
    nin.data.to_model_input as in training. `device` defaults to the model's. Per-class accuracy is
    None for a class absent from `labels`. With `predictions=True` the report also holds "predictions":
    the predicted class of every image, in input order (a CPU int64 tensor [N]), e.g. to find which
    images fell in a confusion cell.
    """
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    device = torch.device(device)
    num_classes = len(CLASS_NAMES)
    batches = DeviceBatches(images_u8, labels, batch_size, device, shuffle=False, input_size=preprocessing.input_size,
                            mean=preprocessing.mean, std=preprocessing.std)
    predicted, truth = predict(model, batches)  # the classifying loop training uses too (nin.train.scoring), fp32
    confusion = confusion_counts(predicted, truth, num_classes).cpu()
    n = int(confusion.sum())
    per_class_total = confusion.sum(1).tolist()
    correct = confusion.diag().tolist()
    report = {
        "n": n,
        "accuracy": sum(correct) / n if n else None,
        "per_class_accuracy": {name: (c / t if t else None)
                               for name, c, t in zip(CLASS_NAMES, correct, per_class_total)},
        "per_class_count": dict(zip(CLASS_NAMES, per_class_total)),
        "confusion_matrix": confusion.tolist(),
        "class_names": list(CLASS_NAMES),
        "preprocessing": preprocessing.to_json(),
    }
    if predictions:
        report["predictions"] = predicted.cpu()
    return report



def evaluate_drawn(model: nn.Module, images_u8: torch.Tensor, labels: torch.Tensor, preprocessing: Preprocessing,
                   batch_size: int = 256, device: str | torch.device | None = None) -> dict[str, dict]:
    """`evaluate` on the drawn test set made from these test images: {style: report} (silhouette, outline)."""
    drawn = drawn_test_set(images_u8.numpy(), labels.numpy())
    return {style: evaluate(model, torch.from_numpy(images), torch.from_numpy(truth), preprocessing, batch_size, device)
            for style, (images, truth) in drawn.items()}


# People's doodles: 83 drawings made by players of Google's Quick, Draw! game (CC BY 4.0, Google), of the 7
# classes it has words for. They measure how the app reads people's drawings; nothing trains on them.
PEOPLES_DOODLES = Path(__file__).resolve().parents[2] / "tests" / "data" / "doodles" / "doodles.ndjson"
DOODLE_BRUSH = 16  # the canvas's Medium brush, its default


def peoples_doodles(path: Path = PEOPLES_DOODLES, brush: int = DOODLE_BRUSH) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """People's doodles drawn on the canvas with one brush and sent through the canvas path, as the app does
    with a drawing. -> (uint8 [N, 28, 28], int64 labels [N], the word each player was given)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    hand = steady_hand(brush)
    images = np.stack([ink_to_image(render_doodle([list(zip(xs, ys)) for xs, ys in row["drawing"]], hand,
                                                  np.random.default_rng(0))).image for row in rows])
    return images, np.array([row["label"] for row in rows], dtype=np.int64), [row["word"] for row in rows]


def evaluate_doodles(model: nn.Module, preprocessing: Preprocessing, batch_size: int = 256,
                     device: str | torch.device | None = None, path: Path = PEOPLES_DOODLES) -> dict:
    """`evaluate` on people's doodles, plus how the misreads spread: {class: share of all misreads} in
    "misread_as", and the largest such share in "top_misread_share"."""
    images, labels, _ = peoples_doodles(path)
    report = evaluate(model, torch.from_numpy(images), torch.from_numpy(labels), preprocessing, batch_size, device)
    confusion = np.asarray(report["confusion_matrix"])
    wrong = confusion.sum(0) - np.diag(confusion)
    total = int(wrong.sum())
    report["misread_as"] = {name: int(n) / total for name, n in zip(CLASS_NAMES, wrong) if n} if total else {}
    report["top_misread_share"] = max(report["misread_as"].values(), default=0.0)
    return report


def summary(report: dict) -> str:
    """A few readable lines: overall accuracy, then each class's accuracy and its commonest mistake, then the
    drawn test set's accuracy per style and per class."""
    lines = [f"test accuracy {report['accuracy']:.4f} on {report['n']} images ({report['weights']})"]
    for i, name in enumerate(report["class_names"]):
        row = report["confusion_matrix"][i]
        acc = report["per_class_accuracy"][name]
        wrong = [(count, j) for j, count in enumerate(row) if j != i and count]
        mistake = f", most often taken for {report['class_names'][max(wrong)[1]]} ({max(wrong)[0]})" if wrong else ""
        lines.append(f"  {name:<12} {'-' if acc is None else f'{acc:.3f}'}{mistake}")
    for style, drawn in report.get("drawn", {}).items():
        lines.append(f"drawn test set, {style}s: accuracy {drawn['accuracy']:.4f} on {drawn['n']} images")
        lines.append("  " + ", ".join(f"{name} {'-' if acc is None else f'{acc:.2f}'}"
                                      for name, acc in drawn["per_class_accuracy"].items()))
    doodles = report.get("doodles")
    if doodles:
        right = sum(row[i] for i, row in enumerate(doodles["confusion_matrix"]))
        lines.append(f"people's doodles (Quick, Draw!, CC BY 4.0 Google): accuracy {doodles['accuracy']:.4f}, "
                     f"{right} of {doodles['n']} right")
        lines.append("  " + ", ".join(f"{name} {acc:.2f}" for name, acc in doodles["per_class_accuracy"].items()
                                      if acc is not None))
        spread = ", ".join(f"{name} {share:.0%}" for name, share in
                           sorted(doodles["misread_as"].items(), key=lambda kv: -kv[1]))
        lines.append(f"  misreads taken for: {spread or 'none'}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m nin.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", type=Path, required=True, help="a weights.safetensors written by nin.train")
    p.add_argument("--data-dir", help="folder with the four Fashion-MNIST files (default: search, see nin.data)")
    p.add_argument("--limit", type=int, metavar="N", help="score the first N test images only")
    p.add_argument("--out", type=Path, help="also write the full report (confusion matrix included) as JSON here")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    p.add_argument("--batch-size", type=int, default=256, help="images per forward pass")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    from nin.data import DataSourceError
    from nin.model import WeightsError

    args = parse_args(argv)
    device = resolve_device(args.device)
    try:
        model, metadata = load_weights(args.weights, device)
        data = load_fashion_mnist(args.data_dir)
    except (WeightsError, DataSourceError) as exc:
        raise SystemExit(f"nin.train.evaluate: {exc}") from None
    if "preprocessing" not in metadata:
        print(f"nin.train.evaluate: {args.weights} records no preprocessing; using the d2l seed's (224, mean 0, std 1)",
              file=sys.stderr)
    images, labels, preprocessing = data.test_images[:args.limit], data.test_labels[:args.limit], preprocessing_of(metadata)
    report = evaluate(model, images, labels, preprocessing, args.batch_size, device)
    drawn = evaluate_drawn(model, images, labels, preprocessing, args.batch_size, device)
    doodles = evaluate_doodles(model, preprocessing, args.batch_size, device)
    report = {
        "weights": str(args.weights), "weights_sha256": sha256_of(args.weights), **report, "drawn": drawn,
        "doodles": doodles,
        "recorded_metrics": metadata.get("metrics"),  # what training measured, to compare against
        "data_source": str(data.source), "device": str(device), "torch_version": torch.__version__,
    }
    print(summary(report))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
