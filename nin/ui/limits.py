"""What one request may cost the Space, and the one way a request is refused.

A public Space is reachable by anyone with a script, and Gradio 6.31 trusts what a script sends:

- Component refusals (a Radio or Dropdown value outside its choices, a missing argument) are raised with
  `print_exception=True` and the whole payload in the message, so a 5 MB value becomes a 5 MB traceback in
  the log and a 5 MB error message back. `Number` rounds a float before any handler sees it (13.5 -> 14),
  `Textbox` turns anything into a string and ignores `max_length` on the server.
- `/gradio_api/queue/join`, `/run/*`, `/call/*` read a JSON body of any size into memory before anything
  can look at it.
- A session may join any number of events and never read their results; each result waits in memory.

`install(demo)` makes every input pass `check_input` before Gradio preprocesses it (choices, whole numbers
and ranges checked on the raw value, text length bounded) and turns whatever Gradio itself still refuses
into a short message. `refuse` is the one refusal: a plain message that quotes at most `QUOTE` characters
of what was sent, one short log line, no traceback. `BodyLimit` caps request bodies while they stream in,
and `PendingEventsLimit` caps the events one session may have waiting. `LiveGate` bounds the drawing canvas's
live calls, which Gradio runs outside its queue: `check_ink` caps their payload before it is decoded.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys

import gradio as gr

from nin.serve import checks
from nin.serve.checks import QUOTE, quote  # noqa: F401  (the refusal quotes what was sent the same way)
from nin.serve.decode import InputError
from nin.serve.preprocess import EmptyInput

MAX_TEXT = 2000          # characters of any text input (a Textbox without its own max_length)
MAX_MESSAGE = 400        # characters of any refusal message
EVENT_BODY_LIMIT = 32 << 10   # bytes of an event request (measured: see README, "Running it in public")
# Characters of a drawing's ink (a PNG data URL). The canvas sends 140 px: 1-6 KB for real drawings (README,
# "Drawing"); the cap keeps the same ink inside an event's body limit when the full explanation sends it.
MAX_INK_CHARS = 30_000
COMPONENT_SERVER_LIMIT = 64 << 10  # bytes of a /component_server call: the canvas's live calls, ink and all
MAX_PENDING_PER_SESSION = 16  # events one session may have joined and not yet read

log = logging.getLogger("nin-explorer")

def shorten(message: str, limit: int = MAX_MESSAGE) -> str:
    return message if len(message) <= limit else message[:limit - 1] + "…"


def refuse(message: str) -> gr.Error:
    """The one refusal: a toast for the user, one short log line, no traceback (a refusal is not a bug).

    Raise what it returns. Messages name the argument and its allowed values and quote what was sent
    through `quote`, so neither the toast nor the log line can carry a client's payload.
    """
    message = shorten(message)
    log.info("refused: %s", shorten(message, 200))
    return gr.Error(message, print_exception=False)


class StderrHandler(logging.StreamHandler):
    """A log handler that writes to whatever sys.stderr is when a record is written (as Gradio's own
    tracebacks do), not to the stream that was current when the app was imported."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def log_to_stderr() -> logging.Logger:
    """The app's log: refusals (one line each) and bugs (one traceback each) go to stderr, nothing else of ours."""
    if not log.handlers:
        handler = StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


# ----------------------------------------------------------------------------- inputs, before Gradio reads them

def name_of(block) -> str:
    return str(getattr(block, "label", None) or getattr(block, "elem_id", None) or type(block).__name__)


def whole_steps(block) -> bool:
    """A Number with precision 0, or a Slider on an integer grid: the value must be a whole number."""
    if isinstance(block, gr.Slider):
        return all(float(v).is_integer() for v in (block.step, block.minimum or 0))
    return getattr(block, "precision", None) == 0


def check_number(name: str, value, minimum=None, maximum=None, whole: bool = False) -> None:
    """nin.serve.checks.check_number, refused the page's way."""
    try:
        checks.check_number(name, value, minimum, maximum, whole)
    except InputError as exc:
        raise refuse(str(exc)) from None


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
        check_number(name, value, block.minimum, block.maximum, whole_steps(block))
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


# ----------------------------------------------------------------------------- request bodies and pending events

EVENT_ROUTES = ("/queue/join", "/run/", "/api/", "/call/", "/stream/", "/cancel", "/reset")


def body_limit_for(path: str) -> int | None:
    """Bytes a request body to `path` may have; None for the routes Gradio limits itself (uploads)."""
    path = path.rstrip("/")
    if path.endswith("/upload"):
        return None                     # max_file_size, enforced by Gradio while the multipart body streams
    if path.endswith("/component_server"):
        return COMPONENT_SERVER_LIMIT   # the drawing canvas's live calls
    return EVENT_BODY_LIMIT             # events and everything else: JSON, files travel separately


