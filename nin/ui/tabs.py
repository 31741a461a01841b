"""The tabs below the prediction, one builder per tab, and the panels their handlers answer to.

Inside the network, one tab per lesson of the d2l chapter, the explorers and the model report: each builder
declares its tab inside the app's gr.Blocks and returns its components (a panel dataclass where a tab has
several), which nin/ui/page.py gathers into the `Page`. Layout only: the handlers are in
nin/ui/lesson_events.py and explorer_events.py, the wiring in wiring.py. The labels and defaults the handlers share with the layout are here.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from nin import metrics_file
from nin.render import lesson_panels, report_panels
from nin.render.view import TOP_CHANNELS
from nin.model import CLASS_NAMES, FEATURE_STAGES, layer_table
from nin.serve import lessons
from nin.serve.neighbours import DEFAULT_K, K_MAX
from nin.serve.occlusion import PATCH_SIZES
from nin.serve.pipeline import DEFAULT_EXAMPLE, WEIGHTS_DIR, Pipeline
from nin.ui.assets import asset
from nin.ui.components import PngImage
from nin.ui.refusals import MAX_TEXT

LESSON_NOTE = "Works on your current image: draw or upload one above, then come back here."
EMPTY = '<div class="nin-empty">{}</div>'  # a panel's placeholder until there is something to show
PREDICTED = "Predicted class"
SHOW_TOP, SHOW_ALL = f"Top {TOP_CHANNELS} channels by mean", "All channels"
LAYERS = layer_table()  # (stage, output shape, parameters) of every stage at 224 px, measured on the module
STAGE_SIDES = {name: shape[-1] for name, shape, _ in LAYERS if name.startswith("block")}  # block output sides
MLP_MAP_SIDE = 270  # px: the clickable picture of a block's output (54, 26, 12 and 5 all divide it well enough)
NO_STAGE = "(none)"
DX_LABEL, DY_LABEL = "Shift right dx (px of 28)", "Shift down dy (px of 28)"  # the sliders' labels and API names
DEFAULT_STAGE, DEFAULT_INDEX, DEFAULT_PATCH = "block3", 0, 8  # the explorers' first view
MAX_CHANNELS = 384  # the widest stage (block3, pool3): the channel box's range; each stage is checked on its own


# ----------------------------------------------------------------------------- what the handlers answer to

@dataclass
class MlpPanel:
    """Lesson 1, a 1x1 conv is a per-pixel MLP."""

    tab: gr.Tab
    stage: gr.Radio
    row: gr.Number
    col: gr.Number
    go: gr.Button
    shown: gr.State  # the block whose grid the row and column boxes refer to
    result: gr.Markdown
    map: gr.Image
    vectors: gr.Image
    w1: gr.Image
    w2: gr.Image
    json: gr.JSON

    def __post_init__(self):
        self.controls = [self.stage, self.row, self.col]  # what its events read besides the session
        self.outputs = [self.json, self.map, self.vectors, self.w1, self.w2, self.result, self.shown]


@dataclass
class AblationPanel:
    """Lesson 3, GAP is an average."""

    tab: gr.Tab
    cells: gr.Textbox
    stage: gr.Dropdown
    channels: gr.Textbox
    reset: gr.Button
    result: gr.Markdown
    maps: gr.HTML
    logits: gr.HTML
    json: gr.JSON

    def __post_init__(self):
        self.controls = [self.cells, self.stage, self.channels]  # what its events read besides the session
        self.outputs = [self.json, self.maps, self.logits, self.result]


@dataclass
class TranslationPanel:
    """Lesson 4, translation."""

    tab: gr.Tab
    dx: gr.Slider
    dy: gr.Slider
    result: gr.Markdown
    inputs: gr.Image
    maps: gr.HTML
    logits: gr.HTML
    json: gr.JSON

    def __post_init__(self):
        self.controls = [self.dx, self.dy]  # what its events read besides the session
        self.outputs = [self.json, self.inputs, self.maps, self.logits, self.result]


@dataclass
class GradcamPanel:
    """Lesson 5, CAM for free."""

    tab: gr.Tab
    cam_of: gr.Dropdown
    view: gr.HTML
    json: gr.JSON

    def __post_init__(self):
        self.controls = [self.cam_of]  # what its events read besides the session
        self.outputs = [self.json, self.view]


@dataclass
class ExplorePanel:
    """The "Explore further" tab: a channel, the nearest test images, occlusion beside the CAM."""

    tab: gr.Tab
    stage: gr.Dropdown
    index: gr.Number
    channel_result: gr.Markdown
    channel_view: gr.HTML
    channel_json: gr.JSON
    k: gr.Slider
    neighbours_result: gr.Markdown
    neighbours_view: gr.HTML
    neighbours_json: gr.JSON
    patch: gr.Radio
    occlusion_result: gr.Markdown
    occlusion_view: gr.HTML
    occlusion_json: gr.JSON
    follow: gr.Button  # hidden: the browser clicks it when a new input arrives while the tab is on screen

    def __post_init__(self):
        self.controls = [self.stage, self.index, self.k, self.patch]  # what its refresh reads besides the session
        self.channel_outputs = [self.channel_json, self.channel_result, self.channel_view]
        self.neighbours_outputs = [self.neighbours_json, self.neighbours_result, self.neighbours_view]
        self.occlusion_outputs = [self.occlusion_json, self.occlusion_result, self.occlusion_view]
        self.outputs = [*self.channel_outputs, *self.neighbours_outputs, *self.occlusion_outputs]


@dataclass
class ConfusionPanel:
    """One shipped weight file's confusion matrix in the model report, and where a clicked cell's images go."""

    name: str          # the weight file
    name_state: gr.State
    matrix: gr.HTML
    examples: gr.HTML

    @property
    def api_name(self) -> str:
        return f"confusion_cell_{metrics_file.file_slug(self.name)}".replace("-", "_")


# ----------------------------------------------------------------------------- what the tabs show

def architecture_rows() -> list[list]:
    return [[name, " × ".join(map(str, shape)), f"{params:,}"] for name, shape, params in LAYERS]


def recorded_phases(name: str) -> list[dict]:
    """The run header's phases of a shipped file (metrics.json), [] when it has none."""
    run = metrics_file.shipped_record(WEIGHTS_DIR, name).get("run") or {}
    return list(run.get("phases") or [])


