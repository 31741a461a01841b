"""NiN Explorer: draw or upload a garment and watch a Network in Network classify it.

The page reads top to bottom like the network: input -> what the network sees -> prediction, then tabs:
inside the network (global average pooling laid open, class activation map, every stage's feature
maps), one lesson per claim of the d2l chapter (each checkable by doing something, each with a JSON
endpoint), and the model report. This file only declares the UI and wires events; the request path
lives in nin/serve/pipeline.py, the lessons in nin/serve/lessons.py, the report in nin/serve/report.py.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no outside connections at run time
# Gradio rebuilds its monitoring summary (a pandas groupby over up to 10,000 past events) after every event
# by default: 10-25 ms of CPU per event, holding the GIL, for a dashboard this app does not enable.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")

import functools
import logging
import urllib.parse

import gradio as gr
import pandas as pd
import torch
from gradio import processing_utils
from starlette.middleware import Middleware

from nin.draw import lesson_render
from nin.serve import lessons
from nin.ui import limits
from nin.draw import render
from nin.serve import report
from nin.draw import report_render
from nin.ui import sessions
from nin.ui import explorers_ui
from nin.ui.components import PngImage, SafeSketchpad, UploadImage
from nin.ui.limits import MAX_TEXT, check_number, quote, refuse
from nin.model import CLASS_NAMES, layer_table, parameter_count
from nin.serve.pipeline import (EXAMPLES_DIR, Explorer, View, WEIGHTS_DIR, cpu_count, render_cam, stages_html)
from nin.serve.preprocess import EmptyInput, InputError, load_image, preprocess_photo
from nin.ui.page_js import PAGE_CSS, PAGE_JS
from nin.draw.render import GAP_PANEL_CSS

MAX_FILE_SIZE = "10mb"
CANVAS = 280
PREDICTED = "Predicted class"
SHOW_TOP, SHOW_ALL = "Top 16 channels by mean", "All channels"
READY = "Ready: draw on the black canvas, upload a photo, or pick an example below."
# Every event that runs the network shares one concurrency group sized to the CPU: peaks cannot add up
# across events, and requests beyond it wait in one bounded queue instead of oversubscribing the cores.
# NIN_MODEL_WORKERS overrides the size; 3 or 4 workers measured no faster than 2 on 2 cores (README, Performance).
MODEL_WORKERS = int(os.environ.get("NIN_MODEL_WORKERS", 0)) or max(1, min(2, cpu_count()))
QUEUE_SIZE = 64          # requests waiting beyond this are refused with "queue full", not kept in memory
SESSION_TTL_S = 3600     # a session's state (its 28x28 input) is dropped an hour after its last update
MAX_SESSIONS = 2000      # sessions kept at once (Gradio evicts the oldest); ~2 KB of state each
STAGE_SIDES = {"block1": 54, "block2": 26, "block3": 12, "block4": 5}  # block output sides at 224 px

# Each model event gets one intra-op thread per worker, so concurrent requests do not fight over cores.
torch.set_num_threads(max(1, cpu_count() // MODEL_WORKERS))

sessions.install()  # sessions without Gradio's per-session copy of every component's config (nin/ui/sessions.py)
explorer = Explorer()
reports = report.shipped_reports(WEIGHTS_DIR)
log = logging.getLogger("nin-explorer")
if not log.handlers:  # refusals (one line each) and bugs (one traceback each) go to stderr, nothing else of ours
    _handler = limits.StderrHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False


# ----------------------------------------------------------------------------- one error path

def guarded(what: str, on_empty=None):
    """Wrap a handler: bad input becomes a message for the user, a bug a logged plain apology.

    EmptyInput (nothing to classify yet) goes to `on_empty` when given. Refusals go through
    `nin.ui.limits.refuse`: a short message that quotes at most 60 characters of what was sent, one log line,
    no traceback. A bug logs its traceback once and the user gets an apology without internals. Every
    handler of the page goes through here; `limits.install` checks the raw inputs before (choices, whole
    numbers, ranges, text length), with the same refusal.
    """
    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except gr.Error:  # already a refusal (gr.Error is a ValueError: this comes first)
                raise
            except EmptyInput as exc:
                if on_empty is None:
                    raise refuse(str(exc)) from None
                return on_empty(exc)
            except (InputError, ValueError) as exc:
                raise refuse(str(exc)) from None
            except Exception:
                log.exception("%s failed", what)
                raise gr.Error(f"Something went wrong while {what}; the error was logged. "
                               "Please try another image, or reload the page.", print_exception=False) from None
        return run
    return decorate


def session_of(state: dict | None):
    """The session's input, or EmptyInput when nothing has been classified in this session yet."""
    if not state:
        raise EmptyInput("Draw or upload something first: the lessons work on your current image.")
    return state["preprocessed"], state["model"]


# ----------------------------------------------------------------------------- the explorer

def empty_outputs(message: str) -> dict:
    """Outputs for "nothing to show yet": a prompt instead of an error, and no stale pictures."""
    placeholder = f'<div class="nin-empty">{message}</div>'
    return {label: None, input28: None, input224: None, gap: placeholder, cam: None, cam_caption: "", status: message,
            features: placeholder, steps: "", state: None}


UNSURE_GAP, UNSURE_TOP = 0.10, 0.50  # the top two within 10 points, or the top under 50%: the page says so


def unsure_note(top: list[tuple[str, float]]) -> str:
    """" · The network is unsure: …" when the prediction is close to a toss-up, else ""."""
    (first, p1), (second, p2) = top[:2]
    if p1 >= UNSURE_TOP and p1 - p2 >= UNSURE_GAP:
        return ""
    return f" · The network is unsure: {first} {p1:.0%} or {second} {p2:.0%}."


def view_outputs(view: View, model_key: str) -> dict:
    pre = view.preprocessed
    loaded = explorer.model(model_key)
    ranked = view.explanation.top_classes(2)
    top = ranked[0]
    return {
        label: view.label,
        input28: view.input28_enlarged,
        input224: view.input224,
        gap: view.gap_html,
        # The caption is its own output: returning gr.Image(value=..., label=...) instead makes Gradio rebuild
        # the component and its per-session config on every request (~8% of the server's CPU per request).
        cam: view.cam,
        cam_caption: view.cam_title,
        status: f"**{top[0]}** with {top[1]:.0%}{unsure_note(ranked)} · {loaded.label} · "
                f"{view.timings_ms['total']:.0f} ms on the server",
        features: view.stages_html,
        steps: f"**{'Drawing' if pre.source == 'sketch' else 'Photo'} → Fashion-MNIST style**\n\n{view.steps_markdown}",
        # Only what a rerun needs (the 28x28 input and its steps, ~1 KB): never the activations.
        state: {"preprocessed": pre, "model": loaded.key},
    }


