"""Training checkpoints as safetensors (nothing in this project is ever unpickled), for `--resume`.

Model tensors go under `model.`, the optimizer's tensors (momentum buffers) under `optim.<param index>.`,
and everything else (epoch, scheduler, param groups, rows so far, the run's identity) as JSON in the
safetensors metadata. A checkpoint continues only the run it came from. A run may also start from a weight
file (`--init`): `load_init` copies it in, `init_record` is what the run records of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from nin.files import sha256_of, write_atomically
from nin.model import WeightsError, load_weights, preprocessing_of, read_metadata, unwrap
from nin.train.recipe import Recipe

CHECKPOINT_KIND = "nin-train-checkpoint"


class CheckpointError(ValueError):
    """A --resume checkpoint is unreadable or belongs to a different run. The message names the file."""


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler, state: dict) -> Path:
    """Write model, optimizer and scheduler state plus the JSON-able `state` to `path`, atomically."""
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().to("cpu").contiguous() for k, v in unwrap(model).state_dict().items()}
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
    return write_atomically(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def load_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler,
                    expect: dict | None = None) -> dict:
    """Restore model, optimizer and scheduler in place; return the JSON state saved with them.

    `expect` (e.g. recipe, seed) must equal what the checkpoint saved (compared as JSON): a checkpoint
    continues only the run it came from, anything else would silently mix two runs.
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
    expect = json.loads(json.dumps(expect or {}))  # tuples become lists, as they were saved
    diffs = [f"{k}: checkpoint has {state.get(k)!r}, this run {v!r}" for k, v in expect.items() if state.get(k) != v]
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


def init_record(path: Path) -> dict:
    """What a run started from, for its provenance: the file's name, sha256 and how it was made. Not the file's
    own phase list: a phased run tells that story once (nin.train.phases), and a copy nested in every record
    doubled the metadata with each run chained on the last."""
    meta = read_metadata(path)
    metrics = meta.get("metrics") or {}
    return {"file": path.name, "sha256": sha256_of(path), "recipe": meta.get("recipe"),
            "test_acc": metrics.get("test_acc"), "input_size": meta.get("input_size"),
            "wall_time_s": metrics.get("wall_time_s"),
            **{k: meta.get(k) for k in ("git_commit", "device_name", "precision")}}


def load_init(net: nn.Module, path: Path, recipe: Recipe) -> None:
    """Copy a weight file into `net`: every tensor and shape must fit (nin.model.load_weights), and the file
    must have been trained on the input scaling this recipe feeds (same mean and std), or its features
    would see another input than the one they learnt."""
    trained, meta = load_weights(path)
    spec = preprocessing_of(meta)
    if (spec.mean, spec.std) != (recipe.mean, recipe.std):
        raise WeightsError(f"{path}: trained on inputs scaled with mean {spec.mean}, std {spec.std}; recipe "
                           f"{recipe.name!r} feeds mean {recipe.mean}, std {recipe.std}")
    net.load_state_dict(trained.state_dict())
