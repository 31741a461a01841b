"""nin/data.py as a specification: IDX parsing, checksums, source order, device batches, the shared resize,
and the official Fashion-MNIST facts (counts, first labels, pixel statistics)."""

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from nin import data


# ----------------------------------------------------------------------------- helpers: tiny fake IDX files

def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x00000800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    raw = idx_bytes(array)
    path = path.with_name(path.name + ".gz") if gz else path
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def fake_dataset_dir(directory: Path, n_train: int = 6, n_test: int = 4, gz: bool = False) -> Path:
    """Four valid but unofficial IDX files; n_train tells the folders apart."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n_train)
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(directory / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), gz)
        write_idx(directory / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n), gz)
    return directory


@pytest.fixture
def no_default_sources(tmp_path, monkeypatch):
    """Point every implicit source at empty places, so only what a test sets up can be found."""
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.chdir(tmp_path)  # ./data is relative to the working directory
    return tmp_path


# ----------------------------------------------------------------------------- IDX parsing

@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_idx_parser_round_trips_images_and_labels(tmp_path, gz):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    labels = np.array([9, 0, 0, 3, 0], dtype=np.uint8)
    got_images = data.read_idx(write_idx(tmp_path / "images", images, gz))
    got_labels = data.read_idx(write_idx(tmp_path / "labels", labels, gz))
    assert got_images.dtype == np.uint8 and got_images.shape == (5, 28, 28)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_idx_parser_rejects_bad_magic(tmp_path):
    path = tmp_path / "not-idx"
    path.write_bytes(b"\x00\x00\x0d\x03" + bytes(100))  # 0x0d = float, not the unsigned bytes Fashion-MNIST uses
    with pytest.raises(data.DataSourceError, match=r"not-idx.*magic"):
        data.read_idx(path)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_idx_parser_rejects_truncated_file_naming_it(tmp_path, gz):
    full = write_idx(tmp_path / "cut-images", np.zeros((3, 28, 28), np.uint8), gz)
    full.write_bytes(full.read_bytes()[:-10])
    with pytest.raises(data.DataSourceError, match="cut-images"):
        data.read_idx(full)


def test_idx_parser_rejects_trailing_bytes(tmp_path):
    path = write_idx(tmp_path / "long-labels", np.zeros(4, np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(data.DataSourceError, match="long-labels.*trailing"):
        data.read_idx(path)


# ----------------------------------------------------------------------------- checksums and sources

def test_checksum_mismatch_names_file_expected_and_got(no_default_sources):
    folder = fake_dataset_dir(no_default_sources / "fake")
    with pytest.raises(data.DataSourceError) as info:
        data.load_fashion_mnist(folder, download=False, verify=True)
    message = str(info.value)
    assert "sha256 mismatch" in message
    assert "train-images-idx3-ubyte" in message and str(folder.resolve()) in message
    assert data.FILES["train-images-idx3-ubyte"] in message  # the expected digest is spelled out


def test_matching_checksums_load(no_default_sources, monkeypatch):
    import hashlib

    folder = fake_dataset_dir(no_default_sources / "fake", gz=True)
    digests = {stem: hashlib.sha256(gzip.decompress((folder / f"{stem}.gz").read_bytes())).hexdigest()
               for stem in data.FILES}
    monkeypatch.setattr(data, "FILES", digests)
    loaded = data.load_fashion_mnist(folder, download=False, verify=True)
    assert loaded.train_images.shape == (6, 28, 28) and loaded.test_labels.dtype == torch.int64


def test_candidate_sources_order_and_labels(monkeypatch, tmp_path):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    sources = data.candidate_sources(tmp_path / "explicit")
    assert [label for label, _ in sources] == [
        "--data-dir", "$FASHION_MNIST_DIR", "Debian dataset-fashion-mnist", "torchvision download into ./data"]
    assert sources[0][1] == tmp_path / "explicit" and sources[1][1] == tmp_path / "env"
    assert sources[2][1] == data.DEBIAN_DIR and sources[3][1] == Path("data/FashionMNIST/raw")


def test_candidate_sources_skip_unset_ones(monkeypatch):
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    labels = [label for label, _ in data.candidate_sources()]
    assert labels == ["Debian dataset-fashion-mnist", "torchvision download into ./data"]


def _four_sources(root: Path, monkeypatch) -> dict[str, Path]:
    """One fake folder per source, told apart by their train sizes 1..4 (gz and plain mixed)."""
    dirs = {
        "explicit": fake_dataset_dir(root / "explicit", n_train=1),
        "env": fake_dataset_dir(root / "env", n_train=2, gz=True),
        "debian": fake_dataset_dir(root / "debian", n_train=3, gz=True),
        "torchvision": fake_dataset_dir(root / "data" / "FashionMNIST" / "raw", n_train=4),
    }
    monkeypatch.setenv(data.ENV_VAR, str(dirs["env"]))
    monkeypatch.setattr(data, "DEBIAN_DIR", dirs["debian"])
    return dirs


def test_source_priority_is_data_dir_then_env_then_debian_then_torchvision(no_default_sources, monkeypatch):
    dirs = _four_sources(no_default_sources, monkeypatch)

    def winner(data_dir=None):
        return len(data.load_fashion_mnist(data_dir, download=False, verify=False).train_images)

    assert winner(dirs["explicit"]) == 1
    assert winner() == 2
    monkeypatch.delenv(data.ENV_VAR)
    assert winner() == 3
    monkeypatch.setattr(data, "DEBIAN_DIR", no_default_sources / "gone")
    assert winner() == 4


def test_incomplete_folder_is_skipped_for_the_next_source(no_default_sources, monkeypatch):
    dirs = _four_sources(no_default_sources, monkeypatch)
    (dirs["env"] / "t10k-labels-idx1-ubyte.gz").unlink()
    loaded = data.load_fashion_mnist(download=False, verify=False)
    assert len(loaded.train_images) == 3 and loaded.source == dirs["debian"].resolve()


def test_no_source_without_download_lists_every_source_tried(no_default_sources, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(no_default_sources / "env-empty"))
    partial = no_default_sources / "partial"
    partial.mkdir()
    write_idx(partial / "train-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(data.DataSourceError) as info:
        data.load_fashion_mnist(partial, download=False)
    message = str(info.value)
    for label in ("--data-dir", "$FASHION_MNIST_DIR", "Debian dataset-fashion-mnist", "./data", "download"):
        assert label in message
    assert "missing train-images-idx3-ubyte, t10k-images-idx3-ubyte" in message
    assert "apt-get install -y dataset-fashion-mnist" in message


def test_download_runs_only_when_no_local_source_and_its_failure_is_reported(no_default_sources, monkeypatch):
    calls = []
    monkeypatch.setattr(data, "_try_torchvision_download", lambda: calls.append(1) or "download failed (offline)")
    with pytest.raises(data.DataSourceError, match=r"torchvision download .*download failed \(offline\)"):
        data.load_fashion_mnist(download=True)
    assert calls == [1]


def test_downloaded_files_are_read_from_the_torchvision_folder(no_default_sources, monkeypatch):
    raw = no_default_sources / "data" / "FashionMNIST" / "raw"
    monkeypatch.setattr(data, "_try_torchvision_download", lambda: fake_dataset_dir(raw, n_train=5) and None)
    loaded = data.load_fashion_mnist(download=True, verify=False)
    assert len(loaded.train_images) == 5 and loaded.source == raw.resolve()


def test_loading_is_cached_in_process(no_default_sources):
    folder = fake_dataset_dir(no_default_sources / "fake")
    first = data.load_fashion_mnist(folder, download=False, verify=False)
    assert data.load_fashion_mnist(folder, download=False, verify=False) is first
    fake_dataset_dir(folder, n_train=7)  # rewritten files change size, so they are read again
    assert len(data.load_fashion_mnist(folder, download=False, verify=False).train_images) == 7


# ----------------------------------------------------------------------------- DeviceBatches

def id_batches(n: int, batch_size: int, **kwargs) -> data.DeviceBatches:
    """Batches whose labels are the example ids, at 28 px so no resize work is done."""
    images = torch.arange(n, dtype=torch.uint8)[:, None, None].expand(n, 28, 28).contiguous()
    return data.DeviceBatches(images, torch.arange(n), batch_size, input_size=28, **kwargs)


def seen(batches: data.DeviceBatches) -> list[int]:
    return [i for _, y in batches for i in y.tolist()]


def test_every_example_appears_once_per_epoch():
    batches = id_batches(103, 10)
    assert len(batches) == 11 and batches.num_examples == 103
    for epoch in (0, 1):
        batches.set_epoch(epoch)
        assert sorted(seen(batches)) == list(range(103))


def test_drop_last_drops_the_short_batch():
    batches = id_batches(103, 10, drop_last=True)
    assert len(batches) == 10 and batches.num_examples == 100 and len(set(seen(batches))) == 100


@pytest.mark.parametrize("n", [10, 11])
def test_two_ranks_are_disjoint_up_to_padding_and_equally_long(n):
    ranks = [id_batches(n, 4, rank=r, world_size=2, seed=3) for r in (0, 1)]
    orders = [seen(b) for b in ranks]
    assert len(ranks[0]) == len(ranks[1]) and len(orders[0]) == len(orders[1]) == ranks[0].num_examples == -(-n // 2)
    assert set(orders[0]) | set(orders[1]) == set(range(n))
    padding = len(orders[0]) * 2 - n
    assert len(set(orders[0]) & set(orders[1])) == padding


def test_same_seed_gives_same_order_and_new_epoch_a_new_one():
    a, b = id_batches(50, 8, seed=7), id_batches(50, 8, seed=7)
    assert seen(a) == seen(b)
    a.set_epoch(1)
    assert seen(a) != seen(b)
    assert sorted(seen(a)) == sorted(seen(b))


def test_no_shuffle_keeps_dataset_order():
    assert seen(id_batches(20, 6, shuffle=False)) == list(range(20))


def test_batches_are_float_in_unit_range_at_224():
    images = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8)
    images[0] = 255
    x, y = next(iter(data.DeviceBatches(images, torch.arange(5), 3)))
    assert x.shape == (3, 1, 224, 224) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min() >= 0 and x.max() <= 1


def test_augment_keeps_shape_and_is_reproducible():
    images = torch.randint(0, 256, (6, 28, 28), dtype=torch.uint8)
    make = lambda: data.DeviceBatches(images, torch.arange(6), 6, augment=True, seed=1, input_size=64)  # noqa: E731
    (x1, _), (x2, _) = next(iter(make())), next(iter(make()))
    assert x1.shape == (6, 1, 64, 64)
    torch.testing.assert_close(x1, x2, rtol=0, atol=0)


def test_augment_is_a_flip_and_shift_of_at_most_2_px():
    images = torch.randint(1, 256, (32, 28, 28), dtype=torch.uint8)  # no zeros, so the black fill shows the shift
    out = data.random_flip_and_shift(images, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    shifts = set()
    for original, augmented in zip(padded, out):
        candidates = {(f, dy, dx) for f in (0, 1) for dy in range(5) for dx in range(5)
                      if torch.equal((original.flip(-1) if f else original)[dy:dy + 28, dx:dx + 28], augmented)}
        assert candidates, "augmented image is not a flipped/shifted copy of its original"
        shifts |= candidates
    assert {f for f, _, _ in shifts} == {0, 1} and len(shifts) > 10  # both flips and many offsets occur


# ----------------------------------------------------------------------------- the shared resize

def test_to_model_input_normalises_and_accepts_channel_dim():
    images = torch.full((2, 1, 28, 28), 255, dtype=torch.uint8)
    x = data.to_model_input(images, input_size=32, mean=0.5, std=0.25)
    assert x.shape == (2, 1, 32, 32)
    torch.testing.assert_close(x, torch.full_like(x, 2.0))


def test_to_model_input_refuses_float_images():
    with pytest.raises(TypeError, match="uint8"):
        data.to_model_input(torch.rand(1, 28, 28))


def test_to_model_input_matches_torchvision_resize_on_real_images(official_data):
    from torchvision import transforms
    from PIL import Image

    images = official_data.test_images[:16]
    reference = transforms.Compose([transforms.Resize(224), transforms.ToTensor()])
    expected = torch.stack([reference(Image.fromarray(image.numpy())) for image in images])
    difference = (data.to_model_input(images) - expected).abs().max().item()
    # Measured 0.0039 (= 1/255): PIL rounds its bilinear output to uint8, the geometry is identical.
    assert difference < 0.005


# ----------------------------------------------------------------------------- the official release

def test_official_split_sizes_and_dtypes(official_data):
    assert official_data.train_images.shape == (60_000, 28, 28) and official_data.train_images.dtype == torch.uint8
    assert official_data.test_images.shape == (10_000, 28, 28) and official_data.test_images.dtype == torch.uint8
    assert official_data.train_labels.shape == (60_000,) and official_data.train_labels.dtype == torch.int64
    assert official_data.test_labels.shape == (10_000,) and official_data.test_labels.dtype == torch.int64


def test_official_classes_are_balanced_6000_train_1000_test(official_data):
    assert torch.bincount(official_data.train_labels).tolist() == [6_000] * 10
    assert torch.bincount(official_data.test_labels).tolist() == [1_000] * 10


def test_official_first_labels_are_the_current_release(official_data):
    assert official_data.train_labels[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert official_data.test_labels[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]


def test_official_train_pixel_mean_and_std(official_data):
    # From the 256-bin histogram: exact, and no 47M-element float copy.
    counts = torch.bincount(official_data.train_images.flatten(), minlength=256).double()
    values = torch.arange(256, dtype=torch.float64) / 255
    mean = (counts * values).sum() / counts.sum()
    std = ((counts * (values - mean) ** 2).sum() / counts.sum()).sqrt()
    assert mean.item() == pytest.approx(data.TRAIN_MEAN, abs=5e-4)
    assert std.item() == pytest.approx(data.TRAIN_STD, abs=5e-4)
