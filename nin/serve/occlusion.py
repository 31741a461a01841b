"""A second opinion on CAM: cover part of the input with a grey patch and see how much the prediction drops.

Occlusion (Zeiler & Fergus 2014) asks the network directly: a grey square slides over the 28x28 input in steps
of 4 px, and each position's drop in the predicted class's probability becomes a map. CAM reads the evidence
off block4's class map instead; `spearman` says how well the two rankings of the positions agree (CAM taken
as its mean under each patch).

Fast because a patch only changes part of every feature map: `occluded_logits` runs each stage up to pool3 on
the cells the patch can reach (plus the kernel's halo), batched over all positions, and pastes them into the
unoccluded pass; block4 and GAP then run on the whole 5x5 maps. The result equals the plain batched forward
pass up to float rounding (a test checks it). numpy and torch only: no pictures, no UI.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nin.names import IMAGE_SIZE
from nin.data import TRAIN_MEAN, to_model_input
from nin.serve.explain import Explanation, explain, network_input
from nin.model import CLASS_NAMES, NiN, Preprocessing

PATCH_SIZES = (4, 8, 12)        # side of the grey square, px of the 28x28 input
STRIDE = 4                      # px between positions: 7x7, 6x6 and 5x5 positions for the sizes above
GREY = round(TRAIN_MEAN * 255)  # the training images' mean pixel (73 of 255): "no information", not black
CHUNK = 12                      # occluded inputs per batched pass
INCREMENTAL_STAGES = ("block1", "pool1", "block2", "pool2", "block3", "pool3")


def positions(patch: int, stride: int = STRIDE, side: int = IMAGE_SIZE) -> list[int]:
    """Top-left offsets of the patch along one axis; the last one ends at the image's edge for PATCH_SIZES."""
    return list(range(0, side - patch + 1, stride))


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation of two equally long value lists (ties get their average rank); None when
    either list is constant (the correlation is undefined)."""
    ra, rb = _ranks(np.ravel(a)), _ranks(np.ravel(b))
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.float64)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    _, first, counts = np.unique(values[order], return_index=True, return_counts=True)
    for start, count in zip(first, counts):
        if count > 1:
            ranks[order[start:start + count]] = start + (count - 1) / 2
    return ranks


def occluded_images(input28: np.ndarray, patch: int, grey: int = GREY, stride: int = STRIDE) -> tuple[np.ndarray, list]:
    """uint8 [P, 28, 28]: the input with the patch at every position (row-major), and the (top, left) offsets."""
    offsets = [(r, c) for r in positions(patch, stride) for c in positions(patch, stride)]
    images = np.repeat(np.asarray(input28, np.uint8)[None], len(offsets), axis=0)
    for i, (r, c) in enumerate(offsets):
        images[i, r:r + patch, c:c + patch] = grey
    return images, offsets


def _geometry(module: nn.Module) -> tuple[int, int, int]:
    first = module[0] if isinstance(module, nn.Sequential) else module
    pick = lambda v: int(v[0] if isinstance(v, tuple) else v)  # noqa: E731 (square kernels only)
    return pick(first.kernel_size), pick(first.stride), pick(first.padding)


def _run_cropped(module: nn.Module, crops: torch.Tensor) -> torch.Tensor:
    """`module` on crops that already hold their padding: the spatial layer without padding, the rest as is."""
    if isinstance(module, nn.Sequential):
        conv = module[0]
        out = F.conv2d(crops, conv.weight, conv.bias, stride=conv.stride, padding=0)
        return module[1:](out)
    return F.max_pool2d(crops, module.kernel_size, module.stride, padding=0, ceil_mode=module.ceil_mode)


def _cells_reached(lo: int, hi: int, k: int, s: int, p: int, out: int) -> tuple[int, int]:
    """Output cells [first, last] whose window (k wide, stride s, padding p) touches input cells [lo, hi)."""
    return max(0, (lo + p - k) // s + 1), min(out - 1, -((-(hi + p)) // s) - 1)


@torch.inference_mode()
def occluded_logits(model: NiN, base: dict[str, torch.Tensor], x_occluded: torch.Tensor,
                    dirty: list[tuple[int, int, int, int]]) -> torch.Tensor:
    """Logits [P, 10] of P network inputs that differ from the unoccluded one only inside `dirty` rectangles.

    base: the unoccluded pass, {"input": [1, 1, S, S], stage: [1, C, H, W]} for INCREMENTAL_STAGES.
    x_occluded: [P, 1, S, S]; dirty[i] = (top, bottom, left, right), exclusive ends, network-input pixels.
    Each stage computes only the cells whose window reaches the previous stage's changed rectangle; all
    rectangles of a batch are made the same size (moved inside the map where the edge cuts them), so a stage
    is one batched call. Cells outside the rectangles equal the unoccluded pass, so they are taken from it.
    """
    batch = len(dirty)
    boxes = np.asarray(dirty, np.int64)
    height = int((boxes[:, 1] - boxes[:, 0]).max())
    width = int((boxes[:, 3] - boxes[:, 2]).max())
    side = x_occluded.shape[-1]
    top = np.minimum(boxes[:, 0], side - height)
    left = np.minimum(boxes[:, 2], side - width)
    values = torch.stack([x_occluded[i, :, t:t + height, c:c + width] for i, (t, c) in enumerate(zip(top, left))])
    previous = base["input"]
    for name in INCREMENTAL_STAGES:
        module = getattr(model, name)
        k, s, p = _geometry(module)
        out = base[name].shape[-1]
        rows = [_cells_reached(t, t + height, k, s, p, out) for t in top]
        cols = [_cells_reached(c, c + width, k, s, p, out) for c in left]
        out_h = max(b - a + 1 for a, b in rows)
        out_w = max(b - a + 1 for a, b in cols)
        first_row = [min(a, out - out_h) for a, _ in rows]
        first_col = [min(a, out - out_w) for a, _ in cols]
        padded = F.pad(previous, (p, p, p, p)) if p else previous
        span_h, span_w = (out_h - 1) * s + k, (out_w - 1) * s + k
        crops = []
        for i in range(batch):
            r0, c0 = first_row[i] * s, first_col[i] * s            # window origin, padded coordinates
            crop = padded[0, :, r0:r0 + span_h, c0:c0 + span_w].clone()
            # The changed values, where they fall inside this window.
            y0, x0 = int(top[i]) + p - r0, int(left[i]) + p - c0
            ys, xs = max(0, y0), max(0, x0)
            ye, xe = min(span_h, y0 + height), min(span_w, x0 + width)
            if ye > ys and xe > xs:
                crop[:, ys:ye, xs:xe] = values[i, :, ys - y0:ye - y0, xs - x0:xe - x0]
            crops.append(crop)
        values = _run_cropped(module, torch.stack(crops))
        top, left = np.asarray(first_row), np.asarray(first_col)
        height, width = out_h, out_w
        previous = base[name]
    maps = previous.expand(batch, -1, -1, -1).clone()
    for i in range(batch):
        maps[i, :, top[i]:top[i] + height, left[i]:left[i] + width] = values[i]
    for name in ("dropout", "block4", "gap", "flatten"):
        maps = getattr(model, name)(maps)
    return maps


def changed_rectangles(offsets: list[tuple[int, int]], patch: int, spec: Preprocessing) -> list[tuple[int, int, int, int]]:
    """Where each patch changes the network input: its square, widened by the bilinear resize's reach.

    The resize is separable, so one axis tells: network-input pixel y is reached by 28x28 pixel i when the
    resize's weight of i in y is not zero (`reach`, from resizing each one-hot row once).
    """
    reach = _resize_reach(spec.input_size)                        # bool [input_size, 28]
    spans = {}
    for start in {r for r, _ in offsets} | {c for _, c in offsets}:
        hit = np.flatnonzero(reach[:, start:start + patch].any(axis=1))
        spans[start] = (int(hit[0]), int(hit[-1]) + 1)
    return [(*spans[r], *spans[c]) for r, c in offsets]


@functools.lru_cache(maxsize=4)
def _resize_reach(size: int) -> np.ndarray:
    one_hot = torch.eye(IMAGE_SIZE)[:, None, :, None].expand(IMAGE_SIZE, 1, IMAGE_SIZE, 1)  # each pixel alone
    resized = F.interpolate(one_hot, size=(size, 1), mode="bilinear", align_corners=False)  # as to_model_input
    reach = (resized[:, 0, :, 0] > 0).T.numpy()
    reach.flags.writeable = False
    return reach


@dataclass(frozen=True, eq=False)
class Occlusion:
    """How much covering each part of the input lowers the predicted class's probability, beside CAM."""

    patch: int                      # side of the grey square, px of the 28x28 input
    stride: int
    grey: int                       # the patch's pixel value, 0-255
    offsets: list[int]              # top (= left) offsets along each axis; grid[i][j] is at (offsets[i], offsets[j])
    class_index: int                # the class predicted for the unoccluded input
    probability: float              # its probability without occlusion
    grid: np.ndarray                # float32 [n, n]: probability without - with the patch there (> 0: it mattered)
    occluded_probability: np.ndarray  # float32 [n, n]
    cam_grid: np.ndarray            # float32 [n, n]: the class's CAM (5x5 map, bilinear to the input) under each patch
    spearman: float | None          # rank correlation of grid and cam_grid over the positions
    forward_passes: int
    server_ms: float
    pixel_map: np.ndarray = field(repr=False)   # float32 [28, 28]: mean drop of the patches covering each pixel
    cam: np.ndarray = field(repr=False)         # float32 [S, S]: the CAM itself, for drawing
    input224: np.ndarray = field(repr=False)    # float32 [S, S] in [0, 1]: the network input before normalising

    def to_json(self) -> dict:
        n = len(self.offsets)
        return {
            "patch": self.patch, "stride": self.stride, "grey": self.grey, "offsets": self.offsets,
            "grid_shape": [n, n], "class_index": self.class_index, "class_name": CLASS_NAMES[self.class_index],
            "probability": self.probability,
            "grid": np.round(self.grid, 5).tolist(),
            "occluded_probability": np.round(self.occluded_probability, 5).tolist(),
            "cam_grid": np.round(self.cam_grid, 5).tolist(),
            "spearman": None if self.spearman is None else round(self.spearman, 4),
            "forward_passes": self.forward_passes, "server_ms": round(self.server_ms, 1),
            "grid_means": "grid[i][j]: the predicted class's probability without the patch minus with the patch "
                          "at row offsets[i], column offsets[j] (px of 28x28)",
        }


