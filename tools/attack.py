"""`python tools/attack.py --launch`: the hostile requests the app must survive, sent the way an attacker would, each measured.

One function per row of the README's table (Running it in public; and a few neighbours of each), all against a loopback server:
how long the answer took, how much the server's memory grew, how large the answer was, what it said, and,
with --launch, how many bytes it added to the server's log. The API tests (tests/test_limits.py) call the
same functions against the in-process server and assert the bounds: answered or refused in <= 2 s, <= 100 MB
of memory growth (200 MB for a 10 MB body), a 5 MB value costing <= 20 KB of log and a message of <= 1,000
characters. Loopback only; nothing here runs against another host.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nin.dev.bench_load import launch, loopback_url, rss_mb, stop  # noqa: E402

EXAMPLE = ROOT / "nin" / "examples" / "test00000_ankle-boot.png"
PREFIX = "/gradio_api"


# ----------------------------------------------------------------------------- raw queue calls

@dataclass
class Answer:
    """What one request got back."""

    status: int                      # HTTP status of the join (or of the /run call)
    success: bool | None = None      # the event's own verdict, when it ran
    message: str = ""                # the error message shown to the user ("" when none)
    output: list | None = None       # the event's outputs when it succeeded
    response_bytes: int = 0          # bytes the server sent back for this request (join + its event's messages)
    seconds: float = 0.0


class Raw:
    """Events sent as the browser sends them: POST /queue/join, then the session's /queue/data stream.

    Reaches the private events (lesson pages, clicks) that gradio_client will not call, and values that
    gradio_client cannot send (NaN: it encodes JSON with allow_nan=False).
    """

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=60)
        config = self.http.get(f"{self.url}/config").json()
        self.fn_ids = {dep["api_name"]: dep["id"] for dep in config["dependencies"] if dep.get("api_name")}
        self.components = {c["props"].get("elem_id"): c["id"] for c in config["components"]
                           if c.get("props", {}).get("elem_id")}

    def close(self) -> None:
        self.http.close()

    def upload(self, path: Path) -> dict:
        with path.open("rb") as handle:
            (server_path,) = self.http.post(f"{self.url}{PREFIX}/upload",
                                            files={"files": (path.name, handle, "image/png")}).json()
        return {"path": server_path, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def join(self, api_name: str, data, session: str, event_data=None, trigger: str | None = None,
             body: bytes | None = None, client: str | None = None) -> tuple[httpx.Response, str | None]:
        """POST one join; `body` replaces the JSON body (raw bytes: NaN, oversized, malformed); `client` is the
        address a proxy would report (X-Forwarded-For), for a server that trusts that header."""
        payload = {"data": data, "event_data": event_data, "fn_index": self.fn_ids[api_name],
                   "trigger_id": self.components.get(trigger) if trigger else None, "session_hash": session}
        content = body if body is not None else json.dumps(payload).encode()  # allow_nan: NaN goes through
        response = self.http.post(f"{self.url}{PREFIX}/queue/join", content=content,
                                  headers={"content-type": "application/json", **forwarded(client)})
        event = response.json().get("event_id") if response.status_code == 200 else None
        return response, event

    def read(self, session: str, events: set[str], timeout: float = 60) -> dict[str, dict]:
        """The completion message of each event in `events`, from the session's stream; and the bytes read."""
        done, read = {}, 0
        deadline = time.monotonic() + timeout
        with self.http.stream("GET", f"{self.url}{PREFIX}/queue/data", params={"session_hash": session},
                              timeout=timeout) as stream:
            for line in stream.iter_lines():
                read += len(line) + 1
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed" and message.get("event_id") in events:
                    done[message["event_id"]] = message
                if set(done) == events or message.get("msg") == "close_stream" or time.monotonic() > deadline:
                    break
        done["_bytes"] = read
        return done

    def call(self, api_name: str, data, session: str | None = None, event_data=None, trigger: str | None = None,
             body: bytes | None = None, client: str | None = None) -> Answer:
        """One event, joined and read to its end."""
        session = session or new_session()
        start = time.perf_counter()
        response, event = self.join(api_name, data, session, event_data, trigger, body, client)
        answer = Answer(response.status_code, response_bytes=len(response.content))
        if event is None:
            answer.message = response.text[:2000]
        else:
            messages = self.read(session, {event})
            answer.response_bytes += messages.pop("_bytes")
            completed = messages.get(event, {})
            answer.success = completed.get("success")
            output = completed.get("output") or {}
            answer.message = output.get("error") or ""
            answer.output = output.get("data")
        answer.seconds = time.perf_counter() - start
        return answer

    def open_session(self, session: str | None = None, client: str | None = None) -> str:
        """A session the server holds, as a page's load event makes one (the page calls /ready on load)."""
        session = session or new_session()
        opened = self.__dict__.setdefault("opened", set())
        if session not in opened:
            answer = self.call("ready", [], session, client=client)
            if not answer.success:
                raise RuntimeError(f"/ready failed: {answer.message or answer.status}")
            opened.add(session)
        return session

    def live(self, ink, session: str | None = None, seq: int = 1, opened: bool = True,
             client: str | None = None) -> tuple[httpx.Response, float]:
        """One live call of the drawing canvas (POST /component_server, outside the queue), and its seconds.
        The session is opened first, as the page's is, unless `opened` is False (a hash the server never saw)."""
        if opened:
            session = self.open_session(session, client)
        body = {"component_id": self.components["canvas"], "fn_name": "live", "session_hash": session or new_session(),
                "data": {"ink": ink, "seq": seq}}
        start = time.perf_counter()
        response = self.http.post(f"{self.url}{PREFIX}/component_server/", json=body, headers=forwarded(client))
        return response, time.perf_counter() - start

    def session_with_image(self) -> str:
        """A session whose last input is the example image (the lessons work on it)."""
        session = new_session()
        answer = self.call("predict", [self.upload(EXAMPLE), None, "Predicted class", "Top 16 channels by mean"],
                           session)
        if not answer.success:
            raise RuntimeError(f"/predict failed before the attack: {answer.message or answer.status}")
        return session


