"""The checks of a caller's numbers: "a whole number from low to high", said once for the whole app.

Every value a person or a script sends (a row, a channel index, k, a slider's shift) is checked here before
it is used: a finite number, not a bool, in range, whole when asked. A wrong one raises an InputError whose
message names the argument, its range and at most QUOTE characters of what was sent. nin.ui.refusals turns the
same message into the page's refusal; the request path and the UI's handlers raise it as it is.
"""

from __future__ import annotations

import math
import reprlib

from nin.serve.decode import InputError

QUOTE = 60  # characters of a client's value that a message may repeat

_short = reprlib.Repr()
_short.maxstring = _short.maxother = QUOTE
_short.maxlist = _short.maxtuple = _short.maxdict = _short.maxset = 4
_short.maxlevel = 2


def quote(value) -> str:
    """`value` as Python would write it, cut to about QUOTE characters; cheap for any size (no full repr)."""
    text = _short.repr(value)
    return text if len(text) <= QUOTE + 5 else text[:QUOTE] + "…"


def is_number(value, minimum=None, maximum=None, whole: bool = False) -> bool:
    """A finite number in [minimum, maximum] (whole when asked); bools are not numbers."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and isinstance(value, float):
        ok = math.isfinite(value) and (not whole or value.is_integer())
    return ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)


def check_number(name: str, value, minimum=None, maximum=None, whole: bool = False) -> None:
    """InputError unless `is_number`; the message names the argument and its range."""
    if is_number(value, minimum, maximum, whole):
        return
    kind = "whole number" if whole else "number"
    span = ("" if minimum is None and maximum is None else
            f" from {_plain(minimum)} to {_plain(maximum)}" if minimum is not None and maximum is not None else
            f" of at least {_plain(minimum)}" if minimum is not None else f" of at most {_plain(maximum)}")
    raise InputError(f"{name} must be a {kind}{span}; got {quote(value)}.")


def whole(name: str, value, low: int, high: int) -> int:
    """`value` as an int once checked: a whole number from low to high (no bool, NaN, string or rounding)."""
    check_number(name, value, low, high, whole=True)
    return int(value)


def _plain(number) -> str:
    return str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)
