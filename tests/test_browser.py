"""The page in a real browser: draw on the canvas (as a newcomer does: no tool clicked first) and watch the
live answer and class maps follow the pen, undo/eraser/clear and Ctrl+Z, one current input across Draw, an
example and Upload, the drawing examples, the first minute on a phone
(a finger stroke), upload, a bad file, the channel switch, the lessons, the model report, and screenshots.
The canvas's latency is measured by `python -m nin.dev.bench_canvas`, not here.

Debian's /usr/bin/chromium (`apt-get install -y chromium`) driven by the sync API of PyPI's playwright, never
`playwright install`: Playwright's own browser download is not used anywhere (see conftest.browser).
Skips on a machine without Chromium, fails in CI. Screenshots land in the git-ignored artifacts/screenshots/,
so running the tests leaves the work tree clean (the README's pictures come from `python -m nin.dev.screenshots`).
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
INK = "#canvas .nin-cv-ink"
LIVE = "#canvas .nin-cv-live"   # the canvas's aria-live line: the top class and its %
PROMPT = "Draw a garment"
PHONE = (390, 844)
DESKTOP = (1400, 1000)


def drawing_area(page: Page) -> dict:
    """The black drawing square on screen: the canvas element is the whole square."""
    return page.locator(INK).bounding_box()


def on_screen(page: Page, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    area = drawing_area(page)
    return [(area["x"] + x * area["width"], area["y"] + y * area["height"]) for x, y in points]


def stroke(page: Page, points: list[tuple[float, float]], steps: int = 6) -> None:
    """One pen-down stroke with the mouse through points given as fractions (0..1) of the drawing square. As a
    newcomer draws: no tool is clicked first."""
    xy = on_screen(page, points)
    page.mouse.move(*xy[0])
    page.mouse.down()
    for point in xy[1:]:
        page.mouse.move(*point, steps=steps)
    page.mouse.up()


def slow_stroke(page: Page, points: list[tuple[float, float]], duration_ms: int = 2500) -> None:
    """Like a hand: the pen goes down and moves through the points for about duration_ms, in small moves with
    short pauses, and stays down at the end. Timed, not counted: on a loaded machine each move is slower, so
    there are fewer of them, but the pen is down as long."""
    xy = on_screen(page, points)
    per_segment = duration_ms / 1000 / (len(xy) - 1)
    page.mouse.move(*xy[0])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(xy, xy[1:]):
        start, done = time.monotonic(), 0.0
        while done < 1:
            done = min(1.0, (time.monotonic() - start) / per_segment)
            page.mouse.move(x0 + (x1 - x0) * done, y0 + (y1 - y0) * done)
            page.wait_for_timeout(30)


def finger_stroke(page: Page, points: list[tuple[float, float]], moves: int = 40) -> None:
    """A finger drag through the points, as the phone's touchscreen sends it (CDP touch events)."""
    xy = on_screen(page, points)
    cdp = page.context.new_cdp_session(page)
    touch = lambda kind, x, y: cdp.send("Input.dispatchTouchEvent", {  # noqa: E731
        "type": kind, "touchPoints": [] if kind == "touchEnd" else [{"x": x, "y": y}]})
    touch("touchStart", *xy[0])
    per = max(1, moves // (len(xy) - 1))
    for (x0, y0), (x1, y1) in zip(xy, xy[1:]):
        for i in range(1, per + 1):
            touch("touchMove", x0 + (x1 - x0) * i / per, y0 + (y1 - y0) * i / per)
            page.wait_for_timeout(15)
    touch("touchEnd", 0, 0)
    cdp.detach()


def ink_pixels(page: Page) -> int:
    """Pixels of the drawing canvas holding ink (alpha over 20)."""
    return page.locator(INK).evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;"
        "       for (let i = 3; i < d.length; i += 4) if (d[i] > 20) n++; return n; }")


def class_map_means(page: Page) -> list[str]:
    return page.locator("#canvas .nin-cv-mean").all_inner_texts()