def new_session() -> str:
    return uuid.uuid4().hex[:11]


def forwarded(client: str | None) -> dict:
    return {"x-forwarded-for": client} if client else {}


# ----------------------------------------------------------------------------- the table's rows

def lesson_data(api_name: str, **changes) -> list:
    base = {"mlp_at": dict(stage="block2", row=13, col=13), "ablate": dict(cells="", stage="(none)", channels=""),
            "translate": dict(dx=3, dy=0), "gradcam": dict(cls="Predicted class")}[api_name]
    return [None, *{**base, **changes}.values()]


def row_ablate_spaces(raw: Raw, session: str, width: int = 2000) -> Answer:
    """cells = `width` spaces + 'x' + `width` spaces: the old regex backtracked for 28 s holding the GIL."""
    return raw.call("ablate", lesson_data("ablate", cells=" " * width + "x" + " " * width), session)


def row_ablate_huge_range(raw: Raw, session: str) -> Answer:
    """channels 0-29999999 of block1 (10 bytes): the old parser built the 30-million list before checking."""
    return raw.call("ablate", lesson_data("ablate", stage="block1", channels="0-29999999"), session)


def row_forged_panels(raw: Raw, session: str, side: int = 1000) -> dict[str, Answer]:
    """A side x side array of numbers in place of every input of every private lesson event, one at a time.

    The old *_panel events drew whatever arrays a client sent (6-13 s and up to 2 GB each). No event takes
    numbers from the client now; a forged value in any input is refused (by size or by its component).
    """
    forged = [[1.0] * side for _ in range(side)]
    answers = {}
    for api_name, inputs in PRIVATE_LESSON_EVENTS.items():
        for position in range(1, inputs):  # position 0 is the session state, which the server ignores
            data = [None] * inputs
            answers[f"{api_name}[{position}]"] = raw.call(api_name, data[:position] + [forged] + data[position + 1:],
                                                          session)
    return answers


