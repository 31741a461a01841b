"""Turn a user's drawing or photo into a Fashion-MNIST-like 28x28 image.

Fashion-MNIST was made from product photos on white (Xiao et al. 2017, arXiv 1708.07747): trim to the
object, resize the longest edge to 28, sharpen, centre on a 28x28 canvas, negate, greyscale. This module
replays those steps on user input so the network sees what it was trained on. It is numpy/PIL only: the
28 -> 224 resize belongs to `nin.data.to_model_input`, the one resize training also uses.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, UnidentifiedImageError

SIZE = 28
MAX_PIXELS = 40_000_000    # decoded pixels allowed; a 40 MP phone photo passes, a decompression bomb does not
MIN_SIDE = 8               # below this there is no shape left to classify
# Longest side over shortest side. Fitting the longest edge to 28 px leaves 28 / 20 = 1.4 px for the short one
# at 20:1, so nothing recognisable survives beyond it; garment photos, even panoramas, stay well under it. A
# strip like 10000x8 is within the pixel limit, costs a full decode, and can only be a mistake or a probe.
MAX_ASPECT = 20
WORK_SIDE = 1024           # longest side photos are reduced to before any float work; the result is 28 px anyway
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

# Pillow's decoder name -> the name users know. Only these decoders ever see an uploaded file.
PHOTO_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP", "BMP": "BMP", "GIF": "GIF"}

# Set once at import, for every decoder in the process (Gradio's included): Pillow refuses files over twice
# this before decoding. Between 1x and 2x it only warns; we refuse those ourselves with a clearer message, so
# the warning is silenced here, process-wide, instead of per call (warnings.catch_warnings is not thread-safe).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

_ORIGINAL_SIZE = "nin.original_size"  # Image.info key: (width, height) before load_image reduced the image
_ORIENTATION = 0x0112                  # EXIF tag
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270,
              7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
# Formats people try that we do not decode, by their first bytes: (offset, magic, name), for the message only.
_OTHER_FORMATS = (
    (0, b"II*\x00", "TIFF"), (0, b"MM\x00*", "TIFF"), (0, b"II+\x00", "TIFF"), (0, b"MM\x00+", "TIFF"),
    (0, b"8BPS", "Photoshop (PSD)"), (0, b"\x00\x00\x01\x00", "Windows icon (ICO)"),
    (0, b"%PDF", "PDF"), (0, b"%!PS", "PostScript"), (0, b"\xffO\xffQ", "JPEG 2000"),
    (4, b"jP  ", "JPEG 2000"), (0, b"\xff\x0a", "JPEG XL"), (4, b"JXL ", "JPEG XL"),
    (4, b"ftypheic", "HEIC"), (4, b"ftypheix", "HEIC"), (4, b"ftypmif1", "HEIF"), (4, b"ftypavif", "AVIF"),
    (0, b"icns", "Apple icon (ICNS)"), (0, b"qoif", "QOI"), (0, b"DDS ", "DDS"),
)


class InputError(ValueError):
    """Input the app cannot use. The message is written for the person who gave it."""


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


# ----------------------------------------------------------------------------- decoding untrusted files

def open_checked(data: str | Path | bytes, formats: dict[str, str] = PHOTO_FORMATS) -> Image.Image:
    """Open a file from its header only and check it; nothing is decoded yet.

    Only the decoders in `formats` (Pillow name -> user name) are tried. The size checks run before the
    caller decodes, so a refused file costs a few kilobytes of reading, whatever it claims to hold.
    """
    source = io_source(data)
    try:
        # MPO (multi-picture JPEG, from many cameras) has no opener of its own: the JPEG plugin returns it.
        image = Image.open(source, formats=tuple(name for name in formats if name != "MPO"))
    except Image.DecompressionBombError:
        raise InputError(f"This image is too large to decode safely: over {2 * MAX_PIXELS / 1e6:.0f} megapixels, "
                         f"and the limit is {MAX_PIXELS / 1e6:.0f}. Please upload a smaller image.") from None
    except FileNotFoundError:
        raise InputError("The uploaded file could not be found on the server. Please upload it again.") from None
    except UnidentifiedImageError:
        raise InputError(unsupported_message(data, formats)) from None
    except Exception:
        raise InputError(f"This file is not an image I can read. Please upload a {accepted_names(formats)}.") from None
    try:
        if image.format not in formats:  # a plugin outside the list answered (cannot happen with `formats=`)
            raise InputError(unsupported_message(data, formats))
        check_size(*image.size)
    except InputError:
        image.close()
        raise
    return image


def io_source(data: str | Path | bytes):
    return io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data


def accepted_names(formats: dict[str, str]) -> str:
    names = list(dict.fromkeys(formats.values()))
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def unsupported_message(data: str | Path | bytes, formats: dict[str, str] = PHOTO_FORMATS) -> str:
    """Name what was received, when we can tell, and what is accepted."""
    try:
        if isinstance(data, (bytes, bytearray, memoryview)):
            head = bytes(data[:64])
        else:
            with open(data, "rb") as file:
                head = file.read(64)
    except (OSError, TypeError):
        head = b""
    name = next((n for offset, magic, n in _OTHER_FORMATS if head[offset:offset + len(magic)] == magic), None)
    if name is None and b"<svg" in head.lower():
        name = "SVG"
    accepted = accepted_names(formats)
    if name is None:
        return f"This file is not an image I can read. Please upload a {accepted}."
    return (f"This is a {name} file, not an image format I read. Please upload a {accepted} instead "
            "(save or export it as one of those).")


def check_size(width: int, height: int) -> None:
    """Pixel count, smallest side and aspect ratio, from the header's numbers."""
    if width * height > MAX_PIXELS:
        raise InputError(f"This image is {width}×{height} = {width * height / 1e6:.0f} megapixels; "
                         f"the limit is {MAX_PIXELS / 1e6:.0f}. Please upload a smaller image.")
    if min(width, height) < MIN_SIDE:
        raise InputError(f"This image is only {width}×{height} pixels. "
                         f"Please use one at least {MIN_SIDE}×{MIN_SIDE}.")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise InputError(f"This image is {width}×{height} pixels, a strip about "
                         f"{max(width, height) // min(width, height)} times longer than it is wide; the limit is "
                         f"{MAX_ASPECT}:1. Please crop it closer to the garment.")


