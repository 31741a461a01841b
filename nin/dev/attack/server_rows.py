"""The hostile requests against the server around the page, one function per row: Gradio's routes the app does
not use, slow and held connections, session floods, a live-call flood from one address, refusal floods in the
log, and a caller hiding behind a second X-Forwarded-For line.

`python -m nin.dev.attack --launch` runs them after the event rows (rows.py) and prints the same table; the
tests (tests/test_routes.py, tests/test_connections.py, tests/test_session_guard.py, tests/test_limits.py) call
them against the in-process server and assert the bounds. Loopback only, bounded in count and in time.
"""

from __future__ import annotations

import base64
import concurrent.futures
import io
import json
import os
import socket
import statistics
import threading
import time
import zlib

import httpx

from nin.dev.attack.requests import EXAMPLE, PREFIX, Raw, drawing_ink, forwarded, new_session

# ----------------------------------------------------------------------------- routes outside the allow-list


def ffmpeg_processes() -> int:
    """ffmpeg processes running on this machine now (the server's re-encodes)."""
    count = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/comm") as handle:
                    count += handle.read().strip() == "ffmpeg"
            except OSError:
                continue
    return count


def row_process_recording(raw: Raw, clips: int = 6, size: int = 30_000) -> dict:
    """`clips` POST /process_recording of `size` bytes at once, and the most ffmpeg processes seen meanwhile."""
    blob = os.urandom(size)
    seen, done = [ffmpeg_processes()], threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(ffmpeg_processes())
            time.sleep(0.05)

    def one(_) -> int:
        with httpx.Client(timeout=120) as http:
            return http.post(f"{raw.url}{PREFIX}/process_recording",
                             files={"video": ("clip.mp4", blob, "video/mp4")}).status_code

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with concurrent.futures.ThreadPoolExecutor(clips) as pool:
        statuses = list(pool.map(one, range(clips)))
    done.set()
    watcher.join()
    return {"statuses": statuses, "ffmpeg_max": max(seen) - seen[0]}


OTHER_ROUTES = {  # routes of Gradio this app does not use, as (method, path)
    "vibe-edit": ("POST", "/vibe-edit"), "vibe-code": ("GET", "/vibe-code"), "run history": ("GET", "/runs"),
    "monitoring": ("GET", "/../monitoring"), "deep link": ("GET", "/deep_link"), "OpenAPI": ("GET", "/openapi.json"),
    "stream playlist": ("GET", "/stream/x/0/1/playlist.m3u8"), "proxy": ("GET", "/proxy=https://example.org/x"),
}


def row_other_routes(raw: Raw) -> dict[str, int]:
    """The status of each of OTHER_ROUTES."""
    found = {}
    for name, (method, path) in OTHER_ROUTES.items():
        url = f"{raw.url}{PREFIX}{path}" if not path.startswith("/..") else f"{raw.url}{path[3:]}"
        found[name] = raw.http.request(method, url, json={} if method == "POST" else None).status_code
    return found


# ----------------------------------------------------------------------------- slow and held connections

def host_port(raw: Raw) -> tuple[str, int]:
    url = httpx.URL(raw.url)
    return url.host, url.port


