"""Pictures and HTML for the "Explore further" tab: channel maps and kernels, top-9 tiles, neighbours, occlusion.

numpy, PIL and HTML only, no torch: every function takes what nin.serve.channels, nin.serve.neighbours and nin.serve.occlusion
computed (their dataclasses or plain arrays) and the official test images, and draws it. Activations use
nin.render.heatmaps's viridis from 0; signed values (kernels, changes of probability) nin.render.lesson_panels's blue-white-red
centred on 0. Pictures are inline PNGs by default; the app passes `src`, which writes each to a file and
gives its address, so a panel's HTML stays small. Every text put into HTML is escaped. `start_here_html`
is the page's guided path, plain HTML with inline styles so it needs no stylesheet.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

from nin.render import heatmaps
from nin.render.lesson_panels import diverging, diverging_cell
from nin.names import CLASS_NAMES
from nin.serve.neighbours import FEATURE_METRIC, PIXEL_METRIC  # numpy only, like this module

if TYPE_CHECKING:  # the results drawn here; their modules run the network, so they are not imported at run time
    from nin.serve.channels import ChannelTop
    from nin.serve.neighbours import Neighbours
    from nin.serve.occlusion import Occlusion

MAP_SIDE = 270        # px: a channel's map for the session's input, whatever its grid (54, 26, 12 or 5)
THUMB_SCALE = 4       # top-9 tiles: 28 px shown at 112 px
NEIGHBOUR_SCALE = 3   # neighbour tiles: 84 px
BOX_COLOUR = (255, 140, 0)
MATCH_COLOUR = "#f59e0b"




def data_uri(image: np.ndarray | Image.Image) -> str:
    return heatmaps.png_data_uri(image)


def _values_attr(values: np.ndarray, digits: int) -> str:
    return html.escape(json.dumps([round(float(v), digits) for v in np.ravel(values)]))


def _enlarge(rgb: np.ndarray, side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    rows = (np.arange(side) * h // side).clip(0, h - 1)
    cols = (np.arange(side) * w // side).clip(0, w - 1)
    return rgb[rows][:, cols]


# ----------------------------------------------------------------------------- a channel

def channel_map_figure(values: np.ndarray, title: str, src=data_uri) -> str:
    """One channel's map for the session's input, enlarged, its value under the pointer printed below it."""
    values = np.asarray(values, np.float64)
    vmax = float(values.max())
    picture = _enlarge(heatmaps.colorize(values, vmax or 1.0), MAP_SIDE)
    h, w = values.shape
    return (f'<figure class="nin-x-fig nin-x-map"><figcaption>{html.escape(title)} · colour 0 → {vmax:.2f}'
            f'</figcaption><img src="{src(picture)}" data-side="{w}" data-values="{_values_attr(values, 3)}" '
            f'alt="{html.escape(title)}" width="{MAP_SIDE}" height="{MAP_SIDE}">'
            '<span class="nin-readout">Point at the map (or tap it) to read a value.</span></figure>')


def kernel_figure(kernel: np.ndarray, index: int, src=data_uri) -> str:
    """block1's 11x11 kernel of one channel, blue (negative) - white - red (positive), values on hover."""
    kernel = np.asarray(kernel, np.float64)
    vmax = float(np.abs(kernel).max())
    picture = _enlarge(diverging(kernel, vmax), 176)
    return (f'<figure class="nin-x-fig nin-x-map"><figcaption>block1 kernel #{index}: the 11×11 weights its first '
            f'conv slides over the 224×224 input (stride 4) · blue −{vmax:.2f}, white 0, red +{vmax:.2f}. The block\'s '
            f'output #{index} then mixes all 96 such responses through two 1×1 convs.</figcaption>'
            f'<img src="{src(picture)}" data-side="{kernel.shape[1]}" data-values="{_values_attr(kernel, 4)}" '
            f'alt="block1 kernel {index}" width="176" height="176">'
            '<span class="nin-readout">Point at the kernel to read a weight.</span></figure>')


def thumbnail_with_box(image28: np.ndarray, box: list[float] | tuple[float, ...] | None, scale: int) -> np.ndarray:
    """A 28x28 test image enlarged `scale` times (RGB), with a receptive-field box [left, top, right, bottom]."""
    picture = Image.fromarray(heatmaps.grey_to_rgb(np.asarray(image28, np.uint8), scale))
    if box is not None:
        left, top, right, bottom = (v * scale for v in box)
        draw = ImageDraw.Draw(picture)
        draw.rectangle([left, top, max(left, right - 1), max(top, bottom - 1)], outline=BOX_COLOUR, width=2)
    return np.asarray(picture)


