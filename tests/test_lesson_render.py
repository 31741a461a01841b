"""Lesson pictures: signed values on a blue-white-red scale, bars as tall as their values, every number
and every layer on the page, and all text escaped."""

import numpy as np

from nin.render import lesson_panels as lr
from nin.model import CLASS_NAMES

ESCAPED_NAMES = [f"<b{i}>" for i in range(10)]


def test_diverging_scale_is_blue_below_zero_white_at_zero_red_above():
    colours = lr.diverging(np.array([-2.0, -1.0, 0.0, 1.0, 5.0]), vmax=1.0)
    assert tuple(colours[0]) == tuple(colours[1]) == (0x21, 0x66, 0xAC)  # clipped at -vmax
    assert tuple(colours[2]) == (0xF7, 0xF7, 0xF7)
    assert tuple(colours[4]) == (0xB2, 0x18, 0x2B)
    assert (lr.diverging(np.ones(3), vmax=0.0) == (0xF7, 0xF7, 0xF7)).all()


def test_weight_heatmap_draws_each_weight_as_a_square_block_under_a_title():
    matrix = np.zeros((96, 96))
    matrix[0, 0], matrix[95, 95] = 0.5, -0.5
    image = lr.weight_heatmap(matrix, "block1 W1")
    assert image.dtype == np.uint8 and image.shape[2] == 3
    band = image.shape[0] - 96 * 3  # 96 rows enlarged 3x to about 320 px, the title above
    assert band > 0
    assert tuple(image[band, 0]) == tuple(image[band + 2, 2]) == (0xB2, 0x18, 0x2B)
    assert tuple(image[-1, 96 * 3 - 1]) == (0x21, 0x66, 0xAC)


def test_vector_bars_are_as_tall_as_their_values():
    strip = lr.vector_bars(np.array([0.0, 1.0, 2.0]), "x", height=40)
    bars = strip[-40:]
    width = lr.BAR_WIDTH // 3
    filled = [(bars[:, i * width] != 235).any(axis=1).sum() for i in range(3)]
    assert filled == [0, 20, 40]
    assert lr.mlp_vectors_image([1.0] * 96, [0.0] * 96, [2.0] * 96).shape[1] >= lr.BAR_WIDTH


def _report():
    layers = [{"name": "block1", "kind": "conv", "params": 30336, "share": 0.5, "output_shape": [96, 54, 54]},
              {"name": "<gap>", "kind": "pool", "params": 0, "share": 0.0, "output_shape": [10, 1, 1]}]
    return {"models": [
        {"name": "NiN <d2l>", "description": "a & b", "total": 1_992_166, "conv_params": 1_992_166, "fc_params": 0,
         "conv_share": 1.0, "fc_share": 0.0, "layers": layers},
        {"name": "VGG-11", "description": "big", "total": 128_806_154, "conv_params": 9_219_328,
         "fc_params": 119_586_826, "conv_share": 0.0716, "fc_share": 0.9284, "layers": layers[:1]},
    ]}


def test_parameter_report_html_shows_every_model_and_layer_with_its_count_escaped():
    page = lr.parameter_report_html(_report())
    assert "NiN &lt;d2l&gt; · 1,992,166 parameters" in page and "VGG-11 · 128,806,154 parameters" in page
    assert page.count('class="nin-bar-row') == 2 + 3  # two totals, then 2 + 1 layers
    assert "&lt;gap&gt;" in page and "<gap>" not in page and "a &amp; b" in page
    assert "conv 7.2% · fully-connected 92.8%" in page
    assert 'title="30,336 parameters, output 96x54x54"' in page


def test_logits_table_prints_every_logit_and_change_and_marks_the_top_classes():
    before = np.arange(10, dtype=np.float32)
    after = before.copy()
    after[9], after[3] = 1.0, 12.0
    page = lr.logits_table_html(before, after, ESCAPED_NAMES, np.full(10, 0.1), np.full(10, 0.1))
    assert page.count("<tr data-class") == 10
    assert "−8.00" in page and "+9.00" in page and "+0.00" in page
    assert page.count('class="nin-lesson-top"') == 2
    assert "&lt;b0&gt;" in page and "<b0>" not in page


