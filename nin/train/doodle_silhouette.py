"""A Fashion-MNIST image's own silhouette, simplified to the polygon a person who glanced at it would draw
(nin/train/doodles.py draws it)."""

from __future__ import annotations

import math

import numpy as np

from nin.train.doodle_hand import Stroke


def simplified(image: np.ndarray, rng: np.random.Generator) -> list[Stroke]:
    """A Fashion-MNIST image's silhouette as a polygon of 8-16 corners (in the unit box), as drawn by someone
    who glanced at it: rays from the shape's centre find its farthest point, and only a few rays are cast.
    A ray that meets no garment (down between trouser legs) gives the centre: the notch a person draws there.
    [] when the image holds too little garment to draw."""
    mask = image > 0.15 * max(1, int(image.max()))
    ys, xs = np.nonzero(mask)
    if len(xs) < 20:
        return []
    cy, cx = ys.mean(), xs.mean()
    corners = int(rng.integers(8, 17))
    steps = np.arange(0, 40, 0.5)
    points = []
    for a in rng.uniform(0, 2 * math.pi) + np.linspace(0, 2 * math.pi, corners, endpoint=False):
        x = np.round(cx + math.cos(a) * steps).astype(int)
        y = np.round(cy + math.sin(a) * steps).astype(int)
        on = (x >= 0) & (x < 28) & (y >= 0) & (y < 28)
        hit = np.flatnonzero(mask[y[on], x[on]])
        r = steps[on][hit[-1]] if len(hit) else 0.0
        points.append(((cx + math.cos(a) * r) / 28, (cy + math.sin(a) * r) / 28))
    return [points + [points[0]]]
