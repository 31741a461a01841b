"""What each channel looks for: receptive fields from the layer geometry, and the test images that excite it most.

A channel's response to an image is its largest value over the map (where it fires hardest); the images with
the largest responses, and the receptive field of the cell where each fired, show what the channel is
tuned to. `stage_maxima` computes those responses for a batch of images in one forward pass per batch;
`top_images` ranks them; `receptive_field` walks the network's convs and pools to say which input pixels a
cell of any stage sees. The precomputed top-9 lists come from `python -m nin.dev.precompute_explorers` and are
read through `nin.serve.explorer_bank`. numpy and torch only: no pictures (that is `nin.render.explorer_panels`), no UI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nin.names import IMAGE_SIZE
from nin.data import to_model_input
from nin.model import CLASS_NAMES, FEATURE_STAGES, NiN, Preprocessing

TOP_K = 9  # images kept per channel: a 3x3 grid


@dataclass(frozen=True)
class ReceptiveField:
    """Which input pixels one cell of a stage's output sees, from the kernels, strides and paddings before it."""

    stage: str
    size: int      # side of the square of network-input pixels a cell away from the edges sees
    stride: int    # network-input pixels between neighbouring cells
    start: float   # centre of cell (0, 0)'s full field, in network-input pixel indices (may lie outside the image)
    layers: tuple[tuple[int, int, int, int], ...] = ()  # (kernel, stride, padding, input side) of every conv and pool

    def span(self, index: int) -> tuple[int, int]:
        """Network-input pixels [first, last + 1) that cell `index` of one axis sees, walked back layer by layer
        and cut at every layer's edge: near the right and bottom edges a stride can leave input pixels that no
        cell of the next layer reads (block1's 54 cells stop at pixel 222 of 224, pool1 skips its last row)."""
        first = last = index
        for kernel, stride, padding, side in reversed(self.layers):
            first, last = max(0, first * stride - padding), min(side - 1, last * stride - padding + kernel - 1)
        return first, last + 1

    def box(self, row: int, col: int, input_size: int, image_size: int = IMAGE_SIZE) -> list[float]:
        """[left, top, right, bottom] of cell (row, col)'s field in the 28x28 image's coordinates (pixel i spans
        [i, i + 1)): network-input pixel y spans [y, y + 1) * image_size / input_size."""
        scale = image_size / input_size
        (left, right), (top, bottom) = self.span(col), self.span(row)
        return [left * scale, top * scale, right * scale, bottom * scale]


def _pair(value) -> int:
    value = value[0] if isinstance(value, tuple) else value
    return int(value)


def receptive_fields(model: NiN, input_size: int = 224) -> dict[str, ReceptiveField]:
    """The receptive field of every stage in FEATURE_STAGES, walked through the model's own modules.

    A layer with kernel k, stride s and padding p widens the field by (k - 1) jumps of the layer before it and
    multiplies the jump by s; the first cell's centre moves by ((k - 1) / 2 - p) jumps. 1x1 convs, ReLUs and
    dropout change nothing. Each layer's input side is kept too, so a cell's exact pixels can be walked back.
    """
    size, jump, start, side, layers = 1, 1, 0.0, input_size, []
    fields = {}
    for name, stage in model.named_children():
        for module in stage.modules() if isinstance(stage, nn.Sequential) else [stage]:
            if isinstance(module, (nn.Conv2d, nn.MaxPool2d)):
                k, s, p = _pair(module.kernel_size), _pair(module.stride), _pair(module.padding)
                layers.append((k, s, p, side))
                start += ((k - 1) / 2 - p) * jump
                size += (k - 1) * jump
                jump *= s
                side = (side + 2 * p - k) // s + 1
        if name in FEATURE_STAGES:
            fields[name] = ReceptiveField(name, size, jump, start, tuple(layers))
    return fields


def channel_counts(model: NiN) -> dict[str, int]:
    """Channels of each stage's output: a pool keeps the channels of the block before it."""
    counts, channels = {}, None
    for name, stage in model.named_children():
        convs = [m for m in stage.modules() if isinstance(m, nn.Conv2d)]
        channels = convs[-1].out_channels if convs else channels
        if name in FEATURE_STAGES:
            counts[name] = channels
    return counts


@torch.inference_mode()
def stage_maxima(model: NiN, images_u8: torch.Tensor, spec: Preprocessing,
                 stages=FEATURE_STAGES) -> tuple[dict, dict, torch.Tensor]:
    """One fp32 forward pass over a batch of uint8 [B, 28, 28] images (channels_last: faster on CPU, same numbers).

    Returns ({stage: float32 [B, C] largest value of each channel's map}, {stage: int64 [B, C] flat position of
    that value in the map (the first on ties)}, float32 [B, 384] pool3 averaged over space: the feature vector
    block4 turns into class maps).
    """
    x = to_model_input(images_u8, spec.input_size, spec.mean, spec.std)
    x = x.to(next(model.parameters()).device, memory_format=torch.channels_last)
    _, outputs = model.forward_with_stages(x)
    maxima, where = {}, {}
    for stage in stages:
        flat = outputs[stage].float().flatten(2)
        maxima[stage], where[stage] = flat.max(dim=2)
    features = outputs["pool3"].float().mean(dim=(2, 3))
    return maxima, where, features


def top_images(values: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Indices of the k largest values of each column of [N, C], largest first; ties go to the lower index."""
    values = np.asarray(values)
    order = np.argsort(-values, axis=0, kind="stable")  # stable: equal values keep test-index order
    return order[:k].T.copy()  # [C, k]


@dataclass(frozen=True)
class ChannelTop:
    """A channel's most exciting official test images, as the precomputed file holds them."""

    stage: str
    index: int
    channels: int                    # channels of this stage
    weights: str                     # the weight file these were computed with
    weights_sha256: str
    receptive_field: ReceptiveField
    test_indices: tuple[int, ...]    # into the official test set, strongest first
    labels: tuple[int, ...]
    activations: tuple[float, ...]   # the channel's largest value over its map for that image (fp32)
    cells: tuple[tuple[int, int], ...]  # (row, col) where that largest value is
    boxes: tuple[tuple[float, ...], ...]  # that cell's receptive field in 28x28 coordinates [left, top, right, bottom]

    def to_json(self) -> dict:
        rf = self.receptive_field
        return {
            "stage": self.stage, "index": self.index, "channels": self.channels, "weights": self.weights,
            "weights_sha256": self.weights_sha256,
            "activation": "largest value of the channel's map for that image",
            "receptive_field": {"size_px": rf.size, "stride_px": rf.stride,
                                "size_px_of_28": round(rf.size * IMAGE_SIZE / 224, 3)},
            "top": [{"test_index": int(t), "label": int(y), "class_name": CLASS_NAMES[int(y)],
                     "activation": float(a), "row": int(r), "col": int(c), "box": [round(v, 3) for v in box]}
                    for t, y, a, (r, c), box in zip(self.test_indices, self.labels, self.activations, self.cells,
                                                    self.boxes)],
        }


def block1_kernel(model: NiN, index: int) -> np.ndarray:
    """float32 [11, 11]: block1's first conv kernel of channel `index` (the only conv that sees pixels)."""
    return model.block1[0].weight.detach()[index, 0].float().cpu().numpy()


__all__ = ["ReceptiveField", "receptive_fields", "channel_counts", "stage_maxima", "top_images", "ChannelTop",
           "block1_kernel", "TOP_K"]
