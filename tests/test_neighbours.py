"""What the network thinks is similar (nin.serve.neighbours) and the precomputed bank it searches (nin.serve.explorer_bank).

The figure that matters: for 20 official test images the network gets right (the first two of each class),
the majority label of their 8 nearest feature-space neighbours is the true label for at least 18; the
pixel-space figure is printed beside it. A bank made for other weights is refused, never used.
"""

import json

import numpy as np
import pytest
import torch

from nin.serve.channels import receptive_fields
from nin.serve.explain import explain
from nin.serve.explorer_bank import BankUnavailable, bank_path, load_bank, save_bank
from nin.model import CLASS_NAMES, NiN
from nin.serve.neighbours import comparison_sentence, feature_vector, majority_label, nearest
from nin.serve.pipeline import WEIGHTS_DIR
from nin.dev.precompute_explorers import note_images

K = 8


@pytest.fixture(scope="module")
def bank(loaded):
    from conftest import require

    try:
        return load_bank(WEIGHTS_DIR / loaded.key, receptive_fields(loaded.model))
    except BankUnavailable as exc:
        require(False, str(exc))


@pytest.fixture(scope="module")
def indices(loaded, bank):
    return note_images(loaded.model, torch.from_numpy(np.array(bank.test.images)), bank.test.labels,
                       loaded.preprocessing)


def test_feature_space_majority_is_the_true_label_for_at_least_18_of_20_correct_test_images(loaded, bank, indices):
    test = bank.test
    assert len(indices) == 20
    hits = {"feature": 0, "pixel": 0}
    for index in indices:
        image = np.array(test.images[index])   # a writable copy: the bank's arrays are read-only
        explanation = explain(loaded.model, image, loaded.preprocessing)
        assert explanation.predicted == test.labels[index]          # the network gets it right
        found = nearest(bank.features, test.pixels, test.pixel_norms2, test.images, test.labels,
                        feature_vector(explanation.stages["pool3"]), image, K, explanation.predicted, exclude=(index,))
        assert index in found.left_out and index not in [n.test_index for n in found.feature_space]
        assert len(found.feature_space) == len(found.pixel_space) == K
        hits["feature"] += found.feature_majority == test.labels[index]
        hits["pixel"] += found.pixel_majority == test.labels[index]
    classes = sorted({CLASS_NAMES[int(test.labels[i])] for i in indices})
    print(f"majority of {K} neighbours = true label: feature space {hits['feature']}/20, pixel space "
          f"{hits['pixel']}/20 (test images {indices}, classes {classes})")
    assert hits["feature"] >= 18, hits


def test_the_20_images_are_the_first_two_right_ones_of_each_class_the_network_gets_right(bank, indices):
    test = bank.test
    per_class = np.bincount(test.labels[indices], minlength=10)
    assert per_class.sum() == 20 and per_class.max() <= 3
    assert (per_class[per_class > 0] >= 2).all()   # a class is either left out (never right) or has two or more


def test_nearest_uses_cosine_in_feature_space_and_euclid_in_pixel_space():
    features = np.array([[1, 0], [0.6, 0.8], [0, 1], [-1, 0]], np.float32)
    images = np.zeros((4, 28, 28), np.uint8)
    images[1, 0, :4] = 255        # pixel distance 2 from an empty image
    images[2, 0, :1] = 255        # 1
    images[3, 0, :9] = 255        # 3
    images[0, 5, 5] = 7           # nearly empty
    pixels = images.reshape(4, -1).astype(np.float32) / 255
    labels = np.array([0, 1, 2, 3])
    query = np.zeros((28, 28), np.uint8)
    found = nearest(features, pixels, (pixels ** 2).sum(1), images, labels, np.array([2.0, 0.0]), query, 3, 0)
    assert [n.test_index for n in found.feature_space] == [0, 1, 2]
    assert [n.distance for n in found.feature_space] == pytest.approx([0.0, 0.4, 1.0])
    assert [n.test_index for n in found.pixel_space] == [0, 2, 1]
    assert [n.distance for n in found.pixel_space] == pytest.approx([7 / 255, 1, 2], abs=1e-5)


def test_a_test_image_identical_to_the_input_is_left_out_of_both_lists():
    features = np.eye(3, dtype=np.float32)
    images = np.stack([np.full((28, 28), v, np.uint8) for v in (10, 20, 30)])
    pixels = images.reshape(3, -1).astype(np.float32) / 255
    found = nearest(features, pixels, (pixels ** 2).sum(1), images, np.arange(3), np.array([0, 1, 0]), images[1], 2, 1)
    assert found.left_out == (1,)
    assert 1 not in [n.test_index for n in found.feature_space + found.pixel_space]


