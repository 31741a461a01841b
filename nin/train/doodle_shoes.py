"""Doodle templates of the shoes: Sandal, Sneaker and Ankle boot (nin/train/doodles.py draws them).

Shoes are drawn from the side with the toe to the left, as the dataset shows them (the hand mirrors half of
them), except flip flops, which people draw from above. What tells them apart: a sneaker is low and closed,
with a flat sole line, a toe cap, laces and a heel tab; a sandal is a thin sole with straps over an open foot
(or, from above, a footprint with a Y strap); an ankle boot's shaft rises to about its length.
"""

from __future__ import annotations

import numpy as np

from nin.train.doodle_hand import Stroke
from nin.train.doodle_pen import arc

# A flip flop's half-width from toe (0) to heel (1), as a share of its widest: a round toe, the ball widest,
# the arch a little narrower, a round heel.
_FOOT_AT = (0.0, 0.04, 0.12, 0.25, 0.4, 0.55, 0.7, 0.85, 0.95, 1.0)
_FOOT_HALF = (0.0, 0.62, 0.92, 1.0, 0.9, 0.8, 0.8, 0.78, 0.6, 0.0)


def flip_flop(rng: np.random.Generator, cx: float, top: float, length: float, half: float,
              inner: int) -> list[Stroke]:
    """One flip flop from above, toe up: a foot-shaped sole and its Y strap from the toe post to both sides.
    `inner` (+1 or -1) is the big toe's side, where the sole bulges a little more."""
    bulge = rng.uniform(0.0, 0.25)
    right = [(cx + half * w * (1 + bulge * (inner == 1) * (t < 0.4)), top + t * length)
             for t, w in zip(_FOOT_AT, _FOOT_HALF)]
    left = [(cx - half * w * (1 + bulge * (inner == -1) * (t < 0.4)), top + t * length)
            for t, w in zip(_FOOT_AT, _FOOT_HALF)]
    sole = right + left[::-1][1:]
    post = (cx + inner * half * rng.uniform(0.1, 0.35), top + rng.uniform(0.13, 0.2) * length)
    y = top + rng.uniform(0.35, 0.45) * length
    strap = [(cx - half * 0.85, y), post, (cx + half * 0.85, y)]
    return [sole, strap]


def sandal(rng: np.random.Generator) -> list[Stroke]:
    """Flip flops from above (one, or a pair), or a sandal from the side: a thin sole, flat or on a wedge,
    with straps over the foot and often one round the ankle."""
    if rng.random() < 0.45:
        pair = rng.random() < 0.6
        length, half = rng.uniform(0.7, 0.95), rng.uniform(0.12, 0.17)  # a pair is one size
        if not pair:
            return flip_flop(rng, 0.5, 0.5 - length / 2, length, half, int(rng.choice((-1, 1))))
        gap = rng.uniform(0.1, 0.18)  # far enough apart that the canvas path keeps them two
        lift = rng.uniform(-0.05, 0.05)  # one foot a little ahead
        return (flip_flop(rng, 0.5 - half - gap, 0.5 - length / 2 + lift, length, half, 1)
                + flip_flop(rng, 0.5 + half + gap, 0.5 - length / 2 - lift, length, half, -1))
    length, sole = rng.uniform(0.85, 1.0), rng.uniform(0.04, 0.09)
    left, bottom = 0.5 - length / 2, 0.5 + rng.uniform(0.1, 0.2)
    right = left + length
    kind = rng.choice(3, p=(0.45, 0.25, 0.3))  # flat, on a wedge, on a heel
    heel = 0.0 if kind == 0 else rng.uniform(0.08, 0.18) if kind == 1 else rng.uniform(0.18, 0.32)
    ball = left + length * (0.0 if kind < 2 else rng.uniform(0.35, 0.45))  # where the sole starts to rise

    def sole_top(x: float) -> float:
        return bottom - sole - heel * max(0.0, x - ball) / (right - ball)

    if kind < 2:  # the sole, thin at the toe and thicker under the heel on a wedge
        outline = [(left + 0.03, bottom - sole), (right, sole_top(right)), (right, bottom), (left + 0.03, bottom),
                   (left, bottom - sole / 2), (left + 0.03, bottom - sole)]
    else:  # a thin sole rising from the ball to the heel, and the heel under it
        block = length * rng.uniform(0.06, 0.12)
        outline = [(left + 0.03, bottom - sole), (ball, bottom - sole), (right, sole_top(right)),
                   (right, bottom), (right - block, bottom), (right - block, sole_top(right - block) + sole),
                   (ball, bottom), (left + 0.03, bottom), (left, bottom - sole / 2), (left + 0.03, bottom - sole)]
    strokes = [outline]
    foot = rng.uniform(0.2, 0.32)  # how high the foot stands over the sole at the instep

    for k in range(int(rng.integers(1, 4))):  # straps over the toes and the instep
        a = left + length * (0.08 + 0.22 * k + rng.uniform(0.0, 0.06))
        b = min(right - 0.1, a + length * rng.uniform(0.15, 0.25))
        mid = (a + b) / 2
        strokes.append(arc(mid, sole_top(mid), (b - a) / 2, foot * (0.6 + 0.25 * k), 180, 360, 7))
    if rng.random() < 0.6:  # an ankle strap: up from the heel and round the ankle
        x = right - length * rng.uniform(0.1, 0.18)
        ankle = sole_top(x) - foot * rng.uniform(1.1, 1.4)
        rx = length * rng.uniform(0.08, 0.12)
        strokes.append([(right - 0.03, sole_top(right)), (x + rx, ankle)]
                       + arc(x, ankle, rx, rx * rng.uniform(0.4, 0.7), 0, 360, 10)[1:])
    return strokes


