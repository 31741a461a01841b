"""Turn a user's drawing or photo into a Fashion-MNIST-like 28x28 image.

Fashion-MNIST was made from product photos on white (Xiao et al. 2017, arXiv 1708.07747): trim to the
object, resize the longest edge to 28, sharpen, centre on a 28x28 canvas, negate, greyscale. This module
replays those steps on user input so the network sees what it was trained on. It is numpy/PIL only: the
28 -> 224 resize belongs to `nin.data.to_model_input`, the one resize training also uses.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageFilter, ImageOps

SIZE = 28
MAX_PIXELS = 40_000_000    # decoded pixels allowed; a 40 MP phone photo passes, a decompression bomb does not
MIN_SIDE = 8               # below this there is no shape left to classify
INK_THRESHOLD = 0.08       # |pixel - background| above this counts as object (JPEG noise stays below it)
SHARPEN_PERCENT = 0        # unsharp-mask strength after resizing; 0 measured closest on round-tripped test images
BORDER_FRACTION = 0.04     # the outer ring used to judge the background, as a fraction of the short side


class InputError(ValueError):
    """Input the app cannot use. The message is written for the person who gave it."""


class EmptyInput(InputError):
    """Nothing to classify yet (an untouched or cleared sketch, a blank image)."""


@dataclass(frozen=True)
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

def load_image(data: str | bytes | Image.Image) -> Image.Image:
    """Open an image file (path or bytes) defensively and return its first frame, fully decoded.

    Every failure becomes an InputError with a message a user can act on; nothing else escapes.
    """
    if isinstance(data, Image.Image):
        image = data
    else:
        try:
            with warnings.catch_warnings():
                # Pillow warns (then errors) on huge images; we apply our own, stricter limit below.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
        except Image.DecompressionBombError:
            raise InputError("This image is far too large to decode safely (a decompression bomb?). "
                             "Please upload a smaller image.") from None
        except FileNotFoundError:
            raise InputError("The uploaded file could not be found on the server. Please upload it again.") from None
        except Exception:
            raise InputError("This file is not an image I can read. Please upload a PNG, JPEG, WebP, BMP or GIF.") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise InputError(f"This image is {width}×{height} = {width * height / 1e6:.0f} megapixels; "
                         f"the limit is {MAX_PIXELS / 1e6:.0f}. Please upload a smaller image.")
    if min(width, height) < MIN_SIDE:
        raise InputError(f"This image is only {width}×{height} pixels. "
                         f"Please use one at least {MIN_SIDE}×{MIN_SIDE}.")
    try:
        image.seek(0)  # animated GIF/WebP/PNG: classify the first frame
        image.load()
    except Exception:
        raise InputError("This image file is truncated or corrupt, so it cannot be decoded. "
                         "Please upload the complete file.") from None
    try:
        image = ImageOps.exif_transpose(image)  # phone photos are often stored sideways
    except Exception:
        pass  # a broken EXIF block is no reason to refuse the picture itself
    return image


def to_grey(image: Image.Image) -> np.ndarray:
    """Any PIL mode -> float32 [H, W] in [0, 1]. Transparency is laid over white, as product photos are."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # 16/32-bit greyscale: scale by the container's range, not the image's, so dark stays dark.
        array = np.asarray(image, dtype=np.float64)
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
    """Shared tail of both paths: light-on-black float image -> trimmed, fitted, centred 28x28."""
    bbox = object_bbox(garment > INK_THRESHOLD)
    if bbox is None:
        raise EmptyInput("Nothing stands out from the background, so there is nothing to classify.")
    left, top, right, bottom = bbox
    steps.append(f"trimmed to the object: {right - left}×{bottom - top} px at ({left}, {top})")
    image = fit_and_centre(garment[top:bottom, left:right])
    steps.append(f"longest edge fitted to {SIZE} px, centred on {SIZE}×{SIZE}")
    return Preprocessed(image, source, negated, background, bbox, original_size, steps)


def preprocess_photo(image: Image.Image) -> Preprocessed:
    """A photo or uploaded file: greyscale, negate if the background is light, then trim/fit/centre."""
    grey = to_grey(image)
    background = border_level(grey)
    steps = [f"greyscale {image.width}×{image.height}, background level {background:.2f}"]
    negated = background > 0.5
    if negated:
        grey = 1.0 - grey
        steps.append("light background → negated to light-on-black, like Fashion-MNIST")
    else:
        steps.append("dark background → kept as is")
    # Stretch so the backdrop is exactly black: a grey studio backdrop must not read as part of the garment.
    level = 1.0 - background if negated else background
    garment = np.clip((grey - level) / max(1e-3, 1.0 - level), 0, 1)
    return _finish(garment, "photo", negated, background, image.size, steps)


def ink_mask(sketch: dict | None) -> np.ndarray | None:
    """The drawn strokes as float [H, W] in [0, 1], from the layers' alpha; None when nothing is drawn.

    The alpha channel is right for any brush colour and survives "Clear canvas", which drops the black
    background so later strokes land on white and the composite looks blank (see shared/STACK.md).
    """
    if not sketch:
        return None
    layers = [layer for layer in (sketch.get("layers") or []) if layer is not None]
    if not layers:
        return None
    mask = np.max(np.stack([_layer_ink(np.asarray(layer)) for layer in layers]), axis=0).astype(np.float32) / 255.0
    return mask if mask.max() > 0 else None


def _layer_ink(layer: np.ndarray) -> np.ndarray:
    """A layer's ink as uint8: its alpha when it has one, else its brightness."""
    if layer.ndim == 3 and layer.shape[-1] == 4:
        return layer[..., 3]
    return np.asarray(Image.fromarray(layer).convert("L"))


def preprocess_sketch(sketch: dict | None) -> Preprocessed:
    """A sketchpad value: ink mask (already light-on-black), then trim/fit/centre."""
    mask = ink_mask(sketch)
    if mask is None:
        raise EmptyInput("Draw a garment on the black canvas and the prediction appears as you draw.")
    h, w = mask.shape
    steps = [f"ink mask of the strokes on the {w}×{h} canvas (white on black, like the dataset)"]
    return _finish(mask, "sketch", False, 0.0, (w, h), steps)
