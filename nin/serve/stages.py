"""What every lesson of nin/serve/lessons.py does with the network: run it stage by stage from a checked
input, and hand its result back as plain JSON (numpy arrays meant only for drawing left out).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from nin.model import NiN, Preprocessing
from nin.serve.explain import network_input

DRAWING_ONLY = {"json": False}  # field metadata: kept on the object for pictures, left out of to_json()


def as_json(value):
    """Dataclasses, numpy arrays and numpy scalars as plain JSON types; DRAWING_ONLY fields are left out."""
    if dataclasses.is_dataclass(value):
        return {f.name: as_json(getattr(value, f.name))
                for f in dataclasses.fields(value) if f.metadata.get("json", True)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


class Lesson:
    """A lesson's result: `to_json()` is its fields as plain JSON types."""

    def to_json(self) -> dict:
        return as_json(self)


def stages_before(model: NiN, stage: str) -> list[str]:
    names = [name for name, _ in model.named_children()]
    return names[:names.index(stage)]


def stages_after(model: NiN, stage: str, until: str | None = None) -> list[str]:
    """The stages after `stage`, up to and including `until` (to the logits when None)."""
    names = [name for name, _ in model.named_children()]
    stop = len(names) if until is None else names.index(until) + 1
    return names[names.index(stage) + 1:stop]


def run_stages(model: NiN, x: torch.Tensor, names: list[str]) -> torch.Tensor:
    for name in names:
        x = getattr(model, name)(x)
    return x


def prepare(model: NiN, input28: np.ndarray, spec: Preprocessing | None) -> torch.Tensor:
    if model.training:
        # Dropout would zero a random half of pool3 and every check below would fail at random.
        raise ValueError("the model is in training mode; call model.eval() before running a lesson")
    return network_input(input28, spec).to(next(model.parameters()).device)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().float().cpu().numpy()
