"""The epoch loop of `python -m nin.train` (its command line is nin/train/cli.py, phased recipes nin/train/phases.py).

The recipes and the SGD step are in nin/train/recipe.py, device / precision / DDP in nin/train/runtime.py,
checkpoints in nin/train/checkpoint.py, the evaluation loop in nin/train/scoring.py, the network in nin/model.py
and the data in nin/data.py.

Data stays on the device (nin.data.DeviceBatches); CUDA runs use bf16 autocast and channels_last.
Under `torchrun --nproc_per_node=N` each rank trains on its shard with DistributedDataParallel; the
recipe's batch size is the *global* batch, split evenly across ranks, so a recipe means the same thing
on any number of GPUs. A recipe with `sizes` changes the input side from epoch to epoch (progressive
resizing) and may make some epochs partial passes (`fractions`). Rank 0 alone writes, under OUT
(default runs/<recipe>):
  metrics.json             the run (recipe, seed, device, git commit, data source, wall time, final test
                           accuracy, status) and "epochs": one row per epoch (input size, share of the
                           training set, loss, train/test acc, examples/s, times, lr), rewritten every epoch;
  checkpoint.safetensors   after every epoch, for --resume (continues across a size change too);
  weights.safetensors      at the end, the app's file; its metadata says how to preprocess its input.
A run that collapses to chance stops with a non-zero exit and writes no weights (see `_collapse_check`).
Every epoch scores each class on its own; a class under WEAK_CLASS_ACC after the first epoch is flagged
in the log and in metrics.json (a BatchNorm-free NiN can lose a class channel for good).
On one CPU process, `--precision auto` times a few steps of each mode (fp32 and bf16, NCHW and channels_last) and
trains in the fastest (`_pick_mode`); the figures are printed and stored in the run's header.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from nin.train.checkpoint import CheckpointError, init_record, load_checkpoint, load_init, save_checkpoint
from nin.data import DeviceBatches, FashionMNIST, load_fashion_mnist
from nin.model import CLASS_NAMES, NUM_CLASSES, save_weights
from nin.train.recipe import (CPU_MODES, RECIPES, Recipe, build_model, build_optimizer, build_scheduler, epoch_seed,
                              make_step, time_cpu_modes, total_steps)
from nin.train.runtime import (DistInfo, all_reduce, barrier, configure_backends, dist_info_from_env, process_group,
                               provenance, resolve_device, resolve_precision, uses_channels_last, write_json)
from nin.train.drawings import drawn_test_set, with_drawings
from nin.train.scoring import predict

LN10 = math.log(10.0)  # cross-entropy of a network that says "1/10" to everything: chance on 10 balanced classes
COLLAPSE_TOL = 0.01  # how close to ln 10 a step's loss must stay to count as "at chance"
COLLAPSE_MIN_STEPS = 50  # shorter epochs are not judged: a fresh network also starts at ln 10
EVAL_BATCH_SIZE = 256  # test-set batch; no gradients, so larger than training's is fine
LOG_EVERY = 20  # steps between progress-bar updates; each update waits for the GPU, so not every step
WEAK_CLASS_ACC = 0.2  # a class scoring under this after the first epoch is flagged: its channel may be dead

# With the recipe and checkpoint names a caller of `train` needs, so one import serves a training script.
__all__ = ["RECIPES", "Recipe", "RunOptions", "TrainResult", "CollapseError", "CheckpointError", "train", "load_init",
           "init_record", "build_model", "build_optimizer", "save_checkpoint", "steady_examples_per_s"]


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
    resume: Path | None = None  # a checkpoint.safetensors to continue from (a phased recipe: the run folder)
    init: Path | None = None  # a weight file to start from instead of the xavier init (strict load)
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


@dataclass
class _Run:
    """One run's fixed parts, set up once: where, on what, with which batches, and what to record."""

    recipe: Recipe
    opts: RunOptions
    info: DistInfo
    device: torch.device
    precision: str
    channels_last: bool
    out: Path
    train_batches: DeviceBatches
    test_batches: DeviceBatches
    drawn_batches: dict[str, DeviceBatches]  # the drawn test set, one set of batches per style
    header: dict  # provenance and run identity, written with every metrics.json and into the weights
    train_originals: torch.Tensor | None = None  # the training images as given, when epochs mix in drawings
    train_labels: torch.Tensor | None = None  # their labels (a doodle is drawn of its image's class)
    started: float = field(default_factory=time.perf_counter)
    prior_wall: float = 0.0  # wall time of the epochs before a --resume

    def wall_time(self) -> float:
        return self.prior_wall + time.perf_counter() - self.started

    def write_metrics(self, rows: list[dict], status: str, **extra) -> None:
        if self.info.is_main:
            write_json(self.out / "metrics.json", {
                **self.header, "status": status, "wall_time_s": self.wall_time(),
                "final_test_acc": rows[-1]["test_acc"] if rows else None,
                "weak_classes": rows[-1].get("weak_classes", []) if rows else [], **extra, "epochs": rows,
            })


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


