"""The drawing canvas's request path: a drawing's ink -> the numbers the page draws while the pen moves.

The canvas (nin/ui/canvas.py) sends its ink as a small PNG (white strokes on transparent, at most
`INK_SIDE` px); `decode_ink` checks and decodes it, `live` runs the app's one drawing path on it
(nin.serve.preprocess.preprocess_ink: outline fill -> trim/fit/centre to 28x28, what training's drawings go
through too) and the network up to its class maps (nin.serve.live_batch: the server batches the live calls
of pages drawing at once), and keeps only what the canvas redraws at every answer: the ten probabilities,
block4's ten 5x5 class maps with their means (the logits), and the 28x28 image. Numbers only: nothing here
draws HTML or pictures, and the bounds on who may call it (payload size, calls in flight, pacing) are nin.ui's. `ink_from_image` reads a
drawing sent as an ordinary image file, for API callers.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass

import numpy as np

from nin.names import CANVAS_SIDE
from nin.serve.decode import InputError, load_image, open_checked
from nin.serve.live_batch import BatchAnswer, LiveBatcher, answers_of
from nin.serve.pipeline import Pipeline
from nin.serve.preprocess import border_level

INK_SIDE = CANVAS_SIDE  # px: the largest ink the canvas may send (it sends EXPORT_SIDE, where outlines are filled)
INK_FORMATS = {"PNG": "PNG"}
DATA_URL_PREFIX = "data:image/png;base64,"


@dataclass(frozen=True)
class LiveAnswer:
    """What the canvas redraws at each answer, as plain numbers."""

    probs: np.ndarray       # float32 [10]
    logits: np.ndarray      # float32 [10]: each class map's mean (global average pooling)
    class_maps: np.ndarray  # float32 [10, 5, 5]: block4's output
    image: np.ndarray       # uint8 [28, 28]: what the network saw
    server_ms: float        # preprocessing, waiting for the batch and the forward pass, measured here
    batch: int = 1          # images in the forward pass this answer came from

    @classmethod
    def of(cls, image: np.ndarray, answer: BatchAnswer, start: float) -> "LiveAnswer":
        """The answer for `image` from its share of a pass, timed from `start` (time.perf_counter())."""
        return cls(answer.probs, answer.logits, answer.class_maps, image, (time.perf_counter() - start) * 1e3,
                   answer.batch)

    def to_json(self) -> dict:
        """Rounded to what the page can show (4 digits), so an answer is about 3 KB of JSON."""
        return {
            "probs": np.round(self.probs.astype(float), 4).tolist(),
            "logits": np.round(self.logits.astype(float), 3).tolist(),
            "maps": np.round(self.class_maps.astype(float), 3).tolist(),
            "image": self.image.astype(int).tolist(),
            "server_ms": round(self.server_ms, 1),
            "batch": self.batch,
        }


def decode_ink(data_url: str) -> np.ndarray:
    """A canvas export (a PNG data URL) -> its ink as uint8 [H, W] (the alpha; brightness without one).

    The caller has bounded the text's length (nin.ui.live_gate.check_ink); the PNG's header is checked before
    its pixels are decoded, and a side over INK_SIDE is refused. Every failure is an InputError.
    """
    if not isinstance(data_url, str) or not data_url.startswith(DATA_URL_PREFIX):
        raise InputError("The drawing must be sent as a PNG data URL (data:image/png;base64,…).")
    try:
        data = base64.b64decode(data_url[len(DATA_URL_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise InputError("The drawing's data URL is not valid base64.") from None
    with open_checked(data, INK_FORMATS) as image:
        if max(image.size) > INK_SIDE:
            raise InputError(f"The drawing is {image.width}×{image.height} px; at most {INK_SIDE}×{INK_SIDE} "
                             "is accepted.")
        try:
            image.load()
        except Exception:
            raise InputError("The drawing's PNG is truncated or corrupt.") from None
        if "A" in image.getbands() or image.mode in ("P", "PA") and "transparency" in image.info:
            return np.asarray(image.convert("RGBA"))[..., 3].copy()
        return np.asarray(image.convert("L")).copy()


def ink_from_image(path: str) -> np.ndarray:
    """A drawing sent as an image file -> its ink as uint8 [H, W].

    Strokes on a transparent background are read from the alpha; an opaque picture is read by brightness,
    negated when its border is light (dark strokes on paper), so white-on-black and black-on-white both work.
    """
    image = load_image(path)
    if "A" in image.getbands():
        alpha = np.asarray(image.getchannel("A"))
        if alpha.min() < 255:
            return alpha.copy()
    grey = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    if border_level(grey) > 0.5:
        grey = 1.0 - grey
    return np.uint8(np.clip(grey, 0, 1) * 255 + 0.5)


def live(pipeline: Pipeline, ink: np.ndarray, model_key: str | None = None,
         batcher: LiveBatcher | None = None) -> LiveAnswer:
    """One live answer: ink -> preprocessing -> the network -> the numbers the canvas draws; through `batcher`
    as the server runs it, or alone in fp32 on the pipeline's weights.

    Raises nin.serve.preprocess.EmptyInput when there is no ink to classify.
    """
    start = time.perf_counter()
    image = pipeline.drawing(ink).image
    if batcher is not None:
        return LiveAnswer.of(image, batcher.answer(image, model_key), start)
    loaded = pipeline.model(model_key)
    (answer,) = answers_of(loaded.model, [image], loaded.preprocessing)
    return LiveAnswer.of(image, answer, start)


__all__ = ["LiveAnswer", "decode_ink", "ink_from_image", "live", "INK_SIDE", "DATA_URL_PREFIX"]
