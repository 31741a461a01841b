"""The hand that draws a doodle (nin/train/doodles.py): strokes fitted to the app's canvas, tilted, stretched,
mirrored, corners rounded, the whole shape bent a little, wobbly, in pieces that stop short or overshoot, drawn
with one of the canvas's brushes.

The templates are polylines with sharp corners and true proportions; a quick hand rounds corners and bends long
lines, and draws the garment's parts a little out of proportion with each other. A network that learnt only the
templates' exact geometry reads them well (0.93 on held-out seeds) and people's doodles far worse, so the hand
varies that geometry too: rounding and a smooth bend are not any class's feature, so they teach the network to
look past them.

`render_doodle` turns strokes into the canvas's ink; `draw_hand` picks a hand at random, `steady_hand` is the
hand that draws people's doodles as they were drawn (nin/train/evaluate.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw

from nin.names import CANVAS_SIDE, EXPORT_SIDE  # doodles are drawn on the app's canvas, as a person would

BRUSHES = (8, 16, 28)  # the canvas's Thin, Medium and Thick brushes, in px of the 280 px canvas
THICK_SIZE = 0.8  # the least share of the canvas a drawing with the Thick brush fills
MAX_ROUNDING = 0.08  # the farthest before a corner a hand starts to turn, as a share of the doodle's size
MAX_BEND = 0.07  # the most a bend moves a point, as a share of the doodle's size

Point = tuple[float, float]
Stroke = list[Point]


@dataclass(frozen=True)
class DoodleHand:
    """How one doodle is drawn: everything random about it, drawn from its seed before any pixel is made."""

    size: float  # the doodle's longest side, as a share of the canvas
    stretch: tuple[float, float]  # x and y scale: proportions a little (or a lot) off
    angle: float  # degrees: up to 20 either way
    mirror: bool  # drawn the other way round (a shoe pointing right)
    centre: tuple[float, float]  # where on the canvas, as a share of it
    brush: int  # px on the 280 px canvas: one of BRUSHES
    wobble: float  # how far the hand drifts, as a share of the doodle's size
    pieces: int  # how many strokes an outline is drawn in (1-3)
    overshoot: float  # how far a stroke runs past its corner, as a share of the size
    short: float  # how much a stroke stops short, as a share of its length
    unfinished: bool  # the last detail stroke never drawn
    rounding: float = 0.0  # how far before a corner the hand turns, as a share of the size: a quick hand rounds
    #                        the corners it does not stop at
    bend: tuple[tuple[float, float, float, float], ...] = ()  # a smooth displacement, per axis (x, y): amplitude
    #                              as a share of the size, waves per size along x and along y, phase in radians


def draw_hand(rng: np.random.Generator) -> DoodleHand:
    size = rng.uniform(0.45, 0.92)
    stretch, angle = (rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2)), rng.uniform(-20, 20)
    mirror = bool(rng.random() < 0.5)
    centre_at = rng.uniform(-1, 1, 2)
    brush = int(rng.choice(BRUSHES))
    if brush == BRUSHES[-1]:
        # With the Thick brush a small drawing clogs into a blob (its line a fifth of the drawing's size), so
        # a person draws big: at least THICK_SIZE of the canvas, where its line is an eighth at most.
        size = max(size, THICK_SIZE)
    hand = DoodleHand(
        size=size, stretch=stretch, angle=angle, mirror=mirror,
        centre=(0.5 + centre_at[0] * (1 - size) * 0.4, 0.5 + centre_at[1] * (1 - size) * 0.4), brush=brush,
        wobble=rng.uniform(0.0, 0.025), pieces=int(rng.integers(1, 4)),
        overshoot=rng.uniform(0.0, 0.05) if rng.random() < 0.5 else 0.0,
        short=rng.uniform(0.02, 0.15) if rng.random() < 0.4 else 0.0, unfinished=bool(rng.random() < 0.15),
    )
    # Drawn after the fields above, so a seed's tilt, brush, size and the rest stay what they were before hands
    # rounded and bent.
    rounding = float(rng.uniform(0.02, MAX_ROUNDING)) if rng.random() < 0.6 else 0.0
    bend = tuple((float(rng.uniform(0.02, MAX_BEND)), *map(float, rng.uniform(-0.9, 0.9, 2)),
                  float(rng.uniform(0, 2 * math.pi))) for _ in range(2)) if rng.random() < 0.6 else ()
    return replace(hand, rounding=rounding, bend=bend)


def round_corners(stroke: np.ndarray, radius: float) -> np.ndarray:
    """Each corner of a polyline replaced by a curve that leaves its two sides `radius` before it (never more
    than 0.45 of a side, so short sides keep their shape). An open stroke keeps its two ends; a closed one
    (ending where it starts) has its first corner rounded too and stays closed."""
    if radius <= 0 or len(stroke) < 3:
        return stroke
    closed = len(stroke) > 3 and np.allclose(stroke[0], stroke[-1])
    corners = np.concatenate([stroke[-2:-1], stroke]) if closed else stroke
    out = [] if closed else [stroke[0]]
    t = np.linspace(0, 1, 5)[:, None]
    for p0, p1, p2 in zip(corners[:-2], corners[1:-1], corners[2:]):
        n0, n2 = np.linalg.norm(p0 - p1), np.linalg.norm(p2 - p1)
        if n0 < 1e-9 or n2 < 1e-9:
            out.append(p1)
            continue
        a = p1 + (p0 - p1) / n0 * min(radius, 0.45 * n0)
        b = p1 + (p2 - p1) / n2 * min(radius, 0.45 * n2)
        out += list((1 - t) ** 2 * a + 2 * (1 - t) * t * p1 + t**2 * b)  # a quadratic curve, the corner its pull
    out.append(out[0] if closed else stroke[-1])
    return np.asarray(out)


def bend_points(points: np.ndarray, hand: DoodleHand, origin: np.ndarray) -> np.ndarray:
    """Points on the canvas moved by the hand's smooth bend: each axis shifted by a sine wave over the doodle,
    so long lines curve and parts shift against each other, by at most the bend's amplitude."""
    if not hand.bend:
        return points
    size = hand.size * CANVAS_SIDE
    u = (points - origin) / size
    shift = [amp * size * np.sin(2 * math.pi * (kx * u[:, 0] + ky * u[:, 1]) + phase)
             for amp, kx, ky, phase in hand.bend]
    return points + np.stack(shift, 1)