PRIVATE_LESSON_EVENTS = {"mlp_lesson": 4, "mlp_restage": 5, "mlp_click": 2, "ablation_lesson": 4,
                         "ablation_click": 4, "reset_ablation": 1, "translation_lesson": 3, "gradcam_lesson": 2}


def row_unread_predicts(raw: Raw, count: int = 150) -> dict:
    """`count` /predict (all channels) joined on one session, results never read: what the session may pile up."""
    session = new_session()
    image = raw.upload(EXAMPLE)
    statuses, slowest = [], 0.0
    for i in range(count):  # each from another address, so a per-caller cap (behind a proxy) does not hide the bound
        start = time.perf_counter()
        response, _ = raw.join("predict", [image, None, "Predicted class", "All channels"], session,
                               client=f"10.1.{i // 250}.{i % 250 + 1}")
        slowest = max(slowest, time.perf_counter() - start)
        statuses.append(response.status_code)
    deadline = time.monotonic() + 120  # let the joined events run, so the memory figure includes their results
    while raw.http.get(f"{raw.url}{PREFIX}/queue/status").json().get("queue_size") and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2.0)  # the last ones running
    return {"accepted": statuses.count(200), "refused": statuses.count(429), "other": len(statuses)
            - statuses.count(200) - statuses.count(429), "slowest_join_s": slowest, "session": session,
            "refusal": response.text[:300] if response.status_code != 200 else ""}


def row_huge_value(raw: Raw, session: str, size: int) -> Answer:
    """A class name of `size` characters for /gradcam: the old server logged and echoed it whole."""
    return raw.call("gradcam", [None, "x" * size], session)


def row_huge_body(raw: Raw, session: str, size: int) -> Answer:
    """A join of `size` bytes (one long string in the data) to /predict."""
    payload = {"data": ["y" * size], "event_data": None, "fn_index": raw.fn_ids["predict"], "trigger_id": None,
               "session_hash": session}
    return raw.call("predict", None, session, body=json.dumps(payload).encode())


def drawing_ink() -> str:
    """A trouser outline as the canvas sends it: a 140 px PNG data URL, white strokes on transparent."""
    import base64
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (140, 140))
    ImageDraw.Draw(image).line([(50, 20), (50, 120), (70, 40), (90, 120), (90, 20), (50, 20)], fill="white", width=8)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def row_live_payload(raw: Raw, ink) -> Answer:
    """One live canvas call with `ink` as its drawing (oversized, malformed, not a PNG)."""
    response, seconds = raw.live(ink)
    said = response.json().get("error", "") if response.status_code == 200 else response.text[:300]
    return Answer(response.status_code, message=said or "answered", response_bytes=len(response.content),
                  seconds=seconds)


def row_live_flood(raw: Raw, seconds: float = 6.0, threads: int = 16, predicts: int = 6) -> dict:
    """`threads` clients calling the canvas's live function back to back, each on a session of its own, while
    another session sends `predicts` /predict one after another: the live calls' answers and refusals, and
    /predict's latency beside its latency on an idle server."""
    import concurrent.futures
    import statistics

    ink, image = drawing_ink(), raw.upload(EXAMPLE)
    settings = [None, "Predicted class", "Top 16 channels by mean"]
    idle = [raw.call("predict", [image, *settings]).seconds for _ in range(3)]
    stop_at = time.monotonic() + seconds
    counts, lock = {"answered": 0, "refused": 0, "other": 0}, threading.Lock()

    def flood() -> None:
        with httpx.Client(timeout=30) as http:
            flooder = Raw.__new__(Raw)
            flooder.url, flooder.http, flooder.components, flooder.fn_ids = raw.url, http, raw.components, raw.fn_ids
            session = flooder.open_session()
            while time.monotonic() < stop_at:
                response, _ = flooder.live(ink, session)
                body = response.json() if response.status_code == 200 else {}
                with lock:
                    counts["answered" if "probs" in body else "refused" if "error" in body else "other"] += 1

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        running = [pool.submit(flood) for _ in range(threads)]
        time.sleep(0.5)
        during = [raw.call("predict", [image, *settings]) for _ in range(predicts)]
        for future in running:
            future.result()
    return {**counts, "predict_ok": sum(bool(a.success) for a in during), "predicts": predicts,
            "predict_idle_s": round(statistics.median(idle), 3),
            "predict_during_s": round(statistics.median(a.seconds for a in during), 3),
            "predict_during_max_s": round(max(a.seconds for a in during), 3)}


