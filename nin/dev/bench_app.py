"""`python -m nin.bench_app`: how fast the app answers on this machine.

Reports p50/p95 of one full request (decode + preprocess + forward + every picture) and of its parts,
measured in-process on the shipped weights; the same request as a client sees it through a live server
(gradio_client: upload, queue, postprocess and response included); and the time from `python app.py` to
a page that answers. Requests alternate between photo examples and drawings so neither path is hidden.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import torch

from nin.dev.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def percentiles(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples)
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)), "n": len(values)}


def ink_from_png(path: Path) -> np.ndarray:
    """A drawing's ink as the canvas path takes it: the picture's brightness as uint8 [H, W]."""
    from PIL import Image

    return np.asarray(Image.open(path).convert("L"))


def in_process(requests: int, warmup: int) -> dict:
    from nin.render.view import render_view
    from nin.serve.pipeline import EXAMPLES_DIR, Pipeline

    pipeline = Pipeline()
    photos = sorted(EXAMPLES_DIR.glob("test*.png")) + sorted(EXAMPLES_DIR.glob("photo*.jpg"))
    drawings = [ink_from_png(p) for p in sorted(EXAMPLES_DIR.glob("drawing*.png"))]
    parts: dict[str, list[float]] = {}
    for i in range(warmup + requests):
        if i % 4 == 3:
            view = render_view(pipeline.from_ink(drawings[i % len(drawings)]))
        else:
            view = render_view(pipeline.from_photo(str(photos[i % len(photos)])))
        if i >= warmup:
            for name, ms in view.timings_ms.items():
                parts.setdefault(name, []).append(ms)
    # The "All channels" view draws every channel of every stage (about 1,100 maps): measured on its own.
    all_channels = [render_view(pipeline.from_photo(str(photos[i % len(photos)])), show_all=True).timings_ms["total"]
                    for i in range(max(10, requests // 5))]
    return ({name: percentiles(values) for name, values in parts.items()}
            | {"total (all channels)": percentiles(all_channels), "weights": pipeline.default_key})


def start_server(port: int, timeout: float = 120.0) -> tuple[subprocess.Popen, float]:
    """Run `python app.py` and return it with the seconds until its page and API answered."""
    env = os.environ | {"GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
                        "GRADIO_ANALYTICS_ENABLED": "False"}
    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/info", timeout=2) as response:
                if response.status == 200:
                    return server, time.perf_counter() - start
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"app.py did not answer within {timeout:.0f} s")


def through_server(requests: int, warmup: int) -> dict:
    from gradio_client import handle_file

    from nin.dev.bench_load import new_client  # one SSL context: the client's own cost stays out of the figure
    from nin.serve.pipeline import EXAMPLES_DIR

    port = free_port()
    server, ready_s = start_server(port)
    try:
        client = new_client(f"http://127.0.0.1:{port}")
        photos = sorted(EXAMPLES_DIR.glob("test*.png"))
        samples = []
        for i in range(warmup + requests):
            start = time.perf_counter()
            client.predict(handle_file(str(photos[i % len(photos)])), api_name="/predict")
            if i >= warmup:
                samples.append((time.perf_counter() - start) * 1e3)
        return {"startup_to_ready_s": ready_s, "round_trip_ms": percentiles(samples)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description="Latency of the app's request path on this machine.")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per measurement")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests first (allocator, caches)")
    parser.add_argument("--no-server", action="store_true", help="skip the live-server round trip and start-up")
    parser.add_argument("--out", help="also write the figures as JSON here")
    args = parser.parse_args()

    results = {"torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
               "in_process_ms": in_process(args.requests, args.warmup)}
    if not args.no_server:
        results |= through_server(args.requests, args.warmup)

    print(f"weights: {results['in_process_ms'].pop('weights')}  ({results['cpu_count']} CPUs, "
          f"{results['torch_threads']} torch threads)")
    for name, stats in results["in_process_ms"].items():
        print(f"  {name:<21} p50 {stats['p50']:7.1f} ms   p95 {stats['p95']:7.1f} ms   (n={stats['n']})")
    if "round_trip_ms" in results:
        rt = results["round_trip_ms"]
        print(f"  client round trip via gradio_client  p50 {rt['p50']:7.1f} ms   p95 {rt['p95']:7.1f} ms")
        print(f"  start-up to ready (python app.py → /gradio_api/info answers): {results['startup_to_ready_s']:.1f} s")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
