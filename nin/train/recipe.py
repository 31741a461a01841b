"""What a training run computes, apart from the loop: the recipes, and how each SGD step is built.

A `Recipe` is everything that decides the trained weights (run options such as the device do not).
The loop that drives it is nin/train/loop.py; the benchmark builds its step from here too, so it times
exactly the step the trainer runs.

  seed  the d2l chapter exactly: xavier init, plain SGD lr 0.1, batch 128, 10 epochs, no normalisation,
        no augmentation, dropout 0.5 (d2l reports loss 0.563, train acc 0.783, test acc 0.772).
  best  the same network trained well: xavier init, SGD with nesterov momentum, weight decay on weights
        only, OneCycle, label smoothing, normalisation, flips + 2 px shifts, gradient clipping.
  cpu   five phases for a 2-core CPU (PHASES["cpu"]): A = `best` lightened, 5 epochs at 160 px, where a step
        is ~2.5x cheaper than at 224; B = a fine-tune at 224, the serving size, with its own learning rate
        (SGD nesterov lr 0.01, cosine to 0) over 120,000 images; C = the drawing phase, a fine-tune at 224 on
        originals mixed with drawings of them; D = one gentler pass that settles it; E = one such pass with
        doodles mixed in too. Each phase starts from the one before's weights.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nin.data import TRAIN_MEAN, TRAIN_STD, DeviceBatches
from nin.model import INPUT_SIZE, NiN, xavier_init_
from nin.train.runtime import autocast

@dataclass(frozen=True)
class Recipe:
    """Everything that decides what the trained weights are (run options such as the device do not)."""

    name: str = "seed"  # which preset this started from; names the default output folder runs/<name>
    epochs: int = 10  # passes over the training set
    batch_size: int = 128  # global batch: each of N DDP ranks takes batch_size // N, so N changes nothing
    lr: float = 0.1  # SGD step size; with schedule="onecycle" the peak of the cycle
    momentum: float = 0.0  # SGD momentum; d2l uses none
    nesterov: bool = False  # nesterov momentum (needs momentum > 0)
    weight_decay: float = 0.0  # L2 on conv weights only: biases are too few to overfit, so they are left free
    schedule: str = "constant"  # "constant" (d2l), "onecycle" (warm up to lr, then cosine down to ~0), or
    #                             "cosine" (start at lr, cosine down to 0: a fine-tune from a trained file)
    pct_start: float = 0.15  # onecycle: share of all steps spent warming up
    label_smoothing: float = 0.0  # cross-entropy target smoothing; the reported loss includes it
    normalize: bool = False  # standardise pixels with the train-set mean/std after scaling to [0, 1]
    augment: bool = False  # random horizontal flips and shifts of up to 2 px, on the device
    dropout: float = 0.5  # the d2l dropout before block4; 0 disables it (used by the DDP equivalence test)
    grad_clip: float = 0.0  # clip the global gradient norm to this; 0 = off. Insurance against a collapse
    input_size: int = INPUT_SIZE  # side the 28x28 images are resized to; the app reads it from the weights
    sizes: tuple[int, ...] = ()  # progressive resizing: the input side of each epoch, ending at input_size;
    #                              () trains every epoch at input_size
    fractions: tuple[float, ...] = ()  # share of the training set each epoch covers (a short pass at an
    #                                    expensive size); () means every epoch is a full pass
    drawings: float = 0.0  # share of an epoch's training images shown as drawings of themselves
    #                        (nin.train.drawings: silhouettes, outlines, scribbles through the app's canvas path)
    drawing_epochs: int = 0  # how many of the last epochs draw; 0 = every epoch (when drawings > 0)
    doodles: float = 0.0  # share of a drawing epoch's training images replaced by a doodle of their own class
    #                       (nin.train.doodles: garments drawn from memory in a few strokes); on top of drawings

    def __post_init__(self):
        # JSON brings lists back; the recipe compares and hashes as tuples.
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        object.__setattr__(self, "fractions", tuple(float(f) for f in self.fractions))
        if self.sizes and (len(self.sizes) != self.epochs or self.sizes[-1] != self.input_size):
            raise ValueError(f"sizes {self.sizes} must give one side per epoch ({self.epochs}) and end at "
                             f"the serving size {self.input_size}")
        if self.fractions and (len(self.fractions) != self.epochs or not all(0 < f <= 1 for f in self.fractions)):
            raise ValueError(f"fractions {self.fractions} must give one share in (0, 1] per epoch ({self.epochs})")
        if not 0 <= self.drawings <= 1 or self.drawing_epochs < 0:
            raise ValueError(f"drawings {self.drawings} must be a share in [0, 1] and drawing_epochs "
                             f"{self.drawing_epochs} a count >= 0")
        if not 0 <= self.doodles <= 1 - self.drawings:
            raise ValueError(f"doodles {self.doodles} must be a share in [0, 1 - drawings]")

    def size_at(self, epoch: int) -> int:
        """The input side of epoch `epoch` (0-based)."""
        return self.sizes[epoch] if self.sizes else self.input_size

    def fraction_at(self, epoch: int) -> float:
        """The share of the training set epoch `epoch` (0-based) covers."""
        return self.fractions[epoch] if self.fractions else 1.0

    def drawings_at(self, epoch: int) -> float:
        """The share of epoch `epoch`'s (0-based) training images shown as drawings."""
        return self.drawings if self._draws(epoch) else 0.0

    def doodles_at(self, epoch: int) -> float:
        """The share of epoch `epoch`'s (0-based) training images replaced by doodles of their class."""
        return self.doodles if self._draws(epoch) else 0.0

    def _draws(self, epoch: int) -> bool:
        return epoch >= self.epochs - (self.drawing_epochs or self.epochs)

    @property
    def mean(self) -> float:
        return TRAIN_MEAN if self.normalize else 0.0

    @property
    def std(self) -> float:
        return TRAIN_STD if self.normalize else 1.0


