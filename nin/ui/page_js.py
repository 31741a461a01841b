"""The page's own JavaScript and the CSS it relies on: small fixes to how Gradio 6.31 lays out the page.

Passed as `demo.launch(js=PAGE_JS)` (in Gradio 6 `js`, `css` and `head` are launch() arguments); Gradio calls
the function once the page is mounted. It works only through the DOM the page already has, so it reaches into
no Gradio internals, and every part is a no-op when its element is absent. (The drawing canvas carries its own
script: nin/ui/canvas.py.)

1. **Wide tables** (`.nin-scroll`, the report's `.nin-cm-wrap`) get `data-nin-more` = left/right/both while
   part of them is scrolled out of view; PAGE_CSS fades that edge.
   A table that scrolls is also focusable (tabindex 0), so it can be scrolled from the keyboard.
2. **An example shows where the user is looking.** A test image or photo example loads into the Upload tab,
   so the page switches to that tab (the chosen picture then shows in the input box, beside its prediction);
   on a phone the prediction sits above the examples and is scrolled into view unless it is already near the
   top of the screen.
3. **One current input.** When the user opens the Upload tab, the page clicks the hidden `#upload-shown`
   button: the picture in the box becomes the input again, or, with none, every panel is cleared. (Opening the
   Draw tab does the same for the drawing: nin/ui/canvas.py.) An example's own switch to the tab does not.
4. **Names Gradio leaves out** (nin/ui/accessibility.js): the example buttons, the image outputs' buttons,
   the empty image placeholders.
"""

import json
from pathlib import Path

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

PAGE_JS = """
() => {
  const IMAGE_NAMES = IMAGE_NAMES_JSON;  // read by accessibility.js, below
  // 1. Wide tables: mark which side has more to see (CSS fades that edge).
  const SCROLLERS = '.nin-scroll, .nin-cm-wrap';
  function markScroll(el) {
    // Scrolled sideways from the keyboard too: a region that scrolls must be focusable (WCAG 2.1.1).
    if (el.scrollWidth > el.clientWidth + 1 && !el.hasAttribute('tabindex')) el.setAttribute('tabindex', '0');
    const left = el.scrollLeft > 1, right = el.scrollLeft + el.clientWidth < el.scrollWidth - 1;
    const more = left && right ? 'both' : left ? 'left' : right ? 'right' : '';
    if ((el.dataset.ninMore || '') !== more) el.dataset.ninMore = more;
  }
  const markAll = () => document.querySelectorAll(SCROLLERS).forEach(markScroll);
  document.addEventListener('scroll', (e) => {
    if (e.target instanceof Element && e.target.matches(SCROLLERS)) markScroll(e.target);
  }, true);
  window.addEventListener('resize', markAll);

  // Once per frame at most, after the page changed (Gradio re-renders).
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; markAll(); nameWhatGradioLeavesUnnamed(); });
  }).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['class']});
  nameWhatGradioLeavesUnnamed();

  // 2. After an example is picked, show it in the Upload tab and bring the prediction into view unless it is
  //    near the top of the screen.
  document.addEventListener('click', (e) => {
    if (!(e.target instanceof Element) || !e.target.closest('#examples button')) return;
    const uploadTab = document.getElementById('tab-upload-button');
    if (uploadTab && uploadTab.getAttribute('aria-selected') !== 'true') {
      forExample = true;  // the example itself becomes the input: the tab's own "show the upload" is not sent
      try { uploadTab.click(); } finally { forExample = false; }
    }
    // The Prediction box shows once the Upload tab has been drawn: wait for it a few frames at most.
    const bring = (frames) => {
      const prediction = document.getElementById('prediction');
      if (!prediction) return;
      if (prediction.offsetParent === null) {
        if (frames > 0) requestAnimationFrame(() => bring(frames - 1));
        return;
      }
      const top = prediction.getBoundingClientRect().top;
      if (top < 0 || top > window.innerHeight / 2) prediction.scrollIntoView({behavior: 'smooth', block: 'start'});
    };
    bring(60);
  }, true);

  // 3. The user opened the Upload tab: its picture (or its emptiness) is the page's input again.
  let forExample = false;
  document.addEventListener('click', (e) => {
    if (forExample || !(e.target instanceof Element) || !e.target.closest('#tab-upload-button')) return;
    const shown = document.getElementById('upload-shown');
    if (shown) shown.click();
  });

  // 4. Names Gradio leaves out (the function, from accessibility.js, runs after every change of the page).
ACCESSIBILITY_JS
}
"""

