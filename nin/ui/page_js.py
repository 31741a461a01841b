"""The page's own JavaScript and the CSS it relies on: what Gradio 6.31's sketchpad needs to work on the first try.

Passed as `demo.launch(js=PAGE_JS)` (in Gradio 6 `js`, `css` and `head` are launch() arguments); Gradio calls
the function once the page is mounted. It works only through the DOM the page already has (the editor's
own toolbar buttons, pointer and wheel events on its canvas, clicks on the examples), so it reaches into no
Gradio internals, and every part is a no-op when its element is absent.

1. **The brush is active from the start.** Gradio 6.31's image editor picks the draw tool once it is ready
   (`sources=()` and brush options given), but in the same update an effect meant for "the value was
   cleared" sees the empty value and resets the canvas with the tool set back to "image"
   (`ImageEditor.svelte`: `$effect(() => { if (background == null && layers.length == 0 && composite == null
   && editor && ready) { editor.reset_canvas(); ...; handle_tool_change({ tool: "image" }); ... } })`).
   "Clear canvas" does the same on purpose. With the "image" tool and no upload source a stroke draws
   nothing and the canvas only says "select the draw tool to start". So whenever neither Brush nor Erase is
   the active tool, the script clicks Brush, as a newcomer would have had to.
2. **Live prediction during a stroke.** The editor reports a change only when a stroke ends, and the app
   predicts on that change (`trigger_mode="always_last"`: the latest drawing wins, nothing piles up).
   While the pointer is down and moving, the script ends the stroke where the pointer is and starts a new
   one at the same point (a synthetic pointerup + pointerdown on the canvas) at most every SPLIT_MS and only
   once the previous mid-stroke result is on the page, so the existing change -> predict path runs
   mid-stroke without piling up. The joins are invisible (round brush, same point); the only trace is that
   Undo steps back one piece of a long stroke at a time.
3. **The drawing area is the visible square** (PAGE_CSS), so the wheel may not pan or zoom it: over the
   canvas the wheel scrolls the page.
4. **Wide tables** (`.nin-scroll`, the report's `.nin-cm-wrap`) get `data-nin-more` = left/right/both while
   part of them is scrolled out of view; PAGE_CSS fades that edge.
5. **An example's result is on screen.** On a phone the prediction sits above the examples; after tapping
   one, the prediction is scrolled into view unless it is already near the top of the screen.
"""

SPLIT_MS = 250  # ms between mid-stroke predictions at most: ~4 a second, well within one 2-core server's pace

PAGE_JS = """
() => {
  const SPLIT_MS = %(split_ms)d;
  let stroke = null;  // {canvas, pointerId, pointerType, x, y, last} while a real pointer draws on the canvas
  const canvasOf = (target) => target instanceof HTMLCanvasElement && target.closest('#sketch .pixi-target')
    ? target : null;

  // 1. Keep the brush active whenever no drawing tool is (page load, after "Clear canvas").
  function ensureBrush() {
    const root = document.getElementById('sketch');
    const brush = root && root.querySelector('button[aria-label="Brush"]');
    if (!brush || stroke) return;
    const erase = root.querySelector('button[aria-label="Erase"]');
    if (brush.classList.contains('highlight') || (erase && erase.classList.contains('highlight'))) return;
    brush.click();
  }

  // 4. Wide tables: mark which side has more to see (CSS fades that edge).
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

  // Both run once per frame at most, after the page changed (Gradio re-renders, the editor's toolbar).
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; ensureBrush(); markAll(); });
  }).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['class']});

  // 2. Split a long stroke so the prediction follows the pen. One split at a time: the next waits until the
  // page has shown a result since the last one (or 3 s), so a slow server or a slow phone gets fewer
  // mid-stroke predictions, never a pile of them.
  let waiting = 0, shown = null;
  // The status line's text (not its progress timer) changes with every result.
  const result = () => { const s = document.querySelector('#status [data-testid="markdown"]');
                         return s ? s.textContent : null; };
  document.addEventListener('pointerdown', (e) => {
    const canvas = e.isTrusted && e.button === 0 ? canvasOf(e.target) : null;
    if (canvas) stroke = {canvas, pointerId: e.pointerId, pointerType: e.pointerType, x: e.clientX,
                          y: e.clientY, last: performance.now()};
  }, true);
  document.addEventListener('pointermove', (e) => {
    if (!stroke || !e.isTrusted || e.pointerId !== stroke.pointerId) return;
    stroke.x = e.clientX; stroke.y = e.clientY;
    const now = performance.now();
    if (waiting && result() !== shown) waiting = 0;
    if (now - stroke.last < SPLIT_MS || (waiting && now - waiting < 3000)) return;
    stroke.last = waiting = now; shown = result();
    const current = stroke;
    setTimeout(() => {  // after the editor's own handler has drawn up to this point
      if (stroke !== current) return;  // the real stroke ended meanwhile
      const {canvas, pointerId, pointerType, x, y} = current;
      const init = {bubbles: true, cancelable: true, composed: true, clientX: x, clientY: y, pointerId,
                    pointerType, isPrimary: true, button: 0};
      canvas.dispatchEvent(new PointerEvent('pointerup', {...init, buttons: 0}));
      canvas.dispatchEvent(new PointerEvent('pointerdown', {...init, buttons: 1}));
    }, 0);
  }, true);
  const end = (e) => { if (e.isTrusted && stroke && e.pointerId === stroke.pointerId) stroke = null; };
  document.addEventListener('pointerup', end, true);
  document.addEventListener('pointercancel', end, true);

  // 3. The canvas would take the wheel to pan and zoom the drawing area off its square (and keep the page
  // from scrolling under the pointer): over the canvas the wheel scrolls the page.
  document.addEventListener('wheel', (e) => { if (canvasOf(e.target)) e.stopPropagation(); }, true);

  // 5. After an example is picked, bring the prediction into view unless it is near the top of the screen.
  document.addEventListener('click', (e) => {
    if (!(e.target instanceof Element) || !e.target.closest('#examples button')) return;
    const prediction = document.getElementById('prediction');
    if (!prediction) return;
    const top = prediction.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight / 2) prediction.scrollIntoView({behavior: 'smooth', block: 'start'});
  }, true);
}
""" % {"split_ms": SPLIT_MS}

