"""weights/metrics.json, read: the one reader of what `python -m nin.publish` recorded for each shipped file.

Training writes the file (nin.train.publish) and prints it (nin.train.model_card), the request path reads
a file's banner from it (nin.serve.pipeline), the pictures draw its report (nin.render.report_panels): all
of them read it here, so the file has one reader and its numbers (the human baseline, the d2l chapter's
result, the weak-class cut) one home. It sits at the root because training, serving and drawing all use it.

`load_report` gathers what `python -m nin.publish` recorded for one file: the training run's per-epoch
curves, the fp32 evaluation on the official test set (per-class accuracy, confusion matrix) and the index
of the confusion sprite, a PNG of up to 8 official test images per confusion cell. The shaping helpers
return plain lists and dicts (the app wraps the curve points in a pandas DataFrame for gr.LinePlot);
nin/render/report_panels.py turns a Report into HTML. This module only reads files: no torch, no evaluation.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

# Context for every accuracy the app shows. Both are on the same 10,000 official test images.
HUMAN_BASELINE = 0.835  # Fashion-MNIST's human performance (Xiao, Rasul & Vollgraf 2017): crowd-sourced, non-experts
D2L_REFERENCE = 0.772  # the d2l NiN chapter's result: seed recipe, 10 epochs at 224 px, on a GPU
# (short label, accuracy, where it comes from)
CONTEXT = (("humans", HUMAN_BASELINE, "Xiao et al. 2017, crowd-sourced"),
           ("d2l chapter", D2L_REFERENCE, "seed recipe, 10 epochs, GPU"))
PER_CELL = 8  # test images kept per confusion cell in the sprite
# A class right less often than this is weak: the report marks it (nin.render.report_panels) and nin.train.publish
# refuses to ship the file.
MIN_CLASS_ACC = 0.5
# The app's banner names the classes under this softer cut as the ones the model is least sure of.
UNSURE_CLASS_ACC = 0.8


class ReportError(LookupError):
    """metrics.json has no usable record for a file. The message names the file."""


@dataclass(frozen=True)
class EpochPoint:
    """One training epoch as the run recorded it."""

    epoch: int                   # 1-based
    input_size: int              # side trained (and tested) at in this epoch
    fraction: float              # share of the training set this epoch covered
    loss: float                  # training loss (with label smoothing if the recipe had it)
    train_acc: float             # running accuracy over the epoch's (augmented) training batches
    test_acc: float              # on the official test set (or the run's --limit-test part), at input_size
    examples_per_s: float | None
    phase: str | None = None     # the phase of a phased recipe ("A", "B", "C"); None for a one-phase run
    drawn_acc: dict = field(default_factory=dict)  # style -> accuracy on the drawn test set; {} before it existed


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays field by field has no single truth value
class Report:
    """Everything the app's model report shows for one shipped weight file."""

    name: str                                   # file name in weights/, e.g. nin_cpu.safetensors
    accuracy: float                             # fp32, on all `n` official test images, measured at publish time
    n: int                                      # test images evaluated (10,000 for a shipped file)
    class_names: tuple[str, ...]
    confusion: np.ndarray                       # int64 [10, 10], rows = true class, columns = predicted
    per_class_accuracy: tuple[float | None, ...]  # recorded at publish time; None for a class absent from the test set
    epochs: tuple[EpochPoint, ...]
    device_name: str                            # the training device, as the run header names it
    recipe: dict = field(repr=False)
    command: str = ""                           # the command that trained it
    wall_time_s: float | None = None
    sprite: Path | None = None                  # the confusion sprite PNG; None when not published with one
    tile_size: int = 28
    columns: int = PER_CELL                     # tiles per sprite row
    cells: tuple = field(default=(), repr=False)  # cells[i][j] = ((test index, tile number), ...), test index order
    # The drawn test set (official test images drawn as silhouettes and outlines, nin.train.drawings), measured
    # at publish time: style -> accuracy, and style -> per-class accuracy in class_names order. {} when absent.
    drawn_accuracy: dict = field(default_factory=dict)
    drawn_per_class: dict = field(default_factory=dict)
    # People's doodles (real Quick, Draw! drawings of 7 classes, CC BY 4.0 Google), measured at publish time:
    # accuracy, how many, and per-class accuracy in class_names order (None for a class with no doodles).
    doodle_accuracy: float | None = None
    doodle_n: int = 0
    doodle_per_class: tuple = ()

    @property
    def trained_on_gpu(self) -> bool:
        return not self.device_name.upper().startswith("CPU")

    @property
    def sizes_varied(self) -> bool:
        """Whether the run trained at more than one input size (progressive resizing)."""
        return len({p.input_size for p in self.epochs}) > 1

    def count(self, true_idx: int, pred_idx: int) -> int:
        return int(self.confusion[true_idx, pred_idx])


