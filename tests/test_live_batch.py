"""The canvas's live answers in batches (nin.serve.live_batch) and the pacing of the pages (nin.ui.pacing)."""

import numpy as np
import pytest

from nin.serve.explain import explain
from nin.serve.live_batch import LiveBatcher, answers_of, live_model, live_precision, native_bf16
from nin.serve.pipeline import Pipeline
from nin.ui.pacing import ACTIVE_S, MAX_WAIT_MS, USE, Pacer


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline()


@pytest.fixture(scope="module")
def images(pipeline):
    return list(pipeline.example_inputs().values())


# ----------------------------------------------------------------------------- batches

def test_batched_live_answers_equal_single_answers_in_fp32(pipeline, images):
    loaded = pipeline.model(None)
    batcher = LiveBatcher(pipeline, workers=1, precision="fp32")
    with batcher._ready:  # the worker cannot take any until all wait: as when they arrive during a pass
        futures = [batcher.submit(image) for image in images]
    answers = [f.result(timeout=60) for f in futures]
    assert [a.batch for a in answers] == [len(images)] * len(images) and batcher.passes == 1
    for image, answer in zip(images, answers):
        alone = explain(loaded.model, image, loaded.preprocessing)
        assert int(np.argmax(answer.probs)) == alone.predicted
        assert np.abs(answer.probs - alone.probs).max() <= 1e-4
        assert np.abs(answer.class_maps - alone.class_maps).max() <= 1e-3
        assert np.allclose(answer.logits, answer.class_maps.mean(axis=(1, 2)), atol=1e-5)  # GAP is the mean


def test_an_image_sent_to_an_idle_batcher_runs_at_once_in_a_pass_of_its_own(pipeline, images):
    batcher = LiveBatcher(pipeline, workers=1, precision="fp32")
    batcher.answer(images[0])  # the worker's start and its copy of the weights
    for image in images[:5]:
        answer = batcher.answer(image)
        assert answer.batch == 1
        assert answer.waited_ms < 50, "nothing gathers: a lone image goes as soon as it arrives"


def test_a_batch_never_mixes_two_weight_files(pipeline, images):
    from dataclasses import replace

    loaded = pipeline.model(None)
    other = replace(loaded, key="other.safetensors", model=live_model(loaded.model))
    two = Pipeline({loaded.key: loaded, other.key: other})
    batcher = LiveBatcher(two, workers=1, precision="fp32")
    futures = [batcher.submit(image, key) for image in images for key in (loaded.key, other.key)]
    answers = [f.result(timeout=60) for f in futures]
    assert batcher.images == len(futures) and batcher.passes >= 2
    for first, second in zip(answers[::2], answers[1::2]):
        assert np.allclose(first.probs, second.probs, atol=1e-5)


def test_a_failed_pass_reaches_every_caller_in_it(pipeline, images):
    batcher = LiveBatcher(pipeline, workers=1, precision="fp32")
    with batcher._ready:  # one pass for both; two sizes cannot be stacked, so the pass fails
        futures = [batcher.submit(images[0]), batcher.submit(np.zeros((3, 3), dtype=np.uint8))]
    for future in futures:
        with pytest.raises(ValueError):
            future.result(timeout=60)
    assert batcher.answer(images[0]).probs.shape == (10,)  # and the worker goes on


def test_the_live_precision_is_bf16_only_where_the_cpu_computes_it_natively(monkeypatch):
    monkeypatch.delenv("NIN_LIVE_PRECISION", raising=False)
    assert live_precision() == ("bf16" if native_bf16() else "fp32")
    assert live_precision("fp32") == "fp32" and live_precision("bf16") == "bf16"
    monkeypatch.setenv("NIN_LIVE_PRECISION", "fp32")
    assert live_precision() == "fp32"


def test_bf16_live_answers_keep_the_top_class_and_every_probability_within_a_point(pipeline, images):
    loaded = pipeline.model(None)
    fp32 = answers_of(live_model(loaded.model, "fp32"), images, loaded.preprocessing)
    bf16 = answers_of(live_model(loaded.model, "bf16"), images, loaded.preprocessing)
    for a, b in zip(fp32, bf16):
        assert np.argmax(a.probs) == np.argmax(b.probs)
        assert np.abs(a.probs - b.probs).max() <= 0.01


