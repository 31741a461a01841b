"""Five lessons of the d2l NiN chapter, each a claim checked against the network's own numbers.

1. `mlp_at`: a 1x1 convolution is an MLP applied at every pixel; recomputed by hand in float64.
2. `parameter_report`: where the parameters live in NiN, AlexNet, VGG-11 and a NiN with an FC head.
3. `ablate`: GAP is an average, so zeroing class-map cells or earlier channels moves the logits predictably.
4. `translate`: shifting the input moves the class maps; their averages, the logits, move much less.
5. `gradcam`: Grad-CAM on block4 is the class map divided by 25, because GAP's derivative is 1/25.

Numbers only: every function recomputes what it needs from the model (a NiN in eval mode), the preprocessed
uint8 28x28 image and the preprocessing spec, and returns a dataclass whose `to_json()` is plain lists and
numbers (numpy arrays meant only for drawing are left out of it; running the network stage by stage and
the JSON: nin/serve/stages.py). It draws nothing: that is `nin.render.lesson_panels`.
Lesson 2 needs neither an image nor trained weights: it is counted in `nin.serve.parameters`, and its names
are importable from here with the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from nin.names import IMAGE_SIZE
from nin.data import to_model_input
from nin.model import NiN, Preprocessing
from nin.serve.pipeline import DEFAULT_EXAMPLE, Pipeline
from nin.serve.stages import DRAWING_ONLY, Lesson, prepare, run_stages, stages_after, stages_before, to_numpy

BLOCKS = ("block1", "block2", "block3", "block4")
ABLATABLE_STAGES = ("block1", "pool1", "block2", "pool2", "block3", "pool3")
MAX_SHIFT = 8  # pixels of the 28x28 image; beyond this a garment leaves the frame
# block1 has stride 4 and three stride-2 max pools follow: neighbouring block4 cells are 32 input px apart.
BLOCK4_STRIDE = 4 * 2 * 2 * 2


# ----------------------------------------------------------------------------- checks of a lesson's arguments

def _check_choice(value, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")


def _check_int(value, what: str) -> int:
    """`value` as an int; whole floats pass (UI sliders send 3.0), bools do not (True as a row is a bug)."""
    whole_float = isinstance(value, (float, np.floating)) and float(value).is_integer()
    if isinstance(value, (bool, np.bool_)) or not (isinstance(value, (int, np.integer)) or whole_float):
        raise ValueError(f"{what} must be an integer; got {value!r}")
    return int(value)


def _check_index(value: int, size: int, what: str) -> None:
    if not 0 <= value < size:
        raise ValueError(f"{what} must be from 0 to {size - 1}; got {value}")


# ----------------------------------------------------------------------------- 1. a 1x1 conv is a per-pixel MLP

@dataclass(frozen=True, eq=False)
class PixelMLP(Lesson):
    """One pixel of a NiN block pushed through its two 1x1 convs as a two-layer MLP, by hand."""

    stage: str
    row: int
    col: int
    input: list[float]     # the channels after the block's spatial conv + ReLU at (row, col): the MLP's input x
    hidden: list[float]    # relu(W1 @ x + b1), recomputed in float64
    output: list[float]    # relu(W2 @ hidden + b2), recomputed in float64: the block's output at (row, col)
    max_abs_diff: float    # max |recomputed - the network's own activations| over hidden and output
    output_mean: np.ndarray = field(repr=False, metadata=DRAWING_ONLY)  # float32 [H, W], the block output's channel mean


def _as_matrix(conv: nn.Conv2d) -> tuple[np.ndarray, np.ndarray]:
    """A 1x1 conv's weight [out, in, 1, 1] as a float64 matrix [out, in], and its bias."""
    return (conv.weight.detach()[:, :, 0, 0].double().cpu().numpy(),
            conv.bias.detach().double().cpu().numpy())


