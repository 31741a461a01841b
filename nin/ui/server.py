"""The web server around the page: the ASGI middleware the app runs behind, in one list.

Gradio serves the page from a Starlette app that `demo.launch(app_kwargs={"middleware": MIDDLEWARE})`
wraps, outermost first: request bodies capped before Gradio reads them (`nin.ui.limits.BodyLimit`: events
32 KB, the sketchpad's canvas files 8 MB), at most 16 unread events per session
(`nin.ui.limits.PendingEventsLimit`), and no deep-link route (`RefuseDeepLinks`). The limits themselves
live in nin/ui/limits.py; this module adds the two middlewares that only refuse a route.
"""

from __future__ import annotations

from starlette.middleware import Middleware

from nin.ui.limits import COMPONENT_SERVER_LIMIT, BodyLimit, PendingEventsLimit, answer

DEEP_LINK_PATH = "/gradio_api/deep_link"


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


class ComponentServerBodyLimit(BodyLimit):
    """ASGI middleware: refuse /component_server bodies over `limit` bytes while they stream in.

    Gradio 6.31 reads every file of a multipart component_server request into memory (up to 1,000 files of
    max_file_size each) before any component code can look at it. `nin.ui.limits.BodyLimit` caps this route and
    every event route; this one caps only this route, for apps without event limits (nin.ui.components' tests).
    """

    def __init__(self, app, limit: int = COMPONENT_SERVER_LIMIT):
        super().__init__(app, lambda path: limit if path.rstrip("/").endswith("/component_server") else None)


MIDDLEWARE = [Middleware(BodyLimit), Middleware(PendingEventsLimit), Middleware(RefuseDeepLinks)]
