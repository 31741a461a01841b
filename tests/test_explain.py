"""The explanation is the model's own numbers: GAP means are the logits, the CAM is a class map."""

import numpy as np
import pytest
import torch

from nin.serve.explain import explain
from nin.model import Preprocessing, preprocessing_of
from nin.model import CLASS_NAMES, FEATURE_STAGES


@pytest.fixture(scope="module")
def model(untrained_nin):
    return untrained_nin


@pytest.fixture(scope="module")
def garment():
    image = np.zeros((28, 28), np.uint8)
    image[4:26, 8:20] = 200
    image[6:10, 2:26] = 160
    return image


def test_gap_means_equal_the_logits_to_1e_5(model, garment):
    result = explain(model, garment)
    assert result.class_maps.shape == (10, 5, 5)
    np.testing.assert_allclose(result.class_maps.mean(axis=(1, 2)), result.logits, rtol=0, atol=1e-5)
    assert np.ptp(result.logits) > 0.1


def test_logits_equal_a_plain_forward_pass_of_the_same_input(model, garment):
    from nin.data import to_model_input

    result = explain(model, garment, Preprocessing(mean=0.286, std=0.353))
    x = (to_model_input(torch.from_numpy(garment)[None]) - 0.286) / 0.353
    with torch.no_grad():
        plain = model(x)[0].numpy()
    np.testing.assert_allclose(result.logits, plain, rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.probs, torch.softmax(torch.from_numpy(plain), 0).numpy(), atol=1e-6)


def test_every_feature_stage_is_kept_with_its_shape(model, garment):
    result = explain(model, garment)
    assert list(result.stages) == list(FEATURE_STAGES)
    assert result.stages["block1"].shape == (96, 54, 54)
    assert result.stages["pool3"].shape == (384, 5, 5)
    assert result.input224.shape == (224, 224) and 0 <= result.input224.min() <= result.input224.max() <= 1


def test_cam_is_the_class_map_upsampled_to_224(model, garment):
    result = explain(model, garment)
    for index in (None, 3):
        cam = result.cam(index)
        chosen = result.predicted if index is None else index
        assert cam.shape == (224, 224)
        # Bilinear upsampling by an integer-free factor keeps the mean close and the range inside the map's.
        class_map = result.class_maps[chosen]
        assert class_map.min() - 1e-6 <= cam.min() and cam.max() <= class_map.max() + 1e-6
        assert abs(cam.mean() - class_map.mean()) < 0.1 * (abs(class_map.mean()) + 1e-3) + 1e-4


def test_top_channels_are_the_most_active_by_mean(model, garment):
    result = explain(model, garment)
    means = result.stages["block2"].mean(axis=(1, 2))
    top = result.top_channels("block2", 16)
    assert len(top) == 16 and len(set(top)) == 16
    assert means[top].min() >= np.delete(means, top).max()
    assert list(means[top]) == sorted(means[top], reverse=True)
    assert len(result.top_channels("block2", None)) == 256


def test_top_classes_are_sorted_probabilities(model, garment):
    result = explain(model, garment)
    top = result.top_classes(3)
    assert [name for name, _ in top][0] == CLASS_NAMES[result.predicted]
    assert [p for _, p in top] == sorted([p for _, p in top], reverse=True)
    assert abs(result.probs.sum() - 1) < 1e-5


def test_preprocessing_defaults_to_the_seed_recipe_when_metadata_is_silent():
    assert preprocessing_of({}) == Preprocessing(224, 0.0, 1.0)
    assert preprocessing_of({"preprocessing": {"mean": 0.286, "std": 0.353}}).std == 0.353
