"""The page's layout, top to bottom, and the components its handlers answer to.

`build_page` declares every component inside the app's gr.Blocks, in page order, one builder per part: the
title, the input (a Draw and an Upload tab) beside the prediction and what the network sees, the examples,
then the tabs (inside the network, one tab per lesson, the explorers, the model report). It returns a
`Page`: the components the handlers key their outputs by (`page.label`, `page.mlp.json`, …) and the wiring
connects, so nothing reads a component from a module global. The tabs below the prediction are built by
nin/ui/tabs.py. Layout only, and it imports no handler: the handlers (nin/ui/prediction_events.py,
lesson_events.py, explorer_events.py) import the `Page` from here and the labels from tabs.py, and
nin/ui/wiring.py connects them. What is measured or loaded at start-up comes in as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from nin import metrics_file, recipe_diff
from nin.render import explorer_panels
from nin.model import CLASS_NAMES, parameter_count
from nin.serve import lessons
from nin.serve.pipeline import CHAPTER_FILE, EXAMPLES_DIR, Pipeline
from nin.ui.assets import page_css
from nin.ui.canvas import DrawingCanvas
from nin.ui.components import PngImage, UploadImage
from nin.ui.tabs import (AblationPanel, ConfusionPanel, ExplorePanel, GradcamPanel, MlpPanel, TranslationPanel,
                         build_ablation_tab, build_explore_tab, build_gradcam_tab, build_inside_tab, build_mlp_tab,
                         build_parameters_tab, build_report_tab, build_translation_tab)
CSS = page_css()  # the style sheets of nin/ui/static (nin.ui.assets.PAGE_SHEETS)


@dataclass
class Page:
    """The components the handlers answer to, by name."""

    state: gr.State                # the session's input: {"preprocessed", "model"} or None
    drawing: DrawingCanvas         # the Draw tab's canvas (its gr.HTML is drawing.html)
    upload: UploadImage
    upload_shown: gr.Button        # hidden: the browser clicks it when the user opens the Upload tab
    status: gr.Markdown
    model: gr.Radio
    notice: gr.Markdown            # the banner: which weight file answers, what it is, how good it is
    label: gr.Label
    input28: PngImage
    input224: PngImage
    steps: gr.Markdown
    gap: gr.HTML
    cam_class: gr.Dropdown
    cam: PngImage
    cam_caption: gr.Markdown
    channels: gr.Radio
    features: gr.HTML
    mlp: MlpPanel
    parameters_tab: gr.Tab
    parameters_json: gr.JSON
    ablation: AblationPanel
    translation: TranslationPanel
    gradcam: GradcamPanel
    explore: ExplorePanel
    confusions: list[ConfusionPanel]

    @property
    def settings(self) -> list:
        """What every prediction reads besides its input."""
        return [self.model, self.cam_class, self.channels]

    @property
    def outputs(self) -> list:
        """What every prediction writes."""
        return [self.label, self.input28, self.input224, self.gap, self.cam, self.cam_caption, self.status,
                self.features, self.steps, self.state]


# ----------------------------------------------------------------------------- what the page shows

def examples(pipeline: Pipeline) -> dict[str, tuple[str, list[str]]]:
    """Example files by kind -> (the input they load into, files); the official test images in class order.
    The drawings are not here: they load into the drawing canvas, which shows them itself (nin/ui/canvas.py)."""
    tests = sorted(EXAMPLES_DIR.glob("test*.png"), key=lambda p: (pipeline.example_class(p), p.name))
    return {
        "Official test images, two per class in class order (T-shirt/top, Trouser, Pullover, Dress, Coat, "
        "Sandal, Shirt, Sneaker, Bag, Ankle boot)": ("upload", [str(p) for p in tests]),
        "Product-style photos (dark on white: the app negates them)":
            ("upload", [str(p) for p in sorted(EXAMPLES_DIR.glob("photo*.jpg"))]),
    }


# ----------------------------------------------------------------------------- the layout, one builder per part

def build_page(pipeline: Pipeline, *, reports: dict[str, metrics_file.Report], parameters: dict, default_shift: int,
               survey: lessons.ShiftSurvey, default_kept: bool, session_ttl_s: int) -> Page:
    """Declare the page inside the app's gr.Blocks; what is measured at start-up comes in as arguments
    (the shipped reports, the parameter counts, the translation tab's default shift and its survey)."""
    notice = build_header(pipeline)
    state = gr.State(None, time_to_live=session_ttl_s)
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=300):
            with gr.Tabs():
                drawing = build_draw_tab(pipeline)
                upload = build_upload_tab()
            # Hidden: the page's script (static/page.js) clicks it when the user opens the Upload tab, whose
            # picture then becomes the input again (or, with none, the panels are cleared).
            upload_shown = gr.Button("Show the upload's prediction", visible="hidden", elem_id="upload-shown")
            status = gr.Markdown("Loading the canvas…", elem_id="status", label="Status", show_label=False)
            model_choices = [(loaded.label, key) for key, loaded in pipeline.models.items()]
            model = gr.Radio(model_choices, value=pipeline.default_key, label="Weights: the file that answers",
                             visible=len(model_choices) > 1, elem_id="model")
        with gr.Column(scale=4, min_width=300):
            label, input28, input224, steps = build_prediction()
    build_examples(pipeline, upload)
    # The guided path, after the input and its examples: where to look next, each step a link to its place.
    gr.HTML(explorer_panels.start_here_html(), elem_id="start-here", js_on_load=None)

    with gr.Tabs(elem_id="lessons"):
        gap, cam_class, cam, cam_caption, channels, features = build_inside_tab()
        mlp = build_mlp_tab()
        parameters_tab, parameters_json = build_parameters_tab(parameters)
        ablation = build_ablation_tab()
        translation = build_translation_tab(pipeline, default_shift, survey, default_kept)
        gradcam = build_gradcam_tab()
        explore = build_explore_tab()
        confusions = build_report_tab(reports, {key: loaded.title for key, loaded in pipeline.models.items()})

    return Page(
        state=state, drawing=drawing, upload=upload, upload_shown=upload_shown,
        status=status, model=model, notice=notice, label=label, input28=input28, input224=input224, steps=steps, gap=gap,
        cam_class=cam_class, cam=cam, cam_caption=cam_caption, channels=channels, features=features, mlp=mlp,
        parameters_tab=parameters_tab, parameters_json=parameters_json, ablation=ablation, translation=translation,
        gradcam=gradcam, explore=explore, confusions=confusions,
    )