def blank_photo(exc: EmptyInput):
    raise gr.Error(f"{exc} Try a photo where the garment stands out from a plain background.", print_exception=False)


@guarded("classifying this image", blank_photo)
def predict(image: str | None, model_key: str, cam_class: str, channels: str):
    """Classify one image file. The first output is the label dict {class name: probability}."""
    if image is None:
        return empty_outputs("Upload a photo of a garment, or pick an example below it.")
    return view_outputs(explorer.from_photo(image, model_key, cam_class, channels == SHOW_ALL), model_key)


@guarded("classifying this drawing", lambda exc: empty_outputs(str(exc)))
def predict_sketch(sketch: dict | None, model_key: str, cam_class: str, channels: str):
    """Classify the sketchpad drawing; an empty canvas gets a prompt, not an error."""
    return view_outputs(explorer.from_sketch(sketch, model_key, cam_class, channels == SHOW_ALL), model_key)


@guarded("switching the weights", lambda exc: empty_outputs("Draw or upload something first."))
def rerun(state: dict | None, model_key: str, cam_class: str, channels: str):
    """Same input, another model: rerun from the stored 28x28 image, no new upload needed."""
    preprocessed, _ = session_of(state)
    return view_outputs(explorer.rerun(preprocessed, model_key, cam_class, channels == SHOW_ALL), model_key)


@guarded("drawing the class activation map", lambda exc: gr.skip())
def change_cam(state: dict | None, cam_class: str):
    preprocessed, model_key = session_of(state)
    image, title = render_cam(explorer.explain(preprocessed, model_key), cam_class)
    return {cam: image, cam_caption: title}


@guarded("drawing the feature maps", lambda exc: gr.skip())
def change_channels(state: dict | None, channels: str):
    preprocessed, model_key = session_of(state)
    return stages_html(explorer.explain(preprocessed, model_key), channels == SHOW_ALL, explorer.image_src)


def feature_png(image) -> str:
    """A feature grid written to Gradio's cache and addressed by URL from the features HTML.

    Inline, all channels made a 0.5 MB response, held in memory until the client reads it; as files the
    HTML is a few kB and the browser fetches the pictures like any image output. The file is registered
    with the features component, so delete_cache removes it like Gradio's own output files.
    """
    path = processing_utils.save_bytes_to_cache(render.png_bytes(image), "stage.png", features.GRADIO_CACHE)
    features.temp_files.add(path)
    return "gradio_api/file=" + urllib.parse.quote(path)


explorer.image_src = feature_png


@guarded("connecting the page")
def ready() -> str:
    return READY


def architecture_rows() -> list[list]:
    return [[name, " × ".join(map(str, shape)), f"{params:,}"] for name, shape, params in layer_table()]


def examples() -> dict[str, tuple[str, list[str]]]:
    """Example files by kind -> (the input they load into, files); the official test images in class order.
    Drawings load into the sketchpad (as its canvas, black on white, shown inverted), so they take the
    drawing path, outline filling included, and can be drawn on; the rest are uploads."""
    tests = sorted(EXAMPLES_DIR.glob("test*.png"), key=lambda p: (explorer.example_class(p), p.name))
    return {
        "Official test images, two per class in class order (T-shirt/top, Trouser, Pullover, Dress, Coat, "
        "Sandal, Shirt, Sneaker, Bag, Ankle boot)": ("upload", [str(p) for p in tests]),
        "Product-style photos (dark on white: the app negates them)":
            ("upload", [str(p) for p in sorted(EXAMPLES_DIR.glob("photo*.jpg"))]),
        "Drawings (outlines, as people draw: tap one, then draw on it)":
            ("sketch", [str(p) for p in sorted(EXAMPLES_DIR.glob("drawing*.png"))]),
    }


# ----------------------------------------------------------------------------- lessons: shared

# Each lesson has a public endpoint that returns its numbers as JSON (for API callers) and a private page
# event that returns the numbers and the panel drawn from them in one response. A panel is only ever drawn
# in the handler that computed its numbers, from the session's own input: no event takes numbers from the
# client, so a forged payload can make the server draw nothing it did not compute.

def whole(name: str, value, low: int, high: int) -> int:
    """`value` as an int once checked: a whole number from low to high (no bool, NaN, string or rounding)."""
    check_number(name, value, low, high, whole=True)
    return int(value)


def clicked(evt: gr.EventData, names: tuple[str, ...], lows: tuple, highs: tuple, whole_numbers: bool = True) -> list:
    """The `index` of a click event (the client sends it), checked item by item; never trusted as an index.

    Handlers take gr.EventData rather than gr.SelectData: SelectData reads data["index"] before the handler
    runs, so a forged event without one would fail inside Gradio instead of getting a message.
    """
    data = getattr(evt, "_data", None)
    index = data.get("index") if isinstance(data, dict) else None
    if not isinstance(index, (list, tuple)) or len(index) != len(names):
        raise InputError(f"A click must send an index of {len(names)} numbers ({', '.join(names)}); "
                         f"got {quote(index)}.")
    values = []
    for name, value, low, high in zip(names, index, lows, highs):
        check_number(name, value, low, high, whole=whole_numbers)
        values.append(value)
    return values


def stage_for_api(stage: str) -> str:
    if stage not in STAGE_SIDES:
        raise InputError(f"stage must be one of {', '.join(STAGE_SIDES)}; got {quote(stage)}.")
    return stage


def quiet(exc: EmptyInput):
    """A lesson refreshed without an image in the session: leave the panel as it is (the prompt stays)."""
    return gr.skip()


# ----------------------------------------------------------------------------- lesson 1: a 1x1 conv is a per-pixel MLP

MLP_MAP_SIDE = 270  # px: the clickable picture of a block's output (54, 26, 12 and 5 all divide it well enough)


def mlp_numbers(state: dict | None, stage: str, row, col) -> lessons.PixelMLP:
    preprocessed, model_key = session_of(state)
    stage = stage_for_api(stage)
    side = STAGE_SIDES[stage]
    row = whole(f"row of {stage}'s {side}×{side} output grid", row, 0, side - 1)
    col = whole(f"column of {stage}'s {side}×{side} output grid", col, 0, side - 1)
    return explorer.lesson(lessons.mlp_at, preprocessed, model_key, stage, row, col)


@guarded("recomputing the per-pixel MLP")
def mlp_at(state: dict | None, stage: str, row: float, col: float) -> dict:
    """That pixel's channel vector through the block's two 1x1 convs, recomputed as matrix-vector products."""
    return mlp_numbers(state, stage, row, col).to_json()


