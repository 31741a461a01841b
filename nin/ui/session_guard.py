"""Gradio's sessions, kept for the people they belong to.

Gradio keeps at most `state_session_capacity` sessions (2,000 here) and evicts the least recently used when
a new one comes. A session is created by the first request that names an unknown session hash: a join of any
event (the queue's `get_fn` creates it at the join, before the event runs), a `/call/*` without a hash (one
per call, when it runs), and `/component_server`, which creates the named session before the server function
runs, even when the function then refuses the call. So a script naming fresh hashes could evict every other
visitor's session (their next lesson says "Draw or upload something first"), with cheap calls or with
refused ones, and a hash of 60,000 characters was stored as a key. `SessionGuard`, before Gradio reads the
request:

- refuses a session hash that is not 1 to MAX_SESSION_HASH letters, digits, `-` or `_` (Gradio's own are 11
  characters from the page and 36 from gradio_client) with 400;
- answers a live call (`/component_server`) for a session Gradio does not hold without passing it on, so no
  live call creates a session: the page's load event has created its session long before the pen moves;
- behind a trusted proxy (nin.ui.callers.CLIENT_HEADER), lets one caller create at most NEW_SESSION_BURST
  sessions at once, refilled one every NEW_SESSION_EVERY_S seconds (about 900 an hour, under the 2,000 kept),
  whatever event creates them, cheap or not; past that a request that would create one gets 429. A page
  creates one session when it loads, a gradio_client Client one per Client.
"""

from __future__ import annotations

import json
import re
import time

from nin.ui import callers
from nin.ui.request_limits import EVENT_JOIN_ROUTES, answer, read_body, replaying
from nin.ui.rate_log import rate_log

MAX_SESSION_HASH = 40        # characters of a session hash (Gradio's own: 11 from the page, 36 from gradio_client)
SESSION_HASH = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_SESSION_HASH}}}")
NEW_SESSION_BURST = 40       # sessions one caller may create at once (a classroom behind one address loading the page)
NEW_SESSION_EVERY_S = 4.0    # ... and one more every this many seconds
UNKNOWN_SESSION = ("The server does not know this page's session (it may have restarted); the prediction "
                   "follows when the pen lifts, and reloading the page brings live answers back.")


def is_live_call(path: str) -> bool:
    return path.rstrip("/").endswith("/component_server")


class SessionGuard:
    """ASGI middleware: session hashes bounded, no session created by a live call, new sessions budgeted per
    caller. BodyLimit, outside it, has bounded the body, which is read here and handed on unchanged."""

    def __init__(self, app, burst: int = NEW_SESSION_BURST, every_s: float = NEW_SESSION_EVERY_S):
        self.app, self.burst, self.every_s = app, burst, every_s
        self.buckets: dict[str, tuple[float, float]] = {}   # caller -> (sessions it may create now, when)

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "POST" or \
                not (is_live_call(path) or EVENT_JOIN_ROUTES.fullmatch(path)):
            return await self.app(scope, receive, send)
        holder = getattr(scope.get("app"), "state_holder", None)
        if holder is None:
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        if body is None:
            return
        value = _json_object(body)
        session = value.get("session_hash") if value is not None else None
        if session is not None and not (isinstance(session, str) and SESSION_HASH.fullmatch(session)):
            rate_log.line("bad session hash", f"{path[:60]}: {type(session).__name__} of {len(str(session)):,} characters")
            return await answer(send, 400, f"A session hash is 1 to {MAX_SESSION_HASH} letters, digits, '-' or '_'.")
        known = session is not None and session in holder.session_data
        if value is not None and not known:
            if is_live_call(path):
                rate_log.line("live call, unknown session", path[:60])
                return await _json(send, {"error": UNKNOWN_SESSION})
            creates = session is not None or "/call/" in path  # /call/* without a hash: one session per call
            client = callers.scope_client(scope)
            if creates and callers.CLIENT_HEADER and not self.take(client):
                rate_log.line("too many new sessions", f"{client}: over {self.burst} at one per {self.every_s:g} s")
                return await answer(send, 429, "Too many new sessions from your address; wait a minute and try "
                                               "again, or keep using the one you have.")
        await self.app(scope, replaying(body, receive), send)

    def take(self, client: str) -> bool:
        """One new session for `client`, from its bucket; False if the bucket is empty."""
        now = time.monotonic()
        allowed, then = self.buckets.get(client, (float(self.burst), now))
        allowed = min(float(self.burst), allowed + (now - then) / self.every_s)
        if allowed < 1:
            self.buckets[client] = (allowed, now)
            return False
        self.buckets[client] = (allowed - 1, now)
        if len(self.buckets) > 10_000:  # forget callers whose bucket has refilled
            full_after = self.burst * self.every_s
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < full_after}
        return True


def _json_object(body: bytes) -> dict | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


async def _json(send, value) -> None:
    """A 200 answer of `value`, as a server function's answer is sent (the canvas shows an `error`)."""
    body = json.dumps(value).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


__all__ = ["SessionGuard", "MAX_SESSION_HASH", "NEW_SESSION_BURST", "NEW_SESSION_EVERY_S", "UNKNOWN_SESSION"]
