"""`python -m nin.bench_load`: how the app holds up under concurrent clients and many sessions.

Measures /predict (a photo upload through gradio_client) for 1 sequential client and for 8 and 16 concurrent
clients (one thread and one Client each, all created before the clock starts): requests/s, p50/p95 latency,
errors, and throughput relative to the sequential client. With --baseline, the same levels run alternately
against tools/minimal_app.py (one Image in, one Label out, no work), the framework's own ceiling on this
machine, and the report gives app ÷ minimal per level. Then the server's resident memory before and after
N new sessions (N new Clients, one call each), which is what gr.State and Gradio's per-session bookkeeping
cost. Last, two hostile requests on the idle server: a 64-megapixel sketch layer and an accept_blobs call
at layer index 30,000,000, each with its answer time and the server's memory growth. Loopback only, and bounded: a request budget per level, a session count and an overall time limit.
It starts nothing except, with --launch, `python app.py` in a subprocess on a free 127.0.0.1 port.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import ssl
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nin.dev.launcher import launch, loopback_url, rss_mb, stop

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "nin" / "examples" / "photo00009_sneaker.jpg"
MINIMAL_APP = ROOT / "tools" / "minimal_app.py"  # the framework's ceiling: one Image in, one Label out


def call_predict(client, image: Path):
    """One request, as the app's API takes it now. The one place to adapt when the endpoint changes.

    /predict takes (image, model_key, cam_class, channels); the last three keep their defaults here.
    """
    from gradio_client import handle_file

    return client.predict(handle_file(str(image)), api_name="/predict")


@functools.lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying SSL context for every client request.

    gradio_client opens a new httpx client for each upload, join and stream, and with `verify=True` httpx
    builds a new SSL context each time, loading certifi's CA bundle: ~8 ms of CPU per request even over
    plain http, ~160 ms per /predict call. The load generator shares this box's 2 cores with the server,
    so that cost was counted against the server. A ready context is used as is (httpx accepts one for
    `verify`), and verification stays on.
    """
    import httpx

    return httpx.create_ssl_context()  # what httpx builds for verify=True (SSL_CERT_FILE, else certifi), once


def new_client(url: str, *, shared_ssl: bool = True):
    from gradio_client import Client

    # analytics_enabled must be passed: gradio_client's default (True) ignores GRADIO_ANALYTICS_ENABLED.
    return Client(url, download_files=False, verbose=False, analytics_enabled=False,
                  ssl_verify=shared_ssl_context() if shared_ssl else True)


@dataclass
class Level:
    """One concurrency level's figures."""

    clients: int
    ok: int = 0
    errors: int = 0
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    first_error: str = ""

    @property
    def req_per_s(self) -> float:
        return self.ok / self.wall_s if self.wall_s else 0.0

    def summary(self) -> dict:
        lat = np.asarray(self.latencies_ms) if self.latencies_ms else np.zeros(1)
        return {"clients": self.clients, "ok": self.ok, "errors": self.errors, "wall_s": round(self.wall_s, 2),
                "req_per_s": round(self.req_per_s, 2), "p50_ms": round(float(np.percentile(lat, 50)), 1),
                "p95_ms": round(float(np.percentile(lat, 95)), 1), "first_error": self.first_error}


def combine(runs: list[Level], ratios: list[float]) -> dict:
    """One level over several rounds: medians of req/s, p50 and p95, errors summed, the ratio to the
    sequential client as the median of each round's own ratio (both measured minutes apart, side by side)."""
    rows = [run.summary() for run in runs]

    def median(key: str) -> float:
        return round(float(np.median([row[key] for row in rows])), 2)

    return {"clients": runs[0].clients, "rounds": len(runs), "ok": sum(r.ok for r in runs),
            "errors": sum(r.errors for r in runs), "req_per_s": median("req_per_s"), "p50_ms": median("p50_ms"),
            "p95_ms": median("p95_ms"), "req_per_s_each_round": [row["req_per_s"] for row in rows],
            "vs_sequential": round(float(np.median(ratios)), 2) if ratios else None,
            "first_error": next((r.first_error for r in runs if r.first_error), "")}


def run_level(url: str, clients: int, requests: int, deadline: float, image: Path) -> Level:
    """`requests` calls shared among `clients` threads, each with its own Client made before timing."""
    pool = [new_client(url) for _ in range(clients)]
    for client in pool:  # warm each session up: its first call pays for the session's creation
        try:
            call_predict(client, image)
        except Exception as exc:
            raise SystemExit(f"/predict failed before timing started ({type(exc).__name__}: {exc}); "
                             "check the app on its own first") from None
    level, lock, left = Level(clients), threading.Lock(), [requests]

    def worker(client) -> None:
        while time.monotonic() < deadline:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            start = time.perf_counter()
            try:
                call_predict(client, image)
                ok, error = True, ""
            except Exception as exc:  # counted and reported, the run goes on
                ok, error = False, f"{type(exc).__name__}: {exc}"[:200]
            elapsed = (time.perf_counter() - start) * 1e3
            with lock:
                if ok:
                    level.ok += 1
                    level.latencies_ms.append(elapsed)
                else:
                    level.errors += 1
                    level.first_error = level.first_error or error

    threads = [threading.Thread(target=worker, args=(client,), daemon=True) for client in pool]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + 120)
    level.wall_s = time.perf_counter() - start
    for client in pool:
        client.close()
    return level


