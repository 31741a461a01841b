"""The hardened Gradio components: files are checked from their headers before Gradio decodes them, and the
sketchpad's blob store takes only what the browser sends, within bounds.

The component is tested directly (preprocess / accept_blobs with payloads built as Gradio 6.31 builds them),
and the accept_blobs attack once more through a real launched server.
"""

import io
import os
import time
import tracemalloc

import httpx
import numpy as np
import pytest
from PIL import Image, ImageFile

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
import gradio as gr  # noqa: E402
from fastapi import HTTPException  # noqa: E402
from gradio.components.image_editor import EditorData  # noqa: E402
from gradio.data_classes import DataWithFiles, FileData  # noqa: E402

from nin.dev.bench_load import rss_mb  # noqa: E402
from nin.dev.ports import free_port  # noqa: E402
from nin.ui.components import SafeSketchpad, UploadImage  # noqa: E402
from nin.ui.limits import BodyLimit  # noqa: E402
from nin.serve.preprocess import ink_mask  # noqa: E402

CANVAS = 280
SETTINGS = dict(type="numpy", image_mode="RGBA", canvas_size=(CANVAS, CANVAS), fixed_canvas=True, layers=False,
                transforms=(), sources=())


@pytest.fixture(scope="module")
def pads():
    with gr.Blocks():
        safe, plain = SafeSketchpad(**SETTINGS), gr.Sketchpad(**SETTINGS)
    return safe, plain


@pytest.fixture
def pad(pads):
    pads[0].blob_storage.clear()
    return pads[0]


def encoded(array: np.ndarray, fmt: str = "PNG", mode: str = "RGBA") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format=fmt)
    return buffer.getvalue()


def canvas(stroke: bool = False, size: int = CANVAS) -> np.ndarray:
    array = np.zeros((size, size, 4), np.uint8)
    if stroke:
        array[90:240, 90:190] = 255
    return array


def file_data(tmp_path, name: str, data: bytes) -> FileData:
    path = tmp_path / name
    path.write_bytes(data)
    return FileData(path=str(path), orig_name=name)


def drawing(tmp_path, layers: list[bytes] | None = None) -> EditorData:
    """A sketchpad value as the browser uploads it: background, layers and composite, all canvas-sized PNGs."""
    black = canvas()
    black[..., 3] = 255
    layers = [encoded(canvas(stroke=True))] if layers is None else layers
    return EditorData(background=file_data(tmp_path, "background.png", encoded(black)),
                      layers=[file_data(tmp_path, f"layer_{i}.png", data) for i, data in enumerate(layers)],
                      composite=file_data(tmp_path, "composite.png", encoded(black)))


def blob(kind: str, data: bytes, index="null", blob_id: str = "abc123") -> DataWithFiles:
    """accept_blobs' argument as the 6.31 route builds it from the browser's multipart form."""
    return DataWithFiles(data={"type": kind, "index": index, "id": blob_id, "component_id": "1",
                               "fn_name": "accept_blobs", "session_hash": "s"}, files=[(f"{kind}.png", data)])


def same_value(a: dict, b: dict) -> bool:
    arrays = lambda v: [v["background"], *v["layers"], v["composite"]]  # noqa: E731
    return len(a["layers"]) == len(b["layers"]) and all(
        (x is None and y is None) or np.array_equal(x, y) for x, y in zip(arrays(a), arrays(b)))


# ----------------------------------------------------------------------------- rendering

def test_safe_components_render_with_gradios_own_frontends(pads):
    safe, plain = pads
    assert safe.get_block_name() == plain.get_block_name() == "imageeditor"
    assert UploadImage().get_block_name() == "image"


def test_upload_image_passes_the_uploaded_path_through_undecoded(tmp_path):
    path = tmp_path / "not_really.png"
    path.write_bytes(b"not an image at all")
    assert UploadImage(type="filepath").preprocess(FileData(path=str(path))) == str(path)


# ----------------------------------------------------------------------------- preprocess

def test_normal_drawing_gives_the_same_value_as_gr_sketchpad(pads, tmp_path):
    safe, plain = pads
    payload = drawing(tmp_path)
    value = safe.preprocess(payload)
    assert same_value(value, plain.preprocess(payload))
    assert ink_mask(value).shape == (CANVAS, CANVAS)


