"""The explorers' precomputed data for one weight file: each channel's top-9 official test images and the feature bank.

`python -m nin.dev.precompute_explorers --weights weights/X.safetensors` writes precomputed/X.explorers.npz: for
every channel of every stage the 9 official test images with the largest response (fp32) and where on the map
it was, and the 10,000 test images' feature vectors (pool3 averaged over space, float16, about 7.7 MB). The
file records the sha256 of the weight file it was made from; `load_bank` checks it and refuses a stale or
foreign file with `BankUnavailable`, whose message says which command to run, so the app can say "unavailable"
instead of showing another network's answers. The official test images themselves (the thumbnails, and the
pixel space of the neighbours) ship once for every weight file, as the official gzip'd IDX files, checked
against nin.data's sha256 at load. A Space has no dataset, and needs none of it at run time.

numpy only at run time; nothing here runs the network.
"""

from __future__ import annotations

import functools
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nin.names import IMAGE_SIZE
from nin.serve.channels import TOP_K, ChannelTop, ReceptiveField
from nin.data import FILES, DataSourceError, parse_idx, read_bytes
from nin.files import sha256_of, write_atomically

ROOT = Path(__file__).resolve().parents[2]
PRECOMPUTED_DIR = ROOT / "precomputed"
TEST_DIR_NAME = "fashion-mnist-test"       # precomputed/fashion-mnist-test/: the official test files, gzip'd IDX
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
FORMAT = 1                                 # bump when the arrays change meaning; older files then read as stale
SUFFIX = ".explorers.npz"


class BankUnavailable(RuntimeError):
    """No usable precomputed data for a weight file. The message says why and which command fixes it."""


def bank_path(weights: str | Path, directory: Path = PRECOMPUTED_DIR) -> Path:
    return Path(directory) / (Path(weights).name.removesuffix(".safetensors") + SUFFIX)


def command_for(weights: str | Path) -> str:
    """The one command that (re)makes the data of `weights`, as the messages print it."""
    weights = Path(weights)
    try:
        shown = weights.resolve().relative_to(ROOT)
    except ValueError:
        shown = weights
    return f"python -m nin.dev.precompute_explorers --weights {shown}"


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value
class TestImages:
    """The 10,000 official Fashion-MNIST test images, as shipped in precomputed/ (read-only arrays)."""

    images: np.ndarray         # uint8 [N, 28, 28]
    labels: np.ndarray         # int64 [N]
    pixels: np.ndarray         # float32 [N, 784] in [0, 1]: the pixel space the neighbours search
    pixel_norms2: np.ndarray   # float32 [N]: squared lengths of `pixels`, for distances by one matrix product


@functools.lru_cache(maxsize=2)
def load_test_images(directory: Path = PRECOMPUTED_DIR) -> TestImages:
    """Read and verify the shipped official test files (sha256 of the decompressed bytes, as nin.data checks)."""
    arrays = []
    for stem in TEST_FILES:
        path = Path(directory) / TEST_DIR_NAME / f"{stem}.gz"
        if not path.is_file():
            raise BankUnavailable(f"{path} is missing: run `python -m nin.dev.precompute_explorers --weights "
                                  "weights/nin_cpu.safetensors` (it copies the official test files).")
        try:
            raw = read_bytes(path)
            array = parse_idx(raw, path)
        except DataSourceError as exc:
            raise BankUnavailable(f"{path} is unreadable ({exc}).") from None
        if hashlib.sha256(raw).hexdigest() != FILES[stem]:
            raise BankUnavailable(f"{path} is not the official Fashion-MNIST test file (sha256 differs).")
        arrays.append(array)
    images, labels = arrays
    pixels = images.reshape(len(images), -1).astype(np.float32) / 255.0
    for array in (images, labels, pixels):
        array.flags.writeable = False
    norms = np.einsum("ij,ij->i", pixels, pixels)
    norms.flags.writeable = False
    return TestImages(images, labels.astype(np.int64), pixels, norms)


@dataclass(frozen=True, eq=False)
class ExplorerBank:
    """One weight file's precomputed explorer data, checked against that file."""

    weights: str                        # the weight file's name
    weights_sha256: str
    meta: dict                          # how and when it was made (precision, seconds, command, versions)
    test: TestImages = field(repr=False)
    features: np.ndarray = field(repr=False)   # float32 [N, 384], each of unit length: cosine = dot product
    stages: dict[str, int] = field(default_factory=dict)                 # stage -> channels, FEATURE_STAGES order
    fields: dict[str, ReceptiveField] = field(default_factory=dict)      # stage -> its receptive field
    top_index: dict[str, np.ndarray] = field(default_factory=dict, repr=False)       # int32 [C, 9]
    top_activation: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # float32 [C, 9]
    top_cell: dict[str, np.ndarray] = field(default_factory=dict, repr=False)        # int16 [C, 9, 2] (row, col)

    @property
    def input_size(self) -> int:
        return int(self.meta["input_size"])

    def channel(self, stage: str, index: int) -> ChannelTop:
        """The precomputed top images of one channel; `stage` and `index` must have been checked by the caller."""
        cells = [tuple(int(v) for v in cell) for cell in self.top_cell[stage][index]]
        rf = self.fields[stage]
        return ChannelTop(
            stage=stage, index=int(index), channels=self.stages[stage], weights=self.weights,
            weights_sha256=self.weights_sha256, receptive_field=rf,
            test_indices=tuple(int(t) for t in self.top_index[stage][index]),
            labels=tuple(int(self.test.labels[t]) for t in self.top_index[stage][index]),
            activations=tuple(float(a) for a in self.top_activation[stage][index]),
            cells=tuple(cells),
            boxes=tuple(tuple(rf.box(r, c, self.input_size)) for r, c in cells),
        )


