"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv 1708.07747): where the bytes come from, and batches on the device.

This module finds the four official IDX files offline (an explicit folder, $FASHION_MNIST_DIR, the Debian
package, a torchvision download), checks them against the official checksums, and serves them as uint8
tensors. `to_model_input` is the one 28 -> 224 resize that training and the app share; `DeviceBatches`
shuffles, shards, augments and resizes on the device itself, so a GPU never waits on PIL or worker processes.
It is not a Dataset/DataLoader and holds no model, training loop or pictures.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nin.names import IMAGE_SIZE

# sha256 of the *decompressed* files: Debian recompresses them, so only the content matches upstream.
FILES = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")  # apt-get install -y dataset-fashion-mnist
TORCHVISION_ROOT = Path("data")  # torchvision.datasets.FashionMNIST("./data") puts files in FashionMNIST/raw
ENV_VAR = "FASHION_MNIST_DIR"
TRAIN_MEAN = 0.2860  # train pixel mean on [0, 1]
TRAIN_STD = 0.3530  # train pixel std on [0, 1]

_IDX_IMAGES = 0x00000803  # unsigned bytes, 3 dims: N x rows x cols
_IDX_LABELS = 0x00000801  # unsigned bytes, 1 dim: N
_GZIP_MAGIC = b"\x1f\x8b"
_FIX = (
    "Fix: `apt-get install -y dataset-fashion-mnist` (Debian/Ubuntu), or point --data-dir or "
    f"${ENV_VAR} at a folder holding the four files " + ", ".join(FILES) + " (each plain or .gz), "
    "or allow the torchvision download (needs internet)."
)


class DataSourceError(RuntimeError):
    """Fashion-MNIST could not be found, read or verified. The message names the file or every source tried."""


@dataclass(frozen=True, eq=False)  # eq=False: comparing tensors field by field has no single truth value
class FashionMNIST:
    """The official splits as tensors. Shared by every caller through the cache: treat them as read-only."""

    train_images: torch.Tensor = field(repr=False)  # uint8 [60000, 28, 28], 0 = black background
    train_labels: torch.Tensor = field(repr=False)  # int64 [60000], class indices into model.CLASS_NAMES
    test_images: torch.Tensor = field(repr=False)  # uint8 [10000, 28, 28]
    test_labels: torch.Tensor = field(repr=False)  # int64 [10000]
    source: Path  # the resolved folder the four files were read from


# ----------------------------------------------------------------------------- finding the files

def candidate_sources(data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """(label, folder) pairs in the order they are tried; unset ones are left out."""
    sources = []
    if data_dir:
        sources.append(("--data-dir", Path(data_dir)))
    if os.environ.get(ENV_VAR):
        sources.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR])))
    sources.append(("Debian dataset-fashion-mnist", DEBIAN_DIR))
    sources.append(("torchvision download into ./data", TORCHVISION_ROOT / "FashionMNIST" / "raw"))
    return sources


def find_files(directory: Path) -> dict[str, Path] | None:
    """Stem -> file for all four files in `directory`, or None when any is missing."""
    found = {}
    for stem in FILES:
        # Prefer the decompressed file: torchvision keeps both, and plain bytes skip a gunzip.
        for name in (stem, stem + ".gz"):
            if (directory / name).is_file():
                found[stem] = directory / name
                break
        else:
            return None
    return found


def _why_unusable(directory: Path) -> str:
    if not directory.is_dir():
        return "no such folder"
    missing = [s for s in FILES if not (directory / s).is_file() and not (directory / f"{s}.gz").is_file()]
    return "missing " + ", ".join(missing)


# ----------------------------------------------------------------------------- reading IDX

def read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it is gzip (sniffed from the bytes, not the name)."""
    try:
        raw = Path(path).read_bytes()
        return gzip.decompress(raw) if raw[:2] == _GZIP_MAGIC else raw
    except (OSError, EOFError, zlib.error) as exc:  # a cut-off .gz raises EOFError, a corrupt one BadGzipFile
        raise DataSourceError(f"{path}: cannot read, the file may be truncated or corrupt ({exc})") from exc


def parse_idx(raw: bytes, name: str | os.PathLike = "<bytes>") -> np.ndarray:
    """Parse IDX bytes (uint8 images or labels) into a writable numpy array; `name` is used in errors."""
    if len(raw) < 4:
        raise DataSourceError(f"{name}: {len(raw)} bytes is too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if magic not in (_IDX_IMAGES, _IDX_LABELS):
        raise DataSourceError(
            f"{name}: bad IDX magic 0x{magic:08x}, expected 0x{_IDX_IMAGES:08x} (images) "
            f"or 0x{_IDX_LABELS:08x} (labels); not a Fashion-MNIST file"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataSourceError(f"{name}: truncated IDX header ({len(raw)} of {header} bytes)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(shape)
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        raise DataSourceError(f"{name}: {what}: header says {shape} = {expected} bytes, file has {len(raw)}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file, gz or not: images uint8 [N, rows, cols], labels uint8 [N]."""
    return parse_idx(read_bytes(Path(path)), path)


