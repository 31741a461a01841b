"""`python tools/outline_drawings.py`: write the outline-drawing test set to tests/data/outline_drawings/.

People draw garments as outlines, quickly: closed shapes that do not quite close, wobbly lines, strokes of
any width, details added as separate strokes. This set imitates that, three drawings per class on the
sketchpad's 280x280 canvas (white ink on black, like the sketch layer's alpha): a clean outline, a wobbly
one with a different brush, and a hurried one with a gap in the outline. Shoes point left, as in
Fashion-MNIST. The shapes were written once from what the garments look like and are not tuned to the
model; tests/test_preprocess.py scores the app's drawing path on them, with and without filling outlines, and
draws their strokes (strokes.json) with each of the canvas's brushes.
A developer tool: nothing imports it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "outline_drawings"
CANVAS = 280

# class name -> two garments, each a list of strokes (polylines on the 280 px canvas); the first stroke is
# the outline, the others details. Variant 3 is variant 1 drawn in a hurry.
SHAPES: dict[str, list[list[list[tuple[int, int]]]]] = {
    "T-shirt/top": [
        [[(80, 60), (40, 100), (65, 125), (90, 105), (90, 230), (190, 230), (190, 105), (215, 125), (240, 100),
          (200, 60), (165, 70), (140, 80), (115, 70), (80, 60)]],
        [[(95, 50), (45, 85), (60, 120), (95, 100), (95, 240), (185, 240), (185, 100), (220, 120), (235, 85),
          (185, 50), (160, 65), (120, 65), (95, 50)]],
    ],
    "Trouser": [
        [[(95, 40), (185, 40), (200, 245), (160, 245), (140, 100), (120, 245), (80, 245), (95, 40)]],
        [[(90, 30), (190, 30), (195, 250), (150, 250), (141, 90), (130, 250), (85, 250), (90, 30)]],
    ],
    "Pullover": [
        [[(95, 50), (60, 60), (35, 205), (65, 210), (85, 110), (85, 235), (195, 235), (195, 110), (215, 210),
          (245, 205), (220, 60), (185, 50), (140, 62), (95, 50)]],
        [[(100, 45), (55, 70), (40, 220), (70, 222), (90, 120), (90, 240), (190, 240), (190, 120), (210, 222),
          (240, 220), (225, 70), (180, 45), (140, 58), (100, 45)], [(90, 225), (190, 225)]],
    ],
    "Dress": [
        [[(110, 40), (170, 40), (165, 110), (215, 245), (65, 245), (115, 110), (110, 40)]],
        [[(105, 35), (125, 45), (155, 45), (175, 35), (180, 100), (160, 130), (200, 250), (80, 250), (120, 130),
          (100, 100), (105, 35)]],
    ],
    "Coat": [
        [[(95, 35), (60, 45), (30, 235), (60, 240), (80, 110), (80, 255), (200, 255), (200, 110), (220, 240),
          (250, 235), (220, 45), (185, 35), (140, 80), (95, 35)], [(140, 80), (140, 255)]],
        [[(100, 30), (65, 40), (40, 230), (70, 232), (90, 100), (85, 250), (195, 250), (190, 100), (210, 232),
          (240, 230), (215, 40), (180, 30), (150, 30), (140, 60), (130, 30), (100, 30)],
         [(140, 60), (140, 250)], [(125, 120), (125, 125)], [(125, 170), (125, 175)]],
    ],
    "Sandal": [
        [[(25, 195), (250, 185), (255, 205), (25, 215), (25, 195)], [(50, 197), (80, 150), (110, 193)],
         [(130, 191), (165, 140), (205, 188)], [(205, 188), (230, 150), (245, 186)]],
        [[(30, 200), (245, 192), (248, 210), (30, 214), (30, 200)], [(60, 199), (95, 160), (140, 196)],
         [(150, 195), (200, 130), (240, 192)]],
    ],
    "Shirt": [
        [[(95, 50), (60, 60), (35, 205), (65, 210), (85, 110), (85, 235), (195, 235), (195, 110), (215, 210),
          (245, 205), (220, 60), (185, 50), (160, 55), (140, 85), (120, 55), (95, 50)], [(140, 85), (140, 235)],
         [(120, 55), (130, 40), (150, 40), (160, 55)]],
        [[(100, 45), (65, 55), (45, 200), (72, 204), (90, 105), (90, 240), (190, 240), (190, 105), (208, 204),
          (235, 200), (215, 55), (180, 45), (155, 50), (140, 75), (125, 50), (100, 45)],
         [(140, 75), (140, 240)], [(118, 110), (138, 110)]],
    ],
    "Sneaker": [
        [[(25, 205), (30, 170), (90, 150), (135, 115), (190, 110), (215, 125), (255, 130), (255, 205),
          (25, 205)], [(95, 150), (130, 170)], [(115, 135), (150, 155)]],
        [[(20, 210), (25, 180), (80, 160), (130, 125), (185, 120), (200, 140), (250, 140), (258, 212),
          (20, 210)], [(20, 195), (258, 197)]],
    ],
    "Bag": [
        [[(50, 110), (230, 110), (240, 240), (40, 240), (50, 110)], [(100, 110), (105, 60), (175, 60), (180, 110)]],
        [[(40, 120), (240, 120), (220, 245), (60, 245), (40, 120)], [(85, 120), (110, 50), (170, 50), (195, 120)]],
    ],
    "Ankle boot": [
        [[(150, 35), (230, 35), (240, 220), (30, 220), (35, 180), (90, 165), (140, 140), (150, 35)]],
        [[(145, 40), (225, 40), (235, 200), (245, 225), (25, 225), (30, 190), (100, 170), (140, 150),
          (145, 40)], [(150, 60), (215, 60)]],
    ],
}


def resample(points: list[tuple[int, int]], step: float = 6.0) -> np.ndarray:
    """The polyline as points every `step` px, so a wobble can bend straight segments."""
    out = [np.asarray(points[0], float)]
    for a, b in zip(points[:-1], points[1:]):
        a, b = np.asarray(a, float), np.asarray(b, float)
        n = max(1, int(np.linalg.norm(b - a) // step))
        out += [a + (b - a) * t for t in np.linspace(0, 1, n + 1)[1:]]
    return np.stack(out)


def wobble(points: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Smooth random displacement, like a hand that drifts (a moving average of white noise)."""
    if len(points) < 5:  # a dot or a short dash: nothing to bend
        return points
    noise = rng.normal(0, amount, points.shape)
    kernel = np.ones(5) / 5
    smooth = np.stack([np.convolve(noise[:, i], kernel, mode="same") for i in range(2)], axis=1)
    return points + smooth * 2


