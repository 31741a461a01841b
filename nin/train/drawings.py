"""Fashion-MNIST images drawn the way people draw them, for training and for the drawn test set.

People who draw a garment on the canvas draw its shape: a filled silhouette, or an outline at whatever brush
width they picked, wobbly, often not quite closed, sometimes with a line inside (a collar, a waistband, a zip),
sometimes coloured in with a hurried zigzag. The network was trained on product photos and reads such drawings
poorly, so training shows it drawings too. This module makes them from the dataset's own images, so every
drawing keeps its true label:

  silhouette  the garment's shape filled in, as with a fat brush
  outline     the shape's edge as a stroke of 4-14 px on the 280 px canvas, wobbly, a gap in 4 of 10, inner
              detail lines in 6 of 10 (taken from the image's own strong inner edges: a coat's zip, a shirt's
              placket, a pullover's waistband, a sneaker's sole; the canvas path keeps them dark inside the
              filled shape, as they are in the photos)
  scribble    an outline coloured in with zigzag strokes

The ink (white on black, like the canvas's alpha, at 140 px) then goes through
`nin.ink.ink_to_image`, the canvas path the app runs on every drawing (outline filling, stroke evening,
trim, fit, centre), so training sees exactly what serving sends. Everything is seeded: the same seed, style and
image give the same drawing. Geometry is done in torch on the CPU, a batch at a time; it is not a model and
holds no training loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from nin.ink import EmptyDrawing, ink_to_image
from nin.masks import outside, skeleton
from nin.names import EXPORT_SIDE
from nin.train.doodles import doodle_images
from nin.train.parallel import in_parallel
from nin.model import NUM_CLASSES

# Drawings are made at the side the live canvas sends its ink at, where the canvas path fills outlines
# (nin.names.EXPORT_SIDE). Stroke widths below are in its pixels.
CANVAS = EXPORT_SIDE
STYLES = ("silhouette", "outline", "scribble")
TEST_STYLES = ("silhouette", "outline")  # the drawn test set: the two ways people mostly draw
TRAIN_STYLE_WEIGHTS = (0.3, 0.55, 0.15)  # silhouette, outline, scribble: outlines are the hard, common case
DRAWN_TEST_SEED = 20261202  # fixes the drawn test set: change it and every report's drawn figures change
DRAWN_TEST_PER_CLASS = 100  # 1,000 test images per style, 100 of each class
MAX_HOLE_SHARE = 0.2  # holes in a garment's shape smaller than this share of it are filled (see _fill_small_holes)
MIN_DETAIL_EXTENT = 5  # px of the 28 px image: a shorter edge is a print or a button, not a line people draw
MAX_DETAIL_THICKNESS = 4  # px: an edge region wider than this (pixels per px of extent) is texture, not a line
MAX_DETAIL_LINES = 3  # people draw a few lines inside a garment, not its every seam
CHUNK = 256  # images rendered before they go through the canvas path: 256 x 140 x 140 float32 is 20 MB


@dataclass(frozen=True)
class Hand:
    """How one drawing is drawn: everything random about it, drawn from the seed before any pixel is made."""

    style: str
    size: float  # the drawing's longest side, as a share of the canvas
    stretch: tuple[float, float]  # people get proportions a little wrong: x and y scale
    angle: float  # radians; a drawing is rarely exactly upright
    shift: tuple[float, float]  # where on the canvas it sits, in [-1, 1] grid units
    level: float  # the share of the garment's brightest pixel that counts as garment
    width: int  # stroke width in px of the 140 px ink (twice that on the app's canvas)
    wobble: float  # how far the hand drifts, in px of the 140 px ink
    gap: bool  # the outline stops short of closing
    details: bool  # strong inner edges drawn as lines too


def draw_hand(rng: np.random.Generator, style: str) -> Hand:
    size = rng.uniform(0.45, 0.92)
    return Hand(
        style=style, size=size, stretch=(rng.uniform(0.88, 1.12), rng.uniform(0.88, 1.12)),
        angle=rng.uniform(-0.1, 0.1),
        shift=(rng.uniform(-1, 1) * (1 - size) * 0.9, rng.uniform(-1, 1) * (1 - size) * 0.9),
        level=rng.uniform(0.08, 0.3), width=int(rng.integers(2, 8)), wobble=rng.uniform(0.0, 3.5),
        gap=bool(rng.random() < 0.4), details=bool(rng.random() < 0.6),
    )


def _noise_field(rng: np.random.Generator, cells: int, amount_px: float) -> torch.Tensor:
    """A smooth random displacement [1, CANVAS, CANVAS, 2] in grid units: coarse noise, bicubically upsampled."""
    coarse = torch.from_numpy(rng.normal(0.0, 1.0, (1, 2, cells, cells)).astype(np.float32))
    field = F.interpolate(coarse, size=(CANVAS, CANVAS), mode="bicubic", align_corners=True)
    return field.permute(0, 2, 3, 1) * (2.0 * amount_px / CANVAS)


def _grid(hand: Hand, rng: np.random.Generator) -> torch.Tensor:
    """Where each canvas pixel samples the 28x28 image: placement, proportions, tilt and the hand's drift."""
    c, s = math.cos(hand.angle), math.sin(hand.angle)
    # affine_grid maps output (canvas) coordinates to input (image) coordinates: the inverse of drawing.
    sx, sy = hand.size * hand.stretch[0], hand.size * hand.stretch[1]
    theta = torch.tensor([[c / sx, s / sx, 0.0], [-s / sy, c / sy, 0.0]], dtype=torch.float32)
    theta[:, 2] = -theta[:, :2] @ torch.tensor(hand.shift, dtype=torch.float32)
    grid = F.affine_grid(theta[None], [1, 1, CANVAS, CANVAS], align_corners=False)
    return grid + _noise_field(rng, 4, hand.wobble)


