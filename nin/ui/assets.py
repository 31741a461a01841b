"""The page's front-end code, read at build time from the .js and .css files in nin/ui/static, and what the page's
own script does: small fixes to how Gradio 6.31 lays out the page.

`page_js()` is passed as `demo.launch(js=...)` (in Gradio 6 `js`, `css` and `head` are launch() arguments); Gradio calls
the function once the page is mounted. It works only through the DOM the page already has, so it reaches into
no Gradio internals, and every part is a no-op when its element is absent. (The drawing canvas carries its own
script: static/canvas.js.) Values reach the scripts as data (JSON), never by formatting their code.

1. **Wide tables** (`.nin-scroll`, the report's `.nin-cm-wrap`) get `data-nin-more` = left/right/both while
   part of them is scrolled out of view; page.css fades that edge.
   A table that scrolls is also focusable (tabindex 0), so it can be scrolled from the keyboard.
2. **An example shows where the user is looking.** A test image or photo example loads into the Upload tab,
   so the page switches to that tab (the chosen picture then shows in the input box, beside its prediction);
   on a phone the prediction sits above the examples and is scrolled into view unless it is already near the
   top of the screen.
3. **One current input.** When the user opens the Upload tab, the page clicks the hidden `#upload-shown`
   button: the picture in the box becomes the input again, or, with none, every panel is cleared. (Opening the
   Draw tab does the same for the drawing: static/canvas.js.) An example's own switch to the tab does not.
4. **Names Gradio leaves out** (static/accessibility.js): the example buttons, the image outputs' buttons,
   the empty image placeholders.
"""

import functools
import json
from pathlib import Path

STATIC = Path(__file__).with_name("static")

# The page's style sheets, in the order they are joined: every bar chart, the GAP panel, the lessons, the report
# (their HTML: nin/render), then the page's own.
PAGE_SHEETS = ("bars.css", "gap_panel.css", "lessons.css", "report.css", "page.css", "layout.css")

# The image outputs' names for screen readers (by elem_id): Gradio names their picture buttons nothing.
IMAGE_NAMES = {
    "input28": "The 28×28 image the network sees, shown 8 times larger",
    "input224": "The 224×224 input the 28×28 image is resized to",
    "cam": "Class activation map over the input",
    "mlp-map": "Block output, mean over channels: click a pixel",
    "mlp-vectors": "x, h and y at the picked pixel",
    "mlp-w1": "W1 of the block, as a heatmap",
    "mlp-w2": "W2 of the block, as a heatmap",
    "translation-inputs": "The input, unshifted and shifted",
}


@functools.cache
def asset(name: str) -> str:
    """The text of one file of nin/ui/static, read once."""
    return (STATIC / name).read_text(encoding="utf-8")


def page_css() -> str:
    """The page's CSS: every sheet of PAGE_SHEETS, joined."""
    return "".join(asset(name) for name in PAGE_SHEETS)


def page_js() -> str:
    """The page's script for `demo.launch(js=...)`: one function holding the page's values as JSON, then
    page.js and accessibility.js."""
    config = json.dumps({"imageNames": IMAGE_NAMES}, ensure_ascii=False)
    return "\n() => {\n  const PAGE_CONFIG = " + config + ";\n" + asset("page.js") + asset("accessibility.js") + "}\n"
