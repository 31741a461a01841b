"""The doodle generator (nin/train/doodles.py): garments drawn from memory in a few strokes, through the canvas
path, for the doodle phase of training."""

import inspect
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw

from nin.ink import ink_to_image, object_bbox
from nin.model import CLASS_NAMES
from nin.names import CANVAS_SIDE, EXPORT_SIDE
from nin.train import doodle_hand, doodle_pen, doodle_shoes, doodle_silhouette, doodle_templates, doodle_tops, doodles
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
    for module in (doodles, doodle_hand, doodle_pen, doodle_shoes, doodle_silhouette, doodle_templates, doodle_tops):
        source = inspect.getsource(module)
        assert "ndjson" not in source and "tests/data/doodles" not in source, module.__name__


def test_drawing_on_two_cores_gives_exactly_the_drawings_of_one(garments, monkeypatch):
    from nin.train import drawings, parallel

    images, labels = garments
    serial = (drawings.draw_images(images, seed=2), doodles.doodle_images(images, labels, seed=2))
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 10)  # 30 rows: split between two worker processes
    assert np.array_equal(drawings.draw_images(images, seed=2), serial[0])
    assert np.array_equal(doodles.doodle_images(images, labels, seed=2), serial[1])


def test_the_same_seed_gives_the_same_doodle_from_a_template_or_from_the_silhouette(garments):
    images, labels = garments
    for seed, (image, label) in enumerate(zip(images, labels)):
        assert np.array_equal(doodles.doodle_ink(int(label), image, seed), doodles.doodle_ink(int(label), image, seed))
        # The silhouette's polygon and the verdict on it are the generator's too: the same for the same state.
        first = doodles.silhouette_doodle(image, int(label), np.random.default_rng(seed))
        assert first == doodles.silhouette_doodle(image, int(label), np.random.default_rng(seed))


def _tshirt_image(sleeves: bool) -> np.ndarray:
    """A T-shirt photographed flat, light on black: a body 12 px wide and 18 tall, short sleeves held out."""
    image = Image.new("L", (28, 28), 0)
    pen = ImageDraw.Draw(image)
    pen.rectangle([8, 5, 19, 22], fill=200)
    if sleeves:
        pen.polygon([(8, 5), (3, 8), (5, 11), (8, 10)], fill=200)
        pen.polygon([(19, 5), (24, 8), (22, 11), (19, 10)], fill=200)
    return np.asarray(image)


def test_a_simplified_silhouette_that_lost_its_sleeves_is_turned_away():
    tshirt = CLASS_NAMES.index("T-shirt/top")
    image = _tshirt_image(sleeves=True)
    for seed in range(5):  # with its sleeves, the simplified T-shirt is kept
        [polygon] = doodles.simplified(image, np.random.default_rng(seed))
        assert doodle_silhouette.keeps_its_class(polygon, image, tshirt)
    # The same T-shirt cut down to its body: 8 corners that cover the silhouette well, but no sleeves.
    left, top, right, bottom = 8 / 28, 5 / 28, 20 / 28, 23 / 28
    body = [(left, top), ((left + right) / 2, top), (right, top), (right, (top + bottom) / 2), (right, bottom),
            ((left + right) / 2, bottom), (left, bottom), (left, (top + bottom) / 2), (left, top)]
    shape, mask = doodle_silhouette.filled(body), doodle_silhouette.silhouette(image)
    assert (shape & mask).sum() / (shape | mask).sum() >= doodle_silhouette.MIN_IOU
    assert not doodle_silhouette.keeps_its_class(body, image, tshirt)
    # A T-shirt photographed without visible sleeves (a tank top) is never drawn from its silhouette.
    tank = _tshirt_image(sleeves=False)
    assert doodles.silhouette_doodle(tank, tshirt, np.random.default_rng(0)) == []


