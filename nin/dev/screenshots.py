"""`python -m nin.dev.screenshots`: the README's pictures of the page, made fresh from the running app.

Launches `python app.py` on a free loopback port (nin.dev.bench_load.launch), opens it in Chromium through
Playwright at a desktop (1400×900) and a phone (390×844) viewport, uploads the README's example image (the
ankle boot, an official test image), waits for its prediction and writes what is on screen to
docs/desktop.png and docs/phone.png. A developer tool: the app never imports it. Needs Playwright and a
Chromium (Debian's /usr/bin/chromium by default; `--chromium` for another).
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


def shoot(url: str, chromium: Path, out_dir: Path) -> list[Path]:
    """One screenshot per viewport of the page after the example's prediction; returns the files written."""
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
            context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m nin.dev.screenshots", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs", help="where desktop.png and phone.png go (docs/)")
    p.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"), help="the Chromium to drive")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    server, url = launch(timeout=180)
    try:
        for path in shoot(url, args.chromium, args.out):
            print(f"wrote {path}")
    finally:
        stop(server)


if __name__ == "__main__":
    main()
