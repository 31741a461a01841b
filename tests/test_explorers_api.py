"""The explorers' endpoints (/channel, /neighbours, /occlusion) through gradio_client, against the real server.

/channel's lists are recomputed from the weight file in fp32 on official test images; the session endpoints
follow the session's photo or drawing; bad arguments get a plain message that names the argument and its
range, and stale precomputed data makes an explorer say it is unavailable, with the command that fixes it.
"""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nin.serve.channels import stage_maxima
from nin.serve.explain import explain
from nin.model import CLASS_NAMES, load_weights, preprocessing_of
from nin.serve.pipeline import WEIGHTS_DIR

from conftest import require_module

require_module("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "nin" / "examples"
GOOD = EXAMPLES / "test00000_ankle-boot.png"
BLOCK3_CHANNELS = (0, 191, 383)
# Every 20th test image, besides the 27 returned ones; NIN_FULL_CHANNEL_CHECK=1 recomputes all 10,000 (minutes).
EVERY = 1 if os.environ.get("NIN_FULL_CHANNEL_CHECK") else 20


def new_client(app_url) -> Client:
    return Client(app_url, download_files=False, verbose=False, analytics_enabled=False)


@pytest.fixture(scope="module")
def client(app_url):
    return new_client(app_url)


@pytest.fixture(scope="module")
def session(app_url):
    """A client whose session has classified an official test image (the ankle boot)."""
    client = new_client(app_url)
    client.predict(handle_file(str(GOOD)), api_name="/predict")
    return client


@pytest.fixture(scope="module")
def explorers():
    """The server's explorers (what app.py loaded at start-up), to check what it loaded and to stale it."""
    import app

    return app.explorers


def assert_serves(client):
    assert len(client.predict("block3", 1, api_name="/channel")["top"]) == 9


# ----------------------------------------------------------------------------- /channel

def test_channel_for_three_block3_channels_returns_9_images_sorted_that_fp32_recomputes_equal(client, official_data):
    import app

    key = app.pipeline.default_key
    tops = {c: client.predict("block3", c, api_name="/channel") for c in BLOCK3_CHANNELS}
    model, metadata = load_weights(WEIGHTS_DIR / key)      # from the weight file, not the server's model
    model = model.to(memory_format=torch.channels_last)
    spec = preprocessing_of(metadata)
    returned = {t["test_index"] for top in tops.values() for t in top["top"]}
    sample = np.array(sorted(set(range(0, 10_000, EVERY)) | returned))
    values = []
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for start in range(0, len(sample), 25):
            batch = official_data.test_images[torch.from_numpy(sample[start:start + 25])]
            v, _, _ = stage_maxima(model, batch, spec, stages=("block3",))
            values.append(v["block3"][:, list(BLOCK3_CHANNELS)].numpy())
    finally:
        torch.set_num_threads(torch_threads)
    values = np.concatenate(values)
    row_of = {int(t): i for i, t in enumerate(sample)}
    for j, channel in enumerate(BLOCK3_CHANNELS):
        top = tops[channel]
        assert top["stage"] == "block3" and top["index"] == channel and len(top["top"]) == 9
        activations = [t["activation"] for t in top["top"]]
        assert activations == sorted(activations, reverse=True)
        for t in top["top"]:
            assert values[row_of[t["test_index"]], j] == pytest.approx(t["activation"], rel=1e-4, abs=1e-5)
            assert t["label"] == int(official_data.test_labels[t["test_index"]])
            assert t["class_name"] == CLASS_NAMES[t["label"]]
            # The cell it names holds that largest value (another cell may tie within float rounding).
            maps = explain(model, official_data.test_images[t["test_index"]].numpy(), spec).stages["block3"][channel]
            assert maps[t["row"], t["col"]] == pytest.approx(maps.max(), rel=1e-4, abs=1e-5)
        others = [row_of[int(s)] for s in sample if int(s) not in {t["test_index"] for t in top["top"]}]
        assert values[others, j].max() <= activations[-1] * (1 + 1e-4) + 1e-5, channel   # none beats the ninth
    print(f"/channel recomputed in fp32 on {len(sample)} official test images for block3 channels {BLOCK3_CHANNELS}")


def test_channel_json_has_the_receptive_field_and_a_box_per_image(client):
    numbers = client.predict("block1", 7, api_name="/channel")
    assert numbers["receptive_field"]["size_px"] == 11 and numbers["receptive_field"]["stride_px"] == 4
    for t in numbers["top"]:
        left, top, right, bottom = t["box"]
        assert 0 <= left < right <= 28 and 0 <= top < bottom <= 28
        assert right - left <= 11 / 8 + 1e-6    # 11 px of the 224 input = 1.375 px of the 28x28 image
    assert len(client.predict("block4", 9, api_name="/channel")["top"]) == 9   # block4's channels are the classes


# ----------------------------------------------------------------------------- /neighbours and /occlusion

def test_neighbours_returns_k_per_space_with_labels_and_distances(session):
    numbers = session.predict(8, api_name="/neighbours")
    for space in ("feature_space", "pixel_space"):
        found = numbers[space]
        assert len(found) == 8
        distances = [n["distance"] for n in found]
        assert distances == sorted(distances) and all(d >= 0 for d in distances)
        assert all(n["class_name"] == CLASS_NAMES[n["label"]] for n in found)
        assert len({n["test_index"] for n in found}) == 8
    assert numbers["predicted_name"] == "Ankle boot" and numbers["feature_majority"] == "Ankle boot"
    assert "of 8" in numbers["summary"]
    assert len(session.predict(3, api_name="/neighbours")["pixel_space"]) == 3


def test_occlusion_returns_the_grid_and_its_rank_correlation_with_cam(session):
    numbers = session.predict(8, api_name="/occlusion")
    assert numbers["grid_shape"] == [6, 6] and np.asarray(numbers["grid"]).shape == (6, 6)
    assert numbers["class_name"] == "Ankle boot" and -1 <= numbers["spearman"] <= 1
    assert numbers["forward_passes"] == 36
    assert np.asarray(session.predict(4, api_name="/occlusion")["grid"]).shape == (7, 7)


def drawing_file(tmp_path: Path) -> dict:
    """A drawing as an API caller sends it to /predict_sketch: a white trouser shape on a transparent PNG."""
    layer = np.zeros((280, 280, 4), np.uint8)
    layer[40:250, 95:135] = 255   # two legs
    layer[40:250, 150:190] = 255
    layer[40:80, 95:190] = 255    # the waist
    Image.fromarray(layer, "RGBA").save(tmp_path / "layer.png")
    return handle_file(str(tmp_path / "layer.png"))


def test_the_explorers_follow_a_drawing(app_url, tmp_path):
    drawn = new_client(app_url)
    label = drawn.predict(drawing_file(tmp_path), api_name="/predict_sketch")[0]["label"]
    neighbours = drawn.predict(8, api_name="/neighbours")
    assert neighbours["predicted_name"] == label
    assert drawn.predict(12, api_name="/occlusion")["class_name"] == label


def test_neighbours_and_occlusion_without_an_image_ask_for_one(app_url):
    fresh = new_client(app_url)
    for endpoint, value in (("/neighbours", 8), ("/occlusion", 8)):
        with pytest.raises(AppError, match="Draw or upload something first"):
            fresh.predict(value, api_name=endpoint)
    assert len(fresh.predict("pool2", 3, api_name="/channel")["top"]) == 9  # needs no image


# ----------------------------------------------------------------------------- refusals

REFUSED = [
    ("/channel", ("block9", 0), "Stage must be one of block1, pool1, block2, pool2, block3, pool3, block4; got 'block9'"),
    ("/channel", ("block4", 12), "index of a block4 channel must be a whole number from 0 to 9; got 12"),
    ("/channel", ("block3", 3.5), "Channel index must be a whole number from 0 to 383; got 3.5"),
    ("/channel", ("block3", True), "Channel index must be a whole number from 0 to 383; got True"),
    ("/channel", ("block3", -1), "Channel index must be a whole number from 0 to 383; got -1"),
    ("/channel", ("block3", "7"), "Channel index must be a whole number from 0 to 383; got '7'"),
    ("/neighbours", (0,), "k (neighbours in each space) must be a whole number from 1 to 16; got 0"),
    ("/neighbours", (17,), "k (neighbours in each space) must be a whole number from 1 to 16; got 17"),
    ("/neighbours", (2.5,), "k (neighbours in each space) must be a whole number from 1 to 16; got 2.5"),
    ("/neighbours", (False,), "k (neighbours in each space) must be a whole number from 1 to 16; got False"),
    ("/occlusion", (5,), "Patch size (px of the 28×28 input) must be one of 4, 8, 12; got 5"),
    ("/occlusion", (True,), "Patch size (px of the 28×28 input) must be one of 4, 8, 12; got True"),
    ("/occlusion", ("8",), "Patch size (px of the 28×28 input) must be one of 4, 8, 12; got '8'"),
]


@pytest.mark.parametrize("endpoint, args, message", REFUSED, ids=[f"{e}{a}" for e, a, _ in REFUSED])
def test_bad_arguments_get_a_plain_message_naming_the_argument_and_its_range(session, endpoint, args, message):
    with pytest.raises(AppError) as info:
        session.predict(*args, api_name=endpoint)
    text = str(info.value)
    assert message in text, text
    assert "Traceback" not in text and len(text) < 400
    assert_serves(session)


def test_nan_is_refused_with_a_plain_message(app_url):
    """gradio_client cannot send NaN (strict JSON); a script can, as the bare token NaN."""
    import httpx

    joined = httpx.post(f"{app_url}/gradio_api/call/channel", content='{"data": ["block3", NaN]}',
                        headers={"content-type": "application/json"}, timeout=30)
    assert joined.status_code == 200, joined.text
    stream = httpx.get(f"{app_url}/gradio_api/call/channel/{joined.json()['event_id']}", timeout=60).text
    assert "event: error" in stream and "Channel index must be a whole number from 0 to 383; got nan" in stream, stream


def test_stale_precomputed_data_makes_the_explorers_say_unavailable(session, explorers):
    import app

    key = app.pipeline.default_key
    loaded = explorers.banks[key]
    assert not isinstance(loaded, str), f"the shipped data did not load: {loaded}"
    stale = ("The precomputed explorer data is stale: nin_cpu.explorers.npz was made for weights with sha256 "
             "0000…: run `python -m nin.dev.precompute_explorers --weights weights/nin_cpu.safetensors`.")
    explorers.banks[key] = stale
    try:
        for args, endpoint in ((("block3", 5), "/channel"), ((8,), "/neighbours")):
            with pytest.raises(AppError, match="unavailable for these weights.*stale.*precompute_explorers"):
                session.predict(*args, api_name=endpoint)
        assert session.predict(8, api_name="/occlusion")["grid_shape"] == [6, 6]   # needs no precomputed data
        assert session.predict(handle_file(str(GOOD)), api_name="/predict")[0]["label"] == "Ankle boot"
    finally:
        explorers.banks[key] = loaded
    assert_serves(session)
