"""Turn a user's drawing or photo into a Fashion-MNIST-like 28x28 image.

Fashion-MNIST was made from product photos on white (Xiao et al. 2017, arXiv 1708.07747): trim to the
object, resize the longest edge to 28, sharpen, centre on a 28x28 canvas, negate, greyscale. This module
replays those steps on user input so the network sees what it was trained on, in numpy and PIL: the
28 -> 224 resize belongs to `nin.data.to_model_input`, the one resize training also uses. Files are opened
and checked by `nin.serve.decode`. Drawings (the canvas, and uploads that are line drawings) take the canvas
path of `nin.ink`, which training runs on its own drawings too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from nin.names import IMAGE_SIZE
from nin.ink import (INK_THRESHOLD, STROKE_INK, EmptyDrawing, fill_outline, ink_to_image, object_bbox,
                         trim_fit_centre)
from nin.serve.decode import InputError, original_size_of, reduce_to_working, to_grey

BORDER_FRACTION = 0.04     # the outer ring used to judge the background, as a fraction of the short side
# Uploads that are line drawings (see line_art_reason); measured on photos, dataset images and drawings.
LINE_ART_MIN_SIDE = 64     # images smaller than this on a side are dataset-sized pictures, never drawings
LINE_ART_FULL_INK = 0.6    # an object pixel above this is full ink; between INK_THRESHOLD and this, shaded
LINE_ART_MAX_SHADED = 0.15 # a drawing's ink is nearly all full, anti-aliased edges aside (photos: 0.21 and up)
LINE_ART_MAX_COVER = 0.5   # strokes cover at most this share of the object's box (a photo fills it)


DRAW_PROMPT = "Draw a garment on the black canvas and the prediction appears as you draw."


class EmptyInput(InputError):
    """Nothing to classify yet (an untouched or cleared sketch, a blank image)."""


# eq=False keeps object identity's hash: Gradio hashes gr.State values to spot changes, and the hash a
# frozen dataclass would generate from its fields fails on the ndarray.
@dataclass(frozen=True, eq=False)
class Preprocessed:
    """What the network will see, plus how it got there."""

    image: np.ndarray                 # uint8 [28, 28], light object on black, like Fashion-MNIST
    source: str                       # "sketch" (the canvas), "line drawing" (an upload) or "photo"
    negated: bool                     # True when the background was light and the image was inverted
    background: float                 # background level in [0, 1] before negation
    bbox: tuple[int, int, int, int]   # (left, top, right, bottom) of the object in the original pixels
    original_size: tuple[int, int]    # (width, height) of the original
    steps: list[str] = field(default_factory=list)  # plain-language log shown in the app


# ----------------------------------------------------------------------------- the Fashion-MNIST recipe

def border_level(grey: np.ndarray) -> float:
    """Median of the outer ring: the background level of a product photo or a canvas."""
    h, w = grey.shape
    k = max(1, int(round(min(h, w) * BORDER_FRACTION)))
    ring = np.concatenate([grey[:k].ravel(), grey[-k:].ravel(), grey[:, :k].ravel(), grey[:, -k:].ravel()])
    return float(np.median(ring))


def _finish(garment: np.ndarray, source: str, negated: bool, background: float,
            original_size: tuple[int, int], steps: list[str]) -> Preprocessed:
    """Shared tail of the upload paths: light-on-black float image -> trimmed, fitted, centred 28x28.

    `garment` may be a reduced copy of the original; the reported bbox is scaled back to original pixels.
    """
    try:
        trimmed = trim_fit_centre(garment)
    except EmptyDrawing as exc:
        raise EmptyInput(str(exc)) from None
    left, top, right, bottom = trimmed.bbox
    steps.append(f"trimmed to the object: {right - left}×{bottom - top} px at ({left}, {top})")
    steps.append(f"longest edge fitted to {IMAGE_SIZE} px, centred on {IMAGE_SIZE}×{IMAGE_SIZE}")
    return Preprocessed(trimmed.image, source, negated, background,
                        scale_bbox(trimmed.bbox, garment.shape, original_size), original_size, steps)


def scale_bbox(bbox: tuple[int, int, int, int], shape: tuple[int, int],
               original_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A bbox in a reduced image's pixels -> the same box in the original's (identity when not reduced)."""
    (height, width), (orig_w, orig_h) = shape, original_size
    if (width, height) == (orig_w, orig_h):
        return bbox
    sx, sy = orig_w / width, orig_h / height
    left, top, right, bottom = bbox
    return (int(left * sx), int(top * sy), min(orig_w, math.ceil(right * sx)), min(orig_h, math.ceil(bottom * sy)))