HALF_SENT = {  # what a slow client sends, and then nothing more
    "nothing": b"",
    "half the headers": b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
    "half the body": (b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n{\"data\": ["),
}


def row_half_sent(raw: Raw, what: str, limit_s: float = 30.0) -> dict:
    """A connection that sends HALF_SENT[what] and waits: how long until the server closes it, and its answer."""
    start = time.monotonic()
    with socket.create_connection(host_port(raw), timeout=limit_s) as sock:
        if HALF_SENT[what]:
            sock.sendall(HALF_SENT[what])
        received = b""
        try:
            while time.monotonic() - start < limit_s:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return {"closed_after_s": round(time.monotonic() - start, 2), "closed": time.monotonic() - start < limit_s,
            "answer": received.split(b"\r\n", 1)[0].decode("latin-1")}


def row_held_connections(raw: Raw, count: int = 20_000, hold_s: float = 3.0, open_s: float = 30.0) -> dict:
    """`count` connections opened as fast as possible (for at most `open_s` seconds), each sending half its
    headers, held `hold_s` seconds: how many the server kept open, refused (503) or closed, and whether it still
    answered meanwhile. This process raises its own file limit to its hard limit to hold them."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    count = min(count, (hard if hard != resource.RLIM_INFINITY else count + 200) - 200)
    if soft < count + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count + 200, hard))
    address, sockets, failed = host_port(raw), [], 0
    start = time.monotonic()
    try:
        for _ in range(count):
            if time.monotonic() - start > open_s:
                break
            try:
                sock = socket.create_connection(address, timeout=0.5)
                sock.sendall(HALF_SENT["half the headers"])
                sock.setblocking(False)
                sockets.append(sock)
            except OSError:
                failed += 1
        opened_s = time.monotonic() - start
        answered = _answers(raw)
        time.sleep(hold_s)
        refused = closed = kept = 0
        for sock in sockets:
            try:
                data = sock.recv(256)
                refused += data.startswith(b"HTTP/1.1 503")
                closed += not data.startswith(b"HTTP/1.1 503")
            except BlockingIOError:
                kept += 1
            except OSError:
                closed += 1
    finally:
        for sock in sockets:
            sock.close()
    return {"opened": len(sockets), "failed": failed, "kept_open": kept, "refused_503": refused,
            "closed_otherwise": closed, "opened_s": round(opened_s, 1), "info_answered": answered,
            "info_after_s": _answers(raw)}


def _answers(raw: Raw) -> bool:
    try:
        return httpx.get(f"{raw.url}{PREFIX}/info", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


# ----------------------------------------------------------------------------- sessions

def session_kept(raw: Raw, session: str) -> bool:
    """Whether `session` still holds its image: a lesson answers instead of "Draw or upload something first"."""
    answer = raw.call("mlp_at", [None, "block2", 13, 13], session)
    return bool(answer.success)


def row_fresh_hash_live_calls(raw: Raw, calls: int = 2100, threads: int = 8) -> dict:
    """A victim session with an image; then `calls` live calls, each under a fresh session hash the server never
    saw (all refused), from `threads` connections: whether the victim's session is kept."""
    victim = raw.session_with_image()
    ink = "data:image/png;base64,%%%"  # refused whatever happens: the point is the session each call names
    statuses = []

    def one(batch: int) -> None:
        with httpx.Client(timeout=30) as http:
            body = {"component_id": raw.components["canvas"], "fn_name": "live", "data": {"ink": ink, "seq": 1}}
            for _ in range(batch):
                statuses.append(http.post(f"{raw.url}{PREFIX}/component_server/",
                                          json={**body, "session_hash": new_session()}).status_code)

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, [calls // threads + (i < calls % threads) for i in range(threads)]))
    return {"calls": len(statuses), "victim_kept": session_kept(raw, victim)}


def row_fresh_session_joins(raw: Raw, joins: int = 2200, client: str = "10.7.7.7", threads: int = 8) -> dict:
    """A victim session with an image; then `joins` joins of the cheap /ready event from one address, each under a
    fresh session hash (one refused because the queue is full is sent again): how many were accepted, and
    whether the victim's session is kept."""
    victim = raw.session_with_image()
    statuses = []

    def one(batch: int) -> None:
        with httpx.Client(timeout=30) as http:
            body = {"data": [], "event_data": None, "fn_index": raw.fn_ids["ready"], "trigger_id": None}
            for _ in range(batch):
                for _ in range(40):  # a full queue (503) creates no session: the join is tried again shortly
                    status = http.post(f"{raw.url}{PREFIX}/queue/join", json={**body, "session_hash": new_session()},
                                       headers=forwarded(client)).status_code
                    if status != 503:
                        break
                    time.sleep(0.05)
                statuses.append(status)

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, [joins // threads + (i < joins % threads) for i in range(threads)]))
    return {"accepted": statuses.count(200), "refused": statuses.count(429),
            "other": len(statuses) - statuses.count(200) - statuses.count(429), "victim_kept": session_kept(raw, victim)}


def row_long_session_hash(raw: Raw, length: int = 60_000) -> dict:
    """A join and a live call naming a session hash of `length` characters: their statuses."""
    session = "s" * length
    joined = raw.http.post(f"{raw.url}{PREFIX}/queue/join", json={"data": [], "fn_index": raw.fn_ids["ready"],
                                                                  "session_hash": session})
    live = raw.http.post(f"{raw.url}{PREFIX}/component_server/", json={
        "component_id": raw.components["canvas"], "fn_name": "live", "session_hash": session,
        "data": {"ink": drawing_ink(), "seq": 1}})
    return {"join": joined.status_code, "live": live.status_code, "live_says": live.text[:120]}


def row_stale_seq(raw: Raw) -> dict:
    """A live call naming the victim's session with seq 2**53 and ink that does not decode; then the victim's full
    explanation for its drawing at seq 5: answered, or skipped as stale."""
    victim = raw.open_session()
    forged, _ = raw.live("data:image/png;base64,%%%", victim, seq=2 ** 53)
    drawn = raw.call("drawn", [None, "Predicted class", "Top 16 channels by mean"], victim,
                     event_data={"ink": drawing_ink(), "seq": 5})
    label = next((v.get("label") for v in drawn.output or [] if isinstance(v, dict) and v.get("label")), None)
    return {"forged_says": forged.json().get("error", "")[:80], "drawn_label": label}


# ----------------------------------------------------------------------------- live calls: fairness and their ink

def text_chunk_ink(chunks: int = 20, inflated: int = 1 << 20, limit: int = 29_970) -> str:
    """The drawing's ink with `chunks` zTXt chunks, each inflating to `inflated` bytes, under `limit` characters."""
    import struct

    png = base64.b64decode(drawing_ink().split(",", 1)[1])
    text = zlib.compress(b"\0" * inflated, 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    extra = b"".join(chunk(b"zTXt", b"k%d\0\0" % i + text) for i in range(chunks))
    ink = png[:33] + extra + png[33:]  # after IHDR (8-byte signature + 25-byte IHDR chunk)
    data_url = "data:image/png;base64," + base64.b64encode(ink).decode()
    return data_url if len(data_url) <= limit else text_chunk_ink(chunks - 1, inflated, limit)


def busy_ink(side: int = 140) -> str:
    """A dense scribble the canvas could send: heavier to preprocess than an outline, no extra chunks."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (side, side))
    draw = ImageDraw.Draw(image)
    for i in range(0, side, 6):
        draw.line([(i, 0), (side - i, side)], fill="white", width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def row_text_chunks(raw: Raw) -> dict:
    """One live call whose ink carries compressed text chunks (20 MB when inflated): its answer and seconds."""
    ink = text_chunk_ink()
    response, seconds = raw.live(ink)
    body = response.json() if response.status_code == 200 else {}
    return {"chars": len(ink), "seconds": round(seconds, 3), "answered": "probs" in body,
            "says": body.get("error", "")[:100]}


def row_live_fairness(raw: Raw, flooders: int = 60, calls: int = 55, flooder: str = "10.9.1.1",
                      other: str = "10.8.1.1", sessions: int = 30) -> dict:
    """`flooders` threads of one address sending live calls back to back (heavy ink, over `sessions` sessions),
    while another address's canvas sends `calls` calls, one in flight, about 10 a second: the share of the
    other's calls answered and their seconds."""
    ink, heavy = drawing_ink(), busy_ink()
    opened = [raw.open_session(client=flooder) for _ in range(sessions)]
    mine = raw.open_session(client=other)
    stop, flood = threading.Event(), {"answered": 0, "refused": 0}

    def flood_one(i: int) -> None:
        with httpx.Client(timeout=30) as http:
            body = {"component_id": raw.components["canvas"], "fn_name": "live", "session_hash": opened[i % sessions],
                    "data": {"ink": heavy, "seq": 1}}
            while not stop.is_set():
                answer = http.post(f"{raw.url}{PREFIX}/component_server/", json=body, headers=forwarded(flooder))
                flood["answered" if "probs" in answer.text[:20] else "refused"] += 1

    answered, seconds = 0, []
    with concurrent.futures.ThreadPoolExecutor(flooders) as pool:
        running = [pool.submit(flood_one, i) for i in range(flooders)]
        time.sleep(1.0)  # the flood at full strength first
        for seq in range(1, calls + 1):
            response, took = raw.live(ink, mine, seq=seq, client=other)
            got = response.status_code == 200 and "probs" in response.json()
            answered += got
            seconds += [took] if got else []
            time.sleep(max(0.0, 0.1 - took))
        stop.set()
        for future in running:
            future.result()
    return {"answered": answered, "calls": calls, "share": round(answered / calls, 2),
            "p50_s": round(statistics.median(seconds), 3) if seconds else None, **{f"flood_{k}": v for k, v in flood.items()}}


# ----------------------------------------------------------------------------- the log, and the caller's address

def row_refusal_flood(raw: Raw, refusals: int = 1000, threads: int = 4) -> dict:
    """`refusals` live calls with ink that does not decode (each refused through the one refusal), back to back
    from `threads` connections on their own sessions: how many were refused, and how long it took."""
    said = []

    def one(batch: int) -> None:
        with httpx.Client(timeout=30) as http:
            flooder = Raw.__new__(Raw)
            flooder.url, flooder.http, flooder.components, flooder.fn_ids = raw.url, http, raw.components, raw.fn_ids
            session = flooder.open_session()
            for _ in range(batch):
                response, _ = flooder.live("data:image/png;base64,%%%", session)
                said.append(response.json().get("error", "") if response.status_code == 200 else "")

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, [refusals // threads + (i < refusals % threads) for i in range(threads)]))
    return {"refused": sum(bool(s) for s in said), "calls": len(said), "seconds": round(time.monotonic() - start, 1)}


def row_two_header_lines(raw: Raw, joins: int = 30, caller: str = "10.6.6.6") -> dict:
    """`joins` /predict joins from one caller whose X-Forwarded-For comes in two lines: a first line it wrote
    itself (another address each time) and the proxy's line with its real address. Behind a trusted proxy at
    most 4 model events per caller may be queued or running: how many joined."""
    image = raw.upload(EXAMPLE)
    data = [image, None, "Predicted class", "All channels"]
    statuses = []
    for i in range(joins):
        headers = [("x-forwarded-for", f"192.0.2.{i + 1}"), ("x-forwarded-for", caller),
                   ("content-type", "application/json")]
        body = {"data": data, "event_data": None, "fn_index": raw.fn_ids["predict"], "trigger_id": None,
                "session_hash": new_session()}
        statuses.append(raw.http.post(f"{raw.url}{PREFIX}/queue/join", content=json.dumps(body).encode(),
                                      headers=headers).status_code)
    return {"joined": statuses.count(200), "refused": statuses.count(429),
            "other": len(statuses) - statuses.count(200) - statuses.count(429)}


__all__ = ["row_process_recording", "row_other_routes", "row_half_sent", "row_held_connections",
           "row_fresh_hash_live_calls", "row_fresh_session_joins", "row_long_session_hash", "row_stale_seq",
           "row_text_chunks", "row_live_fairness", "row_refusal_flood", "row_two_header_lines", "text_chunk_ink",
           "busy_ink", "ffmpeg_processes", "HALF_SENT", "OTHER_ROUTES"]


# ----------------------------------------------------------------------------- the rows, for the table of nin.dev.attack

def server_rows(raw: Raw, add) -> None:
    """This module's rows, through nin.dev.attack's `add(request, run, describe)`; the held connections go last
    (nin.dev.attack calls `held_connections_row` after everything else)."""
    add("POST /process_recording: 6 clips of 30 KB at once", lambda: row_process_recording(raw),
        lambda r: (f"statuses {sorted(set(r['statuses']))}, {r['ffmpeg_max']} ffmpeg processes", 0, r))
    add("Gradio's unused routes: vibe-edit, runs, monitoring, ...", lambda: row_other_routes(raw),
        lambda r: (", ".join(f"{k} {v}" for k, v in r.items()), 0, r))
    for what in HALF_SENT:
        add(f"a connection sending {what}, then waiting", lambda what=what: row_half_sent(raw, what),
            lambda r: (f"closed after {r['closed_after_s']:.1f} s, {r['answer'] or 'no answer'}" if r["closed"]
                       else f"still open after {r['closed_after_s']:.0f} s", 0, r))
    add("2,100 live calls under fresh session hashes", lambda: row_fresh_hash_live_calls(raw),
        lambda r: (f"{r['calls']} sent; victim's session {'kept' if r['victim_kept'] else 'LOST'}", 0, r))
    add("2,200 /ready joins, fresh hashes, one address", lambda: row_fresh_session_joins(raw),
        lambda r: (f"{r['accepted']} accepted, {r['refused']} refused (429); victim's session "
                   f"{'kept' if r['victim_kept'] else 'LOST'}", 0, r))
    add("a join and a live call, 20,000-character session hash", lambda: row_long_session_hash(raw, 20_000),
        lambda r: (f"join HTTP {r['join']}, live HTTP {r['live']}", 0, r))
    add("live call: victim's hash, seq 2**53, ink not decodable", lambda: row_stale_seq(raw),
        lambda r: (f"victim's next full explanation: {r['drawn_label'] or 'skipped as stale'}", 0, r))
    add("live call, ink with 20 zTXt chunks (20 MB inflated)", lambda: row_text_chunks(raw),
        lambda r: (f"{'answered' if r['answered'] else 'refused'} in {r['seconds']:.3f} s: {r['says'][:60]}", 0, r))
    add("60 live floods from one address, another's canvas", lambda: row_live_fairness(raw),
        lambda r: (f"other's canvas {r['answered']}/{r['calls']} answered, p50 {r['p50_s']} s; flood "
                   f"{r['flood_answered']} answered, {r['flood_refused']} refused", 0, r))
    add("1,000 refused live calls (ink not base64)", lambda: row_refusal_flood(raw),
        lambda r: (f"{r['refused']} refused in {r['seconds']:.1f} s", 0, r))
    add("30 /predict joins, X-Forwarded-For in two lines", lambda: row_two_header_lines(raw),
        lambda r: (f"{r['joined']} joined, {r['refused']} refused (429)", 0, r))


def held_connections_row(raw: Raw, add) -> None:
    add("20,000 connections holding half their headers", lambda: row_held_connections(raw),
        lambda r: (f"{r['opened']} opened in {r['opened_s']} s: {r['kept_open']} still open after 3 s, "
                   f"{r['refused_503']} refused (503), {r['closed_otherwise']} closed; server answered meanwhile "
                   f"{r['info_answered']}, after {r['info_after_s']}", 0, r))
