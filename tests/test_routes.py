"""nin/ui/routes.py as a specification: the server answers only the routes the page and the API need.

Gradio's routes are read from the installed version's running app, so a Gradio upgrade that adds a route fails
here until the route is judged (allowed in nin.ui.routes.ALLOWED or listed in REFUSED).
"""

import os
import re

import httpx

from nin.ui.routes import ALLOWED, REFUSED, allowed, template_pattern
from nin.dev.attack import server_rows as attack_server


def served_routes(app) -> set[tuple[str, str]]:
    """(method, path template) of every HTTP route the app serves, routers included."""
    found = set()

    def walk(routes):
        for route in routes:
            inner = getattr(getattr(route, "original_router", None), "routes", None) or \
                (getattr(route, "routes", None) if not hasattr(route, "endpoint") else None)
            if inner is not None:
                walk(inner)
            elif getattr(route, "methods", None):
                found.update((method, route.path) for method in route.methods if method != "HEAD")
    walk(app.routes)
    return found


def listed(routes) -> set[tuple[str, str]]:
    return {(method, template) for methods, template in routes for method in methods.split() if method != "HEAD"}


def test_every_route_gradio_serves_is_either_allowed_or_refused_on_purpose(app_url):
    import app

    served = served_routes(app.demo.server_app)
    assert len(served) > 50, served  # the walk reached Gradio's router
    unjudged = sorted(served - listed(ALLOWED) - listed(REFUSED))
    assert unjudged == [], f"routes of the installed Gradio neither allowed nor refused: {unjudged}"
    assert not listed(ALLOWED) & listed(REFUSED)


def test_every_refused_route_is_outside_the_allow_list():
    for methods, template in REFUSED:
        example = re.sub(r"\{[^}]+\}", "x", template)
        assert not any(allowed(method, example) for method in methods.split()), template


def test_the_page_and_the_api_routes_are_allowed():
    for method, path in [("GET", "/"), ("HEAD", "/"), ("GET", "/config"), ("GET", "/assets/index-abc.js"),
                         ("GET", "/gradio_api/file=/tmp/gradio/abc/x.png"), ("POST", "/gradio_api/queue/join"),
                         ("GET", "/gradio_api/heartbeat/abc123"), ("POST", "/gradio_api/component_server/"),
                         ("POST", "/gradio_api/call/predict"), ("GET", "/gradio_api/call/predict/abc"),
                         ("POST", "/gradio_api/upload"), ("GET", "/gradio_api/info")]:
        assert allowed(method, path), (method, path)
    assert not allowed("POST", "/gradio_api/process_recording")
    assert not allowed("DELETE", "/gradio_api/queue/join")
    assert re.fullmatch(template_pattern("/a/{x}/b"), "/a/1/b") and not re.fullmatch(template_pattern("/a/{x}/b"), "/a/1/2/b")


def test_process_recording_is_refused_and_starts_no_ffmpeg(raw, capfd):
    """Refused before the route runs: the answer is the allow-list's 404, with or without ffmpeg installed."""
    from gradio.utils import get_upload_folder

    capfd.readouterr()
    folder = get_upload_folder()
    before = {name for _, _, names in os.walk(folder) for name in names} if os.path.isdir(folder) else set()
    found = attack_server.row_process_recording(raw, clips=2, size=30_000)
    assert found["statuses"] == [404, 404] and found["ffmpeg_max"] == 0, found
    after = {name for _, _, names in os.walk(folder) for name in names} if os.path.isdir(folder) else set()
    assert not [name for name in after - before if name.endswith(("_processed.mp4", ".mp4"))]
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and (out + err).count("\n") <= 2


def test_gradios_other_unused_routes_are_refused(raw):
    found = attack_server.row_other_routes(raw)
    assert all(status == 404 for status in found.values()), found


def test_a_websocket_upgrade_is_not_served(app_url):
    response = httpx.get(f"{app_url}/gradio_api/queue/join", headers={"connection": "upgrade", "upgrade": "websocket",
                                                                      "sec-websocket-version": "13",
                                                                      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert response.status_code != 101
