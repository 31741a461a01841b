"""What Hugging Face Spaces needs: front matter it can parse, a start with no network, and `gradio app.py`.

Each test starts the real app in a child process (as Spaces and a developer would), on a free loopback port.
"""

import os
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import require
from nin.dev.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
START_S = 120  # importing torch + gradio and loading the weights on a busy 2-core machine


def test_readme_front_matter_parses_as_a_space_card():
    import gradio
    from huggingface_hub import SpaceCard

    card = SpaceCard.load(ROOT / "README.md")
    assert card.data.sdk == "gradio" and card.data.app_file == "app.py"
    assert card.data.sdk_version == gradio.__version__  # the Space runs the Gradio version the tests ran
    assert str(card.data.python_version) == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert card.data.title and card.data.license


NO_NETWORK_SCRIPT = """
import os, socket, urllib.request
# Inside a fresh network namespace: only a loopback device, and it starts down.
os.system("ip link set lo up 2>/dev/null || true")
try:
    socket.create_connection(("1.1.1.1", 443), timeout=3)
    raise SystemExit("the namespace has a network; this test would prove nothing")
except OSError:
    pass
import app
app.demo.launch(server_name="127.0.0.1", server_port={port}, prevent_thread_lock=True, quiet=True, ssr_mode=False,
                css=app.CSS)
page = urllib.request.urlopen("http://127.0.0.1:{port}/", timeout=30).read().decode()
assert "NiN Explorer" in page, page[:500]
app.demo.close()
print("served with no network")
"""


@pytest.mark.slow
def test_app_starts_and_serves_with_no_network(tmp_path):
    unshare = shutil.which("unshare")
    require(unshare is not None, "unshare (util-linux) not found")
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True)
    require(probe.returncode == 0, f"cannot make a network namespace here: {probe.stderr.decode()[-200:]}")
    script = tmp_path / "offline.py"
    script.write_text(textwrap.dedent(NO_NETWORK_SCRIPT.replace("{port}", str(free_port()))))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([unshare, "-n", sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=START_S + 60)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "served with no network" in proc.stdout


@pytest.mark.slow
def test_gradio_reload_mode_serves_the_app():
    gradio_cli = shutil.which("gradio") or str(Path(sys.executable).with_name("gradio"))
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([gradio_cli, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, page = time.monotonic() + START_S, ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(1)
        assert "NiN Explorer" in page, f"not served within {START_S} s (exit {proc.poll()})"
    finally:
        os.killpg(proc.pid, 15)
        try:
            out = proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            out = proc.communicate()[0]
    assert "Traceback" not in out, out[-3000:]
