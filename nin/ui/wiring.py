"""Which event of the page runs which handler: every listener of the page.

Call `wire` inside the app's gr.Blocks, after `nin.ui.page.build_page`. Every event that runs the network or
draws a panel shares the bounded "model" concurrency group of `workers`.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import gradio as gr

from nin.ui.prediction_events import PredictionEvents
from nin.ui.refusals import guarded
from nin.ui.assets import asset
from nin.ui.explorer_events import ExploreEvents
from nin.ui.lesson_events import LessonEvents, no_input_yet
from nin.ui.page import Page
from nin.ui.tabs import AblationPanel, ExplorePanel, GradcamPanel, MlpPanel, TranslationPanel


class Lesson(NamedTuple):
    """One lesson's events: its JSON endpoint (API only) and its page event, both on `panel.controls`."""

    panel: MlpPanel | AblationPanel | TranslationPanel | GradcamPanel
    api: Callable          # the public endpoint: the session and the controls -> the numbers (panel.json)
    event: Callable        # the private page event: the session and the controls -> panel.outputs
    triggers: list         # what fires the page event besides opening the tab


def wire(demo: gr.Blocks, page: Page, predictions: PredictionEvents, lessons: LessonEvents, explore: ExploreEvents,
         workers: int) -> None:
    """Connect the page's components to the handlers, in the order the page has always registered them."""
    model_events = dict(concurrency_id="model", concurrency_limit=workers, show_progress="hidden")
    wire_explore(page.state, page.explore, explore, model_events)

    for panel in page.confusions:
        panel.matrix.select(predictions.confusion_cell, [panel.name_state], [panel.examples], api_visibility="private",
                            api_name=panel.api_name, concurrency_id="model", concurrency_limit=workers)

    # The status line says when the page is connected to the server (browser tests wait for "Ready").
    demo.load(predictions.ready, None, [page.status], api_name="ready")
    # No per-output spinners: a request takes tens of milliseconds, and after a bad file the toast alone
    # explains it instead of an "Error" badge on every panel.
    settings, outputs = page.settings, page.outputs
    # /predict is the API's; the page's upload event is its twin that turns a refusal into a cleared result.
    gr.on([], predictions.predict, [page.upload, *settings], outputs, api_name="predict", **model_events)
    page.upload.change(predictions.upload_page, [page.upload, *settings], [*outputs, page.upload],
                       api_name="upload_page", api_visibility="private", **model_events)
    # One current input: opening the Upload tab makes its picture the input again (the canvas does the same
    # for its drawing when the Draw tab is opened), so no panel describes an input that is not on screen.
    page.upload_shown.click(predictions.upload_shown, [page.upload, *settings], [*outputs, page.upload],
                            api_name="upload_shown", api_visibility="private", **model_events)
    # The canvas answers live by itself; about 300 ms after the pen lifts it asks for the full explanation
    # (a private queued event), and /predict_sketch takes a drawing as an image file (nin/ui/canvas.py).
    page.drawing.wire(predictions, settings, outputs, page.upload, model_events)
    page.model.change(predictions.rerun, [page.state, *settings], outputs, api_name="change_model", **model_events)
    # The banner names the file that answers; no model work, so outside the model group.
    page.model.change(predictions.weights_notice, [page.model], [page.notice], api_name="weights_notice",
                      api_visibility="private", show_progress="hidden")
    page.cam_class.change(predictions.change_cam, [page.state, page.cam_class], [page.cam, page.cam_caption],
                          api_name="change_cam", **model_events)
    page.channels.change(predictions.change_channels, [page.state, page.channels], [page.features],
                         api_name="change_channels", **model_events)
    wire_lessons(page, lessons, model_events)