def steady_examples_per_s(rows: list[dict]) -> float:
    """Median throughput, leaving out epoch 1 (cuDNN autotuning, compile) when there is more than one.
    With progressive resizing the rows differ in size, so this is a summary, not a per-size figure."""
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
    with process_group(info, device):
        run = _setup(recipe, opts, data, info, device)
        return _train(run, model)


def _setup(recipe: Recipe, opts: RunOptions, data: FashionMNIST | None, info: DistInfo,
           device: torch.device) -> _Run:
    if recipe.batch_size % info.world_size:
        raise ValueError(f"batch size {recipe.batch_size} does not split evenly across {info.world_size} ranks")
    precision, channels_last, probe = _pick_mode(recipe, opts, device, info)
    configure_backends(device)
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
    # The drawn test set: official test images drawn as people draw (nin.train.drawings), scored every epoch.
    drawn_batches = {
        style: DeviceBatches(torch.from_numpy(images[info.rank::info.world_size]),
                             torch.from_numpy(labels[info.rank::info.world_size]), EVAL_BATCH_SIZE, device,
                             shuffle=False, input_size=recipe.input_size, mean=recipe.mean, std=recipe.std)
        for style, (images, labels) in drawn_test_set(test_images.numpy(), test_labels.numpy()).items()
    }
    header = {
        "recipe": asdict(recipe), "seed": opts.seed,
        **provenance(device, precision, channels_last=channels_last, compile=opts.compile),
        **({"mode_probe": probe} if probe else {}),
        **({"init": init_record(Path(opts.init))} if opts.init is not None else {}),
        "world_size": info.world_size, "per_rank_batch_size": recipe.batch_size // info.world_size,
        "limit_train": opts.limit_train, "limit_test": opts.limit_test,
        "num_train": len(train_images), "num_test": len(test_images), "data_source": str(data.source),
    }
    out = Path(opts.out) if opts.out is not None else Path("runs") / recipe.name
    return _Run(recipe, opts, info, device, precision, channels_last, out, train_batches, test_batches, drawn_batches,
                header, train_originals=train_images if recipe.drawings or recipe.doodles else None,
                train_labels=train_labels)


def _pick_mode(recipe: Recipe, opts: RunOptions, device: torch.device, info: DistInfo) -> tuple[str, bool, dict | None]:
    """(precision, channels_last, the timings behind the choice or None). On one CPU process with
    --precision auto the modes are timed at the run's first size; otherwise the fixed defaults apply
    (every DDP rank must choose alike, so CPU DDP runs take fp32 channels_last untimed)."""
    if opts.precision != "auto" or device.type != "cpu" or info.world_size > 1:
        precision = resolve_precision(opts.precision, device)
        return precision, uses_channels_last(device, precision), None
    size = recipe.size_at(0)
    rates = time_cpu_modes(recipe, size)
    best = max(rates, key=rates.get)
    tqdm.write(f"CPU modes at {size} px, batch {recipe.batch_size}: " + ", ".join(
        f"{name} {rate:.0f}" for name, rate in rates.items()) + f" examples/s -> training in {best}", file=sys.stderr)
    precision, channels_last = CPU_MODES[best]
    return precision, channels_last, {"input_size": size, "examples_per_s": rates, "picked": best}


