"""Garments doodled the way people doodle them, for training: a few quick strokes per class, not a tracing.

The drawings of nin.train.drawings trace the dataset's own silhouettes, so a network trained on them reads a
careful outline well and a doodle badly. People draw a garment from memory, in one to six quick strokes:
trousers as a Π, a shoe as an L, sleeves held out, flip flops seen from above, a purse as a box with a handle;
outlines left open, overshooting corners, a line missing. This module draws such doodles:

  template    per class, stroke templates with wide variation (TEMPLATES: a coat's opening, collar or hood
              and pockets, a pullover's cuffs and hem band, a sandal's straps or a flip flop from above, a
              bag's handles, ...): the sleeved tops in nin/train/doodle_tops.py, the shoes in
              nin/train/doodle_shoes.py, the rest in nin/train/doodle_templates.py
  simplified  the training image's own silhouette cut down to a polygon of 8-16 corners, as a person who
              glanced at the garment would draw it; a polygon that no longer shows its class (sleeves,
              legs, a dress's flare, a bag's box) is a blob several classes share, so the class's template
              is drawn instead (nin/train/doodle_silhouette.py)

Either is then drawn by a hand (`DoodleHand`, nin/train/doodle_hand.py): tilted up to 20 degrees, stretched,
mirrored, wobbly, in one to six strokes that stop short or overshoot, sometimes unfinished, with one of the
canvas's three brushes, and sent through `nin.ink.ink_to_image`, the canvas path the app runs, so training
sees what serving sends. Everything is seeded: the same seed and label give the same doodle. Nothing here
reads people's drawings: the people's doodles in tests/data are for measuring only.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from nin.ink import EmptyDrawing, ink_to_image
from nin.model import CLASS_NAMES, NUM_CLASSES
from nin.train.doodle_hand import Stroke, draw_hand, render_doodle
from nin.train.doodle_silhouette import silhouette_doodle, simplified
from nin.train.doodle_shoes import ankle_boot, sandal, sneaker
from nin.train.doodle_templates import bag, dress, trouser
from nin.train.doodle_tops import coat, pullover, shirt, tshirt
from nin.train.parallel import in_parallel

__all__ = ["MAX_STROKES", "TEMPLATES", "TEMPLATE_SHARE", "doodle_images", "doodle_ink", "silhouette_doodle",
           "simplified"]

TEMPLATE_SHARE = 0.7  # the rest are the image's own silhouette simplified
MAX_STROKES = 6  # a doodle is a few strokes: the outline first, then the details that fit


TEMPLATES: dict[int, Callable[[np.random.Generator], list[Stroke]]] = {
    CLASS_NAMES.index(name): fn for name, fn in (
        ("T-shirt/top", tshirt), ("Trouser", trouser), ("Pullover", pullover), ("Dress", dress), ("Coat", coat),
        ("Sandal", sandal), ("Shirt", shirt), ("Sneaker", sneaker), ("Bag", bag), ("Ankle boot", ankle_boot))
}
assert sorted(TEMPLATES) == list(range(NUM_CLASSES))


# ----------------------------------------------------------------------------- doodles for training

def doodle_ink(label: int, image: np.ndarray, seed: int) -> np.ndarray:
    """One doodle of class `label` as the canvas's ink [EXPORT_SIDE, EXPORT_SIDE]: from the class's templates, or from
    `image` (a Fashion-MNIST image of that class, uint8 [28, 28]) simplified. Deterministic for the seed."""
    rng = np.random.default_rng(seed)
    strokes = TEMPLATES[int(label)](rng) if rng.random() < TEMPLATE_SHARE else silhouette_doodle(image, label, rng)
    if not strokes:  # too little garment, or a polygon that no longer shows its class
        strokes = TEMPLATES[int(label)](rng)
    return render_doodle(strokes[:MAX_STROKES], draw_hand(rng), rng)


def doodle_images(images: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """Fashion-MNIST images uint8 [N, 28, 28] and their labels -> a doodle of each one's class, through the
    canvas path, uint8 [N, 28, 28]. Deterministic for (`images`, `labels`, `seed`)."""
    seeds = np.random.default_rng([seed, 3]).integers(0, 2**63 - 1, size=len(images))
    return in_parallel(_doodle_part, np.asarray(images, dtype=np.uint8), np.asarray(labels), seeds)


def _doodle_part(images: np.ndarray, labels: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    out = np.zeros((len(images), 28, 28), dtype=np.uint8)
    for i, (image, label, s) in enumerate(zip(images, labels, seeds)):
        try:
            out[i] = ink_to_image(doodle_ink(int(label), image, int(s))).image
        except EmptyDrawing:  # cannot happen with a template, but an empty image's polygon is nothing
            out[i] = image
    return out
