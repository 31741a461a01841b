"""Garments doodled the way people doodle them, for training: a few quick strokes per class, not a tracing.

The drawings of nin.train.drawings trace the dataset's own silhouettes, so a network trained on them reads a
careful outline well and a doodle badly. People draw a garment from memory, in one to six quick strokes:
trousers as a Π, a shoe as an L, sleeves held out, flip flops seen from above, a purse as a box with a handle,
shorts for pants; outlines left open, overshooting corners, a line missing. This module draws such doodles:

  template    per class, stroke templates with wide variation (TEMPLATES: a T-shirt's short sleeves and
              neckline, a coat's centre line, buttons, collar or hood and pockets, a sandal's straps from the
              side or a flip flop from above, a bag's box with one or two handles, ...)
  simplified  the training image's own silhouette cut down to a polygon of 8-16 corners, as a person who
              looked at the garment once would draw it

Either is then drawn by a hand (`DoodleHand`, nin/train/doodle_hand.py): tilted up to 20 degrees, stretched, mirrored, wobbly, in one to
six strokes that stop short or overshoot, sometimes unfinished, with one of the canvas's three brushes, and
sent through `nin.ink.ink_to_image`, the canvas path the app runs, so training sees what serving sends.
Everything is seeded: the same seed and label give the same doodle. Nothing here reads people's drawings:
the people's doodles in tests/data are for measuring only.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from nin.ink import EmptyDrawing, ink_to_image
from nin.model import CLASS_NAMES, NUM_CLASSES
from nin.train.doodle_hand import Stroke, draw_hand, render_doodle
from nin.train.parallel import in_parallel

TEMPLATE_SHARE = 0.7  # the rest are the image's own silhouette simplified
MAX_STROKES = 6  # a doodle is a few strokes: the outline first, then the details that fit



# ----------------------------------------------------------------------------- shapes in a unit box (y down)

def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 8) -> Stroke:
    """Points on an ellipse from angle `start` to `stop` (degrees, 0 = right, 90 = down)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, stop, n)]


def box(left: float, top: float, right: float, bottom: float) -> Stroke:
    return [(left, top), (right, top), (right, bottom), (left, bottom), (left, top)]


def _neck(rng: np.random.Generator, cx: float, top: float, half: float) -> Stroke:
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
    return [outline, _neck(rng, p["cx"], p["top"], p["neck"])]


def pullover(rng: np.random.Generator) -> list[Stroke]:
    outline, p = _top(rng, sleeve=(0.6, 0.95), height=(0.55, 0.75), width=(0.36, 0.5))
    strokes = [outline, _neck(rng, p["cx"], p["top"], p["neck"])]
    if rng.random() < 0.6:  # ribbed hem
        y = p["bottom"] - rng.uniform(0.04, 0.08)
        strokes.append([(p["left"], y), (p["right"], y)])
    if rng.random() < 0.5:  # cuffs: a line across each sleeve a little before its end
        back = np.asarray(p["along"]) * rng.uniform(0.03, 0.07)
        cuff = [tuple(np.asarray(p["tip"]) - back), tuple(np.asarray(p["cuff_end"]) - back)]
        strokes += [cuff, _mirror(cuff, -1)]
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
            strokes.append(_dot(x, y))
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
        strokes.append(_dot(cx + 0.03, y))
    if rng.random() < 0.4:  # a breast pocket
        x, y = cx + rng.uniform(0.08, 0.12), top + 0.25 * p["h"]
        strokes.append(box(x, y, x + 0.08, y + 0.08))
    return strokes


