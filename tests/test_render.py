"""Pictures: one colormap, stated scales, every class map and every value on the page."""

import re

import numpy as np

from nin.render import heatmaps
from nin.model import CLASS_NAMES


def test_colormap_runs_from_dark_purple_at_zero_to_yellow_at_the_maximum():
    colours = heatmaps.colorize(np.array([0.0, 5.0, 10.0, 20.0]), vmax=10.0)
    assert tuple(colours[0]) == (0x44, 0x01, 0x54)
    assert tuple(colours[2]) == tuple(colours[3]) == (0xFD, 0xE7, 0x25)  # clipped at vmax
    assert colours.dtype == np.uint8


def test_all_zero_maps_draw_without_dividing_by_zero():
    assert (heatmaps.colorize(np.zeros((3, 3)), vmax=0.0) == heatmaps.VIRIDIS[0]).all()


def test_feature_grid_draws_each_requested_channel():
    maps = np.random.default_rng(0).random((96, 54, 54)).astype(np.float32)
    grid = heatmaps.feature_grid_image(maps, np.arange(16), vmax=1.0)
    assert grid.mode == "P"  # palette indices: one byte a pixel
    assert grid.width >= 4 * 54  # 4 columns of 54 px cells
    small = heatmaps.feature_grid_image(np.ones((10, 5, 5), np.float32), np.arange(10), vmax=1.0)
    assert small.width >= 4 * 50  # 5x5 maps are enlarged to stay visible


def test_gap_panel_shows_each_class_with_its_mean_and_probability():
    rng = np.random.default_rng(1)
    maps = rng.random((10, 5, 5)).astype(np.float32) * 4
    logits = maps.mean(axis=(1, 2))
    probs = np.exp(logits) / np.exp(logits).sum()
    page = heatmaps.gap_panel_html(maps, logits, probs, CLASS_NAMES)
    predicted = int(np.argmax(logits))
    assert len(re.findall(r'class="nin-card( nin-card-top)?" data-class', page)) == 10
    assert re.search(rf'class="nin-card nin-card-top" data-class="{predicted}"', page)
    for i, name in enumerate(CLASS_NAMES):
        assert f"mean <b>{logits[i]:.2f}</b> · p <b>{probs[i]:.1%}</b>" in page
    assert f"mean of 25 values = {logits[predicted]:.2f} → softmax {probs[predicted]:.0%}" in page
    assert page.count("<td") == 250  # every one of the 10 x 25 values is on the page
    assert page.count('class="nin-bar-row') == 10


def test_class_names_are_escaped_in_html():
    maps = np.zeros((10, 5, 5), np.float32)
    page = heatmaps.gap_panel_html(maps, maps.mean((1, 2)), np.full(10, 0.1), [f"<b{i}>" for i in range(10)])
    assert "<b0>" not in page and "&lt;b0&gt;" in page


def test_cam_overlay_is_rgb_at_input_size():
    overlay = heatmaps.cam_overlay(np.zeros((224, 224), np.float32), np.ones((224, 224), np.float32))
    assert overlay.shape == (224, 224, 3) and overlay.dtype == np.uint8


def test_stage_panel_inlines_each_grid_as_png_with_its_title():
    grid = np.zeros((20, 30, 3), np.uint8)
    page = heatmaps.stage_panel_html({"block1": grid, "pool1": grid},
                                   {"block1": "block1 · 96×54×54 · x", "pool1": "pool1 · 96×26×26 · y"})
    assert page.count("data:image/png;base64,") == 2
    assert 'data-stage="block1"' in page and "96×54×54" in page


def test_text_in_pictures_has_glyphs_for_times_and_minus():
    # Pillow's bundled font drew "1×1" as "1▯1": every missing glyph is the same box.
    font = heatmaps._font(12)
    missing = np.asarray(font.getmask("\uffff"))
    for char in "×−→·":
        assert not np.array_equal(np.asarray(font.getmask(char)), missing), f"no glyph for {char!r}"


def test_a_title_wraps_to_the_picture_width_instead_of_widening_it():
    image = np.zeros((40, 256, 3), np.uint8)
    titled = heatmaps.with_title(image, "W1 of block2 (first 1×1 conv) · 256 out × 256 in = 65,536 weights · "
                                      "blue −0.34, white 0, red +0.34")
    assert titled.shape[1] == 256 and titled.shape[0] > 40 + 2 * 16  # two lines or more above the picture


def test_the_gap_panel_shows_maps_and_bars_in_one_order_the_classes():
    from nin.render.heatmaps import gap_panel_html

    rng = np.random.default_rng(0)
    maps = rng.normal(size=(10, 5, 5)).astype(np.float32)
    logits = maps.mean(axis=(1, 2))
    probs = np.exp(logits) / np.exp(logits).sum()
    names = [f"class{i}" for i in range(10)]
    page = gap_panel_html(maps, logits, probs, names)
    cards = [int(i) for i in re.findall(r'data-class="(\d+)"', page)]
    assert cards == list(range(10))
    bars = page[page.index("nin-bars-title"):]
    assert [bars.index(n) for n in names] == sorted(bars.index(n) for n in names)