def curves(shown: metrics_file.Report, phases: list[report_panels.Phase]) -> tuple[pd.DataFrame, list[str], list[float]]:
    """The chart's rows over every phase, its x labels in order and a y range that shows the curves."""
    rows, order = report_panels.curve_rows(shown, phases)
    return pd.DataFrame(rows, columns=["epoch", "accuracy", "series"]), order, report_panels.y_range(rows)


def numbers_json(endpoint: str, elem_id: str, value=None) -> gr.JSON:
    """A panel's numbers, folded away under it: what its JSON endpoint returns."""
    with gr.Accordion(f"Numbers (JSON, as /{endpoint} returns them)", open=False):
        return gr.JSON(value, elem_id=elem_id)


# ----------------------------------------------------------------------------- the tabs, one builder each

def build_inside_tab() -> tuple:
    """Inside the network: GAP laid open, the CAM of any class, every stage's feature maps."""
    with gr.Tab("Inside the network", id="inside", elem_id="tab-inside"):
        gr.Markdown("## Global average pooling: how 10 maps become 10 scores", elem_id="gap-section")
        gap = gr.HTML(EMPTY.format("The class maps appear here once there is something to classify."),
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
        features = gr.HTML(EMPTY.format("Every stage's feature maps appear here."), elem_id="features",
                           js_on_load=None, label="Feature maps")

        with gr.Accordion("Architecture (computed live from the module)", open=False):
            gr.Dataframe(architecture_rows(), headers=["stage", "output shape", "parameters"],
                         interactive=False, elem_id="architecture")
    return gap, cam_class, cam, cam_caption, channels, features


def build_mlp_tab() -> MlpPanel:
    with gr.Tab("1×1 conv = MLP", id="mlp", elem_id="tab-mlp") as tab:
        gr.Markdown("### A 1×1 convolution is a per-pixel MLP\nEach NiN block is a spatial conv followed by two "
                    "1×1 convs. A 1×1 conv never looks at neighbours: at every pixel it multiplies that pixel's "
                    "channel vector by one weight matrix. **Click a pixel of the block's output** (or type a row "
                    "and column and press Enter) and the page recomputes that pixel by hand as `relu(W2 @ relu(W1 @ x + b1) + b2)`"
                    f" and compares it with the network. {LESSON_NOTE}")
        with gr.Row():
            stage = gr.Radio(list(STAGE_SIDES), value="block2", label="Block", elem_id="mlp-stage")
            # No maximum here: the range depends on the chosen block (0-53 for block1, 0-4 for block4), so the
            # handler checks it and names the chosen block's range; one fixed maximum would name block1's on
            # block4, and refuse every later event (another block, a click) while a bad value sits in the box.
            row = gr.Number(value=13, precision=0, minimum=0, label="Row", elem_id="mlp-row")
            col = gr.Number(value=13, precision=0, minimum=0, label="Column", elem_id="mlp-col")
            go = gr.Button("Recompute", elem_id="mlp-go", scale=0, min_width=120)
            shown = gr.State("block2")  # the block whose grid the row and column boxes refer to
        result = gr.Markdown(elem_id="mlp-result")
        with gr.Row(equal_height=False):
            with gr.Column(min_width=MLP_MAP_SIDE):
                # The caption is text above the picture: Gradio's floating label would cover its top row.
                gr.Markdown("**Block output** (mean over channels): click a pixel", elem_id="mlp-map-caption")
                picker = gr.Image(label="Block output (mean over channels): click a pixel", show_label=False,
                                  interactive=False, format="png", elem_id="mlp-map", height=MLP_MAP_SIDE,
                                  width=MLP_MAP_SIDE, buttons=[])
            vectors = gr.Image(label="x → h → y at that pixel", interactive=False, format="png",
                               elem_id="mlp-vectors", buttons=[])
        with gr.Row(equal_height=False):
            w1 = gr.Image(label="W1", interactive=False, format="png", elem_id="mlp-w1", buttons=[])
            w2 = gr.Image(label="W2", interactive=False, format="png", elem_id="mlp-w2", buttons=[])
        numbers = numbers_json("mlp_at", "mlp-json")
    return MlpPanel(tab, stage, row, col, go, shown, result, picker, vectors, w1, w2, numbers)


def build_parameters_tab(parameters: dict) -> tuple[gr.Tab, gr.JSON]:
    with gr.Tab("Where the parameters live", id="parameters", elem_id="tab-parameters") as tab:
        gr.Markdown("### No fully-connected layer: where do the parameters live?\nEvery count below is computed "
                    "by building the modules (on PyTorch's meta device, so VGG's 129M parameters cost no memory). "
                    "AlexNet and VGG-11 spend almost all of theirs in the fully-connected head; NiN has none, and "
                    "the counterfactual shows what NiN would weigh with AlexNet's head instead of block4 + GAP.")
        gr.HTML(lesson_panels.parameter_report_html(parameters), elem_id="parameters-report", js_on_load=None)
        return tab, numbers_json("parameters", "parameters-json", parameters)


def build_ablation_tab() -> AblationPanel:
    with gr.Tab("GAP is an average", id="ablation", elem_id="tab-ablation") as tab:
        gr.Markdown("### Global average pooling is just an average, so its parts can be tested\nEach logit is the "
                    "mean of its class's 25 cells. **Click cells of a class map to zero them** (click again to "
                    "restore): that logit drops by exactly the cell's value / 25, and the softmax follows. Or "
                    f"zero whole channels of an earlier stage and watch the rest of the network react. {LESSON_NOTE}")
        with gr.Row():
            cells = gr.Textbox(label="Zeroed class-map cells (class@row,col; …)", elem_id="ablation-cells",
                               placeholder="click cells below, or type e.g. Coat@2,3; Coat@2,2 and Enter",
                               max_length=MAX_TEXT)
            stage = gr.Dropdown([NO_STAGE, *lessons.ABLATABLE_STAGES], value=NO_STAGE, label="Zero channels of",
                                elem_id="ablation-stage")
            channels = gr.Textbox(label="Channels (e.g. 0-15, 40)", elem_id="ablation-channels",
                                  placeholder="e.g. 0-15, 40 and Enter", max_length=MAX_TEXT)
            reset = gr.Button("Reset", elem_id="ablation-reset", scale=0, min_width=100)
        result = gr.Markdown(elem_id="ablation-result")
        with gr.Row(equal_height=False):
            maps = gr.HTML(EMPTY.format("The class maps appear here."), elem_id="ablation-maps",
                           js_on_load=asset("cell_click.js"))
            logits = gr.HTML(elem_id="ablation-logits", js_on_load=None)
        numbers = numbers_json("ablate", "ablation-json")
    return AblationPanel(tab, cells, stage, channels, reset, result, maps, logits, numbers)


def build_translation_tab(pipeline: Pipeline, default_shift: int, survey: lessons.ShiftSurvey,
                          default_kept: bool) -> TranslationPanel:
    with gr.Tab("Translation", id="translation", elem_id="tab-translation") as tab:
        example_name = f"the {CLASS_NAMES[pipeline.example_class(DEFAULT_EXAMPLE)]} example ({DEFAULT_EXAMPLE.name})"
        gr.Markdown(lesson_panels.translation_heading_md(survey.to_json(), example_name, default_kept)
                    + f" {LESSON_NOTE}", elem_id="translation-heading")
        with gr.Row():
            dx = gr.Slider(-lessons.MAX_SHIFT, lessons.MAX_SHIFT, value=default_shift, step=1, label=DX_LABEL,
                           elem_id="shift-x")
            dy = gr.Slider(-lessons.MAX_SHIFT, lessons.MAX_SHIFT, value=0, step=1, label=DY_LABEL, elem_id="shift-y")
        result = gr.Markdown(elem_id="translation-result")
        with gr.Row(equal_height=False):
            with gr.Column(min_width=280):
                gr.Markdown("**The input**, unshifted and shifted, side by side in one picture",
                            elem_id="translation-inputs-caption")
                inputs = gr.Image(label="Input: unshifted | shifted", show_label=False, interactive=False,
                                  format="png", elem_id="translation-inputs", buttons=[])
            maps = gr.HTML(elem_id="translation-maps", js_on_load=None)
        logits = gr.HTML(elem_id="translation-logits", js_on_load=None)
        numbers = numbers_json("translate", "translation-json")
    return TranslationPanel(tab, dx, dy, result, inputs, maps, logits, numbers)


def build_gradcam_tab() -> GradcamPanel:
    with gr.Tab("CAM for free", id="cam-lesson", elem_id="tab-gradcam") as tab:
        gr.Markdown("### CAM for free: Grad-CAM equals the class map\nGrad-CAM weights block4's channels by the "
                    "average gradient of a class's logit. In NiN that logit is the mean of its own map, so the "
                    "gradient is 1/25 on that map and 0 on every other: Grad-CAM *is* the class map, divided by "
                    "25. Computed here with autograd, not assumed. (CAM libraries need special handling for "
                    f"networks without an FC layer; NiN needs none.) {LESSON_NOTE}")
        cam_of = gr.Dropdown([PREDICTED, *CLASS_NAMES], value=PREDICTED, label="Class", elem_id="gradcam-class")
        view = gr.HTML(EMPTY.format("Grad-CAM appears here."), elem_id="gradcam", js_on_load=None)
        numbers = numbers_json("gradcam", "gradcam-json")
    return GradcamPanel(tab, cam_of, view, numbers)


def build_explore_tab() -> ExplorePanel:
    """Explore further: what each channel looks for, what the network finds similar, occlusion beside CAM."""
    with gr.Tab("Explore further", id="explore", elem_id="tab-explore") as tab:
        gr.Markdown("### Beyond the lessons: what each channel looks for, what the network finds similar, and a "
                    "second opinion on CAM\nThe channel lists and the neighbours come from the 10,000 official "
                    "test images, run through these weights once ahead of time (`python -m "
                    "nin.dev.precompute_explorers --weights weights/<file>.safetensors`), so the page needs no "
                    f"dataset. {LESSON_NOTE}")
        gr.Markdown("#### What each channel looks for")
        with gr.Row():
            stage = gr.Dropdown(list(FEATURE_STAGES), value=DEFAULT_STAGE, label="Stage", elem_id="explore-stage",
                                scale=1)
            index = gr.Number(value=DEFAULT_INDEX, precision=0, minimum=0, maximum=MAX_CHANNELS - 1,
                              label="Channel index", elem_id="explore-index", scale=1)
        channel_result = gr.Markdown(elem_id="explore-channel-result")
        channel_view = gr.HTML(EMPTY.format("The channel appears here."), elem_id="explore-channel",
                               js_on_load=asset("hover.js"), css_template=asset("explore.css"))
        channel_json = numbers_json("channel", "explore-channel-json")

        gr.Markdown("#### What the network thinks is similar")
        k = gr.Slider(1, K_MAX, value=DEFAULT_K, step=1, label="k (neighbours in each space)", elem_id="explore-k")
        neighbours_result = gr.Markdown(elem_id="explore-neighbours-result")
        neighbours_view = gr.HTML(EMPTY.format("The nearest official test images appear here."),
                                  elem_id="explore-neighbours", js_on_load=None, css_template=asset("explore.css"))
        neighbours_json = numbers_json("neighbours", "explore-neighbours-json")

        gr.Markdown("#### A second opinion on CAM: occlusion")
        patch = gr.Radio(list(PATCH_SIZES), value=DEFAULT_PATCH, label="Patch size (px of the 28×28 input)",
                         elem_id="explore-patch")
        occlusion_result = gr.Markdown(elem_id="explore-occlusion-result")
        occlusion_view = gr.HTML(EMPTY.format("The occlusion map appears here, beside the CAM."),
                                 elem_id="explore-occlusion", js_on_load=None, css_template=asset("explore.css"))
        occlusion_json = numbers_json("occlusion", "explore-occlusion-json")
        follow = gr.Button("Refresh", visible="hidden", elem_id="explore-refresh")
    return ExplorePanel(tab, stage, index, channel_result, channel_view, channel_json, k, neighbours_result,
                        neighbours_view, neighbours_json, patch, occlusion_result, occlusion_view, occlusion_json,
                        follow)


def build_report_tab(reports: dict[str, metrics_file.Report], titles: dict[str, str]) -> list[ConfusionPanel]:
    """The model report of every shipped weight file (`titles`: file -> the picker's name for it), with their
    test curves on one chart when there are several; returns each file's confusion matrix panel."""
    confusions: list[ConfusionPanel] = []
    files = [(titles.get(name, name), report_panels.training_phases(shown, recorded_phases(name)))
             for name, shown in reports.items()]
    with gr.Tab("Model report", id="report", elem_id="tab-report"):
        gr.Markdown("### Model report\nHow the shipped weights were trained and how they do on all 10,000 official "
                    f"test images, beside the Fashion-MNIST human baseline ({metrics_file.HUMAN_BASELINE:.1%}) and the "
                    f"d2l chapter's result ({metrics_file.D2L_REFERENCE:.1%}). **Click a count in the confusion matrix** to see "
                    "the test images that fell there.")
        if not reports:
            gr.Markdown("No evaluated weight file is shipped in `weights/`.")
        if len(files) > 1:
            rows, order = report_panels.compare_rows(files)
            # x counts each file's epochs from its start, so runs of any length and phasing share one axis.
            gr.LinePlot(pd.DataFrame(rows, columns=["epoch", "accuracy", "series"]), x="epoch", y="accuracy",
                        color="series", sort=order, y_lim=report_panels.y_range(rows), elem_id="curves-compared",
                        x_title="epoch, over the whole training", title="Test accuracy per epoch, every shipped file")
            gr.Markdown("One point per epoch on the 10,000 official test images (in the run's own precision); "
                        "a phase that a file records only by its end is one point at that phase's last epoch.",
                        elem_id="curves-compared-caption")
        with gr.Row(equal_height=False):
            for (name, shown), (title, phases) in zip(reports.items(), files):
                slug = metrics_file.file_slug(name)
                with gr.Column(min_width=320):
                    gr.Markdown(f"#### {title}\n`{name}`" if title != name else f"#### `{name}`")
                    gr.HTML(report_panels.summary_html(shown, phases), js_on_load=None)
                    rows, order, y_lim = curves(shown, phases)
                    # x is each epoch's label (number over the whole training, phase, input size) in training
                    # order: whole epochs, and the phase starts readable on the axis.
                    gr.LinePlot(rows, x="epoch", y="accuracy", color="series", sort=order, y_lim=y_lim,
                                title="Accuracy per epoch, every phase", x_title="epoch · phase · input size",
                                x_label_angle=-30, elem_id=f"curves-{slug}")
                    gr.Markdown(report_panels.phases_caption(phases), elem_id=f"phases-{slug}")
                    gr.HTML(report_panels.curves_table_html(shown, phases), js_on_load=None)
                    gr.HTML(report_panels.per_class_html(shown), js_on_load=None)
                    matrix = gr.HTML(report_panels.confusion_html(shown), js_on_load=asset("confusion_click.js"),
                                     elem_id=f"confusion-{slug}")
                    cell_examples = gr.HTML(EMPTY.format("Click a count above."), elem_id=f"examples-{slug}",
                                            js_on_load=None)
                    confusions.append(ConfusionPanel(name, gr.State(name), matrix, cell_examples))
    return confusions
