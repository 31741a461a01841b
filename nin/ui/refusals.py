"""The one way the page refuses a request, and the checks of every raw input before Gradio reads it.

Gradio 6.31 trusts what a script sends: component refusals (a Radio or Dropdown value outside its choices, a
missing argument) are raised with `print_exception=True` and the whole payload in the message, so a 5 MB
value becomes a 5 MB traceback in the log and a 5 MB error message back; `Number` rounds a float before any
handler sees it (13.5 -> 14); `Textbox` turns anything into a string and ignores `max_length` on the server.

`install(demo)` makes every input pass `check_input` before Gradio preprocesses it (choices, whole numbers
and ranges checked on the raw value, text length bounded) and turns whatever Gradio itself still refuses
into a short message. `refuse` is the one refusal: a plain message that quotes at most `QUOTE` characters
of what was sent (nin.serve.checks), one short log line (at most one a second per kind), no traceback.
`guarded` wraps every handler of the page so that its errors take the same path. The bounds on what a
request may cost are elsewhere: request_limits.py, uploads.py, live_gate.py.
"""

from __future__ import annotations

import functools
import logging
import re

import gradio as gr

from nin.serve import checks
from nin.serve.checks import quote
from nin.serve.decode import InputError
from nin.serve.preprocess import EmptyInput
from nin.ui.rate_log import rate_log, shorten

MAX_TEXT = 2000          # characters of any text input (a Textbox without its own max_length)
MAX_MESSAGE = 400        # characters of any refusal message

log = logging.getLogger("nin-explorer")


def refuse(message: str) -> gr.Error:
    """The one refusal: a toast for the user, one short log line at most, no traceback (a refusal is not a bug).

    Raise what it returns. Messages name the argument and its allowed values and quote what was sent
    through `quote`, so neither the toast nor the log line can carry a client's payload. The log line goes
    through nin.ui.rate_log by kind (`refusal_kind`): one line a second per kind, counting those held back.
    """
    message = shorten(message, MAX_MESSAGE)
    rate_log.line(refusal_kind(message), shorten(message, 200), label="refused")
    return gr.Error(message, print_exception=False)


def refusal_kind(message: str) -> str:
    """What a refusal is about, from the words the code wrote: the message up to what was sent (`got …`) or
    its first clause, numbers left out, at most six words (a client's payload is only ever quoted after them)."""
    head = re.split(r";|: |\bgot\b", message, maxsplit=1)[0]
    return "refused " + re.sub(r"[0-9][0-9,.]*", "#", " ".join(head.split()[:6]))


# ----------------------------------------------------------------------------- the one error path of handlers

def guarded(what: str, on_empty=None):
    """Wrap a handler: a user's mistake becomes a message for the user, anything else a logged plain apology.

    A user's mistake is an `InputError` (nin.serve.decode; nothing else counts, not even a ValueError)
    or a `gr.Error` already raised as a refusal. EmptyInput, the InputError for "nothing to classify yet",
    goes to `on_empty` when given. Refusals go through `refuse`: a short message that quotes at
    most 60 characters of what was sent, a log line (one a second per kind), no traceback. Any other
    exception is a bug: its traceback is logged once and the user gets an apology without internals. Every handler of the page goes
    through here; `install` checks the raw inputs before (choices, whole numbers, ranges, text
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


# ----------------------------------------------------------------------------- inputs, before Gradio reads them

def name_of(block) -> str:
    return str(getattr(block, "label", None) or getattr(block, "elem_id", None) or type(block).__name__)


def whole_steps(block) -> bool:
    """A Number with precision 0, or a Slider on an integer grid: the value must be a whole number."""
    if isinstance(block, gr.Slider):
        return all(float(v).is_integer() for v in (block.step, block.minimum or 0))
    return getattr(block, "precision", None) == 0


def check_text(name: str, value, max_length: int | None) -> None:
    limit = max_length or MAX_TEXT
    if not isinstance(value, str):
        raise refuse(f"{name} must be text; got {quote(value)}.")
    if len(value) > limit:
        raise refuse(f"{name} is {len(value):,} characters long; at most {limit:,} are accepted.")


def check_choice(name: str, value, choices: list) -> None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or value not in choices:
        listed = ", ".join(map(str, choices))
        raise refuse(f"{name} must be one of {shorten(listed, 300)}; got {quote(value)}.")


def check_input(block, value) -> None:
    """The raw value a client sent for `block`, checked before Gradio converts it; None is left to the handler
    (the page sends None while a number box is being retyped, and Gradio passes None on unchanged)."""
    if value is None or getattr(block, "stateful", False):
        return
    name = name_of(block)
    if isinstance(block, (gr.Slider, gr.Number)):
        try:
            checks.check_number(name, value, block.minimum, block.maximum, whole_steps(block))
        except InputError as exc:
            raise refuse(str(exc)) from None
    elif isinstance(block, gr.Textbox):
        check_text(name, value, block.max_length)
    elif isinstance(block, (gr.Radio, gr.Dropdown)) and not getattr(block, "multiselect", False) \
            and not getattr(block, "allow_custom_value", False):
        check_choice(name, value, [choice for _, choice in block.choices])


def install(blocks: gr.Blocks) -> None:
    """Check every event's raw inputs before Gradio preprocesses them, and keep Gradio's own refusals short.

    Gradio calls `blocks.preprocess_data` for every event, from the queue and from the /run routes alike,
    before the handler; output failures (`postprocess_data`) are bugs: logged once with their traceback,
    answered with a plain apology.
    """
    preprocess, postprocess = blocks.preprocess_data, blocks.postprocess_data

    async def preprocess_data(block_fn, inputs, state, explicit_call: bool = False):
        if not isinstance(inputs, list) or len(inputs) < len(block_fn.inputs):
            count = len(inputs) if isinstance(inputs, list) else 0
            raise refuse(f"This event takes {len(block_fn.inputs)} input values; got {count}.")
        for block, value in zip(block_fn.inputs, inputs):
            check_input(block, value)
        try:
            return await preprocess(block_fn, inputs, state, explicit_call)
        except gr.Error as exc:
            if not exc.print_exception:
                raise
            raise refuse(f"An input was refused: {exc.message}") from None
        except Exception as exc:  # Gradio's conversions of the raw value: the client's value was wrong
            raise refuse(f"An input could not be read ({type(exc).__name__}).") from None

    async def postprocess_data(block_fn, predictions, state):
        try:
            return await postprocess(block_fn, predictions, state)
        except Exception:
            log.exception("the outputs of %s could not be sent", block_fn.name)
            raise gr.Error("Something went wrong while sending the result; the error was logged. Please reload "
                           "the page.", print_exception=False) from None

    blocks.preprocess_data = preprocess_data
    blocks.postprocess_data = postprocess_data
