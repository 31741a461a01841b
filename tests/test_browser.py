"""The page in a real browser: draw (as a newcomer does: no tool clicked first), live prediction during a
stroke and the latency after a burst of strokes, the first minute on a phone, upload, clear, a bad file, the
channel switch, the lessons, the model report, and screenshots.

Measured figures (live-stroke.json, burst-latency.json) land next to the screenshots and in the test log (-s).

Debian's /usr/bin/chromium (`apt-get install -y chromium`) driven by the sync API of PyPI's playwright, never
`playwright install`: Playwright's own browser download is not used anywhere (see conftest.browser).
Skips on a machine without Chromium, fails in CI. Screenshots land in the git-ignored artifacts/screenshots/,
so running the tests leaves the work tree clean; `NIN_SCREENSHOT_DIR=docs python -m pytest -q
tests/test_browser.py -k screenshot` refreshes the README's picture (docs/desktop.png) on purpose.
"""

import json
import os
import re
import time
from pathlib import Path

import pytest

from conftest import sent_events, upload, wait_until_sent

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `browser` fixture skips these tests, or fails them under CI=true (tests/conftest.py)
    Page = expect = None

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("NIN_SCREENSHOT_DIR") or ROOT / "artifacts" / "screenshots")
EXAMPLE = Path(__file__).resolve().parents[1] / "nin" / "examples" / "test00000_ankle-boot.png"
STAGES = ["block1", "pool1", "block2", "pool2", "block3", "pool3", "block4"]
PREDICTION_S = 30_000   # first prediction on a busy 2-core machine, in ms
UI_S = 15_000           # anything else the page does, in ms

TOP_LABEL = '#prediction [data-testid="label-output-value"]'
EDITOR_MARGIN = 30      # px the image editor keeps around its drawing area (Gradio's zoom "fit" border)
PHONE = (390, 844)
DESKTOP = (1400, 1000)


def drawing_area(page: Page) -> dict:
    """The drawing square on screen. The editor's canvas element is 30 px larger on every side (its fit margin),
    and the page clips that margin away: the visible square is exactly the drawing area."""
    box = page.locator("#sketch .pixi-target canvas").bounding_box()
    return {"x": box["x"] + EDITOR_MARGIN, "y": box["y"] + EDITOR_MARGIN,
            "width": box["width"] - 2 * EDITOR_MARGIN, "height": box["height"] - 2 * EDITOR_MARGIN}