def run_sessions(url: str, sessions: int, deadline: float, image: Path, pid: int | None, workers: int = 4) -> dict:
    """Server memory before and after `sessions` new sessions, each one Client making one call."""
    before, made, errors, lock = rss_mb(pid), [0], [0], threading.Lock()

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                if made[0] + errors[0] >= sessions:
                    return
                made[0] += 1
            try:
                client = new_client(url)
                call_predict(client, image)
                client.close()
            except Exception:
                with lock:
                    made[0] -= 1
                    errors[0] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + 120)
    time.sleep(1.0)  # let the last responses' buffers go
    after = rss_mb(pid)
    grown = _grown(before, after)
    return {"sessions": made[0], "errors": errors[0], "wall_s": round(time.perf_counter() - start, 1),
            "rss_before_mb": before, "rss_after_mb": after, "growth_mb": grown,
            "per_session_kb": round(grown * 1024 / made[0], 1) if grown is not None and made[0] else None}


# ----------------------------------------------------------------------------- hostile requests

def huge_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height that compresses to a few kB: decoded as RGBA it would be 4*w*h bytes."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def canvas_component_id(url: str) -> int:
    with urllib.request.urlopen(f"{url}/config", timeout=30) as response:
        config = json.load(response)
    return next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "canvas")


def run_attacks(url: str, pid: int | None, workdir: Path) -> dict:
    """Time and server memory of two hostile requests, one at a time on an otherwise idle server.

    - a 64-megapixel drawing (a 8000x8000 PNG of ~8 kB) sent to /predict_sketch: refused from its header?
    - a 1 MB live call to the drawing canvas's server function: refused before it is read?
    """
    import httpx
    from gradio_client import handle_file


    huge = workdir / "huge.png"
    huge.write_bytes(huge_png(8000, 8000))
    client = new_client(url)
    call_predict(client, EXAMPLE)  # the session exists before measuring
    before, start = rss_mb(pid), time.perf_counter()
    try:
        client.predict(handle_file(str(huge)), api_name="/predict_sketch")
        refused = "not refused"
    except Exception as exc:  # the refusal comes back as gradio_client's AppError with the message
        refused = str(exc)[:160]
    layer = {"seconds": round(time.perf_counter() - start, 2), "message": refused,
             "growth_mb": _grown(before, rss_mb(pid))}
    client.close()

    body = {"component_id": canvas_component_id(url), "session_hash": "bench-attacker", "fn_name": "live",
            "data": {"ink": "data:image/png;base64," + "A" * (1 << 20), "seq": 1}}
    before = rss_mb(pid)
    response = httpx.post(f"{url}/gradio_api/component_server/", json=body, timeout=60, verify=shared_ssl_context())
    live = {"status": response.status_code, "growth_mb": _grown(before, rss_mb(pid))}
    return {"layer_64mp": layer, "live_1mb": live}


def _grown(before: float | None, after: float | None) -> float | None:
    return round(after - before, 1) if before is not None and after is not None else None


# ----------------------------------------------------------------------------- report

def print_levels(levels: list[dict]) -> None:
    print(f"{'clients':>7} {'ok':>5} {'errors':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'vs 1':>6}  req/s per round")
    for row in levels:
        ratio = "" if row["vs_sequential"] is None else f"{row['vs_sequential']:.2f}×"
        each = ", ".join(f"{r:.2f}" for r in row["req_per_s_each_round"])
        print(f"{row['clients']:>7} {row['ok']:>5} {row['errors']:>6} {row['req_per_s']:>7.2f} "
              f"{row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f} {ratio:>6}  {each}")
        if row["first_error"]:
            print(f"        first error: {row['first_error']}")


