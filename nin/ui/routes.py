"""Which of Gradio's routes the Space answers: an allow-list of those the page and the API need.

Gradio 6.31 serves ~80 routes, and each release adds some. Several do work this app never asks for, outside
every limit of nin/ui/request_limits.py: `POST /gradio_api/process_recording` runs an ffmpeg re-encode of any small
upload (six 30 KB clips held 3 GB and both cores for 31 s where ffmpeg is installed, as on Spaces images)
and leaves its output in Gradio's temp folder; others edit the app's source (`vibe-*`), read run history,
monitoring, deep links or proxy other Spaces. A deny-list would let the next release's new route through,
so `AllowedRoutes` answers 404 to every request whose method and path match no entry of ALLOWED, before
anything reads it, with one rate-limited log line a second. REFUSED lists the routes of the installed Gradio that
are refused on purpose: tests/test_routes.py fails when Gradio serves a route that is in neither list.
"""

from __future__ import annotations

import re

from nin.ui.rate_log import rate_log

PREFIX = "/gradio_api"

# (methods, path template as Gradio declares it). A GET route answers HEAD too, as Starlette's do.
ALLOWED: tuple[tuple[str, str], ...] = (
    # the page and its files
    ("GET HEAD", "/"), ("GET", "/config"), ("GET", "/config/"), ("GET", "/assets/{path:path}"),
    ("GET", "/static/{path:path}"), ("GET", "/favicon.ico"), ("GET", "/theme.css"), ("GET", "/robots.txt"),
    ("GET", "/manifest.json"), ("GET", f"{PREFIX}/theme.css"), ("GET", f"{PREFIX}/startup-events"),
    ("GET", f"{PREFIX}/info"), ("GET", f"{PREFIX}/info/"),
    ("GET", f"{PREFIX}/app_id"), ("GET", f"{PREFIX}/app_id/"),  # known to the page's client; answers a constant
    # a page's session and its events (the page and gradio_client alike)
    ("GET", f"{PREFIX}/heartbeat/{{session_hash}}"), ("POST", f"{PREFIX}/queue/join"),
    ("GET", f"{PREFIX}/queue/data"), ("GET", f"{PREFIX}/queue/status"), ("POST", f"{PREFIX}/cancel"),
    ("POST", f"{PREFIX}/reset"), ("POST", f"{PREFIX}/reset/"),
    ("POST", f"{PREFIX}/component_server"), ("POST", f"{PREFIX}/component_server/"),
    # files in and out
    ("POST", f"{PREFIX}/upload"), ("GET", f"{PREFIX}/upload_progress"),
    ("GET", f"{PREFIX}/file={{path_or_url:path}}"), ("GET", f"{PREFIX}/file/{{path:path}}"),
    # the API's routes (README, "API"; /run and /api refuse queued events themselves: api_open=False)
    ("POST", f"{PREFIX}/call/{{api_name}}"), ("POST", f"{PREFIX}/call/{{api_name}}/"),
    ("POST", f"{PREFIX}/call/v2/{{api_name}}"), ("POST", f"{PREFIX}/call/v2/{{api_name}}/"),
    ("GET", f"{PREFIX}/call/{{api_name}}/{{event_id}}"), ("GET", f"{PREFIX}/call/v2/{{api_name}}/{{event_id}}"),
    ("POST", f"{PREFIX}/run/{{api_name}}"), ("POST", f"{PREFIX}/run/{{api_name}}/"),
    ("POST", f"{PREFIX}/api/{{api_name}}"), ("POST", f"{PREFIX}/api/{{api_name}}/"),
)

