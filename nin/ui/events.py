"""The page's one error path, and the handlers of its top half: input -> prediction, CAM, feature maps.

`guarded` wraps every handler of the page. `ExplorerEvents` holds the explorer's handlers (a new drawing or
upload, other weights, another CAM class or channel view) and the model report's confusion-cell handler;
they return dicts keyed by the components of a `nin.ui.page.Page`, which they are given once the page is
laid out, so they can be written, read and called without a server. nin.ui.wiring connects them to events.
"""

from __future__ import annotations

import functools
import logging
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr
from gradio import processing_utils

from nin.draw import render, report_render
from nin.model import CLASS_NAMES
from nin.serve import report
from nin.serve.pipeline import Explorer, View, render_cam, stages_html
from nin.serve.decode import InputError
from nin.serve.preprocess import EmptyInput
from nin.ui.limits import check_number, quote, refuse

if TYPE_CHECKING:
    from nin.ui.page import Page

PREDICTED = "Predicted class"
SHOW_TOP, SHOW_ALL = "Top 16 channels by mean", "All channels"
READY = "Ready: draw on the black canvas, upload a photo, or pick an example below."
UNSURE_GAP, UNSURE_TOP = 0.10, 0.50  # the top two within 10 points, or the top under 50%: the page says so

log = logging.getLogger("nin-explorer")


# ----------------------------------------------------------------------------- one error path

def guarded(what: str, on_empty=None):
    """Wrap a handler: a user's mistake becomes a message for the user, anything else a logged plain apology.

    A user's mistake is an `InputError` (nin.serve.decode; nothing else counts, not even a ValueError)
    or a `gr.Error` already raised as a refusal. EmptyInput, the InputError for "nothing to classify yet",
    goes to `on_empty` when given. Refusals go through `nin.ui.limits.refuse`: a short message that quotes at
    most 60 characters of what was sent, one log line, no traceback. Any other exception is a bug: its
    traceback is logged once and the user gets an apology without internals. Every handler of the page goes
    through here; `limits.install` checks the raw inputs before (choices, whole numbers, ranges, text
    length), with the same refusal.
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
            except InputError as exc:
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


# ----------------------------------------------------------------------------- the explorer

def unsure_note(top: list[tuple[str, float]]) -> str:
    """" · The network is unsure: …" when the prediction is close to a toss-up, else ""."""
    (first, p1), (second, p2) = top[:2]
    if p1 >= UNSURE_TOP and p1 - p2 >= UNSURE_GAP:
        return ""
    return f" · The network is unsure: {first} {p1:.0%} or {second} {p2:.0%}."


def blank_photo(exc: EmptyInput):
    raise gr.Error(f"{exc} Try a photo where the garment stands out from a plain background.", print_exception=False)


@dataclass
class ExplorerEvents:
    """The handlers of the page's top half and of the model report, for one laid-out page."""

    explorer: Explorer
    page: Page
    reports: dict[str, report.Report]

    def empty_outputs(self, message: str) -> dict:
        """Outputs for "nothing to show yet": a prompt instead of an error, and no stale pictures."""
        p = self.page
        placeholder = f'<div class="nin-empty">{message}</div>'
        return {p.label: None, p.input28: None, p.input224: None, p.gap: placeholder, p.cam: None, p.cam_caption: "",
                p.status: message, p.features: placeholder, p.steps: "", p.state: None}

    def view_outputs(self, view: View, model_key: str) -> dict:
        p, pre = self.page, view.preprocessed
        loaded = self.explorer.model(model_key)
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
            p.status: f"**{top[0]}** with {top[1]:.0%}{unsure_note(ranked)} · {loaded.label} · "
                      f"{view.timings_ms['total']:.0f} ms on the server",
            p.features: view.stages_html,
            p.steps: f"**{'Drawing' if pre.source == 'sketch' else 'Photo'} → Fashion-MNIST style**\n\n"
                     f"{view.steps_markdown}",
            # Only what a rerun needs (the 28x28 input and its steps, ~1.4 KB pickled): never the activations.
            p.state: {"preprocessed": pre, "model": loaded.key},
        }

    @guarded("classifying this image", blank_photo)
    def predict(self, image: str | None, model_key: str, cam_class: str, channels: str):
        """Classify one image file. The first output is the label dict {class name: probability}."""
        if image is None:
            return self.empty_outputs("Upload a photo of a garment, or pick an example below it.")
        view = self.explorer.from_photo(image, model_key, cam_class, channels == SHOW_ALL)
        return self.view_outputs(view, model_key)

    @guarded("switching the weights")
    def rerun(self, state: dict | None, model_key: str, cam_class: str, channels: str):
        """Same input, another model: rerun from the stored 28x28 image, no new upload needed."""
        if not state:
            return self.empty_outputs("Draw or upload something first.")
        preprocessed, _ = session_of(state)
        view = self.explorer.rerun(preprocessed, model_key, cam_class, channels == SHOW_ALL)
        return self.view_outputs(view, model_key)

    @guarded("drawing the class activation map", lambda exc: gr.skip())
    def change_cam(self, state: dict | None, cam_class: str):
        preprocessed, model_key = session_of(state)
        image, title = render_cam(self.explorer.explain(preprocessed, model_key), cam_class)
        return {self.page.cam: image, self.page.cam_caption: title}

    @guarded("drawing the feature maps", lambda exc: gr.skip())
    def change_channels(self, state: dict | None, channels: str):
        preprocessed, model_key = session_of(state)
        return stages_html(self.explorer.explain(preprocessed, model_key), channels == SHOW_ALL,
                           self.explorer.image_src)

    def feature_png(self, image) -> str:
        """A feature grid written to Gradio's cache and addressed by URL from the features HTML.

        Inline, all channels made a 0.5 MB response, held in memory until the client reads it; as files the
        HTML is a few kB and the browser fetches the pictures like any image output. The file is registered
        with the features component, so delete_cache removes it like Gradio's own output files.
        """
        features = self.page.features
        path = processing_utils.save_bytes_to_cache(render.png_bytes(image), "stage.png", features.GRADIO_CACHE)
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
        return report_render.examples_html(shown, true_idx, pred_idx,
                                           report.confusion_examples(shown, true_idx, pred_idx))