def test_drawing_sent_through_accept_blobs_gives_the_same_value(pads, tmp_path):
    safe, plain = pads
    payload = drawing(tmp_path)
    for kind, file, index in [("background", payload.background, "null"), ("layer", payload.layers[0], "0"),
                              ("composite", payload.composite, "null")]:
        safe.accept_blobs(blob(kind, open(file.path, "rb").read(), index))
    value = safe.preprocess(EditorData(id="abc123"))
    assert same_value(value, plain.preprocess(payload))
    assert "abc123" not in safe.blob_storage   # taken by its event


def test_64_megapixel_layer_is_refused_from_its_header_in_well_under_a_second(pad, tmp_path, monkeypatch):
    huge = io.BytesIO()
    Image.new("1", (8000, 8000)).save(huge, "PNG")   # 64 MP that compresses to a few kB
    payload = drawing(tmp_path, layers=[huge.getvalue()])
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size))
    start = time.perf_counter()
    with pytest.raises(gr.Error, match="layer 1 was refused: This image is 8000×8000 = 64 megapixels") as info:
        pad.preprocess(payload)
    assert time.perf_counter() - start < 1.0 and decoded == []
    assert info.value.print_exception is False   # a refusal, not a bug: no traceback in the log


def test_layer_larger_than_the_canvas_allows_is_refused(pad, tmp_path):
    with pytest.raises(gr.Error, match=f"layer 1 is 2000×2000 pixels; the canvas is {CANVAS}×{CANVAS}"):
        pad.preprocess(drawing(tmp_path, layers=[encoded(canvas(size=2000))]))


def test_layers_of_different_sizes_are_refused(pad, tmp_path):
    with pytest.raises(gr.Error, match="differ in size.*layer 2 300×300"):
        pad.preprocess(drawing(tmp_path, layers=[encoded(canvas()), encoded(canvas(size=300))]))


def test_more_layers_than_the_limit_are_refused(pad, tmp_path):
    layers = [encoded(canvas())] * (SafeSketchpad.MAX_LAYERS + 1)
    with pytest.raises(gr.Error, match=f"{SafeSketchpad.MAX_LAYERS + 1} layers; at most {SafeSketchpad.MAX_LAYERS}"):
        pad.preprocess(drawing(tmp_path, layers=layers))


def test_tiff_layer_is_refused_naming_the_format(pad, tmp_path):
    with pytest.raises(gr.Error, match="layer 1 was refused: This is a TIFF file.*PNG, WebP or JPEG"):
        pad.preprocess(drawing(tmp_path, layers=[encoded(canvas(), "TIFF")]))


def test_truncated_layer_is_refused_as_not_an_image(pad, tmp_path):
    with pytest.raises(gr.Error, match="layer 1 was refused: This file is not an image"):
        pad.preprocess(drawing(tmp_path, layers=[encoded(canvas(), "PNG")[:40]]))


def test_untouched_pad_is_still_an_empty_value(pad):
    assert pad.preprocess(None) is None
    assert pad.preprocess(EditorData()) == {"background": None, "layers": [], "composite": None}
    assert pad.preprocess(EditorData(id="never-sent")) == {"background": None, "layers": [], "composite": None}


# ----------------------------------------------------------------------------- accept_blobs

