"""nin.train as a specification: the CLI smoke run, the recipes, learning, the collapse guard, resume, DDP.

Everything runs on CPU in seconds: the CLI smoke run uses the real 224 px input on 512 images; the
in-process runs use TINY, the smallest input the NiN accepts, which the Recipe exposes as input_size.
"""

import json
import math
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from nin.train import cli
from nin.train import loop as T
from nin.train.phases import train_phases
from nin.data import TRAIN_MEAN, TRAIN_STD
from nin.model import CLASS_NAMES, NiN, WeightsError, load_weights, xavier_init_
from nin.train.recipe import CPU_PHASE_A, CPU_PHASE_B, CPU_PHASE_C, CPU_PHASE_E, PHASES
from nin.files import sha256_of

ROOT = Path(__file__).resolve().parents[1]
TINY = 67  # block1 15x15 -> pool1 7x7 -> pool2 3x3 -> pool3 1x1: the least the network takes, ~13x cheaper than 224
ROW_FIELDS = {"epoch", "input_size", "fraction", "loss", "train_acc", "test_acc", "examples_per_s", "epoch_time_s", "lr", "device_name",
              "torch_version", "drawn_acc", "drawn_per_class_acc", "drawn_images"}
TIMING_FIELDS = {"examples_per_s", "epoch_time_s", "train_time_s", "draw_time_s"}


def tiny(recipe: str = "best", **overrides) -> T.Recipe:
    return replace(T.RECIPES[recipe], input_size=TINY, **overrides)


def opts(out: Path, **overrides) -> T.RunOptions:
    defaults = dict(out=out, device="cpu", precision="fp32", progress=False, limit_test=64)
    return T.RunOptions(**{**defaults, **overrides})


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def assert_same_weights(a: Path, b: Path, atol: float) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    worst = max((wa[k] - wb[k]).abs().max().item() for k in wa)
    assert worst <= atol, f"weights differ by up to {worst}"


def without_timing(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMING_FIELDS} for row in rows]


def dead_nin() -> NiN:
    """A NiN whose last ReLU never fires: logits are 0 for every image, the loss is exactly ln 10, and
    every gradient is zero, so it can never recover. This is what a collapsed run looks like."""
    model = NiN()
    last_conv = model.block4[4]
    torch.nn.init.zeros_(last_conv.weight)
    torch.nn.init.constant_(last_conv.bias, -1.0)
    return model


# ----------------------------------------------------------------------------- the CLI

@pytest.mark.slow
def test_smoke_training_writes_weights_and_metrics(tmp_path, official_data):
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "nin.train", "--recipe", "seed", "--limit-train", "512", "--limit-test", "256",
         "--epochs", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    model, meta = load_weights(out / "weights.safetensors")
    assert meta["class_names"] == list(CLASS_NAMES)
    assert meta["preprocessing"] == {"input_size": 224, "resize": "bilinear", "scale": "1/255",
                                     "mean": 0.0, "std": 1.0}
    assert meta["recipe"]["name"] == "seed" and meta["recipe"]["epochs"] == 1
    assert set(meta["metrics"]) >= {"test_acc", "train_acc", "loss", "epochs", "examples_per_s"}
    assert {"git_commit", "device_name", "torch_version"} <= set(meta)

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "complete"
    assert {"recipe", "seed", "device_name", "torch_version", "world_size", "wall_time_s", "final_test_acc",
            "git_commit", "data_source"} <= set(metrics)
    (row,) = metrics["epochs"]
    assert ROW_FIELDS <= set(row)
    assert row["epoch"] == 1 and 0.0 <= row["test_acc"] <= 1.0 and row["examples_per_s"] > 0
    assert metrics["final_test_acc"] == row["test_acc"] == meta["metrics"]["test_acc"]
    assert (out / "checkpoint.safetensors").is_file()