@functools.lru_cache(maxsize=16)
def weight_pictures(model_key: str, stage: str) -> tuple:
    """A block's W1 and W2 heatmaps: the same for every pixel and every session, so drawn once per model."""
    w1, w2 = explorer.block_weights(model_key, stage)
    return (lesson_render.weight_heatmap(w1, f"W1 of {stage} (first 1×1 conv)"),
            lesson_render.weight_heatmap(w2, f"W2 of {stage} (second 1×1 conv)"))


def mlp_outputs(result: lessons.PixelMLP, model_key: str, moved: bool) -> dict:
    """The MLP panel from numbers this handler computed. `moved`: the server chose the pixel (a click, a new
    block), so the row and column boxes follow; a typed pixel is left alone while the user types."""
    w1, w2 = weight_pictures(explorer.model(model_key).key, result.stage)
    diff = result.max_abs_diff
    drawn = {
        mlp_json: result.to_json(),
        mlp_map: lesson_render.pixel_picker_image(result.output_mean, (result.row, result.col), MLP_MAP_SIDE),
        mlp_vectors: lesson_render.mlp_vectors_image(result.input, result.hidden, result.output),
        mlp_w1: w1,
        mlp_w2: w2,
        mlp_result: (f"**{result.stage}, row {result.row}, column {result.col}**: {len(result.input)} channels in, "
                     f"`relu(W2 @ relu(W1 @ x + b1) + b2)` recomputed with numpy in float64. "
                     f"Largest difference from the network's own activations: **{diff:.2e}** "
                     f"({'the same up to float rounding' if diff <= 1e-4 else 'larger than float rounding!'}). "
                     "The same small MLP runs at every pixel: that is the network in the network."),
        mlp_shown: result.stage,
    }
    return {**drawn, mlp_row: result.row, mlp_col: result.col} if moved else drawn


@guarded("recomputing the per-pixel MLP")
def mlp_lesson(state: dict | None, stage: str, row: float | None, col: float | None):
    """The page's MLP event (Recompute, typed row or column): numbers and panel for this session's image."""
    if row is None or col is None:  # a number box being retyped: nothing to show yet
        return gr.skip()
    return mlp_outputs(mlp_numbers(state, stage, row, col), session_of(state)[1], moved=False)


def moved_pixel(value, old_side: int, side: int) -> int:
    """A grid coordinate carried to another block's grid: the same place of the image (block2's row 15 of 26
    is block4's row 2 of 5); the centre when the old value is not a coordinate of the old grid."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < old_side \
            or not float(value).is_integer():
        return side // 2
    return min(side - 1, int((value + 0.5) * side / old_side))


@guarded("recomputing the per-pixel MLP")
def mlp_restage(state: dict | None, stage: str, row, col, shown: str | None):
    """Another block was chosen: the picked pixel moves to the same place of its grid and the panel follows,
    so the result under the radio is always the radio's block. Without an image only the boxes move."""
    stage = stage_for_api(stage)
    old_side, side = STAGE_SIDES.get(shown, STAGE_SIDES["block2"]), STAGE_SIDES[stage]
    row, col = moved_pixel(row, old_side, side), moved_pixel(col, old_side, side)
    if not state:
        return {mlp_row: row, mlp_col: col, mlp_shown: stage}
    return mlp_outputs(mlp_numbers(state, stage, row, col), session_of(state)[1], moved=True)


@guarded("recomputing the per-pixel MLP", quiet)
def mlp_click(state: dict | None, stage: str, evt: gr.EventData):
    """A click on the block's picture -> that cell of the block's grid, recomputed and drawn in one event."""
    stage = stage_for_api(stage)
    x, y = clicked(evt, ("x of the click", "y of the click"), (0, 0), (MLP_MAP_SIDE - 1, MLP_MAP_SIDE - 1),
                   whole_numbers=False)
    side = STAGE_SIDES[stage]
    row, col = min(side - 1, int(y * side / MLP_MAP_SIDE)), min(side - 1, int(x * side / MLP_MAP_SIDE))
    return mlp_outputs(mlp_numbers(state, stage, row, col), session_of(state)[1], moved=True)


# ----------------------------------------------------------------------------- lesson 2: where the parameters live

PARAMETERS = lessons.parameter_report().to_json()  # computed once from modules built on the meta device


@guarded("counting the parameters")
def parameters() -> dict:
    """Per-layer parameter counts of NiN, d2l's AlexNet and VGG-11, and NiN with an FC head instead of GAP."""
    return PARAMETERS


# ----------------------------------------------------------------------------- lesson 3: GAP is an average

NO_STAGE = "(none)"
CELL_SIDE = STAGE_SIDES["block4"]
MAX_CELLS = len(CLASS_NAMES) * CELL_SIDE * CELL_SIDE  # every cell of the ten class maps once


def small_whole(text: str) -> int | None:
    """A non-negative whole number written in ASCII digits, else None; past 6 digits it reads as 10**6 (out of
    every range here) without converting a long digit string."""
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text) if len(text) <= 6 else 10 ** 6


def split_bounded(text: str | None, sep: str, what: str, max_parts: int, allowed: str) -> list[str]:
    """The non-empty, stripped parts of `text` split on `sep`, after its length (MAX_TEXT) and then the number
    of parts are checked: the parsers below never work on more than a bounded input."""
    text = text or ""
    if len(text) > MAX_TEXT:
        raise InputError(f"{what}: at most {MAX_TEXT:,} characters; got {len(text):,}.")
    parts = [part for part in (piece.strip() for piece in text.split(sep)) if part]
    if len(parts) > max_parts:
        raise InputError(f"{what} name {allowed}; got {len(parts):,}.")
    return parts


def parse_cells(text: str | None) -> list[tuple[int, int, int]]:
    """'Coat@2,3; Bag@0,0' -> [(4, 2, 3), (8, 0, 0)]: block4 cells as (class, row, col).

    Read by splitting on ';', '@' and ',' (linear in the text: no regular expression to backtrack), after
    the length and the number of cells are checked; every row and column is checked against the grid.
    """
    parts = split_bounded(text, ";", "cells", MAX_CELLS, f"at most {MAX_CELLS} cells (every cell of the ten maps)")
    cells = []
    for part in parts:
        name, at, where = part.partition("@")
        row_text, comma, col_text = where.partition(",")
        name, row, col = name.strip(), small_whole(row_text.strip()), small_whole(col_text.strip())
        if not at or not comma or name not in CLASS_NAMES or row is None or col is None:
            raise InputError(f"cells are written class@row,col separated by ';' (e.g. Coat@2,3) with a class name "
                             f"of the list; could not read {quote(part)}.")
        for what, value in (("row", row), ("column", col)):
            if value >= CELL_SIDE:
                raise InputError(f"cells: the {what} of {quote(part)} must be from 0 to {CELL_SIDE - 1} "
                                 f"(block4's maps are {CELL_SIDE}×{CELL_SIDE}).")
        cells.append((CLASS_NAMES.index(name), row, col))
    return cells


