"""NiN Explorer: draw or upload a garment and watch a Network in Network classify it.

The page reads top to bottom like the network: input -> what the network sees -> prediction, then tabs:
inside the network (global average pooling laid open, class activation map, every stage's feature
maps), one lesson per claim of the d2l chapter (each checkable by doing something, each with a JSON
endpoint), and the model report. This file only declares the UI and wires events; the request path
lives in nin/pipeline.py, the lessons in nin/lessons.py, the report in nin/report.py.
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
import re

import gradio as gr
import pandas as pd
import torch
from starlette.middleware import Middleware

from nin import lesson_render, lessons, report, report_render, sessions
from nin.components import ComponentServerBodyLimit, PngImage, SafeSketchpad, UploadImage
from nin.model import CLASS_NAMES, layer_table, parameter_count
from nin.pipeline import (EXAMPLES_DIR, Explorer, View, WEIGHTS_DIR, cpu_count, render_cam, stages_html)
from nin.preprocess import EmptyInput, InputError
from nin.render import GAP_PANEL_CSS

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

sessions.install()  # sessions without Gradio's per-session copy of every component's config (nin/sessions.py)
explorer = Explorer()
reports = report.shipped_reports(WEIGHTS_DIR)
log = logging.getLogger("nin-explorer")


# ----------------------------------------------------------------------------- one error path

def guarded(what: str, on_empty=None):
    """Wrap a handler: bad input becomes a message for the user, a bug a logged plain apology.

    EmptyInput (nothing to classify yet) goes to `on_empty` when given. Nothing reaches the page as a
    traceback, and rejected input is not logged with one either (print_exception=False).
    """
    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except EmptyInput as exc:
                if on_empty is None:
                    raise gr.Error(str(exc), print_exception=False) from None
                return on_empty(exc)
            except (InputError, ValueError) as exc:
                raise gr.Error(str(exc), print_exception=False) from None
            except gr.Error:
                raise
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


def view_outputs(view: View, model_key: str) -> dict:
    pre = view.preprocessed
    loaded = explorer.model(model_key)
    top = view.explanation.top_classes(1)[0]
    return {
        label: view.label,
        input28: view.input28_enlarged,
        input224: view.input224,
        gap: view.gap_html,
        # The caption is its own output: returning gr.Image(value=..., label=...) instead makes Gradio rebuild
        # the component and its per-session config on every request (~8% of the server's CPU per request).
        cam: view.cam,
        cam_caption: view.cam_title,
        status: f"**{top[0]}** with {top[1]:.0%} · {loaded.label} · {view.timings_ms['total']:.0f} ms on the server",
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
    return stages_html(explorer.explain(preprocessed, model_key), channels == SHOW_ALL)


def architecture_rows() -> list[list]:
    return [[name, " × ".join(map(str, shape)), f"{params:,}"] for name, shape, params in layer_table()]


def examples() -> dict[str, list[str]]:
    """Example files by kind; the official test images in class order (their names start with the class index)."""
    tests = sorted(EXAMPLES_DIR.glob("test*.png"), key=lambda p: (explorer.example_class(p), p.name))
    return {
        "Official test images, two per class in class order (T-shirt/top, Trouser, Pullover, Dress, Coat, "
        "Sandal, Shirt, Sneaker, Bag, Ankle boot)": [str(p) for p in tests],
        "Product-style photos (dark on white: the app negates them)": [str(p) for p in sorted(EXAMPLES_DIR.glob("photo*.jpg"))],
        "Drawings": [str(p) for p in sorted(EXAMPLES_DIR.glob("drawing*.png"))],
    }


# ----------------------------------------------------------------------------- lesson 1: a 1x1 conv is a per-pixel MLP

def stage_for_api(stage: str) -> str:
    if stage not in STAGE_SIDES:
        raise InputError(f"stage must be one of {', '.join(STAGE_SIDES)}; got {stage!r}.")
    return stage


@guarded("recomputing the per-pixel MLP")
def mlp_at(state: dict | None, stage: str, row: float, col: float) -> dict:
    """That pixel's channel vector through the block's two 1x1 convs, recomputed as matrix-vector products."""
    preprocessed, model_key = session_of(state)
    result = explorer.lesson(lessons.mlp_at, preprocessed, model_key, stage_for_api(stage), row, col)
    return result.to_json()


@guarded("drawing the per-pixel MLP", lambda exc: gr.skip())
def mlp_panel(numbers: dict | None, state: dict | None):
    preprocessed, model_key = session_of(state)
    if not numbers:
        return gr.skip()
    stage, row, col = numbers["stage"], numbers["row"], numbers["col"]
    w1, w2 = explorer.block_weights(model_key, stage)
    block_mean = explorer.explain(preprocessed, model_key).stages[stage].mean(axis=0)
    diff = numbers["max_abs_diff"]
    return {
        mlp_map: lesson_render.pixel_picker_image(block_mean, (row, col), MLP_MAP_SIDE),
        mlp_vectors: lesson_render.mlp_vectors_image(numbers["input"], numbers["hidden"], numbers["output"]),
        mlp_w1: lesson_render.weight_heatmap(w1, f"W1 of {stage} (first 1×1 conv)"),
        mlp_w2: lesson_render.weight_heatmap(w2, f"W2 of {stage} (second 1×1 conv)"),
        mlp_result: (f"**{stage}, row {row}, column {col}**: {len(numbers['input'])} channels in, "
                     f"`relu(W2 @ relu(W1 @ x + b1) + b2)` recomputed with numpy in float64. "
                     f"Largest difference from the network's own activations: **{diff:.2e}** "
                     f"({'the same up to float rounding' if diff <= 1e-4 else 'larger than float rounding!'}). "
                     "The same small MLP runs at every pixel: that is the network in the network."),
    }


def pick_pixel(stage: str, evt: gr.SelectData):
    """A click on the feature map -> (row, col) of that block's output grid."""
    side = STAGE_SIDES.get(stage, 1)
    x, y = evt.index  # pixel coordinates in the shown picture, which is the grid scaled to MLP_MAP_SIDE
    return min(side - 1, int(y * side / MLP_MAP_SIDE)), min(side - 1, int(x * side / MLP_MAP_SIDE))