@pytest.mark.parametrize("k", [0, 17, True, 2.5])
def test_k_outside_1_to_16_is_refused(k):
    with pytest.raises(ValueError, match="k must be a whole number from 1 to 16"):
        nearest(np.eye(2, dtype=np.float32), np.zeros((2, 784), np.float32), np.zeros(2, np.float32),
                np.zeros((2, 28, 28), np.uint8), np.arange(2), np.ones(2), np.zeros((28, 28), np.uint8), k, 0)


def test_a_tied_majority_goes_to_the_nearest_tied_label():
    assert majority_label([3, 5, 5, 3, 1]) == 3
    assert majority_label([2, 2, 7]) == 2


def test_the_sentence_counts_the_predicted_class_in_each_space():
    from nin.serve.neighbours import Neighbour, Neighbours

    same = tuple(Neighbour(i, 7, 0.1) for i in range(4))
    mixed = tuple(Neighbour(i, label, 1.0) for i, label in enumerate([7, 5, 5, 9]))
    sentence = comparison_sentence(Neighbours(4, 7, same, mixed, ()))
    assert sentence.startswith("4 of 4 feature-space neighbours are Sneaker") and "1 of 4 in pixel space" in sentence
    assert "Sandal" in sentence                      # pixel space's most common class
    assert "Both spaces" in comparison_sentence(Neighbours(4, 7, same, same, ()))


# ----------------------------------------------------------------------------- the bank is checked against its weights

def fake_bank(directory, weights, sha="0" * 64):
    stages = {"block1": 96, "pool1": 96, "block2": 256, "pool2": 256, "block3": 384, "pool3": 384, "block4": 10}
    arrays = {s: np.zeros((c, 9), np.int32) for s, c in stages.items()}
    cells = {s: np.zeros((c, 9, 2), np.int16) for s, c in stages.items()}
    return save_bank(bank_path(weights, directory), {"weights_sha256": sha, "input_size": 224},
                     np.zeros((10_000, 384)), arrays, {s: a.astype(np.float32) for s, a in arrays.items()}, cells)


def test_a_bank_made_for_other_weights_is_refused_with_the_command_that_remakes_it(tmp_path):
    weights = tmp_path / "mine.safetensors"
    weights.write_bytes(b"not the weights the bank was made from")
    fake_bank(tmp_path, weights)
    with pytest.raises(BankUnavailable, match="stale") as info:
        load_bank(weights, receptive_fields(NiN()), directory=tmp_path)
    assert "python -m nin.dev.precompute_explorers --weights" in str(info.value)
    assert "mine.safetensors" in str(info.value)


def test_a_missing_or_corrupt_bank_is_refused(tmp_path):
    weights = tmp_path / "mine.safetensors"
    weights.write_bytes(b"weights")
    with pytest.raises(BankUnavailable, match="missing"):
        load_bank(weights, receptive_fields(NiN()), directory=tmp_path)
    bank_path(weights, tmp_path).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(BankUnavailable, match="unreadable"):
        load_bank(weights, receptive_fields(NiN()), directory=tmp_path)


def test_the_shipped_bank_records_how_it_was_made(bank, loaded):
    from nin.files import sha256_of

    assert bank.weights_sha256 == sha256_of(WEIGHTS_DIR / loaded.key) == bank.meta["weights_sha256"]
    assert bank.features.shape == (10_000, 384) and np.allclose(np.linalg.norm(bank.features, axis=1), 1, atol=1e-3)
    assert bank.test.images.shape == (10_000, 28, 28) and bank.test.labels[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert bank.meta["command"].startswith("python -m nin.dev.precompute_explorers --weights")
    json.dumps(bank.meta)


def test_a_stale_bank_makes_the_app_explorers_say_unavailable(tmp_path, loaded):
    from nin.serve.explorers import Explorers, Unavailable
    from nin.serve.pipeline import Pipeline

    weights = tmp_path / loaded.key
    weights.write_bytes((WEIGHTS_DIR / loaded.key).read_bytes() + b"changed")
    explorers = Explorers.load(Pipeline({loaded.key: loaded}), weights_dir=tmp_path)
    assert isinstance(explorers.banks[loaded.key], str)
    with pytest.raises(Unavailable, match="unavailable for these weights.*precompute_explorers"):
        explorers.channel(loaded.key, "block3", 5)