def stroke(page: Page, points: list[tuple[float, float]], steps: int = 3) -> None:
    """One pen-down stroke through points given as fractions (0..1) of the visible drawing square. As a
    newcomer draws: no tool is clicked first."""
    area = drawing_area(page)
    xy = [(area["x"] + x * area["width"], area["y"] + y * area["height"]) for x, y in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for point in xy[1:]:
        page.mouse.move(*point, steps=steps)
    page.mouse.up()


def in_viewport(page: Page, selector: str) -> bool:
    """Whether the element is entirely on screen, without scrolling."""
    return page.locator(selector).first.evaluate(
        "e => { const b = e.getBoundingClientRect(); return b.height > 0 && b.top >= 0 && b.left >= 0 && "
        "b.bottom <= window.innerHeight && b.right <= window.innerWidth; }")


RECORD_JS = """() => {
  // performance.now() of each trusted pointerup, of each event sent, and of each result the page shows:
  // [time, 28x28 picture, status].
  window.ninUps = []; window.ninResults = []; window.ninJoins = []; window.ninStart = performance.now();
  document.addEventListener('pointerup', e => { if (e.isTrusted) window.ninUps.push(performance.now()); }, true);
  const fetch = window.fetch;  // when each event is sent to the server's queue
  window.fetch = function (input) {
    if (String(input && input.url || input).includes('/queue/join')) window.ninJoins.push(performance.now());
    return fetch.apply(this, arguments);
  };
  let last = null;
  const note = () => {
    const img = document.querySelector('#input28 img');
    const status = document.querySelector('#status [data-testid="markdown"]');  // not its progress timer
    const now = [img ? img.getAttribute('src') : null, status ? status.textContent : null];
    if (now[0] && (!last || now[0] !== last[0] || now[1] !== last[1])) {
      last = now; window.ninResults.push([performance.now(), ...now]);
    }
  };
  const watch = {subtree: true, childList: true, attributes: true, characterData: true};
  for (const id of ['input28', 'status']) new MutationObserver(note).observe(document.getElementById(id), watch);
}"""


def record(page: Page) -> None:
    """Start noting pen-ups and results (see RECORD_JS); the notes live in the page."""
    page.evaluate(RECORD_JS)


def wait_until_quiet(page: Page, quiet_ms: int = 2500, limit_ms: int = PREDICTION_S) -> None:
    """Wait until neither a pen-up nor a new result has happened for quiet_ms."""
    page.wait_for_function(
        "q => { const r = window.ninResults, u = window.ninUps;"
        "       const last = Math.max(window.ninStart, r.length ? r[r.length - 1][0] : 0,"
        "                             u.length ? u[u.length - 1] : 0);"
        "       return performance.now() - last > q; }", arg=quiet_ms, timeout=limit_ms, polling=100)


def png_bytes(page: Page, src: str) -> list[int]:
    return page.evaluate("async u => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer()))", src)


def save_figures(name: str, figures: dict) -> None:
    """Measured numbers go next to the screenshots (artifacts/, git-ignored) and to the test log."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(name, figures)


def slow_stroke(page: Page, points: list[tuple[float, float]], duration_ms: int = 2500) -> None:
    """Like a hand: the pen goes down and moves through the points for about duration_ms, in small moves with
    short pauses, and stays down at the end. Timed, not counted: on a loaded machine each move is slower, so
    there are fewer of them, but the pen is down as long."""
    area = drawing_area(page)
    xy = [(area["x"] + x * area["width"], area["y"] + y * area["height"]) for x, y in points]
    per_segment = duration_ms / 1000 / (len(xy) - 1)
    page.mouse.move(*xy[0])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(xy, xy[1:]):
        start, done = time.monotonic(), 0.0
        while done < 1:
            done = min(1.0, (time.monotonic() - start) / per_segment)
            page.mouse.move(x0 + (x1 - x0) * done, y0 + (y1 - y0) * done)
            page.wait_for_timeout(30)


def expect_prediction(page: Page, timeout: int = PREDICTION_S) -> str:
    top = page.locator(TOP_LABEL)
    expect(top).to_be_visible(timeout=timeout)
    return top.inner_text().strip()


TROUSERS = [(0.35, 0.15), (0.35, 0.85), (0.5, 0.3), (0.65, 0.85), (0.65, 0.15)]
SHIRT = [(0.2, 0.3), (0.4, 0.15), (0.6, 0.15), (0.8, 0.3), (0.7, 0.85), (0.3, 0.85), (0.2, 0.3)]
BAG = [(0.25, 0.4), (0.75, 0.4), (0.75, 0.8), (0.25, 0.8), (0.25, 0.4)]


# ----------------------------------------------------------------------------- drawing

def test_one_stroke_on_the_page_as_loaded_shows_a_prediction_with_no_tool_clicked(open_page):
    # Regressions: Gradio 6.31's editor starts (and comes back after Clear) with no drawing tool, so a stroke
    # drew nothing until the Brush icon was clicked; and with a Sketchpad value= the first stroke was swallowed.
    page = open_page(*DESKTOP)
    # Nothing is clicked: the brush must already be the active tool (highlighted) on the page as loaded.
    expect(page.locator("#sketch").get_by_role("button", name="Brush", exact=True)).to_have_class(re.compile(r"\bhighlight\b"),
                                                                                       timeout=UI_S)
    expect(page.locator("#sketch")).not_to_contain_text("select the draw tool")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "desktop-as-loaded.png"))
    record(page)
    stroke(page, TROUSERS)
    expect_prediction(page)
    wait_until_quiet(page)  # the pen-up's prediction, not one from the middle of the stroke
    page.screenshot(path=str(SHOTS / "desktop-after-a-stroke.png"))


def test_a_stroke_along_the_edge_of_the_black_square_counts(open_page):
    """The whole visible square takes ink: no dead margin around the drawing area."""
    page = open_page()
    stroke(page, [(0.02, 0.02), (0.98, 0.02), (0.98, 0.3)])
    expect_prediction(page)
    expect(page.locator("#status")).to_contain_text("%", timeout=UI_S)
    # The 28x28 input is drawn from the ink: an empty or vanished stroke leaves no picture.
    expect(page.locator("#input28 img")).to_be_visible(timeout=UI_S)


def test_the_colour_swatch_pan_and_zoom_are_not_offered(open_page):
    page = open_page()
    for tool in ("Color", "Pan", "Zoom in", "Zoom out"):
        expect(page.locator(f'#sketch button[aria-label="{tool}"]')).to_be_hidden()
    for tool in ("Brush", "Erase", "Brush Size", "Undo", "Clear canvas"):
        expect(page.locator(f'#sketch button[aria-label="{tool}"]')).to_be_visible()


def test_drawing_shows_a_prediction_that_updates_on_the_next_stroke(open_page):
    page = open_page()
    stroke(page, TROUSERS)
    label = expect_prediction(page)
    expect(page.locator("#status")).to_contain_text(label, timeout=UI_S)
    seen = page.locator("#input28 img")
    expect(seen).to_be_visible(timeout=UI_S)
    before = seen.get_attribute("src")

    stroke(page, BAG)  # a different shape: the 28x28 input must change
    expect(seen).not_to_have_attribute("src", before, timeout=PREDICTION_S)
    expect(page.locator("#gap .nin-card")).to_have_count(10, timeout=UI_S)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "draw.png"), full_page=True)


def test_clear_canvas_brings_back_the_prompt_and_removes_the_prediction(open_page):
    page = open_page()
    stroke(page, SHIRT)
    stroke(page, [(0.3, 0.5), (0.7, 0.5)])
    expect_prediction(page)

    page.locator('#sketch button[aria-label="Clear canvas"]').click()
    expect(page.locator("#status")).to_contain_text("Draw a garment", timeout=PREDICTION_S)
    expect(page.locator(TOP_LABEL)).to_have_count(0, timeout=UI_S)
    expect(page.locator("#gap .nin-card")).to_have_count(0)
    expect(page.locator("#features figure.nin-stage")).to_have_count(0)

    stroke(page, TROUSERS)  # Clear put the editor back to "no tool": the next stroke must still draw
    expect_prediction(page)


# ----------------------------------------------------------------------------- live while drawing

def test_the_prediction_updates_during_a_stroke_before_the_pen_is_lifted(open_page):
    page = open_page(*DESKTOP)
    record(page)
    down = page.evaluate("performance.now()")
    slow_stroke(page, SHIRT)  # about 2.5 s with the pen down
    # Still pressed: the prediction of the stroke so far is on the page.
    expect(page.locator(TOP_LABEL)).to_be_visible(timeout=PREDICTION_S)
    during = page.evaluate("window.ninResults.map(r => r[0])")
    lifted = page.evaluate("performance.now()")
    page.mouse.up()
    assert during, "no prediction was shown while the pen was down"
    save_figures("live-stroke", {"pen_down_ms": round(lifted - down), "first_prediction_after_pen_down_ms":
                                 round(during[0] - down), "predictions_shown_while_pen_down": len(during),
                                 "load_average_1min": os.getloadavg()[0], "cpus": os.cpu_count()})


def test_after_a_quick_burst_of_strokes_the_final_drawing_is_classified_and_the_server_answers_within_a_second(
        open_page):
    """Time from the last stroke's pen-up to the page showing the prediction of the whole drawing.

    The target is 1 s from pen-up. Headless Chromium here paints the canvas in software and Gradio 6.31
    re-exports the drawing on every status message, so the browser alone spends ~2.6 s before the final
    request leaves (measured on a quiet 2-core machine; milliseconds with a GPU-backed canvas). What the
    app controls, request sent -> result shown, must stay under 1 s; the whole span is recorded, and must
    stay under NIN_BURST_BUDGET_MS (10 s by default: no lost or stuck final result)."""
    page = open_page(*DESKTOP)
    stroke(page, [(0.3, 0.3), (0.7, 0.3)])  # the page's first request pays one-off costs: not measured
    expect_prediction(page)
    record(page)
    wait_until_quiet(page, 1000)
    strokes = [[(0.35, 0.15), (0.35, 0.85)], [(0.65, 0.15), (0.65, 0.85)], [(0.35, 0.15), (0.65, 0.15)],
               [(0.5, 0.15), (0.5, 0.45)], [(0.4, 0.85), (0.3, 0.9)], [(0.6, 0.85), (0.7, 0.9)]]
    for points in strokes:  # a quick burst: a few moves a stroke, no pause between strokes
        stroke(page, points, steps=4)
    wait_until_quiet(page)
    ups = page.evaluate("window.ninUps")
    results = page.evaluate("window.ninResults")
    first_up, last_up = ups[-len(strokes)], ups[-1]
    shown_at, shown, _ = results[-1]
    latency = shown_at - last_up
    updates = [t for t, *_ in results if t > first_up]
    sent = max((t for t in page.evaluate("window.ninJoins") if t < shown_at), default=shown_at)

    # What was shown last is the prediction of the whole drawing: an explicit "Classify drawing" of the canvas
    # as it is now sees the same 28x28 input. (Pictures are cached by content, so the same input keeps the
    # same address; the status line, with its timing, is what changes.)
    with page.expect_request(lambda request: "/queue/join" in request.url, timeout=UI_S):
        page.locator("#classify").click()
    page.evaluate("window.ninStart = performance.now()")
    wait_until_quiet(page)
    reference = page.locator("#input28 img").get_attribute("src")
    assert reference == shown or png_bytes(page, shown) == png_bytes(page, reference), \
        "the last picture shown was not the final drawing's"

    save_figures("burst-latency", {"strokes": len(strokes), "burst_ms": round(last_up - first_up),
                                   "results_shown_during_and_after_the_burst": len(updates),
                                   "last_pen_up_to_final_result_ms": round(latency),
                                   # of which: in the browser until the final request left (the editor exports
                                   # the canvas), then the server's round trip and the page showing the result
                                   "pen_up_to_request_sent_ms": round(sent - last_up),
                                   "request_sent_to_result_shown_ms": round(shown_at - sent),
                                   "load_average_1min": os.getloadavg()[0], "cpus": os.cpu_count()})
    assert shown_at - sent < 1000, f"the server's answer took {shown_at - sent:.0f} ms to show"
    budget = int(os.environ.get("NIN_BURST_BUDGET_MS", 10_000))
    assert latency < budget, f"the final result came {latency:.0f} ms after the last stroke (budget {budget} ms)"


# ----------------------------------------------------------------------------- the first minute on a phone

def test_on_a_phone_the_top_class_shows_under_the_canvas_while_drawing(open_page):
    page = open_page(*PHONE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "phone-as-loaded.png"))
    assert in_viewport(page, "#sketch"), "the canvas is not on the first screen"
    slow_stroke(page, TROUSERS)  # pen still down
    expect(page.locator("#status")).to_contain_text(re.compile(r"with \d+%"), timeout=PREDICTION_S)
    assert in_viewport(page, "#sketch") and in_viewport(page, "#status"), "canvas and prediction not both on screen"
    page.screenshot(path=str(SHOTS / "phone-drawing.png"))
    page.mouse.up()
    label = expect_prediction(page)
    expect(page.locator("#status")).to_contain_text(label, timeout=UI_S)  # one source of truth
    assert in_viewport(page, "#status")


def test_on_a_phone_tapping_an_example_brings_its_prediction_on_screen(open_page):
    page = open_page(*PHONE)
    example = page.locator("#examples button.gallery-item").first
    example.scroll_into_view_if_needed()
    example.click()
    expect(page.locator(TOP_LABEL)).to_be_visible(timeout=PREDICTION_S)
    expect(page.locator(TOP_LABEL)).to_be_in_viewport(timeout=UI_S)
    page.wait_for_timeout(600)  # the smooth scroll settles
    page.screenshot(path=str(SHOTS / "phone-after-an-example.png"))


def test_tapping_a_drawing_example_loads_it_into_the_canvas_and_names_its_class(open_page):
    page = open_page()
    drawing = page.locator("#gallery-sketch button.gallery-item").first  # drawing_bag.png, in file order
    drawing.scroll_into_view_if_needed()
    drawing.click()
    expect(page.locator(TOP_LABEL)).to_have_text("Bag", timeout=PREDICTION_S)
    expect(page.locator("#steps")).to_contain_text("Drawing → Fashion-MNIST style", timeout=UI_S)
    expect(page.locator("#steps")).to_contain_text("filled in", timeout=UI_S)


def test_on_a_phone_every_lesson_tab_is_visible_without_an_overflow_menu(open_page):
    page = open_page(*PHONE)
    tabs = page.locator("#lessons").get_by_role("tab")
    expect(tabs.first).to_be_visible(timeout=UI_S)
    count = tabs.count()
    assert count >= 7, f"{count} lesson tabs"
    for i in range(count):
        expect(tabs.nth(i)).to_be_visible()
        box = tabs.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0], f"tab {i} sticks out of the screen"
    expect(page.locator('#lessons button[aria-label="More tabs"]')).to_be_hidden()
    tabs.last.click()  # one tap, straight to the last one
    expect(tabs.last).to_have_attribute("aria-selected", "true")
    expect(page.locator('[id^="confusion-"]').first).to_be_visible(timeout=UI_S)


def test_on_a_phone_the_confusion_matrix_scrolls_sideways_with_a_faded_edge(open_page):
    page = open_page(*PHONE)
    open_tab(page, "Model report")
    table = page.locator(".nin-cm-wrap").first
    expect(table).to_be_visible(timeout=UI_S)
    assert table.evaluate("e => e.scrollWidth > e.clientWidth"), "the matrix fits: nothing to test"
    expect(table).to_have_attribute("data-nin-more", "right", timeout=UI_S)
    table.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    expect(table).to_have_attribute("data-nin-more", "left", timeout=UI_S)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"page is {overflow}px wider than a 390px phone"


# ----------------------------------------------------------------------------- uploading

@pytest.fixture(scope="module")
def uploaded(open_page) -> Page:
    """A desktop-width page after uploading an official test image."""
    page = open_page(*DESKTOP)
    upload(page, EXAMPLE)
    expect_prediction(page)
    expect(page.locator("#features figure.nin-stage")).to_have_count(len(STAGES), timeout=PREDICTION_S)
    return page


def images_loaded(page: Page, selector: str) -> None:
    """Wait until every <img> under selector has decoded pixels. Lazy images are switched to eager first:
    a quick scroll does not always give the browser's intersection observer a frame to start them."""
    page.evaluate("s => document.querySelectorAll(s).forEach(i => { i.loading = 'eager'; })", selector)
    page.wait_for_function(
        "s => { const imgs = [...document.querySelectorAll(s)];"
        "       return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }",
        arg=selector, timeout=UI_S)


def scroll_through(page: Page) -> None:
    """Scroll to the bottom a screen at a time, so lazily loaded images load, then back to the top."""
    height = page.evaluate("document.documentElement.scrollHeight")
    step = page.viewport_size["height"]
    for y in range(0, height + step, step):
        page.evaluate("y => window.scrollTo(0, y)", y)
    page.evaluate("window.scrollTo(0, 0)")


def test_upload_shows_prediction_gap_panel_and_feature_maps_and_desktop_screenshot(uploaded):
    page = uploaded
    label = expect_prediction(page)
    expect(page.locator("#status")).to_contain_text(label)

    expect(page.locator("#gap .nin-gap")).to_have_attribute("data-predicted", re.compile(r"^\d$"))
    expect(page.locator("#gap .nin-card")).to_have_count(10)
    expect(page.locator("#gap .nin-card-top")).to_have_count(1)
    expect(page.locator("#gap .nin-card-top .nin-card-title")).to_have_text(label)  # one source of truth
    expect(page.locator("#gap .nin-bar-row")).to_have_count(10)

    stages = page.locator("#features figure.nin-stage")
    assert [stages.nth(i).get_attribute("data-stage") for i in range(len(STAGES))] == STAGES
    expect(page.locator('#features figure[data-stage="block1"] figcaption')).to_contain_text("96×54×54")
    expect(page.locator('#features figure[data-stage="block4"] figcaption')).to_contain_text("10×5×5")
    scroll_through(page)
    images_loaded(page, "#input28 img, #input224 img, #cam img, #features figure.nin-stage img")

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "desktop.png"), full_page=True)