def test_cli_exits_nonzero_when_training_collapses(monkeypatch, tmp_path):
    def collapse(recipe, opts):
        raise T.CollapseError("network collapsed to chance: loss stayed at ln 10 = 2.3026 for epoch 1")

    monkeypatch.setattr(T, "train", collapse)
    with pytest.raises(SystemExit) as exc:
        cli.main(["--recipe", "seed", "--out", str(tmp_path)])
    assert exc.value.code not in (0, None) and "collapsed to chance" in str(exc.value.code)


def test_cpu_recipe_is_five_phases_that_end_at_the_serving_size_with_their_own_learning_rate():
    (a_name, a), (b_name, b), (c_name, c), (d_name, d), (e_name, e) = PHASES["cpu"]
    assert (a_name, b_name, c_name, d_name, e_name) == ("A", "B", "C", "D", "E")
    assert a.input_size == 160 and a.schedule == "onecycle" and a.lr == 0.1 and a.epochs == 5
    # Phase B is a fresh schedule at 224, not the tail of phase A's OneCycle (lr <= 0.002 lost 3 points).
    assert b.input_size == 224 and b.schedule == "cosine" and b.lr == 0.01 and b.nesterov and b.grad_clip == 2.0
    assert b.epochs * 60_000 == 120_000 and b.batch_size == 64
    # Phase C is the drawing phase: at 224, originals seen in full, part of every pass drawn.
    assert c.input_size == 224 and c.schedule == "cosine" and 0 < c.drawings < 0.5 and c.epochs >= 2
    assert [c.drawings_at(e) for e in range(c.epochs)] == [c.drawings] * c.epochs
    # Phase D settles it: one pass at a smaller rate, fewer drawings.
    assert d.input_size == 224 and d.epochs == 1 and d.lr < c.lr and 0 < d.drawings < c.drawings
    # Phase E adds doodles of each image's class, and still shows half the images as they are.
    assert e.input_size == 224 and e.epochs == 1 and e.lr == d.lr and e.doodles > 0 and e.doodles_at(0) == e.doodles
    assert e.drawings + e.doodles <= 0.5 and c.doodles == d.doodles == 0
    assert (a.mean, a.std) == (b.mean, b.std) == (c.mean, c.std) == (d.mean, d.std) == (e.mean, e.std) == (
        TRAIN_MEAN, TRAIN_STD)
    with pytest.raises(ValueError, match="end at the serving size"):
        replace(T.RECIPES["best"], epochs=3, sizes=(96, 112, 160))


def test_best_recipe_ends_with_a_drawing_phase():
    best = T.RECIPES["best"]
    shares = [best.drawings_at(e) for e in range(best.epochs)]
    assert shares[:-best.drawing_epochs] == [0.0] * (best.epochs - best.drawing_epochs)
    assert shares[-best.drawing_epochs:] == [best.drawings] * best.drawing_epochs and 0 < best.drawings < 0.5
    with pytest.raises(ValueError, match="drawings"):
        replace(best, drawings=1.5)


def test_training_draws_only_training_images_and_scores_the_drawn_test_set_every_epoch(tmp_path, monkeypatch,
                                                                                      official_data):
    given = []
    real = T.with_drawings

    def recording(images, share, seed, **kwargs):
        given.append(images.copy())
        return real(images, share, seed, **kwargs)

    monkeypatch.setattr(T, "with_drawings", recording)
    recipe = replace(CPU_PHASE_C, input_size=TINY, epochs=2, batch_size=32)
    result = T.train(recipe, opts(tmp_path, limit_train=64, limit_test=200), data=official_data)
    assert len(given) == 2 and all(np.array_equal(g, official_data.train_images[:64].numpy()) for g in given)
    assert [row["drawn_images"] for row in result.rows] == [round(0.4 * 64)] * 2
    for row in result.rows:
        assert set(row["drawn_acc"]) == {"silhouette", "outline"} and all(0 <= a <= 1 for a in row["drawn_acc"].values())
        assert len(row["drawn_per_class_acc"]["outline"]) == 10
    meta = load_weights(result.weights_path)[1]
    assert meta["metrics"]["drawn_acc"] == result.rows[-1]["drawn_acc"]


