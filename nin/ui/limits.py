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
of what was sent, one short log line (at most one a second per kind), no traceback. `BodyLimit` caps
request bodies while they stream in, and `PendingEventsLimit` caps the events one session may have
waiting. `LiveGate` bounds the drawing canvas's live calls, which Gradio runs outside its queue: `check_ink`
caps their payload before it is decoded.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import os
import re
import time

import gradio as gr

from nin.serve import checks
from nin.serve.checks import QUOTE, quote  # noqa: F401  (the refusal quotes what was sent the same way)
from nin.serve.decode import InputError
from nin.serve.live import DATA_URL_PREFIX
from nin.serve.preprocess import EmptyInput
from nin.ui import callers
from nin.ui.callers import scope_client
from nin.ui.png_chunks import MAX_INFLATED_BYTES, inflated_bytes
from nin.ui.quiet import quiet

MAX_TEXT = 2000          # characters of any text input (a Textbox without its own max_length)
MAX_MESSAGE = 400        # characters of any refusal message
EVENT_BODY_LIMIT = 32 << 10   # bytes of an event request (measured: see README, "Running it in public")
# Characters of a drawing's ink (a PNG data URL). The canvas sends 140 px: 1-6 KB for real drawings (README,
# "Drawing"); the cap keeps the same ink inside an event's body limit when the full explanation sends it.
MAX_INK_CHARS = 30_000
COMPONENT_SERVER_LIMIT = 64 << 10  # bytes of a /component_server call: the canvas's live calls, ink and all
MAX_PENDING_PER_SESSION = 16  # events one session may have joined and not yet read
UPLOAD_BODY_LIMIT = 12 << 20  # bytes of one upload request: one file (Gradio refuses one over 10 MB with its own message)

log = logging.getLogger("nin-explorer")

def shorten(message: str, limit: int = MAX_MESSAGE) -> str:
    return message if len(message) <= limit else message[:limit - 1] + "…"


def refuse(message: str) -> gr.Error:
    """The one refusal: a toast for the user, one short log line at most, no traceback (a refusal is not a bug).

    Raise what it returns. Messages name the argument and its allowed values and quote what was sent
    through `quote`, so neither the toast nor the log line can carry a client's payload. The log line goes
    through nin.ui.quiet by kind (`refusal_kind`): one line a second per kind, counting those held back.
    """
    message = shorten(message)
    quiet.line(refusal_kind(message), shorten(message, 200), label="refused")
    return gr.Error(message, print_exception=False)


def refusal_kind(message: str) -> str:
    """What a refusal is about, from the words the code wrote: the message up to what was sent (`got …`) or
    its first clause, numbers left out, at most six words (a client's payload is only ever quoted after them)."""
    head = re.split(r";|: |\bgot\b", message, maxsplit=1)[0]
    return "refused " + re.sub(r"[0-9][0-9,.]*", "#", " ".join(head.split()[:6]))


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
    """Bytes a request body to `path` may have."""
    path = path.rstrip("/")
    if path.endswith("/upload"):
        return UPLOAD_BODY_LIMIT        # one file: Gradio's max_file_size bounds each file, not how many are sent
    if path.endswith("/component_server"):
        return COMPONENT_SERVER_LIMIT   # the drawing canvas's live calls
    return EVENT_BODY_LIMIT             # events and everything else: JSON, files travel separately


async def read_body(receive) -> bytes | None:
    """A request's whole body (BodyLimit, outside every reader, has bounded it); None if the client left."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def replaying(body: bytes, receive):
    """A `receive` for the app behind a middleware that has read the body: the body once, then the client's."""
    replayed = False

    async def replay():
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


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


# ----------------------------------------------------------------------------- who may join an event

EVENT_JOIN_ROUTES = re.compile(r".*/(queue/join|call/v2/[^/]+|call/[^/]+|run/[^/]+|api/[^/]+)/?")
MAX_ACTIVE_PER_CLIENT = 4    # model events one caller may have queued or running at once (with CLIENT_HEADER)
MODEL_GROUP = "model"        # the concurrency group of every event that runs the network (app.py)


