"""The page's own JavaScript and the CSS it relies on: small fixes to how Gradio 6.31 lays out the page.

Passed as `demo.launch(js=PAGE_JS)` (in Gradio 6 `js`, `css` and `head` are launch() arguments); Gradio calls
the function once the page is mounted. It works only through the DOM the page already has, so it reaches into
no Gradio internals, and every part is a no-op when its element is absent. (The drawing canvas carries its own
script: nin/ui/canvas.py.)

1. **Wide tables** (`.nin-scroll`, the report's `.nin-cm-wrap`) get `data-nin-more` = left/right/both while
   part of them is scrolled out of view; PAGE_CSS fades that edge.
2. **An example shows where the user is looking.** A test image or photo example loads into the Upload tab,
   so the page switches to that tab (the chosen picture then shows in the input box, beside its prediction);
   on a phone the prediction sits above the examples and is scrolled into view unless it is already near the
   top of the screen.
"""

PAGE_JS = """
() => {
  // 1. Wide tables: mark which side has more to see (CSS fades that edge).
  const SCROLLERS = '.nin-scroll, .nin-cm-wrap';
  function markScroll(el) {
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
    requestAnimationFrame(() => { queued = false; markAll(); });
  }).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['class']});

  // 2. After an example is picked, show it in the Upload tab and bring the prediction into view unless it is
  //    near the top of the screen.
  document.addEventListener('click', (e) => {
    if (!(e.target instanceof Element) || !e.target.closest('#examples button')) return;
    const uploadTab = document.getElementById('tab-upload-button');
    if (uploadTab && uploadTab.getAttribute('aria-selected') !== 'true') uploadTab.click();
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

/* While the Draw tab is open the canvas shows the ten probabilities live beside the drawing; the Prediction
   box would repeat them, so it steps aside (the status line, what the network sees and everything below it
   stay). With an upload or an example the Prediction box is the answer. */
body:has(#tab-draw-button[aria-selected="true"]) #prediction { display: none; }

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