MLP_MAP_SIDE = 270  # px: the clickable picture of a block's output (54, 26, 12 and 5 all divide it well enough)


# ----------------------------------------------------------------------------- lesson 2: where the parameters live

PARAMETERS = lessons.parameter_report().to_json()  # computed once from modules built on the meta device


def parameters() -> dict:
    """Per-layer parameter counts of NiN, d2l's AlexNet and VGG-11, and NiN with an FC head instead of GAP."""
    return PARAMETERS


# ----------------------------------------------------------------------------- lesson 3: GAP is an average

CELL = re.compile(r"\s*(?P<cls>[^@;]+?)\s*@\s*(?P<row>\d+)\s*,\s*(?P<col>\d+)\s*")


def parse_cells(text: str) -> list[tuple[int, int, int]]:
    """'Coat@2,3; Bag@0,0' -> [(4, 2, 3), (8, 0, 0)]: block4 cells as (class, row, col)."""
    cells = []
    for part in filter(str.strip, (text or "").split(";")):
        match = CELL.fullmatch(part)
        if not match or match["cls"] not in CLASS_NAMES:
            raise InputError(f"Cells are written class@row,col separated by ';' (e.g. Coat@2,3); "
                             f"could not read {part.strip()!r}.")
        cells.append((CLASS_NAMES.index(match["cls"]), int(match["row"]), int(match["col"])))
    return cells


def parse_channels(text: str) -> list[int]:
    """'3, 10-12' -> [3, 10, 11, 12]."""
    channels = []
    for part in filter(str.strip, (text or "").split(",")):
        first, _, last = part.strip().partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise InputError(f"Channels are numbers or ranges separated by commas (e.g. 3, 10-12); "
                             f"could not read {part.strip()!r}.")
        channels += range(int(first), int(last or first) + 1)
    return channels


NO_STAGE = "(none)"