def _resample(stroke: Stroke, step: float) -> np.ndarray:
    points = np.asarray(stroke, dtype=np.float64)
    out = [points[0]]
    for a, b in zip(points[:-1], points[1:]):
        n = max(1, int(np.linalg.norm(b - a) / step))
        out += [a + (b - a) * t for t in np.linspace(0, 1, n + 1)[1:]]
    return np.stack(out)


def steady_hand(brush: int = BRUSHES[1]) -> DoodleHand:
    """A hand that draws strokes exactly as given, fitted to the canvas as a person fills it, with one brush:
    for drawings whose strokes were recorded (people's doodles)."""
    return DoodleHand(size=0.8, stretch=(1.0, 1.0), angle=0.0, mirror=False, centre=(0.5, 0.5), brush=brush,
                      wobble=0.0, pieces=1, overshoot=0.0, short=0.0, unfinished=False)


def render_doodle(strokes: list[Stroke], hand: DoodleHand, rng: np.random.Generator) -> np.ndarray:
    """Strokes (any coordinates, y down; fitted to the canvas) -> the canvas's ink, float32 [EXPORT_SIDE, EXPORT_SIDE] in
    [0, 1], drawn by `hand`."""
    if hand.unfinished and len(strokes) > 2:
        strokes = strokes[:-1]
    points = [np.asarray(s, dtype=np.float64) for s in strokes if len(s)]
    allpts = np.concatenate(points)
    lo, hi = allpts.min(0), allpts.max(0)
    extent = max(float((hi - lo).max()), 1e-6)
    points = [round_corners(stroke, hand.rounding * extent) for stroke in points]
    c, s = math.cos(math.radians(hand.angle)), math.sin(math.radians(hand.angle))
    rotate = np.array([[c, -s], [s, c]])
    centre = (lo + hi) / 2
    scale = hand.size * CANVAS_SIDE / extent
    origin = np.asarray(hand.centre) * CANVAS_SIDE  # where the doodle's centre lands on the canvas
    image = Image.new("L", (CANVAS_SIDE, CANVAS_SIDE), 0)
    pen = ImageDraw.Draw(image)
    for stroke in points:
        stroke = (stroke - centre) * np.asarray(hand.stretch)
        if hand.mirror:
            stroke = stroke * [-1, 1]
        stroke = stroke @ rotate.T * scale + origin
        for piece in _pieces(stroke, hand, rng):
            line = bend_points(_resample(piece, 4.0), hand, origin)
            if len(line) >= 7 and hand.wobble:
                noise = rng.normal(0, hand.wobble * hand.size * CANVAS_SIDE, line.shape)
                kernel = np.ones(7) / 7
                line = line + np.stack([np.convolve(noise[:, k], kernel, mode="same") for k in range(2)], 1)
            pen.line([tuple(p) for p in line], fill=255, width=hand.brush, joint="curve")
            if len(line) == 1 or np.allclose(line[0], line[-1]):
                r = hand.brush / 2
                pen.ellipse([line[0][0] - r, line[0][1] - r, line[0][0] + r, line[0][1] + r], fill=255)
    small = image.resize((EXPORT_SIDE, EXPORT_SIDE), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def _pieces(stroke: np.ndarray, hand: DoodleHand, rng: np.random.Generator) -> list[np.ndarray]:
    """A stroke as the hand draws it: split at corners into up to `hand.pieces` strokes, each running a little
    past its end (overshoot) or stopping short of it."""
    cuts = sorted(rng.choice(np.arange(1, len(stroke) - 1), size=min(hand.pieces - 1, max(0, len(stroke) - 2)),
                         replace=False).tolist()) if len(stroke) > 2 else []
    parts = np.split(stroke, cuts) if cuts else [stroke]
    # Consecutive pieces share their corner, as a pen that lifts and starts again where it stopped.
    parts = [np.concatenate([p, parts[i + 1][:1]]) if i + 1 < len(parts) else p for i, p in enumerate(parts)]
    out = []
    size = hand.size * CANVAS_SIDE
    for p in parts:
        if len(p) >= 2 and hand.overshoot:
            d = p[-1] - p[-2]
            n = np.linalg.norm(d)
            if n > 0:
                p = np.concatenate([p, [p[-1] + d / n * hand.overshoot * size]])
        if len(p) >= 2 and hand.short:
            line = _resample(p, 2.0)
            p = line[: max(2, int(len(line) * (1 - hand.short)))]
        out.append(p)
    return out