class PendingEventsLimit:
    """ASGI middleware: who may join an event, checked before Gradio reads the request.

    On every route that starts an event (`/queue/join`, `/call/*`, `/run/*`, `/api/*`):

    - the event must exist and run on the server: an unknown `fn_index` or API name, or an event that only
      runs in the browser, gets 400/404 with one quiet log line (Gradio answers them with a traceback);
    - a session may have at most MAX_PENDING_PER_SESSION events joined and not yet read. Gradio keeps every
      result until the session's stream reads it, with no bound per session. `/call/*` without a session
      hash makes each call its own session, so those calls count per caller address instead;
    - with CLIENT_HEADER set, one caller may have at most MAX_ACTIVE_PER_CLIENT model events queued or
      running, whatever sessions it uses, so one caller cannot fill the queue that everyone shares.

    The counts include joins still inside Gradio (`joining`): the check and the count happen with no await
    between them, so simultaneous joins cannot race past a bound. BodyLimit, outside this one, has bounded
    the body; it is read here and handed on unchanged.
    """

    def __init__(self, app, limit: int = MAX_PENDING_PER_SESSION, active_limit: int = MAX_ACTIVE_PER_CLIENT):
        self.app, self.limit, self.active_limit = app, limit, active_limit
        self.joining: dict[str, int] = {}             # session (or "caller address/call") -> joins in flight
        self.joining_client: dict[str, int] = {}      # caller -> model joins in flight
        self.sessionless: dict[str, set[str]] = {}   # caller -> event ids of its /call joins without a session

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or \
                not EVENT_JOIN_ROUTES.fullmatch(scope["path"]):
            return await self.app(scope, receive, send)
        blocks = getattr(scope.get("app"), "get_blocks", lambda: None)()
        queue = getattr(blocks, "_queue", None)
        if blocks is None or queue is None:
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        if body is None:
            return
        value = _json_object(body)
        if value is None:
            quiet.line("bad event request", f"{scope['path']}: body is not a JSON object")
            return await answer(send, 400, "The request body is not a JSON object.")
        fn, problem = _event_of(blocks, scope["path"], value)
        if fn is None:
            quiet.line("bad event request", f"{scope['path']}: {problem}")
            return await answer(send, 404 if problem.startswith("no ") else 400, problem)
        client = scope_client(scope)
        session = value.get("session_hash")
        session = session if isinstance(session, str) else None
        route_call = "/call/" in scope["path"]
        if session is None and route_call:
            unread_key = f"{client}/call"
            ids = self.sessionless.setdefault(client, set())
            ids.intersection_update(s for s in ids if queue.pending_event_ids_session.get(s))
            unread = len(ids)
        else:
            unread_key = session or ""
            unread = len(queue.pending_event_ids_session.get(session, ())) if session else 0
        unread += self.joining.get(unread_key, 0)
        if unread_key and unread >= self.limit:
            quiet.line("too many unread", f"{client}: {unread} results unread")
            return await answer(send, 429, f"This session has {unread} events whose results it has not read; "
                                           f"at most {self.limit} may wait. Read them first.")
        counts_active = bool(callers.CLIENT_HEADER) and fn.concurrency_id == MODEL_GROUP
        if counts_active:
            active = self.joining_client.get(client, 0) + sum(
                1 for event in list(queue.event_ids_to_events.values())
                if event.concurrency_id == MODEL_GROUP and _event_client(event) == client)
            if active >= self.active_limit:
                quiet.line("too many running", f"{client}: {active} model events queued or running")
                return await answer(send, 429, f"You have {active} requests queued or running; at most "
                                               f"{self.active_limit} at a time. Wait for one to finish.")
            self.joining_client[client] = self.joining_client.get(client, 0) + 1
        self.joining[unread_key] = self.joining.get(unread_key, 0) + 1
        sent = []

        replay = replaying(body, receive)

        async def sending(message):
            if session is None and route_call and message["type"] == "http.response.body":
                sent.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay, sending)
        finally:
            _decrement(self.joining, unread_key)
            if counts_active:
                _decrement(self.joining_client, client)
            if sent:
                event_id = (_json_object(b"".join(sent)) or {}).get("event_id")
                if isinstance(event_id, str):
                    self.sessionless.setdefault(client, set()).add(event_id)


