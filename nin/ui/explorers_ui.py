"""The "Explore further" tab: what each channel looks for, what the network thinks is similar, occlusion next to CAM.

`build_tab(...)` declares the tab inside the page's lesson tabs (nin/ui/page.py) and wires its events; the page
passes what the tab needs from it (the session state, the Pipeline, the model workers), and its handlers go
through the page's error path (nin.ui.events.guarded). Like the lessons, each explorer has a public JSON
endpoint (`/channel`, `/neighbours`, `/occlusion`, for API callers; no trigger on the page) and private page
events that return the numbers and the panel drawn from them in one response, all in the shared "model"
concurrency group. A new input refreshes the tab only while it is on screen: a browser-only listener on the
state clicks a hidden button, so a closed tab costs the server nothing. `Explorers` is the glue from a session
to nin.serve.channels / nin.serve.neighbours / nin.serve.occlusion; `start_here_html` is the page's guided
path, for the page to place under the examples.

The precomputed data (nin.serve.explorer_bank) is loaded at start-up for every weight file and checked against
its sha256; when it is missing or stale the channel and neighbour explorers say so, with the command that
remakes it, and the rest of the app is unaffected.
"""

from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass

import gradio as gr
import numpy as np

from nin.draw import explorers_render as draw
from nin.serve.channels import ChannelTop, block1_kernel, channel_counts, receptive_fields
from nin.serve.explorer_bank import BankUnavailable, ExplorerBank, command_for, load_bank
from nin.ui.events import guarded, session_of
from nin.ui.limits import check_number, quote
from nin.model import CLASS_NAMES, FEATURE_STAGES
from nin.serve.neighbours import DEFAULT_K, K_MAX, Neighbours, feature_vector, nearest
from nin.serve.occlusion import PATCH_SIZES, Occlusion, occlusion
from nin.serve.pipeline import WEIGHTS_DIR, Pipeline
from nin.serve.decode import InputError

start_here_html = draw.start_here_html
log = logging.getLogger("nin-explorer")
DEFAULT_STAGE, DEFAULT_INDEX, DEFAULT_PATCH = "block3", 0, 8
MAX_CHANNELS = 384  # the widest stage (block3, pool3): the channel box's range; each stage is checked on its own
NOTE = "Works on your current image: draw or upload one above, then come back here."
EMPTY = '<div class="nin-empty">{}</div>'


class Unavailable(InputError):
    """An explorer has no precomputed data for the session's weights; the message says which command fixes it."""


# ----------------------------------------------------------------------------- the glue: session -> numbers

@dataclass
class Explorers:
    """The explorers' numbers for a session's input, with the precomputed data of every loaded weight file."""

    pipeline: Pipeline
    banks: dict[str, ExplorerBank | str]   # model key -> its bank, or why it is unavailable
    load_ms: float = 0.0

    @classmethod
    def load(cls, pipeline: Pipeline, weights_dir=WEIGHTS_DIR) -> "Explorers":
        started = time.perf_counter()
        banks: dict[str, ExplorerBank | str] = {}
        for key, loaded in pipeline.models.items():
            path = weights_dir / key
            if not path.is_file():
                banks[key] = f"These weights ({loaded.title}) have no file, so nothing was precomputed for them."
                continue
            try:
                banks[key] = load_bank(path, receptive_fields(loaded.model, loaded.preprocessing.input_size))
            except BankUnavailable as exc:
                banks[key] = str(exc)
                log.warning("explorers unavailable for %s: %s", key, exc)
        return cls(pipeline, banks, (time.perf_counter() - started) * 1e3)

    def bank(self, model_key: str | None, what: str) -> ExplorerBank:
        loaded = self.pipeline.model(model_key)
        bank = self.banks.get(loaded.key)
        if not isinstance(bank, ExplorerBank):
            raise Unavailable(f"The {what} is unavailable for these weights. {bank or 'No data was loaded.'}")
        return bank

    def channel_count(self, model_key: str | None, stage) -> int:
        """Channels of a feature stage with these weights; any other stage is refused."""
        if not isinstance(stage, str) or stage not in FEATURE_STAGES:
            raise InputError(f"stage must be one of {', '.join(FEATURE_STAGES)}; got {quote(stage)}.")
        return channel_counts(self.pipeline.model(model_key).model)[stage]

    def check_channel(self, model_key: str | None, stage, index) -> tuple[str, int]:
        count = self.channel_count(model_key, stage)
        check_number(f"index of a {stage} channel", index, 0, count - 1, whole=True)
        return stage, int(index)

    def channel(self, model_key: str | None, stage, index) -> ChannelTop:
        stage, index = self.check_channel(model_key, stage, index)
        return self.bank(model_key, "channel explorer").channel(stage, index)

    def neighbours(self, preprocessed, model_key: str | None, k, explanation=None) -> Neighbours:
        check_number("k", k, 1, K_MAX, whole=True)
        bank = self.bank(model_key, "neighbour search")
        explanation = explanation or self.pipeline.explain(preprocessed, model_key)
        test = bank.test
        return nearest(bank.features, test.pixels, test.pixel_norms2, test.images, test.labels,
                       feature_vector(explanation.stages["pool3"]), preprocessed.image, int(k), explanation.predicted)

    def occlusion(self, preprocessed, model_key: str | None, patch, explanation=None) -> Occlusion:
        if isinstance(patch, bool) or not isinstance(patch, (int, float)) or patch not in PATCH_SIZES:
            raise InputError(f"patch must be one of {', '.join(map(str, PATCH_SIZES))} (px of the 28×28 input); "
                             f"got {quote(patch)}.")
        loaded = self.pipeline.model(model_key)
        return occlusion(loaded.model, preprocessed.image, loaded.preprocessing, int(patch), explanation)