def test_the_doodle_phase_doodles_training_images_by_their_own_labels(tmp_path, monkeypatch, official_data):
    given = []
    real = T.with_drawings

    def recording(images, share, seed, labels=None, doodles=0.0):
        given.append((labels.copy(), share, doodles))
        return real(images, share, seed, labels=labels, doodles=doodles)

    monkeypatch.setattr(T, "with_drawings", recording)
    recipe = replace(CPU_PHASE_E, input_size=TINY, batch_size=32)
    result = T.train(recipe, opts(tmp_path, limit_train=40, limit_test=100), data=official_data)
    [(labels, share, doodles)] = given
    assert np.array_equal(labels, official_data.train_labels[:40].numpy())
    assert (share, doodles) == (CPU_PHASE_E.drawings, CPU_PHASE_E.doodles)
    assert result.rows[-1]["drawn_images"] == round(0.2 * 40) + round(0.3 * 40)


def test_sizes_flag_sets_a_size_and_a_share_per_epoch():
    recipe = cli.recipe_from_args(cli.parse_args(["--recipe", "best", "--sizes", "96x2,160,224@0.25"]))
    assert recipe.sizes == (96, 96, 160, 224) and recipe.fractions == (1.0, 1.0, 1.0, 0.25) and recipe.epochs == 4
    with pytest.raises(SystemExit, match="phases"):
        cli.main(["--recipe", "cpu", "--epochs", "3"])
    with pytest.raises(SystemExit, match="--from-phase"):
        cli.main(["--recipe", "best", "--from-phase", "B"])


def test_cli_flags_override_the_recipe():
    args = cli.parse_args(["--recipe", "seed", "--epochs", "3", "--batch-size", "64", "--lr", "0.05"])
    assert cli.recipe_from_args(args) == replace(T.RECIPES["seed"], epochs=3, batch_size=64, lr=0.05)
    assert cli.recipe_from_args(cli.parse_args(["--recipe", "best"])) == T.RECIPES["best"]


# ----------------------------------------------------------------------------- the recipes

def test_seed_recipe_is_the_d2l_chapter():
    seed = T.RECIPES["seed"]
    assert (seed.lr, seed.batch_size, seed.epochs, seed.dropout, seed.input_size) == (0.1, 128, 10, 0.5, 224)
    assert (seed.momentum, seed.weight_decay, seed.label_smoothing, seed.grad_clip) == (0, 0, 0, 0)
    assert seed.schedule == "constant" and not seed.augment and (seed.mean, seed.std) == (0.0, 1.0)


def test_best_recipe_normalises_augments_and_uses_onecycle():
    best = T.RECIPES["best"]
    assert best.nesterov and best.momentum == 0.9 and best.schedule == "onecycle" and best.augment
    assert (best.mean, best.std) == (TRAIN_MEAN, TRAIN_STD) and best.label_smoothing == 0.1
    assert best.batch_size == 128 and best.dropout == 0.5 and best.input_size == 224 and best.grad_clip > 0


def test_weight_decay_skips_biases():
    groups = T.build_optimizer(NiN(), T.RECIPES["best"]).param_groups
    decayed = [p for g in groups if g["weight_decay"] > 0 for p in g["params"]]
    assert decayed and all(p.ndim == 4 for p in decayed)
    assert all(p.ndim == 1 for g in groups if g["weight_decay"] == 0 for p in g["params"])


# ----------------------------------------------------------------------------- learning and its guards

@pytest.mark.slow
def test_loss_decreases_on_a_short_run(tmp_path, official_data):
    # This NiN sits near ln 10 for its first few hundred steps (xavier init starves the signal), so on a
    # long stream of fresh images a short run's first and last losses are a coin toss. On one fixed set
    # the decrease is certain: 30 best-recipe steps on the same 32 images must leave the starting loss well behind.
    result = T.train(tiny(epochs=30, batch_size=32), opts(tmp_path, limit_train=32), data=official_data)
    losses = result.step_losses
    assert len(losses) == 30 and all(math.isfinite(x) for x in losses)
    k = 5
    first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
    assert last < first - 0.01, (first, last)


