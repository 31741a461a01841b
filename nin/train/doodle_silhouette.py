"""A Fashion-MNIST image's own silhouette, simplified to the polygon a person who glanced at it would draw
(nin/train/doodles.py draws it), and whether that polygon still shows its class.

`simplified` follows the silhouette's outer edge and keeps the 8-16 corners that carry most of its shape: each
new corner is the edge point farthest from the polygon so far, so a sleeve's tip, an armpit or the notch
between trouser legs comes before a bump in a hem.

`keeps_its_class` turns a polygon away when it no longer says which class it is. Cut down to a few corners, or
photographed with the sleeves down along the body, many silhouettes become an oval or a rounded box; trained
on those, the network learns that a blob is a coat, a pullover, a T-shirt, a dress and a bag at once, and then
reads people's jackets and sweaters as whatever blob it meets. So a polygon must have enough corners, cover
the silhouette closely (IoU), and show what a person draws to say the class: sleeves that stand out from the
body (held out, or hanging apart from it) for the sleeved tops, two legs for trousers, a dress that narrows
above its hem, a bag that is a box, a low shoe for a sneaker. A sandal's straps are openings that no outline
of its edge shows, so a sandal never comes from its silhouette. A polygon turned away is replaced by the
class's template (nin/train/doodles.py); most coats and pullovers are, as the dataset photographs them with
the sleeves down. `with_details` adds the lines inside that tell a coat, a shirt and a pullover apart.
Pure numpy and PIL; deterministic: the same image and generator state give the same polygon and verdict.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from nin.names import CLASS_NAMES
from nin.train.doodle_hand import Point, Stroke

TRACE_SIDE = 56  # the silhouette's edge is followed at twice the image's side: corners fall between its pixels
MIN_CORNERS = 8  # fewer distinct corners than this is a blob, whatever it covers
MIN_IOU = 0.75  # the filled polygon against the silhouette (holes such as a bag's handle count as background)
SLEEVED = ("T-shirt/top", "Pullover", "Coat", "Shirt")

# Clockwise (y down) from west: the Moore neighbourhood, in the order the edge follower scans it.
_AROUND = ((0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1))


def silhouette(image: np.ndarray) -> np.ndarray:
    """A Fashion-MNIST image uint8 [28, 28] -> its garment as a mask at TRACE_SIDE (bilinear, so the edge is
    smooth), bool [TRACE_SIDE, TRACE_SIDE]: pixels above 15% of the image's brightest."""
    big = Image.fromarray(np.asarray(image, dtype=np.uint8)).resize((TRACE_SIDE, TRACE_SIDE),
                                                                    Image.Resampling.BILINEAR)
    return np.asarray(big) > 0.15 * max(1, int(np.asarray(image).max()))


def simplified(image: np.ndarray, rng: np.random.Generator) -> list[Stroke]:
    """A Fashion-MNIST image's silhouette as one closed polygon of 8-16 corners (in the unit box, y down, the
    first corner repeated at the end), as drawn by someone who glanced at it. The outline is the edge of the
    silhouette's largest part, holes filled. [] when the image holds too little garment to draw."""
    mask = silhouette(image)
    labels, count = ndimage.label(mask)
    if count == 0:
        return []
    largest = 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    part = ndimage.binary_fill_holes(labels == largest)
    if part.sum() < 80:  # 20 pixels of the 28 px image
        return []
    edge = _edge(part)
    corners = _corners(edge, int(rng.integers(8, 17)))
    points = [((x + 0.5) / TRACE_SIDE, (y + 0.5) / TRACE_SIDE) for y, x in edge[corners]]
    return [points + [points[0]]]


def _edge(mask: np.ndarray) -> np.ndarray:
    """The outer edge of a connected mask as its boundary pixels in order, int [N, 2] (row, column): the
    Moore-neighbour trace, from the topmost-leftmost pixel round until it would take its first step again."""
    padded = np.pad(mask, 1)
    ys, xs = np.nonzero(padded)
    start = (int(ys[0]), int(xs[0]))  # its western neighbour is background
    path, here, came_from = [start], start, 0
    first_step = None
    for _ in range(4 * padded.size):
        for turn in range(1, 9):
            k = (came_from + turn) % 8
            step = (here[0] + _AROUND[k][0], here[1] + _AROUND[k][1])
            if padded[step]:
                break
        else:
            break  # a single pixel
        before = _AROUND[(k - 1) % 8]
        came_from = _AROUND.index((here[0] + before[0] - step[0], here[1] + before[1] - step[1]))
        if here == start:
            if first_step == step:
                break
            first_step = first_step or step
        here = step
        path.append(here)
    edge = np.array(path[:-1] if len(path) > 1 else path) - 1
    return edge