@guarded("zeroing parts of the network")
def ablate(state: dict | None, cells: str, stage: str, channels: str) -> dict:
    """Zero block4 class-map cells and/or whole channels of an earlier stage; logits before and after."""
    preprocessed, model_key = session_of(state)
    zero_stage = None if stage in (None, "", NO_STAGE) else stage
    result = explorer.lesson(lessons.ablate, preprocessed, model_key, cells=parse_cells(cells) or None,
                             stage=zero_stage, channels=parse_channels(channels) if zero_stage else None)
    return result.to_json()


@guarded("drawing the ablation", lambda exc: gr.skip())
def ablation_panel(numbers: dict | None):
    if not numbers:
        return gr.skip()
    before, after = numbers["class_maps_before"], numbers["class_maps_after"]
    shown = sorted({numbers["predicted_before"], numbers["predicted_after"], *(c[0] for c in numbers["cells"])})
    return {
        ablation_maps: lesson_render.class_maps_click_html(before, after, shown, CLASS_NAMES),
        ablation_logits: lesson_render.logits_table_html(numbers["logits_before"], numbers["logits_after"], CLASS_NAMES,
                                                         numbers["probs_before"], numbers["probs_after"]),
        ablation_result: lesson_render.ablation_summary_md(numbers, CLASS_NAMES),
    }


def reset_ablation():
    return "", NO_STAGE, ""


def toggle_cell(cells: str, evt: gr.SelectData) -> str:
    """A click on a class-map cell adds it to the zeroed cells, or takes it out again."""
    index = evt.index
    if not isinstance(index, (list, tuple)) or len(index) != 3:
        return gr.skip()
    cls, row, col = (int(v) for v in index)
    cell = f"{CLASS_NAMES[cls]}@{row},{col}"
    current = [c.strip() for c in (cells or "").split(";") if c.strip()]
    return "; ".join([c for c in current if c != cell] if cell in current else [*current, cell])


# ----------------------------------------------------------------------------- lesson 4: translation

@guarded("shifting the input")
def translate(state: dict | None, dx: float, dy: float) -> dict:
    """Shift the 28x28 input: the class maps move with it, the pooled logits barely change."""
    preprocessed, model_key = session_of(state)
    return explorer.lesson(lessons.translate, preprocessed, model_key, int(dx), int(dy)).to_json()


@guarded("drawing the translation", lambda exc: gr.skip())
def translation_panel(numbers: dict | None, state: dict | None):
    if not numbers:
        return gr.skip()
    preprocessed, _ = session_of(state)
    tracked = numbers["tracked_class"]
    return {
        translation_inputs: lesson_render.shifted_inputs_image(
            preprocessed.image, lessons.shift_image(preprocessed.image, numbers["dx"], numbers["dy"])),
        translation_maps: lesson_render.class_maps_change_html(
            numbers["class_maps_before"], numbers["class_maps_after"], [tracked], CLASS_NAMES,
            titles=("unshifted", f"shifted by ({numbers['dx']}, {numbers['dy']}) px")),
        translation_logits: lesson_render.logits_table_html(numbers["logits_before"], numbers["logits_after"],
                                                            CLASS_NAMES),
        translation_result: lesson_render.translation_summary_md(numbers, CLASS_NAMES),
    }


# ----------------------------------------------------------------------------- lesson 5: CAM for free

@guarded("computing Grad-CAM")
def gradcam(state: dict | None, cam_of: str) -> dict:
    """Grad-CAM on block4 by autograd, against the class map it equals up to a positive constant."""
    preprocessed, model_key = session_of(state)
    if cam_of in (None, "", PREDICTED):
        index = explorer.explain(preprocessed, model_key).predicted
    elif cam_of in CLASS_NAMES:
        index = CLASS_NAMES.index(cam_of)
    else:
        raise InputError(f"Pick a class name or {PREDICTED!r}; got {cam_of!r}.")
    return explorer.lesson(lessons.gradcam, preprocessed, model_key, index).to_json()


@guarded("drawing Grad-CAM", lambda exc: gr.skip())
def gradcam_panel(numbers: dict | None):
    if not numbers:
        return gr.skip()
    return lesson_render.gradcam_html(numbers["gradcam"], numbers["class_map"], numbers["scale"],
                                      numbers["expected_scale"], numbers["max_abs_diff_after_scaling"],
                                      CLASS_NAMES[numbers["class_index"]])


