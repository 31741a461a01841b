"""The chapter's claims, checked on the network's own numbers: 1x1 convs are per-pixel MLPs, GAP has no
parameters and is an average, shifts move the class maps, and Grad-CAM on block4 is the class map / 25."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from conftest import require
from nin.serve import lessons
from nin.serve.parameters import parameter_report
from nin.model import NiN, load_weights, parameter_count, preprocessing_of
from nin.serve.pipeline import EXAMPLES_DIR, WEIGHT_FILES, WEIGHTS_DIR

# Official test images that nin/examples also ships (4x enlarged): ankle boot, pullover, trouser, shirt, shirt.
TEST_INDICES = (0, 1, 2, 4, 7)


@pytest.fixture(scope="module")
def shipped():
    """The weights the app serves first, with their preprocessing, or None: these tests measure what the page shows."""
    path = next((WEIGHTS_DIR / name for name, _ in WEIGHT_FILES if (WEIGHTS_DIR / name).exists()), None)
    if path is None:
        return None
    model, metadata = load_weights(path)
    return model, preprocessing_of(metadata)


@pytest.fixture(scope="module")
def trained(shipped):
    require(shipped is not None, f"no shipped weights in {WEIGHTS_DIR}")
    return shipped


@pytest.fixture(scope="module")
def model_and_spec(shipped, untrained_nin):
    """Shipped weights when present; else an xavier net whose block4 bias is shifted so every class map is non-zero."""
    if shipped is not None:
        return shipped
    return untrained_nin, preprocessing_of({})


@pytest.fixture(scope="module")
def garments(request):
    """Official test images: from the dataset when installed, else from nin/examples (the same bytes, enlarged 4x)."""
    try:
        data = request.getfixturevalue("official_data")
        return [data.test_images[i].numpy() for i in TEST_INDICES]
    except pytest.skip.Exception:
        paths = [next(EXAMPLES_DIR.glob(f"test{i:05d}_*.png")) for i in TEST_INDICES]
        return [np.asarray(Image.open(p).convert("L"))[::4, ::4] for p in paths]


# ----------------------------------------------------------------------------- 1. per-pixel MLP

def test_mlp_recomputation_matches_the_network_within_1e_4(model_and_spec, garments):
    model, spec = model_and_spec
    widths = {"block1": (96, 54), "block2": (256, 26), "block3": (384, 12), "block4": (10, 5)}
    for stage, (channels, side) in widths.items():
        for row, col in ((side // 2, side // 2), (0, side - 1)):
            result = lessons.mlp_at(model, garments[0], spec, stage, row, col)
            assert result.max_abs_diff <= 1e-4, (stage, row, col, result.max_abs_diff)
            assert len(result.input) == len(result.hidden) == len(result.output) == channels
        assert max(result.input) > 0 and max(result.hidden) > 0  # not a trivial 0 == 0


def test_mlp_json_has_exactly_the_documented_keys_and_no_matrices(model_and_spec, garments):
    model, spec = model_and_spec
    document = lessons.mlp_at(model, garments[0], spec, "block2", 3, 4).to_json()
    assert set(document) == {"stage", "row", "col", "input", "hidden", "output", "max_abs_diff"}
    assert all(isinstance(v, float) for v in document["output"])
    json.dumps(document)


# ----------------------------------------------------------------------------- 2. parameters

def _model(report, prefix):
    return next(m for m in report.models if m.name.startswith(prefix))


def test_nin_has_1992166_parameters_and_no_linear_layer():
    nin = _model(parameter_report(), "NiN (")
    assert nin.total == 1_992_166 == parameter_count(NiN())
    assert not any(isinstance(m, nn.Linear) for m in NiN().modules())
    assert nin.fc_params == 0 and nin.conv_share == 1.0
    assert [(layer.name, layer.params) for layer in nin.layers][-1] == ("gap", 0)
    assert [layer.name for layer in nin.layers] == ["block1", "block2", "block3", "block4", "gap"]


def test_alexnet_has_46764746_and_vgg11_128806154_parameters_most_in_fc_layers():
    report = parameter_report()
    alexnet, vgg = _model(report, "AlexNet"), _model(report, "VGG-11")
    assert alexnet.total == 46_764_746 and vgg.total == 128_806_154
    assert [layer.name for layer in alexnet.layers] == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc1", "fc2", "fc3"]
    assert [layer.name for layer in vgg.layers][-3:] == ["fc1", "fc2", "fc3"] and len(vgg.layers) == 11
    assert alexnet.fc_share > 0.9 and vgg.fc_share > 0.9
    for model in report.models:
        assert sum(layer.params for layer in model.layers) == model.total == model.conv_params + model.fc_params


def test_fc_head_counterfactual_holds_most_parameters_in_its_head():
    report = parameter_report()
    nin, counterfactual = _model(report, "NiN ("), _model(report, "NiN + FC head")
    head = 9600 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 10 + 10
    body = sum(layer.params for layer in nin.layers if layer.name in ("block1", "block2", "block3"))
    assert counterfactual.total == body + head == 58_105_354
    assert counterfactual.fc_share > 0.96 and counterfactual.total > 29 * nin.total
    assert counterfactual.layers[-1].output_shape == (10,) and "counterfactual" in counterfactual.name


def test_parameter_report_is_json_with_the_four_models_in_order():
    document = json.loads(json.dumps(parameter_report().to_json()))
    names = [m["name"] for m in document["models"]]
    assert [n.split(" ")[0] for n in names] == ["NiN", "AlexNet", "VGG-11", "NiN"]
    assert all(m["description"] and m["layers"] for m in document["models"])


# ----------------------------------------------------------------------------- 3. ablation

def test_zeroing_a_class_map_cell_lowers_that_logit_by_its_value_over_25(model_and_spec, garments):
    model, spec = model_and_spec
    before = lessons.ablate(model, garments[0], spec)
    c = before.predicted_before
    row, col = np.unravel_index(np.argmax(before.class_maps_before[c]), (5, 5))
    value = float(before.class_maps_before[c, row, col])
    assert value > 0
    result = lessons.ablate(model, garments[0], spec, cells=[(c, int(row), int(col))])
    assert result.logit_change[c] == pytest.approx(-value / 25, abs=1e-5)
    assert result.cell_drop[c] == pytest.approx(value / 25, abs=1e-6)
    assert np.abs(np.delete(result.logit_change, c)).max() == 0  # other classes' maps are untouched
    mask = np.zeros((10, 5, 5), bool)
    mask[c, row, col] = True
    np.testing.assert_array_equal(lessons.ablate(model, garments[0], spec, cells=mask).logits_after, result.logits_after)


def test_gap_of_ablated_maps_equals_logits(model_and_spec, garments):
    model, spec = model_and_spec
    for stage in ("block1", "pool3"):
        result = lessons.ablate(model, garments[1], spec, cells=[(k, 2, 2) for k in range(10)],
                                stage=stage, channels=list(range(0, 96, 2)))
        assert result.gap_check_max_abs_diff <= 1e-5
        assert np.abs(result.logit_change).max() > 1e-3  # the ablation did something
        json.dumps(result.to_json())


def test_ablating_nothing_changes_nothing(model_and_spec, garments):
    model, spec = model_and_spec
    result = lessons.ablate(model, garments[2], spec, cells=[], stage="pool2", channels=[])
    assert np.abs(result.logit_change).max() == 0 and result.predicted_after == result.predicted_before


# ----------------------------------------------------------------------------- 4. translation

def test_shift_image_moves_pixels_and_fills_with_black():
    image = np.arange(1, 26, dtype=np.uint8).reshape(5, 5)
    shifted = lessons.shift_image(image, dx=2, dy=-1)
    np.testing.assert_array_equal(shifted[:4, 2:], image[1:, :3])
    assert (shifted[:, :2] == 0).all() and (shifted[4] == 0).all()
    np.testing.assert_array_equal(lessons.shift_image(image, 0, 0), image)


@pytest.fixture(scope="module")
def four_pixel_shifts(trained, garments):
    """Every garment shifted 4 px (one block4 cell) right, left, down and up, through the shipped weights."""
    model, spec = trained
    return [lessons.translate(model, image, spec, dx, dy)
            for image in garments for dx, dy in ((4, 0), (-4, 0), (0, 4), (0, -4))]


def test_translation_moves_class_maps_but_barely_changes_logits(four_pixel_shifts):
    """4 px on 28 is one block4 cell. Measured on the provisional CPU weights (similar on nin_cpu): over 20 shifts the
    logits change by 0.36-1.65 (top logits 2.6-5.3) while single map cells change by 3.7-12.4; the
    tracked map's centre moves 0.14-1.11 cells (mean 0.63) the right way; one of 20 predictions flips
    (test image 7, shirt -> pullover, 4 px up). So "barely" means several times less than the maps."""
    moves = []  # how far the tracked map moved in the direction of the shift, in cells
    for r in four_pixel_shifts:
        assert r.max_abs_logit_change < r.max_abs_map_change / 2
        axis = 0 if r.dy else 1
        assert abs(r.expected_shift_cells[axis]) == 1.0
        moves.append(r.measured_shift_cells[axis] * np.sign(r.expected_shift_cells[axis]))
    # A centre of mass of a 5x5 map is coarse (and weights-dependent: with nin_cpu one of 20 moved back):
    # most maps must follow the garment, and on average by a sizeable part of a cell.
    assert sum(m > 0 for m in moves) >= 0.75 * len(moves)
    assert 0.3 < np.mean(moves) < 1.2
    kept = sum(r.predicted_after == r.predicted_before for r in four_pixel_shifts)
    assert kept >= 0.75 * len(four_pixel_shifts)


def test_a_4px_shift_matches_the_maps_moved_one_cell_better_than_unmoved(four_pixel_shifts):
    for r in four_pixel_shifts:
        if (r.dx, r.dy) == (4, 0):  # right: after[:, :, 1:] should be before[:, :, :-1]
            moved = np.abs(r.class_maps_after[:, :, 1:] - r.class_maps_before[:, :, :-1]).mean()
            unmoved = np.abs(r.class_maps_after - r.class_maps_before).mean()
            assert moved < 0.6 * unmoved


# ----------------------------------------------------------------------------- 5. Grad-CAM

def test_gradcam_equals_class_map_over_25(model_and_spec, garments):
    model, spec = model_and_spec
    maps = lessons.ablate(model, garments[0], spec).class_maps_before
    # The top class, the weakest class with signal, and an all-zero map when there is one.
    classes = {int(maps.mean((1, 2)).argmax()), int(np.where(maps.max((1, 2)) > 0, maps.mean((1, 2)), np.inf).argmin()),
               int(maps.max((1, 2)).argmin())}
    for class_index in classes:
        result = lessons.gradcam(model, garments[0], spec, class_index)
        expected_weights = np.where(np.arange(10) == class_index, 1 / 25, 0.0)
        np.testing.assert_allclose(result.channel_weights, expected_weights, rtol=0, atol=1e-8)
        if result.class_map.max() > 0:
            assert abs(result.scale - 1 / 25) <= 1e-6
            assert result.max_abs_diff_after_scaling <= 1e-6
        else:
            assert result.scale is None and result.gradcam.max() == 0
        assert result.expected_scale == 1 / 25


def test_gradcam_works_inside_inference_mode_and_leaves_parameter_grads_alone(model_and_spec, garments):
    model, spec = model_and_spec
    with torch.inference_mode():
        result = lessons.gradcam(model, garments[0], spec, 9)
    assert result.gradcam.shape == (5, 5)
    assert all(p.grad is None for p in model.parameters())
    json.dumps(result.to_json())


# ----------------------------------------------------------------------------- errors

def test_bad_stage_or_position_is_a_clear_value_error(model_and_spec, garments):
    model, spec = model_and_spec
    image = garments[0]
    cases = [
        (lambda: lessons.mlp_at(model, image, spec, "block5", 0, 0), "stage must be one of block1, block2"),
        (lambda: lessons.mlp_at(model, image, spec, "pool1", 0, 0), "stage must be one of"),
        (lambda: lessons.mlp_at(model, image, spec, "block1", 54, 0), "row of block1's 54x54 output grid must be from 0 to 53"),
        (lambda: lessons.mlp_at(model, image, spec, "block4", 0, -1), "col of block4's 5x5 output grid must be from 0 to 4"),
        (lambda: lessons.mlp_at(model, image, spec, "block2", True, 0), "row must be an integer"),
        (lambda: lessons.mlp_at(model, image, spec, "block2", 1.5, 0), "row must be an integer"),
        (lambda: lessons.ablate(model, image, spec, stage="block4", channels=[0]), "stage must be one of block1, pool1"),
        (lambda: lessons.ablate(model, image, spec, channels=[0]), "channels need a stage"),
        (lambda: lessons.ablate(model, image, spec, stage="block1", channels=[96]), "from 0 to 95"),
        (lambda: lessons.ablate(model, image, spec, cells=[(10, 0, 0)]), r"class must be from 0 to 9"),
        (lambda: lessons.ablate(model, image, spec, cells=np.zeros((10, 4, 4), bool)), "shape 10x5x5"),
        (lambda: lessons.translate(model, image, spec, 9, 0), "dx must be from -8 to 8"),
        (lambda: lessons.gradcam(model, image, spec, 10), "from 0 to 9"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_a_model_in_training_mode_is_refused(model_and_spec, garments):
    model, spec = model_and_spec
    model.train()
    try:
        with pytest.raises(ValueError, match="model.eval()"):
            lessons.ablate(model, garments[0], spec)
    finally:
        model.eval()
