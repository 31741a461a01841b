"""`python -m nin.dev.bench_classroom`: a class drawing on one server, measured on this machine.

Launches `python app.py` on a free loopback port, then:

1. **The model's own ceiling**, in this process with no server running, before and after the crowds: the fp32
   forward pass alone (channels_last, every core as intra-op threads, batches of 8, 16 and 32; the best of
   all), and the live path's pass (nin.serve.live_batch: its precision, one thread) for comparison. A noisy
   machine measures a ceiling too low, never too high: the best is the fairest bar.
2. **N canvases drawing at once**, for N = 1, 8, 16 and 32: N simulated pages, each doing what
   static/canvas.js does while the pen moves. One live call in flight; the next leaves `wait_ms` (at least
   100 ms) after the last one left, or when it is answered if later; after a `retry_ms` the page waits and
   sends again, showing nothing. Each page cycles through the 30 outline drawings of tests/data/outline_drawings
   as the canvas sends them (140 px PNG). After a warm-up, for `--seconds` it counts per page the answers a
   second (median and minimum), the latency (p50, p95), the calls turned away (`retry_ms`, which the page does
   not show) and the refusals it would show (`error`).
   - While 16 draw, one more page lifts its pen every 2 s: its full explanation (the queued `drawn` event) is timed.
   - While 32 draw, another client sends /predict every 2 s: its seconds are timed.
3. The table, and the ratio of the answers a second at 32 canvases to the model's fp32 ceiling.

The simulated pages run in this process (asyncio, one keep-alive connection each) on the same CPU as the
server, as a class's would not: the figures are a little worse than a real class would see. A dev tool, not part of the app; nothing
here fails on slow figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import statistics
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from nin.ui.canvas import MIN_INTERVAL_MS

ROOT = Path(__file__).resolve().parents[2]
OUTLINES = ROOT / "tests" / "data" / "outline_drawings"
CROWDS = (1, 8, 16, 32)
MIN_INTERVAL_S = MIN_INTERVAL_MS / 1e3  # the page's own floor


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def canvas_inks() -> list[str]:
    """The 30 outline drawings as the canvas sends them: white strokes on transparent, 140 px PNG data URLs."""
    from PIL import Image

    from nin.names import EXPORT_SIDE

    inks = []
    for path in sorted(OUTLINES.glob("*.png")):
        alpha = Image.open(path).convert("L").resize((EXPORT_SIDE, EXPORT_SIDE), Image.Resampling.BOX)
        image = Image.new("RGBA", alpha.size, (255, 255, 255, 0))
        image.putalpha(alpha)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        inks.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
    return inks


# ----------------------------------------------------------------------------- 1. the model's ceiling

def model_ceiling(seconds: float = 2.0) -> dict:
    """Images a second of the forward pass alone: fp32 with every core (best of batches 8/16/32), and the live
    path's own pass (its precision, one thread, batch 16)."""
    import torch

    from nin.serve.live_batch import answers_of, live_model, live_precision
    from nin.serve.pipeline import Pipeline, cpu_count

    pipeline = Pipeline()
    loaded = pipeline.model(None)
    images = list(pipeline.example_inputs().values())

    def rate(model, batch: int) -> float:
        chunk = [images[i % len(images)] for i in range(batch)]
        answers_of(model, chunk, loaded.preprocessing)  # warm-up
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            answers_of(model, chunk, loaded.preprocessing)
            done += batch
        return done / (time.perf_counter() - start)

    threads = torch.get_num_threads()
    torch.set_num_threads(cpu_count())
    fp32 = live_model(loaded.model, "fp32")
    by_batch = {batch: rate(fp32, batch) for batch in (8, 16, 32)}
    torch.set_num_threads(1)
    precision = live_precision()
    live = rate(live_model(loaded.model, precision), 16)
    torch.set_num_threads(threads)
    return {"fp32_by_batch": {b: round(r, 1) for b, r in by_batch.items()}, "fp32_ceiling": round(max(by_batch.values()), 1),
            "threads": cpu_count(), "live_precision": precision, "live_pass_one_thread": round(live, 1)}


# ----------------------------------------------------------------------------- 2. N pages drawing