def preprocess_photo(image: Image.Image) -> Preprocessed:
    """A photo or uploaded file: greyscale, negate if the background is light, then trim/fit/centre."""
    original_size = original_size_of(image)
    image = reduce_to_working(image)  # a no-op after load_image; bounds the work for direct callers
    grey = to_grey(image)
    background = border_level(grey)
    reduced = f" (reduced from {original_size[0]}×{original_size[1]})" if image.size != original_size else ""
    steps = [f"greyscale {image.width}×{image.height}{reduced}, background level {background:.2f}"]
    negated = background > 0.5
    if negated:
        grey = 1.0 - grey
        steps.append("light background → negated to light-on-black, like Fashion-MNIST")
    else:
        steps.append("dark background → kept as is")
    # Stretch so the backdrop is exactly black: a grey studio backdrop must not read as part of the garment.
    level = 1.0 - background if negated else background
    garment = np.clip((grey - level) / max(1e-3, 1.0 - level), 0, 1)
    why = line_art_reason(garment, original_size)
    if why is None:
        return _finish(garment, "photo", negated, background, original_size, steps)
    # A sketch drawn in a paint app or scanned: the same drawing on the canvas is filled, so it is here too.
    steps.append(f"a line drawing ({why}) → read as a drawing, like the canvas")
    filled, note = fill_outline(garment)
    steps.append(note)
    return _finish(filled, "line drawing", negated, background, original_size, steps)


def line_art_reason(garment: np.ndarray, original_size: tuple[int, int]) -> str | None:
    """Why an upload (light-on-black float [H, W]) is a line drawing, or None for a photo or dataset image.

    A drawing is strokes: nearly all of its object pixels are full ink or none (a photo has shading), the
    strokes cover little of the object's box (a photo fills it), and they are thin for the object's size.
    An image no larger than LINE_ART_MIN_SIDE is a dataset-sized picture, never a drawing: Fashion-MNIST's
    own sandals are thin straps, but they are shaded and they are 28 px.
    """
    if min(original_size) < LINE_ART_MIN_SIDE:
        return None
    found = object_bbox(garment > INK_THRESHOLD)
    if found is None:
        return None
    left, top, right, bottom = found
    box = garment[top:bottom, left:right]
    objects = box > INK_THRESHOLD
    strokes = box > STROKE_INK
    shaded = float(((box > INK_THRESHOLD) & (box < LINE_ART_FULL_INK)).sum()) / max(1, int(objects.sum()))
    cover = float(strokes.mean())
    if shaded > LINE_ART_MAX_SHADED or cover > LINE_ART_MAX_COVER:
        return None
    return f"{cover:.0%} of its box is ink, {shaded:.0%} of the ink shaded"


def preprocess_ink(ink: np.ndarray) -> Preprocessed:
    """A drawing's ink float [H, W] in [0, 1] (white on black) -> outlines filled, trimmed, fitted, centred:
    nin.ink.ink_to_image, which training runs on its drawings too, with the steps the page shows."""
    if not ink.any():
        raise EmptyInput(DRAW_PROMPT)
    h, w = ink.shape
    steps = [f"ink mask of the strokes on the {w}×{h} canvas (white on black, like the dataset)"]
    try:
        drawn = ink_to_image(ink)
    except EmptyDrawing as exc:
        raise EmptyInput(str(exc)) from None
    left, top, right, bottom = drawn.bbox
    steps += [drawn.fill_note, f"trimmed to the object: {right - left}×{bottom - top} px at ({left}, {top})",
              f"longest edge fitted to {IMAGE_SIZE} px, centred on {IMAGE_SIZE}×{IMAGE_SIZE}"]
    return Preprocessed(drawn.image, "sketch", False, 0.0, drawn.bbox, (w, h), steps)


__all__ = ["preprocess_photo", "preprocess_ink", "line_art_reason", "Preprocessed", "EmptyInput",
           "border_level", "scale_bbox"]