def test_bf16_autocast_trains_on_cpu(tmp_path, official_data):
    result = T.train(tiny("seed", epochs=1, batch_size=16), opts(tmp_path, limit_train=64, precision="bf16"),
                     data=official_data)
    assert all(math.isfinite(x) for x in result.step_losses)
    assert load_weights(result.weights_path)[1]["precision"] == "bf16"


def test_collapse_guard_stops_training_and_writes_no_weights(tmp_path, official_data):
    steps = T.COLLAPSE_MIN_STEPS
    with pytest.raises(T.CollapseError, match=r"collapsed to chance.*ln 10 = 2\.3026.*epoch 1"):
        T.train(tiny("seed", epochs=3, batch_size=2), opts(tmp_path, limit_train=2 * steps), data=official_data,
                model=dead_nin())
    assert not (tmp_path / "weights.safetensors").exists()
    assert not (tmp_path / "checkpoint.safetensors").exists()
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "collapsed"


def test_collapse_guard_ignores_epochs_too_short_to_judge(tmp_path, official_data):
    # A fresh network also starts at ln 10: a 4-step epoch (the CLI smoke run) must not be called collapsed.
    result = T.train(tiny("seed", epochs=1, batch_size=2), opts(tmp_path, limit_train=8), data=official_data,
                     model=dead_nin())
    assert all(abs(x - math.log(10)) < 1e-6 for x in result.step_losses)
    assert result.weights_path.is_file()


def test_nan_loss_stops_training(tmp_path, official_data):
    model = NiN()
    with torch.no_grad():
        model.block1[0].bias[0] = float("nan")
    with pytest.raises(T.CollapseError, match="NaN"):
        T.train(tiny("seed", epochs=1, batch_size=8), opts(tmp_path, limit_train=16), data=official_data,
                model=model)
    assert not (tmp_path / "weights.safetensors").exists()


# ----------------------------------------------------------------------------- resume

RESUMED_RECIPES = {
    # The best recipe exercises everything a checkpoint must carry: momentum buffers, the OneCycle
    # position, and the per-epoch seeds of dropout, shuffling and augmentation.
    "best": tiny(epochs=2, batch_size=32),
    # Progressive resizing: killed after epoch 1, the run resumes across two size changes and a partial
    # last epoch, whose lengths the OneCycle schedule must already have counted.
    "sizes": replace(T.RECIPES["best"], input_size=75, epochs=3, batch_size=32, sizes=(67, 71, 75),
                     fractions=(1.0, 1.0, 0.5), augment=False),
    # The drawing phase: each epoch's drawings are made afresh from (seed, epoch), so a resumed epoch
    # draws what the uninterrupted run drew.
    "drawings": replace(CPU_PHASE_C, input_size=TINY, epochs=2, batch_size=32),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RESUMED_RECIPES))
