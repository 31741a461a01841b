"""The canvas's live answers, computed in batches: pages drawing at the same time share one forward pass.

A page sends its latest drawing about ten times a second while the pen moves (nin/ui/canvas.py). One forward
pass per drawing leaves most of a CPU's throughput unused: a pass over 8 images costs far less than 8 passes
over one (README, "Performance"). `LiveBatcher` runs the network for the live calls. A call hands over its
preprocessed 28x28 image and gets a future back. A worker thread takes every image that is waiting (up to
MAX_BATCH, for the same weights) and runs them as one pass. It never waits to gather more: when a worker is
free the first image goes at once, alone, so one person drawing gets the same latency as before. Images that
arrive while a pass runs make up the next batch, so the batches grow exactly when the server is busy.

Each worker runs with the process's one intra-op thread (app.py) on its own channels_last copy of the weights
(`live_model`), in `live_precision()`: bf16 where the CPU computes it natively (AVX512-BF16 or AMX), else fp32.
In bf16, blocks 1-3 run in bf16 but for their first conv, which reads the image, and block4, whose ten class
maps are the scores, both fp32: a pass costs ~0.6x of fp32's and the answers stay fp32's (all in bf16,
probabilities moved by up to 1.7 points; `python -m nin.dev.live_precision` measures it on the official test
set and the drawn test set). The full explanation after the pen lifts, and every other event, stays fp32: it
shows every stage of the pass.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, replace

import numpy as np
import torch

from nin.data import to_model_input
from nin.serve.pipeline import Pipeline

# Images in one pass at most: ~250 ms on one thread in bf16 on the 2-core box. With 32 pages drawing, passes
# measured 20 images (median), so the cap only bounds a burst.
MAX_BATCH = 32


def native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX); elsewhere bf16 is emulated and slower."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def live_precision(setting: str | None = None) -> str:
    """"bf16" or "fp32": NIN_LIVE_PRECISION (or `setting`) when it names one, else bf16 where it is native."""
    setting = (setting or os.environ.get("NIN_LIVE_PRECISION") or "auto").lower()
    if setting in ("fp32", "bf16"):
        return setting
    return "bf16" if native_bf16() else "fp32"


@dataclass(frozen=True)
class BatchAnswer:
    """One image's share of a batched pass: what the canvas redraws."""

    probs: np.ndarray       # float32 [10]
    logits: np.ndarray      # float32 [10]: each class map's mean (global average pooling)
    class_maps: np.ndarray  # float32 [10, 5, 5]: block4's output
    batch: int              # how many images the pass ran
    waited_ms: float = 0.0  # from submit() to the start of its pass


def layers(model: torch.nn.Module):
    """(stage, layer) for every layer of the network up to block4's last, in order: a NiN block's convs and
    ReLUs one by one."""
    for stage, child in model.named_children():
        for layer in child if isinstance(child, torch.nn.Sequential) else [child]:
            yield stage, layer
        if stage == "block4":
            return


def stays_fp32(stage: str, index: int) -> bool:
    """Whether a layer keeps fp32 in a bf16 live model: the first conv, which reads the image itself (in bf16
    it alone moved probabilities by up to 1.7 points on the official test set, and by 0.56 without it), and
    block4, whose ten class maps are the scores."""
    return index == 0 or stage == "block4"


def live_model(model: torch.nn.Module, precision: str = "fp32") -> torch.nn.Module:
    """A channels_last copy of `model` for the live passes; in bf16, every layer but those that `stays_fp32`
    in bf16 (blocks 1-3 but their first conv: 95% of a pass's multiply-adds)."""
    copied = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)
    if precision == "bf16":
        for index, (stage, layer) in enumerate(layers(copied)):
            if not stays_fp32(stage, index):
                layer.to(torch.bfloat16)
    return copied


