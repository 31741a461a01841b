"""Doodle templates of the sleeved tops: T-shirt, Pullover, Coat and Shirt (nin/train/doodles.py draws them).

All four are one outline of body and sleeves (`Top`), open at the neck for the collar or neckline that closes
it, and what a person adds to say which top it is. These are also what tells them apart, so each keeps its
own: a T-shirt's short sleeves held out and round neck on a boxy body; a pullover's long sleeves with cuffs,
its ribbed hem band and round, V or turtle neck, and never a line down the front; a shirt's pointed collar
over a button line, long or short sleeves, its curved tail; a coat's length to the thigh or knee, its
opening from collar to hem (zipped, buttoned or open), lapels, a collar or a hood, pockets or a belt.
Sleeves that hang down stay apart from the body by a gap a thick brush does not close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nin.train.doodle_hand import Point, Stroke
from nin.train.doodle_pen import arc, box, dot, mirror

MIN_SLEEVE_GAP = 0.16  # a hanging sleeve's cuff stands this far (unit box) from the body's side, or more:
# wider than the Thick brush's line, so the gap stays open and the sleeve stays a sleeve
SHORT_SLEEVE_GAP = 0.05  # a short sleeve ends above the armpit, so it cannot run along the body and merge with
# it; it needs only to end outside the body. With the long sleeve's gap every short sleeve was lifted to ~85
# degrees, straight out, and people draw a T-shirt's sleeves angled down.
SHORT_SLEEVE = 0.5  # a sleeve at most this share of the body's height is short (a T-shirt's, a short shirt's)


def neck(rng: np.random.Generator, cx: float, top: float, half: float) -> Stroke:
    """A neckline from the left shoulder's inner point to the right one: a U, a V or a flat curve."""
    depth = rng.uniform(0.04, 0.14)
    kind = rng.integers(3)
    if kind == 0:
        return arc(cx, top, half, depth, 180, 0)
    if kind == 1:
        return [(cx - half, top), (cx, top + depth * 1.4), (cx + half, top)]
    return arc(cx, top, half, depth * 0.5, 180, 0)


@dataclass(frozen=True)
class Top:
    """A top's outline (one stroke, from the right of the neck clockwise round to its left) and the points
    its details are drawn from. Right-hand points; the left ones are their mirror images (x -> 1 - x)."""

    outline: Stroke
    cx: float
    top: float
    bottom: float
    left: float  # the body's sides at the armpits
    right: float
    hem: float  # the hem's half-width (a flared coat's is wider than its chest)
    neck: float  # half the neck's width
    tip: Point  # the outer end of the right sleeve's cuff
    cuff_end: Point  # the inner end of the right sleeve's cuff
    along: tuple[float, float]  # the right sleeve's direction, shoulder to cuff

    @property
    def h(self) -> float:
        return self.bottom - self.top

    def cuffs(self, back: float) -> list[Stroke]:
        """A line across each sleeve `back` (unit box) before its end: the cuff's seam."""
        step = np.asarray(self.along) * back
        line = [tuple(np.asarray(self.tip) - step), tuple(np.asarray(self.cuff_end) - step)]
        return [line, mirror(line, -1)]


def top_outline(rng: np.random.Generator, sleeve: tuple[float, float], angle: tuple[float, float],
                height: tuple[float, float], width: tuple[float, float], flare: tuple[float, float] = (-0.02, 0.03),
                tail: float = 0.0) -> Top:
    """A top's outline. `sleeve` is the sleeve's length range as a share of the body's height, `angle` its range
    in degrees from hanging straight down (0) to held straight out (90), `height`/`width` the body's ranges in
    the unit box, `flare` how much wider (or narrower) the hem is than the chest on each side, `tail` how far
    the hem's middle dips below its sides (a shirt's curved tail)."""
    h, w = rng.uniform(*height), rng.uniform(*width)
    cx, top = 0.5, 0.5 - h / 2
    right, bottom = cx + w / 2, top + h
    neck_half = rng.uniform(0.07, 0.12)
    length = rng.uniform(*sleeve) * h
    cuff = rng.uniform(0.09, 0.15)
    shoulder_drop = rng.uniform(0.0, 0.06)
    # Steep enough that the cuff's inner end stands `gap` out of the body's side: a long sleeve's gap keeps a
    # hanging sleeve apart from the body, a short sleeve's only keeps it outside.
    gap = SHORT_SLEEVE_GAP if sleeve[1] <= SHORT_SLEEVE else MIN_SLEEVE_GAP
    a = math.radians(rng.uniform(*angle))
    while math.sin(a) * length - cuff * math.cos(a) < gap and a < math.radians(85):
        a += math.radians(2)
    along = (math.sin(a), math.cos(a))
    shoulder = (right, top + shoulder_drop)
    tip = (right + along[0] * length, shoulder[1] + along[1] * length)
    cuff_end = (tip[0] - cuff * math.cos(a), tip[1] + cuff * math.sin(a))
    # The armpit sits a sleeve's width or so below the shoulder, as people draw it (a sleeve is a wedge).
    armpit = (right, shoulder[1] + cuff * rng.uniform(1.0, 1.6) + 0.1 * length * math.cos(a) ** 2)
    hem = w / 2 + rng.uniform(*flare)
    right_side = [(cx + neck_half, top), shoulder, tip, cuff_end, armpit, (cx + hem, bottom)]
    if tail:
        right_side += [(cx + hem * 0.5, bottom + tail * 0.7)]
    outline = right_side + [(cx, bottom + tail)] * bool(tail) + [(1 - x, y) for x, y in right_side[::-1]]
    return Top(outline, cx, top, bottom, cx - w / 2, right, hem, neck_half, tip, cuff_end, along)