class Connection:
    """One keep-alive HTTP/1.1 connection, posting JSON: as lean as a client can be, because the simulated pages
    share the 2 cores with the server they measure (a class's browsers would not)."""

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.reader = self.writer = None

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        data = json.dumps(body, separators=(",", ":")).encode()
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json"
                          f"\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            close |= name.lower() == "connection" and "close" in value.lower()
        payload = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, json.loads(payload) if status == 200 else {}

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def page(url: str, component: int, session: str, inks: list[str], offset: int, until: float,
               counting_from: float, log: dict) -> None:
    """One page drawing: the live calls static/canvas.js makes while the pen moves."""
    seq, gap, sent = 0, MIN_INTERVAL_S, -1e9
    connection = Connection(url)
    while True:
        now = time.monotonic()
        start_at = max(now, sent + gap)
        if start_at >= until:
            break
        await asyncio.sleep(start_at - now)
        seq += 1
        body = {"component_id": component, "fn_name": "live", "session_hash": session,
                "data": {"ink": inks[(offset + seq) % len(inks)], "seq": seq}}
        sent = time.monotonic()
        try:
            status, answer = await connection.post("/gradio_api/component_server/", body)
            answer = answer if status == 200 else {"error": f"HTTP {status}"}
        except Exception as exc:  # noqa: BLE001 - counted as a refusal the page would show
            await connection.close()
            answer = {"error": type(exc).__name__}
        took = time.monotonic() - sent
        counting = sent >= counting_from
        if "retry_ms" in answer:
            gap = max(MIN_INTERVAL_S, answer["retry_ms"] / 1e3)
            log["deferred"] += counting
        elif "error" in answer:
            log["shown_refusals"] += counting
            log["errors"].append(answer["error"])
        else:
            gap = max(MIN_INTERVAL_S, answer.get("wait_ms", 100) / 1e3)
            if counting:
                log["latency"].append(took)
                log["answers"][session] = log["answers"].get(session, 0) + 1
                log["batch"].append(answer.get("batch", 1))
                log["wait_ms"].append(answer.get("wait_ms", 100))
    await connection.close()


async def crowd(url: str, component: int, sessions: list[str], inks: list[str], warm_up: float, seconds: float) -> dict:
    log = {"latency": [], "answers": {s: 0 for s in sessions}, "deferred": 0, "shown_refusals": 0, "errors": [],
           "batch": [], "wait_ms": []}
    start = time.monotonic()
    await asyncio.gather(*(page(url, component, session, inks, 7 * i, start + warm_up + seconds, start + warm_up, log)
                           for i, session in enumerate(sessions)))
    per_page = [n / seconds for n in log["answers"].values()]
    latency_ms = [t * 1e3 for t in log["latency"]]
    return {"canvases": len(sessions), "answers_per_s_each_median": round(statistics.median(per_page), 2),
            "answers_per_s_each_min": round(min(per_page), 2), "answers_per_s_total": round(sum(per_page), 1),
            "latency_ms_p50": round(percentile(latency_ms, 50)), "latency_ms_p95": round(percentile(latency_ms, 95)),
            "turned_away_not_shown": log["deferred"], "refusals_shown": log["shown_refusals"],
            "errors": sorted(set(log["errors"]))[:5], "batch_median": statistics.median(log["batch"] or [0]),
            "wait_ms_median": statistics.median(log["wait_ms"] or [0])}


def beside(raw, kind: str, inks: list[str], stop: threading.Event, out: list[float]) -> None:
    """While a crowd draws: every 2 s one more request, timed: a page's full explanation after its pen lifts
    ("drawn"), or another client's /predict."""
    from nin.dev.attack.requests import EXAMPLE, new_session

    session = raw.open_session(new_session())
    image = raw.upload(EXAMPLE)
    settings = ["Predicted class", "Top 16 channels by mean"]
    seq = 0
    while not stop.wait(2.0):
        seq += 1
        if kind == "drawn":
            answer = raw.call("drawn", [None, *settings], session, event_data={"ink": inks[seq % len(inks)], "seq": seq},
                              trigger="canvas")
        else:
            answer = raw.call("predict", [image, None, *settings], session)
        out.append(answer.seconds if answer.success else float("inf"))


