"""The Draw tab's canvas: a light drawing surface on gr.HTML that answers while the pen moves.

What it is: one `gr.HTML(html_template=…, css_template=…, js_on_load=…, server_functions=[live])`, its script
and style in static/canvas.js and static/canvas.css (their values as data: `script_config`), with no build
step and nothing loaded from outside (it works offline). In the browser the pen draws white ink on black,
with brushes, an eraser, undo and clear.

While the pen moves the page keeps at most one live call in flight and always sends the latest drawing: the
ink, downsampled to EXPORT_SIDE px and sent as a PNG data URL (1-6 KB), goes to `live`, one POST to
/component_server outside Gradio's queue (batched with other pages' drawings, paced: nin.ui.pacing). It
answers numbers only (nin.serve.live) and the page draws them in place: the top class and % (in an aria-live element), the probability bars, the 28x28 image the network
saw, and the GAP strip, block4's ten 5x5 class maps with their means. About IDLE_MS after the pen lifts, the
same ink goes through the ordinary queued event (`drawn`) for the full explanation; an answer older than one
already shown is never shown, on the page (sequence numbers) or from the server (`DrawingCanvas.drawn` skips a
drawing a newer live call has replaced). Until that explanation arrives the page marks the body
(`data-nin-drawing`) and fades the pictures below, which still show the drawing as it was. Opening the Draw tab
again (after an upload or an example) sends the drawing on the canvas for its full explanation at once, so it
is the page's one current input again. `predict_sketch` is the API's way in: a drawing as an image file.

What it is not: the numbers (nin.serve.live, live_batch), the live calls' bounds (nin.ui.live_gate), the
page's layout around it (nin.ui.page) or the full explanation's pictures (nin.ui.prediction_events).
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import os
import time
from collections import OrderedDict

import anyio
import gradio as gr
import numpy as np
from starlette.responses import Response

from nin.names import CANVAS_SIDE, EXPORT_SIDE
from nin.model import CLASS_NAMES
from nin.serve.live import LiveAnswer, decode_ink, ink_from_image
from nin.serve.live_batch import LiveBatcher
from nin.serve.pipeline import EXAMPLES_DIR, Pipeline, class_choice
from nin.serve.preprocess import EmptyInput
from nin.serve.checks import check_number, quote
from nin.serve.decode import InputError
from nin.ui.assets import asset
from nin.ui.live_gate import MAX_INK_CHARS, Busy, LiveGate, check_ink
from nin.ui.pacing import Pacer
from nin.ui.refusals import guarded, refuse

IDLE_MS = 300         # after the pen lifts and stays up this long, the full explanation runs
# Between two live calls of one page at least this long: ~10 answers a second is smooth to watch. With many pages
# drawing, the server tells each page a longer wait (nin.ui.pacing), the same for all.
MIN_INTERVAL_MS = 100
BRUSHES = (("Thin", 8), ("Medium", 16), ("Thick", 28))
DEFAULT_BRUSH = 16
PROMPT = "Draw a garment on the black square: the prediction follows your pen."
# Threads decoding and filling live drawings (nin.ink) and threads running their batched passes
# (nin.serve.live_batch), one torch thread each: one of each by default, so the live path can use both cores of a
# 2-core box and no more, and the fill, whose numpy steps are small, does not contend with itself for the GIL.
# On the 2-core box, two decoding threads gave 6-12% fewer answers a second to 32 canvases, and two pass threads
# 6-20% fewer to 16 or 32 (python -m nin.dev.bench_classroom with NIN_LIVE_WORKERS / NIN_LIVE_BATCH_WORKERS).
LIVE_WORKERS = int(os.environ.get("NIN_LIVE_WORKERS", 0)) or 1
LIVE_BATCH_WORKERS = int(os.environ.get("NIN_LIVE_BATCH_WORKERS", 0)) or 1
LIVE_WAITING = 64     # live calls admitted beyond the workers (decoding, or waiting for a pass); past it, Busy
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
<div class="nin-cv" data-state="empty" data-config="{html.escape(json.dumps(script_config()))}">
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







def reply(body: dict) -> Response:
    """A live call's reply as JSON bytes. Gradio's route returns what the server function returns, and FastAPI
    passes a Response through as it is, where it would put a dict through its jsonable_encoder first: ~1.4 ms
    for an answer's ~1,000 numbers, a tenth of all the CPU an answer costs. Same JSON, a third fewer bytes."""
    return Response(json.dumps(body, separators=(",", ":"), allow_nan=False), media_type="application/json")


def script_config() -> dict:
    """The values static/canvas.js shares with the server, handed to it as the JSON of `.nin-cv`'s data-config."""
    return {"side": CANVAS_SIDE, "export": EXPORT_SIDE, "idle": IDLE_MS, "maxChars": MAX_INK_CHARS,
            "gap": MIN_INTERVAL_MS, "names": list(CLASS_NAMES), "prompt": PROMPT, "brush": DEFAULT_BRUSH}


def session_of_request(request) -> str | None:
    """The page's session id: gr.Request in a queued event, the raw request's JSON body in a server function."""
    return getattr(request, "session_hash", None)