# ----------------------------------------------------------------------------- Gradio's own routes, the disk, fairness

def route_mistakes(raw: Raw) -> dict[str, callable]:
    """Requests that Gradio's own routes fail on (each wrote a 5-6 KB traceback in Gradio 6.31), by name."""
    p, http = f"{raw.url}{PREFIX}", raw.http
    image = raw.upload(EXAMPLE)
    browser_only = next(dep["id"] for dep in raw.http.get(f"{raw.url}/config").json()["dependencies"]
                        if dep.get("api_name") == "explore_follow_input")
    return {
        "/queue/data, unknown session": lambda: http.get(f"{p}/queue/data", params={"session_hash": new_session()}),
        "GET /call/predict/<unknown id>": lambda: http.get(f"{p}/call/predict/{uuid.uuid4().hex}"),
        "/run/predict fn_index 9999": lambda: http.post(f"{p}/run/predict", json={"data": [], "fn_index": 9999,
                                                                                  "session_hash": new_session()}),
        "/queue/join fn_index -1": lambda: http.post(f"{p}/queue/join", json={"data": [], "fn_index": -1,
                                                                              "session_hash": new_session()}),
        "/call/nonexistent": lambda: http.post(f"{p}/call/nonexistent", json={"data": []}),
        "component_server, unknown component": lambda: http.post(
            f"{p}/component_server", json={"data": {}, "component_id": 99999, "session_hash": new_session(),
                                           "fn_name": "live"}),
        "Range bytes=0-1,2-3 on a cached file": lambda: http.get(f"{p}/file={image['path']}",
                                                                 headers={"range": "bytes=0-1,2-3"}),
        "the browser-only event through /queue/join": lambda: http.post(
            f"{p}/queue/join", json={"data": [None], "fn_index": browser_only, "session_hash": new_session()}),
    }


def row_route_mistakes(raw: Raw, repeat: int = 20) -> dict[str, list[int]]:
    """Each of `route_mistakes` sent `repeat` times: the statuses it got."""
    return {name: [send().status_code for _ in range(repeat)] for name, send in route_mistakes(raw).items()}


def row_unknown_session_flood(raw: Raw, seconds: float = 5.0, threads: int = 8) -> dict:
    """`threads` connections asking for unknown sessions' streams back to back for `seconds`."""
    import concurrent.futures

    stop_at, statuses = time.monotonic() + seconds, []

    def flood() -> None:
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < stop_at:
                statuses.append(http.get(f"{raw.url}{PREFIX}/queue/data",
                                         params={"session_hash": new_session()}).status_code)

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(flood) for _ in range(threads)]:
            future.result()
    return {"requests": len(statuses), "404": statuses.count(404), "other": len(statuses) - statuses.count(404)}


def call_join(raw: Raw, api_name: str, data: list, session: str | None, client: str | None = None) -> int:
    body = {"data": data, **({"session_hash": session} if session else {})}
    return raw.http.post(f"{raw.url}{PREFIX}/call/{api_name}", json=body, headers=forwarded(client)).status_code


def row_call_unread(raw: Raw, count: int = 60, session: str | None = "new") -> dict:
    """`count` POST /call/predict ("All channels"), never read, on one session (or with no session hash:
    session=None), each from another address."""
    session = new_session() if session == "new" else session
    image = raw.upload(EXAMPLE)
    statuses = [call_join(raw, "predict", [image, None, "Predicted class", "All channels"], session,
                          client=None if session is None else f"10.2.{i // 250}.{i % 250 + 1}") for i in range(count)]
    return {"accepted": statuses.count(200), "refused": statuses.count(429), "other": len(statuses)
            - statuses.count(200) - statuses.count(429)}