def test_all_channels_shows_every_channel_of_block1(uploaded):
    page = uploaded
    block1 = page.locator('#features figure[data-stage="block1"]')
    expect(block1.locator("figcaption")).to_contain_text("top 16 of 96")
    width_top = block1.locator("img").evaluate("i => i.naturalWidth * i.naturalHeight")

    page.locator("#channels").get_by_text("All channels").click()
    expect(block1.locator("figcaption")).to_contain_text("all 96 channels", timeout=PREDICTION_S)
    images_loaded(page, "#features figure.nin-stage img")
    assert block1.locator("img").evaluate("i => i.naturalWidth * i.naturalHeight") > width_top

    page.locator("#channels").get_by_text("Top 16 channels by mean").click()  # leave the page as the user found it
    expect(block1.locator("figcaption")).to_contain_text("top 16 of 96", timeout=PREDICTION_S)


def test_non_image_file_shows_a_clear_error_toast(open_page, tmp_path):
    page = open_page()
    bad = tmp_path / "not_really.png"
    bad.write_bytes(b"this is a text file, not a picture\n" * 20)
    upload(page, bad)
    toast = page.locator('[data-testid="toast-body"]')
    expect(toast).to_contain_text("not an image I can read", timeout=PREDICTION_S)
    expect(toast).to_contain_text("PNG, JPEG")


