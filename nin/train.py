"""Train the d2l NiN on Fashion-MNIST: `python -m nin.train --recipe seed|best`.

Two recipes for the one unchanged network (nin/model.py):
  seed  the d2l chapter exactly: xavier init, plain SGD lr 0.1, batch 128, 10 epochs, no normalisation,
        no augmentation, dropout 0.5 (d2l reports loss 0.563, train acc 0.783, test acc 0.772).
  best  the same network trained well: xavier init, SGD with nesterov momentum, weight decay on weights
        only, OneCycle, label smoothing, normalisation, flips + 2 px shifts, gradient clipping.

Data stays on the device (nin.data.DeviceBatches); CUDA runs use bf16 autocast and channels_last.
Under `torchrun --nproc_per_node=N` each rank trains on its shard with DistributedDataParallel; the
recipe's batch size is the *global* batch, split evenly across ranks, so a recipe means the same thing
on any number of GPUs. Rank 0 alone writes, under OUT (default runs/<recipe>):
  metrics.json             the run (recipe, seed, device, git commit, data source, wall time, final test
                           accuracy, status) and "epochs": one row per epoch (loss, train/test acc,
                           examples/s, times, lr), rewritten after every epoch;
  checkpoint.safetensors   after every epoch, for --resume: model and optimizer tensors, the rest as JSON;
  weights.safetensors      at the end, the app's file; its metadata says how to preprocess its input.
Checkpoints are safetensors too: nothing in this project is ever unpickled. A run that collapses to
chance stops with a non-zero exit and writes no weights (see `_collapse_check`).

This module is the training loop only: the network is in nin/model.py, the data in nin/data.py.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from nin.data import TRAIN_MEAN, TRAIN_STD, DeviceBatches, FashionMNIST, load_fashion_mnist
from nin.model import CLASS_NAMES, INPUT_SIZE, NiN, save_weights, xavier_init_

LN10 = math.log(10.0)  # cross-entropy of a network that says "1/10" to everything: chance on 10 balanced classes
COLLAPSE_TOL = 0.01  # how close to ln 10 a step's loss must stay to count as "at chance"
COLLAPSE_MIN_STEPS = 50  # shorter epochs are not judged: a fresh network also starts at ln 10
EVAL_BATCH_SIZE = 256  # test-set batch; no gradients, so larger than training's is fine
LOG_EVERY = 20  # steps between progress-bar updates; each update waits for the GPU, so not every step
CHECKPOINT_KIND = "nin-train-checkpoint"


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
    schedule: str = "constant"  # "constant" (d2l) or "onecycle" (warm up to lr, then cosine down to ~0)
    pct_start: float = 0.15  # onecycle: share of all steps spent warming up
    label_smoothing: float = 0.0  # cross-entropy target smoothing; the reported loss includes it
    normalize: bool = False  # standardise pixels with the train-set mean/std after scaling to [0, 1]
    augment: bool = False  # random horizontal flips and shifts of up to 2 px, on the device
    dropout: float = 0.5  # the d2l dropout before block4; 0 disables it (used by the DDP equivalence test)
    grad_clip: float = 0.0  # clip the global gradient norm to this; 0 = off. Insurance against a collapse
    input_size: int = INPUT_SIZE  # side the 28x28 images are resized to; the app reads it from the weights

    @property
    def mean(self) -> float:
        return TRAIN_MEAN if self.normalize else 0.0

    @property
    def std(self) -> float:
        return TRAIN_STD if self.normalize else 1.0


RECIPES = {
    "seed": Recipe(),
    "best": Recipe(
        name="best", epochs=30, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4, schedule="onecycle",
        pct_start=0.15, label_smoothing=0.1, normalize=True, augment=True, grad_clip=2.0,
    ),
}


@dataclass
class RunOptions:
    """How and where to run a recipe; none of it changes what a correct run computes."""

    seed: int = 0  # seeds the init, the shuffling, augmentation and dropout
    data_dir: str | None = None  # Fashion-MNIST folder; None searches the usual places (nin.data)
    out: Path | None = None  # output folder; None means runs/<recipe name>
    limit_train: int | None = None  # train on the first N training images only (CI, quick checks)
    limit_test: int | None = None  # measure test accuracy on the first N test images only
    device: str = "auto"  # "auto" picks cuda when available; under torchrun each rank takes cuda:LOCAL_RANK
    precision: str = "auto"  # "auto" (bf16 on CUDA, fp32 on CPU), "fp32" or "bf16" autocast
    compile: bool = False  # torch.compile the training model (the first epoch then includes compile time)
    resume: Path | None = None  # a checkpoint.safetensors to continue from
    progress: bool = True  # show the tqdm bar (rank 0 only)


@dataclass
class TrainResult:
    """What `train` hands back; rank 0 has also written it to disk."""

    rows: list[dict]  # one per epoch, as in metrics.json (epochs before a --resume included)
    final_test_acc: float  # the last epoch's test accuracy
    out: Path  # the output folder
    weights_path: Path | None  # OUT/weights.safetensors; None on ranks other than 0
    step_losses: list[float] = field(default_factory=list)  # this rank's loss per step, this process's epochs


class CollapseError(RuntimeError):
    """Training went to chance (or to NaN) and cannot come back; no weights were written."""


class CheckpointError(ValueError):
    """A --resume checkpoint is unreadable or belongs to a different run. The message names the file."""


# ----------------------------------------------------------------------------- device, precision, distributed

@dataclass(frozen=True)
class DistInfo:
    rank: int = 0  # this process's index among all processes
    local_rank: int = 0  # index on this machine: picks the GPU
    world_size: int = 1  # number of processes

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_info_from_env() -> DistInfo:
    """torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; a plain `python -m` run has none of them."""
    return DistInfo(int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)),
                    int(os.environ.get("WORLD_SIZE", 1)))


def resolve_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision must be auto, fp32 or bf16, not {precision!r}")
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return precision


def autocast(device: torch.device, precision: str):
    """bf16 autocast (weights, gradients and the loss stay fp32, so no GradScaler is needed), or nothing."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def uses_channels_last(device: torch.device, precision: str) -> bool:
    """channels_last suits cuDNN's tensor-core kernels. On CPU it helps fp32 but not bf16: on a 2-core
    AVX512-BF16 machine a batch-128 step ran at 31 ex/s (fp32 NCHW), 51 (fp32 NHWC), 65 (bf16 NCHW)
    and far slower as bf16 NHWC."""
    return device.type == "cuda" or precision == "fp32"


