"""Pictures from numbers: feature-map grids, class-map panel, CAM overlay. numpy, PIL and HTML; no torch.

One colormap (viridis) is used everywhere, always from 0 (black-purple) to a stated maximum (yellow):
every activation drawn here is a ReLU or max-pool output, so 0 is the natural floor. Drawing with numpy
instead of a matplotlib figure per request keeps a full page of pictures within a few milliseconds.
"""

from __future__ import annotations

import base64
import html
import io
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nin.render.bars import bar_row

# matplotlib's viridis sampled at 10 even steps; linear interpolation between them is visually exact.
_VIRIDIS_ANCHORS = np.array([
    (0x44, 0x01, 0x54), (0x48, 0x28, 0x78), (0x3E, 0x4A, 0x89), (0x31, 0x68, 0x8E), (0x26, 0x82, 0x8E),
    (0x1F, 0x9E, 0x89), (0x35, 0xB7, 0x79), (0x6D, 0xCD, 0x59), (0xB4, 0xDE, 0x2C), (0xFD, 0xE7, 0x25),
], dtype=np.float64)
_t = np.linspace(0, 1, len(_VIRIDIS_ANCHORS))
VIRIDIS = np.stack([np.interp(np.linspace(0, 1, 256), _t, _VIRIDIS_ANCHORS[:, c]) for c in range(3)], axis=1)
VIRIDIS = np.round(VIRIDIS).astype(np.uint8)
LABEL_COLOUR = (60, 60, 60)


def colorize(values: np.ndarray, vmax: float) -> np.ndarray:
    """Map values in [0, vmax] to viridis RGB uint8; values are clipped, and vmax <= 0 draws all as 0."""
    scaled = np.zeros_like(values, dtype=np.float32) if vmax <= 0 else np.clip(values / vmax, 0, 1)
    return VIRIDIS[np.round(scaled * 255).astype(np.intp)]


VIRIDIS_HEX = tuple(f"#{r:02x}{g:02x}{b:02x}" for r, g, b in VIRIDIS)


def hex_colour(value: float, vmax: float) -> str:
    """`colorize` for one number, in plain Python: the GAP panel prints 250 of them per request."""
    scaled = 0.0 if vmax <= 0 else min(1.0, max(0.0, value / vmax))
    return VIRIDIS_HEX[round(scaled * 255)]


def grey_uint8(image01: np.ndarray, scale: int = 1) -> np.ndarray:
    """A [0, 1] or uint8 greyscale image as uint8, optionally enlarged by pixel replication."""
    grey = image01 if image01.dtype == np.uint8 else np.clip(image01 * 255 + 0.5, 0, 255).astype(np.uint8)
    return np.repeat(np.repeat(grey, scale, axis=0), scale, axis=1)


def grey_to_rgb(image01: np.ndarray, scale: int = 1) -> np.ndarray:
    """`grey_uint8` as RGB uint8."""
    return np.stack([grey_uint8(image01, scale)] * 3, axis=-1)


# Text inside pictures: DejaVu Sans, subset and shipped in the repo (nin/render/fonts/LICENSE.txt), so the pictures look
# the same here and on Spaces without system fonts. Pillow's bundled font (Aileron, `load_default(size=...)`)
# has no "×" or "−": "1×1" came out as "1▯1".
FONT_FILE = Path(__file__).resolve().parent / "fonts" / "DejaVuSans-NiN.ttf"


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_FILE), size)


def cell_scale(side: int, target: int = 52) -> int:
    """Integer enlargement so every stage's maps are drawn about `target` px wide, pixels kept square."""
    return max(1, round(target / side))


# Feature grids are palette images: 240 viridis steps for values, 16 shades from white to the label colour
# for the anti-aliased channel labels. One byte per pixel instead of three makes the inline PNG ~3x smaller
# and faster to encode, and 240 steps are as many as the eye tells apart on a continuous scale.
GRID_LEVELS = 240
GRID_WHITE = 255
_GRID_SHADES = 256 - GRID_LEVELS                      # index 255 - k is white blended k/15 toward the label colour
GRID_PALETTE = np.concatenate([
    np.stack([np.interp(np.linspace(0, 1, GRID_LEVELS), _t, _VIRIDIS_ANCHORS[:, c]) for c in range(3)], axis=1),
    [np.array([255.0, 255.0, 255.0]) + (np.array(LABEL_COLOUR) - 255.0) * k / (_GRID_SHADES - 1)
     for k in reversed(range(_GRID_SHADES))],
]).round().astype(np.uint8)


@lru_cache(maxsize=2048)
def _label_indices(text: str, size: int = 10) -> np.ndarray:
    """A label drawn once in palette indices (white background), reused by every grid that shows it.

    Drawing text costs ~0.2 ms a label with FreeType; a page has ~100 labels from a small fixed set
    ("#0".."#383" and the class names), so caching their bitmaps takes the text off the request path.
    """
    font = _font(size)
    left, top, right, bottom = font.getbbox(text)
    mask = Image.new("L", (max(1, right), max(1, bottom)), 0)
    ImageDraw.Draw(mask).text((0, 0), text, fill=255, font=font)
    shade = np.round(np.asarray(mask, np.float32) * (_GRID_SHADES - 1) / 255).astype(np.uint8)
    indices = (GRID_WHITE - shade).astype(np.uint8)
    indices.flags.writeable = False
    return indices