def row_simultaneous_joins(raw: Raw, count: int = 70, sessions: int = 1) -> dict:
    """`count` joins sent at once (threads) on each of `sessions` sessions, never read."""
    import concurrent.futures

    image = raw.upload(EXAMPLE)
    data = [image, None, "Predicted class", "Top 16 channels by mean"]
    chosen = [new_session() for _ in range(sessions)]
    barrier = threading.Barrier(min(count * sessions, 64))

    def one(i: int) -> int:
        with httpx.Client(timeout=60) as http:
            joiner = Raw.__new__(Raw)
            joiner.url, joiner.http, joiner.fn_ids, joiner.components = raw.url, http, raw.fn_ids, raw.components
            try:
                barrier.wait(timeout=5)
            except threading.BrokenBarrierError:
                pass
            response, _ = joiner.join("predict", data, chosen[i % sessions], client=f"10.3.{i // 250}.{i % 250 + 1}")
            return response.status_code

    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        statuses = list(pool.map(one, range(count * sessions)))
    return {"accepted": statuses.count(200), "refused": statuses.count(429), "sessions": sessions,
            "other": len(statuses) - statuses.count(200) - statuses.count(429)}


def row_upload_flood(raw: Raw, threads: int = 4, files: int = 30, size: int = 1 << 20) -> dict:
    """`threads` clients each uploading `files` files of `size` random bytes as fast as they can."""
    import concurrent.futures
    import os

    blob = os.urandom(size)

    def one(_) -> list[int]:
        with httpx.Client(timeout=60) as http:
            return [http.post(f"{raw.url}{PREFIX}/upload", files={"files": ("x.png", blob, "image/png")}).status_code
                    for _ in range(files)]

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        statuses = [s for batch in pool.map(one, range(threads)) for s in batch]
    return {"accepted": statuses.count(200), "refused": statuses.count(429), "stored_mb": statuses.count(200) * size / 2 ** 20,
            "other": len(statuses) - statuses.count(200) - statuses.count(429)}


def row_starve(raw: Raw, flood: str = "occlusion", sessions: int = 40, predicts: int = 10) -> dict:
    """One address (10.9.9.9) joins `flood` events on `sessions` sessions at once; meanwhile another address
    (10.8.8.8) sends `predicts` /predict one after another: their seconds (a server that trusts
    X-Forwarded-For keys the per-caller cap by it)."""
    import concurrent.futures

    image = raw.upload(EXAMPLE)
    flooder = [new_session() for _ in range(sessions)]
    for session in flooder:  # an image in each session, so the flood runs the model
        raw.call("predict", [image, None, "Predicted class", "Top 16 channels by mean"], session, client="10.9.9.9")
    data = {"occlusion": ("occlusion_page", [None, 4]), "explore": ("explore_refresh", [None, "block1", 0, 8, 4])}[flood]
    settings = [image, None, "Predicted class", "Top 16 channels by mean"]

    def flood_one(session: str) -> int:
        with httpx.Client(timeout=120) as http:
            joiner = Raw.__new__(Raw)
            joiner.url, joiner.http, joiner.fn_ids, joiner.components = raw.url, http, raw.fn_ids, raw.components
            response, _ = joiner.join(data[0], data[1], session, client="10.9.9.9")
            return response.status_code

    with concurrent.futures.ThreadPoolExecutor(sessions) as pool:
        joined = pool.map(flood_one, flooder)
        during = [raw.call("predict", settings, client="10.8.8.8") for _ in range(predicts)]
        statuses = list(joined)
    seconds = sorted(a.seconds for a in during)
    return {"flood_accepted": statuses.count(200), "flood_refused": statuses.count(429),
            "predict_ok": sum(bool(a.success) for a in during), "predicts": predicts,
            "predict_p95_s": round(seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))], 3),
            "predict_max_s": round(seconds[-1], 3)}