def top_images_html(top: ChannelTop, images: np.ndarray, src=data_uri) -> str:
    """The 3x3 most exciting official test images of a channel, each with the cell's receptive field outlined."""
    tiles = []
    for rank, (t, y, a, box, cell) in enumerate(zip(top.test_indices, top.labels, top.activations, top.boxes,
                                                   top.cells), 1):
        picture = thumbnail_with_box(images[t], box, THUMB_SCALE)
        tiles.append(f'<figure class="nin-x-tile" data-test-index="{t}"><img src="{src(picture)}" '
                     f'alt="test image {t}, {html.escape(CLASS_NAMES[y])}"><figcaption>{rank}. '
                     f'<b>{html.escape(CLASS_NAMES[y])}</b><br>#{t} · {a:.2f} at ({cell[0]}, {cell[1]})'
                     f'</figcaption></figure>')
    size = top.receptive_field.size
    return (f'<figure class="nin-x-fig"><figcaption>The {len(tiles)} official test images (of 10,000) that excite '
            f'{html.escape(top.stage)} #{top.index} most · the orange box is the receptive field '
            f'({size}×{size} px of the {224}-px input) of the cell where it fired</figcaption>'
            f'<div class="nin-x-tiles">{"".join(tiles)}</div></figure>')


def channel_summary_md(top: ChannelTop, own: tuple[float, int, int] | None) -> str:
    """A few lines on the channel: its receptive field, what its top images are, and the session's response."""
    from collections import Counter

    rf = top.receptive_field
    counts = Counter(top.labels).most_common()
    classes = ", ".join(f"{CLASS_NAMES[c]} ({n})" for c, n in counts[:3])
    name = f" = the **{CLASS_NAMES[top.index]}** map" if top.stage == "block4" else ""
    text = (f"**{top.stage} #{top.index}**{name} (of {top.channels} channels) sees {rf.size}×{rf.size} px of the "
            f"224-px input, {rf.size / 8:.1f} px of the 28×28 image, and its cells are {rf.stride} px apart. Its 9 "
            f"strongest official test images respond from {top.activations[-1]:.2f} to {top.activations[0]:.2f}; "
            f"they are {classes}.")
    if own is not None:
        value, row, col = own
        rank = sum(a > value for a in top.activations)
        where = "above all nine" if rank == 0 else f"below {rank} of the nine" if rank < 9 else "below all nine"
        text += f" **Your image:** {value:.2f} at ({row}, {col}), {where}."
    return text


# ----------------------------------------------------------------------------- neighbours

def _neighbour_tiles(found, images: np.ndarray, predicted: int, src=data_uri) -> str:
    tiles = []
    for n in found:
        match = " nin-x-match" if n.label == predicted else ""
        picture = heatmaps.grey_to_rgb(images[n.test_index], NEIGHBOUR_SCALE)
        tiles.append(f'<figure class="nin-x-tile{match}" data-test-index="{n.test_index}" data-label="{n.label}">'
                     f'<img src="{src(picture)}" alt="test image {n.test_index}, '
                     f'{html.escape(CLASS_NAMES[n.label])}"><figcaption><b>{html.escape(CLASS_NAMES[n.label])}</b>'
                     f'<br>#{n.test_index} · {n.distance:.3f}</figcaption></figure>')
    return f'<div class="nin-x-tiles nin-x-wide">{"".join(tiles)}</div>'


def neighbours_html(result: Neighbours, images: np.ndarray, src=data_uri) -> str:
    """Both lists side by side (stacked on a phone), tiles of the predicted class outlined, and the sentence."""
    predicted = CLASS_NAMES[result.predicted]
    spaces = (("feature", "In the network's feature space", FEATURE_METRIC, result.feature_space),
              ("pixel", "In pixel space", PIXEL_METRIC, result.pixel_space))
    blocks = "".join(
        f'<div class="nin-x-space" data-space="{key}"><h4>{title}</h4><p>{html.escape(metric)}</p>'
        f'{_neighbour_tiles(found, images, result.predicted, src)}</div>'
        for key, title, metric, found in spaces)
    left_out = (f" Left out: test image{'s' if len(result.left_out) > 1 else ''} "
                f"{', '.join('#' + str(i) for i in result.left_out)} (identical to your input)."
                if result.left_out else "")
    return (f'<div class="nin-x-neighbours">{blocks}<p>Outlined: {html.escape(predicted)}, the network\'s '
            f'prediction for your input.{html.escape(left_out)}</p></div>')


# ----------------------------------------------------------------------------- occlusion

def occlusion_overlay(input224: np.ndarray, pixel_map: np.ndarray, vmax: float, alpha: float = 0.8) -> np.ndarray:
    """The occlusion map (28x28, signed) in blue-white-red over the greyscale input, RGB uint8 at the input's size;
    each place is tinted as strongly as its value, so where covering changed nothing the garment shows as it is."""
    size = input224.shape[0]
    grey = heatmaps.grey_to_rgb(input224).astype(np.float32)
    colours = _enlarge(diverging(pixel_map, vmax), size).astype(np.float32)
    strength = alpha * np.clip(np.abs(_enlarge(pixel_map[..., None], size)) / max(vmax, 1e-12), 0, 1)
    return np.clip((1 - strength) * grey + strength * colours, 0, 255).astype(np.uint8)


