"""Doodle templates of the sleeved tops: T-shirt, Pullover, Coat and Shirt, each from one outline of body and
sleeves (nin/train/doodles.py draws them)."""

from __future__ import annotations

import math

import numpy as np

from nin.train.doodle_hand import Stroke
from nin.train.doodle_pen import arc, box, dot, mirror


def neck(rng: np.random.Generator, cx: float, top: float, half: float) -> Stroke:
    """A neckline from the left shoulder's inner point to the right one: a U, a V or a flat curve."""
    depth = rng.uniform(0.04, 0.14)
    kind = rng.integers(3)
    if kind == 0:
        return arc(cx, top, half, depth, 180, 0)
    if kind == 1:
        return [(cx - half, top), (cx, top + depth * 1.4), (cx + half, top)]
    return arc(cx, top, half, depth * 0.5, 180, 0)


def _top(rng: np.random.Generator, sleeve: tuple[float, float], height: tuple[float, float],
         width: tuple[float, float]) -> tuple[Stroke, dict]:
    """A top's outline (T-shirt, pullover, shirt, coat) as one closed stroke, from the neck clockwise.
    `sleeve` is the sleeve's length range as a share of the height, `height`/`width` the body's ranges."""
    h, w = rng.uniform(*height), rng.uniform(*width)
    cx, top = 0.5, 0.5 - h / 2
    left, right, bottom = cx - w / 2, cx + w / 2, top + h
    neck = rng.uniform(0.08, 0.14)
    length = rng.uniform(*sleeve) * h
    angle = math.radians(rng.uniform(10, 85))  # sleeves hang down (small) or are held out (large)
    cuff = rng.uniform(0.09, 0.16)
    shoulder_drop = rng.uniform(0.0, 0.06)
    armpit = top + shoulder_drop + cuff * rng.uniform(1.0, 1.6)
    # The sleeve leaves the shoulder and points outwards and down at `angle` from vertical; the cuff runs
    # across its end, back towards the body.
    along = (math.sin(angle), math.cos(angle))
    tip = (right + along[0] * length, top + shoulder_drop + along[1] * length)
    cuff_end = (tip[0] - cuff * math.cos(angle), tip[1] + cuff * math.sin(angle))
    right_side = [(cx + neck, top), (right, top + shoulder_drop), tip, cuff_end, (right, armpit), (right, bottom)]
    # Down the right side and up the left: the neck stays open between the shoulders for the neckline.
    outline = right_side + [(1 - x, y) for x, y in right_side[::-1]]
    return outline, dict(cx=cx, top=top, bottom=bottom, left=left, right=right, neck=neck, tip=tip,
                         cuff_end=cuff_end, along=along, h=h, w=w)


def tshirt(rng: np.random.Generator) -> list[Stroke]:
    outline, p = _top(rng, sleeve=(0.18, 0.35), height=(0.55, 0.75), width=(0.38, 0.55))
    return [outline, neck(rng, p["cx"], p["top"], p["neck"])]


def pullover(rng: np.random.Generator) -> list[Stroke]:
    outline, p = _top(rng, sleeve=(0.6, 0.95), height=(0.55, 0.75), width=(0.36, 0.5))
    strokes = [outline, neck(rng, p["cx"], p["top"], p["neck"])]
    if rng.random() < 0.6:  # ribbed hem
        y = p["bottom"] - rng.uniform(0.04, 0.08)
        strokes.append([(p["left"], y), (p["right"], y)])
    if rng.random() < 0.5:  # cuffs: a line across each sleeve a little before its end
        back = np.asarray(p["along"]) * rng.uniform(0.03, 0.07)
        cuff = [tuple(np.asarray(p["tip"]) - back), tuple(np.asarray(p["cuff_end"]) - back)]
        strokes += [cuff, mirror(cuff, -1)]
    return strokes


def coat(rng: np.random.Generator) -> list[Stroke]:
    outline, p = _top(rng, sleeve=(0.55, 0.8), height=(0.75, 0.95), width=(0.38, 0.52))
    strokes = [outline]
    cx, top, bottom = p["cx"], p["top"], p["bottom"]
    strokes.append([(cx, top + rng.uniform(0.0, 0.12)), (cx, bottom)])  # the opening down the front
    collar = rng.integers(3)
    if collar == 0:  # lapels
        strokes.append([(cx - p["neck"], top), (cx - 0.02, top + rng.uniform(0.15, 0.25))])
        strokes.append([(cx + p["neck"], top), (cx + 0.02, top + rng.uniform(0.15, 0.25))])
    elif collar == 1:  # hood
        strokes.append(arc(cx, top, p["neck"] * 1.6, rng.uniform(0.1, 0.18), 180, 360))
    if rng.random() < 0.6:  # buttons
        x = cx + rng.choice((-1, 1)) * 0.04
        for y in np.linspace(top + 0.2 * p["h"], bottom - 0.15 * p["h"], int(rng.integers(2, 5))):
            strokes.append(dot(x, y))
    if rng.random() < 0.5:  # pockets
        y = top + rng.uniform(0.55, 0.7) * p["h"]
        for side in (-1, 1):
            x0 = cx + side * rng.uniform(0.07, 0.1)
            x1 = cx + side * (p["w"] / 2 - 0.04)
            strokes.append([(min(x0, x1), y), (max(x0, x1), y)])
    return strokes


def shirt(rng: np.random.Generator) -> list[Stroke]:
    long = rng.random() < 0.6
    outline, p = _top(rng, sleeve=(0.6, 0.85) if long else (0.18, 0.3), height=(0.6, 0.8), width=(0.38, 0.5))
    cx, top, bottom = p["cx"], p["top"], p["bottom"]
    collar_depth = rng.uniform(0.06, 0.12)
    strokes = [outline,
               [(cx - p["neck"], top), (cx - p["neck"] * 0.3, top + collar_depth * 1.6), (cx, top + collar_depth)],
               [(cx + p["neck"], top), (cx + p["neck"] * 0.3, top + collar_depth * 1.6), (cx, top + collar_depth)],
               [(cx, top + collar_depth), (cx, bottom)]]
    for y in np.linspace(top + 0.25 * p["h"], bottom - 0.1 * p["h"], int(rng.integers(0, 5))):
        strokes.append(dot(cx + 0.03, y))
    if rng.random() < 0.4:  # a breast pocket
        x, y = cx + rng.uniform(0.08, 0.12), top + 0.25 * p["h"]
        strokes.append(box(x, y, x + 0.08, y + 0.08))
    return strokes