# Routes of Gradio 6.31 refused on purpose (everything not in ALLOWED is refused; this list is what the
# installed version is known to serve, so that a new route fails tests/test_routes.py until it is judged).
REFUSED: tuple[tuple[str, str], ...] = (
    ("POST", f"{PREFIX}/process_recording"),                      # ffmpeg on any upload
    ("POST", f"{PREFIX}/vibe-edit"), ("POST", f"{PREFIX}/vibe-edit/"),  # the app's source, edited by an LLM
    ("POST", f"{PREFIX}/undo-vibe-edit"), ("POST", f"{PREFIX}/undo-vibe-edit/"),
    ("GET", f"{PREFIX}/vibe-code"), ("GET", f"{PREFIX}/vibe-code/"), ("POST", f"{PREFIX}/vibe-code"),
    ("POST", f"{PREFIX}/vibe-code/"), ("POST", f"{PREFIX}/vibe-starter-queries"),
    ("POST", f"{PREFIX}/vibe-starter-queries/"),
    ("GET", f"{PREFIX}/deep_link"),                               # writes a session's state to disk
    ("GET", f"{PREFIX}/runs"), ("GET", f"{PREFIX}/runs/"), ("POST", f"{PREFIX}/run-history/connect"),
    ("GET", f"{PREFIX}/run-history/buckets"), ("GET", f"{PREFIX}/run-history/records"),
    ("GET", f"{PREFIX}/run-history/records/{{endpoint}}/{{record_id}}/assets/{{asset_id}}"),
    ("GET", "/monitoring"), ("GET", "/monitoring/summary"), ("GET", "/monitoring/{key}"),
    ("GET", f"{PREFIX}/dev/reload"),                              # reload mode only
    ("POST", "/login"), ("POST", "/login/"), ("GET", "/logout"),  # no login on this app
    ("GET", f"{PREFIX}/user"), ("GET", f"{PREFIX}/user/"), ("GET", f"{PREFIX}/token"), ("GET", f"{PREFIX}/token/"),
    ("GET", f"{PREFIX}/login_check"), ("GET", f"{PREFIX}/login_check/"),
    ("GET HEAD", f"{PREFIX}/proxy={{url_path:path}}"),            # files of other Spaces
    ("GET", f"{PREFIX}/custom_component/{{id}}/{{environment}}/{{type}}/{{file_name}}"),  # none used
    ("GET", "/svelte/{path:path}"),                               # server-side rendering (off)
    ("POST", f"{PREFIX}/stream/{{event_id}}"), ("POST", f"{PREFIX}/stream/{{event_id}}/close"),  # no streaming
    ("GET", f"{PREFIX}/stream/{{session_hash}}/{{run}}/{{component_id}}/playlist.m3u8"),
    ("GET", f"{PREFIX}/stream/{{session_hash}}/{{run}}/{{component_id}}/{{segment_id}}.{{ext}}"),
    ("GET", f"{PREFIX}/stream/{{session_hash}}/{{run}}/{{component_id}}/playlist-file"),
    ("GET", "/openapi.json"), ("GET", f"{PREFIX}/openapi.json"),  # the API is described by /info
    ("GET", "/pwa_icon"), ("GET", "/pwa_icon/{size}"),            # no progressive web app
)


def template_pattern(template: str) -> str:
    """A route template as a regular expression: `{name:path}` any rest, `{name}` one path segment."""
    parts = re.split(r"(\{[^}]+\})", template)
    return "".join(("(?:.*)" if part.endswith(":path}") else "(?:[^/]+)") if part.startswith("{") else re.escape(part)
                   for part in parts)


def matcher(routes) -> dict[str, re.Pattern]:
    """One regular expression per method for `routes` ((methods, template) pairs); GET implies HEAD."""
    by_method: dict[str, list[str]] = {}
    for methods, template in routes:
        names = set(methods.split())
        if "GET" in names:
            names.add("HEAD")
        for method in names:
            by_method.setdefault(method, []).append(template_pattern(template))
    return {method: re.compile("|".join(f"(?:{p})" for p in patterns)) for method, patterns in by_method.items()}


ALLOWED_MATCH = matcher(ALLOWED)


def allowed(method: str, path: str) -> bool:
    pattern = ALLOWED_MATCH.get(method)
    return pattern is not None and pattern.fullmatch(path) is not None


class AllowedRoutes:
    """ASGI middleware: 404 for any HTTP request outside ALLOWED, and no WebSocket, before anything reads it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and allowed(scope.get("method", ""), scope["path"]):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":  # the page and the API use none
            return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rate_log.line("route refused", f"{scope.get('method')} {scope['path'][:80]}")
        body = b'{"detail":"Not Found"}'
        await send({"type": "http.response.start", "status": 404,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


__all__ = ["ALLOWED", "REFUSED", "AllowedRoutes", "allowed", "matcher", "template_pattern"]
