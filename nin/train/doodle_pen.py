"""The pen of the doodle templates (nin/train/doodle_tops.py, doodle_shoes.py, doodle_templates.py): strokes in a
unit box, y down, that the hand (nin/train/doodle_hand.py) later fits to the canvas."""

from __future__ import annotations

import math

import numpy as np

from nin.train.doodle_hand import Stroke


def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 8) -> Stroke:
    """Points on an ellipse from angle `start` to `stop` (degrees, 0 = right, 90 = down)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, stop, n)]


def box(left: float, top: float, right: float, bottom: float) -> Stroke:
    return [(left, top), (right, top), (right, bottom), (left, bottom), (left, top)]


def dot(x: float, y: float) -> Stroke:
    return [(x, y), (x + 0.005, y + 0.005)]


def mirror(stroke: Stroke, side: int) -> Stroke:
    return stroke if side == 1 else [(1 - x, y) for x, y in stroke]