def occlusion(model: NiN, input28: np.ndarray, spec: Preprocessing | None, patch: int,
              explanation: Explanation | None = None) -> Occlusion:
    """Slide a `patch`-px grey square over the 28x28 input (stride 4) and compare the drops with CAM.

    `explanation`: the unoccluded pass of this model on this input, when the caller has it already.
    """
    if isinstance(patch, bool) or patch not in PATCH_SIZES:
        raise ValueError(f"patch must be one of {', '.join(map(str, PATCH_SIZES))} px; got {patch!r}")
    if model.training:
        raise ValueError("the model is in training mode; call model.eval() first")
    started = time.perf_counter()
    spec = spec or Preprocessing()
    patch = int(patch)
    if explanation is None:
        explanation = explain(model, input28, spec)        # the unoccluded pass: logits, CAM, every stage
    predicted = explanation.predicted
    images, offsets = occluded_images(input28, patch)
    x = to_model_input(torch.from_numpy(images), spec.input_size, spec.mean, spec.std)
    x_base = network_input(input28, spec)
    base = {"input": x_base, **{name: torch.from_numpy(explanation.stages[name])[None]
                                 for name in INCREMENTAL_STAGES}}
    rectangles = changed_rectangles(offsets, patch, spec)
    # In chunks: a few positions at a time keep every buffer small enough for the allocator to reuse, where one
    # batch of 49 costs ~50 ms of page faults per request (measured), and the arithmetic is the same.
    logits = torch.cat([occluded_logits(model, base, x[i:i + CHUNK], rectangles[i:i + CHUNK])
                        for i in range(0, len(offsets), CHUNK)])
    probs = torch.softmax(logits.float(), dim=1)[:, predicted].numpy()
    n = len(positions(patch))
    occluded_probability = probs.reshape(n, n).astype(np.float32)
    probability = float(explanation.probs[predicted])
    grid = (probability - occluded_probability).astype(np.float32)
    cam = explanation.cam(predicted, spec.input_size)
    scale = spec.input_size / IMAGE_SIZE
    cam_grid = np.array([[cam[int(r * scale):int((r + patch) * scale), int(c * scale):int((c + patch) * scale)].mean()
                          for c in positions(patch)] for r in positions(patch)], np.float32)
    covered, total = np.zeros((IMAGE_SIZE, IMAGE_SIZE)), np.zeros((IMAGE_SIZE, IMAGE_SIZE))
    for (r, c), drop in zip(offsets, grid.ravel()):
        total[r:r + patch, c:c + patch] += drop
        covered[r:r + patch, c:c + patch] += 1
    return Occlusion(
        patch=patch, stride=STRIDE, grey=GREY, offsets=positions(patch), class_index=predicted,
        probability=probability, grid=grid, occluded_probability=occluded_probability, cam_grid=cam_grid,
        spearman=spearman(grid, cam_grid), forward_passes=len(offsets),
        server_ms=(time.perf_counter() - started) * 1e3,
        pixel_map=(total / np.maximum(covered, 1)).astype(np.float32), cam=cam, input224=explanation.input224,
    )


__all__ = ["occlusion", "Occlusion", "occluded_logits", "occluded_images", "changed_rectangles", "spearman",
           "positions", "PATCH_SIZES", "STRIDE", "GREY"]