def _check_sha256(raw: bytes, stem: str, path: Path, expected: str) -> None:
    got = hashlib.sha256(raw).hexdigest()
    if got != expected:
        raise DataSourceError(
            f"{path}: sha256 mismatch for {stem} (decompressed): expected {expected}, got {got}. "
            "This is not the official Fashion-MNIST release; delete it or point elsewhere."
        )


def _split(images: np.ndarray, labels: np.ndarray, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Check one split's shapes agree, then hand it over as torch tensors."""
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataSourceError(f"{split} images have shape {images.shape}, expected [N, 28, 28]")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataSourceError(f"{split} labels have shape {labels.shape} for {len(images)} images")
    return torch.from_numpy(images), torch.from_numpy(labels).long()


@functools.lru_cache(maxsize=4)
def _load_dir(directory: Path, fingerprint: tuple, expected: tuple | None) -> FashionMNIST:
    """Read (and verify) one folder. The cache key has each file's size and mtime, so edited files reload."""
    del fingerprint  # only part of the cache key
    checksums = dict(expected) if expected else {}
    arrays = {}
    for stem, path in find_files(directory).items():
        raw = read_bytes(path)
        if stem in checksums:
            _check_sha256(raw, stem, path, checksums[stem])
        arrays[stem] = parse_idx(raw, path)
    train = _split(arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"], "train")
    test = _split(arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"], "test")
    return FashionMNIST(*train, *test, source=directory)


def _load_source(label: str, directory: Path, verify: bool) -> FashionMNIST:
    directory = directory.resolve()
    files = find_files(directory)
    fingerprint = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files.values())
    expected = tuple(sorted(FILES.items())) if verify else None
    try:
        return _load_dir(directory, fingerprint, expected)
    except DataSourceError as exc:
        raise DataSourceError(f"Fashion-MNIST from {label} ({directory}) is unusable: {exc}") from exc


def _try_torchvision_download() -> str | None:
    """Let torchvision fetch the files into ./data; returns why it failed, or None."""
    try:
        import torchvision

        torchvision.datasets.FashionMNIST(str(TORCHVISION_ROOT), train=True, download=True)
    except Exception as exc:  # no network, mirror down, bad md5: all just mean "this source failed"
        return f"download failed ({type(exc).__name__}: {' '.join(str(exc).split())})"  # one line per source
    return None


def load_fashion_mnist(
    data_dir: str | os.PathLike | None = None, download: bool = True, verify: bool = True
) -> FashionMNIST:
    """The official Fashion-MNIST from the first usable source, verified against `FILES`.

    A usable source whose files fail to parse or verify raises at once rather than falling through
    to the next source: silently training on other bytes than the ones asked for would hide the problem.
    """
    tried = []
    for label, directory in candidate_sources(data_dir):
        if find_files(directory) is not None:
            return _load_source(label, directory, verify)
        tried.append(f"{label} ({directory.resolve()}): {_why_unusable(directory)}")
    if download:
        label, directory = candidate_sources()[-1]
        failure = _try_torchvision_download()
        if failure is None and find_files(directory) is not None:
            return _load_source(label, directory, verify)
        tried.append(f"torchvision download ({directory.resolve()}): {failure or _why_unusable(directory)}")
    else:
        tried.append("torchvision download: not attempted (download=False)")
    raise DataSourceError(
        "Fashion-MNIST not found. Sources tried, in order:\n"
        + "\n".join(f"  {i}. {t}" for i, t in enumerate(tried, 1))
        + "\n" + _FIX
    )


# ----------------------------------------------------------------------------- model input and batches

def to_model_input(
    images: torch.Tensor, input_size: int = 224, mean: float = 0.0, std: float = 1.0
) -> torch.Tensor:
    """uint8 [B, 28, 28] or [B, 1, 28, 28] -> float32 [B, 1, S, S]: scale to [0, 1], bilinear resize, normalise.

    Training and the app both call this, so a picture is resized the same way in both. It stays on
    `images.device`. Against torchvision's PIL Resize(224)+ToTensor it differs by at most one 8-bit
    step (measured max abs difference 0.0039 on official test images): PIL rounds its output to uint8.
    """
    if images.dtype != torch.uint8:
        # A float image in [0, 1] would be divided by 255 again without complaint; refuse it instead.
        raise TypeError(f"to_model_input expects uint8 images, got {images.dtype}")
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"expected images [B, 28, 28] or [B, 1, 28, 28], got {tuple(images.shape)}")
    x = images.float() / 255.0
    if x.shape[-2:] != (input_size, input_size):
        x = F.interpolate(x, size=(input_size, input_size), mode="bilinear", align_corners=False, antialias=False)
    return normalise(x, mean, std)


def normalise(x: torch.Tensor, mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    """(x - mean) / std on a [0, 1] input: the standardisation a weight file records (nin.model.Preprocessing);
    the d2l seed's 0 / 1 leave `x` as it is."""
    return x if (mean, std) == (0.0, 1.0) else (x - mean) / std


def random_flip_and_shift(images: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Per image: horizontal flip with p=0.5, then shift by up to `max_shift` px in x and y, filling with black.

    Works on uint8 [B, H, W] on any device in a few batched ops (no per-image loop); draws from
    `generator`, which must live on `images.device`.
    """
    b, h, w = images.shape
    device = images.device
    flip = torch.rand(b, generator=generator, device=device) < 0.5
    images = torch.where(flip[:, None, None], images.flip(-1), images)
    # Shifting = zero-padding and cropping at a random offset (the RandomCrop(28, padding=2) recipe).
    padded = F.pad(images, (max_shift,) * 4)
    dy = torch.randint(0, 2 * max_shift + 1, (b,), generator=generator, device=device)
    dx = torch.randint(0, 2 * max_shift + 1, (b,), generator=generator, device=device)
    rows = (dy[:, None] + torch.arange(h, device=device))[:, :, None]  # [B, H, 1]
    cols = (dx[:, None] + torch.arange(w, device=device))[:, None, :]  # [B, 1, W]
    return padded[torch.arange(b, device=device)[:, None, None], rows, cols]


def shard_indices(perm: torch.Tensor, rank: int, world_size: int, drop_last: bool) -> torch.Tensor:
    """This rank's part of an epoch's order, the DistributedSampler way, so every rank gets the same count.

    drop_last cuts the tail; otherwise the order is padded by repeating its start.
    """
    n = len(perm)
    per_rank = n // world_size if drop_last else math.ceil(n / world_size)
    total = per_rank * world_size
    if total > n:
        perm = torch.cat([perm, perm.repeat(math.ceil((total - n) / n))[: total - n]])
    return perm[:total][rank::world_size]


def _mix_seed(*parts: int) -> int:
    """One 63-bit seed from several ints without the collisions of a plain sum (epoch 1 rank 0 vs epoch 0 rank 1)."""
    seed = 0
    for part in parts:
        seed = (seed * 1_000_003 + part) % (2**63)
    return seed


class DeviceBatches:
    """Shuffled, sharded, optionally augmented batches made on `device` from a uint8 dataset held there.

    The dataset is copied to the device once; each batch is an index gather, optional flip/shift on the
    28x28 uint8 pixels, and `to_model_input`. Call `set_epoch` before each epoch, as with DistributedSampler.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        device: str | torch.device = "cpu",
        *,
        shuffle: bool = True,
        augment: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
        input_size: int = 224,
        mean: float = 0.0,
        std: float = 1.0,
    ):
        if images.dim() == 4 and images.shape[1] == 1:
            images = images[:, 0]
        if images.dtype != torch.uint8 or images.dim() != 3:
            raise ValueError(f"images must be uint8 [N, H, W], got {images.dtype} {tuple(images.shape)}")
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if batch_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need batch_size >= 1 and 0 <= rank < world_size, got {batch_size}, {rank}, {world_size}")
        self.device = torch.device(device)
        self.images = images.to(self.device)
        self.labels = labels.to(self.device, torch.int64)
        self.batch_size = batch_size
        self.shuffle, self.augment, self.seed = shuffle, augment, seed
        self.rank, self.world_size, self.drop_last = rank, world_size, drop_last
        self.input_size, self.mean, self.std = input_size, mean, std
        self.fraction = 1.0  # share of the (shuffled) dataset an epoch covers: a short fine-tune pass
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def _epoch_examples(self) -> int:
        return max(1, math.ceil(len(self.images) * self.fraction))

    @property
    def _per_rank(self) -> int:
        n = self._epoch_examples
        return n // self.world_size if self.drop_last else math.ceil(n / self.world_size)

    @property
    def num_examples(self) -> int:
        """Examples this rank yields per epoch (padding included; a dropped last batch excluded)."""
        return len(self) * self.batch_size if self.drop_last else self._per_rank

    def __len__(self) -> int:
        divide = (lambda a, b: a // b) if self.drop_last else (lambda a, b: math.ceil(a / b))
        return divide(self._per_rank, self.batch_size)

    def epoch_indices(self) -> torch.Tensor:
        """This rank's example order for the current epoch, on the device."""
        n = len(self.images)
        if self.shuffle:
            # Drawn on the CPU once per epoch so the order is the same on every rank and every device type.
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed + self.epoch))
        else:
            perm = torch.arange(n)
        return shard_indices(perm[: self._epoch_examples], self.rank, self.world_size, self.drop_last).to(self.device)

    def __iter__(self):
        indices = self.epoch_indices()
        generator = None
        if self.augment:
            generator = torch.Generator(device=self.device)
            generator.manual_seed(_mix_seed(self.seed, self.epoch, self.rank))
        for i in range(len(self)):
            idx = indices[i * self.batch_size: (i + 1) * self.batch_size]
            images = self.images[idx]
            if generator is not None:
                images = random_flip_and_shift(images, generator)
            yield to_model_input(images, self.input_size, self.mean, self.std), self.labels[idx]
