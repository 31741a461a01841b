"""The handlers of the page's top half: input -> prediction, CAM, feature maps.

Every handler goes through the page's one error path, `nin.ui.refusals.guarded`. `PredictionEvents` holds the prediction handlers (a new drawing or
upload, other weights, another CAM class or channel view) and the model report's confusion-cell handler;
they return dicts keyed by the components of a `nin.ui.page.Page`, which they are given once the page is
laid out, so they can be written, read and called without a server. nin.ui.wiring connects them to events.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property

import gradio as gr
from gradio import processing_utils

from nin.render import heatmaps, report_panels
from nin.model import CLASS_NAMES
from nin import metrics_file
from nin.render.view import render_cam, render_view, stages_html
from nin.serve.pipeline import EXAMPLES_DIR, Pipeline, Prediction, class_choice
from nin.serve.decode import InputError
from nin.serve.decode import load_image
from nin.serve.preprocess import EmptyInput, Preprocessed, preprocess_photo
from nin.serve.checks import check_number, quote
from nin.ui.refusals import guarded
from nin.ui.page import Page
from nin.ui.tabs import SHOW_ALL
READY = "Ready: draw on the black canvas, upload a photo, or pick an example below."
NO_UPLOAD = "Upload a photo of a garment (PNG, JPEG, WebP, BMP or GIF), or pick an example below it."
# Gradio 6.31's image box fires `change` twice when a file is dropped over the one it shows; the second
# event for the same file within this many seconds is skipped, so a refusal is said once.
SAME_UPLOAD_S = 2.0
UNSURE_GAP, UNSURE_TOP = 0.10, 0.50  # the top two within 10 points, or the top under 50%: the page says so

log = logging.getLogger("nin-explorer")


def session_of(state: dict | None):
    """The session's input, or EmptyInput when nothing has been classified in this session yet."""
    if not state:
        raise EmptyInput("Draw or upload something first: the lessons work on your current image.")
    return state["preprocessed"], state["model"]


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


# ----------------------------------------------------------------------------- a prediction

def unsure_note(top: list[tuple[str, float]]) -> str:
    """" · The network is unsure: …" when the prediction is close to a toss-up, else ""."""
    (first, p1), (second, p2) = top[:2]
    if p1 >= UNSURE_TOP and p1 - p2 >= UNSURE_GAP:
        return ""
    return f" · The network is unsure: {first} {p1:.0%} or {second} {p2:.0%}."


def path_heading(pre: Preprocessed, official: bool) -> str:
    """The preprocessing steps' heading: the path the input actually took."""
    if pre.source == "sketch":
        return "Drawing on the canvas → Fashion-MNIST style"
    if pre.source == "line drawing":
        return "Line drawing (upload) → filled like a canvas drawing"
    if official:
        return "Official Fashion-MNIST test image → photo path (already light on black)"
    if pre.original_size == (28, 28) and not pre.negated:
        return "28×28 image in Fashion-MNIST's style → photo path"
    return "Photo → Fashion-MNIST style"


def blank_photo(exc: EmptyInput):
    raise gr.Error(f"{exc} Try a photo where the garment stands out from a plain background.", print_exception=False)