def sneaker(rng: np.random.Generator) -> list[Stroke]:
    """A low, closed shoe from the side: a round toe, a vamp rising to the tongue, the ankle opening and a heel
    tab at the back; a flat sole line, a toe cap, laces (a zigzag or ticks); sometimes a stripe. Or a
    shoe as people draw one for "shoe": a plain rounded profile with its opening, or an L, whose heel rises to
    about half its length (a boot's shaft rises to its length)."""
    length = rng.uniform(0.85, 1.0)
    left = 0.5 - length / 2
    right = left + length
    bottom = 0.5 + rng.uniform(0.1, 0.25)
    sole = rng.uniform(0.05, 0.1)
    kind = rng.choice(3, p=(0.45, 0.35, 0.2))  # a sneaker with its details, a plain shoe, the L
    if kind == 1:
        return plain_shoe(rng, left, length, bottom, sole)
    if kind == 2:  # the L: a flat top from the heel, dropping to the toe
        height = length * rng.uniform(0.4, 0.55)
        instep = left + length * rng.uniform(0.35, 0.55)
        toe_h = height * rng.uniform(0.35, 0.55)
        outline = [(right - 0.04, bottom - height), (right, bottom - height * 0.6), (right, bottom),
                   (left + 0.04, bottom), (left, bottom - toe_h * 0.5), (left + 0.05, bottom - toe_h),
                   (instep, bottom - toe_h * 1.1), (instep + 0.06, bottom - height),
                   (right - 0.04, bottom - height)]
        return [outline, [(left + 0.01, bottom - sole), (right, bottom - sole)]][:1 + int(rng.random() < 0.7)]
    height = length * rng.uniform(0.36, 0.5)
    top = bottom - height
    toe_h = height * rng.uniform(0.38, 0.5)
    tongue = left + length * rng.uniform(0.5, 0.6)  # where the vamp meets the ankle opening
    tab = rng.uniform(0.03, 0.08)  # how far the heel tab stands above the opening
    outline = [(left + 0.04, bottom), (left, bottom - toe_h * 0.45), (left + 0.06, bottom - toe_h),
               (left + length * 0.25, bottom - toe_h - height * 0.1), (tongue, top),
               (tongue + length * 0.08, top + height * rng.uniform(0.1, 0.2)), (right - 0.07, top + height * 0.08),
               (right - 0.04, top - tab), (right, top + height * 0.15), (right, bottom - sole), (right - 0.02, bottom),
               (left + 0.04, bottom)]
    strokes = [outline]
    if rng.random() < 0.9:
        strokes.append([(left + 0.01, bottom - sole), (right, bottom - sole)])
    # The laces run up the vamp, from above the toe cap to the tongue.
    start = np.array([left + length * 0.22, bottom - toe_h - height * 0.05])
    stop = np.array([tongue - 0.02, top + height * 0.12])
    k = int(rng.integers(3, 6))
    spots = [start + (stop - start) * t for t in np.linspace(0, 1, k)]
    if rng.random() < 0.6:  # a zigzag of laces crossing the vamp
        across = np.array([0.045, 0.045])
        strokes.append([tuple(p + across * (-1) ** i) for i, p in enumerate(spots)])
    else:  # ticks across the vamp
        strokes += [[tuple(p - (0.03, 0.03)), tuple(p + (0.03, 0.03))] for p in spots[:3]]
    details = []
    if rng.random() < 0.6:  # toe cap
        cap = length * rng.uniform(0.12, 0.2)
        details.append(arc(left + 0.02, bottom - sole, cap, toe_h - sole, 0, -80, 6))
    if rng.random() < 0.35:  # a stripe along the side
        details.append([(left + length * 0.35, bottom - sole * 1.6), (right - length * 0.25, top + height * 0.35)])
    if rng.random() < 0.3:  # the heel tab's pull loop
        details.append([(right - 0.05, top + 0.02), (right - 0.03, top - tab - 0.04), (right, top + 0.03)])
    return strokes[:1] + details + strokes[1:] if rng.random() < 0.3 else strokes + details


def plain_shoe(rng: np.random.Generator, left: float, length: float, bottom: float, sole: float) -> list[Stroke]:
    """A shoe as people draw one from memory: a rounded profile, its back rising higher than the toe, the ankle
    opening a dip from the throat to the collar; no laces, or a few ticks. Half as tall as it is long at most,
    where an ankle boot's shaft rises to its length."""
    right = left + length
    height = length * rng.uniform(0.4, 0.58)
    top = bottom - height
    toe_h = height * rng.uniform(0.35, 0.55)
    throat = (left + length * rng.uniform(0.45, 0.6), bottom - height * rng.uniform(0.65, 0.85))
    back = (right - rng.uniform(0.04, 0.1), top)
    dip = ((throat[0] + back[0]) / 2, (throat[1] + top) / 2 + height * rng.uniform(0.0, 0.12))
    vamp = (left + length * 0.3, bottom - toe_h - height * 0.08)
    outline = [back, (right, top + height * rng.uniform(0.25, 0.45)), (right - 0.01, bottom - 0.04),
               (right - 0.05, bottom), (left + 0.08, bottom), (left, bottom - toe_h * 0.5),
               (left + 0.05, bottom - toe_h), vamp, throat, dip, back]
    strokes = [outline]
    if rng.random() < 0.5:
        strokes.append([(left + 0.02, bottom - sole), (right - 0.01, bottom - sole)])
    if rng.random() < 0.3:  # a few laces across the vamp
        for t in np.linspace(0.2, 0.8, int(rng.integers(2, 4))):
            x, y = vamp[0] + (throat[0] - vamp[0]) * t, vamp[1] + (throat[1] - vamp[1]) * t
            strokes.append([(x - 0.03, y - 0.02), (x + 0.03, y + 0.03)])
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