WRONG_VALUES = {
    # name: (api_name, data builder, event_data, words the message must contain)
    "mlp_at row NaN": ("mlp_at", lambda: lesson_data("mlp_at", row=math.nan), None, "Row must be a whole number of at least 0"),
    "mlp_at row inf": ("mlp_at", lambda: lesson_data("mlp_at", row=math.inf), None, "Row must be a whole number of at least 0"),
    "mlp_at row '13'": ("mlp_at", lambda: lesson_data("mlp_at", row="13"), None, "Row must be a whole number of at least 0"),
    "mlp_at row true": ("mlp_at", lambda: lesson_data("mlp_at", row=True), None, "Row must be a whole number of at least 0"),
    "mlp_at row 13.5": ("mlp_at", lambda: lesson_data("mlp_at", row=13.5), None, "Row must be a whole number of at least 0"),
    "mlp_at row -1": ("mlp_at", lambda: lesson_data("mlp_at", row=-1), None, "Row must be a whole number of at least 0"),
    "mlp_at row null": ("mlp_at", lambda: lesson_data("mlp_at", row=None), None, "row of block2's 26×26 output grid must be a whole number from 0 to 25"),
    "mlp_at block4 row 7": ("mlp_at", lambda: lesson_data("mlp_at", stage="block4", row=7), None, "from 0 to 4"),
    "translate dx '4'": ("translate", lambda: lesson_data("translate", dx="4"), None, "Shift right dx (px of 28) must be a whole number from -8 to 8; got '4'"),
    "translate dx null": ("translate", lambda: lesson_data("translate", dx=None), None, "Shift right dx (px of 28) must be a whole number from -8 to 8; got None"),
    "translate dx 3.7": ("translate", lambda: lesson_data("translate", dx=3.7), None, "Shift right dx (px of 28) must be a whole number from -8 to 8; got 3.7"),
    "translate dy 99": ("translate", lambda: lesson_data("translate", dy=99), None, "Shift down dy (px of 28) must be a whole number from -8 to 8; got 99"),
    "ablate block1 channels 0-29999999": ("ablate", lambda: lesson_data("ablate", stage="block1", channels="0-29999999"), None,
                                          "channels of block1 must be from 0 to 95"),
    "toggle_cell [99,0,0]": ("ablation_click", lambda: [None, "", "(none)", ""], {"index": [99, 0, 0], "value": "x"},
                             "class must be a whole number from 0 to 9"),
    "toggle_cell no index": ("ablation_click", lambda: [None, "", "(none)", ""], {"value": "x"}, "A click must send an index of 3 numbers"),
    "pick_pixel [1e308,1e308]": ("mlp_click", lambda: [None, "block2"], {"index": [1e308, 1e308], "value": None},
                                 "x of the click must be a number from 0 to 269"),
    "confusion_cell [-1,-2]": ("confusion_cell_nin_cpu", lambda: [None], {"index": [-1, -2], "value": None},
                               "true class must be a whole number from 0 to 9"),
    "gradcam class 'Spaceship'": ("gradcam", lambda: [None, "Spaceship"], None, "Class must be one of Predicted class"),
    "ablate cells Coat@7,0": ("ablate", lambda: lesson_data("ablate", cells="Coat@7,0"), None, "must be from 0 to 4"),
    "ablate channels 5-3": ("ablate", lambda: lesson_data("ablate", stage="block1", channels="5-3"), None, "a range going up"),
}


def row_wrong_values(raw: Raw, session: str) -> dict[str, tuple[Answer, str]]:
    """Each wrong value of WRONG_VALUES, with the words its message must contain."""
    found = {}
    for name, (api_name, data, event_data, words) in WRONG_VALUES.items():
        if api_name not in raw.fn_ids:  # the confusion cell exists only when a report is shipped
            continue
        found[name] = (raw.call(api_name, data(), session, event_data=event_data), words)
    return found


# ----------------------------------------------------------------------------- the run

@dataclass
class Row:
    request: str
    seconds: float
    growth_mb: float | None
    response_bytes: int
    log_bytes: int | None
    said: str
    extra: dict = field(default_factory=dict)


def measured(pid: int | None, log: Path | None, run) -> tuple:
    before, log_before = rss_mb(pid), log.stat().st_size if log else None
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    time.sleep(0.2)
    after = rss_mb(pid)
    grown = None if before is None or after is None else round(after - before, 1)
    logged = log.stat().st_size - log_before if log else None
    return result, seconds, grown, logged


