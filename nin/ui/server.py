"""The web server around the page: the ASGI middleware the app runs behind, in one list.

Gradio serves the page from a Starlette app that `demo.launch(app_kwargs={"middleware": MIDDLEWARE})`
wraps, outermost first:

- `nin.ui.routes.AllowedRoutes`: only the routes the page and the API need (an allow-list); every other
  Gradio route, `process_recording` included, is answered 404 before anything runs;
- `nin.ui.request_limits.BodyLimit`: request bodies capped before anything reads them;
- `QuietErrors`: requests Gradio would answer with a traceback in the log (an unknown session's stream,
  an unknown event id, an unknown component, a multi-part Range) are refused here with 4xx, and whatever
  else escapes Gradio's routes is answered with 400 and one short, rate-limited log line;
- `nin.ui.uploads.UploadBudget`: a per-caller upload rate and a size budget for the file cache;
- `nin.ui.request_limits.PendingEventsLimit`: only events that exist, at most 16 unread results per session, and
  (behind a trusted proxy) at most 4 model events queued or running per caller;
- `nin.ui.session_guard.SessionGuard`: session hashes of Gradio's length, no session created by a live call,
  and (behind a trusted proxy) a budget of new sessions per caller, so no caller can evict the others';
- `RefuseDeepLinks`: no deep-link route (also outside the allow-list; kept as the sessions module's promise).

Below the middleware, nin.ui.connections bounds the connections themselves (read deadlines, a cap).

The limits themselves live in nin/ui/request_limits.py and nin/ui/uploads.py; this module adds the middleware that only refuses a route.
It is not where a handler's own refusals are made (nin.ui.refusals.refuse).
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs

from starlette.middleware import Middleware

from nin.ui.request_limits import BodyLimit, BodyTooLarge, PendingEventsLimit, answer, read_body, replaying
from nin.ui.uploads import UploadBudget
from nin.ui.rate_log import rate_log
from nin.ui.routes import AllowedRoutes
from nin.ui.session_guard import SessionGuard

DEEP_LINK_PATH = "/gradio_api/deep_link"
SINGLE_RANGE = re.compile(rb"bytes=[0-9]{1,15}-[0-9]{0,15}")


class RefuseDeepLinks:
    """ASGI middleware: 404 for /gradio_api/deep_link, which would write a session's state to disk.

    Deep links are the one feature of the per-session component configs that nin.ui.sessions drops.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].rstrip("/").endswith(DEEP_LINK_PATH):
            return await answer(send, 404, "Not Found")
        await self.app(scope, receive, send)


class QuietErrors:
    """ASGI middleware: a client's mistake on Gradio's own routes costs one short log line at most, never a
    traceback, and is answered with 4xx.

    Gradio 6.31 answers several malformed requests by raising inside the route, and uvicorn logs each
    exception with its traceback (5-6 KB): a stream for an unknown session (`/queue/data`), results of an
    unknown event (`GET /call/<api>/<id>`), a `/component_server` call naming an unknown component or
    function, a Range header of several ranges on a file. Those are checked here first. Anything else that
    escapes a route is answered with 400 (or, once the answer has started, ended) and logged as one line
    through `nin.ui.rate_log`, at most one a second per kind.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = self.refusal(scope)
        if refusal is not None:
            status, kind, detail = refusal
            rate_log.line(kind, f"{scope.get('method')} {scope['path'][:80]}")
            return await answer(send, status, detail)
        if scope.get("method") == "POST" and scope["path"].rstrip("/").endswith("/component_server"):
            return await self.component_server(scope, receive, send)
        await self.run_quietly(scope, receive, send)

    async def run_quietly(self, scope, receive, send):
        started = finished = False

        async def sending(message):
            nonlocal started, finished
            started = True
            finished = message["type"] == "http.response.body" and not message.get("more_body", False)
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BodyTooLarge:  # BodyLimit's own signal, answered by BodyLimit outside this one
            raise
        except Exception as exc:  # a route failed on what the client sent; its traceback would flood the log
            rate_log.line("request failed", f"{scope.get('method')} {scope['path'][:80]}: {type(exc).__name__}")
            if not started:
                await answer(send, 400, "The request could not be handled.")
            elif not finished:
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    def refusal(scope) -> tuple[int, str, str] | None:
        """(status, log kind, message) for a request Gradio would fail on with a traceback, else None."""
        method, path = scope.get("method"), scope["path"].rstrip("/")
        if method not in ("GET", "HEAD"):
            return None
        headers = dict(scope.get("headers") or [])
        if "/file" in path and b"range" in headers and not SINGLE_RANGE.fullmatch(headers[b"range"].strip()):
            return 416, "bad range", "Only one byte range per request is served."
        blocks_queue = getattr(getattr(scope.get("app"), "get_blocks", lambda: None)(), "_queue", None)
        if blocks_queue is None:
            return None
        if path.endswith("/queue/data"):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            session = (query.get("session_hash") or [""])[0]
            if session not in blocks_queue.pending_messages_per_session:
                return 404, "unknown session", "No events for this session."
        match = re.fullmatch(r".*/call/(?:v2/)?[^/]+/([^/]+)", path)
        if match and not re.search(r"/stream/", path):
            event_id = match.group(1)
            if event_id not in blocks_queue.event_ids_to_events and not any(
                    event_id in ids for ids in list(blocks_queue.pending_event_ids_session.values())):
                return 404, "unknown event", "No such event, or its result was already read."
        return None

    async def component_server(self, scope, receive, send):
        """A live call must be JSON naming a component and one of its server functions, and a session."""
        body = await read_body(receive)
        if body is None:
            return
        problem = component_call_problem(scope["app"].get_blocks(), body)
        if problem is not None:
            rate_log.line("bad live call", problem)
            return await answer(send, 404 if problem.startswith("no ") else 400, problem)
        await self.run_quietly(scope, replaying(body, receive), send)


def component_call_problem(blocks, body: bytes) -> str | None:
    """Why a /component_server body names no server function Gradio can call, or None."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return "a live call is a JSON object"
    if not isinstance(value, dict) or not {"data", "component_id", "session_hash", "fn_name"} <= value.keys():
        return "a live call sends data, component_id, session_hash and fn_name"
    component, name, session = value["component_id"], value["fn_name"], value["session_hash"]
    if isinstance(component, bool) or not isinstance(component, int) or component not in blocks.blocks:
        return "no such component"
    if not isinstance(session, str) or not isinstance(name, str):
        return "session_hash and fn_name are text"
    if not getattr(getattr(blocks.blocks[component], name, None), "_is_server_fn", False):
        return "no such function of this component"
    return None


# AllowedRoutes first: a route the app does not use is refused before anything else runs. Then BodyLimit:
# nothing after it, QuietErrors included, reads a body it has not bounded.
# SessionGuard after PendingEventsLimit: a join of an event that does not exist is refused before it can spend
# the caller's budget of new sessions.
MIDDLEWARE = [Middleware(AllowedRoutes), Middleware(BodyLimit), Middleware(QuietErrors), Middleware(UploadBudget),
              Middleware(PendingEventsLimit), Middleware(SessionGuard), Middleware(RefuseDeepLinks)]
