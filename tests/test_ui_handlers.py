"""The page's handlers without a server: the one error path, the lessons' handlers, the one class check.

Only an InputError (or a refusal already raised as gr.Error) reaches the user as itself; anything else,
a ValueError from numpy or torch included, is a bug: logged with its traceback, answered with an apology.
"""

import logging
import time
import tracemalloc

import gradio as gr
import pytest

from nin.model import CLASS_NAMES
from nin.serve.pipeline import EXAMPLES_DIR, Pipeline, class_choice
from nin.serve.decode import InputError, load_image
from nin.serve.preprocess import EmptyInput, preprocess_photo
from nin.ui.refusals import guarded
from nin.ui.lesson_events import LessonEvents, parse_cells, parse_channels
from nin.ui.tabs import STAGE_SIDES


@pytest.fixture
def logged():
    """The records of the app's logger (it may not propagate to the root logger that caplog watches)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    log = logging.getLogger("nin-explorer")
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield records
    log.removeHandler(handler)
    log.setLevel(level)


def answer_to(exc: Exception) -> str:
    """What the user is told when a guarded handler raises `exc`."""
    @guarded("testing the error path")
    def handler():
        raise exc

    with pytest.raises(gr.Error) as info:
        handler()
    return info.value.message


def test_a_value_error_inside_a_handler_is_logged_and_answered_with_the_apology(logged):
    message = answer_to(ValueError("operands could not be broadcast together with shapes (3,) (4,)"))
    assert message.startswith("Something went wrong while testing the error path") and "broadcast" not in message
    (record,) = logged
    assert record.levelno == logging.ERROR and record.exc_info[0] is ValueError


def test_an_input_error_is_the_users_message_logged_in_one_line_without_a_traceback(logged):
    assert answer_to(InputError("cells are written class@row,col")) == "cells are written class@row,col"
    (record,) = logged
    assert record.levelno == logging.INFO and record.exc_info is None


def test_empty_input_goes_to_on_empty_and_a_refusal_passes_unchanged(logged):
    @guarded("testing the error path", lambda exc: f"prompt: {exc}")
    def empty():
        raise EmptyInput("draw something")

    refusal = gr.Error("already a refusal", print_exception=False)

    @guarded("testing the error path")
    def refused():
        raise refusal

    assert empty() == "prompt: draw something"
    with pytest.raises(gr.Error) as info:
        refused()
    assert info.value is refusal and not logged


def test_a_class_choice_is_checked_in_one_place():
    assert class_choice(None) is None and class_choice("") is None and class_choice("Predicted class") is None
    assert class_choice("Coat") == CLASS_NAMES.index("Coat") and class_choice(3) == 3 and class_choice("9") == 9
    for wrong in ("Spaceship", 10, -1, True, "1" * 5000, 2.0):
        with pytest.raises(InputError, match="class must be"):
            class_choice(wrong)


def test_stage_sides_are_the_block_outputs_measured_at_224_px():
    assert STAGE_SIDES == {"block1": 54, "block2": 26, "block3": 12, "block4": 5}


@pytest.fixture(scope="module")
def lesson_handlers():
    """The lessons' handlers on the shipped weights; the JSON endpoints draw nothing, so they need no page."""
    return LessonEvents(Pipeline(), page=None, parameter_numbers={})


def test_lesson_endpoints_run_without_a_server(lesson_handlers):
    state = {"preprocessed": preprocess_photo(load_image(str(EXAMPLES_DIR / "test00000_ankle-boot.png"))),
             "model": lesson_handlers.pipeline.default_key}
    assert lesson_handlers.mlp_at(state, "block4", 2, 2)["max_abs_diff"] < 1e-4
    assert lesson_handlers.gradcam(state, "Coat")["class_index"] == CLASS_NAMES.index("Coat")
    with pytest.raises(gr.Error, match="class must be"):
        lesson_handlers.gradcam(state, "Spaceship")
    with pytest.raises(gr.Error, match="stage must be one of block1, block2, block3, block4"):
        lesson_handlers.mlp_at(state, "pool1", 0, 0)
    with pytest.raises(gr.Error, match="Draw or upload something first"):
        lesson_handlers.translate(None, 1, 0)


# ----------------------------------------------------------------------------- the parsers: hostile text

def refusal_of(parse, text: str) -> tuple[str, float]:
    """(the InputError's message, seconds taken) for a text that must be refused."""
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        parse(text)
    return str(info.value), time.perf_counter() - start


def seconds_to_read(parse, text: str) -> float:
    """How long `parse` takes to read or refuse `text`."""
    start = time.perf_counter()
    try:
        parse(text)
    except InputError:
        pass
    return time.perf_counter() - start


def test_4_kb_of_spaces_around_one_letter_in_the_cells_is_refused_in_milliseconds():
    """The old CELL regex backtracked for 28 s on this, holding the GIL: the whole server froze."""
    message, seconds = refusal_of(parse_cells, " " * 2000 + "x" + " " * 2000)
    assert "at most 2,000" in message and seconds < 0.05
    message, seconds = refusal_of(parse_cells, " " * 999 + "x" + " " * 999)  # within the length: read, linearly
    assert "could not read" in message and seconds < 0.05


def test_parsing_cells_and_channels_takes_linear_time_on_hostile_text():
    for text in [" " * 999 + "x" + " " * 1000, "Coat@" + "1" * 1995, ";" * 2000, "@," * 1000, "Coat@1," + " " * 1993,
                 "Coat@1,1;" * 222]:
        assert seconds_to_read(parse_cells, text) < 0.05, repr(text[:20])
    for text in ["0-" + "9" * 1998, "-" * 2000, ",".join(["1"] * 1000), "0-95," * 400, " , " * 666]:
        assert seconds_to_read(lambda t: parse_channels(t, 96, "block1"), text) < 0.05, repr(text[:20])
    assert parse_cells(" Coat @ 2 , 3 ;Bag@0,0; ") == [(4, 2, 3), (8, 0, 0)]
    assert parse_channels("3, 10-12, 3", 96, "block1") == [3, 10, 11, 12]


def test_a_channel_range_past_the_stage_is_refused_before_it_is_expanded():
    """10 bytes that the old parser expanded into a 30-million-element list (+2.7 GB) before checking."""
    tracemalloc.start()
    try:
        message, seconds = refusal_of(lambda t: parse_channels(t, 96, "block1"), "0-29999999")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "channels of block1 must be from 0 to 95" in message and seconds < 0.05
    assert peak < 1 << 20  # bytes


def test_the_page_css_carries_every_stylesheet_the_drawings_rely_on():
    """The pictures' HTML is styled by classes: a stylesheet that moves without the page following leaves
    bars and tables unstyled, with no error anywhere."""
    from nin.ui.assets import asset
    from nin.ui.page import CSS

    for name in ("bars.css", "gap_panel.css", "lessons.css", "report.css", "page.css", "layout.css"):
        assert asset(name).strip() and asset(name) in CSS