async def answer(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: refuse a request body over its route's limit (`body_limit_for`) with 413, declared or
    streamed, before the route reads it into memory. Nothing is logged: the caller gets one short line.

    Wire it with `demo.launch(app_kwargs={"middleware": [Middleware(BodyLimit)]})`.
    """

    def __init__(self, app, limit_for=body_limit_for):
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope, receive, send):
        limit = self.limit_for(scope["path"]) if scope["type"] == "http" else None
        if limit is None or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await answer(send, 413, f"Request body over {limit} bytes.")
        received, started = 0, False

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
            return message

        async def sending(message):
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except _BodyTooLarge:
            if not started:
                await answer(send, 413, f"Request body over {limit} bytes.")


class _BodyTooLarge(Exception):
    pass


class PendingEventsLimit:
    """ASGI middleware: a session may have at most MAX_PENDING_PER_SESSION events joined and not yet read.

    Gradio keeps every result until the session's event stream reads it (`pending_event_ids_session`,
    `pending_messages_per_session`), with no bound per session; a script that joins and never reads piles up
    results. The page reads each result as it comes, so it never has more than a few events open. The body
    is read here (BodyLimit, outside this one, has bounded it) and handed on unchanged.
    """

    def __init__(self, app, limit: int = MAX_PENDING_PER_SESSION):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or \
                not scope["path"].rstrip("/").endswith("/queue/join"):
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        readable, session = _session_hash(body)
        if not readable:
            return await answer(send, 400, "The request body is not a JSON object.")
        queue = getattr(scope.get("app"), "get_blocks", lambda: None)()
        pending = getattr(getattr(queue, "_queue", None), "pending_event_ids_session", {}).get(session, ()) \
            if session else ()
        if len(pending) >= self.limit:
            return await answer(send, 429, f"This session has {len(pending)} events whose results it has not "
                                           f"read; at most {self.limit} may wait. Read them first.")
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _session_hash(body: bytes) -> tuple[bool, str | None]:
    """(whether the body is a JSON object, its session_hash if it is a string)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # deep nesting ("[[[[...") exhausts the parser: refused here, once
        return False, None
    if not isinstance(value, dict):
        return False, None
    session = value.get("session_hash")
    return True, session if isinstance(session, str) else None


# ----------------------------------------------------------------------------- live calls, outside the queue

def check_ink(ink) -> None:
    """A drawing's ink as sent: a string of at most MAX_INK_CHARS characters, checked before anything decodes it."""
    if not isinstance(ink, str):
        raise refuse(f"The drawing must be sent as a PNG data URL (text); got {quote(ink)}.")
    if len(ink) > MAX_INK_CHARS:
        raise refuse(f"The drawing is {len(ink):,} characters long; at most {MAX_INK_CHARS:,} are accepted.")


class LiveGate:
    """Bounds for calls that Gradio runs outside its queue (gr.HTML server functions, POST /component_server).

    Such a call gets no queue, no concurrency group and no per-session limit from Gradio. Here: one call in
    flight per session, `workers` computing at once in the process (the thread pool of `limiter`, separate
    from the one Gradio's queued events run in, so live calls cannot take their threads), and at most
    `waiting` more admitted and waiting for a worker. Anything beyond is refused at once through `refuse`,
    never queued: the canvas sends its latest drawing with its next call anyway. A session hash is chosen by
    the client, so the process-wide bounds are what hold against a script.
    """

    def __init__(self, workers: int, waiting: int):
        self.workers, self.waiting = workers, waiting
        self.sessions: set[str] = set()
        self.admitted = 0
        self._limiter = None

    @property
    def limiter(self):
        """The live calls' own worker threads (created on first use, inside the server's event loop)."""
        if self._limiter is None:
            import anyio

            self._limiter = anyio.CapacityLimiter(self.workers)
        return self._limiter

    @contextlib.contextmanager
    def admit(self, session):
        """Admit one call of `session`, or raise a refusal; only ever entered from the server's event loop."""
        if not isinstance(session, str) or not 0 < len(session) <= 64:
            raise refuse(f"A live call needs the page's session id; got {quote(session)}.")
        if session in self.sessions:
            raise refuse("One live call at a time per page: this one was refused while the last is answered.")
        if self.admitted >= self.workers + self.waiting:
            raise refuse("The server is busy with live drawings; this one was refused, the next will be tried.")
        self.sessions.add(session)
        self.admitted += 1
        try:
            yield
        finally:
            self.sessions.discard(session)
            self.admitted -= 1


__all__ = ["guarded", "refuse", "quote", "shorten", "check_input", "check_number", "check_text", "check_choice", "install",
           "BodyLimit", "PendingEventsLimit", "StderrHandler", "log_to_stderr", "body_limit_for", "answer", "QUOTE",
           "MAX_TEXT", "EVENT_BODY_LIMIT", "MAX_PENDING_PER_SESSION", "check_ink", "LiveGate", "MAX_INK_CHARS"]


# ----------------------------------------------------------------------------- the one error path of handlers

def guarded(what: str, on_empty=None):
    """Wrap a handler: a user's mistake becomes a message for the user, anything else a logged plain apology.

    A user's mistake is an `InputError` (nin.serve.decode; nothing else counts, not even a ValueError)
    or a `gr.Error` already raised as a refusal. EmptyInput, the InputError for "nothing to classify yet",
    goes to `on_empty` when given. Refusals go through `nin.ui.limits.refuse`: a short message that quotes at
    most 60 characters of what was sent, one log line, no traceback. Any other exception is a bug: its
    traceback is logged once and the user gets an apology without internals. Every handler of the page goes
    through here; `limits.install` checks the raw inputs before (choices, whole numbers, ranges, text
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
