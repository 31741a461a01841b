"""Turn a user's drawing or photo into a Fashion-MNIST-like 28x28 image.

Fashion-MNIST was made from product photos on white (Xiao et al. 2017, arXiv 1708.07747): trim to the
object, resize the longest edge to 28, sharpen, centre on a 28x28 canvas, negate, greyscale. This module
replays those steps on user input so the network sees what it was trained on, in numpy and PIL: the
28 -> 224 resize belongs to `nin.data.to_model_input`, the one resize training also uses. Files are opened
and checked by `nin.serve.decode`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageFilter

from nin.data import IMAGE_SIZE
from nin.serve.decode import InputError, original_size_of, reduce_to_working, to_grey

INK_THRESHOLD = 0.08       # |pixel - background| above this counts as object (JPEG noise stays below it)
SHARPEN_PERCENT = 0        # unsharp-mask strength after resizing; 0 measured closest on round-tripped test images
BORDER_FRACTION = 0.04     # the outer ring used to judge the background, as a fraction of the short side
# Drawings: people draw outlines, Fashion-MNIST holds filled silhouettes (see fill_outline).
MAX_BACKGROUND_INK = 0.5   # a background darker than this over more of the canvas is a backdrop, not a drawing
STROKE_INK = 0.3           # a drawn pixel counts as stroke above this ink level (anti-aliased edges are lower)
FILL_WORK_SIDE = 140       # the mask is filled at this side: half the 280 px canvas, the result is 28 px anyway
GAP_FRACTION = 0.10        # gaps up to this share of the drawing's longest side are bridged before filling
FILL_LEVEL = 0.75          # enclosed areas get this grey: a garment's body is rarely as bright as its outline
MIN_FILLED_SHARE = 0.05    # enclosed area (share of the bounding box) below this is not a closed outline
STROKE_WIDTH_FRACTION = 0.05  # strokes are redrawn this wide, as a share of the longest side (~1.4 px at 28)
SCRIBBLE_FRACTION = 0.15   # ink wider than this share of the longest side is a coloured-in area, not a line


class EmptyInput(InputError):
    """Nothing to classify yet (an untouched or cleared sketch, a blank image)."""


# eq=False keeps object identity's hash: Gradio hashes gr.State values to spot changes, and the hash a
# frozen dataclass would generate from its fields fails on the ndarray.
@dataclass(frozen=True, eq=False)
class Preprocessed:
    """What the network will see, plus how it got there."""

    image: np.ndarray                 # uint8 [28, 28], light object on black, like Fashion-MNIST
    source: str                       # "sketch" or "photo"
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


def object_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom), exclusive on the right/bottom, of the True pixels; None if there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def fit_and_centre(crop: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Resize so the longest edge is `size` (keeping the aspect ratio), sharpen, and centre on size x size black."""
    h, w = crop.shape
    scale = size / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    small = Image.fromarray(np.clip(crop * 255 + 0.5, 0, 255).astype(np.uint8))
    # BOX is an exact area average when shrinking (a photo) and bicubic keeps strokes smooth when enlarging (a tiny doodle).
    small = small.resize((new_w, new_h), Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC)
    if SHARPEN_PERCENT:  # Fashion-MNIST's own pipeline sharpened here
        small = small.filter(ImageFilter.UnsharpMask(radius=1, percent=SHARPEN_PERCENT, threshold=2))
    canvas = np.zeros((size, size), dtype=np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = np.asarray(small)
    return canvas


def _finish(garment: np.ndarray, source: str, negated: bool, background: float,
            original_size: tuple[int, int], steps: list[str]) -> Preprocessed:
    """Shared tail of both paths: light-on-black float image -> trimmed, fitted, centred 28x28.

    `garment` may be a reduced copy of the original; the reported bbox is scaled back to original pixels.
    """
    bbox = object_bbox(garment > INK_THRESHOLD)
    if bbox is None:
        raise EmptyInput("Nothing stands out from the background, so there is nothing to classify.")
    left, top, right, bottom = bbox
    steps.append(f"trimmed to the object: {right - left}×{bottom - top} px at ({left}, {top})")
    image = fit_and_centre(garment[top:bottom, left:right])
    steps.append(f"longest edge fitted to {IMAGE_SIZE} px, centred on {IMAGE_SIZE}×{IMAGE_SIZE}")
    return Preprocessed(image, source, negated, background, scale_bbox(bbox, garment.shape, original_size),
                        original_size, steps)


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
    return _finish(garment, "photo", negated, background, original_size, steps)


def ink_mask(sketch: dict | None) -> np.ndarray | None:
    """The drawn strokes as float [H, W] in [0, 1]; None when nothing is drawn.

    Strokes are the layers' alpha: right for any brush colour, and it survives "Clear canvas", which drops
    the canvas background so later strokes land on white and the composite looks blank. A background
    counts too where it is dark: the canvas is white under a black brush (the page shows it inverted), so
    a drawing example loaded as the background (black on white, like a finished sketch) reads as ink, and
    strokes drawn over it add to it.
    """
    if not sketch:
        return None
    inks = [_layer_ink(np.asarray(layer)) for layer in (sketch.get("layers") or []) if layer is not None]
    background = sketch.get("background")
    if background is not None:
        ink = _background_ink(np.asarray(background))
        if (ink > 127).mean() < MAX_BACKGROUND_INK:  # a dark backdrop (an old black canvas) is no drawing
            inks.append(ink)
    inks = [ink for ink in inks if ink.shape == inks[0].shape]  # the editor exports every layer at canvas size
    if not inks:
        return None
    mask = np.max(np.stack(inks), axis=0).astype(np.float32) / 255.0
    return mask if mask.max() > 0 else None


def _layer_ink(layer: np.ndarray) -> np.ndarray:
    """A layer's ink as uint8: its alpha when it has one, else its brightness."""
    if layer.ndim == 3 and layer.shape[-1] == 4:
        return layer[..., 3]
    return np.asarray(Image.fromarray(layer).convert("L"))


def _background_ink(background: np.ndarray) -> np.ndarray:
    """A background's ink as uint8: how dark it is, where it is opaque (white or transparent = no ink)."""
    rgba = np.asarray(Image.fromarray(background).convert("RGBA"), dtype=np.uint16)
    darkness = 255 - np.asarray(Image.fromarray(background).convert("L"), dtype=np.uint16)
    return (darkness * rgba[..., 3] // 255).astype(np.uint8)


def preprocess_sketch(sketch: dict | None) -> Preprocessed:
    """A sketchpad value: ink mask (already light-on-black), outlines filled in, then trim/fit/centre."""
    mask = ink_mask(sketch)
    if mask is None:
        raise EmptyInput("Draw a garment on the black canvas and the prediction appears as you draw.")
    h, w = mask.shape
    steps = [f"ink mask of the strokes on the {w}×{h} canvas (white on black, like the dataset)"]
    filled, note = fill_outline(mask)
    steps.append(note)
    return _finish(filled, "sketch", False, 0.0, (w, h), steps)


# ----------------------------------------------------------------------------- drawings: outline -> silhouette

def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1)-square, as r rounds of a 3x3 max: numpy only, no SciPy."""
    out = mask.copy()
    for _ in range(radius):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        grown[1:, 1:] |= out[:-1, :-1]
        grown[:-1, :-1] |= out[1:, 1:]
        grown[1:, :-1] |= out[:-1, 1:]
        grown[:-1, 1:] |= out[1:, :-1]
        out = grown
    return out


def _outside(walls: np.ndarray) -> np.ndarray:
    """Pixels reachable from the image border without crossing `walls` (4-connected flood fill).

    Row and column sweeps (a running "reachable" that walls interrupt) spread the fill a whole line per
    step, so a garment outline fills in a handful of passes instead of one pixel ring per pass.
    """
    free = ~walls
    seen = np.zeros_like(walls)
    seen[0], seen[-1], seen[:, 0], seen[:, -1] = free[0], free[-1], free[:, 0], free[:, -1]
    for _ in range(4 * max(walls.shape)):  # bounded: each pass that changes anything adds pixels
        before = int(seen.sum())
        for axis in (0, 1):
            for flip in (False, True):
                s, f = (seen, free) if axis == 1 else (seen.T, free.T)
                if flip:
                    s, f = s[:, ::-1], f[:, ::-1]
                # Along each line: a free pixel is reached if the run of free pixels it sits in touches a seen one
                # coming from the left (cumulative "open run containing a seen pixel").
                run = np.zeros(s.shape[0], dtype=bool)
                for j in range(s.shape[1]):
                    run = (run | s[:, j]) & f[:, j]
                    s[:, j] |= run
        if int(seen.sum()) == before:
            break
    return seen


def fill_outline(ink: np.ndarray) -> tuple[np.ndarray, str]:
    """A drawing's ink [H, W] in [0, 1] -> a Fashion-MNIST-like silhouette, and a sentence for the steps.

    People draw a T-shirt as its outline; Fashion-MNIST shows it as a filled shape, and the network reads an
    outline as something else (an outline T-shirt scored Dress 94%). So: areas the strokes enclose are filled
    (gaps up to GAP_FRACTION of the drawing's size are bridged first, as hurried outlines rarely close), at
    FILL_LEVEL under full-white strokes. A drawing that encloses nothing (a few lines) keeps its strokes,
    thickened to a stroke width proportional to its size, so a thin and a thick brush read alike.
    Only drawings come here: photos and dataset images are already filled.
    """
    h, w = ink.shape
    scale = FILL_WORK_SIDE / max(h, w)
    small = np.asarray(Image.fromarray(np.uint8(np.clip(ink, 0, 1) * 255)).resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX), dtype=np.float32) / 255.0
    strokes = small > STROKE_INK
    bbox = object_bbox(strokes)
    if bbox is None:
        return ink, "too little ink to read any shape; used as drawn"
    left, top, right, bottom = bbox
    size = max(right - left, bottom - top)
    gap = max(1, round(GAP_FRACTION * size / 2))
    inside = ~_outside(_dilate(strokes, gap))  # thickened strokes bridge the gaps; inside includes them
    inside = _erode(inside, gap)  # erode back by as much: the silhouette's edge returns to the strokes
    enclosed = inside & ~strokes
    share = enclosed.sum() / max(1, (right - left) * (bottom - top))
    lines = _even_strokes(strokes, max(1, round(STROKE_WIDTH_FRACTION * size / 2)), size)
    if share < MIN_FILLED_SHARE:
        return _upscale(lines * 1.0, (w, h)), (f"no closed outline, so the strokes were kept, evened to a width "
                                               f"of {STROKE_WIDTH_FRACTION:.0%} of the drawing")
    silhouette = np.where(lines, 1.0, np.where(enclosed, FILL_LEVEL, 0.0))
    return _upscale(silhouette, (w, h)), (f"closed outline filled in ({share:.0%} of its box) and strokes evened, "
                                          "as Fashion-MNIST shows garments as filled shapes, not outlines")


def _even_strokes(strokes: np.ndarray, half_width: int, size: int) -> np.ndarray:
    """Strokes redrawn at one width: thinned by their typical half-width (estimated as area / boundary, which
    is the width of a long stroke), then grown to `half_width`, so a fine and a fat brush look alike.
    Ink wider than SCRIBBLE_FRACTION of the drawing's size is an area coloured in, not a line: kept."""
    boundary = strokes & ~_erode(strokes, 1)
    width = 2.0 * strokes.sum() / max(1, boundary.sum())
    if width > SCRIBBLE_FRACTION * size:
        return strokes.copy()
    core = _erode(strokes, max(0, int((width - 1) // 2)))
    if not core.any():  # too uneven to thin safely
        core = strokes
    return _dilate(core, half_width)


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    return ~_dilate(~mask, radius) if radius > 0 else mask.copy()


def _upscale(small: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(np.float32(small), mode="F").resize(size, Image.Resampling.BILINEAR))


__all__ = ["preprocess_photo", "preprocess_sketch", "Preprocessed", "EmptyInput", "ink_mask", "fill_outline",
           "fit_and_centre", "object_bbox", "border_level", "scale_bbox"]
