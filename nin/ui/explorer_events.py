"""The "Explore further" tab's handlers: what each channel looks for, what the network finds similar, occlusion.

`ExploreEvents` answers the tab laid out by nin.ui.page (`ExplorePanel`), like `LessonEvents` answers the
lessons: the numbers come from nin.serve.explorers (`Explorers`, loaded once at start-up), the pictures from
nin.render.explorer_panels, and nin.ui.wiring connects the handlers to events. Each explorer has a public
JSON endpoint (`/channel`, `/neighbours`, `/occlusion`, for API callers) and private page events that
return the numbers and the panel drawn from them in one response. A panel that cannot be drawn (no image
yet, no precomputed data for these weights) says why in place, with the command that fixes it.
"""

from __future__ import annotations

import html
import urllib.parse
from dataclasses import dataclass

import gradio as gr
import numpy as np
from gradio import processing_utils

from nin.render import explorer_panels
from nin.render.heatmaps import png_bytes
from nin.model import CLASS_NAMES
from nin.serve.checks import is_number
from nin.serve.explorers import Explorers, Unavailable
from nin.serve.neighbours import DEFAULT_K
from nin.serve.pipeline import Pipeline
from nin.serve.preprocess import EmptyInput
from nin.ui.prediction_events import session_of
from nin.ui.refusals import guarded
from nin.ui.page import Page
from nin.ui.tabs import DEFAULT_INDEX, EMPTY


def session_or_none(session) -> tuple:
    """The session's input and weights, or (None, None) before anything was classified."""
    return session_of(session) if session else (None, None)


