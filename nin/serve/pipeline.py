"""The app's request path, numbers only: image -> preprocess -> model -> explanation.

`Pipeline` owns the loaded weights and turns one user input into a `Prediction`: the preprocessed 28x28
image and the explanation of one forward pass (stages, class maps, GAP, softmax). It draws nothing:
nin.render.view turns a Prediction into the page's pictures. The page's handlers (nin/ui/prediction_events.py) call
both; the benchmark and the tests call them directly.
"""

from __future__ import annotations

import os
import reprlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nin import metrics_file
from nin.serve.explain import Explanation, explain
from nin.model import CLASS_NAMES, NiN, Preprocessing, class_slug, load_weights, preprocessing_of, xavier_init_
from nin.serve.decode import InputError, load_image
from nin.serve.preprocess import Preprocessed, preprocess_ink, preprocess_photo

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"  # written by `python -m nin.dev.make_examples`
DEFAULT_EXAMPLE = EXAMPLES_DIR / "test00000_ankle-boot.png"  # the README's and the API examples' image
# Shipped weight files, best first: the app loads every one that is present (the GPU-trained file is not made
# yet), answers with the first until the page picks another, and its banner says which file answers. The
# chapter's own recipe comes after the tuned file: it is there to compare with, not to answer first.
WEIGHT_FILES = (
    ("nin_fashion_mnist.safetensors", "Best recipe (GPU-trained)"),
    ("nin_cpu.safetensors", "Tuned: 160 px, then 224 px, then drawings"),
    ("nin_seed_recipe.safetensors", "The chapter's recipe (10 epochs)"),
    ("nin_provisional_cpu.safetensors", "Provisional (short CPU run)"),
)
CHAPTER_FILE = "nin_seed_recipe.safetensors"  # the chapter's own recipe: the page compares the others with it


@dataclass(frozen=True)
class LoadedModel:
    """One weight file, ready to run."""

    key: str               # file name, the id used by the UI and the API
    title: str             # human label for the model picker
    model: NiN
    metadata: dict
    notice: str            # one plain line on the page: what these weights are and how good they are
    preprocessing: Preprocessing = field(default_factory=Preprocessing)  # the file's input spec, read once
    test_accuracy: float | None = None  # the fp32 evaluation on all official test images (metrics.json)

    @property
    def label(self) -> str:
        acc = self.test_accuracy
        return f"{self.title} · test acc {metrics_file.percent(acc, 10_000)}" if acc is not None else self.title


@dataclass
class Prediction:
    """The numbers of one input: its preprocessed 28x28 image and the explanation of one forward pass."""

    preprocessed: Preprocessed
    explanation: Explanation
    timings_ms: dict[str, float] = field(default_factory=dict)  # preprocess, model