# ----------------------------------------------------------------------------- reading

def read_metrics(weights_dir: Path) -> dict:
    path = Path(weights_dir) / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else {"files": {}}


def shipped_record(weights_dir: Path, name: str) -> dict:
    """One file's record in `weights_dir`/metrics.json; {} when there is none or the file cannot be read."""
    try:
        return read_metrics(weights_dir)["files"][name]
    except (OSError, KeyError, ValueError, TypeError):
        return {}


def weak_classes(per_class: dict[str, float | None], below: float = MIN_CLASS_ACC) -> dict[str, float]:
    """The classes of a per-class accuracy record that are right less than `below` of the time."""
    return {c: a for c, a in per_class.items() if a is not None and a < below}


def load_report(weights_dir: Path, name: str) -> Report:
    """The report of `name` as recorded in `weights_dir`/metrics.json; ReportError if it has no record."""
    weights_dir = Path(weights_dir)
    record = read_metrics(weights_dir).get("files", {}).get(name)
    if record is None or "evaluation_fp32_cpu" not in record:
        raise ReportError(f"{weights_dir / 'metrics.json'}: no evaluation recorded for {name}")
    return report_from_record(name, record, weights_dir)


def shipped_reports(weights_dir: Path) -> dict[str, Report]:
    """The report of every recorded file whose weights are present in `weights_dir`, best accuracy first."""
    weights_dir = Path(weights_dir)
    reports = [report_from_record(name, record, weights_dir)
               for name, record in read_metrics(weights_dir).get("files", {}).items()
               if (weights_dir / name).exists() and "evaluation_fp32_cpu" in record]
    return {r.name: r for r in sorted(reports, key=lambda r: -r.accuracy)}


def report_from_record(name: str, record: dict, weights_dir: Path | None) -> Report:
    """A Report from one file's metrics.json record (see nin/train/publish.py for its fields); the sprite is
    looked for in `weights_dir` (None: leave its path relative)."""
    evaluation = record["evaluation_fp32_cpu"]
    run = record.get("run", {})
    recipe = run.get("recipe", {})
    class_names = tuple(evaluation["class_names"])
    confusion = np.asarray(evaluation["confusion_matrix"], dtype=np.int64)
    examples = record.get("confusion_examples")
    drawn = record.get("drawn_evaluation_fp32_cpu") or {}
    doodles = record.get("doodles_evaluation_fp32_cpu") or {}
    sprite, cells = None, ()
    if examples:
        sprite = Path(examples["sprite"]) if weights_dir is None else Path(weights_dir) / examples["sprite"]
        cells = tuple(tuple(tuple((int(t), int(k)) for t, k in cell) for cell in row) for row in examples["cells"])
    return Report(
        name=name,
        accuracy=float(evaluation["accuracy"]),
        n=int(evaluation["n"]),
        class_names=class_names,
        confusion=confusion,
        per_class_accuracy=tuple(evaluation["per_class_accuracy"][c] for c in class_names),
        epochs=tuple(_epoch_point(row, recipe) for row in record.get("epochs", [])),
        device_name=str(run.get("device_name", "unknown device")),
        recipe=recipe,
        command=record.get("command", ""),
        wall_time_s=run.get("wall_time_s"),
        sprite=sprite,
        tile_size=int(examples["tile_size"]) if examples else 28,
        columns=int(examples["columns"]) if examples else PER_CELL,
        cells=cells,
        drawn_accuracy={style: float(e["accuracy"]) for style, e in drawn.items()},
        drawn_per_class={style: tuple(e["per_class_accuracy"][c] for c in class_names) for style, e in drawn.items()},
        doodle_accuracy=float(doodles["accuracy"]) if doodles else None,
        doodle_n=int(doodles.get("n", 0)),
        doodle_per_class=tuple(doodles["per_class_accuracy"].get(c) for c in class_names) if doodles else (),
    )