# The CSS the script and the sketchpad layout rely on (nin/ui/page.py adds it to the page's CSS).
STRIP = 40  # px: the tool strip above the drawing square
SIDE = 340  # px: the drawing square at most (a phone's is the screen's width). The editor's rendering cost grows
            # with the drawn area: in software WebGL (headless Chromium here) 420 px took twice as long per move
PAGE_CSS = """
/* The sketchpad. The editor draws a 30 px margin around the drawing area that looks like the drawing area
   (both white, shown inverted) but takes no ink. Here the block is a square with a tool strip above it, and the
   editor's canvas is 60 px larger than the square, shifted by the margin and clipped to it: the fitted drawing
   area covers exactly the visible square, so a stroke anywhere on the black counts. */
#sketch { box-sizing: content-box !important; width: min(calc(100%% - 2px), %(side)dpx) !important;
          height: auto !important; aspect-ratio: 1 / 1; padding: %(strip)dpx 0 0 0 !important;
          margin: 0 auto !important; overflow: visible !important; }
#sketch .pixi-target { top: %(top)dpx; left: -30px; width: calc(100%% + 60px);
                       height: calc(100%% + %(grow)dpx); clip-path: inset(30px); }
#sketch canvas { cursor: crosshair; filter: invert(1); }
#sketch .empty { user-select: none; }
/* Tools in the strip: brush, eraser and brush size on the left; undo, redo, clear on the right. Pan and zoom
   change nothing the network sees and would move the drawing area off the square; the colour swatch shows the
   stored (black) colour of a brush that is white on screen, and the colour is fixed anyway. */
#sketch .toolbar-wrap { top: 5px !important; left: 6px !important; right: auto !important; width: auto !important;
                        flex-direction: row !important; }
#sketch .toolbar-wrap .half-container { flex-direction: row; padding: 0 4px; }
#sketch .toolbar-wrap .half-container:last-child { border-top: none; border-left: 1px solid var(--block-border-color); }
#sketch .toolbar-wrap button { height: 28px !important; width: 30px !important; }
#sketch .top-panel { top: 4px !important; }
#sketch .top-panel button { width: 30px !important; height: 30px !important; }
#sketch button[aria-label="Pan"], #sketch button[aria-label="Zoom in"], #sketch button[aria-label="Zoom out"],
#sketch .zoom-number, #sketch .top-panel .separator, #sketch button[aria-label="Color"] { display: none !important; }

/* Lesson tabs wrap onto a second line instead of hiding behind a "more" menu: Gradio moves the tabs that do not
   fit into the menu by measuring a hidden copy of the tab bar; with that copy not displayed every tab fits. */
#lessons .tab-wrapper { height: auto; }
#lessons .tab-container.visually-hidden { display: none; }
#lessons .tab-container[role="tablist"] { flex-wrap: wrap; height: auto; overflow: visible; row-gap: 2px; }
#lessons .tab-container[role="tablist"] button { height: var(--size-8); }
#lessons .overflow-menu { display: none; }

/* Wide tables scroll sideways; the script marks the side with more to see, and that edge fades out. */
.nin-scroll { overflow-x: auto; max-width: 100%%; }
[data-nin-more="right"] { mask-image: linear-gradient(to right, #000 calc(100%% - 48px), transparent); }
[data-nin-more="left"] { mask-image: linear-gradient(to left, #000 calc(100%% - 48px), transparent); }
[data-nin-more="both"] { mask-image: linear-gradient(to right, transparent, #000 48px, #000 calc(100%% - 48px),
                                                    transparent); }
""" % {"strip": STRIP, "top": STRIP - 30, "grow": 60 - STRIP, "side": SIDE}