def wire_lessons(page: Page, handlers: LessonEvents, model_events: dict) -> None:
    """The lessons' events.

    Each lesson has a public endpoint that returns its numbers as JSON, for API callers only (no trigger on
    the page), and a private page event that returns the numbers and the panel drawn from them in one
    response. Opening a lesson's tab refreshes it through a private twin that stays quiet when there is no
    image yet (the page event says "draw or upload something first"). A new input refreshes only the lesson
    on screen, in one event: every event is a queue round trip, and the browser fires state.change on each
    prediction, so one listener per lesson would cost each stroke eight extra requests. Number boxes and
    sliders react to typing, Enter and arrow keys (`input`, always the latest value); the MLP's row and column
    boxes to Enter.
    """
    state, mlp, ablation, translation, gradcam = page.state, page.mlp, page.ablation, page.translation, page.gradcam
    private = dict(api_visibility="private", show_progress="hidden")
    # preprocess=False: refusals.install has checked every raw value (choices, whole numbers, ranges, text
    # length) and the handlers check what depends on the image; Gradio's preprocessing would only round
    # numbers and fail with a TypeError on a slider's None (its number box while "-3" is being typed).
    raw_inputs = dict(preprocess=False, **model_events)
    lesson_events = {**raw_inputs, **private}
    open_lesson = gr.State(None)  # id of the lesson tab on screen, so a new input refreshes only that one
    for tab in (mlp.tab, page.parameters_tab, ablation.tab, translation.tab, gradcam.tab):
        def remember(tab_id=tab.id):
            return tab_id

        remember.__name__ = f"open_{tab.id}".replace("-", "_")
        tab.select(guarded("opening a lesson")(remember), None, [open_lesson], **private)

    wired: dict[str, Lesson] = {}  # tab id -> its lesson

    def add(lesson: Lesson) -> None:
        """One lesson: its API-only endpoint, its page event on its triggers and on opening its tab."""
        panel = lesson.panel
        gr.on([], lesson.api, [state, *panel.controls], [panel.json], api_name=lesson.api.__name__, **raw_inputs)
        gr.on(lesson.triggers, lesson.event, [state, *panel.controls], panel.outputs, api_name=lesson.event.__name__,
              trigger_mode="always_last", **lesson_events)

        @guarded("refreshing a lesson", no_input_yet)
        def refresh(session, *values):
            return lesson.event(session, *values) if session else gr.skip()

        refresh.__name__ = f"refresh_{lesson.event.__name__}"
        panel.tab.select(refresh, [state, *panel.controls], panel.outputs, **lesson_events)
        wired[panel.tab.id] = lesson

    # The row and column boxes answer Enter (and Recompute), not every keystroke: typing "25" is not a
    # request for row 2 first, and a value out of range is said once.
    add(Lesson(mlp, handlers.mlp_at, handlers.mlp_lesson, [mlp.go.click, mlp.row.submit, mlp.col.submit]))
    mlp.stage.change(handlers.mlp_restage, [state, *mlp.controls, mlp.shown], [*mlp.outputs, mlp.row, mlp.col],
                     api_name="mlp_restage", **lesson_events)
    mlp.map.select(handlers.mlp_click, [state, mlp.stage], [*mlp.outputs, mlp.row, mlp.col], api_name="mlp_click",
                   **lesson_events)
    page.parameters_tab.select(handlers.parameters, None, [page.parameters_json], api_name="parameters",
                               show_progress="hidden")

    add(Lesson(ablation, handlers.ablate, handlers.ablation_lesson,
                [ablation.cells.submit, ablation.stage.input, ablation.channels.submit]))
    ablation.maps.select(handlers.ablation_click, [state, *ablation.controls], [*ablation.outputs, ablation.cells],
                         api_name="ablation_click", **lesson_events)
    ablation.reset.click(handlers.reset_ablation, [state], [*ablation.outputs, *ablation.controls],
                         api_name="reset_ablation", **lesson_events)

    add(Lesson(translation, handlers.translate, handlers.translation_lesson,
                [translation.dx.input, translation.dy.input]))
    add(Lesson(gradcam, handlers.gradcam, handlers.gradcam_lesson, [gradcam.cam_of.change]))

    lesson_controls = [control for lesson in wired.values() for control in lesson.panel.controls]
    lesson_outputs = list(dict.fromkeys(output for lesson in wired.values() for output in lesson.panel.outputs))

    @guarded("refreshing the open lesson", no_input_yet)
    def refresh_open_lesson(current, session, *values):
        """On a new input: the open lesson's numbers and panel in one response; nothing when none is open."""
        if current not in wired or not session:
            return gr.skip()
        panel = wired[current].panel
        value_of = dict(zip(lesson_controls, values))
        return wired[current].event(session, *(value_of[control] for control in panel.controls))

    state.change(refresh_open_lesson, [open_lesson, state, *lesson_controls], lesson_outputs, **lesson_events)


def wire_explore(state: gr.State, panel: ExplorePanel, handlers: ExploreEvents, model_events: dict) -> None:
    """The "Explore further" tab's events.

    Like the lessons: a public endpoint per explorer that returns its numbers as JSON (API only, no trigger on
    the page), and private page events that return the numbers and the panel in one response. A new input
    refreshes the tab only while it is on screen: a browser-only listener on the state clicks the hidden
    `follow` button, so a closed tab costs the server nothing.
    """
    # preprocess=False: nin.ui.refusals has checked the raw values (choices, whole numbers, ranges); the handlers
    # check what depends on the stage and the weights, and Gradio's preprocessing would only round numbers.
    raw = dict(preprocess=False, **model_events)
    private = dict(api_visibility="private", trigger_mode="always_last", **raw)
    gr.on([], handlers.channel, [state, panel.stage, panel.index], [panel.channel_json], api_name="channel", **raw)
    gr.on([], handlers.neighbours, [state, panel.k], [panel.neighbours_json], api_name="neighbours", **raw)
    gr.on([], handlers.occlusion, [state, panel.patch], [panel.occlusion_json], api_name="occlusion", **raw)

    gr.on([panel.index.submit, panel.index.input], handlers.channel_page, [state, panel.stage, panel.index],
          panel.channel_outputs, api_name="channel_page", **private)
    panel.stage.input(handlers.channel_restage, [state, panel.stage, panel.index],
                      [panel.index, *panel.channel_outputs], api_name="channel_restage", **private)
    panel.k.input(handlers.neighbours_page, [state, panel.k], panel.neighbours_outputs, api_name="neighbours_page",
                  **private)
    panel.patch.input(handlers.occlusion_page, [state, panel.patch], panel.occlusion_outputs,
                      api_name="occlusion_page", **private)
    gr.on([panel.tab.select, panel.follow.click], handlers.refresh_explorers, [state, *panel.controls], panel.outputs,
          api_name="explore_refresh", **private)
    state.change(None, None, None, js=asset("follow.js"), api_name="explore_follow_input", api_visibility="private",
                 queue=False)