def _epoch_point(row: dict, recipe: dict) -> EpochPoint:
    # Runs from before progressive resizing have no per-epoch size: every epoch ran at the recipe's.
    i = row["epoch"] - 1
    sizes, fractions = recipe.get("sizes") or (), recipe.get("fractions") or ()
    size = row.get("input_size", sizes[i] if i < len(sizes) else recipe.get("input_size", 224))
    fraction = row.get("fraction", fractions[i] if i < len(fractions) else 1.0)
    return EpochPoint(epoch=int(row["epoch"]), input_size=int(size), fraction=float(fraction),
                      loss=float(row["loss"]), train_acc=float(row["train_acc"]), test_acc=float(row["test_acc"]),
                      examples_per_s=row.get("examples_per_s"), phase=row.get("phase"),
                      drawn_acc=dict(row.get("drawn_acc") or {}))


# ----------------------------------------------------------------------------- confusion-cell examples

def confusion_examples(report: Report, true_idx: int, pred_idx: int) -> list[tuple[np.ndarray, int]]:
    """Up to 8 official test images of class `true_idx` the network took for `pred_idx`, in test-index order.

    Each is (uint8 [28, 28] image, index into the official test set). Empty when the cell is empty or the
    file was published without a sprite (or the sprite is missing).
    """
    if report.sprite is None or not report.cells or not report.sprite.is_file():
        return []
    sprite = _read_sprite(str(report.sprite), report.sprite.stat().st_mtime_ns)
    s, out = report.tile_size, []
    for test_index, tile in report.cells[true_idx][pred_idx]:
        row, col = divmod(tile, report.columns)
        out.append((sprite[row * s:(row + 1) * s, col * s:(col + 1) * s].copy(), test_index))
    return out


@lru_cache(maxsize=8)
def _read_sprite(path: str, mtime_ns: int) -> np.ndarray:
    """The decoded sprite, cached; the key has the file's mtime, so a republished sprite is read again."""
    del mtime_ns  # only part of the cache key
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def cell_id(name: str, true_idx: int, pred_idx: int) -> str:
    """The HTML id of one confusion-matrix cell: cm-<file stem>-<true>-<pred>, safe in CSS selectors."""
    return f"cm-{file_slug(name)}-{true_idx}-{pred_idx}"


def file_slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", name.removesuffix(".safetensors"))


# ----------------------------------------------------------------------------- shaping for plots and tables

def accuracy_points(report: Report, with_context: bool = True) -> list[dict]:
    """Long-form rows for gr.LinePlot(x="epoch", y="accuracy", color="series"): train and test accuracy per
    epoch, plus flat lines for the human baseline and the d2l reference. Each row also has "input_size"
    (for a tooltip). The app feeds `pandas.DataFrame(rows)`.
    """
    rows = []
    for p in report.epochs:
        rows.append({"epoch": p.epoch, "accuracy": p.train_acc, "series": "train acc", "input_size": p.input_size})
        rows.append({"epoch": p.epoch, "accuracy": p.test_acc, "series": "test acc", "input_size": p.input_size})
    if with_context and report.epochs:
        for label, value, _ in CONTEXT:
            for epoch in (report.epochs[0].epoch, report.epochs[-1].epoch):
                rows.append({"epoch": epoch, "accuracy": value, "series": label, "input_size": None})
    return rows


def per_class_rows(report: Report) -> list[dict]:
    """Per class: name, accuracy (None if absent), images right and images of that class."""
    return [{"class": name, "accuracy": acc, "correct": int(report.confusion[i, i]),
             "total": int(report.confusion[i].sum())}
            for i, (name, acc) in enumerate(zip(report.class_names, report.per_class_accuracy))]


def weakest_classes(report: Report, k: int = 3) -> list[tuple[str, float]]:
    """The k classes with the lowest accuracy, weakest first."""
    scored = [(acc, name) for name, acc in zip(report.class_names, report.per_class_accuracy) if acc is not None]
    return [(name, acc) for acc, name in sorted(scored)[:k]]


# ----------------------------------------------------------------------------- how a file was made, in plain words