def test_accept_blobs_refuses_a_huge_index_and_allocates_nothing(pad):
    tracemalloc.start()
    try:
        with pytest.raises(HTTPException) as info:
            pad.accept_blobs(blob("layer", encoded(canvas()), index="30000000"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.status_code == 400 and "index must be a layer number" in info.value.detail
    assert peak < 5_000_000 and pad.blob_storage == {}   # Gradio's own code allocates 240 MB here


@pytest.mark.parametrize("fields, status, words", [
    ({"type": "everything"}, 400, "type must be one of"),
    ({"index": "-1", "type": "layer"}, 400, "index must be"),
    ({"index": "3", "type": "background"}, 400, "only for layers"),
    ({"id": "x" * 65}, 400, "id must be"),
    ({"id": None}, 400, "id must be"),
])
def test_accept_blobs_refuses_malformed_fields(pad, fields, status, words):
    data = blob("background", encoded(canvas()))
    data.data.update(fields)
    with pytest.raises(HTTPException) as info:
        pad.accept_blobs(data)
    assert info.value.status_code == status and words in info.value.detail


def test_accept_blobs_refuses_oversized_and_non_canvas_files(pad):
    with pytest.raises(HTTPException) as info:
        pad.accept_blobs(blob("composite", b"\x89PNG" + bytes(pad.max_blob_bytes)))
    assert info.value.status_code == 413
    with pytest.raises(HTTPException, match="TIFF"):
        pad.accept_blobs(blob("composite", encoded(canvas(), "TIFF")))
    with pytest.raises(HTTPException, match="2000×2000"):
        pad.accept_blobs(blob("composite", encoded(canvas(size=2000))))
    assert pad.blob_storage == {}


def test_accept_blobs_store_keeps_only_the_newest_entries(pad):
    data = encoded(canvas())
    for i in range(SafeSketchpad.MAX_PENDING + 20):
        pad.accept_blobs(blob("composite", data, blob_id=f"id{i}"))
    assert len(pad.blob_storage) == SafeSketchpad.MAX_PENDING
    assert f"id{SafeSketchpad.MAX_PENDING + 19}" in pad.blob_storage and "id0" not in pad.blob_storage


# ----------------------------------------------------------------------------- through a launched server

@pytest.fixture(scope="module")
def server():
    from starlette.middleware import Middleware

    with gr.Blocks() as demo:
        pad = SafeSketchpad(**SETTINGS)
        out = gr.Textbox()
        pad.change(lambda v: str(None if ink_mask(v) is None else ink_mask(v).shape), pad, out, api_name="shape")
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, ssr_mode=False,
                max_file_size="10mb", app_kwargs={"middleware": [Middleware(BodyLimit)]})
    try:
        yield demo.local_url.rstrip("/"), pad
    finally:
        demo.close()


def post_blob(url: str, pad, index: str, data: bytes, **extra) -> httpx.Response:
    fields = {"component_id": str(pad._id), "session_hash": "attacker", "fn_name": "accept_blobs",
              "type": "layer", "index": index, "id": "x"} | extra
    return httpx.post(f"{url}/gradio_api/component_server/", data=fields, files={"file": ("layer_0.png", data)},
                      timeout=60)


def test_huge_accept_blobs_index_through_the_server_is_refused_and_memory_stays_flat(server):
    url, pad = server
    post_blob(url, pad, "0", encoded(canvas()))           # warm the route up before measuring
    before = rss_mb(os.getpid())
    response = post_blob(url, pad, "30000000", encoded(canvas()))
    grown = rss_mb(os.getpid()) - before
    assert response.status_code == 400 and "index must be a layer number" in response.json()["detail"]
    assert grown <= 50, f"RSS grew {grown:.0f} MB"


def test_oversized_component_server_body_is_refused_before_it_is_read(server):
    url, pad = server
    response = post_blob(url, pad, "0", os.urandom(9 << 20))
    assert response.status_code == 413 and "Request body over" in response.text


def test_drawing_through_the_api_still_works(server, tmp_path):
    from gradio_client import Client, handle_file

    url, _ = server
    paths = {}
    for name, array in [("background", canvas()), ("layer", canvas(stroke=True)), ("composite", canvas())]:
        paths[name] = tmp_path / f"{name}.png"
        paths[name].write_bytes(encoded(array))
    client = Client(url, download_files=False, verbose=False, analytics_enabled=False)
    value = {"background": handle_file(str(paths["background"])), "layers": [handle_file(str(paths["layer"]))],
             "composite": handle_file(str(paths["composite"])), "id": None}
    assert client.predict(value, api_name="/shape") == f"({CANVAS}, {CANVAS})"


def test_drawing_sent_like_the_browser_through_accept_blobs_still_works(server):
    """The 6.31 frontend posts each canvas file to accept_blobs under a fresh id, then sends only the id."""
    from gradio_client import Client

    url, pad = server
    black = canvas()
    black[..., 3] = 255
    for kind, array, index in [("background", black, "null"), ("composite", black, "null"),
                               ("layer", canvas(stroke=True), "0")]:
        response = post_blob(url, pad, index, encoded(array), type=kind, id="k3j9x0")
        assert response.status_code == 200, response.text
    client = Client(url, download_files=False, verbose=False, analytics_enabled=False)
    value = {"background": None, "layers": [], "composite": None, "id": "k3j9x0"}
    assert client.predict(value, api_name="/shape") == f"({CANVAS}, {CANVAS})"
