"""Pictures for the NiN lessons (`nin.serve.lessons`): weight heatmaps, vector bars, before/after maps, tables.

numpy, PIL and HTML only, no torch: every function takes plain arrays and lists, or a lesson's `to_json()`
dict, so the app can draw what the lessons computed without running the network again. Activations
use `nin.render.heatmaps`'s viridis from 0; weights and changes have a sign, so they get a blue-white-red scale
centred on 0. Every text put into HTML is escaped. Text inside images is drawn by `nin.render.heatmaps` with the
DejaVu Sans shipped in nin/fonts, which has "×", "−" and "→".
"""

from __future__ import annotations

import html

import numpy as np

from nin.render import heatmaps
from nin.render.bars import bar_row

# Blue (negative) - white (zero) - red (positive), ColorBrewer RdBu's ends and middle.
_DIVERGING_ANCHORS = np.array([(0x21, 0x66, 0xAC), (0xF7, 0xF7, 0xF7), (0xB2, 0x18, 0x2B)], dtype=np.float64)
HEATMAP_TARGET = 320  # px: about how wide a weight matrix is drawn, so 10x10 and 384x384 both read on a phone
BAR_WIDTH = 384       # px: a vector strip, one column or more per channel
KIND_TONES = {"fc": "accent", "pool": "hollow"}  # a layer kind's bar colour (nin.render.bars.TONES); conv: plain


def diverging(values: np.ndarray, vmax: float) -> np.ndarray:
    """Map values in [-vmax, vmax] to blue-white-red RGB uint8; clipped, and vmax <= 0 draws all white."""
    values = np.asarray(values, dtype=np.float64)
    t = np.zeros_like(values) if vmax <= 0 else np.clip(values / vmax, -1, 1)
    channels = [np.interp(t, (-1, 0, 1), _DIVERGING_ANCHORS[:, c]) for c in range(3)]
    return np.round(np.stack(channels, axis=-1)).astype(np.uint8)


def diverging_cell(value: float, vmax: float) -> tuple[str, str]:
    """Background and text colour for a signed value: whichever of black and white reads better on it."""
    r, g, b = diverging(np.array([value]), vmax)[0]
    background = f"#{r:02x}{g:02x}{b:02x}"
    return background, heatmaps.text_on(background)


def _signed(value: float, digits: int = 2) -> str:
    return f"{value:+.{digits}f}".replace("-", "−")  # a real minus sign in HTML, where the font has one


# ----------------------------------------------------------------------------- images

def weight_heatmap(matrix: np.ndarray, name: str) -> np.ndarray:
    """A weight matrix [out, in] as a blue-white-red heatmap under a title with its size and scale, RGB uint8."""
    matrix = np.asarray(matrix, dtype=np.float64)
    rows, cols = matrix.shape
    vmax = float(np.abs(matrix).max())
    scale = heatmaps.cell_scale(max(rows, cols), HEATMAP_TARGET)
    image = np.repeat(np.repeat(diverging(matrix, vmax), scale, axis=0), scale, axis=1)
    title = (f"{name} · {rows} out × {cols} in = {rows * cols:,} weights · "
             f"blue −{vmax:.2f}, white 0, red +{vmax:.2f}")
    return heatmaps.with_title(image, title)


