"""How often each drawing page may call: every page drawing gets answers at the same rate, and together they
never ask the server for more than it can answer.

Alone, a page sends its latest drawing every MIN_INTERVAL_MS (about ten answers a second). When many pages draw
at once, their calls together can exceed what the CPU can answer; refusing the excess shows some people "busy"
and leaves others' answers to chance. Instead, every live answer tells its page how long to leave between the
start of this call and the next (`wait_ms`), and the page paces itself (static/canvas.js). The wait is the
same for every page:

    wait = pages drawing / answers a second the server can give

where the pages drawing are the sessions that made a live call in the last ACTIVE_S, and the server's
capacity comes from what it measured over the last WINDOW_S: the process's CPU time per live answer (the
live calls' own work, and everything else the server did meanwhile, such as full explanations, so those keep
their share), and the cores it may use. A server with spare cores answers every page every MIN_INTERVAL_MS.
"""

from __future__ import annotations

import math
import time
from collections import deque

from nin.serve.pipeline import cpu_count

ACTIVE_S = 3.0         # a page counts as drawing for this long after its last live call (longer than any wait)
WINDOW_S = 2.0         # CPU time and answers are compared over this much of the recent past
SAMPLE_S = 0.25        # ... sampled at most this often
MIN_ANSWERS = 8        # fewer answers than this in the window: too few to measure, the server is nearly idle
USE = 0.85             # share of the cores the live answers are planned to use: the rest keeps the queue moving
MAX_WAIT_MS = 2000     # a page waits at most this long between calls, however many draw
MAX_PAGES_KEPT = 4096  # sessions remembered at once (their number is bounded by the callers' own limits too)


class Pacer:
    """The wait between one page's live calls, from the pages drawing and the CPU an answer costs."""

    def __init__(self, floor_ms: float, cores: int | None = None, clock=time.monotonic, cpu=time.process_time):
        self.floor_ms = floor_ms
        self.cores = cores or cpu_count()
        self.clock, self.cpu = clock, cpu
        self.pages: dict[str, float] = {}                          # session -> its last live call
        self.samples: deque[tuple[float, float, int]] = deque()    # (when, process CPU seconds, answers so far)
        self.answers = 0

    def called(self, session: str) -> None:
        """A live call from `session` was admitted."""
        now = self.clock()
        self.pages.pop(session, None)
        self.pages[session] = now  # dicts keep insertion order: the oldest call is first
        while self.pages and (len(self.pages) > MAX_PAGES_KEPT or now - next(iter(self.pages.values())) > ACTIVE_S):
            del self.pages[next(iter(self.pages))]

    def answered(self) -> None:
        """A live call was answered."""
        self.answers += 1
        now = self.clock()
        if not self.samples or now - self.samples[-1][0] >= SAMPLE_S:
            self.samples.append((now, self.cpu(), self.answers))
            while len(self.samples) > 2 and now - self.samples[1][0] >= WINDOW_S:
                self.samples.popleft()

    def cpu_per_answer(self) -> float | None:
        """CPU seconds the process spent per live answer over the last WINDOW_S, or None if too few answers."""
        if len(self.samples) < 2:
            return None
        (_, cpu0, n0), (t1, cpu1, n1) = self.samples[0], self.samples[-1]
        if n1 - n0 < MIN_ANSWERS or self.clock() - t1 > WINDOW_S:
            return None
        return max(0.0, cpu1 - cpu0) / (n1 - n0)

    def drawing(self) -> int:
        """Pages that made a live call in the last ACTIVE_S."""
        now = self.clock()
        return sum(1 for last in self.pages.values() if now - last <= ACTIVE_S)

    def wait_ms(self) -> int:
        """How long a page should leave between the starts of its live calls now."""
        cost = self.cpu_per_answer()
        if cost is None or cost <= 0:
            return math.ceil(self.floor_ms)
        capacity = self.cores * USE / cost  # answers a second
        return math.ceil(min(MAX_WAIT_MS, max(self.floor_ms, 1e3 * self.drawing() / capacity)))


__all__ = ["Pacer", "ACTIVE_S", "MAX_WAIT_MS"]
