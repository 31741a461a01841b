"""The app's request path, without the UI: image -> preprocess -> model -> explanation -> render.

`Explorer` owns the loaded weights and turns one user input into a `View`: every number and picture the
page shows. The page's handlers (nin/ui/events.py) call it; the benchmark and the tests call it directly.
"""

from __future__ import annotations

import os
import reprlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nin import metrics
from nin.draw import render
from nin.serve.explain import Explanation, explain
from nin.model import CLASS_NAMES, FEATURE_STAGES, NiN, Preprocessing, class_slug, load_weights, preprocessing_of, xavier_init_
from nin.serve.decode import InputError, load_image
from nin.serve.preprocess import Preprocessed, preprocess_photo, preprocess_sketch

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"  # written by `python -m nin.dev.make_examples`
# Shipped weight files, best first. The GPU-trained files come from the "GPU-trained weights" issue; until
# they exist the app runs on the provisional CPU-trained file and says so on the page.
WEIGHT_FILES = (
    ("nin_fashion_mnist.safetensors", "Best recipe (GPU-trained)"),
    ("nin_seed_recipe.safetensors", "Reference d2l recipe (GPU-trained)"),
    ("nin_cpu.safetensors", "CPU-trained (160 px, then 224 px)"),
    ("nin_provisional_cpu.safetensors", "Provisional (short CPU run)"),
)
TOP_CHANNELS = 16  # how many channels a stage shows by default: the most active by mean


@dataclass(frozen=True)
class LoadedModel:
    """One weight file, ready to run."""

    key: str               # file name, the id used by the UI and the API
    title: str             # human label for the model picker
    model: NiN
    metadata: dict
    notice: str            # one plain line on the page: what these weights are and how good they are
    preprocessing: Preprocessing = field(default_factory=Preprocessing)  # the file's input spec, read once

    @property
    def test_accuracy(self) -> float | None:
        summary = self.metadata.get("metrics") or {}
        value = summary.get("test_acc") if isinstance(summary, dict) else None
        return float(value) if value is not None else None

    @property
    def label(self) -> str:
        acc = self.test_accuracy
        return f"{self.title} · test acc {acc:.1%}" if acc is not None else self.title


@dataclass
class View:
    """Everything the page shows for one input."""

    explanation: Explanation
    preprocessed: Preprocessed
    label: dict[str, float]              # class name -> probability, for gr.Label
    input28_enlarged: np.ndarray         # greyscale uint8 224x224: the 28x28 image shown 8x larger
    input224: np.ndarray                 # greyscale uint8 224x224: the network input
    gap_html: str
    cam: np.ndarray                      # RGB uint8 overlay
    cam_title: str
    stages_html: str                     # all grids with their titles, for the page
    steps_markdown: str
    timings_ms: dict[str, float] = field(default_factory=dict)


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


def model_notice(name: str, metadata: dict, weights_dir: Path) -> str:
    """The banner: what the weights are and how good they are, in one line a newcomer can read."""
    acc = (metadata.get("metrics") or {}).get("test_acc")
    evaluation = metrics.shipped_record(weights_dir, name).get("evaluation_fp32_cpu") or {}
    acc = evaluation.get("accuracy", acc)
    unsure = metrics.weak_classes(evaluation.get("per_class_accuracy") or {}, below=metrics.UNSURE_CLASS_ACC)
    weak = sorted(unsure.items(), key=lambda item: item[1])
    text = f"**About these weights:** a NiN {metrics.training_story(metadata)}."
    if acc:
        text += (f" It gets **{acc:.1%}** of the 10,000 official Fashion-MNIST test images right "
                 f"(people score {metrics.HUMAN_BASELINE:.1%})")
        text += ("; it is least sure of " + ", ".join(f"{c} ({a:.0%})" for c, a in weak[:2]) + "." if weak else ".")
    return text


def load_models(weights_dir: Path = WEIGHTS_DIR, device: str = "cpu") -> dict[str, LoadedModel]:
    """Every shipped weight file that loads; an untrained network (clearly labelled) if none does."""
    models: dict[str, LoadedModel] = {}
    for name, title in WEIGHT_FILES:
        path = weights_dir / name
        if not path.exists():
            continue
        model, metadata = load_weights(path, device)  # a corrupt shipped file is a bug: fail loudly at start-up
        notice = model_notice(name, metadata, weights_dir)
        models[name] = LoadedModel(name, title, model, metadata, notice, preprocessing_of(metadata))
    if not models:
        torch.manual_seed(0)
        model = xavier_init_(NiN()).eval()
        models["untrained"] = LoadedModel(
            "untrained", "Untrained (random weights)", model, {},
            "**No trained weights found in `weights/`.** This network has random weights, so its predictions "
            "mean nothing; the pictures still show how the computation flows.", preprocessing_of({}))
    return models