def vector_bars(values: np.ndarray, title: str, height: int = 48) -> np.ndarray:
    """Non-negative values (ReLU outputs) as viridis bars, one per channel, under a title, RGB uint8.

    Each bar's height and colour both run from 0 to the vector's own maximum, stated in the title.
    """
    values = np.asarray(values, dtype=np.float64)
    vmax = float(values.max()) if values.size else 0.0
    width = max(1, BAR_WIDTH // max(len(values), 1))
    heights = np.zeros(len(values)) if vmax <= 0 else np.round(np.clip(values / vmax, 0, 1) * height)
    filled = np.arange(height)[:, None] >= height - heights[None, :]  # [height, channels], bars grow upwards
    colours = heatmaps.colorize(values, vmax)[None]                     # [1, channels, 3]
    bars = np.where(filled[..., None], colours, np.uint8(235))
    bars = np.repeat(bars, width, axis=1).astype(np.uint8)
    zero_count = int((values <= 0).sum())
    return heatmaps.with_title(bars, f"{title} · {len(values)} channels · max {vmax:.2f} · {zero_count} at 0")


def mlp_vectors_image(inputs: list[float], hidden: list[float], output: list[float]) -> np.ndarray:
    """The per-pixel MLP's three vectors stacked: x, relu(W1 x + b1), relu(W2 h + b2), RGB uint8."""
    strips = [vector_bars(inputs, "x: after conv + ReLU"),
              vector_bars(hidden, "h = relu(W1 x + b1)"),
              vector_bars(output, "y = relu(W2 h + b2)")]
    width = max(strip.shape[1] for strip in strips)
    padded = [np.pad(s, ((0, 6), (0, width - s.shape[1]), (0, 0)), constant_values=255) for s in strips]
    return np.concatenate(padded, axis=0)


# ----------------------------------------------------------------------------- HTML

def class_maps_change_html(before: np.ndarray, after: np.ndarray, classes: list[int],
                           class_names: tuple[str, ...] | list[str],
                           titles: tuple[str, str] = ("before", "after")) -> str:
    """For each class in `classes`: its map before, after, and the change, with every value printed.

    before/after: [10, H, W]. Before and after share one viridis scale so brightness compares; the
    change has its own blue-white-red scale centred on 0.
    """
    before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
    vmax = float(max(before.max(), after.max()))
    change = after - before
    dmax = float(np.abs(change[list(classes)]).max()) if len(classes) else 0.0
    rows = []
    for c in classes:
        panels = [(titles[0], heatmaps.map_table_html(before[c], vmax), before[c].mean()),
                  (titles[1], heatmaps.map_table_html(after[c], vmax), after[c].mean()),
                  ("change", heatmaps.map_table_html(change[c], dmax, colours=diverging_cell), change[c].mean())]
        figures = "".join(
            f'<figure class="nin-lesson-map"><figcaption>{html.escape(title)} · mean <b>{mean:.2f}</b>'
            f"</figcaption>{table}</figure>" for title, table, mean in panels)
        rows.append(f'<div class="nin-lesson-maprow" data-class="{int(c)}">'
                    f'<div class="nin-lesson-mapname">{html.escape(class_names[c])}</div>{figures}</div>')
    return f'<div class="nin-lesson-maps">{"".join(rows)}</div>'


def logits_table_html(logits_before: np.ndarray, logits_after: np.ndarray,
                      class_names: tuple[str, ...] | list[str],
                      probs_before: np.ndarray | None = None, probs_after: np.ndarray | None = None) -> str:
    """Every class's logit before and after, with the change on a blue-white-red scale; top classes marked."""
    before, after = np.asarray(logits_before, np.float64), np.asarray(logits_after, np.float64)
    change = after - before
    dmax = float(np.abs(change).max())
    top_before, top_after = int(before.argmax()), int(after.argmax())

    def cell(logits, probs, i, top):
        p = "" if probs is None else f" <small>({float(probs[i]):.0%})</small>"
        mark = ' <span class="nin-lesson-top">top</span>' if i == top else ""
        return f"<td>{logits[i]:.2f}{p}{mark}</td>"

    rows = []
    for i in range(len(before)):
        background, text = diverging_cell(change[i], dmax)
        rows.append(f'<tr data-class="{i}"><th scope="row">{html.escape(class_names[i])}</th>'
                    f"{cell(before, probs_before, i, top_before)}{cell(after, probs_after, i, top_after)}"
                    f'<td style="background:{background};color:{text}">{_signed(change[i])}</td></tr>')
    # In a sideways scroller: on a phone the table can be wider than the screen (the page marks the hidden side).
    return (f'<div class="nin-scroll"><table class="nin-lesson-logits"><thead><tr><th>class</th><th>before</th>'
            f'<th>after</th><th>change</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def _compact(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1e6:.1f}M"
    if count >= 1_000:
        return f"{count / 1e3:.1f}k"
    return str(count)


def parameter_report_html(report: dict) -> str:
    """`nin.serve.parameters.parameter_report().to_json()` as HTML: totals side by side, then each model's layers.

    The bars are `nin.render.bars.bar_row`s: fully-connected layers orange, layers without parameters empty.
    """
    models = report["models"]
    largest = max(m["total"] for m in models)
    totals = "".join(bar_row(m["name"], m["total"] / largest, _compact(m["total"]),
                             title=f'{m["total"]:,} parameters') for m in models)
    sections = []
    for m in models:
        layers = "".join(
            bar_row(layer["name"], layer["share"], f'{_compact(layer["params"])} · {layer["share"]:.1%}',
                    title=f'{layer["params"]:,} parameters, output {"x".join(map(str, layer["output_shape"]))}',
                    tone=KIND_TONES.get(layer["kind"], ""))
            for layer in m["layers"])
        split = (f'<div class="nin-param-split"><span class="nin-kind-conv" style="width:{100 * m["conv_share"]:.1f}%">'
                 f'</span><span class="nin-kind-fc" style="width:{100 * m["fc_share"]:.1f}%"></span></div>'
                 f'<div class="nin-param-legend">conv {m["conv_share"]:.1%} · fully-connected {m["fc_share"]:.1%}</div>')
        sections.append(
            f'<section class="nin-param-model"><h4>{html.escape(m["name"])} · {m["total"]:,} parameters</h4>'
            f'<p>{html.escape(m["description"])}</p>{split}{layers}</section>')
    return (f'<div class="nin-params"><div class="nin-param-totals"><h4>Total parameters</h4>{totals}</div>'
            f'{"".join(sections)}</div>')


def gradcam_html(gradcam: np.ndarray, class_map: np.ndarray, scale: float | None, expected_scale: float,
                 relative_diff: float | None, class_name: str) -> str:
    """Grad-CAM next to the class map, each on its own viridis scale, and one sentence with the fit."""
    gradcam, class_map = np.asarray(gradcam, np.float64), np.asarray(class_map, np.float64)
    if scale is None:
        verdict = "The class map is all zero here, so Grad-CAM is too: there is nothing to scale."
    else:
        verdict = (f"Grad-CAM = {scale:.6f} x class map (GAP's derivative predicts 1/{round(1 / expected_scale)} = "
                   f"{expected_scale:.6f}); the largest difference after scaling is {relative_diff:.1e} "
                   f"of the map's maximum.")
    figures = "".join(
        f'<figure class="nin-lesson-map"><figcaption>{html.escape(title)} · max <b>{values.max():.3f}</b>'
        f"</figcaption>{heatmaps.map_table_html(values, float(values.max()), digits=digits)}</figure>"
        for title, values, digits in (("Grad-CAM", gradcam, 3), ("class map", class_map, 1)))
    return (f'<div class="nin-lesson-gradcam"><div class="nin-lesson-maprow">'
            f'<div class="nin-lesson-mapname">{html.escape(class_name)}</div>{figures}</div>'
            f"<p>{html.escape(verdict)}</p></div>")


# ----------------------------------------------------------------------------- the app's clickable panels

def pixel_picker_image(block_mean: np.ndarray, pick: tuple[int, int], side: int) -> np.ndarray:
    """A block's output (mean over channels) as a side x side viridis picture, one square per grid cell, with
    the picked cell outlined; the app maps a click on it back to (row, col) by the same scale."""
    h, w = block_mean.shape
    colours = heatmaps.colorize(np.asarray(block_mean, np.float64), float(np.max(block_mean)) or 1.0)
    rows = (np.arange(side) * h // side).clip(0, h - 1)
    cols = (np.arange(side) * w // side).clip(0, w - 1)
    picture = colours[rows][:, cols].copy()
    row, col = pick
    top, bottom = row * side // h, (row + 1) * side // h - 1
    left, right = col * side // w, (col + 1) * side // w - 1
    outline = np.array([255, 64, 64], np.uint8)
    for y in (top, top + 1, bottom - 1, bottom):
        picture[max(0, min(side - 1, y)), left:right + 1] = outline
    for x in (left, left + 1, right - 1, right):
        picture[top:bottom + 1, max(0, min(side - 1, x))] = outline
    return picture




def class_maps_click_html(before: np.ndarray, after: np.ndarray, classes: list[int],
                          class_names: tuple[str, ...] | list[str], clicked=()) -> str:
    """Each class's map after the ablation, every cell clickable (data-cell="class,row,col"). A cell the user
    zeroed (`clicked`: (class, row, col) triples) is hatched grey and shows, struck out, the value it had; a cell
    that is 0 because block4's ReLU cut it (or because earlier channels were zeroed) keeps the colour of 0 and
    reads "0": the two are different facts and never look alike. The brightest cell of each map is marked
    data-top-cell."""
    before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
    clicked = {tuple(int(v) for v in cell) for cell in clicked}
    vmax = float(before.max()) or 1.0
    cards = []
    for c in classes:
        top = np.unravel_index(int(np.argmax(before[c])), before[c].shape)
        name = html.escape(class_names[c])
        rows = []
        for r in range(before.shape[1]):
            tds = []
            for k in range(before.shape[2]):
                extra = " data-top-cell" if (r, k) == top else ""
                if (int(c), r, k) in clicked:
                    tds.append(f'<td data-cell="{int(c)},{r},{k}"{extra} class="nin-zeroed" title="{name} row {r}, '
                               f'column {k}: zeroed by you (it was {before[c, r, k]:.1f}); click to restore">'
                               f'<s>{before[c, r, k]:.1f}</s></td>')
                    continue
                value = float(after[c, r, k])
                background, text = heatmaps.viridis_cell(value, vmax)
                relu = value == 0
                why = "0 after ReLU" if relu else f"{value:.1f}"
                tds.append(f'<td data-cell="{int(c)},{r},{k}"{extra} class="{"nin-relu-zero" if relu else ""}" '
                           f'style="background:{background};color:{text}" title="{name} row {r}, column {k}: '
                           f'{why}; click to zero">{"0" if relu else f"{value:.1f}"}</td>')
            rows.append("<tr>" + "".join(tds) + "</tr>")
        cards.append(f'<figure class="nin-lesson-map nin-clickable" data-class="{int(c)}"><figcaption>'
                     f'{name} · mean <b>{after[c].mean():.3f}</b> (was {before[c].mean():.3f})'
                     f'</figcaption><table class="nin-map">{"".join(rows)}</table></figure>')
    legend = ('<p class="nin-lesson-legend"><span class="nin-key nin-key-zeroed"><s>4.2</s></span> zeroed by you '
              '(click again to restore) · <span class="nin-key nin-key-relu">0</span> already 0: block4\'s ReLU cut it, '
              'so zeroing it changes nothing</p>')
    return f'<div class="nin-lesson-maps nin-lesson-clickmaps">{"".join(cards)}{legend}</div>'


def ablation_summary_md(numbers: dict, class_names: tuple[str, ...] | list[str]) -> str:
    """One paragraph with the ablation's numbers: what was zeroed, each affected logit, the check of GAP."""
    before, after = np.asarray(numbers["logits_before"]), np.asarray(numbers["logits_after"])
    zeroed = []
    if numbers["cells"]:
        zeroed.append(f"{len(numbers['cells'])} class-map cell(s)")
    if numbers.get("stage"):
        zeroed.append(f"{len(numbers['channels'])} channel(s) of {numbers['stage']}")
    if not zeroed:
        return ("Nothing is zeroed yet: **click a cell** of a class map below (or name channels of an earlier "
                f"stage). Now: **{class_names[int(before.argmax())]}** with logit {before.max():.3f}.")
    lines = [f"Zeroed {' and '.join(zeroed)}."]
    cells_per_map = np.asarray(numbers["class_maps_before"][0]).size  # GAP divides by this: 5 x 5 at 224 px
    for c in sorted({int(cell[0]) for cell in numbers["cells"]}):
        drop = float(numbers["cell_drop"][c])
        lines.append(f"**{class_names[c]}**: logit {before[c]:.3f} → {after[c]:.3f}, {before[c] - after[c]:.4f} "
                     f"lower; the zeroed cells summed / {cells_per_map} = {drop:.4f}.")
    if numbers.get("stage"):
        moved = int(np.argmax(np.abs(after - before)))
        lines.append(f"Largest change: **{class_names[moved]}** {before[moved]:.3f} → {after[moved]:.3f}.")
    pb, pa = numbers["predicted_before"], numbers["predicted_after"]
    lines.append(f"Prediction: {class_names[pb]} → **{class_names[pa]}**"
                 + (" (unchanged)." if pb == pa else " (changed!)."))
    lines.append(f"Check: mean of the ablated maps − the network's logits = {numbers['gap_check_max_abs_diff']:.1e} "
                 "at most. GAP is exactly an average.")
    return " ".join(lines)


def shifted_inputs_image(input28: np.ndarray, shifted28: np.ndarray, scale: int = 6) -> np.ndarray:
    """The 28x28 input and its shifted copy side by side, enlarged, with a grey gap between them."""
    left = heatmaps.grey_to_rgb(np.asarray(input28, np.float64) / 255.0, scale=scale)
    right = heatmaps.grey_to_rgb(np.asarray(shifted28, np.float64) / 255.0, scale=scale)
    gap = np.full((left.shape[0], 8, 3), 128, np.uint8)
    return np.concatenate([left, gap, right], axis=1)


def translation_summary_md(numbers: dict, class_names: tuple[str, ...] | list[str]) -> str:
    """The translation lesson's numbers in two sentences: how far the map moved, how much the logits did."""
    tracked = class_names[numbers["tracked_class"]]
    moved, expected = numbers["measured_shift_cells"], numbers["expected_shift_cells"]
    where = ("its map is all zero, so it has no centre to follow" if moved is None else
             f"its map's centre of mass moved ({moved[0]:+.2f}, {moved[1]:+.2f}) cells (down, right); a pure "
             f"shift would be ({expected[0]:+.2f}, {expected[1]:+.2f})")
    pb, pa = numbers["predicted_before"], numbers["predicted_after"]
    return (f"Shift ({numbers['dx']:+d}, {numbers['dy']:+d}) px of 28. **{tracked}**: {where}. Single map cells "
            f"changed by up to **{numbers['max_abs_map_change']:.2f}**, the pooled logits by up to "
            f"**{numbers['max_abs_logit_change']:.2f}**. Prediction: {class_names[pb]} → **{class_names[pa]}**"
            + (" (unchanged)." if pb == pa else " (changed).") +
            " Pooling is not perfectly shift-invariant: stride-4 convs and 3×3/2 pools sample the image on a "
            "grid, and what moves past the edge is lost.")


def translation_heading_md(survey: dict, example: str, example_kept: bool) -> str:
    """The translation tab's heading and introduction, worded from a shift survey of the live model
    (`nin.serve.lessons.shift_survey(...).to_json()`), so the claim is the one the weights support."""
    dx, count, flipped = survey["dx"], survey["images"], survey["flipped"]
    maps, logits, worst = survey["map_change_median"], survey["logit_change_median"], survey["logit_change_max"]
    ratio = logits / maps if maps > 0 else 1.0
    degree = "far less" if ratio < 0.2 else "less" if ratio < 0.6 else "about as much"
    default = (f"It starts at {dx} px, which keeps the prediction of {example}" if example_kept else
               f"It starts at {dx} px, which changes even the prediction of {example}")
    return (f"### Translation: the maps move, the logits change {degree}\n"
            f"Measured when this page started, with these weights, on the {count} example images: shifting each "
            f"{dx} px to the right changed single class-map cells by {maps:.1f} (median over the images of the "
            f"largest change), the logits by {logits:.2f} (at most {worst:.2f}), and the prediction of "
            f"**{flipped} of {count}** images. Shift your own input with the sliders (or type a value and press "
            f"Enter, or use the arrow keys). {default}. Convolutions and pools are (nearly) shift-equivariant, so "
            "the class maps move with the garment; global average pooling then averages the position away, though "
            "not perfectly: strided convs and pools sample on a grid, and what leaves the frame is lost. One pixel "
            "of the 28×28 image is 8 px of the 224 input, and block4's cells are 32 px apart: a 4-px shift moves "
            "the maps by one cell.")



__all__ = ["diverging", "diverging_cell", "weight_heatmap", "vector_bars", "mlp_vectors_image",
           "class_maps_change_html", "logits_table_html", "translation_heading_md", "parameter_report_html", "gradcam_html"]
