"""NiN Explorer: draw or upload a garment and watch a Network in Network classify it.

The page reads top to bottom like the network: input -> what the network sees -> prediction -> the global
average pooling step laid open -> class activation map -> every stage's feature maps. This file only
declares the UI and wires events; the request path lives in nin/pipeline.py.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no outside connections at run time

import logging

import gradio as gr

from nin.model import CLASS_NAMES, layer_table, parameter_count
from nin.pipeline import EXAMPLES_DIR, Explorer, View, render_cam, stages_html
from nin.make_examples import slug
from nin.preprocess import EmptyInput, InputError
from nin.render import GAP_PANEL_CSS

MAX_FILE_SIZE = "10mb"
CANVAS = 280
PREDICTED = "Predicted class"
SHOW_TOP, SHOW_ALL = "Top 16 channels by mean", "All channels"
READY = "Ready: draw on the black canvas, upload a photo, or pick an example below."

explorer = Explorer()
log = logging.getLogger("nin-explorer")


class UploadImage(gr.Image):
    """gr.Image that hands the raw uploaded file to our own decoder.

    gr.Image opens the file with PIL before our function runs, so a truncated or non-image upload would
    fail inside Gradio with a bare "Error". Passing the path through lets nin.preprocess.load_image turn
    every bad file into a message the user can act on.
    """

    is_template = True  # render with gr.Image's own frontend, not as a custom component

    def preprocess(self, payload):
        if payload is None or getattr(payload, "path", None) is None:
            return super().preprocess(payload)
        return str(payload.path)


# ----------------------------------------------------------------------------- event handlers

def unexpected(what: str) -> gr.Error:
    """A bug, not bad input: log the traceback for us, and tell the user plainly without showing it."""
    log.exception("classifying %s failed", what)
    return gr.Error(f"Something went wrong while classifying {what}; the error was logged. "
                    "Please try another image, or reload the page.")


def empty_outputs(message: str) -> list:
    """Outputs for "nothing to show yet": a prompt instead of an error, and no stale pictures."""
    placeholder = f'<div class="nin-empty">{message}</div>'
    return [None, None, None, placeholder, None, message, placeholder, "", None]


def view_outputs(view: View, model_key: str) -> list:
    pre = view.preprocessed
    loaded = explorer.model(model_key)
    top = view.explanation.top_classes(1)[0]
    status = (f"**{top[0]}** with {top[1]:.0%} · {loaded.label} · "
              f"{view.timings_ms['total']:.0f} ms on the server")
    return [
        view.label,
        view.input28,
        view.input224,
        view.gap_html,
        gr.Image(value=view.cam, label=view.cam_title),
        status,
        view.stages_html,
        f"**{'Drawing' if pre.source == 'sketch' else 'Photo'} → Fashion-MNIST style**\n\n{view.steps_markdown}",
        {"preprocessed": pre, "explanation": view.explanation},
    ]


def outputs_for(compute, what: str, model_key: str, on_empty) -> list:
    """Run one request; bad input becomes a message for the user, a bug a logged plain apology."""
    try:
        view = compute()
    except EmptyInput as exc:
        return on_empty(exc)
    except InputError as exc:
        raise gr.Error(str(exc)) from None
    except Exception:
        raise unexpected(what) from None
    return view_outputs(view, model_key)


def blank_photo(exc: EmptyInput):
    raise gr.Error(f"{exc} Try a photo where the garment stands out from a plain background.")


def predict(image: str | None, model_key: str, cam_class: str, channels: str):
    """Classify one image file. The first output is the label dict {class name: probability}."""
    if image is None:
        return empty_outputs("Upload a photo of a garment, or pick an example below it.")
    return outputs_for(lambda: explorer.from_photo(image, model_key, cam_class, channels == SHOW_ALL),
                       "this image", model_key, blank_photo)


def predict_sketch(sketch: dict | None, model_key: str, cam_class: str, channels: str):
    """Classify the sketchpad drawing; an empty canvas gets a prompt, not an error."""
    return outputs_for(lambda: explorer.from_sketch(sketch, model_key, cam_class, channels == SHOW_ALL),
                       "this drawing", model_key, lambda exc: empty_outputs(str(exc)))


def rerun(state: dict | None, model_key: str, cam_class: str, channels: str):
    """Same input, another model: rerun from the stored 28x28 image, no new upload needed."""
    if not state:
        return empty_outputs("Draw or upload something first.")
    view = explorer.rerun(state["preprocessed"], model_key, cam_class, channels == SHOW_ALL)
    return view_outputs(view, model_key)


def change_cam(state: dict | None, cam_class: str):
    if not state:
        return gr.skip()  # nothing classified yet: keep the empty panel
    image, title = render_cam(state["explanation"], cam_class)
    return gr.Image(value=image, label=title)


def change_channels(state: dict | None, channels: str):
    if not state:
        return gr.skip()
    return stages_html(state["explanation"], channels == SHOW_ALL)


def architecture_rows() -> list[list]:
    return [[name, " × ".join(map(str, shape)), f"{params:,}"] for name, shape, params in layer_table()]


def examples() -> dict[str, list[str]]:
    """Example files by kind; the official test images in class order, two per class."""
    class_order = {slug(name): i for i, name in enumerate(CLASS_NAMES)}
    tests = sorted(EXAMPLES_DIR.glob("test*.png"), key=lambda p: (class_order[p.stem.split("_", 1)[1]], p.name))
    return {
        "Official test images, two per class in class order (T-shirt/top, Trouser, Pullover, Dress, Coat, "
        "Sandal, Shirt, Sneaker, Bag, Ankle boot)": [str(p) for p in tests],
        "Product-style photos (dark on white: the app negates them)": [str(p) for p in sorted(EXAMPLES_DIR.glob("photo*.jpg"))],
        "Drawings": [str(p) for p in sorted(EXAMPLES_DIR.glob("drawing*.png"))],
    }


# ----------------------------------------------------------------------------- the page

CSS = GAP_PANEL_CSS + """
#title h1 { margin-bottom: 0; }
.nin-empty { padding: 18px; border: 1px dashed var(--border-color-primary); border-radius: 8px;
             color: var(--body-text-color-subdued); font-size: 15px; }