# ----------------------------------------------------------------------------- the tab

def build_tab(state: gr.State, pipeline: Pipeline, workers: int) -> gr.Tab:
    """Declare the "Explore further" tab (call it inside the page's lesson `gr.Tabs`) and wire its events.

    state: the session's gr.State ({"preprocessed", "model"} or None); workers: the size of the shared
    "model" concurrency group.
    """
    explorers = Explorers.load(pipeline)
    log.info("explorers: precomputed data of %d weight file(s) checked and loaded in %.0f ms",
             sum(isinstance(b, ExplorerBank) for b in explorers.banks.values()), explorers.load_ms)

    with gr.Tab("Explore further", id="explore", elem_id="tab-explore") as tab:
        gr.Markdown("### Beyond the lessons: what each channel looks for, what the network finds similar, and a "
                    "second opinion on CAM\nThe channel lists and the neighbours come from the 10,000 official "
                    "test images, run through these weights once ahead of time (`python -m "
                    f"nin.dev.precompute_explorers`), so the page needs no dataset. {NOTE}")
        gr.Markdown("#### What each channel looks for")
        with gr.Row():
            stage = gr.Dropdown(list(FEATURE_STAGES), value=DEFAULT_STAGE, label="Stage", elem_id="explore-stage",
                                scale=1)
            index = gr.Number(value=DEFAULT_INDEX, precision=0, minimum=0, maximum=MAX_CHANNELS - 1,
                              label="Channel index", elem_id="explore-index", scale=1)
        channel_result = gr.Markdown(elem_id="explore-channel-result")
        channel_view = gr.HTML(EMPTY.format("The channel appears here."), elem_id="explore-channel",
                               js_on_load=draw.HOVER_JS, css_template=draw.EXPLORE_CSS)
        with gr.Accordion("Numbers (JSON, as /channel returns them)", open=False):
            channel_json = gr.JSON(elem_id="explore-channel-json")

        gr.Markdown("#### What the network thinks is similar")
        k = gr.Slider(1, K_MAX, value=DEFAULT_K, step=1, label="k (neighbours in each space)", elem_id="explore-k")
        neighbours_result = gr.Markdown(elem_id="explore-neighbours-result")
        neighbours_view = gr.HTML(EMPTY.format("The nearest official test images appear here."),
                                  elem_id="explore-neighbours", js_on_load=None, css_template=draw.EXPLORE_CSS)
        with gr.Accordion("Numbers (JSON, as /neighbours returns them)", open=False):
            neighbours_json = gr.JSON(elem_id="explore-neighbours-json")

        gr.Markdown("#### A second opinion on CAM: occlusion")
        patch = gr.Radio(list(PATCH_SIZES), value=DEFAULT_PATCH, label="Patch size (px of the 28×28 input)",
                         elem_id="explore-patch")
        occlusion_result = gr.Markdown(elem_id="explore-occlusion-result")
        occlusion_view = gr.HTML(EMPTY.format("The occlusion map appears here, beside the CAM."),
                                 elem_id="explore-occlusion", js_on_load=None, css_template=draw.EXPLORE_CSS)
        with gr.Accordion("Numbers (JSON, as /occlusion returns them)", open=False):
            occlusion_json = gr.JSON(elem_id="explore-occlusion-json")
        follow = gr.Button("Refresh", visible="hidden", elem_id="explore-refresh")

    channel_outputs = [channel_json, channel_result, channel_view]
    neighbours_outputs = [neighbours_json, neighbours_result, neighbours_view]
    occlusion_outputs = [occlusion_json, occlusion_result, occlusion_view]

    # ------------------------------------------------------------------ numbers and panels

    def session_or_none(session):
        try:
            return session_of(session)
        except InputError:
            return None, None

    def channel_panel(session, stage_value, index_value) -> dict:
        preprocessed, model_key = session_or_none(session)
        top = explorers.channel(model_key, stage_value, index_value)
        parts, own = [], None
        if preprocessed is not None:
            explanation = pipeline.explain(preprocessed, model_key)
            values = explanation.stages[top.stage][top.index]
            row, col = np.unravel_index(int(np.argmax(values)), values.shape)
            own = (float(values[row, col]), int(row), int(col))
            label = f" ({CLASS_NAMES[top.index]})" if top.stage == "block4" else ""
            parts.append(draw.channel_map_figure(values, f"Your image: {top.stage} #{top.index}{label}, "
                                                         f"{values.shape[0]}×{values.shape[1]}"))
        if top.stage == "block1":
            parts.append(draw.kernel_figure(block1_kernel(pipeline.model(model_key).model, top.index), top.index))
        bank = explorers.bank(model_key, "channel explorer")
        parts.append(draw.top_images_html(top, bank.test.images))
        if preprocessed is None:
            parts.insert(0, EMPTY.format("Draw or upload something to see this channel's map for your image."))
        return {channel_json: top.to_json(), channel_result: draw.channel_summary_md(top, own),
                channel_view: f'<div class="nin-x-row">{"".join(parts)}</div>'}

    def neighbours_panel(session, k_value, explanation=None) -> dict:
        preprocessed, model_key = session_of(session)
        result = explorers.neighbours(preprocessed, model_key, k_value, explanation)
        bank = explorers.bank(model_key, "neighbour search")
        numbers = result.to_json()
        return {neighbours_json: numbers, neighbours_result: numbers["summary"],
                neighbours_view: draw.neighbours_html(result, bank.test.images)}

    def occlusion_panel(session, patch_value, explanation=None) -> dict:
        preprocessed, model_key = session_of(session)
        result = explorers.occlusion(preprocessed, model_key, patch_value, explanation)
        return {occlusion_json: result.to_json(), occlusion_result: draw.occlusion_summary_md(result),
                occlusion_view: draw.occlusion_html(result)}

    def unavailable(outputs: list, exc: Exception) -> dict:
        """A panel that cannot be drawn says why in place (stale data, no image yet) rather than in a toast."""
        return {outputs[0]: None, outputs[1]: "", outputs[2]: EMPTY.format(html.escape(str(exc)))}

    # ------------------------------------------------------------------ public endpoints (JSON, API only)

    @guarded("opening the channel")
    def channel(session: dict | None, stage_value: str, index_value: float) -> dict:
        """A channel's 9 most exciting official test images (from the precomputed data of the session's weights)."""
        return explorers.channel(session_or_none(session)[1], stage_value, index_value).to_json()

    @guarded("finding the nearest images")
    def neighbours(session: dict | None, k_value: float) -> dict:
        """The k nearest official test images to this session's input, in feature space and in pixel space."""
        preprocessed, model_key = session_of(session)
        return explorers.neighbours(preprocessed, model_key, k_value).to_json()

    @guarded("occluding the input")
    def occlusion_endpoint(session: dict | None, patch_value: int) -> dict:
        """Occlusion grid of this session's input for one patch size, and its rank correlation with CAM."""
        preprocessed, model_key = session_of(session)
        return explorers.occlusion(preprocessed, model_key, patch_value).to_json()

    occlusion_endpoint.__name__ = "occlusion"

    # ------------------------------------------------------------------ page events

    @guarded("opening the channel")
    def channel_page(session, stage_value, index_value):
        if index_value is None:  # the number box is being retyped
            return gr.skip()
        try:
            return channel_panel(session, stage_value, index_value)
        except Unavailable as exc:
            return unavailable(channel_outputs, exc)

    @guarded("opening the channel")
    def channel_restage(session, stage_value, index_value):
        """Another stage: the channel index stays if that stage has it, else goes to 0."""
        count = explorers.channel_count(session_or_none(session)[1], stage_value)
        fits = isinstance(index_value, (int, float)) and not isinstance(index_value, bool) \
            and 0 <= index_value < count and float(index_value).is_integer()
        value = int(index_value) if fits else 0
        try:
            return {index: value, **channel_panel(session, stage_value, value)}
        except Unavailable as exc:
            return {index: value, **unavailable(channel_outputs, exc)}

    def prompt(outputs: list):
        return lambda exc: unavailable(outputs, exc)

    @guarded("finding the nearest images", prompt(neighbours_outputs))
    def neighbours_page(session, k_value):
        if k_value is None:
            return gr.skip()
        try:
            return neighbours_panel(session, k_value)
        except Unavailable as exc:
            return unavailable(neighbours_outputs, exc)

    @guarded("occluding the input", prompt(occlusion_outputs))
    def occlusion_page(session, patch_value):
        return occlusion_panel(session, patch_value)

    @guarded("refreshing the explorers")
    def refresh_explorers(session, stage_value, index_value, k_value, patch_value):
        """Opening the tab, or a new input while it is open: every panel from one forward pass of the input."""
        out = {}
        try:
            out.update(channel_panel(session, stage_value, DEFAULT_INDEX if index_value is None else index_value))
        except Unavailable as exc:
            out.update(unavailable(channel_outputs, exc))
        if not session:
            return out  # the neighbour and occlusion panels keep their prompts
        preprocessed, model_key = session_of(session)
        explanation = pipeline.explain(preprocessed, model_key)
        try:
            out.update(neighbours_panel(session, DEFAULT_K if k_value is None else k_value, explanation))
        except Unavailable as exc:
            out.update(unavailable(neighbours_outputs, exc))
        out.update(occlusion_panel(session, patch_value, explanation))
        return out

    model_events = dict(concurrency_id="model", concurrency_limit=workers, show_progress="hidden")
    # preprocess=False: nin.ui.limits has checked the raw values (choices, whole numbers, ranges); the handlers
    # check what depends on the stage and the weights, and Gradio's preprocessing would only round numbers.
    raw = dict(preprocess=False, **model_events)
    private = dict(api_visibility="private", **raw)
    gr.on([], channel, [state, stage, index], [channel_json], api_name="channel", **raw)
    gr.on([], neighbours, [state, k], [neighbours_json], api_name="neighbours", **raw)
    gr.on([], occlusion_endpoint, [state, patch], [occlusion_json], api_name="occlusion", **raw)

    gr.on([index.submit, index.input], channel_page, [state, stage, index], channel_outputs,
          api_name="channel_page", trigger_mode="always_last", **private)
    stage.input(channel_restage, [state, stage, index], [index, *channel_outputs], api_name="channel_restage",
                trigger_mode="always_last", **private)
    k.input(neighbours_page, [state, k], neighbours_outputs, api_name="neighbours_page", trigger_mode="always_last",
            **private)
    patch.input(occlusion_page, [state, patch], occlusion_outputs, api_name="occlusion_page",
                trigger_mode="always_last", **private)
    everything = [*channel_outputs, *neighbours_outputs, *occlusion_outputs]
    gr.on([tab.select, follow.click], refresh_explorers, [state, stage, index, k, patch], everything,
          api_name="explore_refresh", trigger_mode="always_last", **private)
    # A new input: the browser asks for a refresh only while this tab is on screen (no request otherwise).
    state.change(None, None, None, js=FOLLOW_JS, api_name="explore_follow_input", api_visibility="private",
                 queue=False)
    return tab


FOLLOW_JS = """() => {
  const panel = document.querySelector('#tab-explore');
  if (panel && panel.offsetParent !== null) document.querySelector('#explore-refresh')?.click();
}"""


__all__ = ["build_tab", "start_here_html", "Explorers", "Unavailable", "command_for", "FOLLOW_JS"]
