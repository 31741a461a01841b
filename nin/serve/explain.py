"""One forward pass, laid open: stage outputs, class maps, global average pooling, softmax, CAM.

Numbers only: this module turns a preprocessed 28x28 image into an `Explanation` of plain numpy arrays.
It draws nothing (that is `nin.render.heatmaps`) and decodes nothing (that is `nin.serve.preprocess`). Every number the
app shows comes from here, so the page can never disagree with the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nin.data import normalise, to_model_input
from nin.model import CLASS_NAMES, FEATURE_STAGES, INPUT_SIZE, NiN, Preprocessing


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value, and Gradio hashes values
class Explanation:
    """Everything one pass of the network computed for one image."""

    input28: np.ndarray            # uint8 [28, 28], what preprocessing produced
    input224: np.ndarray           # float32 [224, 224] in [0, 1], the resized image before normalisation
    stages: dict[str, np.ndarray]  # FEATURE_STAGES -> float32 [C, H, W] activations
    logits: np.ndarray             # float32 [10], the model's output: the GAP of block4, printed as each map's mean
    probs: np.ndarray              # float32 [10], softmax of the logits

    @property
    def class_maps(self) -> np.ndarray:
        """block4's output: one 5x5 map per class; GAP averages each into that class's score."""
        return self.stages["block4"]

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.logits))

    def top_classes(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.probs)[:k]
        return [(CLASS_NAMES[i], float(self.probs[i])) for i in order]

    def cam(self, class_index: int | None = None, size: int = INPUT_SIZE) -> np.ndarray:
        """A class activation map: that class's 5x5 map upsampled to the input, float32 [size, size], unnormalised.

        Without an FC layer the class map *is* the evidence for the class at each place, so no extra
        weights are needed (unlike CAM on networks with a classifier head).
        """
        index = self.predicted if class_index is None else int(class_index)
        class_map = torch.from_numpy(np.ascontiguousarray(self.class_maps[index]))[None, None]
        upsampled = torch.nn.functional.interpolate(class_map, size=(size, size), mode="bilinear", align_corners=False)
        return upsampled[0, 0].numpy()

    def top_channels(self, stage: str, k: int | None = 16) -> np.ndarray:
        """Channel indices of `stage` by mean activation, most active first; all of them when k is None."""
        means = self.stages[stage].mean(axis=(1, 2))
        order = np.argsort(-means, kind="stable")
        return order if k is None else order[:k]


def network_input(input28: np.ndarray, spec: Preprocessing | None = None) -> torch.Tensor:
    """float32 [1, 1, S, S]: a uint8 28x28 image as `spec`'s network takes it (nin.data.to_model_input)."""
    spec = spec or Preprocessing()
    images = torch.from_numpy(np.ascontiguousarray(input28, dtype=np.uint8))[None]
    return to_model_input(images, spec.input_size, spec.mean, spec.std)


@torch.inference_mode()
def explain(model: NiN, input28: np.ndarray, preprocessing: Preprocessing | None = None) -> Explanation:
    """Run `model` once on a uint8 28x28 image and keep every stage's output."""
    spec = preprocessing or Preprocessing()
    unnormalised = network_input(input28, Preprocessing(spec.input_size))  # kept for drawing the CAM over it
    x = normalise(unnormalised, spec.mean, spec.std)
    device = next(model.parameters()).device
    logits, stages = model.forward_with_stages(x.to(device))
    logits = logits[0].float().cpu()
    return Explanation(
        input28=np.asarray(input28, dtype=np.uint8),
        input224=unnormalised[0, 0].numpy(),
        stages={name: stages[name][0].float().cpu().numpy() for name in FEATURE_STAGES},
        logits=logits.numpy(),
        probs=torch.softmax(logits, dim=0).numpy(),
    )