class Explorer:
    """Runs the request path for the app, the API, the benchmark and the tests."""

    def __init__(self, models: dict[str, LoadedModel] | None = None, image_src=render.png_data_uri):
        self.models = models if models is not None else load_models()
        self.default_key = next(iter(self.models))
        # How the feature-map pictures are addressed in the HTML: inline by default; the app writes files,
        # so a response (and a result a client never reads) stays a few kB instead of up to 0.5 MB.
        self.image_src = image_src

    def model(self, key: str | None) -> LoadedModel:
        if key in self.models:
            return self.models[key]
        # The API may be called with a label or a stale key; fall back rather than fail a prediction.
        for loaded in self.models.values():
            if key in (loaded.label, loaded.title):
                return loaded
        return self.models[self.default_key]

    def from_photo(self, path: str | bytes, model_key: str | None = None,
                   cam_class: str | None = None, show_all: bool = False) -> View:
        start = time.perf_counter()
        preprocessed = preprocess_photo(load_image(path))
        return self._finish(preprocessed, model_key, cam_class, show_all, start)

    def from_sketch(self, sketch: dict | None, model_key: str | None = None,
                    cam_class: str | None = None, show_all: bool = False) -> View:
        start = time.perf_counter()
        preprocessed = preprocess_sketch(sketch)
        return self._finish(preprocessed, model_key, cam_class, show_all, start)

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
    def example_class(path: Path) -> int:
        """The class index of an example file named like test00000_ankle-boot.png (10 when unknown)."""
        slugs = [class_slug(name) for name in CLASS_NAMES]
        kind = path.stem.split("_", 1)[-1]
        return slugs.index(kind) if kind in slugs else len(slugs)

    def rerun(self, preprocessed: Preprocessed, model_key: str | None = None,
              cam_class: str | None = None, show_all: bool = False) -> View:
        """The same preprocessed input through (possibly) another model."""
        return self._finish(preprocessed, model_key, cam_class, show_all, time.perf_counter())

    def _finish(self, preprocessed: Preprocessed, model_key, cam_class, show_all, start: float) -> View:
        t_pre = time.perf_counter()
        loaded = self.model(model_key)
        explanation = explain(loaded.model, preprocessed.image, loaded.preprocessing)
        t_model = time.perf_counter()
        view = render_view(explanation, preprocessed, cam_class, show_all, self.image_src)
        t_render = time.perf_counter()
        view.timings_ms = {
            "preprocess": (t_pre - start) * 1e3,
            "model": (t_model - t_pre) * 1e3,
            "render": (t_render - t_model) * 1e3,
            "total": (t_render - start) * 1e3,
        }
        return view


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


def class_index(cam_class: str | int | None, explanation: Explanation) -> int:
    """The class a CAM shows: `class_choice`, with the predicted class for 'predicted'."""
    index = class_choice(cam_class)
    return explanation.predicted if index is None else index


def render_cam(explanation: Explanation, cam_class: str | int | None) -> tuple[np.ndarray, str]:
    index = class_index(cam_class, explanation)
    cam = explanation.cam(index)
    title = (f"CAM: {CLASS_NAMES[index]} map (mean {explanation.logits[index]:.2f}), bilinear 5×5 → 224×224, "
             f"colour 0 → its max {cam.max():.2f}")
    return render.cam_overlay(explanation.input224, cam), title


def stages_html(explanation: Explanation, show_all: bool, image_src=render.png_data_uri) -> str:
    return render.stage_panel_html(*render_stages(explanation, show_all), src=image_src)


def render_stages(explanation: Explanation, show_all: bool) -> tuple[dict[str, Image.Image], dict[str, str]]:
    images, titles = {}, {}
    for stage in FEATURE_STAGES:
        maps = explanation.stages[stage]
        vmax = float(maps.max())
        shape = "×".join(str(s) for s in maps.shape)
        if stage == "block4":  # its channels are the classes: show them all, in class order, by name
            channels = np.arange(len(CLASS_NAMES))
            images[stage] = render.feature_grid_image(maps, channels, vmax, columns=5, labels=list(CLASS_NAMES), target=66)
            which = "one channel per class"
        else:
            channels = explanation.top_channels(stage, None if show_all else TOP_CHANNELS)
            images[stage] = render.feature_grid_image(maps, channels, vmax)
            which = f"all {len(channels)} channels" if len(channels) == maps.shape[0] else \
                f"top {len(channels)} of {maps.shape[0]} channels by mean"
        titles[stage] = f"{stage} · {shape} · {which} · colour 0 → stage max {vmax:.2f}"
    return images, titles


def render_view(explanation: Explanation, preprocessed: Preprocessed,
                cam_class: str | int | None = None, show_all: bool = False, image_src=render.png_data_uri) -> View:
    cam, cam_title = render_cam(explanation, cam_class)
    stage_images, stage_titles = render_stages(explanation, show_all)
    return View(
        explanation=explanation,
        preprocessed=preprocessed,
        label={name: float(p) for name, p in zip(CLASS_NAMES, explanation.probs)},
        input28_enlarged=render.grey_uint8(preprocessed.image, scale=8),
        input224=render.grey_uint8(explanation.input224),
        gap_html=render.gap_panel_html(explanation.class_maps, explanation.logits, explanation.probs, CLASS_NAMES),
        cam=cam,
        cam_title=cam_title,
        stages_html=render.stage_panel_html(stage_images, stage_titles, src=image_src),
        steps_markdown="\n".join(f"{i}. {step}" for i, step in enumerate(preprocessed.steps, 1)),
    )


__all__ = ["Explorer", "View", "LoadedModel", "load_models", "render_view", "render_cam", "render_stages", "stages_html",
           "class_choice", "class_index", "TOP_CHANNELS", "EXAMPLES_DIR", "WEIGHTS_DIR", "WEIGHT_FILES"]
