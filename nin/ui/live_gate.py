"""Bounds for the drawing canvas's live calls, which Gradio runs outside its queue (nin/ui/canvas.py).

`check_ink` caps a call's payload before it is decoded; `LiveGate` bounds the calls in flight per session,
per caller and in the process, and how many wait. A call past those bounds is turned away as `Busy`: the page
tries again after the wait it is told (nin.ui.pacing) and shows nothing, so a person drawing never reads "busy".
"""

from __future__ import annotations

import base64
import contextlib
import time

from nin.serve.checks import quote
from nin.serve.live import DATA_URL_PREFIX
from nin.ui import callers
from nin.ui.rate_log import rate_log
from nin.ui.png_chunks import MAX_INFLATED_BYTES, inflated_bytes
from nin.ui.refusals import refuse

# Characters of a drawing's ink (a PNG data URL). The canvas sends 140 px: 1-6 KB for real drawings (README,
# "Drawing"); the cap keeps the same ink inside an event's body limit when the full explanation sends it.
MAX_INK_CHARS = 30_000

def check_ink(ink) -> None:
    """A drawing's ink as sent: a string of at most MAX_INK_CHARS characters whose PNG carries at most
    MAX_INFLATED_BYTES of text and colour-profile chunks (nin.ui.png_chunks), checked before anything decodes it."""
    if not isinstance(ink, str):
        raise refuse(f"The drawing must be sent as a PNG data URL (text); got {quote(ink)}.")
    if len(ink) > MAX_INK_CHARS:
        raise refuse(f"The drawing is {len(ink):,} characters long; at most {MAX_INK_CHARS:,} are accepted.")
    if ink.startswith(DATA_URL_PREFIX):
        try:
            data = base64.b64decode(ink[len(DATA_URL_PREFIX):], validate=True)
        except ValueError:  # not base64: the decoder says so in its own words
            return
        inflated = inflated_bytes(data)
        if inflated > MAX_INFLATED_BYTES:
            raise refuse(f"The drawing's PNG carries {inflated:,} bytes of text or colour-profile chunks; at most "
                         f"{MAX_INFLATED_BYTES:,} are accepted (the canvas sends none).")


class Busy(Exception):
    """A live call turned away for the server's capacity, not for anything it sent: the page waits and sends
    its latest drawing again, without showing anything."""

    def __init__(self, message: str):
        super().__init__(message)
        rate_log.line(message.split(";")[0], message, label="deferred")


LIVE_PER_CALLER = 2          # live calls one caller may have in flight (a page keeps one; two tabs two)
LIVE_RATE = 20.0             # live calls one caller may start a second (a page sends about 10) ...
LIVE_BURST = 20              # ... and at once after a pause


class LiveGate:
    """Bounds for calls that Gradio runs outside its queue (gr.HTML server functions, POST /component_server).

    Such a call gets no queue, no concurrency group and no per-session limit from Gradio. Here: one call in
    flight per session, `workers` computing at once in the process (the thread pool of `limiter`, separate
    from the one Gradio's queued events run in, so live calls cannot take their threads), and at most
    `waiting` more admitted and waiting for a worker. Behind a trusted proxy (`caller_of`), one caller may
    also have at most LIVE_PER_CALLER calls in flight and start LIVE_RATE a second, whatever sessions it
    names, so one caller cannot fill the process-wide bounds that every other canvas shares. Anything beyond
    is turned away at once as `Busy`, never queued: the canvas sends its latest drawing with its next call
    anyway. A session hash is chosen by the client, so the process-wide and per-caller bounds are what hold
    against a script.
    """

    def __init__(self, workers: int, waiting: int, per_caller: int = LIVE_PER_CALLER, rate: float = LIVE_RATE,
                 burst: int = LIVE_BURST):
        self.workers, self.waiting = workers, waiting
        self.per_caller, self.rate, self.burst = per_caller, rate, burst
        self.sessions: set[str] = set()
        self.callers: dict[str, int] = {}                      # caller -> its calls in flight
        self.buckets: dict[str, tuple[float, float]] = {}      # caller -> (calls it may start now, when)
        self.admitted = 0
        self._limiter = None

    @property
    def limiter(self):
        """The live calls' own worker threads (created on first use, inside the server's event loop)."""
        if self._limiter is None:
            import anyio

            self._limiter = anyio.CapacityLimiter(self.workers)
        return self._limiter

    @staticmethod
    def caller_of(request) -> str | None:
        """The caller a live call is counted under: its address behind a trusted proxy, else None (run locally,
        every caller is the same loopback address, and the per-session and process-wide bounds hold)."""
        return callers.request_client(request) if callers.CLIENT_HEADER else None

    @contextlib.contextmanager
    def admit(self, session, caller: str | None = None):
        """Admit one call of `session` (from `caller`), or raise a refusal (no session id) or `Busy` (past a
        bound); only ever entered from the server's event loop."""
        if not isinstance(session, str) or not 0 < len(session) <= 64:
            raise refuse(f"A live call needs the page's session id; got {quote(session)}.")
        if session in self.sessions:
            raise Busy("One live call at a time per page; this one was turned away while the last is answered.")
        if caller is not None and (self.callers.get(caller, 0) >= self.per_caller or not self.take(caller)):
            raise Busy("Too many live calls from one address at once; this one was turned away, the next will be "
                       "tried.")
        if self.admitted >= self.workers + self.waiting:
            raise Busy("The server has as many live drawings as it can take; this one was turned away, the next "
                       "will be tried.")
        self.sessions.add(session)
        self.admitted += 1
        if caller is not None:
            self.callers[caller] = self.callers.get(caller, 0) + 1
        try:
            yield
        finally:
            self.sessions.discard(session)
            self.admitted -= 1
            if caller is not None:
                self.callers[caller] -= 1
                if self.callers[caller] <= 0:
                    del self.callers[caller]

    def take(self, caller: str) -> bool:
        """One call from `caller`'s token bucket (LIVE_BURST, refilled at LIVE_RATE a second)."""
        now = time.monotonic()
        allowed, then = self.buckets.get(caller, (float(self.burst), now))
        allowed = min(float(self.burst), allowed + (now - then) * self.rate)
        if allowed < 1:
            self.buckets[caller] = (allowed, now)
            return False
        self.buckets[caller] = (allowed - 1, now)
        if len(self.buckets) > 10_000:  # forget callers whose bucket has refilled
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < self.burst / self.rate}
        return True