def run_all(url: str, pid: int | None = None, log: Path | None = None, only: str | None = None) -> list[Row]:
    raw = Raw(url)
    session = raw.session_with_image()
    rows = []

    def add(request: str, run, describe) -> None:
        if only and not any(part in request for part in only.split("|")):
            return
        result, seconds, grown, logged = measured(pid, log, run)
        said, size, extra = describe(result)
        rows.append(Row(request, round(seconds, 2), grown, size, logged, said[:120], extra))

    one = lambda a: (a.message or f"HTTP {a.status}", a.response_bytes, {})  # noqa: E731
    add("/ablate cells 2,000 spaces + x + 2,000 spaces", lambda: row_ablate_spaces(raw, session), one)
    add("/ablate cells 1,000 spaces + x + 999 spaces", lambda: row_ablate_spaces(raw, session, 1000), one)
    add("/ablate block1 channels 0-29999999", lambda: row_ablate_huge_range(raw, session), one)
    add("forged 1000x1000 numbers, every private lesson input",
        lambda: row_forged_panels(raw, session),
        lambda answers: (f"{sum(a.status == 413 for a in answers.values())} x HTTP 413, "
                         f"{sum(a.success is False for a in answers.values())} refused by the handler, "
                         f"{sum(bool(a.success) for a in answers.values())} drawn",
                         sum(a.response_bytes for a in answers.values()),
                         {"slowest_s": max(a.seconds for a in answers.values())}))
    add("forged 40x40 numbers, every private lesson input", lambda: row_forged_panels(raw, session, side=40),
        lambda answers: (f"{sum(a.status == 413 for a in answers.values())} x HTTP 413, "
                         f"{sum(a.success is False for a in answers.values())} refused by the handler, "
                         f"{sum(bool(a.success) for a in answers.values())} drawn",
                         sum(a.response_bytes for a in answers.values()),
                         {"slowest_s": max(a.seconds for a in answers.values())}))
    add("/gradcam class name of 5 MB", lambda: row_huge_value(raw, session, 5 << 20), one)
    add("/gradcam class name of 30 KB (under the body limit)", lambda: row_huge_value(raw, session, 30_000), one)
    add("/predict request of 20 MB", lambda: row_huge_body(raw, session, 20 << 20), one)
    add("/predict request of 10 MB", lambda: row_huge_body(raw, session, 10 << 20), one)
    add("live canvas call of 1 MB", lambda: row_live_payload(raw, "data:image/png;base64," + "A" * (1 << 20)), one)
    add("live canvas call of 40,000 characters", lambda: row_live_payload(raw, "data:image/png;base64," + "A" * 40_000),
        one)
    add("live canvas call, ink not base64", lambda: row_live_payload(raw, "data:image/png;base64,%%%"), one)
    add("live canvas call, ink a JPEG", lambda: row_live_payload(raw, "data:image/png;base64,/9j/4AAQSkZJRgABAQ=="),
        one)
    add("16 clients flooding live calls for 6 s, /predict beside",
        lambda: row_live_flood(raw),
        lambda r: (f"{r['answered']} live answered, {r['refused']} refused; /predict {r['predict_ok']}/"
                   f"{r['predicts']} ok, median {r['predict_during_s']:.2f} s (idle {r['predict_idle_s']:.2f} s)",
                   0, r))
    add("Gradio's routes: 8 client mistakes x 20 each",
        lambda: row_route_mistakes(raw),
        lambda r: (f"{sum(400 <= s < 500 for v in r.values() for s in v)} x 4xx, "
                   f"{sum(s >= 500 for v in r.values() for s in v)} x 5xx", 0, r))
    add("/queue/data, unknown sessions, 8 connections x 5 s", lambda: row_unknown_session_flood(raw),
        lambda r: (f"{r['requests']} requests, {r['404']} x 404", 0, r))
    add("60 POST /call/predict on one session, never read", lambda: row_call_unread(raw),
        lambda r: (f"{r['accepted']} accepted, {r['refused']} refused (429)", 0, r))
    add("60 POST /call/predict without a session, never read", lambda: row_call_unread(raw, session=None),
        lambda r: (f"{r['accepted']} accepted, {r['refused']} refused (429)", 0, r))
    add("8 sessions x 70 joins at once, never read", lambda: row_simultaneous_joins(raw, sessions=8),
        lambda r: (f"{r['accepted']} accepted, {r['refused']} refused (429)", 0, r))
    add("4 clients x 30 uploads of 1 MB", lambda: row_upload_flood(raw),
        lambda r: (f"{r['accepted']} stored ({r['stored_mb']:.0f} MB), {r['refused']} refused (429)", 0, r))
    time.sleep(0 if only else 15)  # the joined events above run first
    add("40 /occlusion (patch 4) from one address, /predict from another",
        lambda: row_starve(raw),
        lambda r: (f"flood {r['flood_accepted']} joined, {r['flood_refused']} refused; /predict p95 "
                   f"{r['predict_p95_s']:.2f} s, max {r['predict_max_s']:.2f} s", 0, r))
    add("100 explore_refresh from one address, /predict from another",
        lambda: row_starve(raw, flood="explore", sessions=100),
        lambda r: (f"flood {r['flood_accepted']} joined, {r['flood_refused']} refused; /predict p95 "
                   f"{r['predict_p95_s']:.2f} s, max {r['predict_max_s']:.2f} s", 0, r))
    wrong = {} if only else measured(pid, log, lambda: row_wrong_values(raw, session))[0]
    for name, (answer, words) in wrong.items():
        rows.append(Row(name, round(answer.seconds, 2), None, answer.response_bytes, None,
                        answer.message[:120] or f"HTTP {answer.status}", {"expected": words}))
    from tools import attack_server  # the server around the page: routes, connections, sessions, live fairness

    attack_server.server_rows(raw, add)
    # Last: the joined events run after their joins were answered, and would load the rows after them.
    add("150 /predict (All channels) on one session, never read", lambda: row_unread_predicts(raw),
        lambda r: (f"{r['accepted']} joined, {r['refused']} refused (429), slowest join {r['slowest_join_s']:.2f} s",
                   0, r))
    attack_server.held_connections_row(raw, add)  # after everything: it fills the server's connections
    raw.close()
    return rows


