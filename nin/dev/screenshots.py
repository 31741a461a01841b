"""`python -m nin.dev.screenshots`: pictures of the page, made fresh from the running app.

Launches `python app.py` on a free loopback port (nin.dev.bench_load.launch), opens it in Chromium through
Playwright at a desktop (1400×900) and a phone (390×844) viewport, uploads the README's example image (the
ankle boot, an official test image), waits for its prediction and writes what is on screen to
docs/desktop.png and docs/phone.png (the README's pictures). With `--tabs DIR` it also writes, per viewport,
the Draw tab after a stroke and every tab below the prediction, whole (DIR/desktop-inside.png, …): the pictures
to look at before changing the page's layout. A developer tool: the app never imports it. Needs Playwright
and a Chromium (Debian's /usr/bin/chromium by default; `--chromium` for another).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nin.dev.bench_load import launch, stop

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


def draw_a_stroke(page) -> None:
    """A trouser-like stroke on the canvas, as a person would draw it (no tool picked first)."""
    box = page.locator("#canvas .nin-cv-ink").bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    for points in ([(0.35, 0.15), (0.3, 0.85)], [(0.65, 0.15), (0.7, 0.85)], [(0.35, 0.15), (0.65, 0.15)]):
        page.mouse.move(x + points[0][0] * w, y + points[0][1] * h)
        page.mouse.down()
        page.mouse.move(x + points[1][0] * w, y + points[1][1] * h, steps=8)
        page.mouse.up()


def shoot_tabs(page, name: str, out_dir: Path) -> list[Path]:
    """The Draw tab after a stroke, then every tab below the prediction of the uploaded example, whole."""
    from playwright.sync_api import expect

    written = []
    page.get_by_role("tab", name="Draw").click()
    draw_a_stroke(page)
    expect(page.locator("#canvas .nin-cv")).to_have_attribute("data-state", "shown", timeout=TIMEOUT_MS)
    expect(page.locator("#steps")).to_contain_text("drawing", ignore_case=True, timeout=TIMEOUT_MS)
    path = out_dir / f"{name}-draw.png"
    page.screenshot(path=str(path), full_page=True)
    written.append(path)
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload input[type=file]").set_input_files(str(EXAMPLE))
    expect(page.locator('#prediction [data-testid="label-output-value"]')).to_have_text("Ankle boot",
                                                                                        timeout=TIMEOUT_MS)
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
    """One screenshot per viewport of the page after the example's prediction (and, with tabs_dir, one of
    every tab); returns the files written."""
    from playwright.sync_api import expect, sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        for name, (width, height) in VIEWPORTS.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.goto(url)
            expect(page.locator("#status")).to_contain_text("Ready", timeout=TIMEOUT_MS)
            page.get_by_role("tab", name="Upload").click()
            page.locator("#upload input[type=file]").set_input_files(str(EXAMPLE))
            expect(page.locator('#prediction [data-testid="label-output-value"]')).to_have_text(
                "Ankle boot", timeout=TIMEOUT_MS)
            expect(page.locator("#input224 img")).to_be_visible(timeout=TIMEOUT_MS)
            # The page scrolls the prediction into view on a phone; the picture starts at the top, as people land.
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_function("window.scrollY === 0")
            path = out_dir / f"{name}.png"
            page.screenshot(path=str(path))
            written.append(path)
            if tabs_dir is not None:
                written += shoot_tabs(page, name, tabs_dir)
            context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m nin.dev.screenshots", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs", help="where desktop.png and phone.png go (docs/)")
    p.add_argument("--tabs", type=Path, default=None, metavar="DIR",
                   help="also write the Draw tab and every tab below the prediction, per viewport, into DIR")
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