def draw(strokes, width: int, rng: np.random.Generator, amount: float, gap: bool) -> Image.Image:
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    pen = ImageDraw.Draw(canvas)
    for k, stroke in enumerate(strokes):
        points = wobble(resample(stroke), rng, amount) if amount else resample(stroke)
        if gap and k == 0:  # the outline left open: a hurried stroke stops short of where it started
            points = points[: len(points) - max(2, len(points) // 14)]
        pen.line([tuple(p) for p in points], fill=255, width=width, joint="curve")
    return canvas


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2026)
    labels = {}
    for name, garments in SHAPES.items():
        variants = [(garments[0], 10, 0.0, False), (garments[1], 16, 2.5, False), (garments[0], 7, 3.0, True)]
        for k, (strokes, width, amount, gap) in enumerate(variants):
            file = f"{name.lower().replace('/', '-').replace(' ', '-')}_{k + 1}.png"
            draw(strokes, width, rng, amount, gap).save(OUT / file, optimize=True)
            labels[file] = name
    (OUT / "labels.json").write_text(json.dumps(labels, indent=1) + "\n")
    # The strokes themselves, so a test can draw the same garments with every brush.
    (OUT / "strokes.json").write_text(json.dumps(SHAPES, separators=(",", ":")) + "\n")
    print(f"wrote {len(labels)} drawings to {OUT}")


if __name__ == "__main__":
    main()