def print_rows(rows: list[Row]) -> None:
    print(f"{'request':<52} {'s':>6} {'RSS MB':>7} {'bytes back':>10} {'log B':>6}  answer")
    for row in rows:
        grown = "" if row.growth_mb is None else f"{row.growth_mb:+.1f}"
        logged = "" if row.log_bytes is None else str(row.log_bytes)
        print(f"{row.request[:52]:<52} {row.seconds:>6.2f} {grown:>7} {row.response_bytes:>10} {logged:>6}  {row.said}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Hostile requests against a loopback server, measured.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--launch", action="store_true", help="start `python app.py` on a free 127.0.0.1 port")
    where.add_argument("--url", help="an app already running on this machine")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id, to read its memory")
    parser.add_argument("--startup-timeout", type=float, default=300)
    parser.add_argument("--app", default="app.py", help="with --launch: the app file to start (another checkout's "
                                                         "app.py measures its code with these rows)")
    parser.add_argument("--only", help="run only the rows whose request contains one of these texts (a|b|c)")
    args = parser.parse_args()
    server, pid, log = None, args.pid, None
    with tempfile.TemporaryDirectory() as workdir:
        if args.launch:  # as on a Space: the caller's address from X-Forwarded-For, which the rows set
            os.environ.setdefault("NIN_CLIENT_HEADER", "x-forwarded-for")
            log = Path(workdir) / "server.log"
            server, url = launch(args.startup_timeout, script=args.app, log=log)
            pid = server.pid
        else:
            url = loopback_url(args.url)
        try:
            rows = run_all(url, pid, log, args.only)
        finally:
            if server is not None:
                stop(server)
        print_rows(rows)


if __name__ == "__main__":
    main()
