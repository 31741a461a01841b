"""`python -m nin.dev.screenshots`: pictures of the page, made fresh from the running app.

Launches `python app.py` on a free loopback port (nin.dev.launcher.launch), opens it in Chromium through
Playwright at a desktop (1400×900) and a phone (390×844) viewport, draws a pair of trousers on the canvas
of the page as loaded (no tool picked first), waits for the live answer and the full explanation, and writes
what is on screen: docs/desktop.png and docs/phone.png (the Draw tab with the drawing, its live bars and the
live GAP strip: the README's first picture) and docs/gap.png (the "Inside the network" tab's global average
pooling panel for the same drawing, at desktop size: the README's second picture). With `--tabs DIR` it also
writes, per viewport, the Upload tab after the README's example image (the ankle boot) and every tab below the
prediction, whole (DIR/desktop-inside.png, …): the pictures to look at before changing the page's layout.
A developer tool: the app never imports it. Needs Playwright and a Chromium (Debian's /usr/bin/chromium by
default; `--chromium` for another).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nin.dev.launcher import launch, stop

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "nin" / "examples" / "test00000_ankle-boot.png"
VIEWPORTS = {"desktop": (1400, 900), "phone": (390, 844)}
TIMEOUT_MS = 60_000  # a first prediction on a busy 2-core machine
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
# The tabs below the prediction: (short name for the file, the tab's label, what shows once it has drawn).
TABS = [
    ("inside", "Inside the network", "#gap table, #gap img, #gap canvas"),
    ("mlp", "1×1 conv = MLP", "#mlp-map img"),
    ("parameters", "Where the parameters live", "#parameters-report .nin-params"),
    ("ablation", "GAP is an average", "#ablation-logits table"),
    ("translation", "Translation", "#translation-inputs img"),
    ("gradcam", "CAM for free", "#gradcam .nin-lesson-gradcam"),
    ("explore", "Explore further", "#explore-occlusion-result p"),
    ("report", "Model report", "[id^=confusion-] table"),
]


TROUSERS = [[(0.36, 0.14), (0.64, 0.14)], [(0.36, 0.14), (0.31, 0.86), (0.45, 0.86), (0.5, 0.36), (0.55, 0.86),
             (0.69, 0.86), (0.64, 0.14)]]


def draw_trousers(page) -> None:
    """A pair of trousers in two strokes, as a person would draw them (no tool picked first)."""
    box = page.locator("#canvas .nin-cv-ink").bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    for points in TROUSERS:
        page.mouse.move(x + points[0][0] * w, y + points[0][1] * h)
        page.mouse.down()
        for px, py in points[1:]:
            page.mouse.move(x + px * w, y + py * h, steps=8)
        page.mouse.up()


def wait_for_drawing(page) -> None:
    """The live answer, the live GAP strip and the full explanation of the drawing are all on the page."""
    from playwright.sync_api import expect

    expect(page.locator("#canvas .nin-cv")).to_have_attribute("data-state", "shown", timeout=TIMEOUT_MS)
    expect(page.locator("#steps")).to_contain_text("Drawing on the canvas", timeout=TIMEOUT_MS)
    expect(page.locator('#prediction [data-testid="label-output-value"]')).to_be_attached(timeout=TIMEOUT_MS)
    # the pictures below are no longer faded as "an older drawing"
    expect(page.locator("body")).not_to_have_attribute("data-nin-drawing", "ahead", timeout=TIMEOUT_MS)
    expect(page.locator("#input28")).to_have_css("opacity", "1", timeout=TIMEOUT_MS)


def shoot_gap(page, path: Path) -> Path:
    """The "Inside the network" tab's global average pooling panel (its heading, the ten maps, the scores)."""
    from playwright.sync_api import expect

    page.locator("#lessons").get_by_role("tab", name="Inside the network").click()
    expect(page.locator("#gap .nin-card")).to_have_count(10, timeout=TIMEOUT_MS)
    page.locator("#gap-section").scroll_into_view_if_needed()
    top, panel = page.locator("#gap-section").bounding_box(), page.locator("#gap").bounding_box()
    scroll = page.evaluate("[window.scrollX, window.scrollY]")
    clip = {"x": min(top["x"], panel["x"]) + scroll[0] - 8, "y": top["y"] + scroll[1] - 8,
            "width": max(top["width"], panel["width"]) + 16, "height": panel["y"] + panel["height"] - top["y"] + 16}
    page.screenshot(path=str(path), clip=clip, full_page=True)
    return path


def shoot_tabs(page, name: str, out_dir: Path) -> list[Path]:
    """The Upload tab after the example, then every tab below its prediction, whole."""
    from playwright.sync_api import expect

    written = []
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload input[type=file]").set_input_files(str(EXAMPLE))
    expect(page.locator('#prediction [data-testid="label-output-value"]')).to_have_text("Ankle boot",
                                                                                        timeout=TIMEOUT_MS)
    page.evaluate("window.scrollTo(0, 0)")
    path = out_dir / f"{name}-upload.png"
    page.screenshot(path=str(path))
    written.append(path)
    for short, label, ready in TABS:
        page.locator("#lessons").get_by_role("tab", name=label).click()
        expect(page.locator(ready).first).to_be_visible(timeout=TIMEOUT_MS)
        # Gradio's event stream keeps the network busy, so wait for the tab's pictures themselves.
        # (Lazy pictures below the screen load once the screenshot scrolls to them.)
        page.wait_for_function("[...document.querySelectorAll('#lessons img')]"
                               ".every(i => i.complete || i.loading === 'lazy')")
        path = out_dir / f"{name}-{short}.png"
        page.locator("#lessons").screenshot(path=str(path))
        written.append(path)
    return written


def shoot(url: str, chromium: Path, out_dir: Path, tabs_dir: Path | None = None) -> list[Path]:
    """Per viewport, the Draw tab after a drawing (and at desktop size its GAP panel; with tabs_dir, the
    Upload tab and every tab below the prediction); returns the files written."""
    from playwright.sync_api import expect, sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        for name, (width, height) in VIEWPORTS.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.goto(url)
            expect(page.locator("#canvas .nin-cv-ink")).to_be_visible(timeout=TIMEOUT_MS)
            expect(page.locator("#status")).to_contain_text("Ready", timeout=TIMEOUT_MS)
            draw_trousers(page)
            wait_for_drawing(page)
            page.evaluate("window.scrollTo(0, 0)")  # the picture starts at the top, as people land
            page.wait_for_function("window.scrollY === 0")
            path = out_dir / f"{name}.png"
            page.screenshot(path=str(path))
            written.append(path)
            if name == "desktop":
                written.append(shoot_gap(page, out_dir / "gap.png"))
            if tabs_dir is not None:
                written += shoot_tabs(page, name, tabs_dir)
            context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m nin.dev.screenshots", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs", help="where desktop.png, phone.png and gap.png go (docs/)")
    p.add_argument("--tabs", type=Path, default=None, metavar="DIR",
                   help="also write the Upload tab and every tab below the prediction, per viewport, into DIR")
    p.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"), help="the Chromium to drive")
    args = p.parse_args(argv)
    for folder in (args.out, args.tabs):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    server, url = launch(timeout=180)
    try:
        for path in shoot(url, args.chromium, args.out, args.tabs):
            print(f"wrote {path}")
    finally:
        stop(server)


if __name__ == "__main__":
    main()