def mlp_at(model: NiN, input28: np.ndarray, spec: Preprocessing | None, stage: str, row: int, col: int) -> PixelMLP:
    """Recompute one pixel of a NiN block's two 1x1 convs as relu(W2 relu(W1 x + b1) + b2).

    (row, col) is a position of the block's output grid: 54x54, 26x26, 12x12 and 5x5 for block1..block4
    at 224 px. The 1x1 convs mix channels and never look at neighbours, so the same small MLP runs at
    every pixel: that is the "network in network".
    """
    _check_choice(stage, BLOCKS, "stage")
    row, col = _check_int(row, "row"), _check_int(col, "col")
    block = getattr(model, stage)
    with torch.inference_mode():
        x = run_stages(model, prepare(model, input28, spec), stages_before(model, stage))
        spatial = block[1](block[0](x))
        hidden = block[3](block[2](spatial))
        output = block[5](block[4](hidden))
    _, channels, height, width = spatial.shape
    grid = f"{stage}'s {height}x{width} output grid"
    _check_index(row, height, f"row of {grid}")
    _check_index(col, width, f"col of {grid}")
    w1, b1 = _as_matrix(block[2])
    w2, b2 = _as_matrix(block[4])
    x_pixel = spatial[0, :, row, col].double().cpu().numpy()
    hidden_by_hand = np.maximum(w1 @ x_pixel + b1, 0.0)
    output_by_hand = np.maximum(w2 @ hidden_by_hand + b2, 0.0)
    diff = max(np.abs(hidden_by_hand - hidden[0, :, row, col].double().cpu().numpy()).max(),
               np.abs(output_by_hand - output[0, :, row, col].double().cpu().numpy()).max())
    return PixelMLP(stage, row, col, x_pixel.tolist(), hidden_by_hand.tolist(), output_by_hand.tolist(),
                    float(diff), to_numpy(output[0].mean(dim=0)))


# ----------------------------------------------------------------------------- 3. GAP is an average: ablation

@dataclass(frozen=True, eq=False)
class Ablation(Lesson):
    """Logits before and after zeroing block4 cells and/or whole channels of an earlier stage."""

    stage: str | None               # the stage whose channels were zeroed, None when only cells were
    channels: list[int]             # the zeroed channels of `stage`
    cells: list[list[int]]          # the zeroed block4 cells as [class, row, col]
    logits_before: np.ndarray       # float32 [10]
    logits_after: np.ndarray        # float32 [10], the network's GAP of the ablated class maps
    probs_before: np.ndarray        # float32 [10], softmax
    probs_after: np.ndarray
    logit_change: np.ndarray        # after - before
    cell_drop: np.ndarray           # per class: the zeroed cells' values summed / cells per map, what zeroing takes off
    predicted_before: int
    predicted_after: int
    class_maps_before: np.ndarray   # float32 [10, H, W]
    class_maps_after: np.ndarray    # float32 [10, H, W], with the zeroed cells
    gap_check_max_abs_diff: float   # max |mean of the ablated maps (float64) - the network's logits on them|


def _cell_mask(cells, shape: tuple[int, int, int]) -> np.ndarray:
    """A boolean [classes, H, W] mask from a mask of that shape or a list of (class, row, col)."""
    mask = np.zeros(shape, dtype=bool)
    if cells is None:
        return mask
    array = np.asarray(cells)
    if array.dtype == bool:
        if array.shape != shape:
            raise ValueError(f"a cell mask must have block4's shape {'x'.join(map(str, shape))}; "
                             f"got {'x'.join(map(str, array.shape))}")
        return array.copy()
    if array.size == 0:
        return mask
    if array.ndim != 2 or array.shape[1] != 3 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError("cells must be a boolean mask of block4's shape or a list of (class, row, col) integers")
    for axis, (what, size) in enumerate(zip(("class", "row", "col"), shape)):
        bad = (array[:, axis] < 0) | (array[:, axis] >= size)
        if bad.any():
            raise ValueError(f"cell {tuple(array[bad][0].tolist())}: {what} must be from 0 to {size - 1}")
    mask[tuple(array.T)] = True
    return mask


def channel_count(model: NiN, stage: str) -> int:
    """Channels of a stage's output (a pool keeps its block's): what a channel index of `stage` may reach."""
    _check_choice(stage, ABLATABLE_STAGES + ("block4",), "stage")
    convs = [m for name in [*stages_before(model, stage), stage] for m in getattr(model, name).modules()
             if isinstance(m, nn.Conv2d)]
    return convs[-1].out_channels


