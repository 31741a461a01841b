"""What each channel looks for (nin.serve.channels) and the precompute that ranks the test images (nin.dev.precompute_explorers).

The receptive fields are checked against the input-gradient support of a geometry-only copy of the network;
the precompute's ranking against a plain per-image recomputation.
"""

import numpy as np
import pytest
import torch
from torch import nn

from nin.dev import precompute_explorers
from nin.serve.channels import block1_kernel, channel_counts, receptive_fields, stage_maxima, top_images
from nin.serve.explain import explain
from nin.model import FEATURE_STAGES, NiN


def geometry_only(model: NiN, last: str) -> nn.Sequential:
    """The network's convs and pools up to stage `last`, with one channel, all-ones kernels, no ReLU and average
    instead of max pooling: every input pixel a cell sees gets a non-zero gradient, so its support is the field."""
    layers = []
    for name, stage in model.named_children():
        for module in stage.modules() if isinstance(stage, nn.Sequential) else [stage]:
            if isinstance(module, nn.Conv2d):
                conv = nn.Conv2d(1, 1, module.kernel_size, module.stride, module.padding, bias=False)
                nn.init.ones_(conv.weight)
                layers.append(conv)
            elif isinstance(module, nn.MaxPool2d):
                layers.append(nn.AvgPool2d(module.kernel_size, module.stride, module.padding))
        if name == last:
            return nn.Sequential(*layers)
    raise ValueError(last)


def test_receptive_fields_of_the_d2l_nin():
    fields = receptive_fields(NiN())
    assert {s: (f.size, f.stride) for s, f in fields.items()} == {
        "block1": (11, 4), "pool1": (19, 8), "block2": (51, 8), "pool2": (67, 16),
        "block3": (99, 16), "pool3": (131, 32), "block4": (195, 32)}
    assert channel_counts(NiN()) == {"block1": 96, "pool1": 96, "block2": 256, "pool2": 256, "block3": 384,
                                     "pool3": 384, "block4": 10}


@pytest.mark.parametrize("stage, cell", [("block1", (20, 31)), ("block1", (53, 0)), ("pool1", (0, 25)),
                                         ("block2", (13, 2)), ("pool2", (11, 6)), ("block3", (6, 6)),
                                         ("pool3", (0, 4)), ("block4", (2, 2)), ("block4", (4, 0))])
def test_receptive_field_is_the_input_gradient_support_of_a_cell(stage, cell):
    model = NiN()
    field = receptive_fields(model)[stage]
    x = torch.zeros(1, 1, 224, 224, requires_grad=True)
    y = geometry_only(model, stage)(x)
    y[0, 0, cell[0], cell[1]].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(0)).flatten()
    left, top, right, bottom = field.box(cell[0], cell[1], 224, image_size=224)  # in network-input pixels
    assert (int(rows[0]), int(rows[-1]) + 1) == (round(top), round(bottom))
    assert (int(cols[0]), int(cols[-1]) + 1) == (round(left), round(right))


def test_a_box_is_the_field_in_28_pixel_coordinates():
    block1 = receptive_fields(NiN())["block1"]
    assert block1.box(0, 0, 224) == pytest.approx([0, 0, 11 / 8, 11 / 8])   # input pixels 0..10
    assert block1.box(1, 2, 224) == pytest.approx([8 / 8, 4 / 8, 19 / 8, 15 / 8])
    # block4's last cell would see input pixels 64..258; the layers below it stop reading at pixel 218.
    assert receptive_fields(NiN())["block4"].box(4, 4, 224) == pytest.approx([8, 8, 219 / 8, 219 / 8])


def test_top_images_are_largest_first_and_ties_go_to_the_lower_index():
    values = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 4.0], [3.0, 1.0]])
    assert top_images(values, k=3).tolist() == [[1, 3, 2], [0, 1, 2]]


def test_block1_kernel_is_the_first_conv_weight(loaded):
    kernel = block1_kernel(loaded.model, 7)
    assert kernel.shape == (11, 11)
    assert np.array_equal(kernel, loaded.model.block1[0].weight[7, 0].detach().numpy())


@pytest.fixture(scope="module")
def subset(official_data):
    return official_data.test_images[:120]


def test_stage_maxima_are_each_channels_largest_value_and_its_place(loaded, subset):
    values, where, features = stage_maxima(loaded.model, subset[:4], loaded.preprocessing)
    for i in range(4):
        explanation = explain(loaded.model, subset[i].numpy(), loaded.preprocessing)
        for stage in FEATURE_STAGES:
            maps = explanation.stages[stage]
            flat = maps.reshape(len(maps), -1)
            assert np.allclose(values[stage][i].numpy(), flat.max(1), rtol=1e-4, atol=1e-5)
            picked = flat[np.arange(len(flat)), where[stage][i].numpy()]
            assert np.allclose(picked, flat.max(1), rtol=1e-4, atol=1e-5)
        assert np.allclose(features[i].numpy(), explanation.stages["pool3"].mean(axis=(1, 2)), rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_precompute_ranks_like_a_per_image_recomputation(loaded, subset):
    result = precompute_explorers.compute(loaded.model, subset, loaded.preprocessing, batch=40)
    maxima = {s: [] for s in FEATURE_STAGES}
    for image in subset:
        explanation = explain(loaded.model, image.numpy(), loaded.preprocessing)
        for stage in FEATURE_STAGES:
            maxima[stage].append(explanation.stages[stage].reshape(explanation.stages[stage].shape[0], -1).max(1))
    for stage in FEATURE_STAGES:
        column = np.stack(maxima[stage])                  # [N, C]
        got = result["top_index"][stage]                  # [C, 9]
        recomputed = np.take_along_axis(column, got.T, axis=0).T
        assert np.allclose(result["top_activation"][stage], recomputed, rtol=1e-4, atol=1e-5)
        assert (np.diff(result["top_activation"][stage], axis=1) <= 0).all()   # sorted, largest first
        ninth = result["top_activation"][stage][:, -1]
        beaten = (column > ninth[None] + 1e-4 * np.maximum(1, np.abs(ninth[None]))).sum(0)
        assert (beaten <= 8).all(), stage    # no image outside the nine beats the ninth