def _corners(edge: np.ndarray, count: int) -> np.ndarray:
    """Indices (in order along the edge) of `count` corners of a closed edge, greedily: the two points farthest
    apart, then again and again the edge point farthest from the polygon's side that spans it."""
    points = edge.astype(np.float64)
    n = len(points)
    if n <= count:
        return np.arange(n)
    a = int(np.argmax(((points - points.mean(0)) ** 2).sum(1)))
    b = int(np.argmax(((points - points[a]) ** 2).sum(1)))
    corners = sorted({a, b})
    while len(corners) < count:
        best, best_at = -1.0, -1
        for i, start in enumerate(corners):
            stop = corners[(i + 1) % len(corners)]
            span = np.arange(start + 1, stop if stop > start else stop + n) % n
            if not len(span):
                continue
            d = _distance(points[span], points[start], points[stop])
            j = int(np.argmax(d))
            if d[j] > best:
                best, best_at = float(d[j]), int(span[j])
        if best_at < 0:
            break
        corners = sorted(corners + [best_at])
    return np.array(corners)


def _distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances of points p [N, 2] from the segment a-b."""
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    return np.hypot(*(p - a - t[:, None] * ab).T)


# ----------------------------------------------------------------------------- does it still show its class?

def filled(polygon: Stroke, side: int = TRACE_SIDE) -> np.ndarray:
    """A polygon in the unit box, filled, as a mask bool [side, side]."""
    canvas = Image.new("1", (side, side), 0)
    ImageDraw.Draw(canvas).polygon([(x * side, y * side) for x, y in polygon], fill=1, outline=1)
    return np.asarray(canvas, dtype=bool)


def rows(shape: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A filled shape's width profile, top to bottom over its height: each row's span (first to last pixel),
    and how many gaps inside that span are at least 6% of the widest span wide (a sleeve held apart from the
    body leaves one; a notch narrower than that closes under a fat brush)."""
    kept = shape[shape.any(axis=1)]
    if not len(kept):
        return np.zeros(0), np.zeros(0, dtype=int)
    columns = np.arange(shape.shape[1])
    first = np.where(kept, columns, shape.shape[1]).min(axis=1)
    last = np.where(kept, columns, -1).max(axis=1)
    span = (last - first + 1).astype(np.float64)
    wide = max(2, int(np.ceil(0.06 * span.max())))
    gaps = np.zeros(len(kept), dtype=int)
    for i, row in enumerate(kept):
        inside = ~row[first[i]:last[i] + 1]
        edges = np.diff(np.concatenate([[0], inside.astype(np.int8), [0]]))
        gaps[i] = int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1) >= wide).sum())
    return span, gaps


def _part(values: np.ndarray, start: float, stop: float) -> np.ndarray:
    """The rows from `start` to `stop` of the height (shares, 0 = top)."""
    n = len(values)
    return values[int(start * n):max(int(start * n) + 1, int(stop * n))]


def has_sleeves(shape: np.ndarray) -> bool:
    """Sleeves stand out: held out (below the widest row of the shape's top half, within 30% of the height, the
    span drops by 30%: from the cuffs to the armpits, not a body that narrows slowly to its hem), or hanging
    apart from the body (a sixth of its rows have a wide gap on both sides of the body)."""
    span, gaps = rows(shape)
    n = len(span)
    if n < 8:
        return False
    widest = int(np.argmax(span[:max(1, int(0.5 * n))]))
    below = span[widest:widest + max(2, int(0.3 * n)) + 1]
    return bool(below.min() <= 0.7 * span[widest] or (gaps >= 2).mean() >= 1 / 6)


def has_legs(shape: np.ndarray) -> bool:
    """Two legs: a wide gap between them in most of the shape's lower half."""
    _, gaps = rows(shape)
    return len(gaps) >= 8 and bool((_part(gaps, 0.5, 1.0) >= 1).mean() >= 0.5)


def is_dress(shape: np.ndarray) -> bool:
    """Taller than wide, widest at (or nearly at) the hem, and narrower above it (at the waist or the bodice):
    an oval is narrow at both ends, a dress only at the top."""
    span, _ = rows(shape)
    if len(span) < 8:
        return False
    hem = float(_part(span, 0.85, 1.0).max())
    return bool(len(span) >= 1.1 * span.max() and hem >= 0.9 * span.max()
                and _part(span, 0.1, 0.6).min() <= 0.8 * hem)


def is_bag(shape: np.ndarray) -> bool:
    """A box: filling 90% of its bounding box (an oval fills 79%, and a rounded box drawn by a wobbly hand is
    one), not taller than 1.3 times its width. A handle filled in with the body is no handle to the eye, so
    it does not count: bags with handles come from the template."""
    span, _ = rows(shape)
    return bool(len(span) >= 8 and shape.sum() >= 0.9 * len(span) * span.max() and len(span) <= 1.3 * span.max())