def percent(share: float, n: int | None = None, digits: int = 1) -> str:
    """A share as a percentage, the one way every page and card writes one: an accuracy over `n` images with as
    many decimals as n resolves (10,000 images: 0.9105 -> "91.05%"; 1,000: 0.781 -> "78.1%"), otherwise with
    `digits` decimals; rounded half up (Python's own formatting rounds the float 0.9105 down)."""
    if n is not None:
        digits = max(0, len(str(max(1, n))) - 3)
    quantum = Decimal(1).scaleb(-digits)
    return f"{(Decimal(repr(share)) * 100).quantize(quantum, ROUND_HALF_UP)}%"


def minutes_text(seconds: float | None) -> str:
    """A wall time to the nearest minute, the one way pages and cards write it: "1 h 9 min", "42 min"."""
    if not seconds:
        return ""
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def device_text(device_name: str | None) -> str:
    """A run's device name as recorded, with the thread count's plural right ("1 threads" in older records)."""
    return re.sub(r"\b1 threads\b", "1 thread", str(device_name or "an unnamed device"))


def _cpu_kind(device_name: str | None) -> str:
    """'CPU (AMD EPYC, 2 threads)' -> 'a 2-core AMD EPYC'; GPU names stay as they are."""
    name = str(device_name or "an unnamed device")
    match = re.fullmatch(r"CPU \((.*?)(?:\(R\))?(?: Processor)?, (\d+) threads?\)", name.replace("(R)", ""))
    return f"a {match[2]}-core {match[1].strip()}" if match else name


def _passes(phase: dict) -> str:
    recipe = phase.get("recipe") or {}
    epochs = recipe.get("epochs")
    return f"{epochs} pass{'es' if epochs != 1 else ''} over the training images" if epochs else ""


def training_story(run: dict) -> str:
    """How a weight file was trained, for people: the stages, sizes, machines and times, no jargon.

    `run` is a run header (metrics.json's "run", or the weight file's own metadata): with "phases" it tells
    each phase, and for a phase given by `--init` (trained by an earlier run) the commit that made it;
    otherwise the one schedule.
    """
    phases = run.get("phases") or []
    if phases:
        parts = []
        for i, phase in enumerate(phases):
            first = "first" if i == 0 else "then"
            recipe = phase.get("recipe") or {}
            size = phase.get("input_size") or recipe.get("input_size")
            where = _cpu_kind(phase.get("device_name"))
            passes = _passes(phase)
            if recipe.get("drawings"):
                passes += (f", {percent(recipe['drawings'], digits=0)} of each pass's images drawn as silhouettes, "
                           "outlines and scribbles")
            if recipe.get("doodles"):
                passes += (f" and {percent(recipe['doodles'], digits=0)} replaced by doodles of their class, drawn "
                           "from memory in a few strokes")
            bits = [b for b in (passes, minutes_text(phase.get("wall_time_s")) + f" on {where}") if b]
            origin = ""
            if phase.get("given_by_init"):
                origin = f"; made earlier, at commit {str(phase.get('git_commit'))[:7]}"
            drew_before = i > 0 and ((phases[i - 1].get("recipe") or {}).get("drawings") or 0) > 0
            stage = ("another drawing stage" if drew_before else "a drawing stage") if recipe.get("drawings") else ""
            stage = "a doodle stage" if recipe.get("doodles") else stage
            parts.append(f"{first} {stage + ' ' if stage else ''}at {size} px ({', '.join(bits)}{origin})")
        words = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}
        count = words.get(len(phases), str(len(phases)))
        return f"trained in {count} stages: " + ", ".join(parts)
    recipe = run.get("recipe") or {}
    sizes = recipe.get("sizes") or [recipe.get("input_size", 224)]
    size_text = " then ".join(f"{s} px" for s in dict.fromkeys(sizes))
    epochs = recipe.get("epochs")
    wall = minutes_text(run.get("wall_time_s") or (run.get("metrics") or {}).get("wall_time_s"))
    return (f"trained at {size_text}" + (f", {epochs} pass{'es' if epochs != 1 else ''} over the training images"
                                           if epochs else "")
            + (f", {wall}" if wall else "") + f" on {_cpu_kind(run.get('device_name'))}")
