"""Network in Network (Lin, Chen & Yan 2013, arXiv 1312.4400), exactly as the d2l chapter builds it.

This module holds the network, its live shape table and its safetensors weight I/O, nothing else:
no data, no training loop, no pictures. Its stage names (`block1`, `pool1`, ..., `gap`, `flatten`, from
nin/names.py) are the one vocabulary the whole project uses.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from nin.files import write_atomically
# The ten class names and the stage names live in nin/names.py (no torch), so the pictures can use them too.
from nin.names import CLASS_NAMES, FEATURE_STAGES, NUM_CLASSES, STAGES, class_slug  # noqa: F401

INPUT_SIZE = 224  # the d2l chapter resizes 28x28 Fashion-MNIST to 224x224


def nin_block(in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int) -> nn.Sequential:
    """One NiN block: a spatial conv followed by two 1x1 convs (the "micro network"), each with ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
    )


class NiN(nn.Sequential):
    """The d2l NiN: four NiN blocks, max pools between them, and global average pooling instead of FC layers."""

    def __init__(self, num_classes: int = NUM_CLASSES, dropout: float = 0.5):
        super().__init__(OrderedDict([
            ("block1", nin_block(1, 96, kernel_size=11, stride=4, padding=0)),
            ("pool1", nn.MaxPool2d(3, stride=2)),
            ("block2", nin_block(96, 256, kernel_size=5, stride=1, padding=2)),
            ("pool2", nn.MaxPool2d(3, stride=2)),
            ("block3", nin_block(256, 384, kernel_size=3, stride=1, padding=1)),
            ("pool3", nn.MaxPool2d(3, stride=2)),
            ("dropout", nn.Dropout(dropout)),
            # The last block has one channel per class: its maps are the class maps that GAP averages.
            ("block4", nin_block(384, num_classes, kernel_size=3, stride=1, padding=1)),
            ("gap", nn.AdaptiveAvgPool2d((1, 1))),
            ("flatten", nn.Flatten()),
        ]))

    def forward_with_stages(self, x: torch.Tensor) -> tuple[torch.Tensor, OrderedDict[str, torch.Tensor]]:
        """Return the logits and every stage's output from the same single pass."""
        stages: OrderedDict[str, torch.Tensor] = OrderedDict()
        for name, module in self.named_children():
            x = module(x)
            stages[name] = x
        return x, stages


def xavier_init_(model: nn.Module) -> nn.Module:
    """The d2l initialisation: xavier_uniform on conv weights (kaiming made this BatchNorm-free net collapse)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.xavier_uniform_(module.weight)
    return model


def unwrap(model: nn.Module) -> nn.Module:
    """The network inside DistributedDataParallel (`.module`) and torch.compile (`._orig_mod`) wrappers, whose
    state-dict keys carry those prefixes; a plain module is returned as it is."""
    model = getattr(model, "module", model)
    return getattr(model, "_orig_mod", model)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def layer_table(input_size: int = INPUT_SIZE, model: NiN | None = None) -> list[tuple[str, tuple[int, ...], int]]:
    """Rows of (stage, output shape without batch, parameter count), measured on the live module."""
    model = model if model is not None else NiN()
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        _, stages = model.forward_with_stages(torch.zeros(1, 1, input_size, input_size, device=device))
    model.train(was_training)
    return [
        (name, tuple(out.shape[1:]), parameter_count(getattr(model, name)))
        for name, out in stages.items()
    ]


# ----------------------------------------------------------------------------- weight I/O (safetensors only)

class WeightsError(ValueError):
    """A weight file is missing, unreadable or does not fit this network. The message names the file."""


def save_weights(model: nn.Module, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Write the state dict as safetensors; metadata values are stored as JSON strings (safetensors wants str->str)."""
    from safetensors.torch import save_file

    # DDP/compile wrappers prefix keys; strip them so files always load into a plain NiN.
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in unwrap(model).state_dict().items()}
    meta = {"format": "pt", "architecture": "d2l-NiN"}
    meta.update({k: json.dumps(v) for k, v in (metadata or {}).items()})
    # Never leave a half-written weight file behind.
    return write_atomically(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=meta))


@dataclass(frozen=True)
class Preprocessing:
    """How a weight file's network wants its input: the 28x28 image resized bilinearly to input_size,
    scaled to [0, 1], then standardised as (x - mean) / std (nin.data.to_model_input does exactly this)."""

    input_size: int = INPUT_SIZE  # side of the network input; 224 is where block4's class maps are 5x5
    mean: float = 0.0             # subtracted after scaling to [0, 1]; the d2l seed does not normalise
    std: float = 1.0              # divided by after the mean

    def to_json(self) -> dict:
        return asdict(self)


def preprocessing_of(metadata: dict) -> Preprocessing:
    """The input size and normalisation a weight file was trained with; the d2l seed's 224 / 0 / 1 when absent."""
    spec = metadata.get("preprocessing") or {}
    return Preprocessing(int(spec.get("input_size", INPUT_SIZE)), float(spec.get("mean", 0.0)),
                         float(spec.get("std", 1.0)))


def read_metadata(path: str | os.PathLike) -> dict:
    """The JSON-decoded metadata of a weight file, without loading tensors."""
    from safetensors import safe_open

    path = Path(path)
    _check_exists(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise WeightsError(f"{path}: not a readable safetensors file ({exc})") from exc
    return {k: _maybe_json(v) for k, v in raw.items()}


def load_weights(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[NiN, dict]:
    """Build a NiN, load `path` into it after checking every key and shape, and return it in eval mode."""
    from safetensors.torch import load_file

    path = Path(path)
    _check_exists(path)
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as exc:
        raise WeightsError(f"{path}: not a readable safetensors file, it may be truncated or corrupt ({exc})") from exc
    model = NiN()
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = sorted(
        f"{k}: file has {tuple(tensors[k].shape)}, NiN needs {tuple(expected[k].shape)}"
        for k in set(expected) & set(tensors) if tensors[k].shape != expected[k].shape
    )
    problems = []
    if missing:
        problems.append(f"missing tensors {missing}")
    if unexpected:
        problems.append(f"unexpected tensors {unexpected}")
    if wrong:
        problems.append("wrong shapes " + "; ".join(wrong))
    if problems:
        raise WeightsError(f"{path}: does not fit the d2l NiN: " + ", ".join(problems))
    model.load_state_dict(tensors)
    return model.to(device).eval(), read_metadata(path)


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise WeightsError(f"{path}: weight file not found")


def _maybe_json(value: str):
    try:
        return json.loads(value)
    except (json.JSONDecodeError, TypeError):
        return value