def is_low_shoe(shape: np.ndarray) -> bool:
    """A sneaker from the side: at most 0.7 times as tall as it is long."""
    span, _ = rows(shape)
    return len(span) >= 4 and len(span) <= 0.7 * span.max()


def never(shape: np.ndarray) -> bool:
    """For a sandal: what makes it one is its straps, openings in the silhouette that an outline of its outer
    edge cannot show; that outline is a low shoe, a sneaker. Sandals always come from the template."""
    return False


_SHOWS_CLASS = {**{name: has_sleeves for name in SLEEVED}, "Trouser": has_legs, "Dress": is_dress,
                "Bag": is_bag, "Sneaker": is_low_shoe, "Sandal": never}


def keeps_its_class(polygon: Stroke, image: np.ndarray, label: int) -> bool:
    """Whether a simplified polygon (from `simplified(image, ...)`) still shows class `label`: at least
    MIN_CORNERS distinct corners, IoU with the silhouette (its holes as background) at least MIN_IOU, and the
    class's own shape (`_SHOWS_CLASS`: sleeves, legs, a dress's flare, a bag's box, a low shoe)."""
    corners: set[Point] = {(round(x, 4), round(y, 4)) for x, y in polygon}
    if len(corners) < MIN_CORNERS:
        return False
    shape, mask = filled(polygon), silhouette(image)
    iou = (shape & mask).sum() / max(1, (shape | mask).sum())
    if iou < MIN_IOU:
        return False
    check = _SHOWS_CLASS.get(CLASS_NAMES[int(label)])
    return check is None or check(shape)


def with_details(polygon: Stroke, label: int, rng: np.random.Generator) -> list[Stroke]:
    """The polygon and the lines a person adds inside it to say the class, where the outline alone cannot:
    a coat's opening from collar to hem, a shirt's button line under a pointed collar, sometimes a
    pullover's hem band. The outline of a coat, a shirt and a pullover with the sleeves down is nearly the
    same; these lines are what tells them apart, in the dataset's photos as in people's doodles."""
    name = CLASS_NAMES[int(label)]
    if name not in ("Coat", "Shirt", "Pullover"):
        return [polygon]
    shape = filled(polygon)
    ys = np.flatnonzero(shape.any(axis=1))
    top, bottom = int(ys[0]), int(ys[-1])
    height = bottom - top + 1
    columns = np.arange(shape.shape[1])
    lower = shape[top + height // 2:bottom + 1]
    lower = lower[lower.any(axis=1)]
    middle = float(np.median((np.where(lower, columns, 10**6).min(1) + np.where(lower, columns, -1).max(1)) / 2))
    x = (middle + 0.5) / TRACE_SIDE
    y0, y1 = (top + 0.5) / TRACE_SIDE, (bottom + 0.5) / TRACE_SIDE
    h = y1 - y0
    if name == "Coat":
        return [polygon, [(x, y0 + rng.uniform(0.0, 0.1) * h), (x, y1)]]
    if name == "Shirt":
        neck, depth = rng.uniform(0.05, 0.08), rng.uniform(0.08, 0.14) * h
        collar = [(x - neck, y0), (x, y0 + depth), (x + neck, y0)]
        return [polygon, [(x, y0 + depth), (x, y1)], collar]
    if rng.random() < 0.5:  # a pullover's hem band, across the body's run at that height
        row = min(bottom, top + int(rng.uniform(0.86, 0.92) * height))
        run = _run_at(shape[row], int(round(middle)))
        if run is not None:
            y = (row + 0.5) / TRACE_SIDE
            return [polygon, [((run[0] + 0.5) / TRACE_SIDE, y), ((run[1] + 0.5) / TRACE_SIDE, y)]]
    return [polygon]


def _run_at(row: np.ndarray, column: int) -> tuple[int, int] | None:
    """The first and last column of the run of set pixels in `row` that holds `column`; None if it is unset."""
    if not 0 <= column < len(row) or not row[column]:
        return None
    left, right = column, column
    while left > 0 and row[left - 1]:
        left -= 1
    while right < len(row) - 1 and row[right + 1]:
        right += 1
    return left, right


def silhouette_doodle(image: np.ndarray, label: int, rng: np.random.Generator) -> list[Stroke]:
    """The strokes of a doodle drawn from the image's own silhouette: the simplified polygon and its class's
    inner lines; [] when there is too little garment or the polygon no longer shows its class (the caller
    draws the class's template instead)."""
    strokes = simplified(image, rng)
    if not strokes or not keeps_its_class(strokes[0], image, label):
        return []
    return with_details(strokes[0], label, rng)