def test_a_silhouette_turned_away_is_drawn_from_the_class_s_template(monkeypatch):
    tshirt = CLASS_NAMES.index("T-shirt/top")
    drawn = []

    def template(rng):
        drawn.append(True)
        return doodle_tops.tshirt(rng)

    monkeypatch.setattr(doodles, "TEMPLATE_SHARE", 0.0)  # every doodle tries the silhouette first
    monkeypatch.setitem(doodles.TEMPLATES, tshirt, template)
    doodles.doodle_ink(tshirt, _tshirt_image(sleeves=False), seed=0)
    assert drawn == [True]
    doodles.doodle_ink(tshirt, _tshirt_image(sleeves=True), seed=0)
    assert drawn == [True]  # a T-shirt whose sleeves show is drawn from its silhouette


def test_an_oval_is_turned_away_for_every_class_but_the_shoes():
    blob = doodle_pen.arc(0.5, 0.5, 0.3, 0.4, 0, 360, 12)  # an oval: 12 corners, no class's shape
    image = np.zeros((28, 28), np.uint8)
    image[np.hypot((np.arange(28)[:, None] - 13.5) / 11.2, (np.arange(28) - 13.5) / 8.4) <= 1] = 200
    for label in range(10):
        name = CLASS_NAMES[label]
        if name in ("Ankle boot", "Sneaker"):  # shoes are judged by their outline, never drawn as an oval
            continue
        assert not doodle_silhouette.keeps_its_class(blob, image, label), name


def test_coats_and_shirts_have_a_line_down_the_front_and_pullovers_never_do():
    def front_line(strokes):
        outline = np.asarray(strokes[0])
        height = outline[:, 1].max() - outline[:, 1].min()
        for stroke in strokes[1:]:
            points = np.asarray(stroke)
            if (np.abs(points[:, 0] - 0.5) <= 0.06).all() and np.ptp(points[:, 1]) >= 0.6 * height:
                return True
        return False

    for seed in range(60):
        rng = np.random.default_rng(seed)
        coat, pullover, shirt = doodle_tops.coat(rng), doodle_tops.pullover(rng), doodle_tops.shirt(rng)
        assert front_line(coat[:doodles.MAX_STROKES]), seed
        assert front_line(shirt[:doodles.MAX_STROKES]), seed
        assert not front_line(pullover), seed


@pytest.mark.parametrize("label", range(10), ids=CLASS_NAMES)
def test_every_class_s_doodles_pass_the_canvas_path_as_a_28x28_garment(garments, label):
    images, labels = garments
    image = images[labels == label][0]
    for seed in range(12):
        ink = doodles.doodle_ink(label, image, seed)
        assert ink.shape == (EXPORT_SIDE, EXPORT_SIDE) and ink.dtype == np.float32
        assert 0.0 <= ink.min() and ink.max() <= 1.0 and ink.max() > 0.9
        seen = ink_to_image(ink).image
        assert seen.shape == (28, 28) and seen.dtype == np.uint8 and seen.max() >= 200
        left, top, right, bottom = object_bbox(seen > 0)
        assert max(right - left, bottom - top) == 28


def test_a_thick_brush_draws_big():
    hands = [doodle_hand.draw_hand(np.random.default_rng(seed)) for seed in range(300)]
    thick = [hand.size for hand in hands if hand.brush == doodle_hand.BRUSHES[-1]]
    assert thick and min(thick) >= doodle_hand.THICK_SIZE
    assert min(hand.size for hand in hands) < 0.5  # the other brushes still draw small too


def _sleeve(outline) -> tuple[float, float]:
    """A top's right sleeve, from its outline (neck, shoulder, tip, cuff's inner end, armpit, ...): its angle
    in degrees from hanging straight down, and how far its cuff's inner end stands out of the body's side."""
    _, shoulder, tip, cuff_end, armpit = outline[:5]
    return np.degrees(np.arctan2(tip[0] - shoulder[0], tip[1] - shoulder[1])), cuff_end[0] - armpit[0]


