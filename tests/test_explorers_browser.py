"""The "Explore further" tab in a real browser (Debian's chromium through Playwright): the three explorers on an
upload and on an example, hover values, block1's kernel, the tab following a new input with one event (and
none while it is closed), and screenshots on a desktop and a phone (artifacts/screenshots/, git-ignored).
"""

import os
from pathlib import Path

import pytest

from conftest import sent_events, upload, wait_until_sent

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the `browser` fixture skips these tests, or fails them under CI=true (tests/conftest.py)
    Page = expect = None

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("NIN_SCREENSHOT_DIR") or ROOT / "artifacts" / "screenshots")
EXAMPLES = ROOT / "nin" / "examples"
BOOT = EXAMPLES / "test00000_ankle-boot.png"
TOP_LABEL = '#prediction [data-testid="label-output-value"]'
SLOW = 60_000   # ms: a first prediction or a tab refresh (occlusion included) on a busy 2-core machine
PHONE, DESKTOP = (390, 844), (1400, 1000)


@pytest.fixture
def page(open_page, request):
    """A fresh app page at the desktop size, or at the size a test passes as its parameter."""
    return open_page(*getattr(request, "param", DESKTOP))


def open_explorers(page: Page) -> None:
    page.locator("#lessons").get_by_role("tab", name="Explore further").click()


def expect_all_three(page: Page, predicted: str) -> None:
    expect(page.locator("#explore-channel .nin-x-tile")).to_have_count(9, timeout=SLOW)
    neighbours = page.locator("#explore-neighbours")
    expect(neighbours.locator('[data-space="feature"] .nin-x-tile')).to_have_count(8, timeout=SLOW)
    expect(neighbours.locator('[data-space="pixel"] .nin-x-tile')).to_have_count(8)
    expect(page.locator("#explore-neighbours-result")).to_contain_text(predicted)
    expect(page.locator("#explore-occlusion img")).to_have_count(2, timeout=SLOW)
    expect(page.locator("#explore-occlusion-result")).to_contain_text("ρ =")
    expect(page.locator("#explore-occlusion-result")).to_contain_text(predicted)


def test_explorers_on_an_upload_with_hover_values_and_desktop_screenshot(page):
    upload(page, BOOT)
    expect(page.locator(TOP_LABEL)).to_have_text("Ankle boot", timeout=SLOW)
    open_explorers(page)
    expect_all_three(page, "Ankle boot")
    expect(page.locator("#explore-channel-result")).to_contain_text("block3 #0")
    channel_map = page.locator("#explore-channel img[data-values]").first
    channel_map.hover(position={"x": 5, "y": 5})
    expect(page.locator("#explore-channel .nin-readout").first).to_contain_text("row 0, column 0:")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#tab-explore").screenshot(path=str(SHOTS / "explore-desktop.png"))


def test_block1_shows_its_kernel_and_another_patch_redraws_occlusion(page):
    upload(page, BOOT)
    expect(page.locator(TOP_LABEL)).to_have_text("Ankle boot", timeout=SLOW)
    open_explorers(page)
    expect(page.locator("#explore-channel .nin-x-tile")).to_have_count(9, timeout=SLOW)
    page.locator("#explore-stage input").click()
    page.get_by_role("option", name="block1", exact=True).click()
    expect(page.locator("#explore-channel figcaption").filter(has_text="block1 kernel #0")).to_be_visible(timeout=SLOW)
    expect(page.locator("#explore-channel-result")).to_contain_text("11×11 px")
    index = page.locator("#explore-index input")
    index.fill("95")
    index.press("Enter")
    expect(page.locator("#explore-channel-result")).to_contain_text("block1 #95", timeout=SLOW)
    page.locator("#explore-patch").get_by_label("4").check()
    expect(page.locator("#explore-occlusion-result")).to_contain_text("49 occluded inputs", timeout=SLOW)


def test_the_open_tab_follows_a_new_input_with_one_event_and_a_closed_one_costs_none(page):
    """With the tab on screen a new input sends the prediction and one refresh; with it closed, no refresh.

    The tab's browser-only listener and the open lesson's refresh listen to the same state change, the tab's
    first: once the lesson's refresh is sent, the tab's listener has run and sent whatever it would send."""
    names = sent_events(page)
    upload(page, BOOT)
    expect(page.locator(TOP_LABEL)).to_have_text("Ankle boot", timeout=SLOW)
    wait_until_sent(page, names, "refresh_open_lesson")
    assert "refresh_explorers" not in names, names          # the tab is closed: nothing sent for it
    open_explorers(page)
    expect_all_three(page, "Ankle boot")
    names.clear()
    bag = page.locator("#examples button.gallery-item").nth(16)   # the examples are in class order, two per class
    bag.scroll_into_view_if_needed()
    bag.click()
    expect(page.locator(TOP_LABEL)).to_have_text("Bag", timeout=SLOW)
    expect(page.locator("#explore-neighbours-result")).to_contain_text("Bag", timeout=SLOW)
    expect(page.locator("#explore-occlusion-result")).to_contain_text("Bag", timeout=SLOW)
    wait_until_sent(page, names, "refresh_open_lesson")
    assert names.count("refresh_explorers") == 1, names


@pytest.mark.parametrize("page", [PHONE], indirect=True, ids=["phone"])
def test_on_a_phone_an_example_then_the_explorers_and_a_screenshot(page):
    example = page.locator("#examples button.gallery-item").first
    example.scroll_into_view_if_needed()
    example.click()
    expect(page.locator(TOP_LABEL)).to_be_visible(timeout=SLOW)
    predicted = page.locator(TOP_LABEL).inner_text().strip()
    tabs = page.locator("#lessons").get_by_role("tab")
    for i in range(tabs.count()):   # the extra tab pushes none of the lessons into an overflow menu
        box = tabs.nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0], f"tab {i} sticks out of the screen"
    expect(page.locator('#lessons button[aria-label="More tabs"]')).to_be_hidden()
    open_explorers(page)
    expect_all_three(page, predicted)
    for selector in ("#explore-channel", "#explore-neighbours", "#explore-occlusion"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0] + 1, f"{selector} sticks out of the screen"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#tab-explore").screenshot(path=str(SHOTS / "explore-phone.png"))