def test_class_maps_change_html_prints_before_after_and_change_for_each_class():
    before = np.random.default_rng(0).random((10, 5, 5)) * 4
    after = before.copy()
    after[2, 0, 0] = 0
    page = lr.class_maps_change_html(before, after, [2, 7], ESCAPED_NAMES, ("before", "<shifted>"))
    assert page.count("<td") == 2 * 3 * 25
    assert page.count('class="nin-lesson-maprow"') == 2 and "&lt;shifted&gt;" in page
    assert f"{-before[2, 0, 0]:.1f}" in page  # the zeroed cell's change


def test_gradcam_html_states_the_scale_and_handles_an_all_zero_map():
    class_map = np.arange(25, dtype=np.float64).reshape(5, 5)
    page = lr.gradcam_html(class_map / 25, class_map, 0.04, 0.04, 0.0, CLASS_NAMES[9])
    assert "Grad-CAM = 0.040000 x class map" in page and "1/25" in page and page.count("<td") == 50
    empty = lr.gradcam_html(np.zeros((5, 5)), np.zeros((5, 5)), None, 0.04, None, "<x>")
    assert "all zero" in empty and "&lt;x&gt;" in empty


def test_a_cell_the_user_zeroed_and_a_cell_relu_made_zero_are_drawn_differently():
    before = np.zeros((10, 5, 5))
    before[4, 2, 3], before[4, 0, 0] = 7.5, 2.0   # Coat: two live cells, the rest cut by ReLU
    after = before.copy()
    after[4, 2, 3] = 0.0                          # the user zeroed Coat@2,3
    page = lr.class_maps_click_html(before, after, [4], CLASS_NAMES, clicked=[(4, 2, 3)])
    zeroed = page.split('data-cell="4,2,3"')[1].split("</td>")[0]
    relu = page.split('data-cell="4,1,1"')[1].split("</td>")[0]
    assert 'class="nin-zeroed"' in zeroed and "<s>7.5</s>" in zeroed and "zeroed by you" in zeroed
    assert 'class="nin-relu-zero"' in relu and "<s>" not in relu and "0 after ReLU" in relu
    assert "color:#fff" in relu  # light text on the dark colour of 0, not dark on dark


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two "#rrggbb" colours."""
    from nin.render import heatmaps

    lum = sorted((heatmaps._luminance(a), heatmaps._luminance(b)))
    return (lum[1] + 0.05) / (lum[0] + 0.05)


def test_a_value_printed_on_its_colour_is_black_or_white_whichever_reads_better():
    from nin.render import heatmaps

    for value in np.linspace(0, 1, 41):
        background, text = heatmaps.viridis_cell(float(value), 1.0)
        assert contrast(background, text) >= 4.5, (value, background, text)
        background, text = lr.diverging_cell(float(value * 2 - 1), 1.0)
        assert contrast(background, text) >= 4.5, (value, background, text)


def test_every_drop_printed_in_the_occlusion_grid_reads_at_wcag_aa_contrast():
    """The occlusion grid prints each drop on its blue-white-red colour: whatever the values, the text is the
    black or white that reads at 4.5:1 or better (a fixed threshold once left dark text on mid red)."""
    import re

    from nin.render import explorer_panels
    from nin.serve.occlusion import Occlusion

    grid = np.linspace(-1, 1, 49, dtype=np.float32).reshape(7, 7)
    result = Occlusion(patch=8, stride=4, grey=128, offsets=list(range(0, 28, 4)), class_index=0, probability=0.9,
                       grid=grid, occluded_probability=0.9 - grid, cam_grid=np.abs(grid), spearman=0.1,
                       forward_passes=49, server_ms=1.0, pixel_map=np.zeros((28, 28), np.float32),
                       cam=np.zeros((224, 224), np.float32), input224=np.zeros((224, 224), np.float32))
    cells = re.findall(r'<td style="background:(#[0-9a-f]{6});color:(#[0-9a-f]{3,6})">', explorer_panels.occlusion_html(result))
    assert len(cells) == 49
    assert all(contrast(background, text) >= 4.5 for background, text in cells), cells