def feature_grid_image(maps: np.ndarray, channels: np.ndarray, vmax: float, columns: int | None = None,
                       labels: list[str] | None = None, target: int = 52) -> Image.Image:
    """A grid of channel activations with a label above each (default "#index"), as a palette image.

    maps: [C, H, W]; channels: which to draw, in order; vmax: the top of the shared colour scale, so
    brightness is comparable across the channels of a stage; target: about how wide each cell is drawn.
    """
    _, h, w = maps.shape
    scale = cell_scale(max(h, w), target)
    cell_h, cell_w = h * scale, w * scale
    label_h, gap = 13, 4
    columns = columns or int(np.ceil(np.sqrt(len(channels))))
    rows = int(np.ceil(len(channels) / columns))
    height = rows * (cell_h + label_h + gap) + gap
    width = columns * (cell_w + gap) + gap
    canvas = np.full((height, width), GRID_WHITE, dtype=np.uint8)
    selected = maps[channels]
    scaled = np.zeros(selected.shape, np.float32) if vmax <= 0 else np.clip(selected / vmax, 0, 1)
    tiles = np.rint(scaled * (GRID_LEVELS - 1)).astype(np.uint8)          # [K, H, W] palette indices
    tiles = np.repeat(np.repeat(tiles, scale, axis=1), scale, axis=2)
    for i, channel in enumerate(channels):
        r, c = divmod(i, columns)
        top, left = gap + r * (cell_h + label_h + gap) + label_h, gap + c * (cell_w + gap)
        canvas[top:top + cell_h, left:left + cell_w] = tiles[i]
        text = _label_indices(labels[i] if labels else f"#{int(channel)}")
        th, tw = min(text.shape[0], label_h), min(text.shape[1], width - left)
        # min(): a label never darkens what another label or a tile already drew
        np.minimum(canvas[top - label_h:top - label_h + th, left:left + tw], text[:th, :tw],
                   out=canvas[top - label_h:top - label_h + th, left:left + tw])
    image = Image.fromarray(canvas)
    image.putpalette(GRID_PALETTE.tobytes())  # L + palette -> P: the indices are kept, the palette added
    return image


