"""The web server around the page: the ASGI middleware the app runs behind, in one list.

Gradio serves the page from a Starlette app that `demo.launch(app_kwargs={"middleware": MIDDLEWARE})`
wraps, outermost first: request bodies capped before Gradio reads them (`nin.ui.limits.BodyLimit`: events
32 KB, the sketchpad's canvas files 8 MB), at most 16 unread events per session
(`nin.ui.limits.PendingEventsLimit`), and no deep-link route (`RefuseDeepLinks`). The limits themselves
live in nin/ui/limits.py; this module adds the middleware that only refuses a route.
"""

from __future__ import annotations

from starlette.middleware import Middleware

from nin.ui.limits import BodyLimit, PendingEventsLimit, answer

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


MIDDLEWARE = [Middleware(BodyLimit), Middleware(PendingEventsLimit), Middleware(RefuseDeepLinks)]