def _dilate(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Dilation by a (2r+1)-square, as a row pass then a column pass: O(r) per pixel, not O(r^2)."""
    if radius <= 0:
        return x
    k = 2 * radius + 1
    x = F.max_pool2d(x, (1, k), stride=1, padding=(0, radius))
    return F.max_pool2d(x, (k, 1), stride=1, padding=(radius, 0))


def _erode(x: torch.Tensor, radius: int) -> torch.Tensor:
    return -_dilate(-x, radius)


def _fill_small_holes(shape: torch.Tensor) -> torch.Tensor:
    """The garment's shape [1, 1, 28, 28] as float, its holes filled when they are small beside it: a dark
    print on a T-shirt is no hole in what a person draws, but the gaps between a sandal's straps are."""
    mask = shape[0, 0].numpy()
    holes = ~outside(mask) & ~mask
    if holes.sum() < MAX_HOLE_SHARE * mask.sum():
        mask = mask | holes
    return torch.from_numpy(mask.astype(np.float32))[None, None]


def _inner_edges(image: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    """Where a person would draw detail inside the garment [1, 1, 28, 28] in {0, 1}: the image's strong inner
    edges, kept only where they run as a line (a zip, a collar, a waistband, a sole), the longest few.
    A print or a check is also strong edges, but nobody draws it: as ink it became dark blots in the filled
    shape, not lines."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 4
    kernels = torch.stack([kx, kx.T])[:, None]
    grad = F.conv2d(F.pad(image, (1, 1, 1, 1), mode="replicate"), kernels).norm(dim=1, keepdim=True)
    inside = _erode(shape, 2)
    grad = grad * inside
    top = grad.flatten().max()
    edges = ((grad > 0.35 * top) & (top > 0.08))[0, 0].numpy()
    lines = [c for c in _components(edges)
             if (extent := _extent(c)) >= MIN_DETAIL_EXTENT and len(c) <= MAX_DETAIL_THICKNESS * extent]
    out = np.zeros(edges.shape, dtype=np.float32)
    for c in sorted(lines, key=len, reverse=True)[:MAX_DETAIL_LINES]:
        out[tuple(np.transpose(c))] = 1.0
    return torch.from_numpy(out)[None, None]


def _components(mask: np.ndarray) -> list[np.ndarray]:
    """8-connected components of a small mask, each as its [k, 2] (row, column) indices."""
    seen = np.zeros_like(mask, dtype=bool)
    h, w = mask.shape
    found = []
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        seen[start] = True
        stack, members = [start], []
        while stack:
            y, x = stack.pop()
            members.append((y, x))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    v, u = y + dy, x + dx
                    if 0 <= v < h and 0 <= u < w and mask[v, u] and not seen[v, u]:
                        seen[v, u] = True
                        stack.append((v, u))
        found.append(np.array(members))
    return found


def _extent(component: np.ndarray) -> int:
    """A component's longest side of its bounding box, in px."""
    return int((component.max(0) - component.min(0)).max()) + 1


def render_ink(images: np.ndarray, hands: list[Hand], seeds: list[int]) -> np.ndarray:
    """Fashion-MNIST images uint8 [N, 28, 28] -> ink float32 [N, 280, 280] in [0, 1], one `Hand` each."""
    out = np.zeros((len(images), CANVAS, CANVAS), dtype=np.float32)
    for i, (image, hand, seed) in enumerate(zip(images, hands, seeds)):
        out[i] = _render_one(torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)[None, None], hand,
                             np.random.default_rng(seed))
    return out


def _render_one(image: torch.Tensor, hand: Hand, rng: np.random.Generator) -> np.ndarray:
    top = float(image.max())
    if top <= 0:
        return np.zeros((CANVAS, CANVAS), dtype=np.float32)
    shape = _fill_small_holes(image > hand.level * top)
    details = _inner_edges(image, shape) if hand.details and hand.style == "outline" else None
    grid = _grid(hand, rng)
    # Sampled smoothly and cut at one half, the 28 px shape gets round edges at the canvas's resolution.
    mask = (F.grid_sample(shape, grid, mode="bilinear", padding_mode="zeros", align_corners=False) > 0.5).float()
    if hand.style == "silhouette":
        return mask[0, 0].numpy()
    half = max(1, hand.width // 2)
    # The edge: the shape's boundary grown inwards and outwards by half a stroke, then drifted on its own a
    # little, as a pen that follows the shape never follows it exactly.
    stroke = _dilate(mask, half) * (1 - _erode(mask, hand.width - half))
    drift = F.affine_grid(torch.eye(2, 3)[None], [1, 1, CANVAS, CANVAS], align_corners=False)
    drift = drift + _noise_field(rng, 9, min(1.5, hand.wobble / 2))
    stroke = (F.grid_sample(stroke, drift, mode="bilinear", align_corners=False) > 0.5).float()
    if hand.gap:
        stroke = stroke * _gap(stroke, rng)
    ink = stroke
    if details is not None and details.any():
        lines = (F.grid_sample(details, grid, mode="bilinear", align_corners=False) > 0.5)[0, 0].numpy()
        # Edges sampled up from 28 px are bands several px wide; a pen draws their centre line, at its width.
        centre = torch.from_numpy(skeleton(lines).astype(np.float32))[None, None]
        ink = torch.maximum(ink, _dilate(centre, max(1, half - 1)) * mask)
    if hand.style == "scribble":
        ink = torch.maximum(ink, _zigzag(mask, hand, rng))
    return ink[0, 0].numpy()


def _gap(stroke: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """A multiplier that erases one stretch of the outline, 4-9% of the canvas long: the stroke never closed."""
    ys, xs = torch.nonzero(stroke[0, 0], as_tuple=True)
    if len(ys) == 0:
        return torch.ones_like(stroke)
    k = int(rng.integers(len(ys)))
    radius = rng.uniform(0.02, 0.045) * CANVAS
    yy, xx = torch.meshgrid(torch.arange(CANVAS), torch.arange(CANVAS), indexing="ij")
    far = ((yy - ys[k]) ** 2 + (xx - xs[k]) ** 2).float() > radius ** 2
    return far.float()[None, None]


def _zigzag(mask: torch.Tensor, hand: Hand, rng: np.random.Generator) -> torch.Tensor:
    """Hurried colouring-in: parallel strokes across the shape, a stroke's width apart, at a random slant."""
    angle = rng.uniform(0, math.pi)
    spacing = hand.width * rng.uniform(1.8, 3.0)
    yy, xx = torch.meshgrid(torch.arange(CANVAS, dtype=torch.float32), torch.arange(CANVAS, dtype=torch.float32),
                            indexing="ij")
    phase = (xx * math.cos(angle) + yy * math.sin(angle)) % spacing
    return (phase < hand.width).float()[None, None] * mask


def hands_for(n: int, seed: int, style: str | None = None) -> tuple[list[Hand], list[int]]:
    """`n` hands and per-drawing seeds from one seed; `style` fixes the style, else TRAIN_STYLE_WEIGHTS pick."""
    rng = np.random.default_rng(seed)
    styles = [style] * n if style else list(rng.choice(STYLES, size=n, p=TRAIN_STYLE_WEIGHTS))
    seeds = rng.integers(0, 2**63 - 1, size=n).tolist()
    return [draw_hand(np.random.default_rng([s, 1]), str(st)) for s, st in zip(seeds, styles)], seeds


def draw_images(images: np.ndarray, seed: int, style: str | None = None) -> np.ndarray:
    """Fashion-MNIST images uint8 [N, 28, 28] -> the same garments drawn and sent through the canvas path,
    uint8 [N, 28, 28]. Deterministic for (`images`, `seed`, `style`), drawn in parallel or not."""
    images = np.asarray(images, dtype=np.uint8)
    hands, seeds = hands_for(len(images), seed, style)
    return in_parallel(_draw_part, images, hands, seeds)


def _draw_part(images: np.ndarray, hands: list[Hand], seeds: list[int]) -> np.ndarray:
    out = np.zeros((len(images), 28, 28), dtype=np.uint8)
    for start in range(0, len(images), CHUNK):
        stop = start + CHUNK
        inks = render_ink(images[start:stop], hands[start:stop], seeds[start:stop])
        for j, ink in enumerate(inks):
            try:
                out[start + j] = ink_to_image(ink).image
            except EmptyDrawing:  # nothing left of a faint garment: it is shown as itself
                out[start + j] = images[start + j]
    return out


def with_drawings(images: np.ndarray, share: float, seed: int, labels: np.ndarray | None = None,
                  doodles: float = 0.0) -> tuple[np.ndarray, int]:
    """A training epoch's images: a seeded `share` of them replaced by their drawings (fresh hands for every
    seed), another `doodles` share by doodles of their class (nin.train.doodles; needs `labels`), the rest
    left as they are. -> (uint8 [N, 28, 28], how many were drawn or doodled)."""
    images = np.asarray(images, dtype=np.uint8)
    rng = np.random.default_rng([seed, 2])
    n_drawn, n_doodled = round(share * len(images)), round(doodles * len(images))
    picked = rng.choice(len(images), size=n_drawn + n_doodled, replace=False)
    drawn, doodled = np.sort(picked[:n_drawn]), np.sort(picked[n_drawn:])
    out = images.copy()
    if len(drawn):
        out[drawn] = draw_images(images[drawn], int(rng.integers(2**63 - 1)))
    if len(doodled):
        if labels is None:
            raise ValueError("doodles need the images' labels")
        out[doodled] = doodle_images(images[doodled], np.asarray(labels)[doodled], int(rng.integers(2**63 - 1)))
    return out, len(picked)


def drawn_test_set(images: np.ndarray, labels: np.ndarray,
                   per_class: int = DRAWN_TEST_PER_CLASS) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The drawn test set: the same `per_class` official test images of each class (fixed by DRAWN_TEST_SEED),
    drawn in each of TEST_STYLES. -> {style: (uint8 [n, 28, 28], int64 labels [n])}. Fewer images come back
    when fewer are given (a run limited to the first N test images draws from those)."""
    images, labels = np.asarray(images, dtype=np.uint8), np.asarray(labels, dtype=np.int64)
    chosen = drawn_test_indices(labels, per_class)
    return {style: (draw_images(images[chosen], drawn_test_seed(style), style), labels[chosen])
            for style in TEST_STYLES}


def drawn_test_indices(labels: np.ndarray, per_class: int = DRAWN_TEST_PER_CLASS) -> np.ndarray:
    """Which official test images the drawn test set draws: `per_class` of each class, in index order."""
    rng = np.random.default_rng(DRAWN_TEST_SEED)
    return np.sort(np.concatenate([
        rng.permutation(np.flatnonzero(np.asarray(labels) == c))[:per_class] for c in range(NUM_CLASSES)]))


def drawn_test_seed(style: str) -> int:
    """The seed the drawn test set draws `style` with."""
    return DRAWN_TEST_SEED + TEST_STYLES.index(style)