def stats(page: Page) -> dict:
    """The canvas's own timings (performance.now() ms): pointer moves, live answers [sent, shown, server ms, seq]."""
    return page.locator("#canvas .nin-cv").evaluate(
        "e => { const s = e.ninStats; return {moves: s.moves, answers: s.answers, fulls: s.fulls, "
        "refusals: s.refusals, retries: s.retries, waits: s.waits, inkChars: s.inkChars}; }")


def in_viewport(page: Page, selector: str) -> bool:
    """Whether the element is entirely on screen, without scrolling."""
    return page.locator(selector).first.evaluate(
        "e => { const b = e.getBoundingClientRect(); return b.height > 0 && b.top >= 0 && b.left >= 0 && "
        "b.bottom <= window.innerHeight && b.right <= window.innerWidth; }")


def save_figures(name: str, figures: dict) -> None:
    """Measured numbers go next to the screenshots (artifacts/, git-ignored) and to the test log."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(name, figures)


def expect_prediction(page: Page, timeout: int = PREDICTION_S) -> str:
    """The full explanation's top class. While the Draw tab is open the Prediction box steps aside (the canvas
    shows the probabilities live), so it is read from the page, not from the screen."""
    top = page.locator(TOP_LABEL)
    expect(top).to_be_attached(timeout=timeout)
    return top.text_content().strip()


TROUSERS = [(0.35, 0.15), (0.35, 0.85), (0.5, 0.3), (0.65, 0.85), (0.65, 0.15)]
SHIRT = [(0.2, 0.3), (0.4, 0.15), (0.6, 0.15), (0.8, 0.3), (0.7, 0.85), (0.3, 0.85), (0.2, 0.3)]
BAG = [(0.25, 0.4), (0.75, 0.4), (0.75, 0.8), (0.25, 0.8), (0.25, 0.4)]


# ----------------------------------------------------------------------------- drawing

def test_a_mouse_stroke_on_the_page_as_loaded_updates_the_top_class_and_class_maps_while_the_pen_is_down(open_page):
    page = open_page(*DESKTOP)  # nothing is clicked first: the page as a newcomer finds it
    expect(page.locator(LIVE)).to_have_attribute("aria-live", "polite")
    expect(page.locator(LIVE)).to_contain_text(PROMPT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "desktop-as-loaded.png"))
    slow_stroke(page, SHIRT[:4], duration_ms=1500)  # pen still down
    expect(page.locator(LIVE)).to_have_text(re.compile(r"^\S.* \d+%$"), timeout=UI_S)
    first_text, first_means = page.locator(LIVE).inner_text(), class_map_means(page)
    assert all(mean.startswith("mean ") for mean in first_means) and len(first_means) == 10
    xy = on_screen(page, SHIRT[3:])
    for (x0, y0), (x1, y1) in zip(xy, xy[1:]):  # the rest of the outline, pen still down
        page.mouse.move(x1, y1, steps=25)
    expect(page.locator("#canvas .nin-cv-mean").first).not_to_have_text(first_means[0], timeout=UI_S)
    assert page.locator(LIVE).inner_text() != first_text or class_map_means(page) != first_means
    assert not page.locator(TOP_LABEL).count(), "the full explanation ran while the pen was down"
    page.mouse.up()
    # About 300 ms after pen-up the full explanation: the same top class as the live line.
    label = expect_prediction(page)
    expect(page.locator(LIVE)).to_contain_text(label, timeout=UI_S)
    expect(page.locator("#gap .nin-card")).to_have_count(10, timeout=UI_S)
    answers = stats(page)["answers"]
    seqs = [answer[3] for answer in answers]
    assert seqs == sorted(set(seqs)), "an answer older than one already shown was shown"
    page.screenshot(path=str(SHOTS / "desktop-after-a-stroke.png"))


def test_a_page_keeps_the_wait_a_busy_server_tells_it_and_never_shows_busy(open_page, monkeypatch):
    """A throttled server: it asks every page to leave 600 ms between calls and turns every third call away
    (as a full server does). The page paces itself, sends again after a turn-away, and shows only answers."""
    import app
    from nin.ui.live_gate import Busy

    canvas = app.page.drawing
    admit, calls = canvas.gate.admit, [0]

    def every_third_turned_away(session, caller=None):
        calls[0] += 1
        if calls[0] % 3 == 0:
            raise Busy("The server has as many live drawings as it can take; this one was turned away.")
        return admit(session, caller)

    monkeypatch.setattr(canvas.pacer, "wait_ms", lambda: 600)
    monkeypatch.setattr(canvas.gate, "admit", every_third_turned_away)
    page = open_page(*DESKTOP)
    slow_stroke(page, SHIRT, duration_ms=5000)
    expect(page.locator(LIVE)).to_have_text(re.compile(r"^\S.* \d+%$"), timeout=UI_S)
    found = stats(page)
    print("paced page", {"answers": len(found["answers"]), "turned away": len(found["retries"]),
                         "waits": sorted(set(found["waits"]))})
    assert found["retries"] and len(found["answers"]) >= 3 and not found["refusals"]
    assert set(found["waits"]) == {600}
    # answered calls left at least 600 ms apart (a turned-away call between two also waited its 600 ms)
    starts = sorted(answer[0] for answer in found["answers"])
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 590, gaps
    assert "busy" not in page.locator("#canvas").inner_text().lower()


def test_while_the_pen_is_ahead_of_the_full_explanation_the_pictures_below_are_faded_until_it_arrives(open_page):
    page = open_page(*DESKTOP)
    body, seen = page.locator("body"), page.locator("#input28")
    slow_stroke(page, SHIRT[:4], duration_ms=1500)  # pen still down: the live answer runs ahead
    expect(page.locator(LIVE)).to_have_text(re.compile(r"\d+%"), timeout=UI_S)
    expect(body).to_have_attribute("data-nin-drawing", "ahead")
    assert float(seen.evaluate("e => getComputedStyle(e).opacity")) < 0.5
    page.mouse.up()
    label = expect_prediction(page)
    expect(body).not_to_have_attribute("data-nin-drawing", "ahead", timeout=UI_S)
    expect(seen).to_have_css("opacity", "1")
    expect(page.locator(LIVE)).to_contain_text(label)


def test_undo_the_eraser_and_clear_change_the_drawing_and_clear_shows_no_prediction(open_page):
    page = open_page()
    stroke(page, TROUSERS)
    one = ink_pixels(page)
    expect_prediction(page)
    stroke(page, [(0.1, 0.5), (0.9, 0.5)])
    two = ink_pixels(page)
    assert two > one > 0
    page.get_by_role("button", name="Undo").click()
    assert ink_pixels(page) == one
    page.get_by_role("button", name="Eraser").click()
    expect(page.get_by_role("button", name="Eraser")).to_have_attribute("aria-pressed", "true")
    stroke(page, [(0.2, 0.5), (0.8, 0.5)])
    assert 0 < ink_pixels(page) < one

    page.get_by_role("button", name="Clear").click()
    assert ink_pixels(page) == 0
    expect(page.locator(LIVE)).to_contain_text(PROMPT, timeout=1000)  # at once, on the page
    expect(page.locator("#canvas .nin-cv-bar.nin-cv-best")).to_have_count(0, timeout=1000)
    expect(page.locator(TOP_LABEL)).to_have_count(0, timeout=UI_S)
    expect(page.locator("#gap .nin-card")).to_have_count(0)
    # A cleared square is black edge to edge: no frame inside it.
    assert page.locator("#canvas .nin-cv-pad").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(0, 0, 0)"
    for element in (INK, "#canvas .nin-cv-pad"):
        assert page.locator(element).evaluate("e => getComputedStyle(e).borderTopWidth") == "0px"

    stroke(page, BAG)  # after Clear the next stroke draws and is classified
    expect(page.locator(LIVE)).to_have_text(re.compile(r"\d+%"), timeout=UI_S)


def test_clear_returns_to_the_brush_so_a_stroke_on_the_blank_canvas_shows_ink(open_page):
    page = open_page()
    stroke(page, TROUSERS)
    page.get_by_role("button", name="Eraser").click()
    page.get_by_role("button", name="Clear").click()
    assert ink_pixels(page) == 0
    expect(page.get_by_role("button", name="Eraser")).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_role("button", name="Medium brush")).to_have_attribute("aria-pressed", "true")
    stroke(page, BAG)  # nothing clicked in between: the stroke must show
    assert ink_pixels(page) > 0
    expect(page.locator(LIVE)).to_have_text(re.compile(r"\d+%"), timeout=UI_S)


@pytest.mark.parametrize("key", ["Control+z", "Meta+z"])
def test_ctrl_z_after_a_first_stroke_on_the_page_as_loaded_empties_the_canvas(open_page, key):
    page = open_page()
    stroke(page, TROUSERS)  # nothing focused or clicked first
    assert ink_pixels(page) > 0
    page.keyboard.press(key)
    expect(page.locator(LIVE)).to_contain_text(PROMPT, timeout=UI_S)
    assert ink_pixels(page) == 0


def test_ctrl_z_in_a_text_box_is_the_text_boxs_own_undo(open_page):
    page = open_page()
    stroke(page, TROUSERS)
    drawn = ink_pixels(page)
    open_tab(page, "GAP is an average")
    box = page.locator("#ablation-cells textarea, #ablation-cells input").first
    box.fill("Coat@2,3")
    box.focus()  # the canvas is still on screen (the Draw tab is open above the lessons)
    page.keyboard.press("Control+z")
    assert ink_pixels(page) == drawn


def test_a_stroke_along_the_edge_of_the_black_square_counts(open_page):
    """The whole visible square takes ink: no dead margin around the drawing area."""
    page = open_page()
    stroke(page, [(0.01, 0.01), (0.99, 0.01), (0.99, 0.3)])
    corner = page.locator(INK).evaluate(
        "c => c.getContext('2d').getImageData(Math.round(c.width * 0.01), Math.round(c.width * 0.01), 1, 1).data[3]")
    assert corner > 100
    expect(page.locator(LIVE)).to_have_text(re.compile(r"\d+%"), timeout=UI_S)


def test_every_canvas_control_is_a_labelled_button_reachable_by_keyboard(open_page):
    page = open_page()
    names = ["Thin brush", "Medium brush", "Thick brush", "Eraser", "Undo", "Clear"]
    page.get_by_role("button", name="Thin brush").focus()
    for name in names[1:]:
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == name
    page.get_by_role("button", name="Thick brush").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Thick brush")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="Medium brush")).to_have_attribute("aria-pressed", "false")
    assert page.locator("#canvas .nin-cv-example").count() == 5
    for example in page.locator("#canvas .nin-cv-example").all():
        assert (example.get_attribute("aria-label") or "").startswith("Load the ")


def test_a_drawing_example_loads_into_the_canvas_and_can_be_drawn_over(open_page):
    page = open_page()
    page.get_by_role("button", name="Load the bag drawing into the canvas").click()
    expect(page.locator(LIVE)).to_contain_text("Bag", timeout=UI_S)
    loaded = ink_pixels(page)
    assert loaded > 0
    expect(page.locator(TOP_LABEL)).to_have_text("Bag", timeout=PREDICTION_S)
    expect(page.locator("#steps")).to_contain_text("Drawing on the canvas → Fashion-MNIST style", timeout=UI_S)
    expect(page.locator("#steps")).to_contain_text("filled in", timeout=UI_S)
    stroke(page, [(0.1, 0.1), (0.3, 0.1)])
    assert ink_pixels(page) > loaded


# ----------------------------------------------------------------------------- one current input

def shown_answers(page: Page) -> dict:
    """What every panel of the page's top half says the input is: the full prediction, the GAP panel's top
    card, the preprocessing path, and whether the drawing or the upload is the input."""
    return {
        "prediction": page.locator(TOP_LABEL).text_content().strip(),
        "gap": page.locator("#gap .nin-card-top .nin-card-title").text_content().strip(),
        "path": page.locator("#steps strong").first.text_content().strip(),
    }


def test_draw_tap_an_example_and_go_back_to_draw_every_panel_describes_the_drawing_again(open_page):
    page = open_page(*PHONE, has_touch=True, is_mobile=True)
    finger_stroke(page, TROUSERS)
    expect(page.locator(LIVE)).to_have_text(re.compile(r"\d+%"), timeout=UI_S)
    drawn = expect_prediction(page)
    expect(page.locator(LIVE)).to_contain_text(drawn, timeout=UI_S)
    expect(page.locator("#status")).to_be_hidden()  # on Draw the canvas's live line is the status: no second answer

    example = page.locator("#examples button.gallery-item").filter(
        has=page.locator("img[src*='test00000']")).first
    example.scroll_into_view_if_needed()
    example.tap()
    expect(page.locator(TOP_LABEL)).to_have_text("Ankle boot", timeout=PREDICTION_S)
    expect(page.locator("#status")).to_contain_text("Ankle boot")
    expect(page.locator("#steps strong").first).to_contain_text("Official Fashion-MNIST test image")

    page.get_by_role("tab", name="Draw").tap()
    expect(page.locator("#steps strong").first).to_contain_text("Drawing on the canvas", timeout=PREDICTION_S)
    expect(page.locator(TOP_LABEL)).to_have_text(drawn, timeout=UI_S)
    live = page.locator(LIVE).inner_text()
    answers = shown_answers(page)
    assert live.startswith(drawn) and answers == {"prediction": drawn, "gap": drawn,
                                                  "path": "Drawing on the canvas → Fashion-MNIST style"}, (live, answers)
    expect(page.locator("#status")).to_be_hidden()

    page.get_by_role("tab", name="Upload").tap()  # and back: the example in the box is the input again
    expect(page.locator("#steps strong").first).to_contain_text("Official Fashion-MNIST test image",
                                                                timeout=PREDICTION_S)
    expect(page.locator(TOP_LABEL)).to_have_text("Ankle boot", timeout=UI_S)


def test_opening_an_empty_upload_tab_after_drawing_clears_the_drawings_answer(open_page):
    page = open_page()
    stroke(page, TROUSERS)
    expect_prediction(page)
    page.get_by_role("tab", name="Upload").click()
    expect(page.locator("#status")).to_contain_text("Upload a photo", timeout=PREDICTION_S)
    expect(page.locator(TOP_LABEL)).to_have_count(0)
    expect(page.locator("#gap .nin-card")).to_have_count(0)
    expect(page.locator("#input28 img")).to_have_count(0)
    expect(page.locator("#steps")).to_have_text("")
    page.get_by_role("tab", name="Draw").click()  # the drawing is still there, and the input again
    expect(page.locator("#steps strong").first).to_contain_text("Drawing on the canvas", timeout=PREDICTION_S)


def test_opening_the_draw_tab_with_a_blank_canvas_clears_the_uploads_answer(open_page):
    page = open_page()
    upload(page, EXAMPLE)
    expect(page.locator(TOP_LABEL)).to_have_text("Ankle boot", timeout=PREDICTION_S)
    page.get_by_role("tab", name="Draw").click()
    expect(page.locator(TOP_LABEL)).to_have_count(0, timeout=PREDICTION_S)
    expect(page.locator("#gap .nin-card")).to_have_count(0)
    expect(page.locator("#input28 img")).to_have_count(0)
    expect(page.locator(LIVE)).to_contain_text(PROMPT)


# ----------------------------------------------------------------------------- the first minute on a phone

def test_on_a_phone_a_finger_stroke_draws_without_scrolling_and_the_top_class_shows_beside_the_canvas(open_page):
    page = open_page(*PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "phone-as-loaded.png"))
    assert in_viewport(page, INK), "the canvas is not on the first screen"
    scrolled = page.evaluate("window.scrollY")
    finger_stroke(page, TROUSERS)
    assert ink_pixels(page) > 0, "the finger stroke drew nothing"
    assert page.evaluate("window.scrollY") == scrolled, "the finger stroke scrolled the page"
    expect(page.locator(LIVE)).to_have_text(re.compile(r"\d+%"), timeout=UI_S)
    assert in_viewport(page, INK) and in_viewport(page, LIVE), "canvas and top class not both on screen"
    page.screenshot(path=str(SHOTS / "phone-drawing.png"))
    label = expect_prediction(page)
    expect(page.locator(LIVE)).to_contain_text(label, timeout=UI_S)  # one answer, two places


def test_on_a_phone_tapping_an_example_brings_its_prediction_on_screen(open_page):
    page = open_page(*PHONE)
    example = page.locator("#examples button.gallery-item").first
    example.scroll_into_view_if_needed()
    example.click()
    expect(page.locator(TOP_LABEL)).to_be_visible(timeout=PREDICTION_S)
    expect(page.locator(TOP_LABEL)).to_be_in_viewport(timeout=UI_S)
    page.wait_for_timeout(600)  # the smooth scroll settles
    page.screenshot(path=str(SHOTS / "phone-after-an-example.png"))


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
    assert "upload_page" in names, names
    # (the tab's own refresh, sent when it opened, may come first: it found no image and did nothing)
    assert names[names.index("upload_page"):] == ["upload_page", "refresh_open_lesson"], names


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


def test_picking_the_chapters_recipe_changes_the_answer_and_the_page_names_the_file_that_answers(open_page):
    """Both shipped files are offered; the picked one answers the full explanation, the banner and the status
    line, and the canvas's live answers too; picking the tuned file again brings its answer back."""
    page = open_page(*DESKTOP)
    stroke(page, TROUSERS)
    tuned_label = expect_prediction(page)
    expect(page.locator("#status")).to_contain_text("Tuned", timeout=UI_S)
    tuned_answer = page.locator("#prediction").text_content()
    tuned_means = class_map_means(page)

    page.locator("#model label").filter(has_text="The chapter's recipe").click()
    expect(page.locator("#status")).to_contain_text("The chapter's recipe", timeout=PREDICTION_S)
    expect(page.locator("#prediction")).not_to_have_text(tuned_answer, timeout=UI_S)
    page.locator("#about").get_by_text("About NiN, this page and these weights").click()
    expect(page.locator("#notice")).to_be_visible(timeout=UI_S)
    expect(page.locator("#notice")).to_contain_text("Answering: The chapter's recipe (10 epochs)")
    expect(page.locator("#notice")).to_contain_text("nin_seed_recipe.safetensors")
    expect(page.locator("#recipes-compared")).to_contain_text("resolution phases")

    # the same strokes again: the live class maps now come from the chapter's file
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(LIVE)).to_contain_text(PROMPT, timeout=UI_S)
    page.locator(INK).scroll_into_view_if_needed()
    stroke(page, TROUSERS)
    expect_prediction(page)
    expect(page.locator("#canvas .nin-cv-mean").first).to_have_text(re.compile(r"^mean "), timeout=UI_S)
    page.wait_for_function("() => document.querySelector('#canvas .nin-cv').ninStats.answers.length > 0")
    chapter_means = class_map_means(page)
    assert chapter_means != tuned_means, chapter_means

    page.locator("#model label").filter(has_text="Tuned").click()
    expect(page.locator("#status")).to_contain_text("Tuned", timeout=PREDICTION_S)
    expect(page.locator("#notice")).to_contain_text("Answering: Tuned")
    expect(page.locator("#prediction")).to_have_text(tuned_answer, timeout=UI_S)
    assert expect_prediction(page) == tuned_label