def load_image(data: str | Path | bytes | Image.Image) -> Image.Image:
    """Open an image file (path or bytes) defensively; return its first frame, decoded and upright.

    The header is checked before anything is decoded (`open_checked`). A large JPEG is decoded at 1/2, 1/4
    or 1/8 scale by libjpeg itself, and anything still longer than WORK_SIDE is box-reduced right after
    decoding, in 8-bit, so the float work downstream never sees more than about a megapixel. The size before
    reduction travels in `image.info` for the steps shown to the user.
    Every failure becomes an InputError with a message a user can act on; nothing else escapes.
    """
    if isinstance(data, Image.Image):
        image = data
        check_size(*image.size)
    else:
        image = open_checked(data)
    original_size = image.size
    if getattr(image, "format", None) in ("JPEG", "MPO") and max(image.size) >= 2 * WORK_SIDE:
        scale = WORK_SIDE / max(image.size)
        # Greyscale straight from the decoder: JPEG's Y channel is the same luma that convert("L") computes.
        image.draft("L", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    try:
        image.seek(0)  # animated GIF/WebP/PNG: classify the first frame
        image.load()
    except Exception:
        raise InputError("This image file is truncated or corrupt, so it cannot be decoded. "
                         "Please upload the complete file.") from None
    try:
        orientation = image.getexif().get(_ORIENTATION)  # phone photos are often stored sideways
    except Exception:
        orientation = None  # a broken EXIF block is no reason to refuse the picture itself
    image = reduce_to_working(image)
    if orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[orientation])
        if orientation >= 5:  # the four orientations that swap width and height
            original_size = original_size[::-1]
    if image.size != original_size:  # only ever a new image here: a caller's Image is not modified
        image.info[_ORIGINAL_SIZE] = original_size
    return image


def reduce_to_working(image: Image.Image, side: int = WORK_SIDE) -> Image.Image:
    """Box-reduce by a whole factor until the longest side is at most `side`; small images pass untouched.

    8-bit images are laid over white and greyscaled first, in 8 bits, which is what `to_grey` would do
    anyway: averaging palette indices would be wrong, and transparent pixels' arbitrary colour must not
    bleed into their neighbours. 16/32-bit greyscale keeps its depth (to_grey scales by it).
    """
    factor = math.ceil(max(image.size) / side)
    if factor <= 1:
        return image
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        return image.resize((math.ceil(image.width / factor), math.ceil(image.height / factor)),
                            Image.Resampling.BOX)
    return flatten_on_white(image).reduce(factor)


def flatten_on_white(image: Image.Image) -> Image.Image:
    """Any 8-bit mode -> "L", transparency laid over white, as product photos are.

    Built from two 1-byte bands rather than an RGBA copy: for a 40 MP RGBA PNG that is 120 MB next to the
    decoded 160 MB instead of another 160-320 MB.
    """
    if image.mode not in ("LA", "RGBA"):
        if "transparency" not in image.info and image.mode not in ("PA", "La", "RGBa"):
            return image.convert("L")
        image = image.convert("RGBA")
    grey = Image.new("L", image.size, 255)
    grey.paste(image.convert("L"), mask=image.getchannel("A"))
    return grey


def original_size_of(image: Image.Image) -> tuple[int, int]:
    size = image.info.get(_ORIGINAL_SIZE)
    valid = isinstance(size, tuple) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)
    return size if valid else image.size


def to_grey(image: Image.Image) -> np.ndarray:
    """Any PIL mode -> float32 [H, W] in [0, 1]. Transparency is laid over white, as product photos are."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # 16/32-bit greyscale: scale by the container's range, not the image's, so dark stays dark.
        array = np.asarray(image, dtype=np.float32)
        top = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
        if mode == "F":
            top = max(1.0, float(array.max()))
        return np.clip(array / top, 0, 1).astype(np.float32)
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or image.mode == "RGBA":
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


# ----------------------------------------------------------------------------- the Fashion-MNIST recipe

def border_level(grey: np.ndarray) -> float:
    """Median of the outer ring: the background level of a product photo or a canvas."""
    h, w = grey.shape
    k = max(1, int(round(min(h, w) * BORDER_FRACTION)))
    ring = np.concatenate([grey[:k].ravel(), grey[-k:].ravel(), grey[:, :k].ravel(), grey[:, -k:].ravel()])
    return float(np.median(ring))


def is_light_background(grey: np.ndarray) -> bool:
    """A photo on white (or any light backdrop) must be negated to become light-on-black like the dataset."""
    return border_level(grey) > 0.5


def object_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom), exclusive on the right/bottom, of the True pixels; None if there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def fit_and_centre(crop: np.ndarray, size: int = SIZE) -> np.ndarray:
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
    steps.append(f"longest edge fitted to {SIZE} px, centred on {SIZE}×{SIZE}")
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
