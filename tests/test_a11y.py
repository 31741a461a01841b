"""Accessibility as a test: axe-core (Deque's engine, shipped by the `axe-playwright-python` package) runs
WCAG 2.1 A and AA rules in Chromium on the page as loaded, after a drawing, on every tab below the prediction
and on the Upload tab after an example, at a desktop and a phone size. No violation of serious or critical
impact may remain. `python -m nin.dev.a11y` runs the same scan against a freshly launched app and prints
every rule broken, whatever its impact.
"""

import json
import os
from pathlib import Path

import pytest

from conftest import require

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("NIN_SCREENSHOT_DIR") or ROOT / "artifacts" / "screenshots")


@pytest.fixture(scope="module")
def axe_installed():
    try:
        import axe_playwright_python  # noqa: F401
    except ImportError:
        require(False, "axe-playwright-python not installed; pip install -r requirements-dev.txt")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_axe_finds_no_serious_or_critical_wcag_violation_as_loaded_after_a_drawing_and_on_every_tab(
        open_page, axe_installed, size):
    from nin.dev import a11y

    page = open_page(*a11y.VIEWPORTS[size])
    found = a11y.scan_every_screen(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"axe-{size}.json").write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")
    assert set(found) >= {"as loaded", "after a drawing", "Upload, after an example",
                          *(label for label, _ in a11y.LESSON_TABS)}
    blocking = {screen: [f"{v['id']} ({v['impact']}): {v['nodes'][:3]}" for v in violations
                         if v["impact"] in a11y.BLOCKING] for screen, violations in found.items()}
    assert not any(blocking.values()), {screen: rules for screen, rules in blocking.items() if rules}