def test_t_shirt_sleeves_angle_down_as_often_as_they_are_held_out_and_every_cuff_ends_outside_the_body():
    sleeves = np.array([_sleeve(doodle_tops.tshirt(np.random.default_rng(seed))[0]) for seed in range(400)])
    angles, gaps = sleeves[:, 0], sleeves[:, 1]
    assert 50 <= np.median(angles) <= 70  # before the short sleeve's own gap, every one was lifted to ~85
    assert (angles < 50).mean() >= 0.1
    assert gaps.min() >= doodle_tops.SHORT_SLEEVE_GAP - 1e-9


def test_a_hanging_long_sleeve_stays_clear_of_the_body_by_more_than_a_thick_brush():
    gaps = [_sleeve(doodle_tops.pullover(np.random.default_rng(seed))[0])[1] for seed in range(200)]
    assert min(gaps) >= doodle_tops.MIN_SLEEVE_GAP - 1e-9


def test_hands_round_corners_and_bend_the_shape_in_most_doodles_by_a_bounded_amount():
    hands = [doodle_hand.draw_hand(np.random.default_rng(seed)) for seed in range(600)]
    rounding = np.array([hand.rounding for hand in hands])
    bent = [hand for hand in hands if hand.bend]
    assert 0.45 < (rounding > 0).mean() < 0.75 and rounding.max() <= doodle_hand.MAX_ROUNDING
    assert 0.45 < len(bent) / len(hands) < 0.75
    assert all(len(hand.bend) == 2 and 0 < amp <= doodle_hand.MAX_BEND for hand in bent for amp, *_ in hand.bend)
    assert doodle_hand.steady_hand().rounding == 0 and not doodle_hand.steady_hand().bend  # people's: as drawn


def test_rounding_a_corner_keeps_an_open_stroke_s_ends_a_closed_stroke_closed_and_short_sides_their_shape():
    corner = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    rounded = doodle_hand.round_corners(corner, 0.2)
    assert np.allclose(rounded[0], corner[0]) and np.allclose(rounded[-1], corner[-1])
    # The curve leaves each side 0.2 before the corner and stays inside the corner's triangle, off the corner.
    assert np.allclose(rounded[1], [0.8, 0.0]) and np.allclose(rounded[-2], [1.0, 0.2])
    assert np.linalg.norm(rounded - [1.0, 0.0], axis=1).min() > 0.05
    square = np.asarray(doodle_pen.box(0, 0, 1, 1))
    closed = doodle_hand.round_corners(square, 0.2)
    assert np.allclose(closed[0], closed[-1]) and len(closed) == 4 * 5 + 1  # four corners, each a curve
    # A side shorter than twice the radius loses at most 0.45 of itself at either end: a hem stays a hem.
    hem = doodle_hand.round_corners(np.array([[0.0, 0.0], [0.0, 1.0], [0.1, 1.0], [0.1, 0.0]]), 0.2)
    bottom = hem[np.isclose(hem[:, 1], 1.0)]
    assert len(bottom) and np.allclose(np.sort(bottom[:, 0])[[0, -1]], [0.045, 0.055])
    assert np.array_equal(doodle_hand.round_corners(corner, 0.0), corner)


def test_a_bend_moves_every_point_by_at_most_its_amplitude_and_a_straight_line_curves():
    hand = doodle_hand.steady_hand()
    bent = replace(hand, bend=((0.05, 0.0, 0.8, 0.3), (0.05, 0.8, 0.3, 1.1)))
    origin = np.array([140.0, 140.0])
    line = np.stack([np.linspace(40, 240, 51), np.full(51, 140.0)], 1)
    moved = doodle_hand.bend_points(line, bent, origin)
    size = bent.size * CANVAS_SIDE
    assert np.abs(moved - line).max() <= 0.05 * size + 1e-9
    assert np.ptp(moved[:, 1]) > 0.05 * size  # the horizontal line now rises and falls: it curves
    assert np.array_equal(doodle_hand.bend_points(line, hand, origin), line)