# One complete font for the whole page: the system's own. Gradio 6.31's bundled Source Sans Pro SemiBold holds
# only a few glyphs, so headings mixed two fonts.
FONT_STACK = ('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, "DejaVu Sans", '
              'sans-serif')
MONO_STACK = 'ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace'

# The CSS the script and the page's layout rely on (nin/ui/page.py adds it to the page's CSS).
PAGE_CSS = """
:root, .dark, .gradio-container { --font: FONT_STACK; --font-mono: MONO_STACK; }
.gradio-container, .gradio-container h1, .gradio-container h2, .gradio-container h3, .gradio-container h4,
.gradio-container button, .gradio-container input, .gradio-container textarea, .gradio-container select {
  font-family: var(--font); }

/* Readable secondary text: Gradio's subdued grey (#bbbbc2 on white, 1.91:1) fails WCAG AA (4.5:1) and it colours
   the live GAP strip's means, placeholders, slider ends and bar details. #5d5d68 on white is 6.4:1; the dark
   theme keeps a light grey. (Selectors doubled to outrank the theme's own :root rules, whatever their order.) */
:root:root { --body-text-color-subdued: #5d5d68; }
:root:root.dark, :root:root .dark { --body-text-color-subdued: #b4b4bd; }
/* The selected tab's name is in the accent orange (#f97316 on white, 2.8:1): a darker orange reads (5.2:1). */
.gradio-container button[role="tab"][aria-selected="true"] { color: #c2410c; }
.dark .gradio-container button[role="tab"][aria-selected="true"],
.gradio-container.dark button[role="tab"][aria-selected="true"] { color: #fb923c; }

/* While the Draw tab is open the canvas shows the ten probabilities live beside the drawing, and its live line
   is the status: the Prediction box and the status line would repeat them, a step behind the pen, so they
   step aside (what the network sees and everything below it stay). With an upload or an example the
   Prediction box and the status line are the answer. */
body:has(#tab-draw-button[aria-selected="true"]) #prediction,
body:has(#tab-draw-button[aria-selected="true"]) #status { display: none; }
/* From the first change of a drawing until its full explanation arrives (about 300 ms after the pen lifts),
   what the network sees, the steps and the tabs below still show the drawing as it was: they fade, so none
   of them passes for a picture of the drawing on screen, whose live answer is beside it. */
body[data-nin-drawing]:has(#tab-draw-button[aria-selected="true"]) :is(#seen-caption, #input28, #input224,
  #steps, #lessons) { opacity: 0.35; transition: opacity 0.1s; }

/* Lesson tabs wrap onto a second line instead of hiding behind a "more" menu: Gradio moves the tabs that do not
   fit into the menu by measuring a hidden copy of the tab bar; with that copy not displayed every tab fits. */
#lessons .tab-wrapper { height: auto; }
#lessons .tab-container.visually-hidden { display: none; }
#lessons .tab-container[role="tablist"] { flex-wrap: wrap; height: auto; overflow: visible; row-gap: 2px; }
#lessons .tab-container[role="tablist"] button { height: var(--size-8); }
#lessons .overflow-menu { display: none; }

/* Wide tables scroll sideways; the script marks the side with more to see, and that edge fades out. */
.nin-scroll { overflow-x: auto; max-width: 100%; }
[data-nin-more="right"] { mask-image: linear-gradient(to right, #000 calc(100% - 48px), transparent); }
[data-nin-more="left"] { mask-image: linear-gradient(to left, #000 calc(100% - 48px), transparent); }
[data-nin-more="both"] { mask-image: linear-gradient(to right, transparent, #000 48px, #000 calc(100% - 48px),
                                                    transparent); }
""".replace("FONT_STACK", FONT_STACK).replace("MONO_STACK", MONO_STACK)

PAGE_JS = (PAGE_JS.replace("IMAGE_NAMES_JSON", json.dumps(IMAGE_NAMES, ensure_ascii=False))
           .replace("ACCESSIBILITY_JS", Path(__file__).with_name("accessibility.js").read_text()))