def save_bank(path: Path, meta: dict, features: np.ndarray, top_index: dict, top_activation: dict,
              top_cell: dict) -> Path:
    """Write one bank atomically (a crash leaves the previous file). Per-stage arrays are stored stacked."""

    stages = list(top_index)
    arrays = {
        "meta": np.array(json.dumps({**meta, "format": FORMAT, "stages": {s: len(top_index[s]) for s in stages}})),
        "features": np.asarray(features, np.float16),
        "top_index": np.concatenate([top_index[s] for s in stages]).astype(np.int32),
        "top_activation": np.concatenate([top_activation[s] for s in stages]).astype(np.float32),
        "top_cell": np.concatenate([top_cell[s] for s in stages]).astype(np.int16),
    }

    def write(tmp: Path):
        with open(tmp, "wb") as handle:  # a file handle: np.savez would append ".npz" to a path
            np.savez_compressed(handle, **arrays)

    return write_atomically(Path(path), write)


def read_meta(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return json.loads(str(data["meta"]))


def load_bank(weights: str | Path, fields: dict[str, ReceptiveField], directory: Path = PRECOMPUTED_DIR,
              weights_sha256: str | None = None) -> ExplorerBank:
    """The bank of `weights` if it was made from exactly this file; BankUnavailable (with the fix) otherwise.

    `fields`: the live model's receptive fields (nin.serve.channels.receptive_fields), so boxes follow the network
    actually loaded. `weights_sha256` saves hashing the file again when the caller has done it.
    """
    weights = Path(weights)
    path = bank_path(weights, directory)
    fix = f"run `{command_for(weights)}`"
    if not path.is_file():
        raise BankUnavailable(f"No precomputed explorer data for {weights.name} ({path.name} is missing): {fix}.")
    sha = weights_sha256 or sha256_of(weights)
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != FORMAT or meta.get("weights_sha256") != sha:
                made_for = (f"weights with sha256 {str(meta.get('weights_sha256'))[:12]}…" if meta.get("format") == FORMAT
                            else f"an older format ({meta.get('format')}, this app reads {FORMAT})")
                raise BankUnavailable(f"The precomputed explorer data is stale: {path.name} was made for {made_for}, "
                                      f"{weights.name} has sha256 {sha[:12]}…: {fix}.")
            arrays = {name: data[name] for name in ("features", "top_index", "top_activation", "top_cell")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise BankUnavailable(f"{path.name} is unreadable ({type(exc).__name__}): {fix}.") from None
    test = load_test_images(Path(directory))
    stages = {s: int(c) for s, c in meta["stages"].items()}
    features = arrays["features"].astype(np.float32)
    if features.shape[0] != len(test.labels) or arrays["top_index"].shape != (sum(stages.values()), TOP_K) \
            or set(stages) != set(fields):
        raise BankUnavailable(f"{path.name} does not fit this network or the test set: {fix}.")
    features /= np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    features.flags.writeable = False
    split = np.cumsum(list(stages.values()))[:-1]
    per_stage = {name: dict(zip(stages, np.split(arrays[name], split))) for name in
                 ("top_index", "top_activation", "top_cell")}
    return ExplorerBank(weights=weights.name, weights_sha256=sha, meta=meta, test=test, features=features,
                        stages=stages, fields=dict(fields), **per_stage)


def copy_test_files(source_dir: Path, directory: Path = PRECOMPUTED_DIR) -> list[Path]:
    """Ship the official test files (gzip'd IDX, as the dataset publishes them) once for every weight file."""
    import gzip

    from nin.data import find_files

    found = find_files(Path(source_dir)) or {}
    written = []
    for stem in TEST_FILES:
        raw = read_bytes(found[stem])
        if hashlib.sha256(raw).hexdigest() != FILES[stem]:
            raise DataSourceError(f"{found[stem]}: not the official {stem}")
        target = Path(directory) / TEST_DIR_NAME / f"{stem}.gz"
        if target.is_file() and hashlib.sha256(read_bytes(target)).digest() == hashlib.sha256(raw).digest():
            written.append(target)
            continue
        packed = gzip.compress(raw, compresslevel=9, mtime=0)  # mtime=0: the same bytes every time
        written.append(write_atomically(target, lambda tmp: tmp.write_bytes(packed)))
    return written


__all__ = ["ExplorerBank", "TestImages", "BankUnavailable", "load_bank", "load_test_images", "save_bank",
           "bank_path", "command_for", "copy_test_files", "PRECOMPUTED_DIR", "IMAGE_SIZE"]