@dataclass
class PredictionEvents:
    """The handlers of the page's top half and of the model report, for one laid-out page."""

    pipeline: Pipeline
    page: Page
    reports: dict[str, metrics_file.Report]
    recent_uploads: OrderedDict = field(default_factory=OrderedDict)  # session -> (file, when), see SAME_UPLOAD_S

    @cached_property
    def official_images(self) -> frozenset[bytes]:
        """The 28x28 network inputs of the shipped official test images: an upload whose input is one of these
        was an official test image (matched by content, whatever the file was called)."""
        return frozenset(preprocess_photo(load_image(str(path))).image.tobytes()
                         for path in sorted(EXAMPLES_DIR.glob("test*.png")))

    def accuracy_note(self, key: str) -> str:
        """"test acc 91.05%" from the file's published evaluation (the figure the report shows), or ""."""
        report = self.reports.get(key)
        if report is not None:
            return f"test acc {metrics_file.percent(report.accuracy, report.n)}"
        acc = self.pipeline.model(key).test_accuracy
        return f"test acc {metrics_file.percent(acc, 10_000)}" if acc is not None else ""

    def empty_outputs(self, message: str) -> dict:
        """Outputs for "nothing to show yet": a prompt instead of an error, and no stale pictures."""
        p = self.page
        placeholder = f'<div class="nin-empty">{message}</div>'
        return {p.label: None, p.input28: None, p.input224: None, p.gap: placeholder, p.cam: None, p.cam_caption: "",
                p.status: message, p.features: placeholder, p.steps: "", p.state: None}

    def view_outputs(self, prediction: Prediction, model_key: str, cam_index: int | None, channels: str) -> dict:
        """The page's top half for one prediction, drawn here (feature maps as files of the features component)."""
        view = render_view(prediction, cam_index, channels == SHOW_ALL, self.feature_png)
        p, pre = self.page, view.preprocessed
        loaded = self.pipeline.model(model_key)
        ranked = view.explanation.top_classes(2)
        top = ranked[0]
        return {
            p.label: view.label,
            p.input28: view.input28_enlarged,
            p.input224: view.input224,
            p.gap: view.gap_html,
            # The caption is its own output: returning gr.Image(value=..., label=...) instead makes Gradio rebuild
            # the component and its per-session config on every request (~8% of the server's CPU per request).
            p.cam: view.cam,
            p.cam_caption: view.cam_title,
            p.status: " · ".join(part for part in (
                f"**{top[0]}** with {top[1]:.0%}{unsure_note(ranked)}", loaded.title, self.accuracy_note(loaded.key),
                f"{view.timings_ms['total']:.0f} ms on the server") if part),
            p.features: view.stages_html,
            p.steps: f"**{path_heading(pre, pre.image.tobytes() in self.official_images)}**\n\n"
                     f"{view.steps_markdown}",
            # Only what a rerun needs (the 28x28 input and its steps, ~1.4 KB pickled): never the activations.
            p.state: {"preprocessed": pre, "model": loaded.key},
        }

    @guarded("classifying this image", blank_photo)
    def predict(self, image: str | None, model_key: str, cam_class: str, channels: str):
        """Classify one image file. The first output is the label dict {class name: probability}."""
        if image is None:
            return self.empty_outputs(NO_UPLOAD)
        cam_index = class_choice(cam_class)  # a wrong class is refused before the model runs
        return self.view_outputs(self.pipeline.from_photo(image, model_key), model_key, cam_index, channels)

    def upload_page(self, image: str | None, model_key: str, cam_class: str, channels: str,
                    request: gr.Request | None = None):
        """The page's upload event: /predict, except that a refused file clears the result and the upload box
        (no stale answer, no broken picture) and is said once, as a warning toast, instead of failing."""
        session = getattr(request, "session_hash", None)
        if image is not None and session is not None:
            last = self.recent_uploads.pop(session, None)
            self.recent_uploads[session] = (image, time.monotonic())
            while len(self.recent_uploads) > 4096:
                self.recent_uploads.popitem(last=False)
            if last is not None and last[0] == image and time.monotonic() - last[1] < SAME_UPLOAD_S:
                return gr.skip()  # the same file again within SAME_UPLOAD_S: Gradio's double change event
        return self.predict_or_clear(image, model_key, cam_class, channels)

    def predict_or_clear(self, image: str | None, model_key: str, cam_class: str, channels: str):
        """/predict for the page: a refused file clears the result and the upload box, said once in a toast."""
        try:
            return self.predict(image, model_key, cam_class, channels)
        except gr.Error as exc:  # already logged once by nin.ui.refusals.refuse
            gr.Warning(exc.message)
            return {**self.empty_outputs(exc.message), self.page.upload: None}

    def upload_shown(self, image: str | None, model_key: str, cam_class: str, channels: str):
        """The Upload tab was opened: the picture in its box is the page's input again, so every panel
        describes what the box shows; an empty box clears them and says what to do (one current input)."""
        return self.predict_or_clear(image, model_key, cam_class, channels)

    @guarded("switching the weights")
    def rerun(self, state: dict | None, model_key: str, cam_class: str, channels: str):
        """Same input, another model: rerun from the stored 28x28 image, no new upload needed."""
        if not state:
            return self.empty_outputs("Draw or upload something first.")
        preprocessed, _ = session_of(state)
        cam_index = class_choice(cam_class)
        return self.view_outputs(self.pipeline.rerun(preprocessed, model_key), model_key, cam_index, channels)

    @guarded("switching the weights")
    def weights_notice(self, model_key: str) -> str:
        """The banner of the file that answers now."""
        return self.pipeline.model(model_key).notice

    @guarded("drawing the class activation map", lambda exc: gr.skip())
    def change_cam(self, state: dict | None, cam_class: str):
        preprocessed, model_key = session_of(state)
        image, title = render_cam(self.pipeline.explain(preprocessed, model_key), class_choice(cam_class))
        return {self.page.cam: image, self.page.cam_caption: title}

    @guarded("drawing the feature maps", lambda exc: gr.skip())
    def change_channels(self, state: dict | None, channels: str):
        preprocessed, model_key = session_of(state)
        return stages_html(self.pipeline.explain(preprocessed, model_key), channels == SHOW_ALL, self.feature_png)

    def feature_png(self, image) -> str:
        """A feature grid written to Gradio's cache and addressed by URL from the features HTML.

        Inline, all channels made a 0.5 MB response, held in memory until the client reads it; as files the
        HTML is a few kB and the browser fetches the pictures like any image output. The file is registered
        with the features component, so delete_cache removes it like Gradio's own output files.
        """
        features = self.page.features
        path = processing_utils.save_bytes_to_cache(heatmaps.png_bytes(image), "stage.png", features.GRADIO_CACHE)
        features.temp_files.add(path)
        return "gradio_api/file=" + urllib.parse.quote(path)

    @guarded("connecting the page")
    def ready(self) -> str:
        return READY

    @guarded("opening the confusion cell")
    def confusion_cell(self, name: str, evt: gr.EventData) -> str:
        last = len(CLASS_NAMES) - 1
        true_idx, pred_idx = (int(v) for v in clicked(evt, ("true class", "predicted class"), (0, 0), (last, last)))
        shown = self.reports[name]
        return report_panels.examples_html(shown, true_idx, pred_idx,
                                           metrics_file.confusion_examples(shown, true_idx, pred_idx))