def _decrement(counts: dict, key) -> None:
    counts[key] -= 1
    if counts[key] <= 0:
        del counts[key]


def _event_client(event) -> str:
    return callers.request_client(getattr(event, "request", None))


def _json_object(body: bytes) -> dict | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # deep nesting ("[[[[...") exhausts the parser: refused here, once
        return None
    return value if isinstance(value, dict) else None


def _event_of(blocks, path: str, body: dict):
    """(the BlockFunction a join names, None) or (None, why it names none), as Gradio's get_fn would find it."""
    fn_index = body.get("fn_index")
    if fn_index is not None:
        if isinstance(fn_index, bool) or not isinstance(fn_index, int) or fn_index not in blocks.fns:
            return None, f"no event with fn_index {quote(fn_index)}"
        fn = blocks.fns[fn_index]
    elif path.rstrip("/").endswith("/queue/join"):
        return None, "a join needs an fn_index"
    else:
        api_name = path.rstrip("/").rsplit("/", 1)[-1]
        fn = next((f for f in blocks.fns.values() if f.api_name == api_name), None)
        if fn is None:
            return None, f"no endpoint named {quote(api_name)}"
    if fn.fn is None:
        return None, "this event runs in the browser only"
    return fn, ""


# ----------------------------------------------------------------------------- the upload cache on disk

CACHE_BUDGET = 500 << 20            # bytes of Gradio's file cache (uploads and the app's pictures) kept on disk
UPLOAD_BURST = 40 << 20             # bytes one caller may upload at once ...
UPLOAD_RATE = 1 << 20               # ... refilled at this many bytes a second
CACHE_RESCAN_S = 10.0               # how old the cache's measured size may get before it is measured again


class UploadBudget:
    """ASGI middleware: uploads cannot fill the disk.

    Gradio writes every upload to its cache and deletes files only once they are an hour old (delete_cache),
    so a script could write gigabytes an hour. Here, before Gradio reads an upload: the caller's upload rate
    is checked (a token bucket of UPLOAD_BURST bytes refilled at UPLOAD_RATE a second, per caller address),
    and the cache's size plus this upload must fit CACHE_BUDGET, the oldest files being deleted first to
    make room. The size is measured by walking the cache at most every CACHE_RESCAN_S seconds (in a worker
    thread) and counted up in between. A refused upload gets 429 and one quiet log line.
    """

    def __init__(self, app, budget: int = CACHE_BUDGET, burst: int = UPLOAD_BURST, rate: float = UPLOAD_RATE,
                 folder: str | None = None):
        self.app, self.budget, self.burst, self.rate = app, budget, burst, rate
        self.folder = folder
        self.buckets: dict[str, tuple[float, float]] = {}   # caller -> (bytes allowed now, when)
        self.used, self.measured_at = 0, -1e9
        self._lock = None

    def cache_folder(self) -> str:
        if self.folder is None:
            from gradio.utils import get_upload_folder

            self.folder = get_upload_folder()
        return self.folder

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope["path"].rstrip("/").endswith("/upload"):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        size = int(declared) if declared.isdigit() and len(declared) < 12 else UPLOAD_BODY_LIMIT
        client = scope_client(scope)
        if not self.take(client, size):
            quiet.line("upload rate", f"{client}: over {self.burst >> 20} MB at {self.rate / (1 << 20):g} MB/s")
            return await answer(send, 429, "Too many uploads from your address; wait a few seconds and try again.")
        if not await self.make_room(size):
            quiet.line("upload cache full", f"{size} bytes refused")
            return await answer(send, 429, "The server's upload space is full; try again in a minute.")
        await self.app(scope, receive, send)

    def take(self, client: str, size: int) -> bool:
        now = time.monotonic()
        allowed, then = self.buckets.get(client, (self.burst, now))
        allowed = min(self.burst, allowed + (now - then) * self.rate)
        if size > allowed:
            self.buckets[client] = (allowed, now)
            return False
        self.buckets[client] = (allowed - size, now)
        if len(self.buckets) > 10_000:  # forget callers whose bucket has refilled
            full_after = self.burst / self.rate
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < full_after}
        return True

    async def make_room(self, size: int) -> bool:
        """Count `size` bytes into the cache, deleting its oldest files first if they would not fit."""
        import anyio

        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:  # one upload at a time measures and makes room: the count cannot be raced
            if size > self.budget:
                return False
            if time.monotonic() - self.measured_at > CACHE_RESCAN_S or self.used + size > self.budget:
                self.used = await anyio.to_thread.run_sync(cache_size, self.cache_folder())
                self.measured_at = time.monotonic()
            if self.used + size > self.budget:
                self.used = await anyio.to_thread.run_sync(evict_oldest, self.cache_folder(),
                                                           int(0.8 * self.budget) - size)
                self.measured_at = time.monotonic()
                if self.used + size > self.budget:
                    return False
            self.used += size
            return True


