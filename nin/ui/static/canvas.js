// In the browser, pointer events draw white ink on black (mouse, pen and touch alike, `touch-action: none` so a
// finger draws instead of scrolling), on a square whose backing store follows the screen's pixel ratio. Three
// brush sizes, an eraser, undo per stroke (also Ctrl+Z or Cmd+Z anywhere on the page while the canvas is on
// screen), clear (back to the brush), and the drawing examples, which load into the canvas to be drawn over; every
// control is a labelled button.
// Runs once per page (Gradio's js_on_load: `element`, `trigger`, `server` are given). Everything it keeps lives in
// this closure; the `.nin-cv` element's `ninStats` exposes the timings the benchmark and the tests read.
const root = element.querySelector('.nin-cv');
// The values this script shares with the server, as data: the JSON of .nin-cv's data-config (nin/ui/canvas.py).
const CONFIG = JSON.parse(root.dataset.config);
const L = CONFIG.side, EXPORT = CONFIG.export, IDLE_MS = CONFIG.idle, MAX_CHARS = CONFIG.maxChars, GAP_MS = CONFIG.gap;
const NAMES = CONFIG.names, PROMPT = CONFIG.prompt;
const pad = root.querySelector('.nin-cv-pad'), canvas = root.querySelector('.nin-cv-ink');
const ctx = canvas.getContext('2d');
const live = root.querySelector('.nin-cv-live'), seen = root.querySelector('.nin-cv-seen');
const bars = [...root.querySelectorAll('.nin-cv-bar')], maps = [...root.querySelectorAll('.nin-cv-map')];
const out = document.createElement('canvas'); out.width = out.height = EXPORT;
const octx = out.getContext('2d', {willReadFrequently: true});
const stats = root.ninStats = {moves: [], answers: [], fulls: [], refusals: [], retries: [], waits: [], inkChars: []};
// Whether the last full explanation asked for is of the drawing on screen (nothing drawn or sent since).
root.ninSettled = () => !current && !dirty && !inflight && !waitTimer && fullSent === seq;

let steps = [];          // strokes {size, erase, points} and loaded examples {image}, oldest first
let current = null, pointerId = null, brush = CONFIG.brush, erasing = false;
let seq = 0, shownSeq = 0, generation = 0, inflight = false, dirty = false, idleTimer = null, fullSent = 0;
let lastSent = -1e9, waitTimer = null;
let gap = GAP_MS;        // between the starts of two calls: the server's latest `wait_ms`, at least GAP_MS

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
  const text = NAMES[best] + ' ' + Math.round(a.probs[best] * 100) + '%';
  if (live.textContent !== text) live.textContent = text;
  bars.forEach((b, i) => {
    b.classList.toggle('nin-cv-best', i === best);
    b.querySelector('.nin-cv-fill').style.width = (a.probs[i] * 100).toFixed(1) + '%';
    b.querySelector('.nin-cv-pct').textContent = Math.round(a.probs[i] * 100) + '%';
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
  // them (page.css) and `drawn`'s follow-up (settled.js) lifts the mark once nothing newer is on its way.
  document.body.dataset.ninDrawing = 'ahead';
  dirty = true;
  clearTimeout(idleTimer);
  pump();
}
// One call in flight; when it answers, the drawing as it is then goes next, no sooner than `gap` after the last
// one left. With many pages drawing the server asks each for a longer gap (the same for all), and when it turns a
// call away for its capacity (`retry_ms`) the page says nothing and sends its latest drawing after that wait.
async function pump() {
  if (inflight || !dirty || waitTimer) return;
  const wait = lastSent + gap - performance.now();
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
  if (answer && answer.retry_ms !== undefined) {
    stats.retries.push(performance.now());
    gap = Math.max(GAP_MS, Number(answer.retry_ms) || 0);
    dirty = true;  // this drawing was not answered: it (or a newer one) goes again after the wait
  } else if (answer && answer.wait_ms !== undefined) {
    gap = Math.max(GAP_MS, Number(answer.wait_ms) || 0);
    stats.waits.push(gap);
    if (stats.waits.length > 4000) stats.waits.splice(0, 2000);
  }
  if (stats.retries.length > 4000) stats.retries.splice(0, 2000);
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