def test_phone_width_screenshot(open_page):
    page = open_page(*PHONE)
    upload(page, EXAMPLE)
    expect_prediction(page)
    expect(page.locator("#features figure.nin-stage")).to_have_count(len(STAGES), timeout=PREDICTION_S)
    scroll_through(page)  # Gradio's <img loading="lazy"> below the fold stays blank in a full-page shot otherwise
    images_loaded(page, "#input28 img, #input224 img, #cam img, #features figure.nin-stage img")
    # Nothing may be wider than the phone: a horizontal scrollbar is the classic mobile breakage.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "phone.png"), full_page=True)
    assert overflow <= 1, f"page is {overflow}px wider than a 390px phone"


# ----------------------------------------------------------------------------- the lessons and the report

def open_tab(page: Page, name: str) -> None:
    page.locator("#lessons").get_by_role("tab", name=name).click()


def test_clicking_a_block_feature_map_shows_that_pixel_as_an_mlp(uploaded):
    page = uploaded
    open_tab(page, "1×1 conv = MLP")
    result = page.locator("#mlp-result")
    expect(result).to_contain_text("Largest difference", timeout=PREDICTION_S)
    picture = page.locator("#mlp-map img")
    expect(picture).to_be_visible(timeout=UI_S)
    box = picture.bounding_box()
    # Near the top-left corner of block2's 26x26 grid: row 1, column 2 (the picture is the grid, scaled).
    page.mouse.click(box["x"] + box["width"] * 2.5 / 26, box["y"] + box["height"] * 1.5 / 26)
    expect(result).to_contain_text("block2, row 1, column 2", timeout=PREDICTION_S)
    expect(result).to_contain_text("the same up to float rounding")
    expect(page.locator("#mlp-vectors img")).to_be_visible()
    expect(page.locator("#mlp-w1 img")).to_be_visible()


