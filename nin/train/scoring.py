"""The classifying loop of training, evaluation and publishing: a model's predicted classes over a stream of batches.

Training (test accuracy each epoch), `nin.train.evaluate` (accuracy, per-class accuracy, confusion matrix,
per-image predictions) and the benchmarks all score through `predict`, so a number means the same
thing wherever it is printed. It measures; it neither trains nor draws.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from nin.train.runtime import autocast


@torch.no_grad()
def predict(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], precision: str = "fp32",
            channels_last: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(predicted classes, labels) for every example of `batches`, in order, on the batches' device.

    Runs in eval mode (no dropout) and puts the model's mode back afterwards. `precision` and
    `channels_last` match the training step's, so a bf16 run is scored as it trains.
    """
    was_training = model.training
    model.eval()
    preds, labels = [], []
    try:
        for x, y in batches:
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast(x.device, precision):
                preds.append(model(x).argmax(1))
            labels.append(y)
    finally:
        model.train(was_training)
    if not preds:
        return torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64)
    return torch.cat(preds), torch.cat(labels)


def confusion(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """[num_classes, num_classes] int64 counts: rows are true classes, columns predicted ones."""
    counts = torch.bincount(labels * num_classes + preds, minlength=num_classes * num_classes)
    return counts.view(num_classes, num_classes)
