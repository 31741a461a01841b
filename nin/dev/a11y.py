"""`python -m nin.dev.a11y`: an accessibility scan of the running app with axe-core, Deque's engine.

Launches `python app.py` on a free loopback port (nin.dev.launcher.launch), or scans `--url`, in Chromium
through Playwright at a desktop (1400×1000) and a phone (390×844) viewport, and runs axe-core's WCAG 2.1 A
and AA rules (shipped by the `axe-playwright-python` package) on the page as loaded, after a drawing, on the
Upload tab after an example, and on every tab below the prediction. Prints each rule broken, its impact and
how many elements break it, per screen; exits 1 when any violation is serious or critical. The browser
tests (tests/test_a11y.py) run the same `scan_every_screen` against the in-process server.
A developer tool: the app never imports it.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VIEWPORTS = {"desktop": (1400, 1000), "phone": (390, 844)}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
TIMEOUT_MS = 60_000  # a first prediction on a busy 2-core machine
EXAMPLE = ROOT / "nin" / "examples" / "test00000_ankle-boot.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# The tabs below the prediction: (the tab's label, what shows once the tab has drawn).
LESSON_TABS = [
    ("Inside the network", "#gap .nin-card"),
    ("1×1 conv = MLP", "#mlp-map img"),
    ("Where the parameters live", "#parameters-report .nin-params"),
    ("GAP is an average", "#ablation-logits table"),
    ("Translation", "#translation-inputs img"),
    ("CAM for free", "#gradcam .nin-lesson-gradcam"),
    ("Explore further", "#explore-occlusion-result p"),
    ("Model report", "[id^=confusion-] table"),
]


def violations(page) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on what the page shows now: [{"id", "impact", "nodes": [target…]}]."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS},
                                       "resultTypes": ["violations"]})
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [" ".join(map(str, node["target"])) for node in v["nodes"]]}
            for v in results.response["violations"]]


def draw_a_stroke(page) -> None:
    """A trouser-like outline on the page as loaded (no tool picked first, as a newcomer draws)."""
    box = page.locator("#canvas .nin-cv-ink").bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    points = [(0.35, 0.15), (0.35, 0.85), (0.5, 0.3), (0.65, 0.85), (0.65, 0.15)]
    page.mouse.move(x + points[0][0] * w, y + points[0][1] * h)
    page.mouse.down()
    for px, py in points[1:]:
        page.mouse.move(x + px * w, y + py * h, steps=6)
    page.mouse.up()


def scan_every_screen(page) -> dict[str, list[dict]]:
    """The page (freshly loaded, "Ready") scanned as loaded, after a drawing, on every lesson tab, and on the
    Upload tab after an example: screen name -> its violations."""
    from playwright.sync_api import expect

    found = {"as loaded": violations(page)}
    draw_a_stroke(page)
    expect(page.locator('#prediction [data-testid="label-output-value"]')).to_be_attached(timeout=TIMEOUT_MS)
    expect(page.locator("body")).not_to_have_attribute("data-nin-drawing", "ahead", timeout=TIMEOUT_MS)
    found["after a drawing"] = violations(page)
    for label, ready in LESSON_TABS:
        page.locator("#lessons").get_by_role("tab", name=label).click()
        expect(page.locator(ready).first).to_be_visible(timeout=TIMEOUT_MS)
        found[label] = violations(page)
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload input[type=file]").set_input_files(str(EXAMPLE))
    expect(page.locator('#prediction [data-testid="label-output-value"]')).to_have_text("Ankle boot",
                                                                                        timeout=TIMEOUT_MS)
    found["Upload, after an example"] = violations(page)
    return found


def blocking(found: dict[str, list[dict]]) -> list[dict]:
    return [v for screen in found.values() for v in screen if v["impact"] in BLOCKING]


def summary(found: dict[str, list[dict]]) -> tuple[Counter, int]:
    """Elements per rule over every screen (an element counted once per rule), and the distinct elements."""
    per_rule: dict[str, set] = {}
    for screen in found.values():
        for v in screen:
            per_rule.setdefault(f"{v['id']} ({v['impact']})", set()).update(v["nodes"])
    counts = Counter({rule: len(nodes) for rule, nodes in per_rule.items()})
    return counts, sum(counts.values())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m nin.dev.a11y", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=None, help="scan this running app instead of launching app.py")
    p.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"), help="the Chromium to drive")
    args = p.parse_args(argv)
    from playwright.sync_api import expect, sync_playwright

    from nin.dev.launcher import launch, stop

    server, url = (None, args.url) if args.url else launch(timeout=180)
    everything: dict[str, list[dict]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(args.chromium), args=CHROMIUM_ARGS)
            for name, (width, height) in VIEWPORTS.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                page.goto(url)
                expect(page.locator("#status")).to_contain_text("Ready", timeout=TIMEOUT_MS)
                for screen, found in scan_every_screen(page).items():
                    everything[f"{name}: {screen}"] = found
                    rules = ", ".join(f"{v['id']} ×{len(v['nodes'])}" for v in found) or "none"
                    print(f"{name:8} {screen:28} {rules}")
                context.close()
            browser.close()
    finally:
        if server is not None:
            stop(server)
    counts, elements = summary(everything)
    for rule, count in counts.most_common():
        print(f"{count:6}  {rule}")
    per_screen = sum(len(v["nodes"]) for screen in everything.values() for v in screen)
    print(f"{len(counts)} rules broken on {elements} distinct elements ({per_screen} counted screen by screen); "
          f"{len(blocking(everything))} serious or critical violations over {len(everything)} screens")
    sys.exit(1 if blocking(everything) else 0)


if __name__ == "__main__":
    main()