def cam_overlay(input01: np.ndarray, cam: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """The CAM in viridis over the greyscale input; the CAM is scaled from 0 to its own maximum."""
    grey = grey_to_rgb(input01).astype(np.float32)
    heat = colorize(cam, float(cam.max())).astype(np.float32)
    return np.clip((1 - alpha) * grey + alpha * heat, 0, 255).astype(np.uint8)


def png_bytes(image: np.ndarray | Image.Image) -> bytes:
    """Lossless PNG, so every activation pixel stays crisp."""
    buffer = io.BytesIO()
    picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
    picture.save(buffer, format="PNG", compress_level=1)  # level 1: ~3x faster than 6, files barely larger
    return buffer.getvalue()


def png_data_uri(image: np.ndarray | Image.Image) -> str:
    """Inline PNG: no extra file round trip per picture, but the picture travels inside the HTML."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def stage_panel_html(images: dict[str, np.ndarray | Image.Image], titles: dict[str, str], src=png_data_uri) -> str:
    """All stages' grids as captioned figures that wrap to the page width; `src(image)` gives each <img> its
    address (inline by default; the app passes one that writes a file, so the HTML stays a few kB)."""
    figures = "".join(
        f'<figure class="nin-stage" data-stage="{html.escape(stage)}">'
        f'<figcaption><b>{html.escape(stage)}</b> {html.escape(titles[stage].split(" · ", 1)[-1])}</figcaption>'
        f'<img src="{html.escape(src(image))}" alt="{html.escape(titles[stage])}" '
        f'style="max-width:100%;width:{_width(image)}px"></figure>'
        for stage, image in images.items())
    return f'<div class="nin-stages">{figures}</div>'


def _width(image: np.ndarray | Image.Image) -> int:
    return image.width if isinstance(image, Image.Image) else image.shape[1]


def colorbar_html(vmax: float, label: str) -> str:
    stops = ", ".join(f"#{r:02x}{g:02x}{b:02x}" for r, g, b in _VIRIDIS_ANCHORS.astype(int))
    return (f'<div class="nin-colorbar"><span>0</span><span class="nin-ramp" '
            f'style="background: linear-gradient(to right, {stops})"></span>'
            f'<span>{vmax:.2f}</span><span class="nin-colorbar-label">{html.escape(label)}</span></div>')


def _luminance(hex_rgb: str) -> float:
    """WCAG relative luminance of "#rrggbb" (or "#rgb")."""
    if len(hex_rgb) == 4:
        hex_rgb = "#" + "".join(c * 2 for c in hex_rgb[1:])
    channels = [int(hex_rgb[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_on(background: str) -> str:
    """Black or white, whichever contrasts more with `background` ("#rrggbb"): at least 4.58:1 on any colour,
    so a value printed on its colour meets WCAG AA (viridis' middle greens took white text at 3.4:1)."""
    lum = _luminance(background)
    return "#000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#fff"


def viridis_cell(value: float, vmax: float) -> tuple[str, str]:
    """Background and text colour for a value printed on its viridis colour."""
    background = hex_colour(value, vmax)
    return background, text_on(background)


def map_table_html(values: np.ndarray, vmax: float, colours=viridis_cell, digits: int = 1) -> str:
    """A 2-D map as an HTML table with every value printed; `colours(value, vmax)` gives (background, text)."""
    cells = []
    for row in values:
        tds = []
        for v in row:
            background, text = colours(float(v), vmax)
            tds.append(f'<td style="background:{background};color:{text}">{v:.{digits}f}</td>')
        cells.append("<tr>" + "".join(tds) + "</tr>")
    return f'<table class="nin-map">{"".join(cells)}</table>'


def title_lines(title: str, width: int, size: int = 12) -> list[str]:
    """`title` broken into lines no wider than `width` px: at " · " first, then between words."""
    font = _font(size)
    fits = lambda text: font.getlength(text) <= width  # noqa: E731
    lines: list[str] = []
    for part in title.split(" · "):
        joined = f"{lines[-1]} · {part}" if lines else part
        if lines and fits(joined):
            lines[-1] = joined
            continue
        line = ""
        for word in part.split(" "):
            if line and not fits(f"{line} {word}"):
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


def with_title(image: np.ndarray, title: str, size: int = 12, min_width: int = 240) -> np.ndarray:
    """`image` under a white band holding `title`, RGB uint8. The title wraps to the picture's width (at least
    `min_width`, widened with white when the picture is narrower), so it scales with the picture on a phone."""
    font = _font(size)
    width = max(image.shape[1], min_width)
    lines = title_lines(title, width - 8, size)
    line_height = size + 4
    band = line_height * len(lines) + 6
    canvas = Image.new("RGB", (width, image.shape[0] + band), (255, 255, 255))
    canvas.paste(Image.fromarray(image), (0, band))
    ImageDraw.Draw(canvas).multiline_text((4, 3), "\n".join(lines), fill=LABEL_COLOUR, font=font, spacing=4)
    return np.asarray(canvas)


def gap_panel_html(class_maps: np.ndarray, logits: np.ndarray, probs: np.ndarray,
                   class_names: tuple[str, ...] | list[str]) -> str:
    """The global-average-pooling step laid open, as HTML.

    Small multiples of the 10 class maps with every value printed, each titled with its mean (= logit)
    and softmax probability; a bar chart of the pooled scores; and one sentence with this input's numbers.
    Maps and bars are in one order, the classes', as in the live strip under the canvas, so the k-th map is
    the k-th bar; the predicted class is the one outlined.
    """
    predicted = int(np.argmax(logits))
    vmax = float(class_maps.max())
    k, h, w = class_maps.shape
    name = html.escape(class_names[predicted])
    summary = (
        f'<p class="nin-gap-summary">block4 ends in {k} maps of {h}×{w}, one per class. Global average pooling '
        f'replaces the fully-connected classifier: each class\'s score is just the mean of its own map. '
        f'<b>{name}: mean of {h * w} values = {logits[predicted]:.2f} → softmax {probs[predicted]:.0%}</b>. '
        f'The softmax turns the {k} means into probabilities that sum to 100%.</p>'
    )
    cards = []
    for i in range(k):
        cls = "nin-card nin-card-top" if i == predicted else "nin-card"
        cards.append(
            f'<div class="{cls}" data-class="{i}"><div class="nin-card-title">{html.escape(class_names[i])}</div>'
            f'{map_table_html(class_maps[i], vmax)}'
            f'<div class="nin-card-stats">mean <b>{logits[i]:.2f}</b> · p <b>{probs[i]:.1%}</b></div></div>')
    top = max(float(logits.max()), 1e-6)
    bars = "".join(bar_row(class_names[i], max(0.0, logits[i]) / top, f"{logits[i]:.2f} → {probs[i]:.1%}",
                           tone="top" if i == predicted else "") for i in range(k))
    return (
        f'<div class="nin-gap" data-predicted="{predicted}">{summary}'
        f'<div class="nin-gap-body"><div class="nin-cards">{"".join(cards)}</div>'
        f'<div class="nin-bars"><div class="nin-bars-title">Pooled scores (logits) → softmax, in the maps\' order'
        f'</div>{bars}</div></div>'
        f'{colorbar_html(vmax, "map values, one scale for all 10 maps")}</div>'
    )