RECIPES = {
    "seed": Recipe(),
    # The last 3 epochs are its drawing phase: 30% of their images drawn (see CPU_PHASE_C).
    "best": Recipe(
        name="best", epochs=30, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4, schedule="onecycle",
        pct_start=0.15, label_smoothing=0.1, normalize=True, augment=True, grad_clip=2.0, drawings=0.3,
        drawing_epochs=3,
    ),
}

# The phased CPU recipe, its first two phases. A network trained small scores poorly at the serving size (phase A alone: 0.915
# at 160 px but 0.800 straight at 224), and an epoch at 224 on the tail of phase A's OneCycle (lr <= 0.002)
# is too small a step to adapt: it lost 3 points. So phase B is its own run at 224 with its own learning rate.
# Measured on a 2-core AVX-512 Xeon, fp32 channels_last: A 0.756 -> 0.9146 at 160 in 5 epochs (69 min);
# B from that file: 0.8964 at 224 after 30,000 images (9 min), 0.9134 after 120,000 (50 min).
# Both phases: no label smoothing or augmentation and wd 5e-5 (in so few epochs it underfits rather than
# overfits); the chapter's dropout is kept.
CPU_PHASE_A = Recipe(
    name="cpu-a", epochs=5, batch_size=128, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-5,
    schedule="onecycle", pct_start=0.15, normalize=True, grad_clip=2.0, input_size=160,
)
CPU_PHASE_B = Recipe(
    name="cpu-b", epochs=2, batch_size=64, lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-5,
    schedule="cosine", normalize=True, grad_clip=2.0, input_size=INPUT_SIZE,
)
# Phase C: drawings. The network trained on photos alone misread a third to two thirds of drawn garments
# (outlines worst); a fine-tune at 224 on a mix of originals and the same images drawn as people draw them
# (nin.train.drawings, through the app's canvas path) teaches it both. Probes on the phase-B file: 30,000
# images half drawn, lr 0.005: drawn outlines 0.36 -> 0.75 but official 0.910 -> 0.899; 60,000 images, 30%
# drawn, lr 0.003: official 0.907. So phase C sees originals in full (two passes), 40% of each pass drawn
# afresh, at a rate between the two.
CPU_PHASE_C = Recipe(
    name="cpu-c", epochs=2, batch_size=64, lr=0.004, momentum=0.9, nesterov=True, weight_decay=5e-5,
    schedule="cosine", normalize=True, grad_clip=2.0, input_size=INPUT_SIZE, drawings=0.4,
)
# Phase D settles the drawing phase: phase C (measured on an AVX512-BF16 EPYC, bf16) took the official test set
# from 0.911 to 0.905 while drawn silhouettes rose 0.65 -> 0.80 and outlines 0.56 -> 0.78; one more pass at a
# smaller rate with fewer drawings wins back the photos without giving the drawings away.
CPU_PHASE_D = replace(CPU_PHASE_C, name="cpu-d", epochs=1, lr=0.003, drawings=0.3)
# Phase E: doodles. Phases C and D draw the dataset's own garments traced; people doodle from memory in a few
# strokes (a Π for trousers, an L for a shoe, flip flops from above), and the phase-D file read 32% of real
# people's doodles right. Phase E mixes in doodles of each image's class (nin.train.doodles) beside traced
# drawings and originals, at phase D's gentle rate, so the photos and the traced drawings are kept.
CPU_PHASE_E = replace(CPU_PHASE_D, name="cpu-e", drawings=0.2, doodles=0.3)
PHASES: dict[str, tuple[tuple[str, Recipe], ...]] = {
    "cpu": (("A", CPU_PHASE_A), ("B", CPU_PHASE_B), ("C", CPU_PHASE_C), ("D", CPU_PHASE_D), ("E", CPU_PHASE_E)),
}