def test_resume_gives_the_same_result_as_an_uninterrupted_run(name, tmp_path, monkeypatch, official_data):
    recipe = RESUMED_RECIPES[name]
    whole = T.train(recipe, opts(tmp_path / "whole", limit_train=128), data=official_data)

    real_save = T.save_checkpoint

    def save_then_crash(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt  # killed right after epoch 1's checkpoint

    monkeypatch.setattr(T, "save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        T.train(recipe, opts(tmp_path / "split", limit_train=128), data=official_data)
    monkeypatch.setattr(T, "save_checkpoint", real_save)
    checkpoint = tmp_path / "split" / "checkpoint.safetensors"
    assert not (tmp_path / "split" / "weights.safetensors").exists()
    assert any(k.startswith("optim.") for k in weights(checkpoint)), "momentum buffers must be saved"

    resumed = T.train(recipe, opts(tmp_path / "split", limit_train=128, resume=checkpoint), data=official_data)
    first_epoch_steps = len(whole.step_losses) - len(resumed.step_losses)
    assert first_epoch_steps == 128 // recipe.batch_size  # only the epochs after the first ran again
    assert resumed.step_losses == pytest.approx(whole.step_losses[first_epoch_steps:], abs=1e-6)
    assert [row["input_size"] for row in resumed.rows] == [recipe.size_at(e) for e in range(recipe.epochs)]
    # Row by row: pytest.approx takes a flat dict, not a list of dicts (pytest >= 9.2 refuses those).
    for resumed_row, whole_row in zip(without_timing(resumed.rows), without_timing(whole.rows), strict=True):
        for field in ("drawn_acc", "drawn_per_class_acc"):  # nested: compared on their own
            assert resumed_row.pop(field) == pytest.approx(whole_row.pop(field))
        assert resumed_row == pytest.approx(whole_row)
    assert_same_weights(whole.weights_path, resumed.weights_path, atol=1e-6)

    with pytest.raises(T.CheckpointError, match="different run.*lr"):
        T.train(replace(recipe, lr=0.01), opts(tmp_path / "other", limit_train=128, resume=checkpoint),
                data=official_data)
    with pytest.raises(T.CheckpointError, match="not a training checkpoint"):
        T.train(recipe, opts(tmp_path / "other", limit_train=128, resume=whole.weights_path), data=official_data)


# ----------------------------------------------------------------------------- DDP

DDP_SCRIPT = """
from dataclasses import replace
from pathlib import Path
from nin.train import loop as T
from nin.data import load_fashion_mnist

recipe = replace(T.RECIPES["best"], epochs=2, batch_size=16, input_size={size}, dropout=0.0, augment=False)
opts = T.RunOptions(out=Path({out!r}), device="cpu", precision="fp32", progress=False, limit_train=64, limit_test=50)
T.train(recipe, opts, data=load_fashion_mnist(download=False))
"""


@pytest.mark.slow
def test_ddp_on_two_gloo_ranks_matches_one_process(tmp_path, official_data):
    # Same global batch (2 ranks x 8 = 16), same data order (ranks take interleaved shards of one
    # permutation), dropout and augmentation off: the final weights must agree to float rounding.
    recipe = tiny(epochs=2, batch_size=16, dropout=0.0, augment=False)
    single = T.train(recipe, opts(tmp_path / "single", limit_train=64, limit_test=50), data=official_data)

    script = tmp_path / "ddp_run.py"
    script.write_text(textwrap.dedent(DDP_SCRIPT.format(size=TINY, out=str(tmp_path / "ddp"))))
    # The ranks import nin from this checkout, as the tests do.
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["per_rank_batch_size"] == 8
    assert_same_weights(single.weights_path, tmp_path / "ddp" / "weights.safetensors", atol=2e-5)
    torch.manual_seed(0)
    initial = T.build_model(recipe).state_dict()
    moved = max((w - initial[k]).abs().max().item() for k, w in weights(single.weights_path).items())
    assert moved > 100 * 2e-5, "training barely moved the weights: the comparison above would prove nothing"
    for ddp_row, one_row in zip(metrics["epochs"], single.rows, strict=True):
        assert ddp_row["loss"] == pytest.approx(one_row["loss"], abs=1e-5)
        assert ddp_row["train_acc"] == pytest.approx(one_row["train_acc"])
        assert ddp_row["test_acc"] == pytest.approx(one_row["test_acc"])


# ----------------------------------------------------------------------------- two phases, --init, the CPU mode

TINY_PHASES = (("A", replace(CPU_PHASE_A, input_size=TINY, epochs=1, batch_size=32)),
               ("B", replace(CPU_PHASE_B, input_size=75, epochs=2, batch_size=32)),
               ("C", replace(CPU_PHASE_C, input_size=75, epochs=1, batch_size=32)))


@pytest.mark.slow
def test_three_phase_run_resumed_across_a_phase_change_ends_with_the_same_weights(tmp_path, monkeypatch,
                                                                                  official_data):
    monkeypatch.setitem(PHASES, "tiny", TINY_PHASES)
    whole = train_phases("tiny", opts(tmp_path / "whole", limit_train=64), data=official_data)
    assert [(r["phase"], r["phase_epoch"], r["epoch"], r["input_size"]) for r in whole.rows] == [
        ("A", 1, 1, TINY), ("B", 1, 2, 75), ("B", 2, 3, 75), ("C", 1, 4, 75)]
    assert [r["drawn_images"] for r in whole.rows] == [0, 0, 0, round(0.4 * 64)]

    real_train = T.train
    calls = []

    def killed_in_phase_b(recipe, run_opts, data=None, model=None):
        calls.append(recipe.name)
        if recipe.name == "cpu-b":
            raise KeyboardInterrupt  # killed right after phase A finished
        return real_train(recipe, run_opts, data, model)

    monkeypatch.setattr(T, "train", killed_in_phase_b)
    with pytest.raises(KeyboardInterrupt):
        train_phases("tiny", opts(tmp_path / "split", limit_train=64), data=official_data)
    assert (tmp_path / "split" / "phase-a" / "weights.safetensors").is_file()
    assert not (tmp_path / "split" / "weights.safetensors").exists()

    calls.clear()
    monkeypatch.setattr(T, "train", lambda recipe, *args: calls.append(recipe.name) or real_train(recipe, *args))
    resumed = train_phases("tiny", opts(tmp_path / "split", limit_train=64, resume=tmp_path / "split"),
                             data=official_data)
    assert calls == ["cpu-b", "cpu-c"]  # phase A was kept
    assert_same_weights(whole.weights_path, resumed.weights_path, atol=1e-6)
    metrics = json.loads((tmp_path / "split" / "metrics.json").read_text())
    assert metrics["status"] == "complete" and [p["phase"] for p in metrics["phases"]] == ["A", "B", "C"]
    assert set(metrics["phases"][2]["drawn_acc"]) == {"silhouette", "outline"}
    assert metrics["phases"][1]["init"]["sha256"] == sha256_of(tmp_path / "split" / "phase-a" / "weights.safetensors")
    meta = load_weights(resumed.weights_path)[1]
    assert meta["plan"] == "tiny" and meta["preprocessing"]["input_size"] == 75 and len(meta["phases"]) == 3


def test_a_later_phase_alone_starts_from_an_init_file_and_keeps_the_earlier_phases_story(tmp_path, monkeypatch,
                                                                                       official_data):
    monkeypatch.setitem(PHASES, "tiny", TINY_PHASES)
    phase_a = T.train(TINY_PHASES[0][1], opts(tmp_path / "a", limit_train=32), data=official_data).weights_path
    with pytest.raises(WeightsError, match="--init"):
        train_phases("tiny", opts(tmp_path / "b"), data=official_data, from_phase="B")
    result = train_phases("tiny", opts(tmp_path / "b", limit_train=32, init=phase_a), data=official_data,
                            from_phase="B")
    phases = load_weights(result.weights_path)[1]["phases"]
    assert [p["phase"] for p in phases] == ["A", "B", "C"]
    assert phases[0]["given_by_init"] and phases[0]["sha256"] == sha256_of(phase_a)
    assert phases[0]["recipe"]["name"] == "cpu-a" and "given_by_init" not in phases[1]

    # The drawing phase alone, from a file that went through A and B (as the shipped file before phase C did):
    # the story stays one line of phases, the last inherited phase marked as given by that file.
    monkeypatch.setitem(PHASES, "tiny-ab", TINY_PHASES[:2])
    ab = train_phases("tiny-ab", opts(tmp_path / "ab", limit_train=32, init=phase_a), data=official_data,
                      from_phase="B")
    again = train_phases("tiny", opts(tmp_path / "c", limit_train=32, init=ab.weights_path), data=official_data,
                         from_phase="C")
    phases = load_weights(again.weights_path)[1]["phases"]
    assert [p["phase"] for p in phases] == ["A", "B", "C"]
    assert phases[1]["given_by_init"] and phases[1]["sha256"] == sha256_of(ab.weights_path)
    assert phases[1]["recipe"]["name"] == "cpu-b" and "given_by_init" not in phases[2]
    assert phases[2]["init"]["sha256"] == sha256_of(ab.weights_path)
    assert "phases" not in phases[2]["init"]  # the story is told once, by the list, not again inside each phase
    assert len(again.step_losses) == 32 // 32  # only phase C ran
    # Phase C again, from the file whose run trained B and C: every inherited phase was trained before this
    # run, so only the new C's time counts as trained here.
    chained = train_phases("tiny", opts(tmp_path / "c2", limit_train=32, init=result.weights_path),
                           data=official_data, from_phase="C")
    phases = load_weights(chained.weights_path)[1]["phases"]
    assert [p["phase"] for p in phases] == ["A", "B", "C", "C"]
    assert all(p.get("given_by_init") for p in phases[:3]) and "given_by_init" not in phases[3]
    meta = load_weights(chained.weights_path)[1]
    assert meta["metrics"]["wall_time_here_s"] == pytest.approx(phases[3]["wall_time_s"])


def test_init_loads_a_weight_file_strictly_and_refuses_a_wrong_one(tmp_path, official_data):
    recipe = tiny("best", epochs=1, batch_size=16, augment=False)
    start = T.train(recipe, opts(tmp_path / "start", limit_train=16), data=official_data).weights_path
    torch.manual_seed(1)
    net = T.build_model(recipe)
    T.load_init(net, start, recipe)
    assert_state_equal(net.state_dict(), weights(start))

    broken = dict(weights(start))
    broken.pop("block4.4.bias")
    save_file(broken, str(tmp_path / "missing.safetensors"))
    with pytest.raises(WeightsError, match="missing tensors.*block4.4.bias"):
        T.load_init(net, tmp_path / "missing.safetensors", recipe)
    with pytest.raises(WeightsError, match="mean 0.0, std 1.0"):  # trained on unnormalised input
        T.load_init(net, start, replace(recipe, normalize=False))
    with pytest.raises(SystemExit, match="missing tensors"):
        cli.main(["--recipe", "best", "--init", str(tmp_path / "missing.safetensors"), "--limit-train", "16",
                "--out", str(tmp_path / "x"), "--device", "cpu", "--precision", "fp32", "--no-progress"])


def test_auto_precision_on_cpu_times_each_mode_and_trains_in_the_fastest(tmp_path, official_data):
    result = T.train(tiny("seed", epochs=1, batch_size=8), opts(tmp_path, limit_train=8, precision="auto"),
                     data=official_data)
    meta = load_weights(result.weights_path)[1]
    probe = meta["mode_probe"]
    assert set(probe["examples_per_s"]) == set(T.CPU_MODES) and all(v > 0 for v in probe["examples_per_s"].values())
    assert probe["picked"] == max(probe["examples_per_s"], key=probe["examples_per_s"].get)
    assert (meta["precision"], meta["channels_last"]) == T.CPU_MODES[probe["picked"]]


def test_every_epoch_scores_each_class_and_flags_a_dead_class_channel(tmp_path, official_data, capsys):
    model = NiN()
    xavier_init_(model)
    with torch.no_grad():  # Sandal's class channel can never fire: what a dead channel looks like
        model.block4[4].weight[5].zero_()
        model.block4[4].bias[5] = -1.0
    result = T.train(tiny("best", epochs=1, batch_size=16, augment=False), opts(tmp_path, limit_train=32,
                                                                                limit_test=200),
                     data=official_data, model=model)
    (row,) = result.rows
    assert len(row["per_class_acc"]) == 10 and row["per_class_acc"][5] == 0.0
    assert "Sandal" in row["weak_classes"]
    assert "Sandal" in json.loads((tmp_path / "metrics.json").read_text())["weak_classes"]
    assert "Sandal" in capsys.readouterr().err


def assert_state_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and all(torch.equal(a[k].contiguous(), b[k]) for k in a)