def _train(run: _Run, model: nn.Module | None) -> TrainResult:
    recipe, opts, info = run.recipe, run.opts, run.info
    torch.manual_seed(opts.seed)
    net = model if model is not None else build_model(recipe)
    if opts.init is not None:
        load_init(net, Path(opts.init), recipe)
    net = net.to(run.device)
    if run.channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(net, recipe)
    scheduler = build_scheduler(optimizer, recipe, total_steps(run.train_batches, recipe))

    rows: list[dict] = []
    start_epoch = 0
    if opts.resume is not None:
        state = load_checkpoint(Path(opts.resume), net, optimizer, scheduler, expect={
            "recipe": asdict(recipe), "seed": opts.seed, "limit_train": opts.limit_train})
        start_epoch, rows, run.prior_wall = state["epoch"], state["rows"], state.get("wall_time_s", 0.0)

    train_model: nn.Module = net
    if info.world_size > 1:
        train_model = nn.parallel.DistributedDataParallel(
            net, device_ids=[run.device.index] if run.device.type == "cuda" else None, gradient_as_bucket_view=True)
    if opts.compile:
        train_model = torch.compile(train_model)
    step = make_step(train_model, optimizer, scheduler, recipe, run.device, run.precision, run.channels_last)

    step_losses: list[float] = []
    for epoch in range(start_epoch, recipe.epochs):
        row, losses = _run_epoch(run, epoch, train_model, net, step, optimizer, rows)
        rows.append(row)
        step_losses.extend(losses)
        if info.is_main:
            drawn = ", ".join(f"{style} {acc:.4f}" for style, acc in row["drawn_acc"].items())
            tqdm.write(f"epoch {row['epoch']}: loss {row['loss']:.4f}, train acc {row['train_acc']:.4f}, test acc "
                       f"{row['test_acc']:.4f} (drawn: {drawn}) at {row['input_size']} px, "
                       f"{row['examples_per_s']:.0f} examples/s", file=sys.stderr)
            save_checkpoint(run.out / "checkpoint.safetensors", net, optimizer, scheduler, {
                "epoch": epoch + 1, "recipe": asdict(recipe), "seed": opts.seed, "limit_train": opts.limit_train,
                "rows": rows, "wall_time_s": run.wall_time(),
            })
            run.write_metrics(rows, "running")

    weights_path = _save_final(run, net, rows) if info.is_main else None
    barrier(info, run.device)  # keep ranks together until rank 0 has written everything
    return TrainResult(rows=rows, final_test_acc=rows[-1]["test_acc"] if rows else float("nan"), out=run.out,
                       weights_path=weights_path, step_losses=step_losses)


def _run_epoch(run: _Run, epoch: int, train_model: nn.Module, net: nn.Module, step, optimizer,
               rows: list[dict]) -> tuple[dict, list[float]]:
    """Train one epoch at its size, check for collapse, score the test set; -> (row, step losses)."""
    recipe, info, device = run.recipe, run.info, run.device
    torch.manual_seed(epoch_seed(run.opts.seed, epoch, info.rank))
    size = run.train_batches.input_size = run.test_batches.input_size = recipe.size_at(epoch)
    for batches in run.drawn_batches.values():
        batches.input_size = size
    run.train_batches.fraction = recipe.fraction_at(epoch)
    run.train_batches.set_epoch(epoch)
    drawn_images, draw_time = _draw_epoch(run, epoch)
    train_model.train()
    # Running sums stay on the device (no GPU sync per step); the example count is known on the host.
    sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss * n, correct, NaN/inf steps
    max_dev = torch.zeros((), dtype=torch.float32, device=device)  # worst |loss - ln 10| this epoch
    losses, count, lr = [], 0, optimizer.param_groups[0]["lr"]
    bar = tqdm(run.train_batches, desc=f"epoch {epoch + 1}/{recipe.epochs} @{size}px", unit="batch", leave=True,
               disable=not (info.is_main and run.opts.progress), dynamic_ncols=True)
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
    step_losses = torch.stack(losses).tolist() if losses else []  # waits for the last step
    train_time = time.perf_counter() - t0
    totals = all_reduce(torch.cat([sums, sums.new_tensor([count])]), info)
    all_reduce(max_dev, info, dist.ReduceOp.MAX)
    loss_sum, correct, nonfinite, count = totals.tolist()
    try:
        _collapse_check(epoch + 1, len(losses), max_dev.item(), nonfinite)
    except CollapseError as exc:
        run.write_metrics(rows, "collapsed", error=str(exc))
        raise

    test_acc, per_class = _score(run, net, run.test_batches)
    weak = [CLASS_NAMES[c] for c, acc in enumerate(per_class) if acc is not None and acc < WEAK_CLASS_ACC]
    if weak and info.is_main:
        tqdm.write(f"warning: after epoch {epoch + 1} these classes score under {WEAK_CLASS_ACC:.0%} on the test "
                   f"set: {', '.join(weak)}. A class channel may have died (no BatchNorm here); nin.train.publish will "
                   "refuse the file if it ends under 50%.", file=sys.stderr)
    drawn = {style: _score(run, net, batches) for style, batches in run.drawn_batches.items()}
    row = {
        "epoch": epoch + 1, "input_size": size, "fraction": run.train_batches.fraction, "loss": loss_sum / count,
        "train_acc": correct / count, "test_acc": test_acc,
        "examples_per_s": count / train_time, "epoch_time_s": time.perf_counter() - t0, "train_time_s": train_time,
        "lr": lr, "device_name": run.header["device_name"], "torch_version": run.header["torch_version"],
        "per_class_acc": per_class, "weak_classes": weak,
        "drawn_images": drawn_images, "draw_time_s": draw_time,
        "drawn_acc": {style: acc for style, (acc, _) in drawn.items()},
        "drawn_per_class_acc": {style: accs for style, (_, accs) in drawn.items()},
    }
    return row, step_losses