@pytest.mark.slow
def test_bf16_live_answers_match_fp32_on_official_and_drawn_test_images(official_data):
    """The bar for running the live answers in bf16 (nin.dev.live_precision), on the first 1,000 official test
    images and their drawn test set; the full 10,000 are measured by the tool and quoted in the README."""
    from nin.dev.live_precision import MAX_PROB_DIFF, MIN_AGREEMENT, agreement
    from nin.model import load_weights, preprocessing_of
    from nin.serve.pipeline import WEIGHTS_DIR
    from nin.train.drawings import drawn_test_set

    model, metadata = load_weights(WEIGHTS_DIR / "nin_cpu.safetensors")
    spec = preprocessing_of(metadata)
    images, labels = official_data.test_images[:1000].numpy(), official_data.test_labels[:1000].numpy()
    sets = {"official": images, **{style: drawn for style, (drawn, _) in drawn_test_set(images, labels).items()}}
    for name, set_images in sets.items():
        found = agreement(model, set_images, spec)
        print(name, found)
        assert found["top_class_agreement"] >= MIN_AGREEMENT and found["max_prob_diff"] <= MAX_PROB_DIFF, (name, found)


# ----------------------------------------------------------------------------- pacing

class Clock:
    def __init__(self):
        self.now, self.cpu = 100.0, 0.0

    def __call__(self):
        return self.now


def pacer_with(clock: Clock, cores: int = 2) -> Pacer:
    return Pacer(100, cores=cores, clock=clock, cpu=lambda: clock.cpu)


def drive(pacer: Pacer, clock: Clock, pages: int, cpu_per_answer: float, seconds: float = 3.0) -> None:
    """`pages` pages answered in turn for `seconds`, each answer costing `cpu_per_answer` CPU seconds."""
    step = 0.01
    for i in range(int(seconds / step)):
        clock.now += step
        pacer.called(f"page{i % pages}")
        clock.cpu += cpu_per_answer
        pacer.answered()


def test_a_page_alone_calls_every_100_ms():
    clock = Clock()
    pacer = pacer_with(clock)
    assert pacer.wait_ms() == 100  # nothing measured yet
    drive(pacer, clock, pages=1, cpu_per_answer=0.015)
    assert pacer.wait_ms() == 100


def test_many_pages_share_what_the_cpu_can_answer_evenly():
    clock = Clock()
    pacer = pacer_with(clock)
    drive(pacer, clock, pages=32, cpu_per_answer=0.015)
    capacity = 2 * USE / 0.015  # answers a second
    expected = 1e3 * 32 / capacity
    assert abs(pacer.wait_ms() - expected) <= 2
    assert pacer.wait_ms() > 100
    # the same wait for every page, whichever asks: 32 pages at this wait ask for what the cores can give
    assert 32 / (pacer.wait_ms() / 1e3) <= capacity


def test_pages_that_stopped_drawing_no_longer_slow_the_others():
    clock = Clock()
    pacer = pacer_with(clock)
    drive(pacer, clock, pages=32, cpu_per_answer=0.015)
    busy = pacer.wait_ms()
    clock.now += ACTIVE_S + 0.1
    drive(pacer, clock, pages=2, cpu_per_answer=0.015)
    assert pacer.drawing() == 2 and pacer.wait_ms() == 100 < busy


def test_the_wait_is_bounded_and_the_pages_remembered_are_too():
    from nin.ui.pacing import MAX_PAGES_KEPT

    clock = Clock()
    pacer = pacer_with(clock, cores=1)
    for i in range(MAX_PAGES_KEPT + 500):  # a script naming a new session at every call
        pacer.called(f"s{i}")
        clock.cpu += 1.0
        pacer.answered()
        clock.now += 0.0001
    assert len(pacer.pages) <= MAX_PAGES_KEPT
    assert pacer.wait_ms() == MAX_WAIT_MS
