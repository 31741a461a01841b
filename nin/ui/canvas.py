"""The Draw tab's canvas: a light drawing surface on gr.HTML that answers while the pen moves.

What it is: one `gr.HTML(html_template=…, css_template=…, js_on_load=…, server_functions=[live])` with no
build step and nothing loaded from outside (it works offline). In the browser, pointer events draw white ink on
black (mouse, pen and touch alike, `touch-action: none` so a finger draws instead of scrolling), on a square
whose backing store follows the screen's pixel ratio. Three brush sizes, an eraser, undo per stroke (also
Ctrl+Z or Cmd+Z anywhere on the page while the canvas is on screen), clear (back to the brush), and the
drawing examples, which load into the canvas to be drawn over; every control is a labelled button.

While the pen moves the page keeps at most one live call in flight and always sends the latest drawing: the
ink, downsampled to EXPORT_SIDE px and sent as a PNG data URL (1-6 KB), goes to `live`, one POST to
/component_server outside Gradio's queue. It answers numbers only (nin.serve.live) and the page draws them
in place: the top class and % (in an aria-live element), the probability bars, the 28x28 image the network
saw, and the GAP strip, block4's ten 5x5 class maps with their means. About IDLE_MS after the pen lifts, the
same ink goes through the ordinary queued event (`drawn`) for the full explanation; an answer older than one
already shown is never shown, on the page (sequence numbers) or from the server (`DrawingCanvas.drawn` skips a
drawing a newer live call has replaced). Until that explanation arrives the page marks the body
(`data-nin-drawing`) and fades the pictures below, which still show the drawing as it was. Opening the Draw tab
again (after an upload or an example) sends the drawing on the canvas for its full explanation at once, so it
is the page's one current input again. `predict_sketch` is the API's way in: a drawing as an image file.

What it is not: the numbers (nin.serve.live), the bounds of the live calls (nin.ui.live_gate), the
page's layout around it (nin.ui.page) or the full explanation's pictures (nin.ui.events, nin.serve.pipeline).
"""

from __future__ import annotations

import base64
import html
import os
from collections import OrderedDict

import anyio
import gradio as gr

from nin.model import CLASS_NAMES
from nin.serve.live import decode_ink, ink_from_image, live
from nin.serve.pipeline import EXAMPLES_DIR, Pipeline, class_choice, cpu_count
from nin.serve.preprocess import EmptyInput
from nin.serve.checks import check_number, quote
from nin.serve.decode import InputError
from nin.ui.live_gate import MAX_INK_CHARS, LiveGate, check_ink
from nin.ui.refusals import guarded, refuse

LOGICAL_SIDE = 280    # stroke coordinates and brush sizes are in these units, whatever the screen
EXPORT_SIDE = 140     # px of the ink sent: preprocessing fills outlines at 140 px (nin.serve.preprocess)
IDLE_MS = 300         # after the pen lifts and stays up this long, the full explanation runs
# Between two live calls of one page at least this long: ~10 answers a second is smooth to watch, and 8 pages
# drawing at once then cost a 2-core server ~80 calls/s at most instead of as many as it can answer.
MIN_INTERVAL_MS = 100
BRUSHES = (("Thin", 8), ("Medium", 16), ("Thick", 28))
DEFAULT_BRUSH = 16
PROMPT = "Draw a garment on the black square: the prediction follows your pen."
# Live calls computing at once, in a thread pool of their own (one torch thread each): up to one per core, as the
# queued events' group. A flood of live calls then shares the cores with the queue instead of starving it.
LIVE_WORKERS = int(os.environ.get("NIN_LIVE_WORKERS", 0)) or max(1, min(2, cpu_count()))
LIVE_WAITING = 16     # live calls admitted and waiting for a worker, beyond which they are refused at once
SESSIONS_KEPT = 4096  # sessions whose latest live call is remembered (for skipping stale full explanations)


