"""The app as a subprocess on a free loopback port, for the developer tools that measure it (bench_load,
bench_canvas, attack, screenshots, a11y): start it, wait until it answers, read its memory, stop it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from nin.dev.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None


def launch(timeout: float, script: Path | str = "app.py", log: Path | None = None) -> tuple[subprocess.Popen, str]:
    """`python app.py` (or `script`) on a free loopback port, analytics off; returns it once /gradio_api/info
    answers. Its output goes to `log` when given (the attack tool counts the bytes), else nowhere."""
    port = free_port()
    env = os.environ | {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                        "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1"}
    output = open(log, "wb") if log is not None else subprocess.DEVNULL
    try:
        server = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env=env, stdout=output,
                                  stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL)
    finally:
        if log is not None:
            output.close()
    url, start = f"http://127.0.0.1:{port}", time.monotonic()
    while time.monotonic() - start < timeout:
        if server.poll() is not None:
            raise RuntimeError(f"{script} exited with code {server.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}/gradio_api/info", timeout=2) as response:
                if response.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise RuntimeError(f"{script} did not answer within {timeout:.0f} s")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def loopback_url(url: str) -> str:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"--url must point at this machine (127.0.0.1, localhost or ::1), not {host!r}")
    return url.rstrip("/")
