"""The page in a real browser: draw, upload, clear, a bad file, the channel switch, the lessons, the model
report, and screenshots.

Debian's /usr/bin/chromium driven by Playwright's sync API (never `playwright install`; see shared/STACK.md).
Skips on a machine without Chromium, fails in CI. Screenshots land in the git-ignored artifacts/screenshots/,
so running the tests leaves the work tree clean; `NIN_SCREENSHOT_DIR=docs python -m pytest -q
tests/test_browser.py -k screenshot` refreshes the README's picture (docs/desktop.png) on purpose.
"""

import json
import os
import re
from pathlib import Path

import pytest

from conftest import require

pytest.importorskip("playwright")
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("NIN_SCREENSHOT_DIR") or ROOT / "artifacts" / "screenshots")
EXAMPLE = Path(__file__).resolve().parents[1] / "nin" / "examples" / "test00000_ankle-boot.png"
STAGES = ["block1", "pool1", "block2", "pool2", "block3", "pool3", "block4"]
PREDICTION_S = 30_000   # first prediction on a busy 2-core machine, in ms
UI_S = 15_000           # anything else the page does, in ms

TOP_LABEL = '#prediction [data-testid="label-output-value"]'


@pytest.fixture(scope="module")
def browser():
    require(CHROMIUM.exists(), f"{CHROMIUM} not found; apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def open_page(browser, app_url):
    """A factory: a freshly loaded app page at the given viewport width, ready for input."""
    contexts = []

    def open_(width: int = 1400, height: int = 900) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.goto(app_url)
        expect(page.locator('#sketch button[aria-label="Brush"]')).to_be_visible(timeout=PREDICTION_S)
        expect(page.locator("#sketch canvas").first).to_be_visible(timeout=UI_S)
        # The page-load event reports "Ready" in the status line once the page is connected.
        expect(page.locator("#status")).to_contain_text("Ready", timeout=PREDICTION_S)
        return page

    yield open_
    for context in contexts:
        context.close()


def upload(page: Page, path: Path) -> None:
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload input[type=file]").set_input_files(str(path))


def stroke(page: Page, points: list[tuple[float, float]]) -> None:
    """One pen-down stroke through points given in canvas fractions (0..1 of the 280x280 drawing area)."""
    page.locator('#sketch button[aria-label="Brush"]').click()
    box = page.locator("#sketch canvas").first.bounding_box()
    # The canvas element fills the editor; the 280x280 drawing area sits at its centre.
    side = 280
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    xy = [(left + x * side, top + y * side) for x, y in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for point in xy[1:]:
        page.mouse.move(*point, steps=3)
    page.mouse.up()


def expect_prediction(page: Page, timeout: int = PREDICTION_S) -> str:
    top = page.locator(TOP_LABEL)
    expect(top).to_be_visible(timeout=timeout)
    return top.inner_text().strip()


TROUSERS = [(0.35, 0.15), (0.35, 0.85), (0.5, 0.3), (0.65, 0.85), (0.65, 0.15)]
SHIRT = [(0.2, 0.3), (0.4, 0.15), (0.6, 0.15), (0.8, 0.3), (0.7, 0.85), (0.3, 0.85), (0.2, 0.3)]
BAG = [(0.25, 0.4), (0.75, 0.4), (0.75, 0.8), (0.25, 0.8), (0.25, 0.4)]


# ----------------------------------------------------------------------------- drawing

def test_first_stroke_on_a_fresh_canvas_shows_a_prediction(open_page):
    # Regression: with a Sketchpad value= the frontend swallowed the first stroke's change event.
    page = open_page()
    stroke(page, TROUSERS)
    expect_prediction(page)


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


# ----------------------------------------------------------------------------- uploading

@pytest.fixture(scope="module")
def uploaded(open_page) -> Page:
    """A desktop-width page after uploading an official test image."""
    page = open_page(1400, 900)
    upload(page, EXAMPLE)
    expect_prediction(page)
    expect(page.locator("#features figure.nin-stage")).to_have_count(len(STAGES), timeout=PREDICTION_S)
    return page


def images_loaded(page: Page, selector: str) -> None:
    """Wait until every <img> under selector has decoded pixels."""
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
    page = open_page(390, 844)
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
    import app

    page = open_page(1400, 900)
    open_tab(page, "CAM for free")  # before any input: the lesson waits quietly
    joins = []  # the functions of the events the page sends to the queue
    page.on("request", lambda request: joins.append(json.loads(request.post_data)["fn_index"])
            if "/queue/join" in request.url else None)
    upload(page, EXAMPLE)
    expect(page.locator(TOP_LABEL)).to_have_text("Ankle boot", timeout=PREDICTION_S)
    expect(page.locator("#gradcam")).to_contain_text("Ankle boot", timeout=PREDICTION_S)
    page.wait_for_timeout(1500)  # anything else the new input would trigger has been sent by now
    names = [list(app.demo.fns.values())[index].name for index in joins]
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
    """Issue #18: block2's row 15 becomes block4's row 2, with block4's result and no error."""
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
    """Issue #18: typing -3 and Enter shifts by -3; an arrow key shifts one step at once, not one late."""
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
