"""Gradio components for a public Space: what the app uses instead of gr.Image and gr.Sketchpad.

Gradio 6.31 decodes every file of an ImageEditor/Sketchpad value with PIL before app code runs (any format
Pillow knows, up to its limit), and its `accept_blobs` server function stores whatever a client sends,
under any id, at any layer index (`[None] * (index + 1)`), forever. Here each file is checked from its
header before anything is decoded, and the blob store is validated and bounded. This module holds no
request logic: preprocessing and the model live in nin.serve.preprocess and nin.serve.pipeline.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from types import SimpleNamespace

import gradio as gr
import numpy as np
import PIL.Image
from fastapi import HTTPException
from gradio.components.base import server
from gradio.components.image_editor import EditorDataBlobs
from gradio import processing_utils
from gradio.data_classes import FileData, ImageData

from nin.ui.limits import refuse
from nin.serve.decode import InputError, open_checked

SKETCH_FORMATS = {"PNG": "PNG", "WEBP": "WebP", "JPEG": "JPEG"}  # what a canvas export can be
BLOB_TYPES = ("background", "layer", "composite")                # accept_blobs' `type` values in 6.31


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


class SafeSketchpad(gr.Sketchpad):
    """gr.Sketchpad whose files are checked from their headers before Gradio decodes them.

    The browser exports the background, each layer and the composite at the canvas size (6.31 extracts
    them at resolution 1, whatever the screen's pixel ratio), as PNG. Anything else came from a script.
    """

    MAX_SIDE = 1024            # largest side accepted (the canvas itself, if larger); the app's canvas is 280
    MAX_LAYERS = 8             # the app shows one layer; the editor can add a few
    MAX_PENDING = 256          # accept_blobs uploads waiting for their event, across all sessions
    MAX_PENDING_BYTES = 64 << 20
    _blob_lock = threading.Lock()  # one per process: components may be copied, locks cannot be

    def get_block_name(self) -> str:
        # is_template (inherited from gr.Sketchpad) would name the frontend after the parent class,
        # "sketchpad", which has no frontend of its own: gr.Sketchpad itself renders as "imageeditor".
        return "imageeditor"

    def get_block_class(self) -> str:
        return "imageeditor"

    @property
    def max_side(self) -> int:
        return max(self.MAX_SIDE, *self.canvas_size)

    @property
    def max_blob_bytes(self) -> int:
        return 4 * self.max_side ** 2 + (64 << 10)  # an incompressible RGBA PNG of the largest canvas

    # ------------------------------------------------------------------------- the event's payload

    def preprocess(self, payload):
        if payload is None:
            return None
        if payload.id is not None:
            # Files sent earlier through accept_blobs. Taken out of the store before checking, so a
            # concurrent accept_blobs under the same id cannot swap a file between check and decode.
            with self._blob_lock:
                cached = self.blob_storage.pop(payload.id, None)
            if cached is None:
                return {"background": None, "layers": [], "composite": None}
            payload = SimpleNamespace(id=None, background=cached.background, layers=cached.layers,
                                      composite=cached.composite)
        self.check_files(payload.background, payload.layers or [], payload.composite)
        return super().preprocess(payload)

    def check_files(self, background, layers: list, composite) -> None:
        """Format, size and count of every file, from headers only; raise a user-facing gr.Error."""
        if len(layers) > self.MAX_LAYERS:
            raise refuse(f"This drawing has {len(layers)} layers; at most {self.MAX_LAYERS} are accepted.")
        files = [("background", background), *((f"layer {i + 1}", layer) for i, layer in enumerate(layers)),
                 ("composite", composite)]
        sizes = {role: self.header_size(role, file) for role, file in files if file is not None}
        if len(set(sizes.values())) > 1:
            listed = ", ".join(f"{role} {w}×{h}" for role, (w, h) in sizes.items())
            raise refuse(f"This drawing's layers differ in size ({listed}); they must all be the canvas size.")

    def header_size(self, role: str, file: FileData | bytes) -> tuple[int, int]:
        data = file if isinstance(file, (bytes, bytearray)) else getattr(file, "path", None)
        if data is None:
            raise refuse(f"This drawing's {role} is not a file.")
        try:
            with open_checked(data, SKETCH_FORMATS) as image:
                width, height = image.size
        except InputError as exc:
            raise refuse(f"This drawing's {role} was refused: {exc}") from None
        if max(width, height) > self.max_side:
            raise refuse(f"This drawing's {role} is {width}×{height} pixels; the canvas is "
                         f"{self.canvas_size[0]}×{self.canvas_size[1]} and at most "
                         f"{self.max_side}×{self.max_side} is accepted.")
        return width, height

    # ------------------------------------------------------------------------- the browser's uploads

    @server
    def accept_blobs(self, data):
        """Store one exported canvas file for a later event, after checking every field and its header.

        Replaces ImageEditor.accept_blobs, which trusts `index` (a list of index + 1 entries is allocated)
        and keeps every id forever. Refusals are HTTP 400/413 with a plain message and no traceback.
        """
        fields, files = getattr(data, "data", None), getattr(data, "files", None)
        if not isinstance(fields, dict) or not isinstance(files, list) or len(files) != 1:
            raise HTTPException(400, "accept_blobs takes one file and the fields type, index and id.")
        kind, index, blob_id = fields.get("type"), fields.get("index"), fields.get("id")
        if kind not in BLOB_TYPES:
            raise HTTPException(400, f"type must be one of {', '.join(BLOB_TYPES)}.")
        if not isinstance(blob_id, str) or not 0 < len(blob_id) <= 64:
            raise HTTPException(400, "id must be a string of 1 to 64 characters.")
        if kind == "layer":
            text = str(index)
            if not (text.isdigit() and int(text) < self.MAX_LAYERS):
                raise HTTPException(400, f"index must be a layer number from 0 to {self.MAX_LAYERS - 1}.")
            index = int(text)
        elif index not in (None, "", "null"):
            raise HTTPException(400, "index is only for layers.")
        blob = files[0][1]
        if not isinstance(blob, (bytes, bytearray)) or len(blob) > self.max_blob_bytes:
            raise HTTPException(413, f"A canvas file is at most {self.max_blob_bytes} bytes.")
        try:
            self.header_size(kind, bytes(blob))
        except gr.Error as exc:
            raise HTTPException(400, exc.message) from None
        self.store_blob(blob_id, kind, index, bytes(blob))

    def store_blob(self, blob_id: str, kind: str, index: int | None, blob: bytes) -> None:
        with self._blob_lock:
            store = self.blob_storage
            if not isinstance(store, OrderedDict):  # oldest first, for eviction
                store = self.blob_storage = OrderedDict(store)
            entry = store.pop(blob_id, None) or EditorDataBlobs(background=None, layers=[], composite=None)
            if kind == "layer":
                entry.layers.extend([None] * (index + 1 - len(entry.layers)))
                entry.layers[index] = blob
            else:
                setattr(entry, kind, blob)
            store[blob_id] = entry
            # Events normally take their entry within a second; entries whose event never came (a dropped
            # "always_last" change, a closed tab, a script) go oldest first once the store is full.
            while len(store) > self.MAX_PENDING or (len(store) > 1 and pending_bytes(store) > self.MAX_PENDING_BYTES):
                store.popitem(last=False)


def pending_bytes(store: dict) -> int:
    return sum(len(b or b"") for e in store.values() for b in (e.background, e.composite, *e.layers))

