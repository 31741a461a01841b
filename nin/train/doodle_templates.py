"""Doodle templates of the other classes: Dress, Trouser, Sandal, Sneaker, Bag and Ankle boot (nin/train/doodles.py
draws them)."""

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
        strokes.append(dot(0.5, top + h * 0.45))
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