def tshirt(rng: np.random.Generator) -> list[Stroke]:
    """Short sleeves angled down or held out (after the short sleeve's gap rule, median about 60 degrees
    from hanging, a tenth under 46), a round (sometimes V) neck, a boxy body; sometimes hems on the sleeves
    or a print on the chest."""
    t = top_outline(rng, sleeve=(0.2, 0.38), angle=(30, 85), height=(0.5, 0.72), width=(0.42, 0.6))
    u = rng.uniform(0.04, 0.12)
    neckline = arc(t.cx, t.top, t.neck, u, 180, 0) if rng.random() < 0.8 else [
        (t.cx - t.neck, t.top), (t.cx, t.top + 1.6 * u), (t.cx + t.neck, t.top)]
    strokes = [t.outline, neckline]
    if rng.random() < 0.3:
        strokes += t.cuffs(rng.uniform(0.03, 0.05))
    if rng.random() < 0.2:  # a print: a circle or a star-ish scribble on the chest
        r = rng.uniform(0.05, 0.09)
        strokes.append(arc(t.cx, t.top + 0.4 * t.h, r, r, 0, 360, 10))
    return strokes


def pullover(rng: np.random.Generator) -> list[Stroke]:
    """Long sleeves held out or hanging, with cuffs; a ribbed hem band; a round, V or turtle neck; sometimes
    a stripe across the chest. Never a line down the front: that is a coat's or a shirt's."""
    # People draw a sweater's sleeves hanging down and away from its body more often than held straight out,
    # on a body as tall as it is wide or taller.
    hanging = rng.random() < 0.6
    t = top_outline(rng, sleeve=(0.7, 1.0), angle=(15, 50) if hanging else (50, 80), height=(0.55, 0.85),
                    width=(0.4, 0.56), flare=(-0.03, 0.0))
    kind = rng.choice(3, p=(0.55, 0.25, 0.2))
    if kind == 0:  # crew neck, often with its band
        u = rng.uniform(0.05, 0.1)
        necks = [arc(t.cx, t.top, t.neck, u, 180, 0)]
        if rng.random() < 0.5:
            necks.append(arc(t.cx, t.top, t.neck * 0.75, u * 0.6, 180, 0))
    elif kind == 1:  # V neck
        necks = [[(t.cx - t.neck, t.top), (t.cx, t.top + rng.uniform(0.12, 0.2)), (t.cx + t.neck, t.top)]]
    else:  # turtle neck: a band standing above the shoulders
        rise = rng.uniform(0.05, 0.09)
        necks = [[(t.cx - t.neck, t.top), (t.cx - t.neck, t.top - rise), (t.cx + t.neck, t.top - rise),
                  (t.cx + t.neck, t.top)]]
    band = t.bottom - rng.uniform(0.05, 0.09)
    inset = (t.hem - (t.right - t.cx)) * (band - t.top) / t.h  # the side at the band's height
    hem_band: Stroke = [(t.left - inset, band), (t.right + inset, band)]
    if rng.random() < 0.35:  # ribbing: the band's line runs on as a zigzag of ticks down to the hem
        ticks = np.linspace(t.left - inset + 0.03, t.right + inset - 0.03, int(rng.integers(5, 9)))
        hem_band = hem_band + [p for x in ticks[::-1] for p in ((x, band), (x, t.bottom))][:-1]
    strokes = [t.outline, necks[0]]
    details = [hem_band] * (rng.random() < 0.85) + t.cuffs(rng.uniform(0.04, 0.08)) * (rng.random() < 0.7)
    if rng.random() < 0.25:  # a stripe across the chest and sleeves
        y = t.top + rng.uniform(0.25, 0.4) * t.h
        details.append([(t.left, y), (t.right, y)] if rng.random() < 0.5 else
                       [(t.left + k * (t.right - t.left) / 8, y + 0.03 * (k % 2)) for k in range(9)])
    return strokes + details + necks[1:]