def _channel_list(channels, count: int, stage: str) -> list[int]:
    chosen = sorted({_check_int(c, f"a channel of {stage}") for c in (channels or [])})
    for channel in chosen:
        _check_index(channel, count, f"channel of {stage} ({count} channels)")
    return chosen


def ablate(model: NiN, input28: np.ndarray, spec: Preprocessing | None, cells=None,
           stage: str | None = None, channels=None) -> Ablation:
    """Zero block4 cells and/or whole channels of an earlier stage, and run the rest of the network.

    cells: a boolean mask of block4's shape (10x5x5 at 224 px) or a list of (class, row, col).
    stage + channels: zero those channels of `stage` (block1..pool3), then run from there to block4.
    Both may be given: the channels go first, then the cells of the maps that result. The logits after
    are the network's own GAP of the ablated maps, zeros included, so zeroing cell (c, r, k) of value v
    lowers logit c by exactly v / 25 at 224 px, and nothing else.
    """
    if stage is None and channels:
        raise ValueError("channels need a stage to zero them in (one of " + ", ".join(ABLATABLE_STAGES) + ")")
    if stage is not None:
        _check_choice(stage, ABLATABLE_STAGES, "stage")
    with torch.inference_mode():
        logits_before, stages = model.forward_with_stages(prepare(model, input28, spec))
        maps = stages["block4"]
        chosen = []
        if stage is not None:
            features = stages[stage].clone()
            chosen = _channel_list(channels, features.shape[1], stage)
            features[:, chosen] = 0
            maps = run_stages(model, features, stages_after(model, stage, until="block4"))
        mask = _cell_mask(cells, tuple(maps.shape[1:]))
        ablated = maps.masked_fill(torch.from_numpy(mask).to(maps.device)[None], 0.0)
        logits_after = run_stages(model, ablated, stages_after(model, "block4"))
    maps_after = ablated[0].double().cpu().numpy()
    after = to_numpy(logits_after[0])
    before = to_numpy(logits_before[0])
    return Ablation(
        stage=stage, channels=chosen, cells=np.argwhere(mask).tolist(),
        logits_before=before, logits_after=after,
        probs_before=to_numpy(torch.softmax(logits_before[0].float(), 0)),
        probs_after=to_numpy(torch.softmax(logits_after[0].float(), 0)),
        logit_change=after - before,
        cell_drop=(maps[0].double().cpu().numpy() * mask).sum(axis=(1, 2)) / (mask.shape[1] * mask.shape[2]),
        predicted_before=int(before.argmax()), predicted_after=int(after.argmax()),
        class_maps_before=to_numpy(stages["block4"][0]), class_maps_after=maps_after.astype(np.float32),
        gap_check_max_abs_diff=float(np.abs(maps_after.mean(axis=(1, 2)) - after).max()),
    )


# ----------------------------------------------------------------------------- 4. translation

@dataclass(frozen=True, eq=False)
class Translation(Lesson):
    """The same image before and after a shift: class maps, logits, and how far the tracked map moved."""

    dx: int                              # pixels of the 28x28 image, positive = right
    dy: int                              # positive = down
    class_maps_before: np.ndarray        # float32 [10, H, W]
    class_maps_after: np.ndarray
    logits_before: np.ndarray            # float32 [10]
    logits_after: np.ndarray
    max_abs_logit_change: float
    max_abs_map_change: float            # max |after - before| over all class-map cells
    predicted_before: int
    predicted_after: int
    tracked_class: int                   # the class whose map is followed: predicted_before
    centre_before: list[float] | None    # that map's centre of mass as [row, col] in block4 cells; None if all 0
    centre_after: list[float] | None
    measured_shift_cells: list[float] | None  # centre_after - centre_before, [down, right]
    expected_shift_cells: list[float]    # [dy, dx] * (input_size / 28) / 32: what a pure shift of the maps would be
    shifted28: np.ndarray = field(repr=False, metadata=DRAWING_ONLY)  # uint8 [28, 28], the shifted input