# ----------------------------------------------------------------------------- model report

@guarded("opening the confusion cell")
def confusion_cell(name: str, evt: gr.SelectData) -> str:
    true_idx, pred_idx = (int(v) for v in evt.index)
    shown = reports[name]
    return report_render.examples_html(shown, true_idx, pred_idx, report.confusion_examples(shown, true_idx, pred_idx))


def curves(shown: report.Report) -> pd.DataFrame:
    return pd.DataFrame(report.accuracy_points(shown))


# ----------------------------------------------------------------------------- the page

CSS = GAP_PANEL_CSS + lesson_render.LESSONS_CSS + report_render.REPORT_CSS + """
#title h1 { margin-bottom: 0; }
.nin-empty { padding: 18px; border: 1px dashed var(--border-color-primary); border-radius: 8px;
             color: var(--body-text-color-subdued); font-size: 15px; }
#notice { border-left: 4px solid #f59e0b; padding-left: 10px; }
#sketch canvas { cursor: crosshair; filter: invert(1); }
#status { font-size: 16px; }
#mlp-map img { cursor: crosshair; image-rendering: pixelated; }
"""

model_choices = [(loaded.label, key) for key, loaded in explorer.models.items()]
notice = explorer.models[explorer.default_key].notice
LESSON_NOTE = "Works on your current image: draw or upload one above, then come back here."