def cpu_count() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 quota (containers, Spaces)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
        if quota != "max":
            count = min(count, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


def test_accuracy_of(record: dict, metadata: dict) -> float | None:
    """The one accuracy the page shows for a file: its fp32 evaluation on all 10,000 official test images
    (metrics.json), or what its training run measured when the file has no record."""
    evaluation = record.get("evaluation_fp32_cpu") or {}
    value = evaluation.get("accuracy", (metadata.get("metrics") or {}).get("test_acc"))
    return float(value) if value is not None else None


def model_notice(record: dict, metadata: dict, title: str, name: str) -> str:
    """The banner: which file answers, what it is and how good it is, in one line a newcomer can read.
    `record` is the file's entry in metrics.json ({} when it has none)."""
    acc = test_accuracy_of(record, metadata)
    evaluation = record.get("evaluation_fp32_cpu") or {}
    unsure = metrics_file.weak_classes(evaluation.get("per_class_accuracy") or {}, below=metrics_file.UNSURE_CLASS_ACC)
    weak = sorted(unsure.items(), key=lambda item: item[1])
    drawn = {style: (e["accuracy"], e["n"]) for style, e in (record.get("drawn_evaluation_fp32_cpu") or {}).items()}
    text = f"**Answering: {title}** (`{name}`), a NiN {metrics_file.training_story(metadata)}."
    if acc:
        text += (f" It gets **{metrics_file.percent(acc, 10_000)}** of the 10,000 official Fashion-MNIST test images right "
                 f"(people score {metrics_file.percent(metrics_file.HUMAN_BASELINE, digits=1)})")
        if drawn:
            text += (", and " + " and ".join(f"{metrics_file.percent(a, e_n)} of them drawn as {style}s"
                                             for style, (a, e_n) in drawn.items()))
        least = ", ".join(f"{c} ({metrics_file.percent(a, digits=0)})" for c, a in weak[:2])
        text += ("; it is least sure of " + least + "."
                 if weak else ".")
    return text


def load_models(weights_dir: Path = WEIGHTS_DIR, device: str = "cpu") -> dict[str, LoadedModel]:
    """Every shipped weight file that loads; an untrained network (clearly labelled) if none does."""
    models: dict[str, LoadedModel] = {}
    for name, title in WEIGHT_FILES:
        path = weights_dir / name
        if not path.exists():
            continue
        model, metadata = load_weights(path, device)  # a corrupt shipped file is a bug: fail loudly at start-up
        record = metrics_file.shipped_record(weights_dir, name)  # read once: the banner and the accuracy both need it
        models[name] = LoadedModel(name, title, model, metadata, model_notice(record, metadata, title, name),
                                   preprocessing_of(metadata), test_accuracy_of(record, metadata))
    if not models:
        torch.manual_seed(0)
        model = xavier_init_(NiN()).eval()
        models["untrained"] = LoadedModel(
            "untrained", "Untrained (random weights)", model, {},
            "**No trained weights found in `weights/`.** This network has random weights, so its predictions "
            "mean nothing; the pictures still show how the computation flows.", preprocessing_of({}))
    return models


class Pipeline:
    """Runs the request path for the app, the API, the benchmark and the tests."""

    def __init__(self, models: dict[str, LoadedModel] | None = None):
        self.models = models if models is not None else load_models()
        self.default_key = next(iter(self.models))

    def model(self, key: str | None) -> LoadedModel:
        if key in self.models:
            return self.models[key]
        # The API may be called with a label or a stale key; fall back rather than fail a prediction.
        for loaded in self.models.values():
            if key in (loaded.label, loaded.title):
                return loaded
        return self.models[self.default_key]

    def from_photo(self, path: str | bytes, model_key: str | None = None) -> Prediction:
        start = time.perf_counter()
        return self._finish(preprocess_photo(load_image(path)), model_key, start)

    def from_ink(self, ink: np.ndarray, model_key: str | None = None) -> Prediction:
        """A drawing's ink, uint8 [H, W] white on black (the canvas's alpha), through the canvas path."""
        start = time.perf_counter()
        return self._finish(self.drawing(ink), model_key, start)

    @staticmethod
    def drawing(ink: np.ndarray) -> Preprocessed:
        """The app's one drawing path: ink uint8 [H, W] -> the canvas path (nin.serve.preprocess.preprocess_ink),
        for a full prediction (`from_ink`) and for the canvas's live answers (nin.serve.live) alike."""
        return preprocess_ink(ink.astype(np.float32) / 255.0)

    def rerun(self, preprocessed: Preprocessed, model_key: str | None = None) -> Prediction:
        """The same preprocessed input through (possibly) another model."""
        return self._finish(preprocessed, model_key, time.perf_counter())

    def explain(self, preprocessed: Preprocessed, model_key: str | None = None) -> Explanation:
        """The numbers of one pass, recomputed from the session's 28x28 input (sessions keep nothing bigger)."""
        loaded = self.model(model_key)
        return explain(loaded.model, preprocessed.image, loaded.preprocessing)

    def lesson(self, lesson, preprocessed: Preprocessed, model_key: str | None, *args, **kwargs):
        """Run one nin.serve.lessons function on the session's input with the chosen weights."""
        loaded = self.model(model_key)
        return lesson(loaded.model, preprocessed.image, loaded.preprocessing, *args, **kwargs)

    def block_weights(self, model_key: str | None, stage: str) -> tuple[np.ndarray, np.ndarray]:
        """A block's two 1x1 convs as weight matrices [out, in] (W1, W2)."""
        block = getattr(self.model(model_key).model, stage)
        return tuple(block[i].weight.detach()[:, :, 0, 0].float().cpu().numpy() for i in (2, 4))

    @staticmethod
    def example_inputs() -> dict[Path, np.ndarray]:
        """Every shipped example as the network sees it (28x28), by file."""
        return {path: preprocess_photo(load_image(str(path))).image for path in sorted(EXAMPLES_DIR.iterdir())
                if path.suffix in (".png", ".jpg")}

    @staticmethod
    def example_class(path: Path) -> int:
        """The class index of an example file named like test00000_ankle-boot.png (10 when unknown)."""
        slugs = [class_slug(name) for name in CLASS_NAMES]
        kind = path.stem.split("_", 1)[-1]
        return slugs.index(kind) if kind in slugs else len(slugs)

    def _finish(self, preprocessed: Preprocessed, model_key: str | None, start: float) -> Prediction:
        t_pre = time.perf_counter()
        explanation = self.explain(preprocessed, model_key)
        t_model = time.perf_counter()
        return Prediction(preprocessed, explanation, {"preprocess": (t_pre - start) * 1e3,
                                                      "model": (t_model - t_pre) * 1e3})


def class_choice(cam_class: str | int | None) -> int | None:
    """Which class a CAM or Grad-CAM is asked for: None for the predicted one ('predicted…' in any case, such
    as the page's "Predicted class", or nothing), else a class index from a class name or an index 0-9.

    The one check of a class choice, for the page, the API and the lessons alike: anything else is refused
    with an InputError rather than quietly replaced by the prediction.
    """
    if cam_class is None or cam_class == "" or \
            (isinstance(cam_class, str) and cam_class.lower().startswith("predicted")):
        return None
    if cam_class in CLASS_NAMES:
        return CLASS_NAMES.index(cam_class)
    text = str(cam_class) if isinstance(cam_class, int) and not isinstance(cam_class, bool) else cam_class
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 2 and int(text) < len(CLASS_NAMES):
        return int(text)
    raise InputError(f"class must be 'predicted', a class index from 0 to {len(CLASS_NAMES) - 1} or one of "
                     f"{', '.join(CLASS_NAMES)}; got {reprlib.repr(cam_class)}.")


__all__ = ["Pipeline", "Prediction", "LoadedModel", "load_models", "class_choice", "DEFAULT_EXAMPLE", "EXAMPLES_DIR", "WEIGHTS_DIR",
           "WEIGHT_FILES", "CHAPTER_FILE"]