#notice { border-left: 4px solid #f59e0b; padding-left: 10px; }
#sketch canvas { cursor: crosshair; filter: invert(1); }
#status { font-size: 16px; }
"""

model_choices = [(loaded.label, key) for key, loaded in explorer.models.items()]
notices = [loaded.notice for loaded in explorer.models.values() if loaded.notice]

with gr.Blocks(title="NiN Explorer") as demo:
    gr.Markdown(
        "# NiN Explorer\n"
        "Draw a garment or upload a photo, and watch a **Network in Network** (the d2l chapter's NiN, "
        f"{parameter_count(explorer.models[explorer.default_key].model):,} parameters) sort it into one of the 10 "
        "Fashion-MNIST classes. NiN has **no fully-connected layer**: its last block outputs one 5×5 map per "
        "class, and each class's score is simply that map's average. Below the prediction: "
        "[global average pooling](#gap-section) · [class activation map](#cam-section) · "
        "[feature maps of every stage](#features-section).",
        elem_id="title",
    )
    if notices:
        gr.Markdown(notices[0], elem_id="notice")

    state = gr.State(None)
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=300):
            with gr.Tabs():
                with gr.Tab("Draw", id="draw", elem_id="tab-draw"):
                    sketch = gr.Sketchpad(
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
            status = gr.Markdown("Loading the canvas…",
                                 elem_id="status", label="Status", show_label=False)
            model = gr.Radio(model_choices, value=explorer.default_key, label="Weights",
                             visible=len(model_choices) > 1, elem_id="model")
        with gr.Column(scale=4, min_width=300):
            label = gr.Label(num_top_classes=3, label="Prediction", elem_id="prediction")
            gr.Markdown("**What the network sees**: the 28×28 image (left, shown 8× larger) and the "
                        "224×224 input it is resized to (right).", elem_id="seen-caption")
            with gr.Row():
                input28 = gr.Image(label="28×28", show_label=False, format="png", interactive=False,
                                   elem_id="input28", height=224, buttons=[])
                input224 = gr.Image(label="224×224", show_label=False, format="png", interactive=False,
                                    elem_id="input224", height=224, buttons=[])
            steps = gr.Markdown(elem_id="steps", label="Preprocessing steps", show_label=False)

    with gr.Row(equal_height=False, elem_id="examples"):
        for title, files in examples().items():
            with gr.Column(scale=len(files) + 2, min_width=200):
                gr.Examples(files, inputs=[upload], label=title, examples_per_page=len(files))

    gr.Markdown("## Global average pooling: how 10 maps become 10 scores", elem_id="gap-section")
    gap = gr.HTML('<div class="nin-empty">The class maps appear here once there is something to classify.</div>',
                  elem_id="gap", js_on_load=None, label="Global average pooling")

    gr.Markdown("## Class activation map: where the evidence is", elem_id="cam-section")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=220):
            cam_class = gr.Dropdown([PREDICTED, *CLASS_NAMES], value=PREDICTED, label="Show the map of",
                                    elem_id="cam-class")
            gr.Markdown("Because NiN has no fully-connected layer, a class's 5×5 map in block4 already says where "
                        "the evidence for that class is. Upsampled and laid over the input, it is a class "
                        "activation map with no extra computation.")
        with gr.Column(scale=2, min_width=260):
            cam = gr.Image(label="CAM", format="png", interactive=False, elem_id="cam", height=300)

    gr.Markdown("## Feature maps of every stage\nColour: viridis, from 0 (dark purple) to the stage's largest "
                "activation (yellow), one scale per stage so channels can be compared. #n is the channel index; "
                "block4's channels are the classes.", elem_id="features-section")
    channels = gr.Radio([SHOW_TOP, SHOW_ALL], value=SHOW_TOP, label="Channels", elem_id="channels")
    features = gr.HTML('<div class="nin-empty">Every stage\'s feature maps appear here.</div>',
                       elem_id="features", js_on_load=None, label="Feature maps")

    with gr.Accordion("Architecture (computed live from the module)", open=False):
        gr.Dataframe(architecture_rows(), headers=["stage", "output shape", "parameters"],
                     interactive=False, elem_id="architecture")

    outputs = [label, input28, input224, gap, cam, status, features, steps, state]
    settings = [model, cam_class, channels]

    # The status line says when the page is connected to the server (browser tests wait for "Ready").
    demo.load(lambda: READY, None, [status], api_name="ready")
    # No per-output spinners: a request takes tens of milliseconds, and after a bad file the toast alone
    # explains it instead of an "Error" badge on every panel.
    upload.change(predict, [upload, *settings], outputs, api_name="predict", show_progress="hidden")
    sketch.change(predict_sketch, [sketch, *settings], outputs, api_name="predict_sketch",
                  trigger_mode="always_last", show_progress="hidden")
    classify.click(predict_sketch, [sketch, *settings], outputs, api_name="classify", show_progress="hidden")
    model.change(rerun, [state, *settings], outputs, api_name="change_model", show_progress="hidden")
    cam_class.change(change_cam, [state, cam_class], [cam], api_name="change_cam")
    channels.change(change_channels, [state, channels], [features], api_name="change_channels")

if __name__ == "__main__":
    demo.launch(max_file_size=MAX_FILE_SIZE, ssr_mode=False, css=CSS)