with gr.Blocks(title="NiN Explorer", delete_cache=(1800, 3600)) as demo:
    gr.Markdown(
        "# NiN Explorer\n"
        "Draw a garment or upload a photo, and watch a **Network in Network** (the d2l chapter's NiN, "
        f"{parameter_count(explorer.models[explorer.default_key].model):,} parameters) sort it into one of the 10 "
        "Fashion-MNIST classes. NiN has **no fully-connected layer**: its last block outputs one 5×5 map per "
        "class, and each class's score is simply that map's average.\n\n"
        "**Below the prediction, check each claim of the chapter yourself:** inside the network (global average "
        "pooling, class activation map, feature maps) · a 1×1 conv is a per-pixel MLP · where the parameters "
        "live · GAP is an average · translation · CAM for free · the model report.",
        elem_id="title",
    )
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
                        label="Draw in white", elem_id="sketch",
                    )
                    with gr.Row():
                        gr.Markdown("Predicts as you draw. Toolbar: brush size, eraser, undo, clear.",
                                    elem_id="sketch-help")
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
            label = gr.Label(num_top_classes=3, label="Prediction", elem_id="prediction")
            gr.Markdown("**What the network sees**: the 28×28 image (left, shown 8× larger) and the "
                        "224×224 input it is resized to (right).", elem_id="seen-caption")
            with gr.Row():
                input28 = PngImage(label="28×28", show_label=False, format="png", interactive=False,
                                   elem_id="input28", height=224, buttons=[])
                input224 = PngImage(label="224×224", show_label=False, format="png", interactive=False,
                                    elem_id="input224", height=224, buttons=[])
            steps = gr.Markdown(elem_id="steps", label="Preprocessing steps", show_label=False)

    with gr.Row(equal_height=False, elem_id="examples"):
        for title, files in examples().items():
            with gr.Column(scale=len(files) + 2, min_width=200):
                gr.Examples(files, inputs=[upload], label=title, examples_per_page=len(files))

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
                mlp_row = gr.Number(value=13, precision=0, minimum=0, label="Row", elem_id="mlp-row")
                mlp_col = gr.Number(value=13, precision=0, minimum=0, label="Column", elem_id="mlp-col")
                mlp_go = gr.Button("Recompute", elem_id="mlp-go", scale=0, min_width=120)
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
                                            placeholder="click cells below, or type e.g. Coat@2,3; Coat@2,2")
                ablation_stage = gr.Dropdown([NO_STAGE, *lessons.ABLATABLE_STAGES], value=NO_STAGE,
                                             label="Zero channels of", elem_id="ablation-stage")
                ablation_channels = gr.Textbox(label="Channels (e.g. 0-15, 40)", elem_id="ablation-channels")
                ablation_reset = gr.Button("Reset", elem_id="ablation-reset", scale=0, min_width=100)
            ablation_result = gr.Markdown(elem_id="ablation-result")
            with gr.Row(equal_height=False):
                ablation_maps = gr.HTML('<div class="nin-empty">The class maps appear here.</div>',
                                        elem_id="ablation-maps", js_on_load=lesson_render.CELL_CLICK_JS)
                ablation_logits = gr.HTML(elem_id="ablation-logits", js_on_load=None)
            with gr.Accordion("Numbers (JSON, as /ablate returns them)", open=False):
                ablation_json = gr.JSON(elem_id="ablation-json")

        with gr.Tab("Translation", id="translation", elem_id="tab-translation") as translation_tab:
            gr.Markdown("### Translation: the maps move, the average barely does\nShift the 28×28 input. Convolutions "
                        "and pools are (nearly) shift-equivariant, so the class maps move with the garment; global "
                        "average pooling then throws the position away, so the logits change little. One pixel of the "
                        "28×28 image is 8 px of the 224 input, and block4's cells are 32 px apart: a 4-px shift moves "
                        f"the maps by one cell. {LESSON_NOTE}")
            with gr.Row():
                shift_x = gr.Slider(-lessons.MAX_SHIFT, lessons.MAX_SHIFT, value=4, step=1, label="Shift right (px of 28)",
                                    elem_id="shift-x")
                shift_y = gr.Slider(-lessons.MAX_SHIFT, lessons.MAX_SHIFT, value=0, step=1, label="Shift down (px of 28)",
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
                                      api_name=f"confusion_cell_{report.file_slug(name)}".replace("-", "_"))

    explore_outputs = [label, input28, input224, gap, cam, cam_caption, status, features, steps, state]
    settings = [model, cam_class, channels]
    model_events = dict(concurrency_id="model", concurrency_limit=MODEL_WORKERS, show_progress="hidden")

    # The status line says when the page is connected to the server (browser tests wait for "Ready").
    demo.load(lambda: READY, None, [status], api_name="ready")
    # No per-output spinners: a request takes tens of milliseconds, and after a bad file the toast alone
    # explains it instead of an "Error" badge on every panel.
    upload.change(predict, [upload, *settings], explore_outputs, api_name="predict", **model_events)
    sketch.change(predict_sketch, [sketch, *settings], explore_outputs, api_name="predict_sketch",
                  trigger_mode="always_last", **model_events)
    classify.click(predict_sketch, [sketch, *settings], explore_outputs, api_name="classify", **model_events)
    model.change(rerun, [state, *settings], explore_outputs, api_name="change_model", **model_events)
    cam_class.change(change_cam, [state, cam_class], [cam, cam_caption], api_name="change_cam", **model_events)
    channels.change(change_channels, [state, channels], [features], api_name="change_channels", **model_events)

    # Lessons: each has one public endpoint that returns its numbers as JSON (inputs: the session's image,
    # from state, plus the lesson's own controls), and a private follow-up that draws the panel from them.
    # Opening a lesson's tab refreshes it through a private twin that stays quiet when there is no image yet
    # (the public endpoint says "draw or upload something first"). A new input refreshes only the lesson on
    # screen, in one event: every event is a queue round trip, and the browser fires state.change on each
    # prediction, so one listener per lesson would cost each stroke eight extra requests.
    private = dict(api_visibility="private", show_progress="hidden")
    open_lesson = gr.State(None)  # id of the lesson tab on screen, so a new input refreshes only that one
    for tab in (mlp_tab, parameters_tab, ablation_tab, translation_tab, gradcam_tab):
        def remember(tab_id=tab.id):
            return tab_id

        remember.__name__ = f"open_{tab.id}".replace("-", "_")
        tab.select(remember, None, [open_lesson], **private)

    wired = {}  # tab id -> (endpoint, controls, numbers, panel, panel inputs, panel outputs)

    def wire(tab, endpoint, controls, numbers, triggers, panel, panel_inputs, panel_outputs):
        """One lesson: its public JSON endpoint on `triggers`, the same on tab open, then the panel."""
        api_name = endpoint.__name__
        gr.on(triggers, endpoint, [state, *controls], [numbers], api_name=api_name, **model_events
              ).then(panel, panel_inputs, panel_outputs, **private)

        def refresh(session, *values):
            return endpoint(session, *values) if session else gr.skip()

        refresh.__name__ = f"refresh_{api_name}"
        tab.select(refresh, [state, *controls], [numbers], **{**model_events, **private}
                   ).then(panel, panel_inputs, panel_outputs, **private)
        wired[tab.id] = (endpoint, controls, numbers, panel, panel_inputs, panel_outputs)

    def refresh_open_lesson(current, session, *values):
        """On a new input: the open lesson's numbers and panel in one response; nothing when none is open."""
        if current not in wired or not session:
            return gr.skip()
        endpoint, controls, numbers, panel, panel_inputs, panel_outputs = wired[current]
        start = lesson_controls.index(controls[0]) if controls else 0
        result = endpoint(session, *values[start:start + len(controls)])
        drawn = panel(*(result if c is numbers else session for c in panel_inputs))
        if not isinstance(drawn, dict) or drawn == gr.skip():  # a single output's value, or "leave it"
            drawn = {panel_outputs[0]: drawn} if len(panel_outputs) == 1 else {}
        return {numbers: result, **drawn}

    mlp_map.select(pick_pixel, [mlp_stage], [mlp_row, mlp_col], **private).then(
        mlp_at, [state, mlp_stage, mlp_row, mlp_col], [mlp_json], api_name="mlp_at_clicked",
        **{**model_events, **private}).then(
        mlp_panel, [mlp_json, state], [mlp_map, mlp_vectors, mlp_w1, mlp_w2, mlp_result], **private)
    wire(mlp_tab, mlp_at, [mlp_stage, mlp_row, mlp_col], mlp_json,
         [mlp_go.click, mlp_stage.change, mlp_row.submit, mlp_col.submit],
         mlp_panel, [mlp_json, state], [mlp_map, mlp_vectors, mlp_w1, mlp_w2, mlp_result])
    parameters_tab.select(parameters, None, [parameters_json], api_name="parameters", show_progress="hidden")
    ablation_maps.select(toggle_cell, [ablation_cells], [ablation_cells], **private)
    ablation_reset.click(reset_ablation, None, [ablation_cells, ablation_stage, ablation_channels],
                         **private)
    wire(ablation_tab, ablate, [ablation_cells, ablation_stage, ablation_channels], ablation_json,
         [ablation_cells.change, ablation_stage.change, ablation_channels.submit],
         ablation_panel, [ablation_json], [ablation_maps, ablation_logits, ablation_result])
    wire(translation_tab, translate, [shift_x, shift_y], translation_json, [shift_x.release, shift_y.release],
         translation_panel, [translation_json, state],
         [translation_inputs, translation_maps, translation_logits, translation_result])
    wire(gradcam_tab, gradcam, [gradcam_class], gradcam_json, [gradcam_class.change],
         gradcam_panel, [gradcam_json], [gradcam_view])
    lesson_controls = [c for _, controls, *_ in wired.values() for c in controls]
    lesson_outputs = [c for _, _, numbers, _, _, outputs in wired.values() for c in (numbers, *outputs)]
    state.change(refresh_open_lesson, [open_lesson, state, *lesson_controls], lesson_outputs,
                 **{**model_events, **private})

# How the app is served, here and by the tests: the upload limit, no SSR (it needs Node), bounded sessions,
# /component_server bodies capped before Gradio reads them into memory, and no deep-link route.
LAUNCH = dict(max_file_size=MAX_FILE_SIZE, ssr_mode=False, css=CSS, state_session_capacity=MAX_SESSIONS,
              app_kwargs={"middleware": [Middleware(ComponentServerBodyLimit), Middleware(sessions.RefuseDeepLinks)]})

# One bounded queue: past QUEUE_SIZE waiting requests a caller is told the queue is full (nothing piles up).
demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=MODEL_WORKERS)

if __name__ == "__main__":
    demo.launch(**LAUNCH)
