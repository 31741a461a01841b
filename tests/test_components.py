"""The app's Gradio components: uploads reach nin.serve.decode undecoded, and the app's pictures render with
Gradio's own image frontend."""

import os

import numpy as np

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
from gradio.data_classes import FileData  # noqa: E402
from PIL import Image  # noqa: E402

from nin.ui.components import PngImage, UploadImage  # noqa: E402


def test_the_components_render_with_gradios_own_image_frontend():
    assert UploadImage().get_block_name() == PngImage().get_block_name() == "image"


def test_upload_image_passes_the_uploaded_path_through_undecoded(tmp_path):
    path = tmp_path / "not_really.png"
    path.write_bytes(b"not an image at all")
    assert UploadImage(type="filepath").preprocess(FileData(path=str(path))) == str(path)


def test_png_image_writes_a_greyscale_array_as_a_one_channel_png():
    written = PngImage(format="png").postprocess(np.full((8, 8), 200, np.uint8))
    with Image.open(written.path) as image:
        assert image.mode == "L" and image.getpixel((3, 3)) == 200