def drawing_examples() -> list[tuple[str, str]]:
    """(class name as the file names it, PNG data URI) of each shipped drawing (black on white, 280 px)."""
    examples = []
    for path in sorted(EXAMPLES_DIR.glob("drawing_*.png")):
        name = path.stem.split("_", 1)[1].replace("-", " ")
        examples.append((name, "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()))
    return examples


def html_template() -> str:
    """The canvas, its tools, the live panel and the examples (static: nothing in it is templated by Gradio)."""
    brushes = "".join(
        f'<button type="button" class="nin-cv-btn" data-size="{size}" aria-pressed="{str(size == DEFAULT_BRUSH).lower()}"'
        f' aria-label="{name} brush" title="{name} brush"><span class="nin-cv-dot" style="width:{size // 2 + 2}px;'
        f'height:{size // 2 + 2}px"></span><span class="nin-cv-word">{name}</span></button>' for name, size in BRUSHES)
    bars = "".join(
        f'<div class="nin-cv-bar" data-class="{i}"><span class="nin-cv-name">{html.escape(name)}</span>'
        f'<span class="nin-cv-track"><span class="nin-cv-fill"></span></span><span class="nin-cv-pct"></span></div>'
        for i, name in enumerate(CLASS_NAMES))
    maps = "".join(
        f'<figure class="nin-cv-map" data-class="{i}"><canvas width="5" height="5" aria-hidden="true"></canvas>'
        f'<figcaption><span class="nin-cv-mname">{html.escape(name)}</span><span class="nin-cv-mean"></span></figcaption>'
        f'</figure>' for i, name in enumerate(CLASS_NAMES))
    examples = "".join(
        f'<button type="button" class="nin-cv-example" data-src="{src}" aria-label="Load the {html.escape(name)} '
        f'drawing into the canvas" title="{html.escape(name)}"><img src="{src}" alt=""></button>'
        for name, src in drawing_examples())
    return f"""
<div class="nin-cv" data-state="empty">
  <div class="nin-cv-tools" role="toolbar" aria-label="Drawing tools">
    {brushes}
    <button type="button" class="nin-cv-btn" data-tool="erase" aria-pressed="false" aria-label="Eraser"
            title="Eraser">Eraser</button>
    <span class="nin-cv-gap"></span>
    <button type="button" class="nin-cv-btn" data-act="undo" aria-label="Undo" title="Undo (Ctrl+Z)">Undo</button>
    <button type="button" class="nin-cv-btn" data-act="clear" aria-label="Clear" title="Clear">Clear</button>
  </div>
  <div class="nin-cv-body">
    <div class="nin-cv-pad"><canvas class="nin-cv-ink" role="img" tabindex="0" aria-label="Drawing canvas: draw a garment
      in white with the mouse, a pen or a finger; Ctrl+Z undoes a stroke"></canvas></div>
    <div class="nin-cv-panel">
      <div class="nin-cv-top"><canvas class="nin-cv-seen" width="28" height="28" role="img"
        aria-label="The 28×28 image the network sees"></canvas>
        <p class="nin-cv-live" aria-live="polite">{PROMPT}</p></div>
      <div class="nin-cv-bars" aria-hidden="true">{bars}</div>
    </div>
  </div>
  <div class="nin-cv-strip" aria-label="Global average pooling, live: block4's ten 5×5 class maps; each class's
    score is its map's mean"><p class="nin-cv-strip-title">Global average pooling, live: each class's 5×5 map and
    its mean (the score)</p><div class="nin-cv-maps">{maps}</div></div>
  <div class="nin-cv-examples"><span>Drawings to start from (tap one, then draw on it):</span>{examples}</div>
</div>
"""


CSS_TEMPLATE = """
.nin-cv { display: flex; flex-direction: column; gap: 8px; }
.nin-cv-tools { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; }
.nin-cv-gap { flex: 1; }
.nin-cv-btn { display: inline-flex; align-items: center; gap: 4px; padding: 4px 9px; min-height: 32px;
              border: 1px solid var(--border-color-primary); border-radius: 6px; font-size: 14px;
              background: var(--button-secondary-background-fill); color: var(--body-text-color); cursor: pointer; }
.nin-cv-btn[aria-pressed="true"] { background: #f59e0b; border-color: #d97706; color: #111; }
.nin-cv-btn:focus-visible, .nin-cv-example:focus-visible, .nin-cv-ink:focus-visible { outline: 3px solid #2563eb;
  outline-offset: 1px; }
.nin-cv-dot { display: inline-block; border-radius: 50%; background: currentColor; }
.nin-cv-body { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.nin-cv-pad { flex: 0 0 auto; width: min(100%, 340px); aspect-ratio: 1 / 1; background: #000; border-radius: 4px;
              overflow: hidden; touch-action: none; }
.nin-cv-ink { display: block; width: 100%; height: 100%; touch-action: none; cursor: crosshair;
              -webkit-user-select: none; user-select: none; }
.nin-cv-panel { flex: 1 1 220px; min-width: 0; }
.nin-cv-top { display: flex; gap: 8px; align-items: center; }
.nin-cv-seen { width: 56px; height: 56px; image-rendering: pixelated; background: #000; border-radius: 3px; flex: none; }
.nin-cv-live { margin: 0; font-size: 20px; font-weight: 700; line-height: 1.25; }
.nin-cv[data-state="empty"] .nin-cv-live { font-size: 15px; font-weight: 400; }
.nin-cv-bars { margin-top: 6px; }
.nin-cv-bar { display: grid; grid-template-columns: 86px 1fr 40px; gap: 6px; align-items: center; margin: 2px 0;
              font-size: 13px; }
.nin-cv-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.nin-cv-track { height: 11px; background: var(--neutral-200, #e5e7eb); border-radius: 3px; overflow: hidden; }
.nin-cv-fill { display: block; height: 100%; width: 0; background: #31688e; }
.nin-cv-pct { text-align: right; font-variant-numeric: tabular-nums; }
.nin-cv-bar.nin-cv-best { font-weight: 700; }
.nin-cv-bar.nin-cv-best .nin-cv-fill { background: #f59e0b; }
.nin-cv-strip-title { margin: 0 0 4px; font-size: 13px; color: var(--body-text-color-subdued); }
.nin-cv-maps { display: grid; grid-template-columns: repeat(10, minmax(0, 1fr)); gap: 4px; }
.nin-cv-map { margin: 0; text-align: center; font-size: 11px; line-height: 1.2; }
.nin-cv-map canvas { width: 100%; max-width: 52px; aspect-ratio: 1 / 1; image-rendering: pixelated;
                     background: #000; border: 2px solid transparent; border-radius: 3px; }
.nin-cv-map.nin-cv-best canvas { border-color: #f59e0b; }
/* Names and means wrap (never cut off) when a map is narrower than its caption. */
.nin-cv-map figcaption span { display: block; overflow-wrap: anywhere; }
.nin-cv-mean { font-variant-numeric: tabular-nums; color: var(--body-text-color-subdued); }
.nin-cv-examples { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; font-size: 13px; }
.nin-cv-example { padding: 0; border: 1px solid var(--border-color-primary); border-radius: 4px; background: #000;
                  cursor: pointer; width: 48px; height: 48px; }
.nin-cv-example img { width: 100%; height: 100%; filter: invert(1); display: block; }
@media (max-width: 640px) {
  /* One row of tools on a phone: the brushes show their dot only (their names stay as labels and titles). */
  .nin-cv-tools { flex-wrap: nowrap; gap: 3px; }
  .nin-cv-btn { padding: 4px 7px; font-size: 13px; min-width: 36px; justify-content: center; }
  .nin-cv-btn .nin-cv-word { display: none; }
  .nin-cv-pad { width: 100%; }
  .nin-cv-maps { grid-template-columns: repeat(5, minmax(0, 1fr)); }
  .nin-cv-live { font-size: 18px; }
}
"""

# Runs once per page (Gradio's js_on_load: `element`, `trigger`, `server` are given). Everything it keeps lives in
# this closure; the `.nin-cv` element's `ninStats` exposes the timings the benchmark and the tests read.
JS_ON_LOAD = """
const L = %(side)d, EXPORT = %(export)d, IDLE_MS = %(idle)d, MAX_CHARS = %(max_chars)d, GAP_MS = %(gap)d;
const NAMES = %(names)s, PROMPT = %(prompt)s;
const root = element.querySelector('.nin-cv');
const pad = root.querySelector('.nin-cv-pad'), canvas = root.querySelector('.nin-cv-ink');
const ctx = canvas.getContext('2d');
const live = root.querySelector('.nin-cv-live'), seen = root.querySelector('.nin-cv-seen');
const bars = [...root.querySelectorAll('.nin-cv-bar')], maps = [...root.querySelectorAll('.nin-cv-map')];
const out = document.createElement('canvas'); out.width = out.height = EXPORT;
const octx = out.getContext('2d', {willReadFrequently: true});
const stats = root.ninStats = {moves: [], answers: [], fulls: [], refusals: [], inkChars: []};
// Whether the last full explanation asked for is of the drawing on screen (nothing drawn or sent since).
root.ninSettled = () => !current && !dirty && !inflight && !waitTimer && fullSent === seq;

let steps = [];          // strokes {size, erase, points} and loaded examples {image}, oldest first
let current = null, pointerId = null, brush = %(brush)d, erasing = false;
let seq = 0, shownSeq = 0, generation = 0, inflight = false, dirty = false, idleTimer = null, fullSent = 0;
let lastSent = -1e9, waitTimer = null;

// ------------------------------------------------------------------ drawing
function paint(c, s, scale) {
  if (s.image) { c.clearRect(0, 0, L * scale, L * scale); c.drawImage(s.image, 0, 0, L * scale, L * scale); return; }
  c.globalCompositeOperation = s.erase ? 'destination-out' : 'source-over';
  c.strokeStyle = c.fillStyle = '#fff'; c.lineWidth = s.size * scale; c.lineCap = c.lineJoin = 'round';
  const p = s.points;
  c.beginPath();
  if (p.length === 1) { c.arc(p[0][0] * scale, p[0][1] * scale, s.size * scale / 2, 0, 2 * Math.PI); c.fill(); }
  else { c.moveTo(p[0][0] * scale, p[0][1] * scale); for (const q of p.slice(1)) c.lineTo(q[0] * scale, q[1] * scale); c.stroke(); }
  c.globalCompositeOperation = 'source-over';
}
function render(c, side) {
  c.clearRect(0, 0, side, side);
  for (const s of steps) paint(c, s, side / L);
  if (current) paint(c, current, side / L);
}
function resize() {  // the backing store follows the square's size and the screen's pixel ratio: crisp ink
  const px = Math.max(1, Math.round(pad.clientWidth * (window.devicePixelRatio || 1)));
  if (canvas.width !== px) { canvas.width = canvas.height = px; render(ctx, px); }
}
new ResizeObserver(resize).observe(pad);
resize();

function at(e) {
  const r = canvas.getBoundingClientRect();
  return [Math.min(L, Math.max(0, (e.clientX - r.left) / r.width * L)),
          Math.min(L, Math.max(0, (e.clientY - r.top) / r.height * L))];
}
canvas.addEventListener('pointerdown', (e) => {
  if (current || (e.pointerType === 'mouse' && e.button !== 0)) return;
  e.preventDefault();  // no text selection, no scrolling; which also keeps the focus where it was, so take it
  canvas.focus({preventScroll: true});
  canvas.setPointerCapture(e.pointerId);
  pointerId = e.pointerId;
  current = {size: brush, erase: erasing, points: [at(e)]};
  paint(ctx, {...current}, canvas.width / L);
  changed();
});
canvas.addEventListener('pointermove', (e) => {
  if (!current || e.pointerId !== pointerId) return;
  e.preventDefault();
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  const scale = canvas.width / L;
  for (const one of (events.length ? events : [e])) {
    const prev = current.points[current.points.length - 1], next = at(one);
    current.points.push(next);
    paint(ctx, {size: current.size, erase: current.erase, points: [prev, next]}, scale);
  }
  changed();
});
function lift(e) {
  if (!current || e.pointerId !== pointerId) return;
  steps.push(current); current = null; pointerId = null;
  render(ctx, canvas.width);  // the stroke redrawn whole: the screen shows exactly what undo will step back to
  changed();
}
canvas.addEventListener('pointerup', lift);
canvas.addEventListener('pointercancel', lift);
canvas.addEventListener('contextmenu', (e) => e.preventDefault());

// ------------------------------------------------------------------ tools
function pick(button) {
  root.querySelectorAll('.nin-cv-tools [aria-pressed]').forEach((b) => b.setAttribute('aria-pressed', 'false'));
  button.setAttribute('aria-pressed', 'true');
}
root.querySelectorAll('[data-size]').forEach((b) => b.addEventListener('click', () => {
  brush = Number(b.dataset.size); erasing = false; pick(b);
}));
root.querySelector('[data-tool="erase"]').addEventListener('click', (e) => { erasing = true; pick(e.currentTarget); });
function restart() { generation += 1; render(ctx, canvas.width); changed(); }
function undo() { if (!current && steps.length) { steps.pop(); restart(); } }
root.querySelector('[data-act="undo"]').addEventListener('click', undo);
root.querySelector('[data-act="clear"]').addEventListener('click', () => {
  if (current) return;
  steps = []; showEmpty(PROMPT); restart();  // the prediction goes at once, not on the next answer
  // A blank square starts with the brush: an eraser left selected would draw nothing on it.
  if (erasing) { erasing = false; pick(root.querySelector('[data-size="' + brush + '"]')); }
});
// Ctrl+Z / Cmd+Z anywhere on the page while the canvas is on screen (focus usually stays on the page's body after
// drawing), except in a text field, whose own undo it is.
document.addEventListener('keydown', (e) => {
  if (!(e.ctrlKey || e.metaKey) || e.shiftKey || e.altKey || e.key.toLowerCase() !== 'z') return;
  const t = e.target;
  if (t instanceof Element && t !== canvas && t.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]')) return;
  if (canvas.offsetParent === null) return;  // the Draw tab is not the one shown
  e.preventDefault(); undo();
});
root.querySelectorAll('.nin-cv-example').forEach((b) => b.addEventListener('click', () => {
  const img = new Image();
  img.onload = () => {  // black on white -> white ink whose alpha is the darkness
    const c = document.createElement('canvas'); c.width = c.height = L;
    const x = c.getContext('2d', {willReadFrequently: true});
    x.fillStyle = '#fff'; x.fillRect(0, 0, L, L); x.drawImage(img, 0, 0, L, L);
    const d = x.getImageData(0, 0, L, L), p = d.data;
    for (let i = 0; i < p.length; i += 4) {
      const ink = 255 - Math.round(0.299 * p[i] + 0.587 * p[i + 1] + 0.114 * p[i + 2]);
      p[i] = p[i + 1] = p[i + 2] = 255; p[i + 3] = ink;
    }
    x.putImageData(d, 0, 0);
    steps.push({image: c}); restart();
  };
  img.src = b.dataset.src;
}));

// ------------------------------------------------------------------ answers
function ink() {  // the drawing at EXPORT px as a PNG data URL; null when there is no ink
  render(octx, EXPORT);
  const a = octx.getImageData(0, 0, EXPORT, EXPORT).data;
  let any = false;
  for (let i = 3; i < a.length; i += 4) if (a[i] > 20) { any = true; break; }
  return any ? out.toDataURL('image/png') : null;
}
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function colour(t) {
  t = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return a.map((v, k) => Math.round(v + (b[k] - v) * f));
}
function showEmpty(message) {
  root.dataset.state = 'empty';
  live.textContent = message;
  seen.getContext('2d').clearRect(0, 0, 28, 28);
  bars.forEach((b) => { b.classList.remove('nin-cv-best'); b.querySelector('.nin-cv-fill').style.width = '0';
                        b.querySelector('.nin-cv-pct').textContent = ''; });
  maps.forEach((m) => { m.classList.remove('nin-cv-best'); m.querySelector('canvas').getContext('2d').clearRect(0, 0, 5, 5);
                        m.querySelector('.nin-cv-mean').textContent = ''; });
}
function show(a) {
  const best = a.probs.indexOf(Math.max(...a.probs));
  root.dataset.state = 'shown';
  const text = NAMES[best] + ' ' + Math.round(a.probs[best] * 100) + '%%';
  if (live.textContent !== text) live.textContent = text;
  bars.forEach((b, i) => {
    b.classList.toggle('nin-cv-best', i === best);
    b.querySelector('.nin-cv-fill').style.width = (a.probs[i] * 100).toFixed(1) + '%%';
    b.querySelector('.nin-cv-pct').textContent = Math.round(a.probs[i] * 100) + '%%';
  });
  const top = Math.max(1e-6, ...a.maps.flat(2));  // one colour scale for the ten maps, so they compare
  maps.forEach((m, i) => {
    m.classList.toggle('nin-cv-best', i === best);
    const c = m.querySelector('canvas').getContext('2d'), d = c.createImageData(5, 5);
    a.maps[i].flat().forEach((v, k) => { d.data.set([...colour(Math.max(0, v) / top), 255], 4 * k); });
    c.putImageData(d, 0, 0);
    m.querySelector('.nin-cv-mean').textContent = 'mean ' + a.logits[i].toFixed(2);
  });
  const s = seen.getContext('2d'), d = s.createImageData(28, 28);
  a.image.flat().forEach((v, k) => { d.data.set([v, v, v, 255], 4 * k); });
  s.putImageData(d, 0, 0);
}
function changed() {
  stats.moves.push(performance.now());
  if (stats.moves.length > 4000) stats.moves.splice(0, 2000);
  // The pictures below the canvas now show an older drawing until the full explanation arrives: the page fades
  // them (PAGE_CSS) and `drawn`'s follow-up (SETTLED_JS) lifts the mark once nothing newer is on its way.
  document.body.dataset.ninDrawing = 'ahead';
  dirty = true;
  clearTimeout(idleTimer);
  pump();
}
async function pump() {  // one call in flight; when it answers, the drawing as it is then goes next
  if (inflight || !dirty || waitTimer) return;
  const wait = lastSent + GAP_MS - performance.now();
  if (wait > 0) { waitTimer = setTimeout(() => { waitTimer = null; pump(); }, wait); return; }
  dirty = false;
  const mine = ++seq, gen = generation, data = ink();
  if (data === null) { shownSeq = mine; showEmpty(PROMPT); armIdle(); return; }
  stats.inkChars.push(data.length);
  if (data.length > MAX_CHARS) { showEmpty('This drawing is too detailed to send; undo a stroke or clear.'); return; }
  inflight = true;
  const sent = lastSent = performance.now();
  let answer = null;
  try { answer = await server.live({ink: data, seq: mine}); } catch (err) { answer = null; }
  inflight = false;
  if (answer && answer.error) stats.refusals.push(answer.error);
  // An answer for a drawing older than one already shown, or from before Undo/Clear, is dropped.
  if (answer && gen === generation && mine > shownSeq) {
    if (answer.probs) { shownSeq = mine; show(answer); stats.answers.push([sent, performance.now(), answer.server_ms, mine]); }
    else if (answer.empty) { shownSeq = mine; showEmpty(answer.empty); }
    else if (answer.error) { live.textContent = answer.error; }
  }
  if (stats.answers.length > 4000) stats.answers.splice(0, 2000);
  if (dirty) pump(); else armIdle();
}
// One current input: when the Draw tab is opened again (after an upload or an example), the drawing on the canvas
// becomes the page's input again, so every panel describes what the canvas shows; a blank canvas clears them.
new MutationObserver((records) => {
  for (const r of records) {
    if (r.target.id === 'tab-draw-button' && r.oldValue !== 'true' && r.target.getAttribute('aria-selected') === 'true') {
      clearTimeout(idleTimer);
      fullSent = seq;
      trigger('drawn', {ink: ink(), seq: seq});
    }
  }
}).observe(document.body, {subtree: true, attributes: true, attributeFilter: ['aria-selected'], attributeOldValue: true});
function armIdle() {  // the pen is up and the drawing has stayed the same for IDLE_MS: the full explanation
  clearTimeout(idleTimer);
  if (current) return;
  idleTimer = setTimeout(() => {
    if (current || inflight || dirty || waitTimer || fullSent === seq) return;
    fullSent = seq;
    stats.fulls.push(performance.now());
    trigger('drawn', {ink: ink(), seq: seq});
  }, IDLE_MS);
}
"""


# After each full explanation of a drawing (in the browser, no request): the pictures below are of the drawing
# on screen again, unless the pen has moved since.
SETTLED_JS = """() => {
  const root = document.querySelector('#canvas .nin-cv');
  if (root && root.ninSettled && root.ninSettled()) delete document.body.dataset.ninDrawing;
}"""


def js_on_load() -> str:
    import json

    return JS_ON_LOAD % {"side": LOGICAL_SIDE, "export": EXPORT_SIDE, "idle": IDLE_MS, "max_chars": MAX_INK_CHARS,
                         "gap": MIN_INTERVAL_MS,
                         "names": json.dumps(list(CLASS_NAMES)), "prompt": json.dumps(PROMPT), "brush": DEFAULT_BRUSH}


def session_of_request(request) -> str | None:
    """The page's session id: gr.Request in a queued event, the raw request's JSON body in a server function."""
    return getattr(request, "session_hash", None)


class DrawingCanvas:
    """The canvas component, its live server function and its events, for one app."""

    def __init__(self, pipeline: Pipeline, workers: int = LIVE_WORKERS, waiting: int = LIVE_WAITING):
        self.pipeline = pipeline
        self.gate = LiveGate(workers, waiting)
        self.latest: OrderedDict[str, int] = OrderedDict()  # session -> sequence number of its latest live call
        self.html: gr.HTML | None = None

    def build(self, elem_id: str = "canvas") -> gr.HTML:
        """Declare the component inside the app's gr.Blocks."""
        self.html = gr.HTML(html_template=html_template(), css_template=CSS_TEMPLATE, js_on_load=js_on_load(),
                            server_functions=[self.live_function()], elem_id=elem_id, label="Drawing canvas",
                            apply_default_css=False)
        return self.html

    # ------------------------------------------------------------------------- live, outside the queue

    def live_function(self):
        """The server function: {"ink", "seq"} -> {"probs", "logits", "maps", "image", "server_ms"}, or
        {"empty": prompt} for a blank drawing, or {"error": message} for a refusal (a plain message, logged once
        through nin.ui.refusals.refuse: a server function's exceptions would reach the client as a bare 500)."""
        compute = guarded("classifying the drawing", lambda exc: {"empty": str(exc)})(self.compute)

        async def live(payload, request: gr.Request):
            try:
                session = (await request.json()).get("session_hash") if hasattr(request, "json") \
                    else session_of_request(request)
                with self.gate.admit(session, self.gate.caller_of(request)):
                    ink, seq = self.read(payload)
                    return await anyio.to_thread.run_sync(compute, ink, session, seq, limiter=self.gate.limiter)
            except gr.Error as exc:
                return {"error": exc.message}

        return live

    @staticmethod
    def read(payload) -> tuple[str, int]:
        """The payload's ink and sequence number, checked (length first) before anything is decoded."""
        if not isinstance(payload, dict):
            raise refuse(f"A live call sends {{'ink': PNG data URL, 'seq': number}}; got {quote(payload)}.")
        check_ink(payload.get("ink"))
        seq = payload.get("seq")
        try:
            check_number("seq", seq, 0, 2 ** 53, whole=True)
        except InputError as exc:  # outside `guarded`: refused here, or the client would get a bare 500
            raise refuse(str(exc)) from None
        return payload["ink"], int(seq)

    def remember(self, session: str, seq: int) -> None:
        latest = self.latest
        latest[session] = max(seq, latest.pop(session, seq))
        while len(latest) > SESSIONS_KEPT:
            latest.popitem(last=False)

    def compute(self, ink: str, session: str | None = None, seq: int = 0) -> dict:
        """In a worker thread: the answer. The sequence number is remembered only once the ink has decoded, so
        a call that is refused cannot make the session's full explanations look stale."""
        drawing = decode_ink(ink)
        if session is not None:
            anyio.from_thread.run_sync(self.remember, session, seq)
        return live(self.pipeline, drawing).to_json()

    # ------------------------------------------------------------------------- the full explanation, queued

    def wire(self, events, settings: list, outputs: list, upload: gr.Image, model_events: dict) -> None:
        """The canvas's queued event (private) and the API's sketch endpoint (a drawing as an image file).
        `events` is the page's nin.ui.events.PredictionEvents: its outputs are the page's top half."""

        @guarded("classifying this drawing")
        def drawn(model_key: str, cam_class: str, channels: str, evt: gr.EventData, request: gr.Request):
            """The pen has been up for IDLE_MS: the full explanation of the drawing the canvas sent."""
            data = getattr(evt, "_data", None)
            if not isinstance(data, dict):
                raise refuse(f"A drawing event sends {{'ink', 'seq'}}; got {quote(data)}.")
            seq = data.get("seq")
            check_number("seq", seq, 0, 2 ** 53, whole=True)
            if self.latest.get(session_of_request(request), -1) > seq:
                return gr.skip()  # a live call for a newer drawing came in meanwhile: this answer is stale
            if data.get("ink") is None:
                return events.empty_outputs(PROMPT)
            check_ink(data["ink"])
            cam_index = class_choice(cam_class)
            try:
                prediction = self.pipeline.from_ink(decode_ink(data["ink"]), model_key)
            except EmptyInput:
                return events.empty_outputs(PROMPT)
            return events.view_outputs(prediction, model_key, cam_index, channels)

        @guarded("classifying this drawing")
        def predict_sketch(image: str | None, model_key: str, cam_class: str, channels: str):
            """Classify a drawing sent as an image file: white strokes on black, dark strokes on white, or
            strokes on a transparent background. It takes the drawing path (the outline is filled in); a
            blank drawing gets the drawing prompt, not an error."""
            if image is None:
                return events.empty_outputs(PROMPT)
            cam_index = class_choice(cam_class)
            try:
                prediction = self.pipeline.from_ink(ink_from_image(image), model_key)
            except EmptyInput:
                return events.empty_outputs(PROMPT)
            return events.view_outputs(prediction, model_key, cam_index, channels)

        self.html.drawn(drawn, settings, outputs, api_name="drawn", api_visibility="private",
                        trigger_mode="always_last", **model_events).then(None, js=SETTLED_JS)
        gr.on([], predict_sketch, [upload, *settings], outputs, api_name="predict_sketch", **model_events)


__all__ = ["DrawingCanvas", "html_template", "js_on_load", "CSS_TEMPLATE", "PROMPT", "LIVE_WORKERS", "EXPORT_SIDE",
           "IDLE_MS", "drawing_examples"]
