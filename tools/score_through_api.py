"""`python -m tools.score_through_api [--n 300]` (from the repository root, which puts nin on the path): official test images sent raw through the app's /predict.

Launches the app in-process on a free port, uploads the first N official test images (28x28 PNGs, as a user
would upload them) through gradio_client and compares the top label with the true class: the accuracy a
user meets, through preprocessing, the server and the shipped default weights. Prints accuracy, per-class
hits and which classes were ever predicted. A developer tool: nothing imports it.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="how many official test images (the first N)")
    args = parser.parse_args()

    import app
    from gradio_client import Client, handle_file

    from nin.data import load_fashion_mnist
    from nin.dev.ports import free_port
    from nin.model import CLASS_NAMES
    from nin.ui.tabs import PREDICTED, SHOW_TOP

    data = load_fashion_mnist(download=False)
    app.demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                    **app.LAUNCH)
    try:
        client = Client(app.demo.local_url, download_files=False, verbose=False, analytics_enabled=False)
        hits, predicted, per_class = 0, Counter(), Counter()
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.n):
                path = Path(tmp) / f"test{i:05d}.png"
                Image.fromarray(data.test_images[i].numpy()).save(path)
                result = client.predict(handle_file(str(path)), app.pipeline.default_key, PREDICTED,
                                        SHOW_TOP, api_name="/predict")
                top = result[0]["label"]
                truth = CLASS_NAMES[int(data.test_labels[i])]
                predicted[top] += 1
                hits += top == truth
                per_class[truth] += top == truth
        print(f"{hits}/{args.n} = {hits / args.n:.3f} right through /predict with {app.pipeline.default_key}")
        print("classes predicted:", ", ".join(f"{c} {predicted[c]}" for c in CLASS_NAMES))
        print("never predicted:", [c for c in CLASS_NAMES if not predicted[c]] or "none")
    finally:
        app.demo.close()


if __name__ == "__main__":
    main()
