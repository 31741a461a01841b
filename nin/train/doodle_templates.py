"""Doodle templates of Dress, Trouser and Bag (nin/train/doodles.py draws them; the sleeved tops are in
nin/train/doodle_tops.py, the shoes in nin/train/doodle_shoes.py)."""

from __future__ import annotations

import numpy as np

from nin.train.doodle_hand import Stroke
from nin.train.doodle_pen import arc, dot
from nin.train.doodle_tops import neck


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
        strokes.append(neck(rng, 0.5, top, shoulder * 0.6))
    return strokes


def trouser(rng: np.random.Generator) -> list[Stroke]:
    """Trousers as a Π: slim or wide legs, the waist sometimes left open, sometimes a waistband; or shorts."""
    shorts = rng.random() < 0.2
    h = rng.uniform(0.35, 0.55) if shorts else rng.uniform(0.8, 0.95)
    # People draw trousers wider than the dataset's photos show them: a Π nearly as wide as it is tall.
    wide = not shorts and rng.random() < 0.4
    w = rng.uniform(0.4, 0.6) if shorts else h * rng.uniform(0.65, 0.95) if wide else rng.uniform(0.3, 0.6)
    top, bottom = 0.5 - h / 2, 0.5 + h / 2
    crotch = top + rng.uniform(0.25, 0.45) * h if not shorts else top + rng.uniform(0.45, 0.7) * h
    flare = rng.uniform(-0.03, 0.06)
    # The legs stand apart (closed up, trousers read as a coat with its opening); a wide Π's often far apart.
    leg_gap = rng.uniform(0.03, 0.08) if not wide or rng.random() < 0.5 else rng.uniform(0.08, 0.2) * w
    right = [(0.5 + w / 2, top), (0.5 + w / 2 + flare, bottom), (0.5 + leg_gap, bottom), (0.5, crotch)]
    outline = [(0.5 - w / 2, top)] + right + [(1 - x, y) for x, y in right[:-1][::-1]]
    strokes = [outline if rng.random() < 0.7 else outline[1:]]  # the waist left open: a Π
    if rng.random() < 0.5:
        y = top + rng.uniform(0.04, 0.08)
        strokes.append([(0.5 - w / 2, y), (0.5 + w / 2, y)])
    return strokes


def bag(rng: np.random.Generator) -> list[Stroke]:
    """A handbag (a box or a dome with one or two handles), a tote (wider at the top, two long handles) or a
    purse (wide, with a flap and a clasp, a short handle or none). Handles stand above the body, where the
    canvas path keeps what they enclose dark, as the dataset shows a handle's opening."""
    kind = rng.choice(3, p=(0.45, 0.25, 0.3))
    if kind == 1:  # tote
        w, h = rng.uniform(0.5, 0.7), rng.uniform(0.5, 0.65)
        taper = rng.uniform(0.03, 0.1)
    elif kind == 2:  # purse
        w, h = rng.uniform(0.65, 0.85), rng.uniform(0.4, 0.55)
        taper = rng.uniform(-0.06, 0.02)
    else:
        w, h = rng.uniform(0.55, 0.85), rng.uniform(0.4, 0.6)
        taper = rng.uniform(-0.06, 0.05)
    left, top = 0.5 - w / 2, 0.62 - h / 2
    right, bottom = left + w, top + h
    body = [(left - taper, top), (right + taper, top), (right, bottom), (left, bottom), (left - taper, top)]
    if kind == 0 and rng.random() < 0.35:  # a dome: the top rounded
        body = arc(0.5, top + h * 0.35, w / 2, h * 0.35, 180, 360, 9) + [(right, bottom), (left, bottom),
                                                                     (left, top + h * 0.35)]
    strokes = [body]
    # Every bag has a handle or a flap: a box with neither is no bag to the eye.
    handles = 2 if kind == 1 or (kind == 0 and rng.random() < 0.3) else 1 if kind == 0 else int(rng.random() < 0.85)
    span = rng.uniform(0.3, 0.5) * w if kind != 1 else rng.uniform(0.35, 0.5) * w
    lift = rng.uniform(0.25, 0.4) if kind == 1 else rng.uniform(0.12, 0.28)
    for k in range(handles):
        cx = 0.5 + (k - (handles - 1) / 2) * rng.uniform(0.04, 0.1)
        if rng.random() < 0.6:
            strokes.append(arc(cx, top, span / 2, lift, 180, 360, 9))
        else:
            strokes.append([(cx - span / 2, top), (cx - span / 2 + 0.03, top - lift),
                            (cx + span / 2 - 0.03, top - lift), (cx + span / 2, top)])
    if kind == 2 or rng.random() < 0.2:  # a flap: a point, a curve or straight across, and its clasp
        depth = h * rng.uniform(0.35, 0.6)
        shape = rng.integers(3)
        if shape == 0:
            flap = [(left - taper, top), (0.5, top + depth), (right + taper, top)]
        elif shape == 1:
            flap = arc(0.5, top, w / 2 + taper, depth, 180, 0, 9)
        else:
            flap = [(left - taper * 0.6, top + depth * 0.7), (right + taper * 0.6, top + depth * 0.7)]
        strokes.append(flap)
        if rng.random() < 0.6:
            strokes.append(dot(0.5, top + depth * (0.8 if shape < 2 else 0.85)))
    elif rng.random() < 0.25:  # a clasp on the top's middle
        strokes.append(dot(0.5, top + h * 0.15))
    return strokes
