"""The lessons' handlers and the parsers of what they are sent: one lesson per claim of the d2l chapter.

Each lesson has a public endpoint that returns its numbers as JSON (for API callers) and a private page
event that returns the numbers and the panel drawn from them in one response. A panel is only ever drawn
in the handler that computed its numbers, from the session's own input: no event takes numbers from the
client, so a forged payload can make the server draw nothing it did not compute. The numbers come from
nin.serve.lessons (imported here as `lessons`), the pictures from nin.render.lesson_panels. The parsers are
plain functions and `LessonEvents` needs no server: both can be called directly, as the tests do.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import gradio as gr

from nin.render import lesson_panels
from nin.model import CLASS_NAMES
from nin.serve import lessons
from nin.serve.checks import is_number, quote, whole
from nin.serve.decode import InputError
from nin.serve.pipeline import Pipeline, class_choice
from nin.serve.preprocess import EmptyInput
from nin.ui.prediction_events import clicked, session_of
from nin.ui.refusals import MAX_TEXT, guarded
from nin.ui.page import Page
from nin.ui.tabs import DX_LABEL, DY_LABEL, MLP_MAP_SIDE, NO_STAGE, STAGE_SIDES

CELL_SIDE = STAGE_SIDES["block4"]
MAX_CELLS = len(CLASS_NAMES) * CELL_SIDE * CELL_SIDE  # every cell of the ten class maps once


# ----------------------------------------------------------------------------- what the lessons are sent

def stage_side(stage) -> int:
    """The side of a block's output grid at 224 px; any other stage is refused."""
    if not isinstance(stage, str) or stage not in STAGE_SIDES:
        raise InputError(f"stage must be one of {', '.join(STAGE_SIDES)}; got {quote(stage)}.")
    return STAGE_SIDES[stage]


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


def toggled(cells: str | None, cls: int, row: int, col: int) -> str:
    cell = f"{CLASS_NAMES[cls]}@{row},{col}"
    current = [c.strip() for c in (cells or "").split(";") if c.strip()]
    return "; ".join([c for c in current if c != cell] if cell in current else [*current, cell])


def moved_pixel(value, old_side: int, side: int) -> int:
    """A grid coordinate carried to another block's grid: the same place of the image (block2's row 15 of 26
    is block4's row 2 of 5); the centre when the old value is not a coordinate of the old grid."""
    if not is_number(value, 0, old_side - 1, whole=True):
        return side // 2
    return min(side - 1, int((value + 0.5) * side / old_side))


def no_input_yet(exc: EmptyInput):
    """A lesson refreshed without an image in the session: leave the panel as it is (the prompt stays)."""
    return gr.skip()


# ----------------------------------------------------------------------------- drawn once per model

@functools.lru_cache(maxsize=16)
def weight_pictures(pipeline: Pipeline, model_key: str, stage: str) -> tuple:
    """A block's W1 and W2 heatmaps: the same for every pixel and every session, so drawn once per model."""
    w1, w2 = pipeline.block_weights(model_key, stage)
    return (lesson_panels.weight_heatmap(w1, f"W1 of {stage} (first 1×1 conv)"),
            lesson_panels.weight_heatmap(w2, f"W2 of {stage} (second 1×1 conv)"))


# ----------------------------------------------------------------------------- the handlers

