"""`python -m nin.dev.make_examples`: regenerate the example gallery shipped in nin/examples/.

Two real official test images per class (the first two of each class in t10k order, enlarged 4x with
pixel replication so thumbnails are visible; a 4x4 box average gives the original back exactly), one of
them also as a "product photo" (dark on white, off-centre, JPEG) to show the negation path, and a few
outline drawings, as people draw them, for the sketchpad.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from nin.data import load_fashion_mnist
from nin.model import CLASS_NAMES, class_slug
from nin.serve.pipeline import EXAMPLES_DIR

PER_CLASS = 2


def official_examples(out: Path, data_dir: str | None) -> list[Path]:
    data = load_fashion_mnist(data_dir)
    labels = data.test_labels.numpy()
    paths = []
    for c, name in enumerate(CLASS_NAMES):
        for k, index in enumerate(np.flatnonzero(labels == c)[:PER_CLASS]):
            image = data.test_images[index].numpy()
            path = out / f"test{index:05d}_{class_slug(name)}.png"
            Image.fromarray(image).resize((112, 112), Image.Resampling.NEAREST).save(path, optimize=True)
            paths.append(path)
            if k == 0 and c in (0, 7, 8):  # a few "product photos": negated, enlarged, off-centre, JPEG
                photo = Image.new("L", (300, 240), 255)
                photo.paste(Image.fromarray(255 - image).resize((168, 168), Image.Resampling.BICUBIC), (110, 40))
                path = out / f"photo{index:05d}_{class_slug(name)}.jpg"
                photo.convert("RGB").save(path, quality=88)
                paths.append(path)
    return paths


DRAWINGS = Path(__file__).resolve().parents[2] / "tests" / "data" / "outline_drawings"
DRAWN = ("t-shirt-top_1.png", "trouser_1.png", "dress_1.png", "sneaker_1.png", "bag_1.png")  # picked by class, not score


def drawings(out: Path) -> list[Path]:
    """Typical drawings, as people draw: outlines. Taken from the outline-drawing test set (the first,
    clean drawing of five classes) and stored as the sketchpad holds a drawing, black ink on a white
    280x280 canvas, because these examples load into the sketchpad (the page shows it inverted)."""
    paths = []
    for name in DRAWN:
        ink = Image.open(DRAWINGS / name).convert("L")
        path = out / f"drawing_{name.removesuffix('_1.png')}.png"
        Image.eval(ink, lambda v: 255 - v).save(path, optimize=True)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="directory with the four official Fashion-MNIST files")
    parser.add_argument("--out", default=str(EXAMPLES_DIR), help="where to write the examples")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = official_examples(out, args.data_dir) + drawings(out)
    print(f"wrote {len(paths)} examples to {out}")


if __name__ == "__main__":
    main()