def shirt(rng: np.random.Generator) -> list[Stroke]:
    """A pointed collar over a button line with buttons; long (cuffed) or short sleeves; sometimes a breast
    pocket, often a curved tail."""
    long = rng.random() < 0.55
    t = top_outline(rng, sleeve=(0.65, 0.9) if long else (0.2, 0.32), angle=(20, 75) if long else (40, 80),
                    height=(0.6, 0.8), width=(0.4, 0.52), tail=rng.uniform(0.03, 0.08) * (rng.random() < 0.5))
    depth = rng.uniform(0.08, 0.13)
    point = rng.uniform(0.0, 0.04)  # how far the collar's points spread past the neck
    left_wing = [(t.cx - t.neck, t.top), (t.cx - t.neck * 0.5 - point, t.top + depth * 1.5), (t.cx, t.top + depth)]
    collar = left_wing + mirror(left_wing, -1)[::-1][1:]
    strokes = [t.outline, collar, [(t.cx, t.top + depth), (t.cx, t.bottom)]]
    buttons = [dot(t.cx + 0.035, y) for y in np.linspace(t.top + 0.3 * t.h, t.bottom - 0.12 * t.h,
                                                        int(rng.integers(2, 5)))]
    extras = []
    if rng.random() < 0.4:  # a breast pocket
        x, y = t.cx + rng.uniform(0.07, 0.1), t.top + 0.28 * t.h
        extras.append(box(x, y, x + 0.08, y + 0.08) if rng.random() < 0.6 else
                      [(x, y), (x, y + 0.07), (x + 0.04, y + 0.09), (x + 0.08, y + 0.07), (x + 0.08, y)])
    if long and rng.random() < 0.4:
        extras += t.cuffs(rng.uniform(0.04, 0.06))
    order = extras + buttons if rng.random() < 0.5 else buttons + extras
    return strokes + order


def coat(rng: np.random.Generator) -> list[Stroke]:
    """A jacket to the hip or a coat to the knee; long sleeves hanging or held out (people draw a jacket's
    sleeves out, as they do a sweater's); an opening from collar to hem (zipped, buttoned or open over what is
    under it); lapels, a collar or a hood; pockets or a belt."""
    t = top_outline(rng, sleeve=(0.5, 0.72), angle=(12, 55) if rng.random() < 0.5 else (50, 80),
                    height=(0.65, 1.0), width=(0.38, 0.52), flare=(0.0, 0.08))
    cx, top, bottom, h = t.cx, t.top, t.bottom, t.h
    # The collar closes the outline's neck.
    kind = rng.choice(3, p=(0.5, 0.25, 0.25))
    gorge = top + rng.uniform(0.18, 0.32) * h  # where lapels meet the opening
    if kind == 0:  # lapels: from each side of the neck out to a notch and down to the opening
        wing = [(cx - t.neck, top), (cx - t.neck - rng.uniform(0.03, 0.07), top + 0.1 * h), (cx, gorge)]
        collar = wing + mirror(wing, -1)[::-1][1:]
    elif kind == 1:  # a hood, standing above the shoulders
        collar = arc(cx, top, t.neck * rng.uniform(1.4, 1.9), rng.uniform(0.12, 0.2), 180, 360, 9)
    else:  # a collar: two points folded down
        wing = [(cx - t.neck, top), (cx - t.neck * 0.6, top + rng.uniform(0.08, 0.13)), (cx, top + 0.04)]
        collar = wing + mirror(wing, -1)[::-1][1:]
    start = gorge if kind == 0 else top + (0.04 if kind == 2 else 0.0)
    strokes = [t.outline, collar]
    if rng.random() < 0.4:  # drawn in two halves, the hem never drawn: an open outline, which stays unfilled
        half = len(t.outline) // 2
        strokes = [t.outline[:half], t.outline[half:], collar]
    closed = rng.random() >= 0.3
    if not closed:  # open: both fronts part from the collar down, what is under shows between them
        spread = rng.uniform(0.03, 0.05)
        strokes.append([(cx - 0.01, start), (cx - spread, bottom)])
        strokes.append([(cx + 0.01, start), (cx + spread, bottom)])
    else:
        strokes.append([(cx, start), (cx, bottom)])
    extras = []
    if rng.random() < 0.55:  # pockets: a flap or a slit low on each front
        y = top + rng.uniform(0.55, 0.7) * h
        for side in (-1, 1):
            x0, x1 = cx + side * rng.uniform(0.06, 0.08), cx + side * (t.right - cx - 0.03)
            slit = [(min(x0, x1), y), (max(x0, x1), y)]
            extras.append(slit if rng.random() < 0.6 else slit + [(slit[1][0], y + 0.06), (slit[0][0], y + 0.06),
                                                                   slit[0]])
    elif rng.random() < 0.25:  # a belt at the waist
        y = top + rng.uniform(0.4, 0.5) * h
        extras.append([(t.left, y), (t.right, y)])
    if closed and rng.random() < 0.6:  # buttons beside the closed opening
        side = rng.choice((-1, 1)) * 0.035
        buttons = [dot(cx + side, y) for y in np.linspace(start + 0.08 * h, bottom - 0.15 * h, int(rng.integers(2, 4)))]
        extras = buttons + extras if rng.random() < 0.5 else extras + buttons
    if rng.random() < 0.3:
        extras += t.cuffs(rng.uniform(0.04, 0.07))
    return strokes + extras
