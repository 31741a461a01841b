"""NiN Explorer: draw or upload a garment and watch a Network in Network classify it.

The page reads top to bottom like the network: input -> what the network sees -> prediction, then tabs:
inside the network (global average pooling laid open, class activation map, every stage's feature
maps), one lesson per claim of the d2l chapter (each checkable by doing something, each with a JSON
endpoint), the explorers, and the model report. This file is the table of contents: it sets up the
process, loads the weights, measures what the page shows once, builds the page and says how it is served.

Where the rest lives:
    nin/serve/pipeline.py            the request path: image -> preprocess -> model -> explanation (numbers)
    nin/render/view.py               one prediction drawn: the pictures and panels of the page's top half
    nin/ui/page.py                   the layout, top to bottom, and the components the handlers answer to (`Page`)
    nin/ui/prediction_events.py      the prediction's and the model report's handlers
    nin/ui/lesson_events.py          the lessons' handlers and the parsers of what they are sent
    nin/ui/explorer_events.py        the "Explore further" tab's handlers (numbers: nin/serve/explorers.py)
    nin/ui/wiring.py                 which event runs which handler
    nin/ui/refusals.py               the one refusal, the one error path of handlers (`guarded`), the raw-input checks
    nin/ui/server.py                 the middleware: request_limits.py, uploads.py and the rest, in order
    nin/ui/sessions.py               Gradio's per-session bookkeeping, made small
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no outside connections at run time
# Gradio rebuilds its monitoring summary (a pandas groupby over up to 10,000 past events) after every event
# by default: 10-25 ms of CPU per event, holding the GIL, for a dashboard this app does not enable.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")

import gradio as gr  # after the environment above: Gradio reads it at import
import torch

from nin import metrics_file
from nin.serve.explorers import Explorers
from nin.serve.lessons import translation_default
from nin.serve.parameters import parameter_report
from nin.serve.pipeline import WEIGHTS_DIR, Pipeline, cpu_count
from nin.ui import callers, connections, rate_log, refusals, sessions, wiring
from nin.ui.prediction_events import PredictionEvents
from nin.ui.explorer_events import ExploreEvents
from nin.ui.lesson_events import LessonEvents
from nin.ui.page import CSS, Page, build_page
from nin.ui.assets import page_js
from nin.ui.server import MIDDLEWARE

# ----------------------------------------------------------------------------- the process

# Every event that runs the network shares one concurrency group sized to the CPU: peaks cannot add up
# across events, and requests beyond it wait in one bounded queue instead of oversubscribing the cores.
# NIN_MODEL_WORKERS overrides the size; 3 or 4 workers measured no faster than 2 on 2 cores (README, Performance).
MODEL_WORKERS = int(os.environ.get("NIN_MODEL_WORKERS", 0)) or max(1, min(2, cpu_count()))
QUEUE_SIZE = 64          # requests waiting beyond this are refused with "queue full", not kept in memory
MAX_FILE_SIZE = "10mb"
SESSION_TTL_S = 3600     # a session's state (its 28x28 input) is dropped an hour after its last update
# The header the Space's proxy writes the caller's address into (X-Forwarded-For on Hugging Face): with it
# set, one caller may have at most request_limits.MAX_ACTIVE_PER_CLIENT model events queued or running, and uploads
# are rated per caller. Unset when run locally, where a header is anyone's to write (README, "Running it in public").
callers.CLIENT_HEADER = os.environ.get("NIN_CLIENT_HEADER") or None
callers.PROXY_HOPS = int(os.environ.get("NIN_PROXY_HOPS", 1))
# Sessions kept at once (Gradio evicts the oldest). A session's state is its 28x28 input and its
# preprocessing steps: ~1.4 KB pickled, measured on the shipped examples.
MAX_SESSIONS = 2000

# Each model event gets one intra-op thread per worker, so concurrent requests do not fight over cores.
torch.set_num_threads(max(1, cpu_count() // MODEL_WORKERS))
sessions.install()  # sessions without Gradio's per-session copy of every component's config (nin/ui/sessions.py)
# One log, short lines at most once a second per kind, for the app, uvicorn, asyncio and Gradio (nin/ui/rate_log.py);
# read deadlines and a connection cap on every launch's server (nin/ui/connections.py).
rate_log.install()
connections.install()

# ----------------------------------------------------------------------------- the weights, and what is measured once

pipeline = Pipeline()
reports = metrics_file.shipped_reports(WEIGHTS_DIR)
PARAMETERS = parameter_report().to_json()  # computed once from modules built on the meta device
DEFAULT_SHIFT, SHIFT_SURVEY, DEFAULT_KEPT = translation_default(pipeline)  # the translation tab's default shift
explorers = Explorers.load(pipeline)  # the explorers' precomputed data, checked against each weight file


# ----------------------------------------------------------------------------- the page

def build_demo() -> tuple[gr.Blocks, Page]:
    """The page (nin/ui/page.py) with its handlers (events, lessons) wired (nin/ui/wiring.py)."""
    with gr.Blocks(title="NiN Explorer", delete_cache=(1800, 3600)) as blocks:
        laid_out = build_page(pipeline, reports=reports, parameters=PARAMETERS, default_shift=DEFAULT_SHIFT,
                              survey=SHIFT_SURVEY, default_kept=DEFAULT_KEPT, session_ttl_s=SESSION_TTL_S)
        wiring.wire(blocks, laid_out, PredictionEvents(pipeline, laid_out, reports),
                    LessonEvents(pipeline, laid_out, PARAMETERS), ExploreEvents(pipeline, explorers, laid_out),
                    MODEL_WORKERS)
    # The page's handlers refuse through nin.ui.refusals.refuse, and every raw input is checked before Gradio reads it.
    refusals.install(blocks)
    return blocks, laid_out


demo, page = build_demo()

# ----------------------------------------------------------------------------- how it is served

# Here and by the tests: the upload limit, no SSR (it needs Node), bounded sessions, and the middleware of
# nin/ui/server.py (client mistakes answered 4xx with one rate-limited log line, request bodies capped before Gradio
# reads them, an upload rate and a disk budget, at most 16 unread events per session on every route, a cap on
# each caller's queued model events, no deep-link route).
LAUNCH = dict(max_file_size=MAX_FILE_SIZE, ssr_mode=False, css=CSS, js=page_js(), state_session_capacity=MAX_SESSIONS,
              app_kwargs={"middleware": MIDDLEWARE})

# One bounded queue: past QUEUE_SIZE waiting requests a caller is told the queue is full (nothing piles up).
# api_open=False: /run/* and /api/* cannot skip the queue (Gradio opens them when not on a Space).
demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=MODEL_WORKERS, api_open=False)

if __name__ == "__main__":
    demo.launch(**LAUNCH)
