"""Shared test helpers, and the test tiers.

Tests that need something outside the repo (the official Fashion-MNIST files, Chromium, Playwright) skip on
a developer's machine that lacks it, but fail under CI=true: CI installs them, so a skip there would hide a
broken install step.

Tiers (markers, registered in pyproject.toml): `server` for tests that talk to the app launched in-process, `browser`
for tests that drive Chromium (always also `slow`), `slow` for anything that takes seconds on its own
(scoring 10,000 images, a CLI in a subprocess, a cold app start). `server` and `browser` are given from the
fixtures a test uses, so no test can forget them; `slow` is written on the test. Day to day:
`python -m pytest -q -m "not slow"`; the README's command and CI run everything.
"""

import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip locally, fail in CI, when a test's outside requirement is missing (in a test, a fixture, or at the
    top of a test module)."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI but missing: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_module(name: str) -> None:
    """`require` for an importable module: what the suite uses instead of pytest.importorskip, which skips in CI too."""
    import importlib.util

    require(importlib.util.find_spec(name) is not None, f"{name} not installed; pip install -r requirements-dev.txt")


@pytest.fixture(scope="session")
def official_data():
    """The official Fashion-MNIST arrays, loaded once per test session (no download in tests)."""
    from nin import data

    try:
        return data.load_fashion_mnist(download=False)
    except data.DataSourceError as exc:
        require(False, f"official Fashion-MNIST not found ({exc}); apt-get install -y dataset-fashion-mnist")


@pytest.fixture(scope="session")
def app_url():
    """The app launched in-process on a free port, as app.py launches it; yields its URL, closes it after.

    Session-scoped so the API and browser tests share one server (importing app loads torch and the weights).
    """
    import app
    from nin.dev.ports import free_port

    app.demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **app.LAUNCH)
    try:
        yield app.demo.local_url.rstrip("/")
    finally:
        app.demo.close()


@pytest.fixture(scope="module")
def raw(app_url):
    """A client that speaks to the launched app as the hostile rows do (nin.dev.attack): raw requests, any
    header, any session hash."""
    from nin.dev.attack import rows

    client = rows.Raw(app_url)
    yield client
    client.close()


CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own browser download is never used
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module (the browser test files share this)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright not installed; pip install -r requirements-dev.txt")

    require(CHROMIUM.exists(), f"{CHROMIUM} not found; apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


BROWSER_S = 60_000  # ms: a first prediction or a tab refresh (occlusion included) on a busy 2-core machine


@pytest.fixture(scope="module")
def open_page(browser, app_url):
    """A factory: a freshly loaded app page at a viewport size, connected ("Ready") and with its canvas drawn."""
    from playwright.sync_api import expect

    contexts = []

    def open_(width: int = 1400, height: int = 900, **options):
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        contexts.append(context)
        page = context.new_page()
        page.goto(app_url)
        expect(page.locator("#canvas .nin-cv-ink")).to_be_visible(timeout=BROWSER_S)
        # The page-load event reports "Ready" in the status line once the page is connected.
        expect(page.locator("#status")).to_contain_text("Ready", timeout=BROWSER_S)
        return page

    yield open_
    for context in contexts:
        context.close()


def upload(page, path: Path) -> None:
    """Upload a file through the page's Upload tab, as a person would."""
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload input[type=file]").set_input_files(str(path))


def sent_events(page) -> list[str]:
    """The names of the functions of the events the page sends to the queue from now on (a live list)."""
    import json

    import app

    functions = list(app.demo.fns.values())
    names: list[str] = []
    page.on("request", lambda request: names.append(functions[json.loads(request.post_data)["fn_index"]].name)
            if "/queue/join" in request.url else None)
    return names


def wait_until_sent(page, names: list[str], name: str, timeout_ms: int = BROWSER_S) -> None:
    """Wait until the page has sent an event of function `name` (names: from `sent_events`)."""
    waited = 0
    while name not in names:
        if waited >= timeout_ms:
            pytest.fail(f"the page never sent {name}; it sent {names}")
        page.wait_for_timeout(50)
        waited += 50


@pytest.fixture(scope="session")
def loaded():
    """The shipped default weights, loaded once per test session."""
    from nin.serve.pipeline import WEIGHTS_DIR, load_models

    return next(iter(load_models(WEIGHTS_DIR).values()))


@pytest.fixture(scope="session")
def untrained_nin():
    """A seeded xavier NiN in eval mode whose block4 bias is shifted so every class map is non-zero: random
    weights leave most class maps at 0 after the last ReLU, and comparisons would be trivially 0 == 0."""
    import torch

    from nin.model import NiN, xavier_init_

    torch.manual_seed(0)
    net = xavier_init_(NiN()).eval()
    with torch.no_grad():
        net.block4[4].bias.add_(torch.linspace(0.1, 1.0, 10))
    return net


SERVER_FIXTURES = {"app_url", "server"}  # the app, or test_components' small Gradio app, launched in-process
BROWSER_FIXTURES = {"browser"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))  # every fixture the test needs, directly or not
        if used & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
        if used & (SERVER_FIXTURES | BROWSER_FIXTURES):
            item.add_marker(pytest.mark.server)
