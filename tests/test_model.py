"""The network against the d2l reference: shapes, parameter count, one-pass stages, weight files."""

import json

import pytest
import torch

from nin.model import (CLASS_NAMES, NiN, STAGES, WeightsError, layer_table, load_weights, parameter_count,
                       read_metadata, save_weights, xavier_init_)

# The d2l chapter's layer summary for a 1x1x224x224 input: the output shape after each stage, as the chapter
# prints it by passing a zero tensor through the network (its NiN has 1,992,166 parameters).
REFERENCE_SHAPES = {
    "block1": (96, 54, 54), "pool1": (96, 26, 26), "block2": (256, 26, 26), "pool2": (256, 12, 12),
    "block3": (384, 12, 12), "pool3": (384, 5, 5), "dropout": (384, 5, 5), "block4": (10, 5, 5),
    "gap": (10, 1, 1), "flatten": (10,),
}


def test_layer_table_matches_the_reference_shapes_stage_by_stage():
    table = layer_table(224)
    assert [row[0] for row in table] == list(STAGES)
    assert {name: shape for name, shape, _ in table} == REFERENCE_SHAPES


def test_parameter_count_is_1992166_as_in_the_reference():
    model = NiN()
    assert parameter_count(model) == 1_992_166
    assert sum(params for _, _, params in layer_table(model=model)) == 1_992_166


def test_block4_output_is_10x5x5_and_gap_makes_the_10_logits():
    table = dict((name, shape) for name, shape, _ in layer_table())
    assert table["block4"] == (10, 5, 5) and table["flatten"] == (10,)


def test_nin_block_is_conv_relu_then_two_1x1_conv_relu():
    block = NiN().block2
    kinds = [type(m).__name__ for m in block]
    assert kinds == ["Conv2d", "ReLU", "Conv2d", "ReLU", "Conv2d", "ReLU"]
    assert block[0].kernel_size == (5, 5) and block[2].kernel_size == (1, 1) and block[4].kernel_size == (1, 1)


def test_stage_outputs_of_one_pass_equal_a_plain_forward_pass():
    torch.manual_seed(0)
    model = xavier_init_(NiN()).eval()
    x = torch.rand(2, 1, 224, 224)
    with torch.no_grad():
        plain = model(x)
        logits, stages = model.forward_with_stages(x)
    assert list(stages) == list(STAGES)
    assert torch.equal(logits, plain)
    assert torch.equal(stages["flatten"], plain)
    # GAP really is the mean of each class map.
    torch.testing.assert_close(stages["block4"].mean(dim=(2, 3)), plain, rtol=0, atol=1e-6)


def test_safetensors_round_trip_keeps_weights_and_metadata(tmp_path):
    torch.manual_seed(1)
    model = xavier_init_(NiN())
    path = save_weights(model, tmp_path / "w.safetensors",
                        {"class_names": list(CLASS_NAMES), "preprocessing": {"mean": 0.286, "std": 0.353}})
    loaded, metadata = load_weights(path)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert metadata["class_names"] == list(CLASS_NAMES)
    assert metadata["preprocessing"] == {"mean": 0.286, "std": 0.353}
    assert read_metadata(path)["architecture"] == "d2l-NiN"
    assert not loaded.training


def test_missing_weight_file_is_named_in_the_error(tmp_path):
    with pytest.raises(WeightsError, match="nope.safetensors.*not found"):
        load_weights(tmp_path / "nope.safetensors")


def test_truncated_weight_file_gets_a_clear_error(tmp_path):
    path = save_weights(NiN(), tmp_path / "w.safetensors")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(WeightsError, match=r"w\.safetensors.*(truncated|corrupt)"):
        load_weights(path)


def test_pickle_is_not_accepted_as_weights(tmp_path):
    path = tmp_path / "w.safetensors"
    torch.save(NiN().state_dict(), path)  # a pickle under a safetensors name must not be loaded
    with pytest.raises(WeightsError, match="not a readable safetensors"):
        load_weights(path)


def test_mismatched_shapes_and_keys_are_listed(tmp_path):
    from safetensors.torch import save_file

    tensors = {k: v.clone() for k, v in NiN().state_dict().items()}
    tensors["block1.0.weight"] = torch.zeros(64, 1, 11, 11)
    del tensors["block4.4.bias"]
    tensors["head.weight"] = torch.zeros(3)
    path = tmp_path / "bad.safetensors"
    save_file(tensors, str(path))
    with pytest.raises(WeightsError) as info:
        load_weights(path)
    message = str(info.value)
    assert "bad.safetensors" in message and "block1.0.weight" in message and "(64, 1, 11, 11)" in message
    assert "block4.4.bias" in message and "head.weight" in message


def test_metadata_values_are_json(tmp_path):
    path = save_weights(NiN(), tmp_path / "w.safetensors", {"metrics": {"test_acc": 0.9}})
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        assert json.loads(f.metadata()["metrics"]) == {"test_acc": 0.9}