def test_the_model_report_charts_both_files_test_curves_on_one_chart(open_page):
    page = open_page(*DESKTOP)
    open_tab(page, "Model report")
    chart = page.locator("#curves-compared")
    expect(chart).to_be_visible(timeout=UI_S)
    expect(chart).to_contain_text("Test accuracy per epoch, every shipped file")
    for title in ("Tuned", "The chapter's recipe"):
        expect(chart).to_contain_text(title, timeout=UI_S)  # the legend names each file


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


def test_a_row_out_of_range_is_refused_once_with_the_chosen_blocks_range_and_the_next_block_still_works(uploaded):
    page = uploaded
    open_tab(page, "1×1 conv = MLP")
    result = page.locator("#mlp-result")
    expect(result).to_contain_text("Largest difference", timeout=PREDICTION_S)
    page.locator("#mlp-stage").get_by_text("block4").click()
    expect(result).to_contain_text("block4, row", timeout=PREDICTION_S)
    box = page.locator("#mlp-row input")
    box.fill("")
    box.press_sequentially("99")  # key by key: no request per keystroke
    box.press("Enter")
    toast = page.locator('[data-testid="toast-body"]').filter(has_text="got 99")
    expect(toast).to_contain_text("row of block4's 5×5 output grid must be a whole number from 0 to 4; got 99",
                                  timeout=PREDICTION_S)
    page.wait_for_timeout(1500)  # a second message would arrive within this
    assert toast.count() == 1, toast.all_inner_texts()
    page.locator("#mlp-stage").get_by_text("block2").click()  # the bad row left in the box does not block it
    expect(result).to_contain_text("block2, row 13, column", timeout=PREDICTION_S)
    expect(page.locator("#mlp-row input")).to_have_value("13")
    assert toast.count() <= 1, toast.all_inner_texts()


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


