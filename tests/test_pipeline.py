"""The whole request path on the shipped weights, including the product-photo property of the upload path."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nin.data import to_model_input
from nin.model import Preprocessing, preprocessing_of
from nin.model import CLASS_NAMES
from nin.render.view import render_view
from nin.serve.pipeline import EXAMPLES_DIR, Pipeline, load_models
from nin.serve.decode import load_image
from nin.serve.live import ink_from_image
from nin.ink import ink_to_image, trim_fit_centre
from nin.train import drawings
from nin.serve.preprocess import preprocess_ink, preprocess_photo

PHOTOS = 600  # official test images turned into product photos
OUTLINES = Path(__file__).resolve().parent / "data" / "outline_drawings"  # tools/outline_drawings.py


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline(load_models())


def product_photo(image: np.ndarray, rng: np.random.Generator) -> bytes:
    """Undo Fashion-MNIST's last steps: dark garment on white, 4-12x larger, off-centre, RGB JPEG."""
    side = int(round(28 * rng.uniform(4, 12)))
    garment = Image.fromarray(255 - image).resize((side, side), Image.Resampling.BICUBIC)
    width, height = side + int(rng.integers(side // 4, side)), side + int(rng.integers(side // 4, side))
    canvas = Image.new("L", (width, height), 255)
    canvas.paste(garment, (int(rng.integers(0, width - side)), int(rng.integers(0, height - side))))
    buffer = io.BytesIO()
    canvas.convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@torch.inference_mode()
def accuracy(model, images28: np.ndarray, labels: np.ndarray, spec: Preprocessing) -> float:
    x = to_model_input(torch.from_numpy(images28), spec.input_size, spec.mean, spec.std)
    predictions = torch.cat([model(batch).argmax(1) for batch in x.split(100)]).numpy()
    return float((predictions == labels).mean())


@pytest.mark.slow
def test_product_photos_through_the_upload_path_score_within_2_points_of_the_raw_images(pipeline, official_data):
    loaded = pipeline.models[pipeline.default_key]
    assert loaded.key != "untrained", "needs trained weights in weights/"
    spec = preprocessing_of(loaded.metadata)
    images = official_data.test_images[:PHOTOS].numpy()
    labels = official_data.test_labels[:PHOTOS].numpy()
    rng = np.random.default_rng(0)
    uploaded = np.stack([preprocess_photo(load_image(product_photo(image, rng))).image for image in images])
    raw_accuracy = accuracy(loaded.model, images, labels, spec)
    photo_accuracy = accuracy(loaded.model, uploaded, labels, spec)
    print(f"raw {raw_accuracy:.4f}  product photos {photo_accuracy:.4f}  n={PHOTOS}")
    assert raw_accuracy > 0.6, "the shipped weights should be trained"
    assert abs(photo_accuracy - raw_accuracy) <= 0.02


def test_every_shipped_example_goes_through_the_whole_request_path_and_is_drawn(pipeline):
    paths = sorted(EXAMPLES_DIR.glob("*.*"))
    assert len(paths) >= 23  # 2 per class + photos + drawings
    for path in paths:
        prediction = pipeline.from_ink(ink_from_image(str(path))) if path.stem.startswith("drawing") else \
            pipeline.from_photo(str(path))
        view = render_view(prediction)
        assert set(view.timings_ms) == {"preprocess", "model", "render", "total"}
        assert set(view.label) == set(CLASS_NAMES)
        gap = view.explanation.class_maps.mean(axis=(1, 2))
        np.testing.assert_allclose(gap, view.explanation.logits, atol=1e-5)
        assert view.cam.shape == (224, 224, 3) and view.input28_enlarged.shape == view.input224.shape == (224, 224)
        assert view.stages_html.count("<figure") == 7


def test_official_examples_are_mostly_recognised(pipeline):
    paths = sorted(EXAMPLES_DIR.glob("test*.png"))
    names = {c.lower().replace("/", "-").replace(" ", "-"): c for c in CLASS_NAMES}
    hits = [pipeline.from_photo(str(p)).explanation.top_classes(1)[0][0] == names[p.stem.split("_", 1)[1]]
            for p in paths]
    assert len(paths) == 20 and sum(hits) >= 12


def test_show_all_channels_draws_every_channel(pipeline):
    path = str(EXAMPLES_DIR / "test00000_ankle-boot.png")
    assert "all 384 channels" in render_view(pipeline.from_photo(path), show_all=True).stages_html
    assert "top 16 of 384" in render_view(pipeline.from_photo(path)).stages_html


def test_rerun_with_the_same_input_gives_the_same_numbers(pipeline):
    view = pipeline.from_photo(str(EXAMPLES_DIR / "test00002_trouser.png"))
    again = pipeline.rerun(view.preprocessed)
    np.testing.assert_array_equal(view.explanation.logits, again.explanation.logits)


# ----------------------------------------------------------------------------- drawings

def test_shipped_drawing_examples_are_classified_right(pipeline):
    paths = sorted(EXAMPLES_DIR.glob("drawing_*.png"))
    slugs = {c.lower().replace("/", "-").replace(" ", "-"): c for c in CLASS_NAMES}
    assert len(paths) >= 3
    for path in paths:
        view = pipeline.from_ink(ink_from_image(str(path)))
        assert view.explanation.top_classes(1)[0][0] == slugs[path.stem.removeprefix("drawing_")], path.name
        assert any("filled in" in step for step in view.preprocessed.steps)


@pytest.mark.slow
@torch.inference_mode()
def test_outline_drawings_are_read_right_on_the_canvas_and_uploaded_alike(pipeline):
    """The outline test set (3 drawings per class: clean, wobbly, hurried with a gap): at least 25 of 30 right
    through the canvas path, and as many as PNG uploads (a sketch exported from a paint app: dark strokes on
    white, and white on black). Measured on the shipped file: 27 on the canvas and 27 uploaded either way
    (19 before its drawing phases; all three misreads are coats). Trained on drawings, it reads as many of
    these 30 as bare strokes: 27. On 30 drawings one drawing is noise, so filling may lose one here; the test
    below measures what it is worth on 1,000 outlines."""
    loaded = pipeline.models[pipeline.default_key]
    spec = preprocessing_of(loaded.metadata)
    labels = json.loads((OUTLINES / "labels.json").read_text())
    names = sorted(labels)
    truth = np.array([CLASS_NAMES.index(labels[n]) for n in names])
    strokes = [np.asarray(Image.open(OUTLINES / n)) for n in names]
    canvas = np.stack([preprocess_ink(ink / 255.0).image for ink in strokes])
    as_drawn = np.stack([trim_fit_centre(ink / 255.0).image for ink in strokes])
    uploads = {polarity: np.stack([preprocess_photo(load_image(png(ink if polarity == "white on black" else 255 - ink)))
                                   .image for ink in strokes]) for polarity in ("black on white", "white on black")}
    right = {"canvas": accuracy(loaded.model, canvas, truth, spec) * len(names),
             "as drawn": accuracy(loaded.model, as_drawn, truth, spec) * len(names),
             **{f"uploaded {k}": accuracy(loaded.model, v, truth, spec) * len(names) for k, v in uploads.items()}}
    print("outline drawings right of 30: " + ", ".join(f"{k} {v:.0f}" for k, v in right.items()))
    assert right["canvas"] >= 25
    assert right["uploaded black on white"] == right["uploaded white on black"] == right["canvas"]
    assert right["canvas"] >= right["as drawn"] - 1


@pytest.mark.slow
@torch.inference_mode()
def test_filling_outlines_reads_the_drawn_test_outlines_better_than_the_bare_strokes(pipeline, official_data):
    """The 1,000 outlines of the drawn test set, as the canvas path sends them (filled in) and as bare strokes
    trimmed and fitted: on the shipped file 0.803 filled against 0.670 bare."""
    loaded = pipeline.models[pipeline.default_key]
    spec = preprocessing_of(loaded.metadata)
    images, labels = official_data.test_images.numpy(), official_data.test_labels.numpy()
    chosen = drawings.drawn_test_indices(labels)
    hands, seeds = drawings.hands_for(len(chosen), drawings.drawn_test_seed("outline"), "outline")
    inks = drawings.render_ink(images[chosen], hands, seeds)
    filled = np.stack([ink_to_image(ink).image for ink in inks])
    bare = np.stack([trim_fit_centre(ink).image for ink in inks])
    read = {"filled": accuracy(loaded.model, filled, labels[chosen], spec),
            "bare": accuracy(loaded.model, bare, labels[chosen], spec)}
    print("drawn test outlines right: " + ", ".join(f"{k} {v:.3f}" for k, v in read.items()))
    assert read["filled"] >= read["bare"] + 0.05, read


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()