@torch.inference_mode()
def class_maps_of(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """block4's output, float32 [B, 10, 5, 5]: the network up to its class maps (GAP is their mean, taken after).
    Each layer gets its input in its weights' dtype (a layer without weights keeps what it is given)."""
    for _, layer in layers(model):
        weight = next(layer.parameters(), None)
        if weight is not None and x.dtype != weight.dtype:
            x = x.to(weight.dtype)
        x = layer(x)
    return x.float()


def answers_of(model: torch.nn.Module, images: list[np.ndarray], spec) -> list[BatchAnswer]:
    """One pass over uint8 28x28 images -> each one's probabilities, logits and class maps."""
    batch = to_model_input(torch.from_numpy(np.stack(images)), spec.input_size, spec.mean, spec.std)
    maps = class_maps_of(model, batch.contiguous(memory_format=torch.channels_last))
    logits = maps.mean(dim=(2, 3))
    probs = torch.softmax(logits, dim=1)
    return [BatchAnswer(probs[i].numpy(), logits[i].numpy(), maps[i].numpy(), len(images)) for i in range(len(images))]


class LiveBatcher:
    """Batched forward passes for the live calls, on `workers` threads of their own (started on first use)."""

    def __init__(self, pipeline: Pipeline, workers: int = 1, max_batch: int = MAX_BATCH, precision: str | None = None):
        self.pipeline, self.workers, self.max_batch = pipeline, workers, max_batch
        self.precision = live_precision(precision)
        self._waiting: deque[tuple[np.ndarray, str, Future, float]] = deque()  # image, weights, future, submitted
        self._ready = threading.Condition()
        self._models: dict[str, torch.nn.Module] = {}
        self._threads: list[threading.Thread] = []
        self.passes = self.images = 0  # passes run and images answered, for the tests and the benchmark

    def submit(self, image: np.ndarray, model_key: str | None = None) -> Future:
        """Queue one uint8 28x28 image; the future's result is its BatchAnswer."""
        key = self.pipeline.model(model_key).key
        future: Future = Future()
        with self._ready:
            if not self._threads:
                self._start()
            self._waiting.append((np.asarray(image, dtype=np.uint8), key, future, time.perf_counter()))
            self._ready.notify()
        return future

    def answer(self, image: np.ndarray, model_key: str | None = None) -> BatchAnswer:
        """submit() and wait: for tests and scripts."""
        return self.submit(image, model_key).result()

    def _start(self) -> None:
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"nin-live-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _model(self, key: str) -> torch.nn.Module:
        """The worker's copy of `key`'s weights: channels_last, in the live precision (made once per file)."""
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = live_model(self.pipeline.model(key).model, self.precision)
        return model

    def _take(self) -> list[tuple[np.ndarray, str, Future, float]]:
        """Every waiting image for the first one's weights (up to max_batch); the rest keep their places."""
        with self._ready:
            while not self._waiting:
                self._ready.wait()
            key = self._waiting[0][1]
            taken, kept = [], deque()
            while self._waiting and len(taken) < self.max_batch:
                item = self._waiting.popleft()
                (taken if item[1] == key else kept).append(item)
            kept.extend(self._waiting)
            self._waiting = kept
            return taken

    def _work(self) -> None:
        while True:
            taken = [item for item in self._take() if item[2].set_running_or_notify_cancel()]
            if not taken:
                continue
            start = time.perf_counter()
            try:
                key = taken[0][1]
                with self._ready:
                    model = self._model(key)
                answers = answers_of(model, [item[0] for item in taken], self.pipeline.model(key).preprocessing)
            except Exception as exc:  # noqa: BLE001 - handed to every caller of this pass, which reports it
                for item in taken:
                    item[2].set_exception(exc)
                continue
            with self._ready:
                self.passes += 1
                self.images += len(taken)
            for (_, _, future, submitted), answer in zip(taken, answers):
                future.set_result(replace(answer, waited_ms=(start - submitted) * 1e3))


__all__ = ["LiveBatcher", "BatchAnswer", "answers_of", "class_maps_of", "layers", "live_model", "live_precision",
           "native_bf16", "stays_fp32", "MAX_BATCH"]