# ----------------------------------------------------------------------------- every screen, both viewports

# What a reader must be able to read whole: captions, labels, headings, table cells, the status line.
TEXT = ("figcaption, caption, label, [data-testid='block-label'], h1, h2, h3, h4, th, .nin-bar-name, "
        ".nin-cv-live, .nin-cv-word, .nin-cv-map figcaption span, .nin-bar-detail, #status p, .nin-cm-caption, "
        ".nin-ex-caption")
CLIPPED_JS = """(sel) => [...document.querySelectorAll(sel)].filter(e => e.offsetParent !== null && e.clientWidth > 0
  && getComputedStyle(e).overflow !== 'visible' && e.scrollWidth > e.clientWidth + 1)
  .map(e => (e.id || e.className || e.tagName) + ': ' + e.textContent.trim().slice(0, 60))"""
COVERED_JS = """() => [...document.querySelectorAll('img, canvas')].filter(e => {
    const r = e.getBoundingClientRect();
    if (e.offsetParent === null || r.width < 8 || r.height < 8 || r.bottom < 0 || r.top > innerHeight) return false;
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (x < 0 || x > innerWidth || y < 0 || y > innerHeight) return false;
    const hit = document.elementFromPoint(x, y);
    return hit && hit !== e && !e.contains(hit) && !hit.contains(e) && !e.parentElement.contains(hit);
  }).map(e => (e.closest('[id]') || {}).id + ' ' + e.tagName)"""