def parse_sizes(text: str) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """'112x2,160,224@0.4' -> sizes (112, 112, 160, 224) and fractions (1, 1, 1, 0.4): a side per epoch,
    `xN` repeats it, `@F` makes that epoch a pass over the share F of the training set."""
    sizes: list[int] = []
    fractions: list[float] = []
    try:
        for part in text.split(","):
            part, _, times = part.strip().partition("x")
            side, _, share = part.partition("@")
            n = int(times) if times else 1
            sizes += [int(side)] * n
            fractions += [float(share) if share else 1.0] * n
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected sides like 112x2,160,224@0.4") from None
    return tuple(sizes), tuple(fractions)


# ----------------------------------------------------------------------------- model, optimiser, schedule, step

def build_model(recipe: Recipe) -> NiN:
    """The unchanged d2l NiN with the d2l init (seed torch first for a reproducible init)."""
    return xavier_init_(NiN(dropout=recipe.dropout))


def build_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.SGD:
    # Biases (1-d) get no weight decay; conv weights (4-d) do.
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov)


def build_scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe, total_steps: int):
    """Stepped once per batch; None for the constant d2l learning rate."""
    if recipe.schedule == "constant":
        return None
    if recipe.schedule == "onecycle":
        # Momentum is left at the recipe's value (cycle_momentum=False): one knob less to reason about.
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=recipe.lr, total_steps=total_steps,
            pct_start=recipe.pct_start, cycle_momentum=False,
        )
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=0.0)
    raise ValueError(f"unknown schedule {recipe.schedule!r}; use 'constant', 'onecycle' or 'cosine'")


def total_steps(batches: DeviceBatches, recipe: Recipe) -> int:
    """Optimizer steps in the whole run: epochs can differ in length (recipe.fractions)."""
    steps = 0
    for epoch in range(recipe.epochs):
        batches.fraction = recipe.fraction_at(epoch)
        steps += len(batches)
    batches.fraction = 1.0
    return steps


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """The torch seed (dropout) for one epoch on one rank. Reseeding every epoch from (seed, epoch, rank)
    is what lets --resume repeat an uninterrupted run without storing generator states."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


def make_step(model: nn.Module, optimizer, scheduler, recipe: Recipe, device: torch.device, precision: str,
              channels_last: bool):
    """One SGD step on a batch -> (loss, correct), both still on the device: no sync with the GPU here."""
    params = [p for p in model.parameters()]

    def step(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device, precision):
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=recipe.label_smoothing)  # fp32 under autocast
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if recipe.grad_clip > 0:
            nn.utils.clip_grad_norm_(params, recipe.grad_clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        return loss.detach().float(), (logits.detach().argmax(1) == y).sum()

    return step



# ----------------------------------------------------------------------------- the fastest CPU mode, measured

# The CPU kind changes from machine to machine and so does the fastest mode (examples/s at 224, 2 cores):
# AVX2-only EPYC fp32 channels_last 16, bf16 ~10x slower (emulated); AVX-512 Xeon fp32 channels_last 39,
# bf16 28; AVX512-BF16 EPYC bf16 78-92, faster than fp32. So the trainer times them instead of guessing.
# bf16 channels_last was far slower than bf16 NCHW on one AVX512-BF16 EPYC and 1.4x faster (62 vs 44) on
# another with torch 2.14, so it is timed too.
CPU_MODES: dict[str, tuple[str, bool]] = {  # name -> (precision, channels_last)
    "fp32": ("fp32", False),
    "fp32-channels_last": ("fp32", True),
    "bf16": ("bf16", False),
    "bf16-channels_last": ("bf16", True),
}


def time_cpu_modes(recipe: Recipe, size: int, steps: int = 3) -> dict[str, float]:
    """Training examples/s of each CPU mode at input side `size`: one warm-up step, then `steps` timed ones,
    on a throwaway model and random data (the run's own model and data are not touched).

    A mode whose warm-up step alone takes 3x the best per-step time so far is not timed further (bf16
    emulated on an AVX2-only core would cost minutes); its rate is then the warm-up's.
    """
    import time

    device = torch.device("cpu")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(recipe.batch_size, 1, size, size, generator=generator)
    y = torch.randint(0, 10, (recipe.batch_size,), generator=generator)
    rates: dict[str, float] = {}
    for name, (precision, channels_last) in CPU_MODES.items():
        with torch.random.fork_rng():  # dropout draws must not shift the run's own seeds
            torch.manual_seed(0)
            model = build_model(recipe)
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
            step = make_step(model, build_optimizer(model, recipe), None, recipe, device, precision, channels_last)
            t0 = time.perf_counter()
            step(x, y)
            warmup = time.perf_counter() - t0
            best_step = recipe.batch_size / max(rates.values()) if rates else math.inf
            if warmup > 3 * best_step:
                rates[name] = recipe.batch_size / warmup
                continue
            t0 = time.perf_counter()
            for _ in range(steps):
                step(x, y)
            rates[name] = steps * recipe.batch_size / (time.perf_counter() - t0)
    return rates
