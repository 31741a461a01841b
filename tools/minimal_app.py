"""The framework's own ceiling for `python -m nin.bench_load --baseline`: a minimal Gradio app.

One Image in (the same upload as the app's /predict), one Label out, a handler that does no work. The
queue is set up as the app's (same bound, same concurrency) and Gradio's monitoring summary is amortised
the same way, so what is left between the two is the app's own work: preprocessing, the network, the
pictures, its middleware and checks. Run it on its own with `python tools/minimal_app.py`.
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")  # as app.py
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")

import gradio as gr  # noqa: E402

QUEUE_SIZE, WORKERS = 64, 2  # app.py's QUEUE_SIZE and MODEL_WORKERS on a 2-core machine


def predict(image: str | None) -> dict[str, float]:
    """A fixed label: the request's cost is Gradio's alone (upload, queue, pre/postprocessing, the stream)."""
    return {"T-shirt/top": 0.9, "Shirt": 0.1}


with gr.Blocks(title="minimal") as demo:
    image = gr.Image(type="filepath", label="image")
    label = gr.Label(num_top_classes=3, label="label")
    image.change(predict, image, label, api_name="predict", concurrency_limit=WORKERS)

demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=WORKERS)

if __name__ == "__main__":
    demo.launch(ssr_mode=False, max_file_size="10mb")