def layout_faults(page: Page) -> list[str]:
    """Text cut off (scrollWidth beyond clientWidth) and pictures with something else over their centre, for
    every part of the page: each element is scrolled into view in turn, since elementFromPoint sees only the
    screen."""
    faults = [f"clipped {text}" for text in page.evaluate(CLIPPED_JS, TEXT)]
    height = page.evaluate("document.documentElement.scrollHeight")
    viewport = page.viewport_size["height"]
    for top in range(0, height, viewport // 2):
        page.evaluate(f"window.scrollTo(0, {top})")
        faults += [f"covered {where}" for where in page.evaluate(COVERED_JS)]
    return sorted(set(faults))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_caption_or_label_is_cut_off_and_no_picture_is_covered_on_any_tab(open_page, viewport):
    page = open_page(*viewport)
    stroke(page, TROUSERS)
    expect(page.locator(LIVE)).to_have_text(re.compile(r"\d+%"), timeout=UI_S)
    expect_prediction(page)
    faults = {"Draw": layout_faults(page)}
    upload(page, EXAMPLE)
    expect(page.locator(TOP_LABEL)).to_have_text("Ankle boot", timeout=PREDICTION_S)
    faults["Upload"] = layout_faults(page)
    from nin.dev.screenshots import TABS  # (short name, tab label, what shows once the tab has drawn)

    for _, name, ready in TABS:
        open_tab(page, name)
        expect(page.locator(ready).first).to_be_visible(timeout=PREDICTION_S)
        page.wait_for_function("[...document.querySelectorAll('#lessons img')].every(i => i.complete || "
                               "i.loading === 'lazy')", timeout=PREDICTION_S)
        faults[name] = layout_faults(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    save_figures(f"layout-{viewport[0]}", faults)
    assert not any(faults.values()), {tab: found for tab, found in faults.items() if found}


def test_a_refused_upload_clears_the_previous_result_and_says_so_once(open_page, tmp_path):
    from PIL import Image

    page = open_page()
    upload(page, ROOT / "nin" / "examples" / "test00018_bag.png")
    expect(page.locator(TOP_LABEL)).to_have_text("Bag", timeout=PREDICTION_S)
    tiff = tmp_path / "garment.tiff"
    Image.new("RGB", (64, 64), "white").save(tiff)
    page.locator("#upload input[type=file]").set_input_files(str(tiff))  # dropped over the shown picture
    toast = page.locator('[data-testid="toast-body"]')
    expect(toast).to_contain_text("TIFF", timeout=PREDICTION_S)
    expect(page.locator(TOP_LABEL)).to_have_count(0, timeout=UI_S)  # no stale "Bag"
    expect(page.locator("#gap .nin-card")).to_have_count(0)
    expect(page.locator("#input28 img")).to_have_count(0)
    expect(page.locator("#upload img")).to_have_count(0, timeout=UI_S)  # no broken picture in the box
    page.wait_for_timeout(1500)  # a second refusal would arrive within this
    assert toast.count() == 1 and toast.first.inner_text().count("TIFF file") == 1, toast.all_inner_texts()


@pytest.mark.parametrize("example, heading", [("test00018_bag.png", "Official Fashion-MNIST test image"),
                                              ("photo00009_sneaker.jpg", "Photo")])
def test_an_example_opens_in_the_upload_tab_and_the_steps_name_the_path_taken(open_page, example, heading):
    page = open_page()
    page.locator("#examples button.gallery-item").filter(
        has=page.locator(f"img[src*='{example.split('_')[0]}']")).first.click()
    expect(page.locator("#tab-upload-button")).to_have_attribute("aria-selected", "true", timeout=UI_S)
    expect(page.locator("#upload img")).to_be_visible(timeout=PREDICTION_S)
    expect(page.locator(TOP_LABEL)).to_be_visible(timeout=PREDICTION_S)
    expect(page.locator("#steps strong").first).to_have_text(re.compile("^" + heading), timeout=UI_S)


def test_while_drawing_the_probabilities_show_once_and_the_prediction_box_returns_for_an_upload(open_page):
    page = open_page(1400, 900)
    stroke(page, TROUSERS)
    expect(page.locator(LIVE)).to_have_text(re.compile(r"\d+%"), timeout=UI_S)
    expect_prediction(page)
    expect(page.locator("#canvas .nin-cv-bar")).to_have_count(10)
    expect(page.locator("#prediction")).to_be_hidden()
    upload(page, EXAMPLE)
    expect(page.locator(TOP_LABEL)).to_have_text("Ankle boot", timeout=PREDICTION_S)
    expect(page.locator("#canvas .nin-cv-bar").first).to_be_hidden()