def configure_backends(device: torch.device) -> None:
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes, so autotuning once pays off
        torch.backends.cudnn.allow_tf32 = True  # fp32 convs (evaluation, fp32 runs) on tensor cores
        torch.backends.cuda.matmul.allow_tf32 = True


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"CPU ({line.split(':', 1)[1].strip()}, {torch.get_num_threads()} threads)"
    except OSError:
        pass
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def git_commit() -> str:
    """HEAD of the repository this file is in, or "unknown" (not a checkout, no git)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _all_reduce(tensor: torch.Tensor, info: DistInfo, op=dist.ReduceOp.SUM) -> torch.Tensor:
    """In place across ranks (a no-op in a single process); returns `tensor` for chaining."""
    if info.world_size > 1:
        dist.all_reduce(tensor, op=op)
    return tensor


# ----------------------------------------------------------------------------- model, optimiser, schedule

def build_model(recipe: Recipe) -> NiN:
    """The unchanged d2l NiN with the d2l init (seed torch first for a reproducible init)."""
    return xavier_init_(NiN(dropout=recipe.dropout))


def build_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.SGD:
    # Biases (1-d) get no weight decay; conv weights (4-d) do.
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov)


def build_scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe, steps_per_epoch: int):
    """Stepped once per batch; None for the constant d2l learning rate."""
    if recipe.schedule == "constant":
        return None
    if recipe.schedule == "onecycle":
        # Momentum is left at the recipe's value (cycle_momentum=False): one knob less to reason about.
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=recipe.lr, total_steps=recipe.epochs * steps_per_epoch,
            pct_start=recipe.pct_start, cycle_momentum=False,
        )
    raise ValueError(f"unknown schedule {recipe.schedule!r}; use 'constant' or 'onecycle'")


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


@torch.no_grad()
def evaluate_accuracy(model: nn.Module, batches: DeviceBatches, device: torch.device, precision: str,
                  channels_last: bool) -> torch.Tensor:
    """[correct, count] on this rank's test shard, in eval mode (no dropout), same autocast as training."""
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.float64, device=device)
    count = 0  # kept on the host: a device tensor built from it each batch would be a copy and a sync
    for x, y in batches:
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device, precision):
            pred = model(x).argmax(1)
        correct += (pred == y).sum()
        count += y.numel()
    model.train(was_training)
    return torch.stack([correct, correct.new_tensor(count)])