def parse_channels(text: str | None, count: int, stage: str) -> list[int]:
    """'3, 10-12' -> [3, 10, 11, 12] for a stage of `count` channels.

    Split on ',' and '-'; the length and the number of parts are checked first, and every range against
    `count` before it is expanded, so no input makes a list longer than the stage has channels.
    """
    parts = split_bounded(text, ",", f"channels of {stage}", count, f"at most {count} numbers or ranges")
    chosen: set[int] = set()
    for part in parts:
        first_text, dash, last_text = part.partition("-")
        first, last = small_whole(first_text.strip()), small_whole(last_text.strip()) if dash else None
        if first is None or (dash and last is None):
            raise InputError(f"channels are numbers or ranges separated by commas (e.g. 3, 10-12); "
                             f"could not read {quote(part)}.")
        last = first if last is None else last
        if last >= count or first > last:
            raise InputError(f"channels of {stage} must be from 0 to {count - 1}, a range going up; got {quote(part)}.")
        chosen.update(range(first, last + 1))
    return sorted(chosen)


def ablation_numbers(state: dict | None, cells: str | None, stage: str | None, channels: str | None):
    preprocessed, model_key = session_of(state)
    zero_stage = None if stage in (None, "", NO_STAGE) else stage
    if zero_stage is not None and zero_stage not in lessons.ABLATABLE_STAGES:
        raise InputError(f"stage must be one of {NO_STAGE}, {', '.join(lessons.ABLATABLE_STAGES)}; got {quote(stage)}.")
    chosen = None
    if zero_stage:
        count = lessons.channel_count(explorer.model(model_key).model, zero_stage)
        chosen = parse_channels(channels, count, zero_stage)
    return explorer.lesson(lessons.ablate, preprocessed, model_key, cells=parse_cells(cells) or None,
                           stage=zero_stage, channels=chosen)


@guarded("zeroing parts of the network")
def ablate(state: dict | None, cells: str, stage: str, channels: str) -> dict:
    """Zero block4 class-map cells and/or whole channels of an earlier stage; logits before and after."""
    return ablation_numbers(state, cells, stage, channels).to_json()


def ablation_outputs(result: lessons.Ablation) -> dict:
    """The ablation panel from numbers this handler computed."""
    numbers = result.to_json()
    shown = sorted({result.predicted_before, result.predicted_after, *(c[0] for c in result.cells)})
    return {
        ablation_json: numbers,
        ablation_maps: lesson_render.class_maps_click_html(result.class_maps_before, result.class_maps_after, shown,
                                                           CLASS_NAMES),
        ablation_logits: lesson_render.logits_table_html(result.logits_before, result.logits_after, CLASS_NAMES,
                                                         result.probs_before, result.probs_after),
        ablation_result: lesson_render.ablation_summary_md(numbers, CLASS_NAMES),
    }


@guarded("zeroing parts of the network")
def ablation_lesson(state: dict | None, cells: str, stage: str, channels: str):
    """The page's ablation event (Enter in a box, another stage): numbers and panel in one response."""
    return ablation_outputs(ablation_numbers(state, cells, stage, channels))


@guarded("zeroing parts of the network", quiet)
def reset_ablation(state: dict | None):
    """Nothing zeroed: the boxes cleared and, with an image, the untouched maps."""
    cleared = {ablation_cells: "", ablation_stage: NO_STAGE, ablation_channels: ""}
    return {**cleared, **ablation_outputs(ablation_numbers(state, "", NO_STAGE, ""))} if state else cleared


def toggled(cells: str | None, cls: int, row: int, col: int) -> str:
    cell = f"{CLASS_NAMES[cls]}@{row},{col}"
    current = [c.strip() for c in (cells or "").split(";") if c.strip()]
    return "; ".join([c for c in current if c != cell] if cell in current else [*current, cell])


@guarded("zeroing parts of the network", quiet)
def ablation_click(state: dict | None, cells: str, stage: str, channels: str, evt: gr.EventData):
    """A click on a class-map cell zeroes it (or restores it) and redraws, in one event."""
    cls, row, col = (int(v) for v in clicked(evt, ("class", "row", "column"), (0, 0, 0),
                                             (len(CLASS_NAMES) - 1, CELL_SIDE - 1, CELL_SIDE - 1)))
    cells = toggled(cells, cls, row, col)
    return {ablation_cells: cells, **ablation_outputs(ablation_numbers(state, cells, stage, channels))}


# ----------------------------------------------------------------------------- lesson 4: translation

DX_LABEL, DY_LABEL = "Shift right dx (px of 28)", "Shift down dy (px of 28)"  # the sliders' labels and API names

def translation_numbers(state: dict | None, dx, dy) -> lessons.Translation:
    preprocessed, model_key = session_of(state)
    dx = whole(DX_LABEL, dx, -lessons.MAX_SHIFT, lessons.MAX_SHIFT)
    dy = whole(DY_LABEL, dy, -lessons.MAX_SHIFT, lessons.MAX_SHIFT)
    return explorer.lesson(lessons.translate, preprocessed, model_key, dx, dy)


@guarded("shifting the input")
def translate(state: dict | None, dx: float, dy: float) -> dict:
    """Shift the 28x28 input: the class maps move with it, the pooled logits change less."""
    return translation_numbers(state, dx, dy).to_json()


@guarded("shifting the input")
def translation_lesson(state: dict | None, dx: float | None, dy: float | None):
    """The page's translation event (slider moved, typed, arrow keys): numbers and panel in one response."""
    if dx is None or dy is None:  # a number box being retyped ("-" before "-3")
        return gr.skip()
    result = translation_numbers(state, dx, dy)
    numbers = result.to_json()
    return {
        translation_json: numbers,
        translation_inputs: lesson_render.shifted_inputs_image(session_of(state)[0].image, result.shifted28),
        translation_maps: lesson_render.class_maps_change_html(
            result.class_maps_before, result.class_maps_after, [result.tracked_class], CLASS_NAMES,
            titles=("unshifted", f"shifted by ({result.dx}, {result.dy}) px")),
        translation_logits: lesson_render.logits_table_html(result.logits_before, result.logits_after, CLASS_NAMES),
        translation_result: lesson_render.translation_summary_md(numbers, CLASS_NAMES),
    }


DEFAULT_EXAMPLE = EXAMPLES_DIR / "test00000_ankle-boot.png"  # the README's and the API examples' image


