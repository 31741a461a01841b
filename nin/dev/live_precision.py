"""`python -m nin.dev.live_precision`: whether the canvas's live answers in bf16 are the answers fp32 gives.

The live answers run in bf16 where the CPU computes it natively (nin.serve.live_batch.live_precision). That is
allowed only while the answers stay the same: the top class equal to fp32's on at least 99.5% of the 10,000
official test images and of the drawn test set, and every probability within 1 point. This runs both
precisions through the live path's own model and pass (`live_model`, `answers_of`) on those images and prints the
figures: how many top classes agree, and the largest and the 99.9th-percentile probability difference.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from nin.data import load_fashion_mnist
from nin.model import load_weights, preprocessing_of
from nin.serve.live_batch import answers_of, live_model, native_bf16
from nin.serve.pipeline import WEIGHTS_DIR
from nin.train.drawings import drawn_test_set

MIN_AGREEMENT = 0.995   # top class equal to fp32's on at least this share of the images
MAX_PROB_DIFF = 0.01    # every probability within this of fp32's (1 point)


def probabilities(model: torch.nn.Module, images: np.ndarray, spec, precision: str, batch: int = 32) -> np.ndarray:
    """float32 [N, 10]: the live path's probabilities for uint8 [N, 28, 28] images, in `precision`."""
    model = live_model(model, precision)
    out = []
    for start in range(0, len(images), batch):
        out += [answer.probs for answer in answers_of(model, list(images[start:start + batch]), spec)]
    return np.stack(out)


def agreement(model: torch.nn.Module, images: np.ndarray, spec) -> dict:
    """How bf16's live answers compare with fp32's on `images`."""
    fp32 = probabilities(model, images, spec, "fp32")
    bf16 = probabilities(model, images, spec, "bf16")
    diff = np.abs(fp32 - bf16).max(axis=1)
    same = fp32.argmax(1) == bf16.argmax(1)
    return {"n": len(images), "top_class_agreement": float(same.mean()), "disagreements": int((~same).sum()),
            "max_prob_diff": float(diff.max()), "p999_prob_diff": float(np.quantile(diff, 0.999)),
            "meets": bool(same.mean() >= MIN_AGREEMENT and diff.max() <= MAX_PROB_DIFF)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="bf16 live answers against fp32's, on the official and drawn test sets.")
    parser.add_argument("--weights", type=Path, default=WEIGHTS_DIR / "nin_cpu.safetensors")
    parser.add_argument("--limit", type=int, default=None, help="only the first N official test images")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model, metadata = load_weights(args.weights, "cpu")
    spec = preprocessing_of(metadata)
    data = load_fashion_mnist(args.data_dir)
    images, labels = data.test_images[:args.limit].numpy(), data.test_labels[:args.limit].numpy()
    sets = {"official test": images}
    sets.update({f"drawn test ({style})": drawn for style, (drawn, _) in drawn_test_set(images, labels).items()})
    print(f"{args.weights.name}; this CPU computes bf16 natively: {native_bf16()}")
    results = {}
    for name, set_images in sets.items():
        result = results[name] = agreement(model, set_images, spec)
        print(f"{name}: {result['n']} images, top class equal on {result['top_class_agreement']:.2%} "
              f"({result['disagreements']} differ), probabilities within {result['max_prob_diff']:.4f} "
              f"(99.9th percentile {result['p999_prob_diff']:.4f}) -> "
              f"{'meets' if result['meets'] else 'MISSES'} the bar ({MIN_AGREEMENT:.1%}, {MAX_PROB_DIFF})")
    return results


if __name__ == "__main__":
    main()
