"""Gradio components for a public Space: what the app uses instead of gr.Image.

gr.Image decodes an upload with PIL before app code runs (any format Pillow knows, up to its limit);
`UploadImage` hands the file to nin.serve.decode, which checks it from its header first. `PngImage` writes the
app's own pictures fast. This module holds no request logic: preprocessing and the model live in
nin.serve.preprocess and nin.serve.pipeline. (The drawing canvas is nin/ui/canvas.py, a gr.HTML.)
"""

from __future__ import annotations

import io

import gradio as gr
import numpy as np
import PIL.Image
from gradio import processing_utils
from gradio.data_classes import ImageData


class UploadImage(gr.Image):
    """gr.Image that hands the raw uploaded file to our own decoder.

    gr.Image opens the file with PIL before our function runs, so a truncated or non-image upload would
    fail inside Gradio with a bare "Error". Passing the path through lets nin.serve.decode.load_image turn
    every bad file into a message the user can act on.
    """

    is_template = True  # render with gr.Image's own frontend, not as a custom component

    def preprocess(self, payload):
        if payload is None or getattr(payload, "path", None) is None:
            return super().preprocess(payload)
        return str(payload.path)


class PngImage(gr.Image):
    """gr.Image for pictures the app draws: arrays are written as fast lossless PNGs.

    gr.Image encodes an array output with zlib level 6 and a metadata chunk; for the three pictures of
    every prediction that was ~13% of the server's CPU per request. Level 1 costs about a third as much
    and the files are a few per cent larger. Greyscale arrays stay one channel. Anything else (paths,
    PIL images, None) goes through gr.Image unchanged.
    """

    is_template = True  # render with gr.Image's own frontend, not as a custom component

    def postprocess(self, value):
        if not isinstance(value, np.ndarray):
            return super().postprocess(value)
        buffer = io.BytesIO()
        PIL.Image.fromarray(np.ascontiguousarray(value, dtype=np.uint8)).save(buffer, format="PNG", compress_level=1)
        path = processing_utils.save_bytes_to_cache(buffer.getvalue(), "image.png", self.GRADIO_CACHE)
        return ImageData(path=path, orig_name="image.png")