class DrawingCanvas:
    """The canvas component, its live server function and its events, for one app."""

    def __init__(self, pipeline: Pipeline, workers: int = LIVE_WORKERS, waiting: int = LIVE_WAITING,
                 batch_workers: int = LIVE_BATCH_WORKERS):
        self.pipeline = pipeline
        self.gate = LiveGate(workers, waiting)
        self.batcher = LiveBatcher(pipeline, batch_workers)
        self.pacer = Pacer(MIN_INTERVAL_MS)
        self.latest: OrderedDict[str, int] = OrderedDict()  # session -> sequence number of its latest live call
        self.weights: OrderedDict[str, str] = OrderedDict()  # session -> the weight file its page chose
        self.html: gr.HTML | None = None

    def build(self, elem_id: str = "canvas") -> gr.HTML:
        """Declare the component inside the app's gr.Blocks."""
        self.html = gr.HTML(html_template=html_template(), css_template=asset("canvas.css"), js_on_load=asset("canvas.js"),
                            server_functions=[self.live_function()], elem_id=elem_id, label="Drawing canvas",
                            apply_default_css=False)
        return self.html

    # ------------------------------------------------------------------------- live, outside the queue

    def live_function(self):
        """The server function: {"ink", "seq"} -> {"probs", "logits", "maps", "image", "server_ms", "batch",
        "wait_ms"}, or {"empty": prompt, "wait_ms"} for a blank drawing, or {"retry_ms"} when the server turned
        the call away for its capacity (`Busy`: the page tries again then, showing nothing), or {"error":
        message} for a refusal (a plain message, logged once through nin.ui.refusals.refuse: a server
        function's exceptions would reach the client as a bare 500). `wait_ms` is how long the page leaves
        between the starts of its calls (nin.ui.pacing)."""
        prepare = guarded("classifying the drawing", lambda exc: {"empty": str(exc)})(self.prepare)
        answer = guarded("classifying the drawing")(lambda future: future.result())

        async def live(payload, request: gr.Request):
            return reply(await answer_or_refusal(payload, request))

        async def answer_or_refusal(payload, request) -> dict:
            try:
                session = (await request.json()).get("session_hash") if hasattr(request, "json") \
                    else session_of_request(request)
                with self.gate.admit(session, self.gate.caller_of(request)):
                    self.pacer.called(session)
                    ink, seq = self.read(payload)
                    start = time.perf_counter()
                    image = await anyio.to_thread.run_sync(prepare, ink, session, seq, limiter=self.gate.limiter)
                    if isinstance(image, dict):  # a blank drawing: the prompt
                        return {**image, "wait_ms": self.pacer.wait_ms()}
                    future = self.batcher.submit(image, self.weights.get(session))
                    await asyncio.wait([asyncio.wrap_future(future)])
                    numbers = LiveAnswer.of(image, answer(future), start).to_json()
                    self.pacer.answered()
                    return {**numbers, "wait_ms": self.pacer.wait_ms()}
            except Busy:
                return {"retry_ms": self.pacer.wait_ms()}
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

    def choose(self, session: str | None, model_key: str) -> None:
        """The weights a page chose: its live answers come from them, as its full explanations do."""
        if session is None:
            return
        self.weights.pop(session, None)
        self.weights[session] = self.pipeline.model(model_key).key
        while len(self.weights) > SESSIONS_KEPT:
            self.weights.popitem(last=False)

    def prepare(self, ink: str, session: str | None = None, seq: int = 0) -> np.ndarray:
        """In a worker thread: the drawing decoded and through the canvas path, as the 28x28 image the network
        takes. The sequence number is remembered only once the ink has decoded, so a call that is refused
        cannot make the session's full explanations look stale."""
        drawing = decode_ink(ink)
        if session is not None:
            anyio.from_thread.run_sync(self.remember, session, seq)
        return self.pipeline.drawing(drawing).image

    # ------------------------------------------------------------------------- the full explanation, queued

    def wire(self, events, settings: list, outputs: list, upload: gr.Image, model_events: dict) -> None:
        """The canvas's queued event (private), the API's sketch endpoint (a drawing as an image file), and the
        weights picker (`settings[0]`) telling the live answers which weights the page chose.
        `events` is the page's nin.ui.prediction_events.PredictionEvents: its outputs are the page's top half."""

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

        def chosen(model_key: str, request: gr.Request):
            """The page picked other weights: its next live answers come from them."""
            self.choose(session_of_request(request), model_key)

        # No model work, so outside the model group: a page's pick counts at once, even while others draw.
        settings[0].change(chosen, [settings[0]], None, api_name="chosen_weights", api_visibility="private",
                           show_progress="hidden")
        self.html.drawn(drawn, settings, outputs, api_name="drawn", api_visibility="private",
                        trigger_mode="always_last", **model_events).then(None, js=asset("settled.js"))
        gr.on([], predict_sketch, [upload, *settings], outputs, api_name="predict_sketch", **model_events)


__all__ = ["DrawingCanvas", "html_template", "script_config", "PROMPT", "LIVE_WORKERS", "EXPORT_SIDE",
           "IDLE_MS", "drawing_examples"]