def test_zeroing_a_class_map_cell_changes_that_logit(uploaded):
    page = uploaded
    open_tab(page, "GAP is an average")
    cells = page.locator("#ablation-maps [data-cell]")
    expect(cells.first).to_be_visible(timeout=PREDICTION_S)
    before = page.locator("#ablation-result").inner_text()
    # The brightest cell of the predicted class's map: zeroing it must take its value / 25 off that logit.
    page.locator("#ablation-maps [data-cell][data-top-cell]").first.click()
    expect(page.locator("#ablation-cells input, #ablation-cells textarea")).to_have_value(re.compile(r"@\d,\d"),
                                                                                           timeout=UI_S)
    expect(page.locator("#ablation-result")).to_contain_text("lower", timeout=PREDICTION_S)
    assert page.locator("#ablation-result").inner_text() != before
    expect(page.locator("#ablation-logits")).to_contain_text("−")


def test_new_input_refreshes_the_open_lesson_with_one_extra_event(open_page):
    """The open lesson follows each new input: the predict event plus one refresh, not one per lesson."""
    page = open_page(1400, 900)
    open_tab(page, "CAM for free")  # before any input: the lesson waits quietly
    names = sent_events(page)
    upload(page, EXAMPLE)
    expect(page.locator(TOP_LABEL)).to_have_text("Ankle boot", timeout=PREDICTION_S)
    # The lesson drawn from the new input is the refresh's answer: every event the new input triggers
    # (all on the prediction's state change) has been sent before it arrives.
    expect(page.locator("#gradcam")).to_contain_text("Ankle boot", timeout=PREDICTION_S)
    wait_until_sent(page, names, "refresh_open_lesson")
    assert "predict" in names, names
    # (the tab's own refresh, sent when it opened, may come first: it found no image and did nothing)
    assert names[names.index("predict"):] == ["predict", "refresh_open_lesson"], names