def run_crowd(raw, url: str, n: int, inks: list[str], warm_up: float, seconds: float, side: str | None) -> dict:
    from nin.dev.attack.requests import new_session

    sessions = [raw.open_session(new_session()) for _ in range(n)]
    stop, timed = threading.Event(), []
    thread = threading.Thread(target=beside, args=(raw, side, inks, stop, timed)) if side else None
    if thread:
        thread.start()
    result = asyncio.run(crowd(url, raw.components["canvas"], sessions, inks, warm_up, seconds))
    if thread:
        stop.set()
        thread.join()
        result[f"{side}_seconds"] = {"n": len(timed), "p50": round(percentile(timed, 50), 2),
                                     "p95": round(percentile(timed, 95), 2)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="A class drawing on one server: live answers per canvas, latency, "
                                                 "refusals, against the model's own ceiling.")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per crowd")
    parser.add_argument("--warm-up", type=float, default=3.0, help="seconds per crowd before measuring")
    parser.add_argument("--crowds", default=",".join(map(str, CROWDS)), help="canvas counts, e.g. 1,8,16,32")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--startup-timeout", type=float, default=300)
    args = parser.parse_args()
    from nin.dev.attack.requests import Raw
    from nin.dev.launcher import launch, stop

    inks = canvas_inks()
    before = model_ceiling()
    results = {"cpu": cpu_name(), "crowds": []}
    with tempfile.TemporaryDirectory() as workdir:
        server, url = launch(args.startup_timeout, log=Path(workdir) / "server.log")
        try:
            raw = Raw(url)
            raw.live(inks[0])  # first-call costs (the live model's copy) before anything is measured
            for n in (int(x) for x in args.crowds.split(",")):
                side = "drawn" if n == 16 else "predict" if n == 32 else None
                results["crowds"].append(run_crowd(raw, url, n, inks, args.warm_up, args.seconds, side))
                print(json.dumps(results["crowds"][-1]), flush=True)
            raw.close()
        finally:
            stop(server)
    results["load_average_1min"] = os.getloadavg()[0]
    results["ceiling"] = best_of(before, model_ceiling())
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def best_of(*ceilings: dict) -> dict:
    """The ceilings measured before and after, each figure the best of them."""
    best = dict(ceilings[0])
    best["fp32_by_batch"] = {b: max(c["fp32_by_batch"][b] for c in ceilings) for b in best["fp32_by_batch"]}
    best["fp32_ceiling"] = max(best["fp32_by_batch"].values())
    best["live_pass_one_thread"] = max(c["live_pass_one_thread"] for c in ceilings)
    return best


def cpu_name() -> str:
    try:
        name = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        name = "unknown CPU"
    from nin.serve.live_batch import native_bf16
    from nin.serve.pipeline import cpu_count

    return f"{name}, {cpu_count()} cores, native bf16: {native_bf16()}"


def print_table(results: dict) -> None:
    ceiling = results["ceiling"]
    print(f"\nCPU: {results['cpu']}")
    print(f"model alone, fp32, {ceiling['threads']} threads, channels_last: "
          + ", ".join(f"batch {b} {r} img/s" for b, r in ceiling["fp32_by_batch"].items())
          + f" -> ceiling {ceiling['fp32_ceiling']} img/s; the live pass ({ceiling['live_precision']}, 1 thread, "
            f"batch 16): {ceiling['live_pass_one_thread']} img/s")
    print("| canvases drawing | answers/s each (median / min) | all answers/s | × fp32 ceiling | p50 | p95 | "
          "turned away (not shown) | refusals shown | beside them |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in results["crowds"]:
        extra = ""
        for side, what in (("drawn", "full explanation"), ("predict", "/predict")):
            if f"{side}_seconds" in row:
                timed = row[f"{side}_seconds"]
                extra = f"{what}: p50 {timed['p50']} s, p95 {timed['p95']} s ({timed['n']})"
        print(f"| {row['canvases']} | {row['answers_per_s_each_median']} / {row['answers_per_s_each_min']} | "
              f"{row['answers_per_s_total']} | {row['answers_per_s_total'] / ceiling['fp32_ceiling']:.2f} | "
              f"{row['latency_ms_p50']} ms | {row['latency_ms_p95']} ms | {row['turned_away_not_shown']} | "
              f"{row['refusals_shown']} | {extra} |")
    print(f"load average (1 min) at the end: {results['load_average_1min']:.2f}")


if __name__ == "__main__":
    main()