def _draw_epoch(run: _Run, epoch: int) -> tuple[int, float]:
    """Put this epoch's training images in place: a seeded share drawn (recipe.drawings), or the originals.
    Every rank draws the same images (the seed has no rank in it), so the shards still split one dataset.
    -> (how many were drawn, seconds spent drawing)."""
    if run.train_originals is None:
        return 0, 0.0
    t0 = time.perf_counter()
    share = run.recipe.drawings_at(epoch)
    images, drawn = with_drawings(run.train_originals.numpy(), share, epoch_seed(run.opts.seed, epoch, 0),
                                  labels=run.train_labels.numpy(), doodles=run.recipe.doodles_at(epoch))
    run.train_batches.images = torch.from_numpy(images).to(run.device)
    if drawn and run.info.is_main:
        tqdm.write(f"epoch {epoch + 1}: {drawn:,} of {len(images):,} training images drawn "
                   f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return drawn, time.perf_counter() - t0


def _score(run: _Run, net: nn.Module, batches: DeviceBatches) -> tuple[float, list[float | None]]:
    """(accuracy, each class's accuracy) on `batches`, every rank's slice counted, in the run's precision."""
    preds, labels = predict(net, batches, run.precision, run.channels_last)
    hits = torch.bincount(labels[preds == labels], minlength=NUM_CLASSES)
    totals = all_reduce(torch.cat([hits, torch.bincount(labels, minlength=NUM_CLASSES)]).double(), run.info).tolist()
    hits, counts = totals[:NUM_CLASSES], totals[NUM_CLASSES:]
    return sum(hits) / max(sum(counts), 1), [h / n if n else None for h, n in zip(hits, counts)]


def _save_final(run: _Run, net: nn.Module, rows: list[dict]) -> Path:
    recipe, final = run.recipe, rows[-1] if rows else {}
    path = save_weights(net, run.out / "weights.safetensors", metadata={
        "class_names": list(CLASS_NAMES),
        "input_size": recipe.input_size,
        # The app feeds the network with exactly this; nin.data.to_model_input implements it.
        "preprocessing": {"input_size": recipe.input_size, "resize": "bilinear", "scale": "1/255",
                          "mean": recipe.mean, "std": recipe.std},
        "recipe": asdict(recipe),
        "metrics": {"test_acc": final.get("test_acc"), "train_acc": final.get("train_acc"),
                    "loss": final.get("loss"), "epochs": len(rows), "per_class_acc": final.get("per_class_acc"),
                    "drawn_acc": final.get("drawn_acc"),
                    "examples_per_s": steady_examples_per_s(rows), "wall_time_s": run.wall_time()},
        **{k: run.header[k] for k in ("git_commit", "device_name", "torch_version", "seed", "world_size",
                                      "precision", "channels_last", "num_train", "data_source")},
        **{k: run.header[k] for k in ("init", "mode_probe") if k in run.header},
    })
    run.write_metrics(rows, "complete")
    return path