def test_clicking_a_confusion_cell_opens_its_test_images(open_page):
    page = open_page()
    open_tab(page, "Model report")
    matrix = page.locator('[id^="confusion-"]').first
    cell = matrix.locator('td[data-true="4"][data-pred="6"]')  # coats taken for shirts
    expect(cell).to_be_visible(timeout=UI_S)
    cell.click()
    examples = page.locator('[id^="examples-"] figure.nin-ex')
    expect(examples.first).to_be_visible(timeout=PREDICTION_S)
    assert 1 <= examples.count() <= 8
    expect(page.locator('[id^="examples-"]').first).to_contain_text("Coat taken for Shirt")


def test_switching_the_block_moves_the_picked_pixel_and_the_result_follows(uploaded):
    """Another block carries the picked pixel: block2's row 15 becomes block4's row 2, with block4's result and no error."""
    page = uploaded
    open_tab(page, "1×1 conv = MLP")
    result = page.locator("#mlp-result")
    picture = page.locator("#mlp-map img")
    expect(picture).to_be_visible(timeout=PREDICTION_S)
    picture.scroll_into_view_if_needed()
    box = picture.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 15.5 / 26, box["y"] + box["height"] * 15.5 / 26)
    expect(result).to_contain_text("block2, row 15, column 15", timeout=PREDICTION_S)
    page.locator("#mlp-stage").get_by_text("block4").click()
    expect(result).to_contain_text("block4, row 2, column 2", timeout=PREDICTION_S)
    expect(page.locator("#mlp-row input")).to_have_value("2")
    expect(page.locator('[data-testid="toast-body"]')).to_have_count(0)
    page.locator("#mlp-stage").get_by_text("block2").click()  # leave the tab as the other tests expect it
    expect(result).to_contain_text("block2, row 13, column 13", timeout=PREDICTION_S)


def test_the_translation_slider_follows_typing_enter_and_arrow_keys(uploaded):
    """The shift box follows the keyboard: typing -3 and Enter shifts by -3; an arrow key shifts one step at once, not one late."""
    import app

    page = uploaded
    open_tab(page, "Translation")
    result = page.locator("#translation-result")
    expect(result).to_contain_text(f"Shift ({app.DEFAULT_SHIFT:+d}, +0)", timeout=PREDICTION_S)
    heading = page.locator("#translation-heading")
    expect(heading).to_contain_text("Measured when this page started")
    expect(heading).to_contain_text(f"of {app.SHIFT_SURVEY.images} images")
    box = page.locator("#shift-x input[type=number]")
    box.fill("-3")
    box.press("Enter")
    expect(result).to_contain_text("Shift (-3, +0)", timeout=PREDICTION_S)
    page.locator("#shift-x input[type=range]").press("ArrowRight")
    expect(result).to_contain_text("Shift (-2, +0)", timeout=PREDICTION_S)
    page.locator("#shift-x input[type=range]").press("ArrowRight")
    expect(result).to_contain_text("Shift (-1, +0)", timeout=PREDICTION_S)