def occlusion_html(result: Occlusion, src=data_uri) -> str:
    """Occlusion map beside the CAM, and the grid of drops with every value printed."""
    name = CLASS_NAMES[result.class_index]
    vmax = float(np.abs(result.grid).max()) or 1e-6
    overlay = occlusion_overlay(result.input224, result.pixel_map, vmax)
    cam = heatmaps.cam_overlay(result.input224, result.cam)
    rows = "".join(
        "<tr>" + "".join(
            '<td style="background:{};color:{}">{}</td>'.format(*diverging_cell(v, vmax), signed_points(v))
            for v in row) + "</tr>"
        for row in result.grid)
    n = len(result.offsets)
    return (
        f'<div class="nin-x-row">'
        f'<figure class="nin-x-fig"><figcaption>Occlusion: drop of p({html.escape(name)}) when a {result.patch}×'
        f'{result.patch} grey patch covers each place (red = the prediction needs it, blue = it gets more sure '
        f'without it; ±{vmax * 100:.0f} points)</figcaption><img src="{src(overlay)}" alt="occlusion map" '
        f'width="224" height="224"></figure>'
        f'<figure class="nin-x-fig"><figcaption>CAM of {html.escape(name)}: block4\'s 5×5 map, bilinear to the '
        f'input (colour 0 → its max {float(result.cam.max()):.2f})</figcaption><img src="{src(cam)}" alt="CAM" '
        f'width="224" height="224"></figure>'
        f'<figure class="nin-x-fig"><figcaption>The {n}×{n} drops in percentage points, patch at rows/columns '
        f'{", ".join(map(str, result.offsets))} px</figcaption><table class="nin-x-grid">{rows}</table></figure>'
        f'</div>')


def signed_points(value: float) -> str:
    """A change of probability in whole percentage points, signed; one that rounds to nothing is "0", never "-0"."""
    points = round(value * 100)
    return f"{points:+d}" if points else "0"


def occlusion_summary_md(result: Occlusion) -> str:
    name = CLASS_NAMES[result.class_index]
    i, j = np.unravel_index(int(np.argmax(result.grid)), result.grid.shape)
    top, left = result.offsets[i], result.offsets[j]
    rho = result.spearman
    if rho is None:
        verdict = "the rank correlation is undefined (one of the two maps is flat)"
    else:
        agreement = ("largely agree" if rho >= 0.6 else "partly agree" if rho >= 0.3 else
                     "hardly agree" if rho >= 0 else "disagree")
        verdict = f"Spearman's rank correlation with CAM over the {result.grid.size} positions is **ρ = {rho:+.2f}**: they {agreement}"
    return (f"Without occlusion the network says **{name}** with {result.probability:.0%}. Covering rows "
            f"{top}–{top + result.patch - 1}, columns {left}–{left + result.patch - 1} costs the most: "
            f"**{signed_points(result.grid[i, j])}** percentage points. {verdict}. CAM shows where the class map is high; "
            f"occlusion shows what the prediction cannot do without. {result.forward_passes} occluded inputs, "
            f"{result.server_ms:.0f} ms on the server.")


# ----------------------------------------------------------------------------- the guided path

START_STEPS = (
    ("Draw or upload", "a garment on the black canvas, a photo, or an example", "sketch"),
    ("What the network sees", "your input as a 28×28 Fashion-MNIST image, resized to 224×224", "seen-caption"),
    ("GAP", "ten 5×5 class maps, each averaged into one score", "gap-section"),
    ("CAM", "where in the image the evidence for a class is", "cam-section"),
    ("The lessons", "check each claim of the chapter in the tabs below", "lessons"),
    ("Explore further", "what each channel looks for, similar images, occlusion", "tab-explore"),
)


def start_here_html() -> str:
    """A numbered strip of the page's path for a first-time visitor; each step links to its place on the page."""
    steps = "".join(
        f'<a href="#{anchor}" data-step="{n}" style="display:flex;gap:8px;align-items:flex-start;flex:1 1 150px;'
        f'min-width:140px;text-decoration:none;color:inherit;padding:6px 8px;border-radius:8px;'
        f'border:1px solid var(--border-color-primary,#e5e7eb)">'
        f'<span style="flex:none;width:22px;height:22px;border-radius:50%;background:#f59e0b;color:#000;'
        f'font-weight:700;font-size:13px;display:flex;align-items:center;justify-content:center">{n}</span>'
        f'<span style="font-size:13px;line-height:1.3"><b>{html.escape(title)}</b><br>'
        f'<span style="color:var(--body-text-color-subdued)">{html.escape(text)}</span></span></a>'
        for n, (title, text, anchor) in enumerate(START_STEPS, 1))
    return (f'<nav class="nin-start-here" aria-label="Start here"><div style="font-weight:700;margin:0 0 6px 0">'
            f'Start here</div><div style="display:flex;flex-wrap:wrap;gap:6px">{steps}</div></nav>')


__all__ = ["channel_map_figure", "kernel_figure", "top_images_html", "channel_summary_md", "neighbours_html",
           "occlusion_html", "occlusion_summary_md", "start_here_html", "thumbnail_with_box"]
