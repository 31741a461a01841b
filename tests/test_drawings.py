"""The drawing renderer (nin/train/drawings.py) and the canvas path it shares with the app (nin/ink.py)."""

import numpy as np
import pytest
import torch

from nin.ink import ink_to_image, object_bbox
from nin.serve.preprocess import preprocess_ink
from nin.train import drawings


@pytest.fixture(scope="module")
def garments(official_data):
    """Two training images of every class, in class order."""
    labels = official_data.train_labels.numpy()
    picked = np.concatenate([np.flatnonzero(labels == c)[:2] for c in range(10)])
    return official_data.train_images.numpy()[picked], labels[picked]


@pytest.mark.parametrize("style", drawings.STYLES)
def test_the_same_seed_gives_the_same_drawings_and_another_seed_other_ones(garments, style):
    images, _ = garments
    first = drawings.draw_images(images, seed=5, style=style)
    assert np.array_equal(first, drawings.draw_images(images, seed=5, style=style))
    assert not np.array_equal(first, drawings.draw_images(images, seed=6, style=style))


@pytest.mark.parametrize("style", drawings.STYLES)
def test_drawings_come_out_of_the_canvas_path_as_28x28_garments_light_on_black(garments, style):
    images, _ = garments
    drawn = drawings.draw_images(images, seed=1, style=style)
    assert drawn.shape == images.shape and drawn.dtype == np.uint8
    for image in drawn:
        assert image.max() == 255  # a drawing's strokes are full ink
        left, top, right, bottom = object_bbox(image > 0)
        assert max(right - left, bottom - top) == 28  # longest edge fitted to 28
        assert abs(left - (28 - right)) <= 1 and abs(top - (28 - bottom)) <= 1  # centred
        assert 0.05 < (image > 20).mean() < 0.95


def test_ink_goes_through_exactly_the_apps_canvas_path(garments):
    images, _ = garments
    hands, seeds = drawings.hands_for(len(images), seed=3, style="outline")
    inks = drawings.render_ink(images, hands, seeds)
    assert inks.shape == (len(images), drawings.CANVAS, drawings.CANVAS) and 0 <= inks.min() and inks.max() <= 1
    drawn = drawings.draw_images(images, seed=3, style="outline")
    for ink, image in zip(inks, drawn):
        assert np.array_equal(ink_to_image(ink).image, image)
        assert np.array_equal(preprocess_ink(ink).image, image)  # what the app does with the same ink


def test_an_outline_leaves_the_inside_of_the_garment_undrawn_and_a_silhouette_fills_it(garments):
    images, _ = garments
    hand = drawings.draw_hand(np.random.default_rng(0), "outline")
    outline = drawings.render_ink(images[:1], [hand], [9])[0]
    silhouette = drawings.render_ink(images[:1], [drawings.Hand(**{**hand.__dict__, "style": "silhouette"})], [9])[0]
    assert outline.sum() < 0.6 * silhouette.sum()
    assert silhouette[drawings.CANVAS // 2, drawings.CANVAS // 2] == 1  # a T-shirt's middle is ink


def test_a_training_epoch_draws_a_seeded_share_of_its_images_and_leaves_the_rest(garments):
    images, _ = garments
    mixed, drawn = drawings.with_drawings(images, share=0.4, seed=11)
    changed = [not np.array_equal(a, b) for a, b in zip(mixed, images)]
    assert drawn == round(0.4 * len(images)) == sum(changed)
    again, _ = drawings.with_drawings(images, share=0.4, seed=11)
    assert np.array_equal(mixed, again)
    assert not np.array_equal(mixed, drawings.with_drawings(images, share=0.4, seed=12)[0])


def test_the_drawn_test_set_is_100_test_images_per_class_in_each_style(official_data):
    images, labels = official_data.test_images.numpy(), official_data.test_labels.numpy()
    # The choice of images, not their rendering, is checked here; the rendering is checked above.
    sets = drawings.drawn_test_set(images[:2000], labels[:2000], per_class=5)
    assert set(sets) == set(drawings.TEST_STYLES) == {"silhouette", "outline"}
    for style, (drawn, truth) in sets.items():
        assert drawn.shape == (50, 28, 28) and np.bincount(truth, minlength=10).tolist() == [5] * 10
    again = drawings.drawn_test_set(images[:2000], labels[:2000], per_class=5)
    assert all(np.array_equal(sets[s][0], again[s][0]) for s in sets)
    assert drawings.DRAWN_TEST_PER_CLASS == 100


def test_detail_lines_are_a_garments_long_inner_edges_like_a_zip_not_its_print():
    image = np.zeros((28, 28), np.float32)
    image[2:27, 6:23] = 0.8  # a coat
    image[4:25, 17] = 0.15  # its zip, a dark line
    image[12:24, 7:13] = np.where(np.add.outer(np.arange(12) // 2, np.arange(6) // 2) % 2, 0.8, 0.2)  # a check
    shape = torch.from_numpy((image > 0).astype(np.float32))[None, None]
    details = drawings._inner_edges(torch.from_numpy(image)[None, None], shape)[0, 0].numpy()
    rows, cols = np.nonzero(details)
    assert len(rows) and set(cols) <= {16, 17, 18}  # only the zip: the print is texture, nobody draws it
    assert rows.max() - rows.min() >= 15  # drawn along its length