def dress(rng: np.random.Generator) -> list[Stroke]:
    h = rng.uniform(0.75, 0.95)
    top, bottom = 0.5 - h / 2, 0.5 + h / 2
    shoulder = rng.uniform(0.1, 0.16)
    waist_y = top + rng.uniform(0.3, 0.45) * h
    waist = rng.uniform(0.08, 0.14)
    hem = rng.uniform(0.2, 0.42)  # fitted (narrow) to A-line (wide)
    bust_y = top + rng.uniform(0.12, 0.2) * h
    right = [(0.5 + shoulder, top), (0.5 + shoulder * 1.1, bust_y), (0.5 + waist, waist_y), (0.5 + hem, bottom)]
    outline = right + [(1 - x, y) for x, y in right[::-1]]
    strokes = [outline]
    kind = rng.integers(3)
    if kind == 0:  # straps: the top is a neckline between two thin straps
        strap = rng.uniform(0.06, 0.12)
        strokes = [right[1:] + [(1 - x, y) for x, y in right[1:][::-1]] + [right[1]],
                   [(0.5 - shoulder * 1.1 + 0.02, bust_y), (0.5 - shoulder + 0.01, top - strap)],
                   [(0.5 + shoulder * 1.1 - 0.02, bust_y), (0.5 + shoulder - 0.01, top - strap)]]
    elif kind == 1:  # a waist seam
        strokes.append([(0.5 - waist, waist_y), (0.5 + waist, waist_y)])
    if rng.random() < 0.5:
        strokes.append(_neck(rng, 0.5, top, shoulder * 0.6))
    return strokes


def trouser(rng: np.random.Generator) -> list[Stroke]:
    shorts = rng.random() < 0.2
    h = rng.uniform(0.35, 0.55) if shorts else rng.uniform(0.8, 0.95)
    w = rng.uniform(0.4, 0.6) if shorts else rng.uniform(0.3, 0.48)
    top, bottom = 0.5 - h / 2, 0.5 + h / 2
    crotch = top + rng.uniform(0.25, 0.45) * h if not shorts else top + rng.uniform(0.45, 0.7) * h
    flare = rng.uniform(-0.03, 0.06)
    leg_gap = rng.uniform(0.01, 0.06)
    right = [(0.5 + w / 2, top), (0.5 + w / 2 + flare, bottom), (0.5 + leg_gap, bottom), (0.5, crotch)]
    outline = [(0.5 - w / 2, top)] + right + [(1 - x, y) for x, y in right[:-1][::-1]]
    strokes = [outline if rng.random() < 0.7 else outline[1:]]  # the waist left open: a Π
    if rng.random() < 0.5:
        y = top + rng.uniform(0.04, 0.08)
        strokes.append([(0.5 - w / 2, y), (0.5 + w / 2, y)])
    return strokes


def sandal(rng: np.random.Generator) -> list[Stroke]:
    if rng.random() < 0.45:  # flip flops from above: a foot-shaped sole (or two) and a Y strap
        strokes = []
        pair = rng.random() < 0.6
        rx, ry = rng.uniform(0.1, 0.17), rng.uniform(0.3, 0.45)  # a pair is one size
        for cx in ((0.3, 0.7) if pair else (0.5,)):
            strokes.append(arc(cx, 0.5, rx, ry, 0, 360, 14))
            post = (cx + rng.uniform(-0.03, 0.03), 0.5 - ry * 0.65)
            strokes.append([(cx - rx * 0.95, 0.5 - ry * 0.05), post, (cx + rx * 0.95, 0.5 - ry * 0.05)])
        return strokes
    # Side view, toe to the left: a long low sole, straps rising over the foot.
    length, sole = rng.uniform(0.8, 1.0), rng.uniform(0.05, 0.12)
    left, bottom = 0.5 - length / 2, 0.5 + rng.uniform(0.05, 0.2)
    heel = rng.uniform(0.0, 0.12)
    outline = [(left, bottom - sole), (left + length, bottom - sole - heel), (left + length, bottom),
               (left, bottom), (left, bottom - sole)]
    strokes = [outline]
    for _ in range(int(rng.integers(1, 4))):
        a = left + rng.uniform(0.05, 0.6) * length
        b = min(left + length * 0.98, a + rng.uniform(0.15, 0.35) * length)
        height = rng.uniform(0.12, 0.3)
        mid = (a + b) / 2
        base = bottom - sole - heel * (mid - left) / length
        strokes.append(arc(mid, base, (b - a) / 2, height, 180, 360, 7))
    if rng.random() < 0.4:  # an ankle strap
        strokes.append(arc(left + 0.85 * length, bottom - sole - heel - 0.2, 0.06, 0.1, 0, 360, 8))
    return strokes


