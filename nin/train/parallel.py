"""Drawing a batch of training images on every core: `in_parallel` splits the rows among worker processes.

Drawing (nin.train.drawings, nin.train.doodles) is one core's work per image, pure numpy and PIL with a little
torch, while the training step between two epochs waits for it; each image has its own seed, so the result
does not depend on how the rows are split. Not a data loader: it runs once per drawing epoch.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Callable

import numpy as np
import torch

WORKERS = 2  # processes that draw side by side (the training machines have 2 cores)
PARALLEL_FROM = 2_000  # fewer rows are drawn in this process: starting the workers costs a few seconds


def in_parallel(part: Callable[..., np.ndarray], *columns) -> np.ndarray:
    """`part(*columns)`, the rows split among WORKERS processes when there are PARALLEL_FROM or more, the
    results joined in order. Drawing is one core's work per image and every image has its own seed, so
    the result is the same either way; `part` must be a module-level function (the workers import it)."""
    n = len(columns[0])
    if n < PARALLEL_FROM or WORKERS < 2:
        return part(*columns)
    bounds = np.linspace(0, n, WORKERS + 1).astype(int)
    pieces = [[column[lo:hi] for column in columns] for lo, hi in zip(bounds[:-1], bounds[1:])]
    context = multiprocessing.get_context("spawn")  # not fork: a forked torch can hang in its thread pool
    with ProcessPoolExecutor(WORKERS, mp_context=context, initializer=torch.set_num_threads,
                             initargs=(1,)) as pool:
        return np.concatenate(list(pool.map(part, *zip(*pieces))))
