"""The hostile requests of the README's table (Running it in public) that go through Gradio's events: one
function per row, and a few neighbours of each. `python -m nin.dev.attack --launch` measures them against a
launched server; the API tests (tests/test_limits.py and others) call the same functions against the
in-process server and assert the bounds: answered or refused in <= 2 s, <= 100 MB of memory growth (200 MB
for a 10 MB body), a 5 MB value costing <= 20 KB of log and a message of <= 1,000 characters. Loopback only;
nothing here runs against another host.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid

import httpx

from nin.dev.attack.requests import EXAMPLE, PREFIX, Answer, Raw, drawing_ink, forwarded, new_session

__all__ = ["EXAMPLE", "PREFIX", "Answer", "Raw", "drawing_ink", "forwarded", "new_session"]  # the requests, re-used

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
                    counts["answered" if "probs" in body else "refused" if "error" in body or "retry_ms" in body
                           else "other"] += 1

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
