"""The drawing canvas's server side: the live function's numbers, its bounds, and the full explanation it asks for.

Unit tests call nin.serve.live and nin.ui.live_gate.LiveGate directly; the rest go through the real server of
conftest.py with nin/dev/attack's requests (POST /component_server as the page sends it, and queued events
joined as the browser joins them). The page itself, drawing with a mouse and a finger, is tests/test_browser.py.
"""

import base64
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from nin.model import CLASS_NAMES
from nin.serve.decode import InputError
from nin.serve.live import decode_ink, live
from nin.serve.pipeline import Pipeline
from nin.serve.preprocess import EmptyInput, preprocess_ink
from nin.ui.live_gate import MAX_INK_CHARS, Busy, LiveGate, check_ink
from nin.dev.attack import rows as attack

SETTINGS = [None, "Predicted class", "Top 16 channels by mean"]


def data_url(image: Image.Image, fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def trouser(side: int = 140) -> Image.Image:
    image = Image.new("RGBA", (side, side))
    k = side / 140
    ImageDraw.Draw(image).line([(50 * k, 20 * k), (50 * k, 120 * k), (70 * k, 40 * k), (90 * k, 120 * k),
                                (90 * k, 20 * k), (50 * k, 20 * k)], fill="white", width=round(8 * k))
    return image


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline()


# ----------------------------------------------------------------------------- numbers

def test_the_ink_is_the_alpha_of_the_canvas_export():
    ink = decode_ink(data_url(trouser()))
    assert ink.shape == (140, 140) and ink.dtype == np.uint8
    assert ink.max() == 255 and ink[0, 0] == 0


def test_a_live_answer_is_the_full_paths_numbers(pipeline):
    ink = decode_ink(data_url(trouser()))
    answer = live(pipeline, ink)
    full = pipeline.from_ink(ink)
    assert answer.probs.shape == (10,) and answer.class_maps.shape == (10, 5, 5) and answer.image.shape == (28, 28)
    assert np.allclose(answer.probs, full.explanation.probs, atol=1e-6)
    assert np.allclose(answer.class_maps.mean(axis=(1, 2)), answer.logits, atol=1e-4)  # GAP is the mean
    assert np.array_equal(answer.image, preprocess_ink(ink.astype(np.float32) / 255.0).image)
    assert CLASS_NAMES[int(np.argmax(answer.probs))] == "Trouser"


def test_a_live_answer_is_a_few_kilobytes_of_numbers(pipeline):
    import json

    numbers = live(pipeline, decode_ink(data_url(trouser()))).to_json()
    assert set(numbers) == {"probs", "logits", "maps", "image", "server_ms", "batch"}
    assert len(json.dumps(numbers)) < 6000


def test_a_blank_canvas_is_empty_input_not_an_error(pipeline):
    with pytest.raises(EmptyInput):
        live(pipeline, decode_ink(data_url(Image.new("RGBA", (140, 140)))))


@pytest.mark.parametrize("ink, words", [
    ("hello", "PNG data URL"),
    ("data:image/png;base64,%%%", "not valid base64"),
    ("data:image/png;base64," + base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 64).decode(), "PNG"),
    ("data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 30).decode(), "PNG"),
])
def test_malformed_ink_is_refused_with_a_clear_message(ink, words):
    with pytest.raises(InputError, match=words):
        decode_ink(ink)


def test_ink_larger_than_the_canvas_is_refused_from_its_header():
    with pytest.raises(InputError, match="at most 280×280"):
        decode_ink(data_url(Image.new("RGBA", (600, 600))))


def test_oversized_ink_is_refused_by_its_length_before_decoding():
    with pytest.raises(Exception, match=f"at most {MAX_INK_CHARS:,}"):
        check_ink("data:image/png;base64," + "A" * MAX_INK_CHARS)
    with pytest.raises(Exception, match="PNG data URL"):
        check_ink({"ink": 1})


# ----------------------------------------------------------------------------- bounds

def test_a_session_has_one_live_call_in_flight_and_the_process_a_bounded_number():
    gate = LiveGate(workers=1, waiting=1)
    with gate.admit("a"):
        with pytest.raises(Busy, match="One live call at a time"):
            with gate.admit("a"):
                pass
        with gate.admit("b"):
            with pytest.raises(Busy, match="as many live drawings as it can take"):
                with gate.admit("c"):
                    pass
    with gate.admit("a"), gate.admit("c"):  # released: admitted again
        assert gate.admitted == 2
    assert gate.admitted == 0 and not gate.sessions


def test_a_live_call_without_a_session_id_is_refused():
    with pytest.raises(Exception, match="session id"):
        with LiveGate(1, 1).admit(None):
            pass


# ----------------------------------------------------------------------------- the live function itself

class PageRequest:
    """What the live function reads of a request: the session hash in the JSON body."""

    def __init__(self, session: str):
        self.session = session

    async def json(self) -> dict:
        return {"session_hash": self.session}


def test_live_answers_come_from_the_weights_the_page_chose(pipeline):
    import asyncio
    import copy
    import json
    from dataclasses import replace

    import torch

    from nin.ui.canvas import DrawingCanvas

    loaded = pipeline.model(None)
    bagged = copy.deepcopy(loaded.model)
    with torch.no_grad():
        bagged.block4[4].bias[CLASS_NAMES.index("Bag")] += 50.0  # these weights see a bag in everything
    two = Pipeline({loaded.key: loaded, "bag.safetensors": replace(loaded, key="bag.safetensors", model=bagged)})
    canvas = DrawingCanvas(two)
    live_call = canvas.live_function()

    def top(session: str) -> str:
        reply = asyncio.run(live_call({"ink": data_url(trouser()), "seq": 1}, PageRequest(session)))
        return CLASS_NAMES[int(np.argmax(json.loads(reply.body)["probs"]))]

    assert top("page") == "Trouser"
    canvas.choose("page", "bag.safetensors")
    assert top("page") == "Bag" and top("another page") == "Trouser"
    canvas.choose("page", loaded.key)
    assert top("page") == "Trouser"


# ----------------------------------------------------------------------------- through the server

@pytest.fixture(scope="module")
def raw(app_url):
    client = attack.Raw(app_url)
    yield client
    client.close()


def test_a_live_call_answers_numbers_only(raw):
    response, seconds = raw.live(attack.drawing_ink())
    answer = response.json()
    assert response.status_code == 200 and CLASS_NAMES[int(np.argmax(answer["probs"]))] == "Trouser"
    assert np.asarray(answer["maps"]).shape == (10, 5, 5) and np.asarray(answer["image"]).shape == (28, 28)
    assert abs(sum(answer["probs"]) - 1) < 1e-3


def test_a_live_answer_tells_the_page_how_long_to_wait_before_its_next_call(raw):
    from nin.ui.canvas import MIN_INTERVAL_MS

    answer = raw.live(attack.drawing_ink())[0].json()
    assert answer["wait_ms"] >= MIN_INTERVAL_MS and answer["batch"] >= 1


def test_a_live_call_past_the_servers_bounds_is_told_when_to_try_again_and_given_no_message(raw, monkeypatch):
    import app

    gate = app.page.drawing.gate
    with gate.admit("another page"):
        monkeypatch.setattr(gate, "waiting", 0)
        monkeypatch.setattr(gate, "workers", 1)  # the one admitted call fills the process-wide bound
        answer = raw.live(attack.drawing_ink())[0].json()
    assert set(answer) == {"retry_ms"} and answer["retry_ms"] >= 100
    assert "probs" in raw.live(attack.drawing_ink())[0].json()  # once there is room, answered


def test_a_blank_live_call_gets_the_drawing_prompt(raw):
    response, _ = raw.live(data_url(Image.new("RGBA", (140, 140))))
    assert "Draw a garment" in response.json()["empty"]


def test_an_oversized_live_call_is_refused_before_it_is_read(raw):
    answer = attack.row_live_payload(raw, "data:image/png;base64," + "A" * (1 << 20))
    assert answer.status == 413 and "Request body over" in answer.message


def test_a_live_call_over_the_ink_limit_is_refused_with_one_short_log_line(raw, capfd):
    from nin.ui.rate_log import rate_log

    rate_log.reset()  # the unit tests above refused the same kind of ink within the second (one line a second a kind)
    capfd.readouterr()
    answer = attack.row_live_payload(raw, "data:image/png;base64," + "A" * 40_000)
    out, err = capfd.readouterr()
    assert answer.status == 200 and f"at most {MAX_INK_CHARS:,} are accepted" in answer.message
    assert "Traceback" not in out + err and (out + err).count("\n") == 1 and "refused: The drawing is" in err


@pytest.mark.parametrize("ink, words", [("data:image/png;base64,%%%", "not valid base64"),
                                        ("data:image/png;base64,/9j/4AAQSkZJRgABAQ==", "PNG"),
                                        (12, "PNG data URL")])
def test_a_malformed_live_call_gets_a_clear_message(raw, ink, words):
    answer = attack.row_live_payload(raw, ink)
    assert answer.status == 200 and words in answer.message and "Traceback" not in answer.message


def test_the_full_explanation_of_a_drawing_replaced_by_a_newer_one_is_skipped(raw):
    session = attack.new_session()
    ink = attack.drawing_ink()
    raw.live(ink, session, seq=5)
    stale = raw.call("drawn", SETTINGS, session, event_data={"ink": ink, "seq": 3})
    fresh = raw.call("drawn", SETTINGS, session, event_data={"ink": ink, "seq": 6})
    assert stale.success and not any(isinstance(v, dict) and v.get("label") for v in stale.output)
    assert fresh.success and fresh.output[0]["label"] == "Trouser"


def test_a_cleared_canvas_clears_the_full_explanation(raw):
    cleared = raw.call("drawn", SETTINGS, event_data={"ink": None, "seq": 1})
    assert cleared.success and not (cleared.output[0] or {}).get("label") and "Draw a garment" in cleared.output[6]


def test_a_flood_of_live_calls_does_not_block_predict(raw):
    flood = attack.row_live_flood(raw, seconds=4.0, threads=12, predicts=4)
    print("live flood", flood)
    assert flood["answered"] > 0 and flood["other"] == 0
    assert flood["predict_ok"] == flood["predicts"]
    assert flood["predict_during_max_s"] < 10, flood