@dataclass
class ExploreEvents:
    """The "Explore further" tab's handlers for one laid-out page."""

    pipeline: Pipeline
    explorers: Explorers
    page: Page

    # ------------------------------------------------------------------ numbers and panels

    @staticmethod
    def pictures_of(view: gr.HTML):
        """`src` for the panel drawn into `view`: each picture a PNG in Gradio's cache, addressed by URL.

        Inline, a refreshed tab was ~190 KB of HTML held in memory until the client read it; as files the
        HTML is a few kB. Each file is registered with `view`, so delete_cache removes it with Gradio's own.
        """
        def src(image) -> str:
            path = processing_utils.save_bytes_to_cache(png_bytes(image), "explore.png", view.GRADIO_CACHE)
            view.temp_files.add(path)
            return "gradio_api/file=" + urllib.parse.quote(path)
        return src

    def channel_panel(self, session, stage, index) -> dict:
        panel, (preprocessed, model_key) = self.page.explore, session_or_none(session)
        top = self.explorers.channel(model_key, stage, index)
        parts, own, src = [], None, self.pictures_of(panel.channel_view)
        if preprocessed is not None:
            values = self.pipeline.explain(preprocessed, model_key).stages[top.stage][top.index]
            row, col = np.unravel_index(int(np.argmax(values)), values.shape)
            own = (float(values[row, col]), int(row), int(col))
            label = f" ({CLASS_NAMES[top.index]})" if top.stage == "block4" else ""
            parts.append(explorer_panels.channel_map_figure(values, f"Your image: {top.stage} #{top.index}{label}, "
                                                         f"{values.shape[0]}×{values.shape[1]}", src))
        if top.stage == "block1":
            parts.append(explorer_panels.kernel_figure(self.explorers.kernel(model_key, top.index), top.index, src))
        parts.append(explorer_panels.top_images_html(top, self.explorers.bank(model_key, "channel explorer").test.images, src))
        if preprocessed is None:
            parts.insert(0, EMPTY.format("Draw or upload something to see this channel's map for your image."))
        return {panel.channel_json: top.to_json(), panel.channel_result: explorer_panels.channel_summary_md(top, own),
                panel.channel_view: f'<div class="nin-x-row">{"".join(parts)}</div>'}

    def neighbours_panel(self, session, k, explanation=None) -> dict:
        panel, (preprocessed, model_key) = self.page.explore, session_of(session)
        result = self.explorers.neighbours(preprocessed, model_key, k, explanation)
        numbers = result.to_json()
        return {panel.neighbours_json: numbers, panel.neighbours_result: numbers["summary"],
                panel.neighbours_view: explorer_panels.neighbours_html(result, self.explorers.bank(model_key, "neighbour search")
                                                            .test.images, self.pictures_of(panel.neighbours_view))}

    def occlusion_panel(self, session, patch, explanation=None) -> dict:
        panel, (preprocessed, model_key) = self.page.explore, session_of(session)
        result = self.explorers.occlusion(preprocessed, model_key, patch, explanation)
        return {panel.occlusion_json: result.to_json(), panel.occlusion_result: explorer_panels.occlusion_summary_md(result),
                panel.occlusion_view: explorer_panels.occlusion_html(result, self.pictures_of(panel.occlusion_view))}

    @staticmethod
    def unavailable(outputs: list, exc: Exception) -> dict:
        """A panel that cannot be drawn says why in place (stale data, no image yet) rather than in a toast."""
        return {outputs[0]: None, outputs[1]: "", outputs[2]: EMPTY.format(html.escape(str(exc)))}

    # ------------------------------------------------------------------ public endpoints (JSON, API only)

    @guarded("opening the channel")
    def channel(self, session: dict | None, stage: str, index: float) -> dict:
        """A channel's 9 most exciting official test images (from the precomputed data of the session's weights)."""
        return self.explorers.channel(session_or_none(session)[1], stage, index).to_json()

    @guarded("finding the nearest images")
    def neighbours(self, session: dict | None, k: float) -> dict:
        """The k nearest official test images to this session's input, in feature space and in pixel space."""
        preprocessed, model_key = session_of(session)
        return self.explorers.neighbours(preprocessed, model_key, k).to_json()

    @guarded("occluding the input")
    def occlusion(self, session: dict | None, patch: int) -> dict:
        """Occlusion grid of this session's input for one patch size, and its rank correlation with CAM."""
        preprocessed, model_key = session_of(session)
        return self.explorers.occlusion(preprocessed, model_key, patch).to_json()

    # ------------------------------------------------------------------ page events

    @guarded("opening the channel")
    def channel_page(self, session, stage, index):
        if index is None:  # the number box is being retyped
            return gr.skip()
        try:
            return self.channel_panel(session, stage, index)
        except Unavailable as exc:
            return self.unavailable(self.page.explore.channel_outputs, exc)

    @guarded("opening the channel")
    def channel_restage(self, session, stage, index):
        """Another stage: the channel index stays if that stage has it, else goes to 0."""
        count = self.explorers.channel_count(session_or_none(session)[1], stage)
        value = int(index) if is_number(index, 0, count - 1, whole=True) else 0
        box = self.page.explore.index
        try:
            return {box: value, **self.channel_panel(session, stage, value)}
        except Unavailable as exc:
            return {box: value, **self.unavailable(self.page.explore.channel_outputs, exc)}

    @guarded("finding the nearest images")
    def neighbours_page(self, session, k):
        if k is None:
            return gr.skip()
        try:
            return self.neighbours_panel(session, k)
        except (Unavailable, EmptyInput) as exc:
            return self.unavailable(self.page.explore.neighbours_outputs, exc)

    @guarded("occluding the input")
    def occlusion_page(self, session, patch):
        try:
            return self.occlusion_panel(session, patch)
        except EmptyInput as exc:
            return self.unavailable(self.page.explore.occlusion_outputs, exc)

    @guarded("refreshing the explorers")
    def refresh_explorers(self, session, stage, index, k, patch):
        """Opening the tab, or a new input while it is open: every panel from one forward pass of the input."""
        panel, out = self.page.explore, {}
        try:
            out.update(self.channel_panel(session, stage, DEFAULT_INDEX if index is None else index))
        except Unavailable as exc:
            out.update(self.unavailable(panel.channel_outputs, exc))
        if not session:
            return out  # the neighbour and occlusion panels keep their prompts
        preprocessed, model_key = session_of(session)
        explanation = self.pipeline.explain(preprocessed, model_key)
        try:
            out.update(self.neighbours_panel(session, DEFAULT_K if k is None else k, explanation))
        except Unavailable as exc:
            out.update(self.unavailable(panel.neighbours_outputs, exc))
        out.update(self.occlusion_panel(session, patch, explanation))
        return out




__all__ = ["ExploreEvents"]
