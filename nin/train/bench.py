"""Training throughput, side by side on one device: `python -m nin.bench`.

  reference  the d2l pipeline as written: torchvision's FashionMNIST item code over the same uint8 arrays,
             PIL Resize(224) + ToTensor per image in a 4-worker DataLoader, fp32, batch 128, SGD, with
             d2l's per-batch loss/accuracy bookkeeping (which waits for the GPU every step).
  project    nin.train's own step: nin.data.DeviceBatches (data resident on the device, resized there),
             bf16 autocast + channels_last on CUDA (fp32 on CPU, as the trainer does), optional torch.compile.

Only steady state is timed: each pipeline first runs --warmup-steps untimed steps (worker start-up,
cuDNN autotuning, compilation). It prints examples/s for both and the ratio project/reference, and can
write them as JSON. It measures speed only; nothing it trains is kept.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch.utils.data import DataLoader
from torchvision import transforms

from nin.data import DeviceBatches, load_fashion_mnist
from nin.model import INPUT_SIZE
from nin.train.recipe import RECIPES, build_model, build_optimizer, make_step
from nin.train.runtime import configure_backends, device_name, resolve_device, resolve_precision, uses_channels_last


class InMemoryFashionMNIST(torchvision.datasets.FashionMNIST):
    """torchvision's FashionMNIST, minus the files: its own __getitem__ (PIL image, then transform) and
    __len__ run over arrays already in memory, so the reference pays exactly the per-image cost d2l does."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform=None):
        torchvision.datasets.VisionDataset.__init__(self, root=None, transform=transform)
        self.data, self.targets = images, labels


def _cycle_epochs(make_iter):
    """Endless batches, one fresh epoch iterator after another (as a training loop would make them)."""
    for epoch in itertools.count():
        yield from make_iter(epoch)


def _timed(batches, step, device: torch.device, warmup: int, steps: int) -> dict:
    """Run `warmup` untimed steps, then time `steps` steps; examples/s over the timed ones only."""
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        step(*next(batches))
    sync()
    t0, examples = time.perf_counter(), 0
    for _ in range(steps):
        x, y = next(batches)
        step(x, y)
        examples += len(y)
    sync()
    seconds = time.perf_counter() - t0
    batches.close()  # stops the reference's worker processes now, not when garbage collection gets to them
    return {"examples_per_s": examples / seconds, "examples": examples, "steps": steps, "seconds": seconds}


def bench_reference(images, labels, device: torch.device, batch_size: int, workers: int, warmup: int,
                    steps: int, seed: int = 0) -> dict:
    """(a) d2l's load_data_fashion_mnist(resize=224) + train_ch6, on the same arrays."""
    torch.backends.cudnn.benchmark = False  # d2l leaves PyTorch's defaults alone
    dataset = InMemoryFashionMNIST(images, labels, transforms.Compose([transforms.Resize(INPUT_SIZE),
                                                                       transforms.ToTensor()]))
    loader = DataLoader(dataset, batch_size, shuffle=True, num_workers=workers,
                        generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    model = build_model(RECIPES["seed"]).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    metric = [0.0, 0.0, 0]

    def step(x, y):
        x, y = x.to(device), y.to(device)
        y_hat = model(x)
        loss = F.cross_entropy(y_hat, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():  # d2l's Accumulator: float() here waits for the GPU every step
            metric[0] += float(loss) * x.shape[0]
            metric[1] += float((y_hat.argmax(1) == y).sum())
            metric[2] += x.shape[0]

    result = _timed(_cycle_epochs(lambda epoch: iter(loader)), step, device, warmup, steps)
    return {**result, "pipeline": f"PIL Resize({INPUT_SIZE}) + ToTensor, DataLoader({workers} workers), fp32, NCHW",
            "precision": "fp32", "workers": workers}


def bench_project(images, labels, device: torch.device, batch_size: int, precision: str, compile_model: bool,
                  warmup: int, steps: int, seed: int = 0) -> dict:
    """(b) nin.train's step on nin.data.DeviceBatches, configured as the trainer configures it."""
    configure_backends(device)
    precision = resolve_precision(precision, device)
    channels_last = uses_channels_last(device, precision)
    recipe = RECIPES["seed"]
    # drop_last keeps every timed batch the same shape: a short last batch would re-trigger cuDNN autotuning
    # (and recompilation) inside the timed window when --epochs wraps around.
    batches = DeviceBatches(images, labels, batch_size, device, shuffle=True, seed=seed, drop_last=True,
                            input_size=recipe.input_size, mean=recipe.mean, std=recipe.std)
    torch.manual_seed(seed)
    model = build_model(recipe).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, recipe)
    train_model = torch.compile(model) if compile_model else model
    step = make_step(train_model, optimizer, None, recipe, device, precision, channels_last)

    def epoch_iter(epoch):
        batches.set_epoch(epoch)
        return iter(batches)

    result = _timed(_cycle_epochs(epoch_iter), step, device, warmup, steps)
    pipeline = f"DeviceBatches, {precision}" + (", channels_last" if channels_last else "") + \
        (", torch.compile" if compile_model else "")
    return {**result, "pipeline": pipeline, "precision": precision, "channels_last": channels_last,
            "compile": compile_model}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m nin.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--limit", type=int, metavar="N", help="use the first N training images (default: all 60000)")
    p.add_argument("--steps", type=int, default=100, help="timed steps per pipeline, after the warm-up")
    p.add_argument("--epochs", type=float,
                   help="time this many epochs' worth of steps over the (limited) set instead of --steps")
    p.add_argument("--warmup-steps", type=int, default=10, help="untimed steps first (workers, autotune, compile)")
    p.add_argument("--batch-size", type=int, default=128, help="batch size of both pipelines (d2l: 128)")
    p.add_argument("--workers", type=int, default=4, help="DataLoader workers of the reference (d2l: 4)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="the project pipeline's precision; auto = bf16 on CUDA, fp32 on CPU")
    p.add_argument("--compile", action="store_true", help="torch.compile the project pipeline's model")
    p.add_argument("--data-dir", help="folder with the four Fashion-MNIST files (default: search, see nin.data)")
    p.add_argument("--out", type=Path, help="also write the results as JSON here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device = resolve_device(args.device)
    data = load_fashion_mnist(args.data_dir)
    images, labels = data.train_images[:args.limit], data.train_labels[:args.limit]
    steps = args.steps
    if args.epochs is not None:
        steps = max(1, round(args.epochs * len(images) / args.batch_size))
    reference = bench_reference(images, labels, device, args.batch_size, args.workers, args.warmup_steps, steps)
    project = bench_project(images, labels, device, args.batch_size, args.precision, args.compile,
                            args.warmup_steps, steps)
    ratio = project["examples_per_s"] / reference["examples_per_s"]
    report = {"device_name": device_name(device), "torch_version": torch.__version__, "batch_size": args.batch_size,
              "num_images": len(images), "warmup_steps": args.warmup_steps, "timed_steps": steps,
              "reference": reference, "project": project, "ratio": ratio}
    print(f"device: {report['device_name']}, batch {args.batch_size}, {steps} timed steps after {args.warmup_steps}")
    print(f"reference ({reference['pipeline']}): {reference['examples_per_s']:,.1f} examples/s")
    print(f"project   ({project['pipeline']}): {project['examples_per_s']:,.1f} examples/s")
    print(f"ratio project/reference: {ratio:.2f}x")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
