"""The doodle generator (nin/train/doodles.py): garments drawn from memory in a few strokes, through the canvas
path, for the doodle phase of training."""

import inspect

import numpy as np
import pytest

from nin.ink import object_bbox
from nin.model import CLASS_NAMES
from nin.train import doodle_hand, doodles
from nin.train.drawings import with_drawings


@pytest.fixture(scope="module")
def garments(official_data):
    """Three training images of every class, in class order, with their labels."""
    labels = official_data.train_labels.numpy()
    picked = np.concatenate([np.flatnonzero(labels == c)[:3] for c in range(10)])
    return official_data.train_images.numpy()[picked], labels[picked]


def test_the_same_seed_gives_the_same_doodles_and_another_seed_other_ones(garments):
    images, labels = garments
    first = doodles.doodle_images(images, labels, seed=3)
    assert np.array_equal(first, doodles.doodle_images(images, labels, seed=3))
    assert (first != doodles.doodle_images(images, labels, seed=4)).any(axis=(1, 2)).mean() > 0.9


def test_every_class_has_its_own_templates():
    assert sorted(doodles.TEMPLATES) == list(range(len(CLASS_NAMES)))
    rng = np.random.default_rng(0)
    for label, template in doodles.TEMPLATES.items():
        drawn = [template(rng) for _ in range(20)]
        assert all(1 <= len(strokes) for strokes in drawn), CLASS_NAMES[label]
        # Wide variation: no two of 20 draws of a class are the same strokes.
        assert len({repr(strokes) for strokes in drawn}) == 20, CLASS_NAMES[label]


@pytest.mark.parametrize("label", range(10), ids=CLASS_NAMES)
def test_every_class_doodles_into_a_28x28_garment_light_on_black(garments, label):
    images, labels = garments
    mine = labels == label
    out = doodles.doodle_images(np.repeat(images[mine], 4, axis=0), np.repeat(labels[mine], 4), seed=label)
    assert out.shape == (12, 28, 28) and out.dtype == np.uint8
    for image in out:
        assert image.max() >= 200  # strokes are near full ink
        left, top, right, bottom = object_bbox(image > 0)
        assert max(right - left, bottom - top) == 28  # longest edge fitted to 28, as the canvas path does
        assert abs(left - (28 - right)) <= 1 and abs(top - (28 - bottom)) <= 1  # centred


def test_hands_use_all_three_brushes_tilt_up_to_20_degrees_and_sometimes_leave_a_doodle_unfinished():
    hands = [doodle_hand.draw_hand(np.random.default_rng(seed)) for seed in range(600)]
    assert {hand.brush for hand in hands} == set(doodle_hand.BRUSHES)
    angles = [hand.angle for hand in hands]
    assert max(np.abs(angles)) <= 20 and min(angles) < -15 and max(angles) > 15
    assert 0.05 < np.mean([hand.unfinished for hand in hands]) < 0.3
    assert 0.2 < np.mean([hand.short > 0 for hand in hands]) < 0.6  # strokes that stop short: gaps
    assert 0.2 < np.mean([hand.overshoot > 0 for hand in hands]) < 0.8
    assert {hand.pieces for hand in hands} == {1, 2, 3}  # an outline drawn in one to three strokes
    stretch = [hand.stretch[0] / hand.stretch[1] for hand in hands]
    assert min(stretch) < 0.8 and max(stretch) > 1.25  # proportions off, as drawn from memory


def test_a_doodle_is_one_to_six_strokes_outline_first():
    for label in range(10):
        for seed in range(30):
            strokes = doodles.TEMPLATES[label](np.random.default_rng(seed))[:doodles.MAX_STROKES]
            assert 1 <= len(strokes) <= 6
            # The outline comes first: it is the longest stroke (or, for a pair of flip flops, one of two).
            length = [np.linalg.norm(np.diff(np.asarray(s), axis=0), axis=1).sum() for s in strokes]
            assert length[0] >= 0.9 * max(length), (CLASS_NAMES[label], seed)


def test_a_dataset_silhouette_is_simplified_to_a_polygon_of_8_to_16_corners(garments):
    images, _ = garments
    for seed, image in enumerate(images):
        [polygon] = doodles.simplified(image, np.random.default_rng(seed))
        assert 9 <= len(polygon) <= 17 and polygon[0] == polygon[-1]  # closed: the first corner repeated
        assert all(-0.05 <= x <= 1.05 and -0.05 <= y <= 1.05 for x, y in polygon)  # within the image
    assert doodles.simplified(np.zeros((28, 28), np.uint8), np.random.default_rng(0)) == []


def test_a_doodle_phase_epoch_doodles_a_seeded_share_of_the_images_by_their_own_class(garments):
    images, labels = garments
    out, changed = with_drawings(images, 0.2, seed=7, labels=labels, doodles=0.3)
    assert changed == round(0.2 * 30) + round(0.3 * 30)
    assert (out != images).any(axis=(1, 2)).sum() == changed
    again, _ = with_drawings(images, 0.2, seed=7, labels=labels, doodles=0.3)
    assert np.array_equal(out, again)
    with pytest.raises(ValueError, match="labels"):
        with_drawings(images, 0.0, seed=7, doodles=0.5)


def test_people_s_doodles_are_never_read_by_the_generator():
    # The people's doodles measure the result; training must never see them or anything made from them.
    source = inspect.getsource(doodles)
    assert "ndjson" not in source and "tests/data/doodles" not in source


def test_drawing_on_two_cores_gives_exactly_the_drawings_of_one(garments, monkeypatch):
    from nin.train import drawings, parallel

    images, labels = garments
    serial = (drawings.draw_images(images, seed=2), doodles.doodle_images(images, labels, seed=2))
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 10)  # 30 rows: split between two worker processes
    assert np.array_equal(drawings.draw_images(images, seed=2), serial[0])
    assert np.array_equal(doodles.doodle_images(images, labels, seed=2), serial[1])
