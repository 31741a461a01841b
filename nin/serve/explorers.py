"""The explorers' numbers for a session's input: what a channel looks for, the nearest test images, occlusion.

`Explorers` is the glue from a session's input and weights to nin.serve.channels, nin.serve.neighbours and
nin.serve.occlusion, with the precomputed data (nin.serve.explorer_bank) of every loaded weight file, loaded
once at start-up and checked against its sha256. When that data is missing or stale, the channel and
neighbour explorers raise `Unavailable` with the command that remakes it; occlusion needs no data. Numbers
only: the "Explore further" tab (nin/ui/explorer_events.py) draws them with nin.render.explorer_panels.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from nin.model import FEATURE_STAGES
from nin.serve.channels import ChannelTop, block1_kernel, channel_counts, receptive_fields
from nin.serve.checks import check_number, quote
from nin.serve.decode import InputError
from nin.serve.explorer_bank import BankUnavailable, ExplorerBank, load_bank
from nin.serve.neighbours import K_MAX, Neighbours, feature_vector, nearest
from nin.serve.occlusion import PATCH_SIZES, Occlusion, occlusion
from nin.serve.pipeline import WEIGHTS_DIR, Pipeline

log = logging.getLogger("nin-explorer")


class Unavailable(InputError):
    """An explorer has no precomputed data for the session's weights; the message says which command fixes it."""


@dataclass
class Explorers:
    """The explorers' numbers for a session's input, with the precomputed data of every loaded weight file."""

    pipeline: Pipeline
    banks: dict[str, ExplorerBank | str]   # model key -> its bank, or why it is unavailable
    load_ms: float = 0.0

    @classmethod
    def load(cls, pipeline: Pipeline, weights_dir=WEIGHTS_DIR) -> "Explorers":
        started = time.perf_counter()
        banks: dict[str, ExplorerBank | str] = {}
        for key, loaded in pipeline.models.items():
            path = weights_dir / key
            if not path.is_file():
                banks[key] = f"These weights ({loaded.title}) have no file, so nothing was precomputed for them."
                continue
            try:
                banks[key] = load_bank(path, receptive_fields(loaded.model, loaded.preprocessing.input_size))
            except BankUnavailable as exc:
                banks[key] = str(exc)
                log.warning("explorers unavailable for %s: %s", key, exc)
        explorers = cls(pipeline, banks, (time.perf_counter() - started) * 1e3)
        log.info("explorers: precomputed data of %d weight file(s) checked and loaded in %.0f ms",
                 sum(isinstance(b, ExplorerBank) for b in banks.values()), explorers.load_ms)
        return explorers

    def bank(self, model_key: str | None, what: str) -> ExplorerBank:
        loaded = self.pipeline.model(model_key)
        bank = self.banks.get(loaded.key)
        if not isinstance(bank, ExplorerBank):
            raise Unavailable(f"The {what} is unavailable for these weights. {bank or 'No data was loaded.'}")
        return bank

    def channel_count(self, model_key: str | None, stage) -> int:
        """Channels of a feature stage with these weights; any other stage is refused."""
        if not isinstance(stage, str) or stage not in FEATURE_STAGES:
            raise InputError(f"stage must be one of {', '.join(FEATURE_STAGES)}; got {quote(stage)}.")
        return channel_counts(self.pipeline.model(model_key).model)[stage]

    def check_channel(self, model_key: str | None, stage, index) -> tuple[str, int]:
        count = self.channel_count(model_key, stage)
        check_number(f"index of a {stage} channel", index, 0, count - 1, whole=True)
        return stage, int(index)

    def channel(self, model_key: str | None, stage, index) -> ChannelTop:
        stage, index = self.check_channel(model_key, stage, index)
        return self.bank(model_key, "channel explorer").channel(stage, index)

    def kernel(self, model_key: str | None, index: int) -> np.ndarray:
        """block1's first conv kernel of one channel with these weights (the only conv that sees pixels)."""
        return block1_kernel(self.pipeline.model(model_key).model, index)

    def neighbours(self, preprocessed, model_key: str | None, k, explanation=None) -> Neighbours:
        check_number("k", k, 1, K_MAX, whole=True)
        bank = self.bank(model_key, "neighbour search")
        explanation = explanation or self.pipeline.explain(preprocessed, model_key)
        test = bank.test
        return nearest(bank.features, test.pixels, test.pixel_norms2, test.images, test.labels,
                       feature_vector(explanation.stages["pool3"]), preprocessed.image, int(k), explanation.predicted)

    def occlusion(self, preprocessed, model_key: str | None, patch, explanation=None) -> Occlusion:
        if isinstance(patch, bool) or not isinstance(patch, (int, float)) or patch not in PATCH_SIZES:
            raise InputError(f"patch must be one of {', '.join(map(str, PATCH_SIZES))} (px of the 28×28 input); "
                             f"got {quote(patch)}.")
        loaded = self.pipeline.model(model_key)
        return occlusion(loaded.model, preprocessed.image, loaded.preprocessing, int(patch), explanation)


__all__ = ["Explorers", "Unavailable"]
