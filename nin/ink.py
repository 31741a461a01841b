"""What a drawing becomes before the network sees it: the canvas path, shared by serving and training.

People draw garments as outlines; Fashion-MNIST holds filled silhouettes, light on black, trimmed to the
garment, longest edge fitted to 28 px and centred. `ink_to_image` turns a drawing's ink (white on black,
float [H, W] in [0, 1], as the canvas's alpha gives it) into that: enclosed areas filled in, strokes evened
to one width, lines inside the shape kept dark, then trimmed, fitted and centred. The app runs it on every
canvas drawing and every uploaded line drawing (nin.serve.preprocess); training runs it on the drawings it
makes from the dataset (nin.train.drawings), so the network learns from exactly what it is sent. numpy and
PIL; no model, no files, no user messages beyond the one sentence that says what the filling did. The mask
operations it is built from (dilation, flood fill, regions, thinning, rays) are in nin.masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from nin.masks import dilate, ends, erode, first_hits, outside, regions, skeleton
from nin.names import EXPORT_SIDE, IMAGE_SIZE

INK_THRESHOLD = 0.08       # |pixel - background| above this counts as object (JPEG noise stays below it)
SHARPEN_PERCENT = 0        # unsharp-mask strength after resizing; 0 measured closest on round-tripped test images
STROKE_INK = 0.3           # a drawn pixel counts as stroke above this ink level (anti-aliased edges are lower)
FILL_WORK_SIDE = EXPORT_SIDE  # the mask is filled at the side the canvas sends its ink at
GAP_FRACTION = 0.10        # gaps up to this share of the drawing's longest side are bridged before filling
FILL_LEVEL = 0.75          # enclosed areas get this grey: a garment's body is rarely as bright as its outline
INNER_LINE_LEVEL = 0.0     # lines drawn inside a filled outline (a zip, a collar) are dark, as seams are in photos
MIN_FILLED_SHARE = 0.05    # enclosed area (share of the bounding box) below this is not a closed outline
LOOSE_END_REACH = 0.4      # a stroke's loose end is continued along its heading up to this share of the size
MAX_LOOSE_ENDS = 40        # more loose ends than this is a scribble, not an outline left open: not continued
STROKE_WIDTH_FRACTION = 0.05  # strokes are redrawn this wide, as a share of the longest side (~1.4 px at 28)
SCRIBBLE_FRACTION = 0.15   # ink wider than this share of the longest side is a coloured-in area, not a line


class EmptyDrawing(ValueError):
    """Nothing stands out from the background, so there is nothing to classify."""


@dataclass(frozen=True, eq=False)  # eq=False: an ndarray field has no single truth value
class Trimmed:
    """A light-on-black image trimmed to its object, fitted and centred on 28x28."""

    image: np.ndarray                  # uint8 [28, 28]
    bbox: tuple[int, int, int, int]    # (left, top, right, bottom) of the object in the input's pixels


@dataclass(frozen=True, eq=False)
class DrawnImage(Trimmed):
    """A drawing after the canvas path: what the network sees, and what the filling did."""

    fill_note: str = ""                # one sentence for the steps the page shows


def ink_to_image(ink: np.ndarray) -> DrawnImage:
    """A drawing's ink float [H, W] in [0, 1] -> outlines filled, strokes evened, trimmed, fitted, centred.
    Raises EmptyDrawing when nothing is drawn."""
    filled, note = fill_outline(ink)
    trimmed = trim_fit_centre(filled)
    return DrawnImage(trimmed.image, trimmed.bbox, note)


def trim_fit_centre(garment: np.ndarray) -> Trimmed:
    """Light-on-black float [H, W] -> trimmed to the object, longest edge fitted to 28, centred.
    Raises EmptyDrawing when nothing stands out from the black."""
    bbox = object_bbox(garment > INK_THRESHOLD)
    if bbox is None:
        raise EmptyDrawing("Nothing stands out from the background, so there is nothing to classify.")
    left, top, right, bottom = bbox
    return Trimmed(fit_and_centre(garment[top:bottom, left:right]), bbox)


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


# ----------------------------------------------------------------------------- outline -> silhouette

def fill_outline(ink: np.ndarray) -> tuple[np.ndarray, str]:
    """A drawing's ink [H, W] in [0, 1] -> a Fashion-MNIST-like silhouette, and a sentence for the steps.

    People draw a T-shirt as its outline; Fashion-MNIST shows it as a filled shape, and the network reads an
    outline as something else (an outline T-shirt scored Dress 94%). So: areas the strokes enclose are filled
    (hurried outlines rarely close: gaps up to GAP_FRACTION of the drawing's size are bridged, and a stroke
    that stops short is continued along its heading until it meets another, as the hand meant to), at
    FILL_LEVEL under full-white strokes; lines drawn inside the shape (a zip, a collar, a waistband) are kept
    dark at INNER_LINE_LEVEL, as seams and openings are in the dataset's photos. A drawing that encloses
    nothing (a few lines) keeps its strokes, thickened to a stroke width proportional to its size, so a thin
    and a thick brush read alike.
    Only drawings come here: photos and dataset images are already filled.
    """
    h, w = ink.shape
    scale = FILL_WORK_SIDE / max(h, w)
    levels = _resize(np.uint8(np.clip(ink, 0, 1) * 255), (max(1, round(w * scale)), max(1, round(h * scale))),
                     Image.Resampling.BOX)
    small = np.asarray(levels, dtype=np.float32) / 255.0
    strokes = small > STROKE_INK
    bbox = object_bbox(strokes)
    if bbox is None:
        return ink, "too little ink to read any shape; used as drawn"
    left, top, right, bottom = bbox
    size = max(right - left, bottom - top)
    gap = max(1, round(GAP_FRACTION * size / 2))
    width = _stroke_width(strokes)
    coloured_in = width > SCRIBBLE_FRACTION * size  # an area coloured in, not lines: no loose ends, kept as is
    walls = strokes if coloured_in else strokes | _continued_loose_ends(strokes, size)
    inside = ~outside(dilate(walls, gap))  # thickened strokes bridge the gaps; inside includes them
    shape = erode(inside, gap) | strokes  # eroded back by as much: the silhouette's edge returns to the strokes
    shape &= ~_notches(shape, strokes)
    enclosed = shape & ~strokes
    share = enclosed.sum() / max(1, (right - left) * (bottom - top))
    half_width = max(1, round(STROKE_WIDTH_FRACTION * size / 2))
    lines = strokes.copy() if coloured_in else _even_strokes(strokes, width, half_width)
    if share < MIN_FILLED_SHARE:
        # Thin strokes are grown to the even width; a fat brush's strokes keep all they cover.
        return _upscale((lines | strokes) * 1.0, (w, h)), (
            f"no closed outline, so the strokes were kept, at least {STROKE_WIDTH_FRACTION:.0%} of the drawing wide")
    openings = _openings(enclosed, size, width)
    shape &= ~openings
    # The outline is the shape's own edge, one evened stroke wide: drawn with a fat brush, the stroke's inner
    # part becomes body, never a band that is neither line nor fill.
    outline = shape & ~erode(shape, 2 * half_width + 1)
    silhouette = np.where(outline, 1.0, np.where(shape, FILL_LEVEL, 0.0))
    note = (f"closed outline filled in ({share:.0%} of its box), its edge drawn as one even line, "
            "as Fashion-MNIST shows garments as filled shapes, not outlines")
    if openings.any():
        note += "; openings (a handle, between straps, beside a sleeve) left dark"
    if not coloured_in:
        # Strokes whose centre lies well inside the shape's edge are detail, not outline: a coat's zip, a collar,
        # a waistband. In the dataset's photos such seams and openings are dark lines, so they are drawn dark.
        # The margin is the drawn stroke's width plus the outline's, so an outline drawn with a fat brush is
        # never taken for detail.
        inner = lines & erode(shape, int(np.ceil(width)) + 2 * half_width + 2)
        # Where two strokes ran together (a fat brush along both sides of a sleeve), the ink is a band wider
        # than one stroke: that is shape, not a line drawn inside it.
        reach = int(np.ceil(0.75 * width))
        merged = erode(dilate(strokes, 2), 2)  # strokes that nearly touch count as one band
        inner &= ~dilate(erode(merged, reach), reach + half_width)
        if inner.any():
            silhouette[inner] = INNER_LINE_LEVEL
            note += "; lines inside it kept dark, as seams and zips are in the photos"
    return _upscale(silhouette, (w, h)), note


def _notches(shape: np.ndarray, strokes: np.ndarray, most: int = 12) -> np.ndarray:
    """The parts of `shape` that bridging gaps filled but the strokes never enclosed: narrow notches open to the
    outside, such as the space between trouser legs or between a sleeve and the body. Bridging closes such a
    notch where it is narrower than the gap it bridges; in the photos it is background. An area that reaches the
    outside only through a gap is large (the garment's body, when the outline was left open), so only open areas
    smaller than a quarter of the shape are taken back, and at most `most` of them."""
    leak = shape & ~strokes & outside(strokes)
    out = np.zeros_like(shape)
    if not leak.any():
        return out
    parts = regions(leak, most)
    if parts is None:
        return out
    quarter = 0.25 * shape.sum()
    for part in parts:
        if len(part) < quarter:
            out[part[:, 0], part[:, 1]] = True
    return out


def _openings(enclosed: np.ndarray, size: int, width: float, most: int = 24) -> np.ndarray:
    """Enclosed areas that are openings, not body. In the dataset's photos these are background, so they stay
    dark:
    - smaller than the largest enclosed area (the body) and lying above its top: a bag's handle, the space
      between a dress's or a sandal's straps;
    - slivers no wider than a stroke between two strokes that nearly meet: where a sleeve hangs beside the
      body or trouser legs part, drawn with a fat brush. Left in, they made the strokes around them read as
      lines drawn inside the garment.
    """
    parts = regions(enclosed, most)
    out = np.zeros_like(enclosed)
    if parts is None or len(parts) < 2:
        return out
    body = parts[0]
    body_top = body[:, 0].min()
    margin = 0.05 * size
    for part in parts:
        if part is body or len(part) >= 0.5 * len(body):
            continue
        mask = np.zeros_like(enclosed)
        mask[part[:, 0], part[:, 1]] = True
        above = part[:, 0].mean() < body_top + margin
        # Measured within the part's box and a ring of one pixel around it: beyond them the mask is empty.
        (first_row, first_column), (last_row, last_column) = part.min(axis=0), part.max(axis=0)
        around = slice(max(first_row - 1, 0), last_row + 2), slice(max(first_column - 1, 0), last_column + 2)
        if above or _stroke_width(mask[around]) <= width:
            out |= mask
    return out


def _even_strokes(strokes: np.ndarray, width: float, half_width: int) -> np.ndarray:
    """Strokes redrawn at one width: thinned by their typical half-width (`width` from _stroke_width), then
    grown to `half_width`, so a fine and a fat brush look alike."""
    core = erode(strokes, max(0, int((width - 1) // 2)))
    if not core.any():  # too uneven to thin safely
        core = strokes
    return dilate(core, half_width)


def _continued_loose_ends(strokes: np.ndarray, size: int, tip: int = 6, spread_deg: float = 15) -> np.ndarray:
    """Lines (walls for the fill, not ink) that carry each loose end of the strokes on along its heading until
    they meet other ink, up to LOOSE_END_REACH of the drawing's `size`: a hurried outline's gap is closed the
    way the hand was going.

    The heading is from the centre of the line's last `tip` px to its end; a fan of rays +-`spread_deg` finds
    the nearest ink ahead. Centre lines are pruned by 3 px first, so a wobbly stroke's side spurs are no ends.
    """
    centre = skeleton(strokes)
    for _ in range(3):
        centre &= ~ends(centre)
    ys, xs = np.nonzero(ends(centre))
    if not 0 < len(xs) <= MAX_LOOSE_ENDS:  # none to continue (a closed outline), or a scribble
        return np.zeros_like(strokes)
    line_y, line_x = np.nonzero(centre)
    near = np.hypot(line_x - xs[:, None], line_y - ys[:, None]) <= tip  # [ends, centre-line pixels]
    count = near.sum(axis=1)  # whole numbers sum exactly in any order: these means are np.mean's to the bit
    mean_y, mean_x = (near @ line_y) / count, (near @ line_x) / count
    turns = np.radians(np.linspace(-spread_deg, spread_deg, 7))
    # One scalar call per angle: numpy's array loops for arctan2, cos and sin may use vector code that differs
    # in the last bit from the scalar one, and a ray a bit off can land on another pixel.
    aims = [np.arctan2(dy, dx) + turns for dy, dx in zip(ys - mean_y, xs - mean_x)]
    dys = np.array([[np.sin(a) for a in aim] for aim in aims]).reshape(len(aims), len(turns))
    dxs = np.array([[np.cos(a) for a in aim] for aim in aims]).reshape(len(aims), len(turns))
    hits = first_hits(strokes, ys, xs, dys, dxs, int(LOOSE_END_REACH * size))
    h, w = strokes.shape
    walls = Image.new("1", (w, h), 0)
    draw = ImageDraw.Draw(walls)
    for x, y, t, py, px in zip(xs, ys, *hits):
        if t:
            draw.line([(int(x), int(y)), (int(px), int(py))], fill=1, width=2)
    return np.asarray(walls, dtype=bool)


def _stroke_width(strokes: np.ndarray) -> float:
    """The strokes' typical width: area / boundary, which is the width of a long stroke."""
    boundary = strokes & ~erode(strokes, 1)
    return 2.0 * strokes.sum() / max(1, boundary.sum())


def _upscale(small: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return _resize(np.float32(small), size, Image.Resampling.BILINEAR)


def _resize(pixels: np.ndarray, size: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    """[H, W] uint8 or float32 -> resized by PIL to size (width, height). Ink from the canvas is already at the
    fill's side: then PIL would only copy it, so it is returned as it is."""
    if pixels.shape == (size[1], size[0]):
        return pixels
    return np.asarray(Image.fromarray(pixels).resize(size, resample))