def shift_image(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """`image` moved dx px right and dy px down (negative: left, up); what moves in is black."""
    height, width = image.shape
    shifted = np.zeros_like(image)
    shifted[max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
        image[max(-dy, 0):height - max(dy, 0), max(-dx, 0):width - max(dx, 0)]
    return shifted


def centre_of_mass(values: np.ndarray) -> list[float] | None:
    """[row, col] of a non-negative 2-D map's centre of mass in cell units; None for an all-zero map."""
    total = float(values.sum())
    if total <= 0:
        return None
    rows, cols = np.indices(values.shape)
    return [float((rows * values).sum() / total), float((cols * values).sum() / total)]


def translate(model: NiN, input28: np.ndarray, spec: Preprocessing | None, dx: int, dy: int) -> Translation:
    """Shift the 28x28 input by whole pixels and compare both passes.

    At 224 px one pixel of the 28x28 image is 8 px of network input, and neighbouring block4 cells are
    32 px apart at the input (stride 4 * 2 * 2 * 2), so a 4 px shift of the 28x28 image moves the class
    maps by one cell, and a smaller one by a fraction that the maps can only show as a change of values.
    Convolutions and max pools move with the input (up to their stride and the borders), and GAP throws
    the position away, so the logits change much less than the maps.
    """
    dx, dy = _check_int(dx, "dx"), _check_int(dy, "dy")
    for value, what in ((dx, "dx"), (dy, "dy")):
        if abs(value) > MAX_SHIFT:
            raise ValueError(f"{what} must be from {-MAX_SHIFT} to {MAX_SHIFT} pixels; got {value}")
    image = np.asarray(input28, dtype=np.uint8)
    shifted = shift_image(image, dx, dy)
    with torch.inference_mode():
        logits_before, stages_before_shift = model.forward_with_stages(prepare(model, image, spec))
        logits_after, stages_after_shift = model.forward_with_stages(prepare(model, shifted, spec))
    maps_before, maps_after = to_numpy(stages_before_shift["block4"][0]), to_numpy(stages_after_shift["block4"][0])
    before, after = to_numpy(logits_before[0]), to_numpy(logits_after[0])
    tracked = int(before.argmax())
    centre_before, centre_after = centre_of_mass(maps_before[tracked]), centre_of_mass(maps_after[tracked])
    measured = None if centre_before is None or centre_after is None else \
        [centre_after[0] - centre_before[0], centre_after[1] - centre_before[1]]
    cells_per_pixel = (spec or Preprocessing()).input_size / IMAGE_SIZE / BLOCK4_STRIDE
    return Translation(
        dx=dx, dy=dy, class_maps_before=maps_before, class_maps_after=maps_after,
        logits_before=before, logits_after=after,
        max_abs_logit_change=float(np.abs(after - before).max()),
        max_abs_map_change=float(np.abs(maps_after - maps_before).max()),
        predicted_before=tracked, predicted_after=int(after.argmax()), tracked_class=tracked,
        centre_before=centre_before, centre_after=centre_after, measured_shift_cells=measured,
        expected_shift_cells=[dy * cells_per_pixel, dx * cells_per_pixel], shifted28=shifted,
    )


@dataclass(frozen=True)
class ShiftSurvey(Lesson):
    """One shift applied to many images: how much the class maps and the logits moved, how many predictions flipped."""

    dx: int
    dy: int
    images: int
    flipped: int                    # predictions that changed
    logit_change_median: float      # per image: max |logit after - before|; median and max over the images
    logit_change_max: float
    map_change_median: float        # per image: max |class-map cell after - before|; median over the images
    flipped_index: tuple[int, ...]  # which images flipped


def shift_survey(model: NiN, images28: list[np.ndarray], spec: Preprocessing | None, dx: int, dy: int) -> ShiftSurvey:
    """`translate`'s figures over many images at once (one batch): what the shift does in general, measured."""
    dx, dy = _check_int(dx, "dx"), _check_int(dy, "dy")
    originals = [np.asarray(image, dtype=np.uint8) for image in images28]
    batch = torch.from_numpy(np.stack(originals + [shift_image(image, dx, dy) for image in originals]))
    spec = spec or Preprocessing()
    prepare(model, originals[0], spec)  # refuses a model in training mode
    with torch.inference_mode():
        x = to_model_input(batch, spec.input_size, spec.mean, spec.std).to(next(model.parameters()).device)
        logits, stages = model.forward_with_stages(x)
    logits, maps = to_numpy(logits), to_numpy(stages["block4"])
    count = len(originals)
    logit_change = np.abs(logits[count:] - logits[:count]).max(axis=1)
    map_change = np.abs(maps[count:] - maps[:count]).reshape(count, -1).max(axis=1)
    flipped = np.flatnonzero(logits[count:].argmax(axis=1) != logits[:count].argmax(axis=1))
    return ShiftSurvey(dx, dy, count, len(flipped), float(np.median(logit_change)), float(logit_change.max()),
                       float(np.median(map_change)), tuple(int(i) for i in flipped))


# ----------------------------------------------------------------------------- 5. Grad-CAM is the class map

@dataclass(frozen=True, eq=False)
class GradCAM(Lesson):
    """Grad-CAM on block4 next to the class map it turns out to be, scaled."""

    class_index: int
    gradcam: np.ndarray                  # float64 [H, W]: relu(sum_k w_k A_k) over block4's channels A_k
    class_map: np.ndarray                # float32 [H, W]: block4's map for the class
    channel_weights: list[float]         # w_k = spatial mean of d logit / d A_k: 1/(H*W) for the class, else 0
    scale: float | None                  # least-squares s > 0 in gradcam ~ s * class_map; None for an all-zero map
    expected_scale: float                # 1 / (H * W): GAP's derivative (1/25 at 224 px)
    max_abs_diff_after_scaling: float | None  # max |gradcam - s * class_map| / max(class_map)



def translation_default(pipeline: Pipeline) -> tuple[int, ShiftSurvey, bool]:
    """The translation tab's default shift and what it does, measured on the default weights at start-up.

    The default is the largest of 4, 3, 2, 1 px that keeps DEFAULT_EXAMPLE's prediction (4 px is one block4
    cell), and whether one did; the survey is that shift over every shipped example, for the tab's heading.
    One batch, ~50 forward passes.
    """
    loaded = pipeline.models[pipeline.default_key]
    images = pipeline.example_inputs()
    kept = [dx for dx in (4, 3, 2, 1)
            if not shift_survey(loaded.model, [images[DEFAULT_EXAMPLE]], loaded.preprocessing, dx, 0).flipped]
    dx = kept[0] if kept else 4
    return dx, shift_survey(loaded.model, list(images.values()), loaded.preprocessing, dx, 0), bool(kept)


def gradcam(model: NiN, input28: np.ndarray, spec: Preprocessing | None, class_index: int) -> GradCAM:
    """Grad-CAM (Selvaraju et al. 2017) on block4, by autograd, for one class.

    The logit of class c is the mean of block4's map c, so d logit / d A_k is 1/25 everywhere for k = c
    and 0 for every other map; Grad-CAM's weights are then (1/25, 0, ...) and its map is A_c / 25.
    """
    class_index = _check_int(class_index, "class_index")
    classes = model.block4[4].out_channels
    _check_index(class_index, classes, f"class_index ({classes} classes)")
    x = prepare(model, input28, spec)
    # The app may call this inside inference mode, whose tensors autograd refuses: leave it explicitly.
    with torch.inference_mode(False), torch.enable_grad():
        with torch.no_grad():
            maps = run_stages(model, x, stages_before(model, "gap"))
        maps = maps.detach().requires_grad_(True)
        logits = run_stages(model, maps, stages_after(model, "block4"))
        # autograd.grad, not backward(): the parameters' .grad stay untouched.
        (grads,) = torch.autograd.grad(logits[0, class_index], maps)
    activations = maps[0].detach().double().cpu().numpy()
    weights = grads[0].double().cpu().numpy().mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(weights, activations, axes=1), 0.0)
    class_map = activations[class_index]
    height, width = class_map.shape
    norm = float((class_map ** 2).sum())
    scale = float((cam * class_map).sum() / norm) if norm > 0 else None
    diff = None if scale is None else float(np.abs(cam - scale * class_map).max() / class_map.max())
    return GradCAM(class_index, cam, class_map.astype(np.float32), weights.tolist(), scale,
                   1.0 / (height * width), diff)


__all__ = ["mlp_at", "ablate", "translate", "gradcam", "shift_survey", "translation_default", "shift_image", "centre_of_mass",
           "channel_count", "PixelMLP", "Ablation", "Translation", "ShiftSurvey", "GradCAM", "BLOCKS",
           "ABLATABLE_STAGES", "MAX_SHIFT", "BLOCK4_STRIDE"]