@dataclass
class LessonEvents:
    """The lessons' handlers for one laid-out page; `parameter_numbers` is lessons.parameter_report().to_json()."""

    pipeline: Pipeline
    page: Page
    parameter_numbers: dict

    # ------------------------------------------------------------------------- 1: a 1x1 conv is a per-pixel MLP

    def mlp_numbers(self, state: dict | None, stage: str, row, col) -> lessons.PixelMLP:
        preprocessed, model_key = session_of(state)
        side = stage_side(stage)
        row = whole(f"row of {stage}'s {side}×{side} output grid", row, 0, side - 1)
        col = whole(f"column of {stage}'s {side}×{side} output grid", col, 0, side - 1)
        return self.pipeline.lesson(lessons.mlp_at, preprocessed, model_key, stage, row, col)

    @guarded("recomputing the per-pixel MLP")
    def mlp_at(self, state: dict | None, stage: str, row: float, col: float) -> dict:
        """That pixel's channel vector through the block's two 1x1 convs, recomputed as matrix-vector products."""
        return self.mlp_numbers(state, stage, row, col).to_json()

    def mlp_outputs(self, result: lessons.PixelMLP, model_key: str, moved: bool) -> dict:
        """The MLP panel from numbers this handler computed. `moved`: the server chose the pixel (a click, a new
        block), so the row and column boxes follow; a typed pixel is left alone while the user types."""
        mlp = self.page.mlp
        w1, w2 = weight_pictures(self.pipeline, self.pipeline.model(model_key).key, result.stage)
        diff = result.max_abs_diff
        drawn = {
            mlp.json: result.to_json(),
            mlp.map: lesson_panels.pixel_picker_image(result.output_mean, (result.row, result.col), MLP_MAP_SIDE),
            mlp.vectors: lesson_panels.mlp_vectors_image(result.input, result.hidden, result.output),
            mlp.w1: w1,
            mlp.w2: w2,
            mlp.result: (f"**{result.stage}, row {result.row}, column {result.col}**: {len(result.input)} channels "
                         f"in, `relu(W2 @ relu(W1 @ x + b1) + b2)` recomputed with numpy in float64. "
                         f"Largest difference from the network's own activations: **{diff:.2e}** "
                         f"({'the same up to float rounding' if diff <= 1e-4 else 'larger than float rounding!'}). "
                         "The same small MLP runs at every pixel: that is the network in the network."),
            mlp.shown: result.stage,
        }
        return {**drawn, mlp.row: result.row, mlp.col: result.col} if moved else drawn

    @guarded("recomputing the per-pixel MLP")
    def mlp_lesson(self, state: dict | None, stage: str, row: float | None, col: float | None):
        """The page's MLP event (Recompute, typed row or column): numbers and panel for this session's image."""
        if row is None or col is None:  # a number box being retyped: nothing to show yet
            return gr.skip()
        return self.mlp_outputs(self.mlp_numbers(state, stage, row, col), session_of(state)[1], moved=False)

    @guarded("recomputing the per-pixel MLP")
    def mlp_restage(self, state: dict | None, stage: str, row, col, shown: str | None):
        """Another block was chosen: the picked pixel moves to the same place of its grid and the panel follows,
        so the result under the radio is always the radio's block. Without an image only the boxes move."""
        side = stage_side(stage)
        old_side = STAGE_SIDES.get(shown, STAGE_SIDES["block2"])
        row, col = moved_pixel(row, old_side, side), moved_pixel(col, old_side, side)
        if not state:
            return {self.page.mlp.row: row, self.page.mlp.col: col, self.page.mlp.shown: stage}
        return self.mlp_outputs(self.mlp_numbers(state, stage, row, col), session_of(state)[1], moved=True)

    @guarded("recomputing the per-pixel MLP", no_input_yet)
    def mlp_click(self, state: dict | None, stage: str, evt: gr.EventData):
        """A click on the block's picture -> that cell of the block's grid, recomputed and drawn in one event."""
        side = stage_side(stage)
        x, y = clicked(evt, ("x of the click", "y of the click"), (0, 0), (MLP_MAP_SIDE - 1, MLP_MAP_SIDE - 1),
                       whole_numbers=False)
        row, col = min(side - 1, int(y * side / MLP_MAP_SIDE)), min(side - 1, int(x * side / MLP_MAP_SIDE))
        return self.mlp_outputs(self.mlp_numbers(state, stage, row, col), session_of(state)[1], moved=True)

    # ------------------------------------------------------------------------- 2: where the parameters live

    @guarded("counting the parameters")
    def parameters(self) -> dict:
        """Per-layer parameter counts of NiN, d2l's AlexNet and VGG-11, and NiN with an FC head instead of GAP."""
        return self.parameter_numbers

    # ------------------------------------------------------------------------- 3: GAP is an average

    def ablation_numbers(self, state: dict | None, cells: str | None, stage: str | None, channels: str | None):
        preprocessed, model_key = session_of(state)
        zero_stage = None if stage in (None, "", NO_STAGE) else stage
        if zero_stage is not None and zero_stage not in lessons.ABLATABLE_STAGES:
            raise InputError(f"stage must be one of {NO_STAGE}, {', '.join(lessons.ABLATABLE_STAGES)}; "
                             f"got {quote(stage)}.")
        chosen = None
        if zero_stage:
            count = lessons.channel_count(self.pipeline.model(model_key).model, zero_stage)
            chosen = parse_channels(channels, count, zero_stage)
        return self.pipeline.lesson(lessons.ablate, preprocessed, model_key, cells=parse_cells(cells) or None,
                                    stage=zero_stage, channels=chosen)

    @guarded("zeroing parts of the network")
    def ablate(self, state: dict | None, cells: str, stage: str, channels: str) -> dict:
        """Zero block4 class-map cells and/or whole channels of an earlier stage; logits before and after."""
        return self.ablation_numbers(state, cells, stage, channels).to_json()

    def ablation_outputs(self, result: lessons.Ablation) -> dict:
        """The ablation panel from numbers this handler computed."""
        ablation, numbers = self.page.ablation, result.to_json()
        shown = sorted({result.predicted_before, result.predicted_after, *(c[0] for c in result.cells)})
        return {
            ablation.json: numbers,
            ablation.maps: lesson_panels.class_maps_click_html(result.class_maps_before, result.class_maps_after,
                                                               shown, CLASS_NAMES, clicked=result.cells),
            ablation.logits: lesson_panels.logits_table_html(result.logits_before, result.logits_after, CLASS_NAMES,
                                                             result.probs_before, result.probs_after),
            ablation.result: lesson_panels.ablation_summary_md(numbers, CLASS_NAMES),
        }

    @guarded("zeroing parts of the network")
    def ablation_lesson(self, state: dict | None, cells: str, stage: str, channels: str):
        """The page's ablation event (Enter in a box, another stage): numbers and panel in one response."""
        return self.ablation_outputs(self.ablation_numbers(state, cells, stage, channels))

    @guarded("zeroing parts of the network", no_input_yet)
    def reset_ablation(self, state: dict | None):
        """Nothing zeroed: the boxes cleared and, with an image, the untouched maps."""
        ablation = self.page.ablation
        cleared = {ablation.cells: "", ablation.stage: NO_STAGE, ablation.channels: ""}
        if not state:
            return cleared
        return {**cleared, **self.ablation_outputs(self.ablation_numbers(state, "", NO_STAGE, ""))}

    @guarded("zeroing parts of the network", no_input_yet)
    def ablation_click(self, state: dict | None, cells: str, stage: str, channels: str, evt: gr.EventData):
        """A click on a class-map cell zeroes it (or restores it) and redraws, in one event."""
        cls, row, col = (int(v) for v in clicked(evt, ("class", "row", "column"), (0, 0, 0),
                                                 (len(CLASS_NAMES) - 1, CELL_SIDE - 1, CELL_SIDE - 1)))
        cells = toggled(cells, cls, row, col)
        return {self.page.ablation.cells: cells,
                **self.ablation_outputs(self.ablation_numbers(state, cells, stage, channels))}

    # ------------------------------------------------------------------------- 4: translation

    def translation_numbers(self, state: dict | None, dx, dy) -> lessons.Translation:
        preprocessed, model_key = session_of(state)
        dx = whole(DX_LABEL, dx, -lessons.MAX_SHIFT, lessons.MAX_SHIFT)
        dy = whole(DY_LABEL, dy, -lessons.MAX_SHIFT, lessons.MAX_SHIFT)
        return self.pipeline.lesson(lessons.translate, preprocessed, model_key, dx, dy)

    @guarded("shifting the input")
    def translate(self, state: dict | None, dx: float, dy: float) -> dict:
        """Shift the 28x28 input: the class maps move with it, the pooled logits change less."""
        return self.translation_numbers(state, dx, dy).to_json()

    @guarded("shifting the input")
    def translation_lesson(self, state: dict | None, dx: float | None, dy: float | None):
        """The page's translation event (slider moved, typed, arrow keys): numbers and panel in one response."""
        if dx is None or dy is None:  # a number box being retyped ("-" before "-3")
            return gr.skip()
        translation, result = self.page.translation, self.translation_numbers(state, dx, dy)
        numbers = result.to_json()
        return {
            translation.json: numbers,
            translation.inputs: lesson_panels.shifted_inputs_image(session_of(state)[0].image, result.shifted28),
            translation.maps: lesson_panels.class_maps_change_html(
                result.class_maps_before, result.class_maps_after, [result.tracked_class], CLASS_NAMES,
                titles=("unshifted", f"shifted by ({result.dx}, {result.dy}) px")),
            translation.logits: lesson_panels.logits_table_html(result.logits_before, result.logits_after,
                                                                CLASS_NAMES),
            translation.result: lesson_panels.translation_summary_md(numbers, CLASS_NAMES),
        }

    # ------------------------------------------------------------------------- 5: CAM for free

    def gradcam_numbers(self, state: dict | None, cam_of: str | None) -> lessons.GradCAM:
        preprocessed, model_key = session_of(state)
        index = class_choice(cam_of)
        if index is None:
            index = self.pipeline.explain(preprocessed, model_key).predicted
        return self.pipeline.lesson(lessons.gradcam, preprocessed, model_key, index)

    @guarded("computing Grad-CAM")
    def gradcam(self, state: dict | None, cam_of: str) -> dict:
        """Grad-CAM on block4 by autograd, against the class map it equals up to a positive constant."""
        return self.gradcam_numbers(state, cam_of).to_json()

    @guarded("computing Grad-CAM")
    def gradcam_lesson(self, state: dict | None, cam_of: str):
        """The page's Grad-CAM event: numbers and panel in one response."""
        result = self.gradcam_numbers(state, cam_of)
        return {self.page.gradcam.json: result.to_json(),
                self.page.gradcam.view: lesson_panels.gradcam_html(
                    result.gradcam, result.class_map, result.scale, result.expected_scale,
                    result.max_abs_diff_after_scaling, CLASS_NAMES[result.class_index])}