def build_header(pipeline: Pipeline) -> gr.Markdown:
    """The title, and what NiN, this page and these weights are, folded away; returns the banner, which
    follows the weights picker."""
    answering = pipeline.models[pipeline.default_key]
    # One line above the canvas (on a phone the canvas is the first thing under it); the rest folds away.
    gr.Markdown("# NiN Explorer\nDraw a garment on the black square, or tap an example: a **Network in Network** "
                "sorts it into one of the 10 Fashion-MNIST classes, without a fully-connected layer.",
                elem_id="title")
    with gr.Accordion("About NiN, this page and these weights", open=False, elem_id="about"):
        gr.Markdown(
            f"This is the d2l chapter's NiN ({parameter_count(answering.model):,} "
            "parameters). It has **no fully-connected layer**: its last block outputs one 5×5 map per class, and "
            "each class's score is simply that map's average.\n\n"
            "**Below the prediction, check each claim of the chapter yourself:** inside the network (global "
            "average pooling, class activation map, feature maps) · a 1×1 conv is a per-pixel MLP · where the "
            "parameters live · GAP is an average · translation · CAM for free · the model report.",
            elem_id="intro")
        notice = gr.Markdown(answering.notice, elem_id="notice")
        chapter = pipeline.models.get(CHAPTER_FILE)
        if chapter is not None and chapter is not answering:
            gr.Markdown(recipe_diff.difference((answering.title, answering.metadata), (chapter.title, chapter.metadata))
                        + " Pick the file under the canvas to see what this buys on your own drawing.",
                        elem_id="recipes-compared")
    return notice


def build_draw_tab(pipeline: Pipeline) -> DrawingCanvas:
    """The Draw tab: the canvas, its tools, its live answers and the drawing examples (nin/ui/canvas.py)."""
    with gr.Tab("Draw", id="draw", elem_id="tab-draw"):
        drawing = DrawingCanvas(pipeline)
        drawing.build()
    return drawing


def build_upload_tab() -> UploadImage:
    with gr.Tab("Upload", id="upload", elem_id="tab-upload"):
        return UploadImage(type="filepath", image_mode=None, sources=["upload", "clipboard"], format="png",
                           label="One garment: PNG, JPEG, WebP, BMP or GIF, up to 10 MB", elem_id="upload",
                           height=300)


def build_prediction() -> tuple[gr.Label, PngImage, PngImage, gr.Markdown]:
    """The prediction, what the network sees, and the preprocessing steps."""
    label = gr.Label(num_top_classes=len(CLASS_NAMES), label="Prediction", elem_id="prediction")
    gr.Markdown("**What the network sees**: the 28×28 image (first, shown 8× larger) and the "
                "224×224 input it is resized to (second).", elem_id="seen-caption")
    with gr.Row():
        input28 = PngImage(label="28×28", show_label=False, format="png", interactive=False,
                           elem_id="input28", height=224, buttons=[])
        input224 = PngImage(label="224×224", show_label=False, format="png", interactive=False,
                            elem_id="input224", height=224, buttons=[])
    steps = gr.Markdown(elem_id="steps", label="Preprocessing steps", show_label=False)
    return label, input28, input224, steps


def build_examples(pipeline: Pipeline, upload: UploadImage) -> None:
    """The example galleries under the input: official test images and photos, which load as uploads."""
    with gr.Row(equal_height=False, elem_id="examples"):
        for title, (target, files) in examples(pipeline).items():
            with gr.Column(scale=len(files) + 2, min_width=200):
                gr.Examples(files, inputs=[upload], label=title, examples_per_page=len(files),
                            elem_id=f"gallery-{target}")
