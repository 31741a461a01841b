"""`python -m nin.dev.bench_canvas`: how fast the drawing canvas answers, measured on this machine.

Launches `python app.py` on a free loopback port and measures, printing medians and 95th percentiles:

1. **Server CPU per live call** (in this process, no server): the CPU time of nin.serve.live.live on a 140 px
   trouser outline, preprocessing and the batched forward pass alone in its batch, one torch thread and the
   live precision (as the app runs it).
2. **A 3-second mouse stroke in headless Chromium** (Debian's /usr/bin/chromium through Playwright): for each
   pointer move, the time until the bars and class maps show an answer that includes it; live answers per second
   while the pen is down; and the time from pen-up to the full explanation on the page (the status line).
Many canvases drawing at once (a class) are measured by `python -m nin.dev.bench_classroom`.

Figures vary with the machine's load; the README records a run with its command. A dev tool, not part of the
app; nothing here fails on slow figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHAPE = [(0.3, 0.2), (0.7, 0.2), (0.8, 0.45), (0.7, 0.85), (0.3, 0.85), (0.2, 0.45), (0.3, 0.2)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1)}


# ----------------------------------------------------------------------------- 1. server CPU

def server_cpu(calls: int = 40) -> dict:
    import torch

    from nin.serve.live import decode_ink, live
    from nin.serve.live_batch import LiveBatcher
    from nin.serve.pipeline import Pipeline
    from nin.dev.attack.requests import drawing_ink

    torch.set_num_threads(1)
    pipeline, ink = Pipeline(), decode_ink(drawing_ink())
    batcher = LiveBatcher(pipeline)  # the server's own pass: its precision, its thread
    live(pipeline, ink, batcher=batcher)  # warm-up
    cpu = []
    for _ in range(calls):
        start = time.process_time()  # this thread and the batcher's, nothing else runs
        live(pipeline, ink, batcher=batcher)
        cpu.append((time.process_time() - start) * 1e3)
    return {"cpu_ms": summary(cpu), "ink_chars": len(drawing_ink()), "precision": batcher.precision}


# ----------------------------------------------------------------------------- 2. one stroke in Chromium

def browser_stroke(url: str, seconds: float = 3.0) -> dict:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        expect(page.locator("#status")).to_contain_text("Ready", timeout=60_000)
        box = page.locator("#canvas .nin-cv-ink").bounding_box()
        xy = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in SHAPE]
        # Warm-up stroke (first-call costs), then Clear.
        page.mouse.move(*xy[0])
        page.mouse.down()
        page.mouse.move(*xy[1], steps=5)
        page.mouse.up()
        # The full result has arrived (the Prediction box itself stays hidden while the Draw tab is open).
        expect(page.locator("#prediction [data-testid='label-output-value']")).to_have_count(1, timeout=60_000)
        page.get_by_role("button", name="Clear").click()
        expect(page.locator("#prediction [data-testid='label-output-value']")).to_have_count(0, timeout=30_000)
        page.evaluate("""() => { window.benchStatus = [];
          const s = document.getElementById('status');
          new MutationObserver(() => window.benchStatus.push([performance.now(), s.textContent]))
            .observe(s, {subtree: true, childList: true, characterData: true}); }""")
        down = page.evaluate("performance.now()")
        page.mouse.move(*xy[0])
        page.mouse.down()
        per_segment = seconds / (len(xy) - 1)
        for (x0, y0), (x1, y1) in zip(xy, xy[1:]):
            start, done = time.monotonic(), 0.0
            while done < 1:
                done = min(1.0, (time.monotonic() - start) / per_segment)
                page.mouse.move(x0 + (x1 - x0) * done, y0 + (y1 - y0) * done)
                page.wait_for_timeout(16)
        up = page.evaluate("performance.now()")
        page.mouse.up()
        page.wait_for_function("up => (window.benchStatus || []).some(([t, text]) => t > up && text.includes('%'))",
                               arg=up, timeout=30_000)
        full = page.evaluate("up => window.benchStatus.find(([t, text]) => t > up && text.includes('%'))[0]", up)
        stats = page.locator("#canvas .nin-cv").evaluate("e => e.ninStats")
        browser.close()
    moves = [t for t in stats["moves"] if down <= t <= up]
    answers = [a for a in stats["answers"] if a[0] >= down]
    latency = []
    for move in moves:  # the first answer whose request left after this move shows it
        shown = next((a[1] for a in answers if a[0] >= move), None)
        if shown is not None:
            latency.append(shown - move)
    during = [a for a in answers if a[1] <= up]
    return {"move_to_shown_ms": summary(latency), "pointer_moves": len(moves),
            "updates_per_s": round(len(during) / ((up - down) / 1e3), 1),
            "round_trip_ms": summary([a[1] - a[0] for a in answers]),
            "server_ms_reported": summary([a[2] for a in answers]),
            "pen_up_to_full_result_ms": round(full - up), "ink_chars": summary(stats["inkChars"])}


def main() -> None:
    parser = argparse.ArgumentParser(description="The drawing canvas's latency, measured on this machine.")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--startup-timeout", type=float, default=300)
    args = parser.parse_args()
    from nin.dev.launcher import launch, stop

    results = {"server_cpu": server_cpu()}
    with tempfile.TemporaryDirectory() as workdir:
        server, url = launch(args.startup_timeout, log=Path(workdir) / "server.log")
        try:
            results["browser_stroke"] = browser_stroke(url)
        finally:
            stop(server)
    import os

    results["load_average_1min"] = os.getloadavg()[0]
    cpu, stroke = results["server_cpu"], results["browser_stroke"]
    print(f"server CPU per live call: p50 {cpu['cpu_ms']['p50']} ms, p95 {cpu['cpu_ms']['p95']} ms "
          f"({cpu['cpu_ms']['n']} calls, ink {cpu['ink_chars']} characters, {cpu['precision']})")
    print(f"3 s mouse stroke in Chromium: pointer move -> bars and class maps p50 {stroke['move_to_shown_ms']['p50']} ms, "
          f"p95 {stroke['move_to_shown_ms']['p95']} ms over {stroke['move_to_shown_ms']['n']} moves; "
          f"{stroke['updates_per_s']} updates/s; round trip p50 {stroke['round_trip_ms']['p50']} ms; "
          f"ink p50 {stroke['ink_chars']['p50']:.0f} characters")
    print(f"pen-up -> full explanation on the page: {stroke['pen_up_to_full_result_ms']} ms")
    print(f"load average (1 min) at the end: {results['load_average_1min']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
