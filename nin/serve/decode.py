"""Untrusted image files -> an upright, size-checked PIL image and its grey levels, or a message a person can act on.

Uploads and the sketchpad's layers come from anyone. A file is opened from its header only and its size
checked before any pixel is decoded (`open_checked`); only the decoders in PHOTO_FORMATS ever see it; large
images are reduced in 8 bits before any float work (`load_image`, `reduce_to_working`), and `to_grey` lays
transparency over white. Every failure is an InputError whose message is written for the person who gave
the file. What the pixels then become is `nin.serve.preprocess`'s job.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 40_000_000    # decoded pixels allowed; a 40 MP phone photo passes, a decompression bomb does not
MIN_SIDE = 8               # below this there is no shape left to classify
# Longest side over shortest side. Fitting the longest edge to 28 px leaves 28 / 20 = 1.4 px for the short one
# at 20:1, so nothing recognisable survives beyond it; garment photos, even panoramas, stay well under it. A
# strip like 10000x8 is within the pixel limit, costs a full decode, and can only be a mistake or a probe.
MAX_ASPECT = 20
WORK_SIDE = 1024           # longest side photos are reduced to before any float work; the result is 28 px anyway
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
