"""Train the d2l NiN on Fashion-MNIST: `python -m nin.train --recipe seed|best|cpu`.

The command line only: flags become a Recipe and RunOptions for the epoch loop (nin/train/loop.py), or for
the phases of a phased recipe (nin/train/phases.py). `--recipe cpu` runs five phases for a 2-core CPU: 5
epochs at 160 px, a fine-tune at 224, the drawing phases C and D, then the doodle phase E (nin/train/recipe.py).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from nin.data import DataSourceError
from nin.model import WeightsError
from nin.train import loop  # loop.train through the module, so a test can stand in for it
from nin.train.checkpoint import CheckpointError
from nin.train.loop import CollapseError, RunOptions, TrainResult
from nin.train.phases import train_phases
from nin.train.recipe import PHASES, RECIPES, Recipe, parse_sizes
from nin.train.runtime import dist_info_from_env


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m nin.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", choices=sorted([*RECIPES, *PHASES]), default="best",
                   help="seed = the d2l chapter exactly; best = the same network trained well (default: best); "
                        "cpu = five phases for a 2-core CPU: 5 epochs at 160 px, a fine-tune at 224, then "
                        "two drawing phases (originals mixed with drawings of them) and a doodle phase")
    p.add_argument("--epochs", type=int, help="override the recipe's number of epochs")
    p.add_argument("--sizes", type=parse_sizes, metavar="SIDES",
                   help="input side per epoch, e.g. 112x2,160,224@0.4 (sets --epochs; must end at 224; "
                        "@F = a pass over the share F of the training set)")
    p.add_argument("--batch-size", type=int, help="override the recipe's global batch size (split across ranks)")
    p.add_argument("--lr", type=float, help="override the recipe's learning rate (the peak for OneCycle)")
    p.add_argument("--seed", type=int, default=0, help="seed for init, shuffling, augmentation and dropout")
    p.add_argument("--data-dir", help="folder with the four Fashion-MNIST files (default: search, see nin.data)")
    p.add_argument("--out", type=Path, help="output folder (default: runs/<recipe>)")
    p.add_argument("--limit-train", type=int, metavar="N", help="train on the first N training images only")
    p.add_argument("--limit-test", type=int, metavar="N", help="test on the first N test images only")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="auto = bf16 autocast + channels_last on CUDA; on CPU the fastest of fp32 and bf16, "
                        "each NCHW or channels_last, timed over a few steps at the run's first size")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (epoch 1 includes compiling)")
    p.add_argument("--resume", type=Path, metavar="PATH",
                   help="continue from this checkpoint.safetensors; for --recipe cpu, the run folder (OUT)")
    p.add_argument("--init", type=Path, metavar="FILE",
                   help="start from this weight file instead of the xavier init (strict load; its sha256 is "
                        "recorded)")
    p.add_argument("--from-phase", metavar="NAME",
                   help="with --recipe cpu: start at this phase (B, C, D or E) from the weights given by --init "
                        "(the phase before's file, e.g. E from weights/nin_cpu.safetensors)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (per-epoch lines still print)")
    return p.parse_args(argv)


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    if args.recipe in PHASES:
        raise SystemExit(f"nin.train: recipe {args.recipe!r} has phases, each with its own settings; "
                         "--epochs, --sizes, --batch-size and --lr do not apply to it")
    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr}
    if args.sizes is not None:
        sizes, fractions = args.sizes
        overrides.update(epochs=len(sizes), sizes=sizes, fractions=fractions if min(fractions) < 1 else ())
    elif args.epochs is not None and RECIPES[args.recipe].sizes:
        raise SystemExit(f"nin.train: recipe {args.recipe!r} has a size per epoch; give --sizes, not --epochs")
    try:
        return replace(RECIPES[args.recipe], **{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        raise SystemExit(f"nin.train: {exc}") from None


def main(argv: list[str] | None = None) -> TrainResult:
    args = parse_args(argv)
    phased = args.recipe in PHASES
    if phased and any(v is not None for v in (args.epochs, args.sizes, args.batch_size, args.lr)):
        recipe_from_args(args)  # explains why those flags do not apply
    if args.from_phase is not None and (not phased or args.from_phase not in dict(PHASES[args.recipe])):
        raise SystemExit(f"nin.train: --from-phase needs a phased recipe and one of its phases "
                         f"({', '.join(f'{k}: {[n for n, _ in v]}' for k, v in PHASES.items())})")
    out = args.out
    if phased and args.resume is not None and args.resume.is_dir():
        out = out or args.resume  # a phased run resumes from its folder
    opts = RunOptions(seed=args.seed, data_dir=args.data_dir, out=out, limit_train=args.limit_train,
                      limit_test=args.limit_test, device=args.device, precision=args.precision,
                      compile=args.compile, resume=args.resume, init=args.init, progress=not args.no_progress)
    try:
        if phased:
            result = train_phases(args.recipe, opts, from_phase=args.from_phase)
        else:
            result = loop.train(recipe_from_args(args), opts)
    except (CollapseError, CheckpointError, DataSourceError, WeightsError) as exc:
        # Every rank stops; one message is enough.
        raise SystemExit(f"nin.train: {exc}" if dist_info_from_env().is_main else 1) from None
    if result.weights_path is not None:
        print(f"test acc {result.final_test_acc:.4f}; wrote {result.weights_path} and {result.out / 'metrics.json'}")
    return result


if __name__ == "__main__":
    main()
