"""Phased recipes (`python -m nin.train --recipe cpu`): each phase an ordinary run of the epoch loop, the next
starting from the weights of the one before.

The phases of nin.train.recipe.PHASES[plan] run in OUT/phase-a, OUT/phase-b, ..., each through
`nin.train.loop.train` with `--init` set to the previous phase's weights; OUT/weights.safetensors and
OUT/metrics.json then describe the whole run, every phase's story in the weights' metadata. `--resume OUT`
continues such a run at any epoch of any phase, and `--from-phase B --init FILE` starts at phase B from a
phase-A file made elsewhere (`--from-phase C --init weights/nin_cpu.safetensors` adds the drawing phase to
the shipped file, whose metadata already tells phases A and B).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

from nin.data import FashionMNIST, load_fashion_mnist
from nin.model import WeightsError, load_weights, read_metadata, save_weights
from nin.train import loop  # loop.train through the module, so a test can stand in for it
from nin.train.checkpoint import init_record
from nin.train.loop import RunOptions, TrainResult
from nin.train.recipe import PHASES
from nin.train.runtime import dist_info_from_env, write_json


def train_phases(plan: str, opts: RunOptions, data: FashionMNIST | None = None,
                 from_phase: str | None = None) -> TrainResult:
    """Run the phases of PHASES[plan] in order, each in OUT/phase-<name> starting from the previous phase's
    weights, then write OUT/weights.safetensors and OUT/metrics.json describing the whole run.

    `from_phase` skips the phases before it; `opts.init` must then be the weight file they would have made.
    With `opts.resume` set, a phase that already completed in OUT is kept and a phase with a checkpoint
    continues from it, so a run killed anywhere (even between phases) ends with the same weights.
    """
    phases = PHASES[plan]
    names = [name for name, _ in phases]
    start = names.index(from_phase) if from_phase else 0
    if start and opts.init is None:
        raise WeightsError(f"phase {names[start]} starts from phase {names[start - 1]}'s weights: give --init FILE")
    out = Path(opts.out) if opts.out is not None else Path("runs") / plan
    data = data if data is not None else load_fashion_mnist(opts.data_dir)
    init = Path(opts.init) if opts.init is not None else None
    summaries = _inherited_phases(names[start - 1], init) if start else []
    rows: list[dict] = []
    result = None
    for name, recipe in phases[start:]:
        sub = out / f"phase-{name.lower()}"
        done = _completed_phase(sub) if opts.resume else None
        if done is not None:
            phase_rows, header = done["epochs"], done
        else:
            checkpoint = sub / "checkpoint.safetensors"
            resume = checkpoint if opts.resume and checkpoint.is_file() else None
            result = loop.train(recipe, replace(opts, out=sub, init=init, resume=resume), data)
            phase_rows, header = result.rows, json.loads((sub / "metrics.json").read_text())
        rows += [{**row, "phase": name, "phase_epoch": row["epoch"], "epoch": len(rows) + i + 1}
                 for i, row in enumerate(phase_rows)]
        summaries.append({"phase": name, "recipe": asdict(recipe), "test_acc": phase_rows[-1]["test_acc"],
                          "drawn_acc": phase_rows[-1].get("drawn_acc"),
                          "input_size": recipe.input_size, "wall_time_s": header["wall_time_s"],
                          "per_class_acc": phase_rows[-1].get("per_class_acc"),
                          **{k: header.get(k) for k in ("git_commit", "device_name", "precision", "channels_last",
                                                        "mode_probe", "init")}})
        init = sub / "weights.safetensors"
    info = dist_info_from_env()
    weights_path = _save_phased(plan, out, init, summaries, rows) if info.is_main else None
    return TrainResult(rows=rows, final_test_acc=rows[-1]["test_acc"], out=out, weights_path=weights_path,
                       step_losses=result.step_losses if result else [])


def _inherited_phases(last: str, init: Path) -> list[dict]:
    """The story of the phases before the first one run here, told by the --init file: when that file was made
    by a phased run, its phase list, the last phase marked as given by the file; otherwise one entry for
    phase `last`, the file itself."""
    record = init_record(init)
    inherited = read_metadata(init).get("phases") or []
    if inherited:
        # Every phase the file tells was trained before this run, so none of it counts as trained here.
        given = {**inherited[-1], "given_by_init": True, "file": record["file"], "sha256": record["sha256"]}
        return [*({**phase, "given_by_init": True} for phase in inherited[:-1]), given]
    return [{"phase": last, "given_by_init": True, **record}]


def _completed_phase(folder: Path) -> dict | None:
    """The metrics of a phase that finished in `folder` (its weights written), or None."""
    try:
        metrics = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    return metrics if metrics.get("status") == "complete" and (folder / "weights.safetensors").is_file() else None


def _save_phased(plan: str, out: Path, last: Path, summaries: list[dict], rows: list[dict]) -> Path:
    """OUT/weights.safetensors: the last phase's network, with metadata that tells every phase's story."""
    net, meta = load_weights(last)
    wall = sum(s.get("wall_time_s") or 0.0 for s in summaries)
    trained_here = sum(s.get("wall_time_s") or 0.0 for s in summaries if not s.get("given_by_init"))
    meta = {k: v for k, v in meta.items() if k not in ("format", "architecture")}
    meta["plan"] = plan
    meta["phases"] = summaries
    meta["metrics"] = {**meta["metrics"], "epochs": len(rows), "wall_time_s": wall, "wall_time_here_s": trained_here}
    path = save_weights(net, out / "weights.safetensors", metadata=meta)
    write_json(out / "metrics.json", {
        "plan": plan, "status": "complete", "recipe": meta.get("recipe"), "phases": summaries,
        "wall_time_s": wall, "wall_time_here_s": trained_here, "final_test_acc": rows[-1]["test_acc"],
        "weak_classes": rows[-1].get("weak_classes", []),
        **{k: meta.get(k) for k in ("git_commit", "device_name", "torch_version", "precision", "seed", "num_train",
                                    "data_source")},
        "epochs": rows,
    })
    return path
