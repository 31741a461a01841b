"""What one request may cost before Gradio reads it: its body, and the events its session may have waiting.

Gradio 6.31's `/gradio_api/queue/join`, `/run/*` and `/call/*` read a JSON body of any size into memory
before anything can look at it, and a session may join any number of events and never read their results;
each result waits in memory. `BodyLimit` caps request bodies while they stream in, and `PendingEventsLimit`
caps the events one session (and, behind a trusted proxy, one caller) may have waiting. `read_body`,
`replaying` and `answer` are the small pieces every middleware of nin/ui shares.
"""

from __future__ import annotations

import json
import re

from nin.serve.checks import quote
from nin.ui import callers
from nin.ui.callers import scope_client
from nin.ui.rate_log import rate_log

EVENT_BODY_LIMIT = 32 << 10   # bytes of an event request (measured: see README, "Running it in public")
COMPONENT_SERVER_LIMIT = 64 << 10  # bytes of a /component_server call: the canvas's live calls, ink and all
MAX_PENDING_PER_SESSION = 16  # events one session may have joined and not yet read
UPLOAD_BODY_LIMIT = 12 << 20  # bytes of one upload request: one file (Gradio refuses one over 10 MB with its own message)

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
                raise BodyTooLarge
            return message

        async def sending(message):
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except BodyTooLarge:
            if not started:
                await answer(send, 413, f"Request body over {limit} bytes.")


class BodyTooLarge(Exception):
    """Raised inside a route whose body has gone over its limit while streaming in."""


# ----------------------------------------------------------------------------- who may join an event

EVENT_JOIN_ROUTES = re.compile(r".*/(queue/join|call/v2/[^/]+|call/[^/]+|run/[^/]+|api/[^/]+)/?")
MAX_ACTIVE_PER_CLIENT = 4    # model events one caller may have queued or running at once (with CLIENT_HEADER)
MODEL_GROUP = "model"        # the concurrency group of every event that runs the network (app.py)


class PendingEventsLimit:
    """ASGI middleware: who may join an event, checked before Gradio reads the request.

    On every route that starts an event (`/queue/join`, `/call/*`, `/run/*`, `/api/*`):

    - the event must exist and run on the server: an unknown `fn_index` or API name, or an event that only
      runs in the browser, gets 400/404 with one rate-limited log line (Gradio answers them with a traceback);
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
            rate_log.line("bad event request", f"{scope['path']}: body is not a JSON object")
            return await answer(send, 400, "The request body is not a JSON object.")
        fn, problem = _event_of(blocks, scope["path"], value)
        if fn is None:
            rate_log.line("bad event request", f"{scope['path']}: {problem}")
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
            rate_log.line("too many unread", f"{client}: {unread} results unread")
            return await answer(send, 429, f"This session has {unread} events whose results it has not read; "
                                           f"at most {self.limit} may wait. Read them first.")
        counts_active = bool(callers.CLIENT_HEADER) and fn.concurrency_id == MODEL_GROUP
        if counts_active:
            active = self.joining_client.get(client, 0) + sum(
                1 for event in list(queue.event_ids_to_events.values())
                if event.concurrency_id == MODEL_GROUP and _event_client(event) == client)
            if active >= self.active_limit:
                rate_log.line("too many running", f"{client}: {active} model events queued or running")
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