def shift_survey() -> tuple[int, lessons.ShiftSurvey, bool]:
    """The translation tab's default shift and what it does, measured on the live model at start-up.

    The default is the largest of 4, 3, 2, 1 px that keeps DEFAULT_EXAMPLE's prediction (4 px is one block4
    cell); the survey is that shift over every shipped example, for the tab's heading. One batch, ~50
    forward passes.
    """
    loaded = explorer.models[explorer.default_key]
    images = {path: preprocess_photo(load_image(str(path))).image for path in sorted(EXAMPLES_DIR.iterdir())
              if path.suffix in (".png", ".jpg")}
    default = images[DEFAULT_EXAMPLE]
    kept = [dx for dx in (4, 3, 2, 1)
            if not lessons.shift_survey(loaded.model, [default], loaded.preprocessing, dx, 0).flipped]
    dx = kept[0] if kept else 4
    return dx, lessons.shift_survey(loaded.model, list(images.values()), loaded.preprocessing, dx, 0), bool(kept)


DEFAULT_SHIFT, SHIFT_SURVEY, DEFAULT_KEPT = shift_survey()


# ----------------------------------------------------------------------------- lesson 5: CAM for free

def gradcam_numbers(state: dict | None, cam_of: str | None) -> lessons.GradCAM:
    preprocessed, model_key = session_of(state)
    if cam_of in (None, "", PREDICTED):
        index = explorer.explain(preprocessed, model_key).predicted
    elif cam_of in CLASS_NAMES:
        index = CLASS_NAMES.index(cam_of)
    else:
        raise InputError(f"class must be {PREDICTED!r} or one of {', '.join(CLASS_NAMES)}; got {quote(cam_of)}.")
    return explorer.lesson(lessons.gradcam, preprocessed, model_key, index)


@guarded("computing Grad-CAM")
def gradcam(state: dict | None, cam_of: str) -> dict:
    """Grad-CAM on block4 by autograd, against the class map it equals up to a positive constant."""
    return gradcam_numbers(state, cam_of).to_json()


@guarded("computing Grad-CAM")
def gradcam_lesson(state: dict | None, cam_of: str):
    """The page's Grad-CAM event: numbers and panel in one response."""
    result = gradcam_numbers(state, cam_of)
    return {gradcam_json: result.to_json(),
            gradcam_view: lesson_render.gradcam_html(result.gradcam, result.class_map, result.scale,
                                                     result.expected_scale, result.max_abs_diff_after_scaling,
                                                     CLASS_NAMES[result.class_index])}


# ----------------------------------------------------------------------------- model report

@guarded("opening the confusion cell")
def confusion_cell(name: str, evt: gr.EventData) -> str:
    last = len(CLASS_NAMES) - 1
    true_idx, pred_idx = (int(v) for v in clicked(evt, ("true class", "predicted class"), (0, 0), (last, last)))
    shown = reports[name]
    return report_render.examples_html(shown, true_idx, pred_idx, report.confusion_examples(shown, true_idx, pred_idx))


def curves(shown: report.Report) -> pd.DataFrame:
    return pd.DataFrame(report.accuracy_points(shown))


# ----------------------------------------------------------------------------- the page

CSS = GAP_PANEL_CSS + lesson_render.LESSONS_CSS + report_render.REPORT_CSS + PAGE_CSS + """
#title h1 { margin-bottom: 0; }
#title p { margin-top: 4px; }
.nin-empty { padding: 18px; border: 1px dashed var(--border-color-primary); border-radius: 8px;
             color: var(--body-text-color-subdued); font-size: 15px; }
#notice { border-left: 4px solid #f59e0b; padding-left: 10px; }
#status { font-size: 16px; }
#mlp-map img { cursor: crosshair; image-rendering: pixelated; }
#gallery-sketch img { filter: invert(1); }  /* drawings are black on white, like the canvas they load into */
/* Pictures whose title is drawn into them: Gradio's label badge would sit on that title. */
#mlp-w1 [data-testid="block-label"], #mlp-w2 [data-testid="block-label"],
#mlp-vectors [data-testid="block-label"] { display: none; }
@media (max-width: 640px) {
  #title h1 { font-size: 26px; }
  #status { font-size: 15px; }
  #ablation-logits, #translation-logits { min-width: 100% !important; }  /* the table gets its own line */
}
"""

model_choices = [(loaded.label, key) for key, loaded in explorer.models.items()]
notice = explorer.models[explorer.default_key].notice
LESSON_NOTE = "Works on your current image: draw or upload one above, then come back here."

