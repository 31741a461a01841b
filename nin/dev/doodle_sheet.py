"""`python -m nin.dev.doodle_sheet`: docs/doodles.png, a contact sheet of what the doodle phase trains on.

Per class, 10 doodles from nin.train.doodles: the ink as drawn on the canvas (white on black), and beside it
what the network sees after the canvas path (28 px, shown enlarged). A reader sees what training sees.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nin.data import load_fashion_mnist
from nin.ink import ink_to_image
from nin.model import CLASS_NAMES
from nin.render.heatmaps import FONT_FILE
from nin.train.doodles import doodle_ink

PER_CLASS = 10
CELL = 70  # px of one picture on the sheet
LABEL_W = 110


def sheet(images: np.ndarray, labels: np.ndarray, seed: int = 0) -> Image.Image:
    """The contact sheet: a row per class, PER_CLASS pairs (ink, network input) per row."""
    rows = len(CLASS_NAMES)
    out = Image.new("RGB", (LABEL_W + PER_CLASS * (2 * CELL + 8), rows * (CELL + 8) + 30), "white")
    pen = ImageDraw.Draw(out)
    font = ImageFont.truetype(str(FONT_FILE), 14)
    pen.text((8, 6), "Doodles the drawing phase trains on: as drawn (left of each pair) and as the network sees "
                     "them (right)", fill="black", font=font)
    rng = np.random.default_rng(seed)
    for c, name in enumerate(CLASS_NAMES):
        y = 30 + c * (CELL + 8)
        pen.text((8, y + CELL // 2 - 8), name, fill="black", font=font)
        pool = np.flatnonzero(labels == c)
        for k in range(PER_CLASS):
            index = int(rng.choice(pool))
            ink = doodle_ink(c, images[index], seed * 1000 + c * PER_CLASS + k)
            seen = ink_to_image(ink).image
            x = LABEL_W + k * (2 * CELL + 8)
            out.paste(Image.fromarray(np.uint8(ink * 255)).resize((CELL, CELL)), (x, y))
            out.paste(Image.fromarray(seen).resize((CELL, CELL), Image.Resampling.NEAREST), (x + CELL, y))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m nin.dev.doodle_sheet", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("docs/doodles.png"), help="where to write the sheet")
    p.add_argument("--seed", type=int, default=0, help="which doodles")
    args = p.parse_args(argv)
    data = load_fashion_mnist()
    sheet(data.train_images.numpy(), data.train_labels.numpy(), args.seed).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