# ----------------------------------------------------------------------------- checkpoints (safetensors, no pickle)

def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler, state: dict) -> Path:
    """Model tensors under `model.`, optimizer tensors (momentum buffers) under `optim.<param index>.`,
    everything else (epoch, scheduler, param groups, rows so far) as JSON in the safetensors metadata."""
    from safetensors.torch import save_file

    model = getattr(model, "module", model)
    model = getattr(model, "_orig_mod", model)
    tensors = {f"model.{k}": v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    scalars = {}
    for index, param_state in opt["state"].items():
        for key, value in param_state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value.detach().to("cpu").contiguous()
            elif value is not None:
                scalars.setdefault(str(index), {})[key] = value
    meta = {
        "format": "pt",
        "kind": CHECKPOINT_KIND,
        "optimizer_param_groups": json.dumps(opt["param_groups"]),
        "optimizer_scalars": json.dumps(scalars),
        "scheduler": json.dumps(scheduler.state_dict() if scheduler is not None else None),
        **{k: json.dumps(v) for k, v in state.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)  # a crash mid-write leaves the previous epoch's checkpoint intact
    return path


def load_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler,
                    expect: dict | None = None) -> dict:
    """Restore model, optimizer and scheduler in place; return the JSON state saved with them.

    `expect` (e.g. recipe, seed) must equal what the checkpoint saved: a checkpoint continues only the
    run it came from, anything else would silently mix two runs.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors has its own error types for a bad header
        raise CheckpointError(f"{path}: not a readable safetensors checkpoint ({exc})") from exc
    if meta.get("kind") != CHECKPOINT_KIND:
        raise CheckpointError(f"{path}: not a training checkpoint (weights.safetensors cannot be resumed)")
    state = {k: json.loads(v) for k, v in meta.items() if k not in ("format", "kind")}
    diffs = [f"{k}: checkpoint has {state.get(k)!r}, this run {v!r}"
             for k, v in (expect or {}).items() if state.get(k) != v]
    if diffs:
        raise CheckpointError(f"{path}: belongs to a different run; " + "; ".join(diffs))

    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(model_state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: does not fit the d2l NiN ({exc})") from exc
    params = [p for group in optimizer.param_groups for p in group["params"]]
    opt_state: dict[int, dict] = {int(i): dict(s) for i, s in state.pop("optimizer_scalars").items()}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            # Keep the parameter's memory format (channels_last) for the buffer, as SGD would have made it.
            opt_state.setdefault(int(index), {})[name] = torch.empty_like(params[int(index)]).copy_(value)
    optimizer.load_state_dict({"state": opt_state, "param_groups": state.pop("optimizer_param_groups")})
    scheduler_state = state.pop("scheduler")
    if (scheduler is None) != (scheduler_state is None):
        raise CheckpointError(f"{path}: learning-rate schedule does not match this recipe's")
    if scheduler is not None:
        scheduler.load_state_dict(scheduler_state)
    return state


# ----------------------------------------------------------------------------- the loop

def _collapse_check(epoch: int, steps: int, max_dev: float, nonfinite: float) -> None:
    """Stop a run that cannot recover.

    Collapsed means: the epoch had at least COLLAPSE_MIN_STEPS steps, and *every* step's mini-batch
    training loss, on every rank, was within COLLAPSE_TOL of ln 10. That is the loss of a network whose
    block4 ReLUs have all died: it outputs the same logits for every image, the best such guess on ten
    balanced classes is 1/10 each (with label smoothing too), and zero gradients mean it never leaves.
    A learning network leaves the band within a few dozen steps; a fresh one starts inside it, so a
    handful of steps (CI's smoke run) proves nothing and is not judged. A NaN/inf loss also stops the run.
    """
    if nonfinite > 0:
        raise CollapseError(
            f"training diverged: {int(nonfinite)} step(s) of epoch {epoch} had a NaN/inf loss; "
            "try a lower --lr, gradient clipping or the xavier init. No weights were written."
        )
    if steps >= COLLAPSE_MIN_STEPS and max_dev <= COLLAPSE_TOL:
        raise CollapseError(
            f"network collapsed to chance: loss stayed at ln 10 = {LN10:.4f} (every step within "
            f"{COLLAPSE_TOL}, worst {max_dev:.4f}) for epoch {epoch}; try a lower --lr, the xavier init, a smaller "
            "batch, or the best recipe (nesterov + OneCycle warm-up + clipping). No weights were written."
        )


def _write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def steady_examples_per_s(rows: list[dict]) -> float:
    """Median throughput, leaving out epoch 1 (cuDNN autotuning, compile) when there is more than one."""
    rates = [r["examples_per_s"] for r in (rows[1:] if len(rows) > 1 else rows)]
    return float(statistics.median(rates)) if rates else 0.0


def train(recipe: Recipe, opts: RunOptions, data: FashionMNIST | None = None,
          model: nn.Module | None = None) -> TrainResult:
    """Run `recipe` to the end (or from `opts.resume`), writing outputs on rank 0.

    `data` skips loading Fashion-MNIST again (tests pass a shared copy); `model` replaces the freshly
    initialised NiN (tests pass one forced to collapse). Under torchrun this must run on every rank.
    Raises CollapseError when training goes to chance or NaN (nothing but metrics.json is written then).
    """
    info = dist_info_from_env()
    device = resolve_device(opts.device, info.local_rank)
    own_group = info.world_size > 1 and not dist.is_initialized()
    if own_group:
        if device.type == "cuda":
            torch.cuda.set_device(device)
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("gloo")
    try:
        return _train(recipe, opts, data, model, info, device)
    finally:
        if own_group:
            dist.destroy_process_group()


def _train(recipe, opts, data, model, info: DistInfo, device: torch.device) -> TrainResult:
    started = time.perf_counter()
    if recipe.batch_size % info.world_size:
        raise ValueError(f"batch size {recipe.batch_size} does not split evenly across {info.world_size} ranks")
    precision = resolve_precision(opts.precision, device)
    channels_last = uses_channels_last(device, precision)
    configure_backends(device)
    out = Path(opts.out) if opts.out is not None else Path("runs") / recipe.name
    data = data if data is not None else load_fashion_mnist(opts.data_dir)
    train_images, train_labels = data.train_images[:opts.limit_train], data.train_labels[:opts.limit_train]
    test_images, test_labels = data.test_images[:opts.limit_test], data.test_labels[:opts.limit_test]

    train_batches = DeviceBatches(
        train_images, train_labels, recipe.batch_size // info.world_size, device, shuffle=True,
        augment=recipe.augment, seed=opts.seed, rank=info.rank, world_size=info.world_size,
        input_size=recipe.input_size, mean=recipe.mean, std=recipe.std,
    )
    # Each rank scores a disjoint slice of the test set (no padding), and the counts are summed.
    test_batches = DeviceBatches(
        test_images[info.rank::info.world_size], test_labels[info.rank::info.world_size], EVAL_BATCH_SIZE,
        device, shuffle=False, input_size=recipe.input_size, mean=recipe.mean, std=recipe.std,
    )

    torch.manual_seed(opts.seed)
    net = model if model is not None else build_model(recipe)
    net = net.to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(net, recipe)
    scheduler = build_scheduler(optimizer, recipe, len(train_batches))

    rows: list[dict] = []
    start_epoch, prior_wall = 0, 0.0
    if opts.resume is not None:
        state = load_checkpoint(Path(opts.resume), net, optimizer, scheduler, expect={
            "recipe": asdict(recipe), "seed": opts.seed, "limit_train": opts.limit_train})
        start_epoch, rows, prior_wall = state["epoch"], state["rows"], state.get("wall_time_s", 0.0)

    train_model: nn.Module = net
    if info.world_size > 1:
        train_model = nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == "cuda" else None, gradient_as_bucket_view=True)
    if opts.compile:
        train_model = torch.compile(train_model)
    step = make_step(train_model, optimizer, scheduler, recipe, device, precision, channels_last)

    name, commit = device_name(device), git_commit()
    header = {
        "recipe": asdict(recipe), "seed": opts.seed, "device_name": name, "torch_version": torch.__version__,
        "world_size": info.world_size, "per_rank_batch_size": recipe.batch_size // info.world_size,
        "precision": precision, "channels_last": channels_last, "compile": opts.compile,
        "limit_train": opts.limit_train, "limit_test": opts.limit_test,
        "num_train": len(train_images), "num_test": len(test_images),
        "git_commit": commit, "data_source": str(data.source),
    }

    def write_metrics(status: str, **extra) -> None:
        if info.is_main:
            _write_json(out / "metrics.json", {
                **header, "status": status, "wall_time_s": prior_wall + time.perf_counter() - started,
                "final_test_acc": rows[-1]["test_acc"] if rows else None, **extra, "epochs": rows,
            })

    step_losses: list[float] = []
    for epoch in range(start_epoch, recipe.epochs):
        torch.manual_seed(epoch_seed(opts.seed, epoch, info.rank))
        train_batches.set_epoch(epoch)
        train_model.train()
        # Running sums stay on the device (no GPU sync per step); the example count is known on the host.
        sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss * n, correct, NaN/inf steps
        max_dev = torch.zeros((), dtype=torch.float32, device=device)  # worst |loss - ln 10| this epoch
        losses, count, lr = [], 0, optimizer.param_groups[0]["lr"]
        bar = tqdm(train_batches, desc=f"epoch {epoch + 1}/{recipe.epochs}", unit="batch", leave=True,
                   disable=not (info.is_main and opts.progress), dynamic_ncols=True)
        t0 = time.perf_counter()
        for i, (x, y) in enumerate(bar):
            lr = optimizer.param_groups[0]["lr"]  # the rate this step uses (the scheduler moves it after)
            loss, correct = step(x, y)
            finite = torch.isfinite(loss)
            max_dev = torch.maximum(max_dev, torch.where(finite, (loss - LN10).abs(), 0.0))
            sums += torch.stack([loss.double() * y.numel(), correct.double(), (~finite).double()])
            losses.append(loss)
            count += y.numel()
            if (i + 1) % LOG_EVERY == 0 and not bar.disable:
                loss_sum, correct_sum, _ = sums.tolist()
                bar.set_postfix(loss=f"{loss_sum / count:.4f}", acc=f"{correct_sum / count:.3f}",
                                ex_s=f"{count * info.world_size / (time.perf_counter() - t0):.0f}", lr=f"{lr:.4g}")
        bar.close()
        step_losses.extend(torch.stack(losses).tolist() if losses else [])  # waits for the last step
        train_time = time.perf_counter() - t0
        totals = _all_reduce(torch.cat([sums, sums.new_tensor([count])]), info)
        _all_reduce(max_dev, info, dist.ReduceOp.MAX)
        loss_sum, correct, nonfinite, count = totals.tolist()
        try:
            _collapse_check(epoch + 1, len(losses), max_dev.item(), nonfinite)
        except CollapseError as exc:
            write_metrics("collapsed", error=str(exc))
            raise

        test_totals = _all_reduce(evaluate_accuracy(net, test_batches, device, precision, channels_last), info)
        test_correct, test_count = test_totals.tolist()
        row = {
            "epoch": epoch + 1, "loss": loss_sum / count, "train_acc": correct / count,
            "test_acc": test_correct / max(test_count, 1), "examples_per_s": count / train_time,
            "epoch_time_s": time.perf_counter() - t0, "train_time_s": train_time, "lr": lr,
            "device_name": name, "torch_version": torch.__version__,
        }
        rows.append(row)
        if info.is_main:
            tqdm.write(f"epoch {row['epoch']}: loss {row['loss']:.4f}, train acc {row['train_acc']:.4f}, "
                       f"test acc {row['test_acc']:.4f}, {row['examples_per_s']:.0f} examples/s",
                       file=sys.stderr)
            save_checkpoint(out / "checkpoint.safetensors", net, optimizer, scheduler, {
                "epoch": epoch + 1, "recipe": asdict(recipe), "seed": opts.seed, "limit_train": opts.limit_train,
                "rows": rows, "wall_time_s": prior_wall + time.perf_counter() - started,
            })
            write_metrics("running")

    weights_path = None
    final = rows[-1] if rows else {}
    if info.is_main:
        weights_path = save_weights(net, out / "weights.safetensors", metadata={
            "class_names": list(CLASS_NAMES),
            "input_size": recipe.input_size,
            # The app feeds the network with exactly this; nin.data.to_model_input implements it.
            "preprocessing": {"input_size": recipe.input_size, "resize": "bilinear", "scale": "1/255",
                              "mean": recipe.mean, "std": recipe.std},
            "recipe": asdict(recipe),
            "metrics": {"test_acc": final.get("test_acc"), "train_acc": final.get("train_acc"),
                        "loss": final.get("loss"), "epochs": len(rows),
                        "examples_per_s": steady_examples_per_s(rows)},
            "git_commit": commit, "device_name": name, "torch_version": torch.__version__,
            "seed": opts.seed, "world_size": info.world_size, "precision": precision,
            "num_train": len(train_images), "data_source": str(data.source),
        })
        write_metrics("complete")
    if info.world_size > 1:
        # Keep ranks together until rank 0 has written everything.
        dist.barrier(device_ids=[device.index] if device.type == "cuda" else None)
    return TrainResult(rows=rows, final_test_acc=final.get("test_acc", float("nan")), out=out,
                       weights_path=weights_path, step_losses=step_losses)


# ----------------------------------------------------------------------------- command line

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m nin.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", choices=sorted(RECIPES), default="best",
                   help="seed = the d2l chapter exactly; best = the same network trained well (default: best)")
    p.add_argument("--epochs", type=int, help="override the recipe's number of epochs")
    p.add_argument("--batch-size", type=int, help="override the recipe's global batch size (split across ranks)")
    p.add_argument("--lr", type=float, help="override the recipe's learning rate (the peak for OneCycle)")
    p.add_argument("--seed", type=int, default=0, help="seed for init, shuffling, augmentation and dropout")
    p.add_argument("--data-dir", help="folder with the four Fashion-MNIST files (default: search, see nin.data)")
    p.add_argument("--out", type=Path, help="output folder (default: runs/<recipe>)")
    p.add_argument("--limit-train", type=int, metavar="N", help="train on the first N training images only")
    p.add_argument("--limit-test", type=int, metavar="N", help="test on the first N test images only")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="auto = bf16 autocast on CUDA, fp32 on CPU")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (epoch 1 includes compiling)")
    p.add_argument("--resume", type=Path, metavar="PATH", help="continue from this checkpoint.safetensors")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (per-epoch lines still print)")
    return p.parse_args(argv)


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr}
    return replace(RECIPES[args.recipe], **{k: v for k, v in overrides.items() if v is not None})


def main(argv: list[str] | None = None) -> TrainResult:
    from nin.data import DataSourceError

    args = parse_args(argv)
    recipe = recipe_from_args(args)
    opts = RunOptions(seed=args.seed, data_dir=args.data_dir, out=args.out, limit_train=args.limit_train,
                      limit_test=args.limit_test, device=args.device, precision=args.precision,
                      compile=args.compile, resume=args.resume, progress=not args.no_progress)
    try:
        result = train(recipe, opts)
    except (CollapseError, CheckpointError, DataSourceError) as exc:
        # Every rank stops; one message is enough.
        raise SystemExit(f"nin.train: {exc}" if dist_info_from_env().is_main else 1) from None
    if result.weights_path is not None:
        print(f"test acc {result.final_test_acc:.4f}; wrote {result.weights_path} and {result.out / 'metrics.json'}")
    return result


if __name__ == "__main__":
    main()