def _cache_files(folder: str) -> list[tuple[float, int, str]]:
    """(modified, bytes, path) of every file under `folder`."""
    found = []
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            try:
                stat = os.stat(path, follow_symlinks=False)
            except OSError:
                continue
            found.append((stat.st_mtime, stat.st_size, path))
    return found


def cache_size(folder: str) -> int:
    return sum(size for _, size, _ in _cache_files(folder))


def evict_oldest(folder: str, target: int) -> int:
    """Delete the oldest files under `folder` until at most `target` bytes are left; the bytes left."""
    files = sorted(_cache_files(folder))
    total = sum(size for _, size, _ in files)
    for _, size, path in files:
        if total <= target:
            break
        with contextlib.suppress(OSError):
            os.remove(path)
            total -= size
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(path))  # Gradio keeps each file in a folder of its own
    return total


# ----------------------------------------------------------------------------- live calls, outside the queue

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
    is refused at once through `refuse`, never queued: the canvas sends its latest drawing with its next call
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
        """Admit one call of `session` (from `caller`), or raise a refusal; only ever entered from the server's
        event loop."""
        if not isinstance(session, str) or not 0 < len(session) <= 64:
            raise refuse(f"A live call needs the page's session id; got {quote(session)}.")
        if session in self.sessions:
            raise refuse("One live call at a time per page: this one was refused while the last is answered.")
        if caller is not None and (self.callers.get(caller, 0) >= self.per_caller or not self.take(caller)):
            raise refuse("Too many live calls from your address at once; this one was refused, the next will be "
                         "tried.")
        if self.admitted >= self.workers + self.waiting:
            raise refuse("The server is busy with live drawings; this one was refused, the next will be tried.")
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


__all__ = ["guarded", "refuse", "quote", "shorten", "check_input", "check_number", "check_text", "check_choice", "install",
           "BodyLimit", "PendingEventsLimit", "body_limit_for", "answer", "QUOTE",
           "MAX_TEXT", "EVENT_BODY_LIMIT", "MAX_PENDING_PER_SESSION", "check_ink", "LiveGate", "MAX_INK_CHARS"]


# ----------------------------------------------------------------------------- the one error path of handlers

def guarded(what: str, on_empty=None):
    """Wrap a handler: a user's mistake becomes a message for the user, anything else a logged plain apology.

    A user's mistake is an `InputError` (nin.serve.decode; nothing else counts, not even a ValueError)
    or a `gr.Error` already raised as a refusal. EmptyInput, the InputError for "nothing to classify yet",
    goes to `on_empty` when given. Refusals go through `nin.ui.limits.refuse`: a short message that quotes at
    most 60 characters of what was sent, a log line (one a second per kind), no traceback. Any other
    exception is a bug: its traceback is logged once and the user gets an apology without internals. Every handler of the page goes
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