with gr.Blocks(title="NiN Explorer", delete_cache=(1800, 3600)) as demo:
    # One line above the canvas (on a phone the canvas is the first thing under it); the rest folds away.
    gr.Markdown("# NiN Explorer\nDraw a garment on the black square, or tap an example: a **Network in Network** "
                "sorts it into one of the 10 Fashion-MNIST classes, without a fully-connected layer.",
                elem_id="title")
    with gr.Accordion("About NiN, this page and these weights", open=False, elem_id="about"):
        gr.Markdown(
            f"This is the d2l chapter's NiN ({parameter_count(explorer.models[explorer.default_key].model):,} "
            "parameters). It has **no fully-connected layer**: its last block outputs one 5×5 map per class, and "
            "each class's score is simply that map's average.\n\n"
            "**Below the prediction, check each claim of the chapter yourself:** inside the network (global "
            "average pooling, class activation map, feature maps) · a 1×1 conv is a per-pixel MLP · where the "
            "parameters live · GAP is an average · translation · CAM for free · the model report.",
            elem_id="intro")
        if notice:
            gr.Markdown(notice, elem_id="notice")

    state = gr.State(None, time_to_live=SESSION_TTL_S)
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=300):
            with gr.Tabs():
                with gr.Tab("Draw", id="draw", elem_id="tab-draw"):
                    sketch = SafeSketchpad(
                        type="numpy", image_mode="RGBA", canvas_size=(CANVAS, CANVAS), fixed_canvas=True,
                        layers=False, transforms=(), sources=(),
                        # A black brush on Gradio's default white canvas, shown inverted by CSS: white on
                        # black like the dataset, with no initial value= (which makes the frontend swallow
                        # the first stroke) and nothing for "Clear canvas" to lose. The model reads the
                        # strokes' alpha, so their colour does not matter.
                        brush=gr.Brush(colors=["#000000"], default_color="#000000", color_mode="fixed",
                                       default_size=16),
                        # The brush is active from the start and the whole square takes ink (nin/ui/page_js.py).
                        label="Draw in white", show_label=False, elem_id="sketch",
                    )
                    with gr.Row():
                        gr.Markdown("Predicts as you draw.", elem_id="sketch-help")
                        classify = gr.Button("Classify drawing", variant="secondary", size="sm",
                                             elem_id="classify", scale=0, min_width=150)
                with gr.Tab("Upload", id="upload", elem_id="tab-upload"):
                    upload = UploadImage(
                        type="filepath", image_mode=None, sources=["upload", "clipboard"], format="png",
                        label="One garment: PNG, JPEG, WebP, BMP or GIF, up to 10 MB",
                        elem_id="upload", height=300,
                    )
            status = gr.Markdown("Loading the canvas…", elem_id="status", label="Status", show_label=False)
            model = gr.Radio(model_choices, value=explorer.default_key, label="Weights",
                             visible=len(model_choices) > 1, elem_id="model")
        with gr.Column(scale=4, min_width=300):
            label = gr.Label(num_top_classes=len(CLASS_NAMES), label="Prediction", elem_id="prediction")
            gr.Markdown("**What the network sees**: the 28×28 image (left, shown 8× larger) and the "
                        "224×224 input it is resized to (right).", elem_id="seen-caption")
            with gr.Row():
                input28 = PngImage(label="28×28", show_label=False, format="png", interactive=False,
                                   elem_id="input28", height=224, buttons=[])
                input224 = PngImage(label="224×224", show_label=False, format="png", interactive=False,
                                    elem_id="input224", height=224, buttons=[])
            steps = gr.Markdown(elem_id="steps", label="Preprocessing steps", show_label=False)

    with gr.Row(equal_height=False, elem_id="examples"):
        for title, (target, files) in examples().items():
            with gr.Column(scale=len(files) + 2, min_width=200):
                gallery = gr.Examples(files, inputs=[sketch if target == "sketch" else upload], label=title,
                                      examples_per_page=len(files), elem_id=f"gallery-{target}")
                if target == "sketch":
                    drawing_examples = gallery

    # The guided path, after the input and its examples: where to look next, each step a link to its place.
    gr.HTML(explorers_ui.start_here_html(), elem_id="start-here", js_on_load=None)

    with gr.Tabs(elem_id="lessons") as lesson_tabs:
        with gr.Tab("Inside the network", id="inside", elem_id="tab-inside"):
            gr.Markdown("## Global average pooling: how 10 maps become 10 scores", elem_id="gap-section")
            gap = gr.HTML('<div class="nin-empty">The class maps appear here once there is something to classify.</div>',
                          elem_id="gap", js_on_load=None, label="Global average pooling")

            gr.Markdown("## Class activation map: where the evidence is", elem_id="cam-section")
            with gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=220):
                    cam_class = gr.Dropdown([PREDICTED, *CLASS_NAMES], value=PREDICTED, label="Show the map of",
                                            elem_id="cam-class")
                    gr.Markdown("Because NiN has no fully-connected layer, a class's 5×5 map in block4 already says "
                                "where the evidence for that class is. Upsampled and laid over the input, it is a "
                                "class activation map with no extra computation.")
                with gr.Column(scale=2, min_width=260):
                    cam = PngImage(label="CAM", format="png", interactive=False, elem_id="cam", height=300)
                    cam_caption = gr.Markdown(elem_id="cam-caption", label="CAM caption", show_label=False)

            gr.Markdown("## Feature maps of every stage\nColour: viridis, from 0 (dark purple) to the stage's largest "
                        "activation (yellow), one scale per stage so channels can be compared. #n is the channel "
                        "index; block4's channels are the classes.", elem_id="features-section")
            channels = gr.Radio([SHOW_TOP, SHOW_ALL], value=SHOW_TOP, label="Channels", elem_id="channels")
            features = gr.HTML('<div class="nin-empty">Every stage\'s feature maps appear here.</div>',
                               elem_id="features", js_on_load=None, label="Feature maps")

            with gr.Accordion("Architecture (computed live from the module)", open=False):
                gr.Dataframe(architecture_rows(), headers=["stage", "output shape", "parameters"],
                             interactive=False, elem_id="architecture")

        with gr.Tab("1×1 conv = MLP", id="mlp", elem_id="tab-mlp") as mlp_tab:
            gr.Markdown("### A 1×1 convolution is a per-pixel MLP\nEach NiN block is a spatial conv followed by two "
                        "1×1 convs. A 1×1 conv never looks at neighbours: at every pixel it multiplies that pixel's "
                        "channel vector by one weight matrix. **Click a pixel of the block's output** (or type a row "
                        "and column) and the page recomputes that pixel by hand as `relu(W2 @ relu(W1 @ x + b1) + b2)`"
                        f" and compares it with the network. {LESSON_NOTE}")
            with gr.Row():
                mlp_stage = gr.Radio(list(STAGE_SIDES), value="block2", label="Block", elem_id="mlp-stage")
                largest = max(STAGE_SIDES.values()) - 1
                mlp_row = gr.Number(value=13, precision=0, minimum=0, maximum=largest, label="Row", elem_id="mlp-row")
                mlp_col = gr.Number(value=13, precision=0, minimum=0, maximum=largest, label="Column",
                                    elem_id="mlp-col")
                mlp_go = gr.Button("Recompute", elem_id="mlp-go", scale=0, min_width=120)
                mlp_shown = gr.State("block2")  # the block whose grid the row and column boxes refer to
            mlp_result = gr.Markdown(elem_id="mlp-result")
            with gr.Row(equal_height=False):
                mlp_map = gr.Image(label="Block output (mean over channels): click a pixel", interactive=False,
                                   format="png", elem_id="mlp-map", height=MLP_MAP_SIDE, width=MLP_MAP_SIDE, buttons=[])
                mlp_vectors = gr.Image(label="x → h → y at that pixel", interactive=False, format="png",
                                       elem_id="mlp-vectors", buttons=[])
            with gr.Row(equal_height=False):
                mlp_w1 = gr.Image(label="W1", interactive=False, format="png", elem_id="mlp-w1", buttons=[])
                mlp_w2 = gr.Image(label="W2", interactive=False, format="png", elem_id="mlp-w2", buttons=[])
            with gr.Accordion("Numbers (JSON, as /mlp_at returns them)", open=False):
                mlp_json = gr.JSON(elem_id="mlp-json")

        with gr.Tab("Where the parameters live", id="parameters", elem_id="tab-parameters") as parameters_tab:
            gr.Markdown("### No fully-connected layer: where do the parameters live?\nEvery count below is computed "
                        "by building the modules (on PyTorch's meta device, so VGG's 129M parameters cost no memory). "
                        "AlexNet and VGG-11 spend almost all of theirs in the fully-connected head; NiN has none, and "
                        "the counterfactual shows what NiN would weigh with AlexNet's head instead of block4 + GAP.")
            parameters_html = gr.HTML(lesson_render.parameter_report_html(PARAMETERS), elem_id="parameters-report",
                                      js_on_load=None)
            with gr.Accordion("Numbers (JSON, as /parameters returns them)", open=False):
                parameters_json = gr.JSON(PARAMETERS, elem_id="parameters-json")

        with gr.Tab("GAP is an average", id="ablation", elem_id="tab-ablation") as ablation_tab:
            gr.Markdown("### Global average pooling is just an average, so its parts can be tested\nEach logit is the "
                        "mean of its class's 25 cells. **Click cells of a class map to zero them** (click again to "
                        "restore): that logit drops by exactly the cell's value / 25, and the softmax follows. Or "
                        f"zero whole channels of an earlier stage and watch the rest of the network react. {LESSON_NOTE}")
            with gr.Row():
                ablation_cells = gr.Textbox(label="Zeroed class-map cells (class@row,col; …)", elem_id="ablation-cells",
                                            placeholder="click cells below, or type e.g. Coat@2,3; Coat@2,2 and Enter",
                                            max_length=MAX_TEXT)
                ablation_stage = gr.Dropdown([NO_STAGE, *lessons.ABLATABLE_STAGES], value=NO_STAGE,
                                             label="Zero channels of", elem_id="ablation-stage")
                ablation_channels = gr.Textbox(label="Channels (e.g. 0-15, 40)", elem_id="ablation-channels",
                                               placeholder="e.g. 0-15, 40 and Enter", max_length=MAX_TEXT)
                ablation_reset = gr.Button("Reset", elem_id="ablation-reset", scale=0, min_width=100)
            ablation_result = gr.Markdown(elem_id="ablation-result")
            with gr.Row(equal_height=False):
                ablation_maps = gr.HTML('<div class="nin-empty">The class maps appear here.</div>',
                                        elem_id="ablation-maps", js_on_load=lesson_render.CELL_CLICK_JS)
                ablation_logits = gr.HTML(elem_id="ablation-logits", js_on_load=None)
            with gr.Accordion("Numbers (JSON, as /ablate returns them)", open=False):
                ablation_json = gr.JSON(elem_id="ablation-json")

        with gr.Tab("Translation", id="translation", elem_id="tab-translation") as translation_tab:
            example_name = f"the {CLASS_NAMES[explorer.example_class(DEFAULT_EXAMPLE)]} example ({DEFAULT_EXAMPLE.name})"
            gr.Markdown(lesson_render.translation_heading_md(SHIFT_SURVEY.to_json(), example_name, DEFAULT_KEPT)
                        + f" {LESSON_NOTE}", elem_id="translation-heading")
            with gr.Row():
                shift_x = gr.Slider(-lessons.MAX_SHIFT, lessons.MAX_SHIFT, value=DEFAULT_SHIFT, step=1,
                                    label=DX_LABEL, elem_id="shift-x")
                shift_y = gr.Slider(-lessons.MAX_SHIFT, lessons.MAX_SHIFT, value=0, step=1, label=DY_LABEL,
                                    elem_id="shift-y")
            translation_result = gr.Markdown(elem_id="translation-result")
            with gr.Row(equal_height=False):
                translation_inputs = gr.Image(label="Input: unshifted | shifted", interactive=False, format="png",
                                              elem_id="translation-inputs", buttons=[])
                translation_maps = gr.HTML(elem_id="translation-maps", js_on_load=None)
            translation_logits = gr.HTML(elem_id="translation-logits", js_on_load=None)
            with gr.Accordion("Numbers (JSON, as /translate returns them)", open=False):
                translation_json = gr.JSON(elem_id="translation-json")

        with gr.Tab("CAM for free", id="cam-lesson", elem_id="tab-gradcam") as gradcam_tab:
            gr.Markdown("### CAM for free: Grad-CAM equals the class map\nGrad-CAM weights block4's channels by the "
                        "average gradient of a class's logit. In NiN that logit is the mean of its own map, so the "
                        "gradient is 1/25 on that map and 0 on every other: Grad-CAM *is* the class map, divided by "
                        "25. Computed here with autograd, not assumed. (CAM libraries need special handling for "
                        f"networks without an FC layer; NiN needs none.) {LESSON_NOTE}")
            gradcam_class = gr.Dropdown([PREDICTED, *CLASS_NAMES], value=PREDICTED, label="Class",
                                        elem_id="gradcam-class")
            gradcam_view = gr.HTML('<div class="nin-empty">Grad-CAM appears here.</div>', elem_id="gradcam",
                                   js_on_load=None)
            with gr.Accordion("Numbers (JSON, as /gradcam returns them)", open=False):
                gradcam_json = gr.JSON(elem_id="gradcam-json")

        explorers_ui.build_tab(state, explorer, guarded, session_of, MODEL_WORKERS)  # channels, neighbours, occlusion

        with gr.Tab("Model report", id="report", elem_id="tab-report"):
            gr.Markdown("### Model report\nHow the shipped weights were trained and how they do on all 10,000 official "
                        "test images, beside the Fashion-MNIST human baseline (0.835) and the d2l chapter's result "
                        "(0.772). **Click a count in the confusion matrix** to see the test images that fell there.")
            if not reports:
                gr.Markdown("No evaluated weight file is shipped in `weights/`.")
            with gr.Row(equal_height=False):
                for name, shown in reports.items():
                    with gr.Column(min_width=320):
                        gr.Markdown(f"#### `{name}`")
                        gr.HTML(report_render.summary_html(shown), js_on_load=None)
                        gr.LinePlot(curves(shown), x="epoch", y="accuracy", color="series",
                                    title="Accuracy per epoch" + (" (input size grows)" if shown.sizes_varied else ""),
                                    y_lim=[0, 1], elem_id=f"curves-{report.file_slug(name)}")
                        gr.HTML(report_render.curves_table_html(shown), js_on_load=None)
                        gr.HTML(report_render.per_class_html(shown), js_on_load=None)
                        matrix = gr.HTML(report_render.confusion_html(shown), js_on_load=report_render.CONFUSION_CLICK_JS,
                                         elem_id=f"confusion-{report.file_slug(name)}")
                        cell_examples = gr.HTML('<div class="nin-empty">Click a count above.</div>',
                                                elem_id=f"examples-{report.file_slug(name)}", js_on_load=None)
                        matrix.select(confusion_cell, [gr.State(name)], [cell_examples], api_visibility="private",
                                      api_name=f"confusion_cell_{report.file_slug(name)}".replace("-", "_"),
                                      concurrency_id="model", concurrency_limit=MODEL_WORKERS)

    explore_outputs = [label, input28, input224, gap, cam, cam_caption, status, features, steps, state]
    settings = [model, cam_class, channels]
    # Every event that runs the network or draws a panel shares the bounded "model" group.
    model_events = dict(concurrency_id="model", concurrency_limit=MODEL_WORKERS, show_progress="hidden")

    # The status line says when the page is connected to the server (browser tests wait for "Ready").
    demo.load(ready, None, [status], api_name="ready")
    # No per-output spinners: a request takes tens of milliseconds, and after a bad file the toast alone
    # explains it instead of an "Error" badge on every panel.
    upload.change(predict, [upload, *settings], explore_outputs, api_name="predict", **model_events)
    sketch.change(predict_sketch, [sketch, *settings], explore_outputs, api_name="predict_sketch",
                  trigger_mode="always_last", **model_events)
    classify.click(predict_sketch, [sketch, *settings], explore_outputs, api_name="classify", **model_events)
    # Loading an example into the sketchpad does not fire its .change (the upload examples' Image does), so the
    # drawing gallery runs the same prediction itself once the example is in the canvas.
    drawing_examples.load_input_event.then(predict_sketch, [sketch, *settings], explore_outputs,
                                           api_visibility="private", **model_events)
    model.change(rerun, [state, *settings], explore_outputs, api_name="change_model", **model_events)
    cam_class.change(change_cam, [state, cam_class], [cam, cam_caption], api_name="change_cam", **model_events)
    channels.change(change_channels, [state, channels], [features], api_name="change_channels", **model_events)

    # Lessons: each has a public endpoint that returns its numbers as JSON, for API callers only (no trigger
    # on the page), and a private page event that returns the numbers and the panel drawn from them in one
    # response. Opening a lesson's tab refreshes it through a private twin that stays quiet when there is no
    # image yet (the page event says "draw or upload something first"). A new input refreshes only the
    # lesson on screen, in one event: every event is a queue round trip, and the browser fires state.change
    # on each prediction, so one listener per lesson would cost each stroke eight extra requests. Number
    # boxes and sliders react to typing, Enter and arrow keys (`input`, always the latest value).
    private = dict(api_visibility="private", show_progress="hidden")
    # preprocess=False: limits.install has checked every raw value (choices, whole numbers, ranges, text
    # length) and the handlers check what depends on the image; Gradio's preprocessing would only round
    # numbers and fail with a TypeError on a slider's None (its number box while "-3" is being typed).
    raw_inputs = dict(preprocess=False, **model_events)
    lesson_events = {**raw_inputs, **private}
    open_lesson = gr.State(None)  # id of the lesson tab on screen, so a new input refreshes only that one
    for tab in (mlp_tab, parameters_tab, ablation_tab, translation_tab, gradcam_tab):
        def remember(tab_id=tab.id):
            return tab_id

        remember.__name__ = f"open_{tab.id}".replace("-", "_")
        tab.select(guarded("opening a lesson")(remember), None, [open_lesson], **private)

    wired = {}  # tab id -> (page event, its controls)

    def wire(tab, api, lesson, controls, outputs, triggers, numbers):
        """One lesson: its API-only endpoint, its page event on `triggers` and on opening the tab."""
        gr.on([], api, [state, *controls], [numbers], api_name=api.__name__, **raw_inputs)
        gr.on(triggers, lesson, [state, *controls], outputs, api_name=lesson.__name__, trigger_mode="always_last",
              **lesson_events)

        @guarded("refreshing a lesson", quiet)
        def refresh(session, *values):
            return lesson(session, *values) if session else gr.skip()

        refresh.__name__ = f"refresh_{lesson.__name__}"
        tab.select(refresh, [state, *controls], outputs, **lesson_events)
        wired[tab.id] = (lesson, controls)

    @guarded("refreshing the open lesson", quiet)
    def refresh_open_lesson(current, session, *values):
        """On a new input: the open lesson's numbers and panel in one response; nothing when none is open."""
        if current not in wired or not session:
            return gr.skip()
        lesson, controls = wired[current]
        start = lesson_controls.index(controls[0])
        return lesson(session, *values[start:start + len(controls)])

    mlp_outputs_list = [mlp_json, mlp_map, mlp_vectors, mlp_w1, mlp_w2, mlp_result, mlp_shown]
    mlp_controls = [mlp_stage, mlp_row, mlp_col]
    wire(mlp_tab, mlp_at, mlp_lesson, mlp_controls, mlp_outputs_list,
         [mlp_go.click, mlp_row.submit, mlp_col.submit, mlp_row.input, mlp_col.input], mlp_json)
    mlp_stage.change(mlp_restage, [state, *mlp_controls, mlp_shown], [*mlp_outputs_list, mlp_row, mlp_col],
                     api_name="mlp_restage", **lesson_events)
    mlp_map.select(mlp_click, [state, mlp_stage], [*mlp_outputs_list, mlp_row, mlp_col], api_name="mlp_click",
                   **lesson_events)
    parameters_tab.select(parameters, None, [parameters_json], api_name="parameters", show_progress="hidden")

    ablation_controls = [ablation_cells, ablation_stage, ablation_channels]
    ablation_outputs_list = [ablation_json, ablation_maps, ablation_logits, ablation_result]
    wire(ablation_tab, ablate, ablation_lesson, ablation_controls, ablation_outputs_list,
         [ablation_cells.submit, ablation_stage.input, ablation_channels.submit], ablation_json)
    ablation_maps.select(ablation_click, [state, *ablation_controls], [*ablation_outputs_list, ablation_cells],
                         api_name="ablation_click", **lesson_events)
    ablation_reset.click(reset_ablation, [state], [*ablation_outputs_list, *ablation_controls],
                         api_name="reset_ablation", **lesson_events)

    translation_outputs = [translation_json, translation_inputs, translation_maps, translation_logits,
                           translation_result]
    wire(translation_tab, translate, translation_lesson, [shift_x, shift_y], translation_outputs,
         [shift_x.input, shift_y.input], translation_json)
    wire(gradcam_tab, gradcam, gradcam_lesson, [gradcam_class], [gradcam_json, gradcam_view],
         [gradcam_class.change], gradcam_json)

    lesson_controls = [c for _, controls in wired.values() for c in controls]
    lesson_outputs = list(dict.fromkeys([*mlp_outputs_list, *ablation_outputs_list, *translation_outputs,
                                         gradcam_json, gradcam_view]))
    state.change(refresh_open_lesson, [open_lesson, state, *lesson_controls], lesson_outputs, **lesson_events)

# The page's handlers refuse through nin.ui.limits.refuse, and every raw input is checked before Gradio reads it.
limits.install(demo)

# How the app is served, here and by the tests: the upload limit, no SSR (it needs Node), bounded sessions,
# request bodies capped before Gradio reads them (events 32 KB, the sketchpad's canvas files 8 MB), at most
# 16 unread events per session, and no deep-link route.
LAUNCH = dict(max_file_size=MAX_FILE_SIZE, ssr_mode=False, css=CSS, js=PAGE_JS, state_session_capacity=MAX_SESSIONS,
              app_kwargs={"middleware": [Middleware(limits.BodyLimit), Middleware(limits.PendingEventsLimit),
                                         Middleware(sessions.RefuseDeepLinks)]})

# One bounded queue: past QUEUE_SIZE waiting requests a caller is told the queue is full (nothing piles up).
demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=MODEL_WORKERS)

if __name__ == "__main__":
    demo.launch(**LAUNCH)
