"""Lesson 2 of the d2l NiN chapter: where the parameters live in NiN, AlexNet, VGG-11 and a NiN with an FC head.

Each model is built on the meta device (shapes, no storage) and counted layer by layer, with one forward pass
that checks every layer's output shape. No input image and no trained weights are involved, which is why this
lesson lives apart from the other four (`nin.serve.lessons`, which re-exports its names). It draws nothing:
`nin.render.lesson_panels.parameter_report_html` does.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from nin.model import INPUT_SIZE, STAGES, NiN, parameter_count

VGG11_ARCH = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))  # d2l's conv_arch: (convs, channels) per block


def _conv_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0):
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU())


def _fc_head(in_features: int, num_classes: int) -> list[tuple[str, nn.Module]]:
    """The AlexNet/VGG classifier: two 4096-wide hidden layers with dropout, then the class scores."""
    return [
        ("fc1", nn.Sequential(nn.Linear(in_features, 4096), nn.ReLU(), nn.Dropout(0.5))),
        ("fc2", nn.Sequential(nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5))),
        ("fc3", nn.Linear(4096, num_classes)),
    ]


def alexnet(num_classes: int = 10) -> nn.Sequential:
    """d2l's AlexNet for 1-channel 224x224 input: five convs, three max pools, three fully-connected layers."""
    return nn.Sequential(OrderedDict([
        ("conv1", _conv_relu(1, 96, 11, stride=4, padding=1)), ("pool1", nn.MaxPool2d(3, 2)),
        ("conv2", _conv_relu(96, 256, 5, padding=2)), ("pool2", nn.MaxPool2d(3, 2)),
        ("conv3", _conv_relu(256, 384, 3, padding=1)),
        ("conv4", _conv_relu(384, 384, 3, padding=1)),
        ("conv5", _conv_relu(384, 256, 3, padding=1)), ("pool3", nn.MaxPool2d(3, 2)),
        ("flatten", nn.Flatten()),
        *_fc_head(256 * 5 * 5, num_classes),
    ]))


def vgg11(num_classes: int = 10) -> nn.Sequential:
    """d2l's VGG-11 for 1-channel 224x224 input: eight 3x3 convs in five blocks, each ending in a 2x2 max pool."""
    layers, in_channels, index = [], 1, 0
    for block, (num_convs, out_channels) in enumerate(VGG11_ARCH, 1):
        for _ in range(num_convs):
            index += 1
            layers.append((f"conv{index}", _conv_relu(in_channels, out_channels, 3, padding=1)))
            in_channels = out_channels
        layers.append((f"pool{block}", nn.MaxPool2d(2, 2)))
    return nn.Sequential(OrderedDict(layers + [("flatten", nn.Flatten())] + _fc_head(512 * 7 * 7, num_classes)))


def nin_with_fc_head(num_classes: int = 10) -> nn.Sequential:
    """The counterfactual: NiN's block1..pool3 unchanged, then AlexNet's classifier instead of block4 + GAP."""
    body = NiN(num_classes)
    stages = list(body.named_children())[:STAGES.index("dropout")]
    return nn.Sequential(OrderedDict(stages + [("flatten", nn.Flatten())] + _fc_head(384 * 5 * 5, num_classes)))


REPORTED_MODELS = (
    ("NiN (d2l)", NiN,
     "The d2l NiN: four NiN blocks (a spatial conv and two 1x1 convs each) with max pools between them. "
     "The last block has one channel per class and global average pooling turns each map into a score, "
     "so the classifier has no parameters of its own."),
    ("AlexNet (d2l)", alexnet,
     "d2l's AlexNet for 1-channel 224x224 input and 10 classes: five convs and three max pools, then "
     "Flatten (256x5x5 = 6,400 features) and three fully-connected layers (4096, 4096, 10) with dropout."),
    ("VGG-11 (d2l)", vgg11,
     "d2l's VGG-11, conv_arch ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)): eight 3x3 convs in five "
     "blocks, each ending in a 2x2 max pool, then Flatten (512x7x7 = 25,088 features) and the same "
     "4096-4096-10 fully-connected head."),
    ("NiN + FC head (counterfactual)", nin_with_fc_head,
     "What NiN would weigh with AlexNet's classifier: NiN's block1..pool3 unchanged (384x5x5 = 9,600 "
     "features), then Flatten, Linear(9600, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Dropout, "
     "Linear(4096, 10) in place of block4 and global average pooling. The chapter's NiN drops exactly this."),
)


@dataclass(frozen=True)
class LayerParameters:
    name: str                # a stage (NiN) or layer (conv1, fc1, ...) of the model
    kind: str                # "conv", "fc" or "pool" (no parameters)
    params: int
    share: float             # params / the model's total
    output_shape: tuple[int, ...]  # without the batch dimension, for a 1x1x224x224 input


@dataclass(frozen=True)
class ModelParameters:
    name: str
    description: str
    total: int
    conv_params: int
    fc_params: int
    conv_share: float
    fc_share: float
    layers: tuple[LayerParameters, ...]


@dataclass(frozen=True)
class ParameterReport:
    """Per-layer parameter counts of four classifiers for 1x224x224 Fashion-MNIST input and 10 classes."""

    models: tuple[ModelParameters, ...]  # tuples all the way down: one cached report is shared by every caller

    def to_json(self) -> dict:
        """Plain dicts, lists, strings and numbers: the report holds no arrays."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


def _kind(module: nn.Module) -> str:
    if any(isinstance(m, nn.Linear) for m in module.modules()):
        return "fc"
    if any(isinstance(m, nn.Conv2d) for m in module.modules()):
        return "conv"
    return "pool"


def _model_parameters(name: str, description: str, model: nn.Module) -> ModelParameters:
    """Count per child and pass a (meta) input through, so a head that does not fit its features fails here."""
    model.eval()
    total = parameter_count(model)
    x = torch.zeros(1, 1, INPUT_SIZE, INPUT_SIZE)
    layers = []
    for child_name, child in model.named_children():
        x = child(x)
        params = parameter_count(child)
        # GAP is listed though it has no parameters: its zero, where the others keep most of theirs, is the point.
        if params or child_name == "gap":
            layers.append(LayerParameters(child_name, _kind(child), params, params / total, tuple(x.shape[1:])))
    if tuple(x.shape) != (1, 10):
        raise AssertionError(f"{name} maps a 1x1x{INPUT_SIZE}x{INPUT_SIZE} input to {tuple(x.shape)}, not 10 scores")
    conv = sum(layer.params for layer in layers if layer.kind == "conv")
    fc = sum(layer.params for layer in layers if layer.kind == "fc")
    return ModelParameters(name, description, total, conv, fc, conv / total, fc / total, tuple(layers))


@functools.lru_cache(maxsize=1)
def parameter_report() -> ParameterReport:
    """Where the parameters live, counted on modules built on the meta device; computed once per process.

    Meta tensors have shapes and no storage, so VGG-11's ~129M parameters cost no memory, and the forward
    pass that checks every layer's shape does no arithmetic. The first meta forward in a process loads
    torch's meta kernels (about a second, more on a busy CPU): call this once at start-up.
    """
    with torch.device("meta"):
        return ParameterReport(tuple(_model_parameters(name, description, build())
                                     for name, build, description in REPORTED_MODELS))


__all__ = ["parameter_report", "ParameterReport", "ModelParameters", "LayerParameters", "alexnet", "vgg11",
           "nin_with_fc_head", "REPORTED_MODELS", "VGG11_ARCH"]
