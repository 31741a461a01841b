"""Where a run executes: device, precision, the DDP process group, provenance, atomic file writes.

Shared by the trainer, the evaluator and the benchmarks so that all of them pick the device, the
autocast and the memory format the same way. It knows nothing of recipes, data or the network.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from nin.files import write_atomically


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


@contextmanager
def process_group(info: DistInfo, device: torch.device):
    """Join the torchrun process group for the block (NCCL on CUDA, gloo on CPU); nothing in one process.

    A group someone else already set up (a test, a notebook) is used as it is and left open.
    """
    own = info.world_size > 1 and not dist.is_initialized()
    if own:
        if device.type == "cuda":
            torch.cuda.set_device(device)
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("gloo")
    try:
        yield
    finally:
        if own:
            dist.destroy_process_group()


def all_reduce(tensor: torch.Tensor, info: DistInfo, op=dist.ReduceOp.SUM) -> torch.Tensor:
    """In place across ranks (a no-op in a single process); returns `tensor` for chaining."""
    if info.world_size > 1:
        dist.all_reduce(tensor, op=op)
    return tensor


def barrier(info: DistInfo, device: torch.device) -> None:
    if info.world_size > 1:
        dist.barrier(device_ids=[device.index] if device.type == "cuda" else None)


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
        # bf16 on a CPU pays off only with AVX512-BF16/AMX; on an AVX2-only core it is emulated and
        # about 10x slower than fp32 (measured: 8 vs 130 examples/s at 96 px), so CPU stays fp32.
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
                return f"CPU ({line.split(':', 1)[1].strip()}, {threads_text()})"
    except OSError:
        pass
    return f"CPU ({platform.processor() or platform.machine()}, {threads_text()})"


def threads_text() -> str:
    n = torch.get_num_threads()
    return f"{n} thread{'s' if n != 1 else ''}"


def git_commit() -> str:
    """HEAD of the repository this file is in, or "unknown" (not a checkout, no git)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(device: torch.device, precision: str, **extra) -> dict:
    """Where and with what a result was computed; built once per run and written wherever it is recorded."""
    return {"device_name": device_name(device), "torch_version": torch.__version__, "precision": precision,
            "git_commit": git_commit(), **extra}


def write_json(path: Path, obj: dict) -> Path:
    return write_atomically(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2) + "\n"))