def sneaker(rng: np.random.Generator) -> list[Stroke]:
    """Side view, toe to the left (as in the dataset; the hand mirrors half of them): a low shoe, or the L
    people draw for "shoe", whose heel rises to about half its length (a boot's shaft rises to its length)."""
    length = rng.uniform(0.85, 1.0)
    left = 0.5 - length / 2
    right = left + length
    bottom = 0.5 + rng.uniform(0.1, 0.25)
    sole = rng.uniform(0.04, 0.09)
    if rng.random() < 0.4:  # the L: a flat top from the heel, dropping to the toe
        height = length * rng.uniform(0.4, 0.6)
        instep = left + length * rng.uniform(0.35, 0.55)
        toe_h = height * rng.uniform(0.35, 0.55)
        outline = [(right - 0.04, bottom - height), (right, bottom - height * 0.6), (right, bottom),
                   (left + 0.04, bottom), (left, bottom - toe_h * 0.5), (left + 0.05, bottom - toe_h),
                   (instep, bottom - toe_h * 1.1), (instep + 0.06, bottom - height),
                   (right - 0.04, bottom - height)]
        strokes = [outline if rng.random() < 0.6 else outline[:-1]]
        if rng.random() < 0.5:
            strokes.append([(left, bottom - sole), (right, bottom - sole)])
        return strokes
    height = length * rng.uniform(0.3, 0.45)
    top = bottom - height
    toe_h = height * rng.uniform(0.35, 0.55)
    collar_x = left + length * rng.uniform(0.55, 0.7)
    outline = [(left, bottom), (left, bottom - toe_h * 0.7), (left + 0.05, bottom - toe_h),
               (collar_x - length * 0.25, bottom - toe_h - height * 0.15), (collar_x - 0.05, top),
               (collar_x + 0.08, top + 0.04), (right - 0.03, top - 0.02), (right, bottom - height * 0.3),
               (right, bottom), (left, bottom)]
    strokes = [outline]
    if rng.random() < 0.75:
        strokes.append([(left, bottom - sole), (right, bottom - sole)])
    if rng.random() < 0.6:  # laces
        for k in range(int(rng.integers(2, 5))):
            x = collar_x - length * 0.22 + k * 0.05
            y = bottom - toe_h - height * 0.1 - k * 0.04
            strokes.append([(x, y), (x + 0.06, y + 0.05)])
    if rng.random() < 0.4:  # toe cap
        strokes.append(arc(left + 0.12, bottom - sole, 0.12, toe_h * 0.7, 180, 300, 6))
    if rng.random() < 0.4:  # a swoosh or stripe
        strokes.append([(left + length * 0.3, bottom - sole * 2), (collar_x, bottom - height * 0.6)])
    return strokes