def print_report(results: dict) -> None:
    print(f"server: {results['url']}  ({results['cpu_count']} CPUs; image {results['image']})")
    print(f"medians over {results['levels'][0]['rounds'] if results['levels'] else 0} rounds "
          f"of {results['requests_per_level']} requests per level")
    print_levels(results["levels"])
    baseline = results.get("baseline")
    if baseline:
        print("minimal Gradio app on the same machine (tools/minimal_app.py: one Image in, one Label out, "
              "the same upload), its levels run alternately with the app's:")
        print_levels(baseline["levels"])
        for clients, ratio in baseline["app_vs_minimal"].items():
            print(f"app ÷ minimal at {clients} client(s): {ratio:.2f} (median of each round's ratio)")
    sessions = results.get("sessions")
    if sessions:
        if sessions["growth_mb"] is None:
            print(f"sessions: {sessions['sessions']} made, {sessions['errors']} errors "
                  "(server memory unknown: use --launch or --pid)")
        else:
            print(f"sessions: {sessions['sessions']} new sessions ({sessions['errors']} errors) in "
                  f"{sessions['wall_s']} s: server RSS {sessions['rss_before_mb']:.0f} → "
                  f"{sessions['rss_after_mb']:.0f} MB, +{sessions['growth_mb']:.0f} MB "
                  f"({sessions['per_session_kb']:.0f} KB per session)")
    attacks = results.get("attacks")
    if attacks:
        layer, live = attacks["layer_64mp"], attacks["live_1mb"]
        print(f"64 MP drawing: answered in {layer['seconds']} s, server RSS {layer['growth_mb']:+} MB: "
              f"{layer['message']}")
        print(f"1 MB live canvas call: HTTP {live['status']}, server RSS {live['growth_mb']:+} MB")
    if results["stopped_by_time_limit"]:
        print("stopped early: the time limit was reached; the figures cover what ran")


def main() -> None:
    parser = argparse.ArgumentParser(description="Throughput under concurrent clients and memory per session, "
                                                 "against a loopback server.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--launch", action="store_true", help="start `python app.py` on a free 127.0.0.1 port")
    where.add_argument("--url", help="an already running app on this machine, e.g. http://127.0.0.1:7860")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id, to read its memory")
    parser.add_argument("--levels", default="1,8,16", help="concurrent clients per level; the first is the baseline")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per level and round")
    parser.add_argument("--rounds", type=int, default=3,
                        help="times every level runs, side by side; figures are medians (this box is noisy)")
    parser.add_argument("--sessions", type=int, default=300, help="new sessions for the memory measurement (0: skip)")
    parser.add_argument("--baseline", action="store_true",
                        help="also launch tools/minimal_app.py and run the same levels against it, alternately")
    parser.add_argument("--no-attacks", action="store_true",
                        help="skip the two hostile requests (64 MP sketch layer, huge accept_blobs index)")
    parser.add_argument("--time-limit", type=float, default=900, help="seconds for the whole run; stops early after")
    parser.add_argument("--startup-timeout", type=float, default=300,
                        help="with --launch: seconds to wait for the app to answer (not part of --time-limit)")
    parser.add_argument("--image", type=Path, default=EXAMPLE, help="the photo every request uploads")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()

    server, pid, minimal = None, args.pid, None
    if args.launch:
        server, url = launch(args.startup_timeout)
        pid = server.pid
    else:
        url = loopback_url(args.url)
    deadline = time.monotonic() + args.time_limit
    try:
        targets = {"app": url}
        if args.baseline:
            minimal, targets["minimal"] = launch(args.startup_timeout, MINIMAL_APP)
        clients_per_level = [int(c) for c in args.levels.split(",")]
        runs = {target: {clients: [] for clients in clients_per_level} for target in targets}
        ratios = {target: {clients: [] for clients in clients_per_level} for target in targets}
        versus = {clients: [] for clients in clients_per_level}  # app / minimal, per round
        for _ in range(args.rounds):  # levels (and servers) side by side in each round; medians over rounds
            first = dict.fromkeys(targets)
            for clients in clients_per_level:
                measured = {}
                for target, address in targets.items():
                    if time.monotonic() >= deadline:
                        break
                    level = measured[target] = run_level(address, clients, args.requests, deadline, args.image)
                    runs[target][clients].append(level)
                    first[target] = first[target] or level.req_per_s or None  # the first level is the baseline
                    if first[target]:
                        ratios[target][clients].append(level.req_per_s / first[target])
                if len(measured) == 2 and measured["minimal"].req_per_s:
                    versus[clients].append(measured["app"].req_per_s / measured["minimal"].req_per_s)
        levels = [combine(found, ratios["app"][clients]) for clients, found in runs["app"].items() if found]
        baseline = None if not args.baseline else {
            "levels": [combine(found, ratios["minimal"][clients]) for clients, found in runs["minimal"].items() if found],
            "app_vs_minimal": {clients: round(float(np.median(found)), 2) for clients, found in versus.items() if found},
        }
        sessions = (run_sessions(url, args.sessions, deadline, args.image, pid)
                    if args.sessions and time.monotonic() < deadline else None)
        if not args.no_attacks:
            with tempfile.TemporaryDirectory() as workdir:
                attacks = run_attacks(url, pid, Path(workdir))
        else:
            attacks = None
    finally:
        for running in (server, minimal):
            if running is not None:
                stop(running)
    results = {"url": url, "cpu_count": os.cpu_count(), "image": args.image.name, "requests_per_level": args.requests,
               "levels": levels, "baseline": baseline, "sessions": sessions, "attacks": attacks,
               "stopped_by_time_limit": time.monotonic() >= deadline}
    print_report(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
