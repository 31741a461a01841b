"""One prediction drawn: every picture and panel of the page's top half, from the numbers of one pass.

`render_view` turns a `nin.serve.pipeline.Prediction` (the preprocessed input and the explanation of one
forward pass) into a `View`: the label dict, the two input pictures, the GAP panel, the CAM and its caption,
the feature maps and the preprocessing steps. It reads the numbers and never runs the network; the page's
handlers (nin/ui/prediction_events.py), the benchmark and the tests call it after the pipeline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np
from PIL import Image

from nin.render import heatmaps
from nin.names import CLASS_NAMES, FEATURE_STAGES

if TYPE_CHECKING:
    from nin.serve.explain import Explanation
    from nin.serve.pipeline import Prediction
    from nin.serve.preprocess import Preprocessed

TOP_CHANNELS = 16  # how many channels a stage shows by default: the most active by mean


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
    timings_ms: dict[str, float] = field(default_factory=dict)  # preprocess, model, render, total


def render_cam(explanation: Explanation, class_index: int | None) -> tuple[np.ndarray, str]:
    """The CAM of a class (None: the predicted one) over the network input, and its caption."""
    index = explanation.predicted if class_index is None else class_index
    cam = explanation.cam(index)
    # The 5x5 cells are printed to one decimal in the GAP panel; the caption rounds them the same way, and says
    # that upsampling (which averages neighbouring cells) tops out a little lower than the largest cell.
    cells = explanation.class_maps[index]
    title = (f"CAM: {CLASS_NAMES[index]} map (mean {explanation.logits[index]:.2f}, largest cell "
             f"{float(cells.max()):.1f}), bilinear 5×5 → 224×224; colour 0 → {cam.max():.1f}, the upsampled map's "
             f"largest value")
    return heatmaps.cam_overlay(explanation.input224, cam), title


def render_stages(explanation: Explanation, show_all: bool) -> tuple[dict[str, Image.Image], dict[str, str]]:
    images, titles = {}, {}
    for stage in FEATURE_STAGES:
        maps = explanation.stages[stage]
        vmax = float(maps.max())
        shape = "×".join(str(s) for s in maps.shape)
        if stage == "block4":  # its channels are the classes: show them all, in class order, by name
            channels = np.arange(len(CLASS_NAMES))
            images[stage] = heatmaps.feature_grid_image(maps, channels, vmax, columns=5, labels=list(CLASS_NAMES), target=66)
            which = "one channel per class"
        else:
            channels = explanation.top_channels(stage, None if show_all else TOP_CHANNELS)
            images[stage] = heatmaps.feature_grid_image(maps, channels, vmax)
            which = f"all {len(channels)} channels" if len(channels) == maps.shape[0] else \
                f"top {len(channels)} of {maps.shape[0]} channels by mean"
        titles[stage] = f"{stage} · {shape} · {which} · colour 0 → stage max {vmax:.2f}"
    return images, titles


def stages_html(explanation: Explanation, show_all: bool,
                image_src: Callable[[Image.Image], str] = heatmaps.png_data_uri) -> str:
    """Every stage's feature maps with their titles; `image_src` addresses each picture (inline by default)."""
    return heatmaps.stage_panel_html(*render_stages(explanation, show_all), src=image_src)


def render_view(prediction: Prediction, class_index: int | None = None, show_all: bool = False,
                image_src: Callable[[Image.Image], str] = heatmaps.png_data_uri) -> View:
    """The page's top half for one prediction; `timings_ms` adds the drawing time to the pipeline's."""
    start = time.perf_counter()
    explanation, preprocessed = prediction.explanation, prediction.preprocessed
    cam, cam_title = render_cam(explanation, class_index)
    view = View(
        explanation=explanation,
        preprocessed=preprocessed,
        label={name: float(p) for name, p in zip(CLASS_NAMES, explanation.probs)},
        input28_enlarged=heatmaps.grey_uint8(preprocessed.image, scale=8),
        input224=heatmaps.grey_uint8(explanation.input224),
        gap_html=heatmaps.gap_panel_html(explanation.class_maps, explanation.logits, explanation.probs, CLASS_NAMES),
        cam=cam,
        cam_title=cam_title,
        stages_html=stages_html(explanation, show_all, image_src),
        steps_markdown="\n".join(f"{i}. {step}" for i, step in enumerate(preprocessed.steps, 1)),
    )
    render_ms = (time.perf_counter() - start) * 1e3
    view.timings_ms = {**prediction.timings_ms, "render": render_ms,
                       "total": sum(prediction.timings_ms.values()) + render_ms}
    return view


__all__ = ["View", "render_view", "render_cam", "render_stages", "stages_html", "TOP_CHANNELS"]