def bag(rng: np.random.Generator) -> list[Stroke]:
    w, h = rng.uniform(0.55, 0.9), rng.uniform(0.4, 0.6)
    left, top = 0.5 - w / 2, 0.6 - h / 2
    right, bottom = left + w, top + h
    taper = rng.uniform(-0.08, 0.1)  # a tote widens to the top, a purse narrows
    body = [(left - taper, top), (right + taper, top), (right, bottom), (left, bottom), (left - taper, top)]
    if rng.random() < 0.25:  # a handbag with a rounded top
        body = arc(0.5, top + h * 0.3, w / 2, h * 0.3 + 0.05, 180, 360, 9) + [(right, bottom), (left, bottom),
                                                                          (left, top + h * 0.3)]
        top = top - 0.05
    strokes = [body]
    handles = 2 if rng.random() < 0.35 else 1
    span = rng.uniform(0.25, 0.45) * w
    lift = rng.uniform(0.15, 0.3)
    for k in range(handles):
        cx = 0.5 + (k - (handles - 1) / 2) * 0.06
        if rng.random() < 0.5:
            strokes.append(arc(cx, top, span / 2, lift, 180, 360, 9))
        else:
            strokes.append([(cx - span / 2, top), (cx - span / 2 + 0.03, top - lift), (cx + span / 2 - 0.03, top - lift),
                            (cx + span / 2, top)])
    if rng.random() < 0.35:  # a flap
        strokes.append([(left - taper, top), (0.5, top + h * rng.uniform(0.35, 0.55)), (right + taper, top)])
    if rng.random() < 0.25:  # a clasp
        strokes.append(_dot(0.5, top + h * 0.45))
    return strokes


def ankle_boot(rng: np.random.Generator) -> list[Stroke]:
    length = rng.uniform(0.75, 0.95)
    left = 0.5 - length / 2
    right = left + length
    bottom = 0.5 + rng.uniform(0.3, 0.42)
    height = length * rng.uniform(0.75, 1.1)
    shaft_w = length * rng.uniform(0.38, 0.5)
    foot_h = height * rng.uniform(0.25, 0.4)
    heel_h = rng.uniform(0.0, 0.1)
    outline = [(right - shaft_w, bottom - height), (right, bottom - height), (right, bottom), (left, bottom),
               (left, bottom - foot_h * 0.6), (left + 0.08, bottom - foot_h),
               (right - shaft_w, bottom - foot_h * 1.3), (right - shaft_w, bottom - height)]
    strokes = [outline]
    if heel_h > 0.04:
        strokes.append([(right - length * 0.25, bottom), (right - length * 0.25, bottom - heel_h), (right, bottom - heel_h)])
    if rng.random() < 0.5:  # sole line
        strokes.append([(left, bottom - 0.05), (right, bottom - 0.05)])
    if rng.random() < 0.4:  # laces or a zip down the shaft
        x = right - shaft_w * 0.5
        strokes.append([(x, bottom - height + 0.03), (x, bottom - foot_h)])
    return strokes


def _dot(x: float, y: float) -> Stroke:
    return [(x, y), (x + 0.005, y + 0.005)]


def _mirror(stroke: Stroke, side: int) -> Stroke:
    return stroke if side == 1 else [(1 - x, y) for x, y in stroke]


TEMPLATES: dict[int, Callable[[np.random.Generator], list[Stroke]]] = {
    CLASS_NAMES.index(name): fn for name, fn in (
        ("T-shirt/top", tshirt), ("Trouser", trouser), ("Pullover", pullover), ("Dress", dress), ("Coat", coat),
        ("Sandal", sandal), ("Shirt", shirt), ("Sneaker", sneaker), ("Bag", bag), ("Ankle boot", ankle_boot))
}
assert sorted(TEMPLATES) == list(range(NUM_CLASSES))


# ----------------------------------------------------------------------------- the dataset's shape, simplified

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


# ----------------------------------------------------------------------------- doodles for training

def doodle_ink(label: int, image: np.ndarray, seed: int) -> np.ndarray:
    """One doodle of class `label` as the canvas's ink [EXPORT_SIDE, EXPORT_SIDE]: from the class's templates, or from
    `image` (a Fashion-MNIST image of that class, uint8 [28, 28]) simplified. Deterministic for the seed."""
    rng = np.random.default_rng(seed)
    strokes = TEMPLATES[int(label)](rng) if rng.random() < TEMPLATE_SHARE else simplified(image, rng)
    if not strokes:
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
