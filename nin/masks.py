"""Binary-mask operations: dilation, flood fill, region labels, thinning, and rays cast across a mask.

The canvas path (nin.ink) runs these on every drawing: live while the pen moves, and on every drawing that
training makes. So each is a few whole-array passes or one call into SciPy's C, never a Python loop over
pixels, on masks of about 140 x 140 (bool [H, W]; outside the image counts as empty). Flood fill and region
labels are scipy.ndimage.label; dilation, thinning and rays are numpy, which measured faster than
scipy.ndimage's filters on masks this small. Each is exact, not an approximation: tests/test_masks.py checks
each against its plain definition, so making one faster never changes what the network is sent.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# ----------------------------------------------------------------------------- dilation


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1)-square, nothing outside the image: the same as r rounds of a 3x3 max."""
    return _square(mask, radius, outside=False)


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary erosion by a (2r+1)-square, with outside the image counting as set (so a mask that fills the
    image stays whole): the same as r rounds of a 3x3 min."""
    return _square(mask, radius, outside=True)


def _square(mask: np.ndarray, radius: int, outside: bool) -> np.ndarray:
    """Whether any (outside=False: dilation) or every (True: erosion) pixel within `radius` along rows and along
    columns is set, `outside` beyond the image.

    The square is separable, along rows then along columns, and each pass doubles its window per step, so a
    radius costs about 2 log2(2r+1) shifted ORs (ANDs) instead of the 8r of r rounds. Every step is a shift of
    one contiguous array (by 1, 2, 4 ... pixels along rows, by as many rows along columns): no transposes.
    """
    if radius <= 0:
        return mask.copy()
    h, w = mask.shape
    # A window wider than the image covers all of it either way; margins of `outside` let every window start at 0.
    ry, rx = min(radius, h - 1), min(radius, w - 1)
    padded = np.full((h + 2 * ry, w + 2 * rx), outside)
    padded[ry:ry + h, rx:rx + w] = mask
    combine = np.logical_and if outside else np.logical_or
    # Along rows on the flattened image: a window starting in a row ends in it, so rows never mix.
    span = _widen(padded.ravel(), 2 * rx + 1, combine, 1)
    rows = np.empty((h + 2 * ry, w), dtype=bool)  # contiguous: the pass along columns shifts it by whole rows
    combine(padded[:, :w], padded[:, 2 * rx + 1 - span:2 * rx + 1 - span + w], out=rows)
    span = _widen(rows.ravel(), 2 * ry + 1, combine, w)
    return combine(rows[:h], rows[2 * ry + 1 - span:2 * ry + 1 - span + h])


def _widen(flat: np.ndarray, size: int, combine, step: int) -> int:
    """Each element of `flat` comes to hold the OR (AND) of the `span` elements `step` apart from it onwards,
    for the largest power of two `span` <= size, which it returns: two windows of `span` >= size / 2, one at
    each end, cover a whole window of `size`. Changes `flat`."""
    span = 1
    while 2 * span <= size:
        combine(flat[:-span * step], flat[span * step:], out=flat[:-span * step])
        span *= 2
    return span


# ----------------------------------------------------------------------------- flood fill and regions

FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)  # the cross: a pixel and its 4 edge neighbours


def outside(walls: np.ndarray) -> np.ndarray:
    """Pixels reachable from the image border without crossing `walls` (4-connected flood fill)."""
    out = np.ones_like(walls)
    # Beyond the walls' box everything is free and joined to the image border, the one-pixel ring around the box
    # too: so only the box and that ring are labelled, and a region there is outside when it touches their edge
    # (the ring, or the image border where the box meets it). A drawing's box is about half the image.
    box = _box(walls, 1)
    if box is None:
        return out
    labels, count = ndimage.label(~walls[box], FOUR_CONNECTED)
    keep = np.zeros(count + 1, dtype=bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        keep[edge] = True
    keep[0] = False  # the walls
    out[box] = keep[labels]
    return out


def grow(seed: np.ndarray, within: np.ndarray) -> np.ndarray:
    """The pixels of `within` 4-connected to `seed`: the whole regions of `within` that hold a seed pixel."""
    labels, count = ndimage.label(within, FOUR_CONNECTED)
    keep = np.zeros(count + 1, dtype=bool)
    keep[labels[seed]] = True
    keep[0] = False  # off `within`
    return keep[labels]


def region_labels(mask: np.ndarray) -> np.ndarray:
    """Each pixel of `mask` numbered by its 4-connected region, int64 (0 off the mask): a region's number is its
    first pixel's flat index + 1."""
    labels, _ = ndimage.label(mask, FOUR_CONNECTED)
    # ndimage.label numbers regions 1, 2, ... in the raster order of their first pixels (tests/test_masks.py
    # holds it to that), so each number first appears where the running maximum rises.
    flat = labels.ravel()
    firsts = np.flatnonzero(np.diff(np.maximum.accumulate(flat), prepend=0))
    return np.concatenate(([0], firsts + 1)).astype(np.int64)[labels]


def regions(mask: np.ndarray, most: int) -> list[np.ndarray] | None:
    """4-connected regions of a mask, largest first (the one whose first pixel comes first on a tie), each as its
    [k, 2] (row, column) indices in row order; None when there are more than `most` (a scribble or noise, not a
    drawing's few areas)."""
    box = _box(mask)  # labelled within the mask's box, about half the image for a drawing's areas
    if box is None:
        return []
    labels, count = ndimage.label(mask[box], FOUR_CONNECTED)
    if count > most:
        return None
    pixels = np.flatnonzero(labels)
    numbers = labels.ravel()[pixels]  # 1..count, numbered in the raster order of each region's first pixel
    sizes = np.bincount(numbers, minlength=count + 1)[1:]
    rows, columns = np.divmod(pixels[np.argsort(numbers, kind="stable")], labels.shape[1])  # region by region
    by_region = np.split(np.column_stack((rows + box[0].start, columns + box[1].start)), np.cumsum(sizes)[:-1])
    return [by_region[i] for i in np.argsort(-sizes, kind="stable")]


# ----------------------------------------------------------------------------- thinning

# A pixel's 3x3 neighbourhood as the bits of one number: what Zhang-Suen thinning and line ends ask of it is
# then a lookup in a table of the 512 ways it can be set, not a dozen array operations per pass.
RING = (1, 2, 5, 8, 7, 6, 3, 0)  # the bits of the 8 neighbours, clockwise from north; bit 4 is the pixel itself


def neighbourhoods(mask: np.ndarray) -> np.ndarray:
    """uint16 [H, W]: bit 3 * (dy + 1) + (dx + 1) set where pixel (y + dy, x + dx) is set, for dy, dx in -1..1
    (outside the image counts as empty)."""
    h, w = mask.shape
    stride = w + 2  # an empty column each side; then neighbours are flat shifts of 1 and of a row
    padded = np.zeros((h + 2) * stride + 2, dtype=np.uint16)
    padded[stride + 1:stride + 1 + h * stride].reshape(h, stride)[:, :w] = mask  # pixel (y, x) at y*stride+x+stride+1
    rows = padded[:-2] | (padded[1:-1] << 1)  # each pixel's row of three, at its flat index - 1
    rows |= padded[2:] << 2
    codes = rows[:-2 * stride] | (rows[stride:-stride] << 3)  # and the rows above and below: at y*stride+x
    codes |= rows[2 * stride:] << 6
    return codes.reshape(h, stride)[:, :w]


def _table(rule) -> np.ndarray:
    """rule(ring: the 8 neighbours as bools, clockwise from north) -> bool, for each neighbourhood code of a
    set pixel (false for an empty one)."""
    return np.array([bool(code >> 4 & 1) and bool(rule([bool(code >> bit & 1) for bit in RING]))
                     for code in range(512)])


def _set(ring: list[bool]) -> int:
    return sum(ring)


def _steps(ring: list[bool]) -> int:
    """Empty-to-set steps going once round the ring."""
    return sum(not ring[i] and ring[(i + 1) % 8] for i in range(8))


def _peelable(ring: list[bool], first: bool) -> bool:
    """Zhang-Suen: a boundary pixel (2-6 neighbours, in one run) that is not a corner its sub-pass keeps."""
    n, e, s, w = ring[0], ring[2], ring[4], ring[6]
    keep = (n and e and s) or (e and s and w) if first else (n and e and w) or (n and s and w)
    return 2 <= _set(ring) <= 6 and _steps(ring) == 1 and not keep


PEEL_FIRST = _table(lambda ring: _peelable(ring, True))
PEEL_SECOND = _table(lambda ring: _peelable(ring, False))
LINE_END = _table(lambda ring: 1 <= _set(ring) <= 2 and _steps(ring) == 1)  # one neighbour, or two that touch


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning: strokes pared to 1 px centre lines, ends and junctions kept."""
    out = np.zeros_like(mask)
    box = _box(mask)  # thinned within the mask's box: the pixels around it are empty, as outside the image is
    if box is None:
        return out
    m = mask[box].copy()
    codes = neighbourhoods(m)
    for _ in range(max(mask.shape)):  # bounded: each pass that changes anything removes pixels
        changed = False
        for peelable in (PEEL_FIRST, PEEL_SECOND):
            peel = np.take(peelable, codes)
            if peel.any():
                m &= ~peel
                codes = neighbourhoods(m)  # only a sub-pass that peels changes them: the last pass needs none
                changed = True
        if not changed:
            break
    out[box] = m
    return out


def ends(centre: np.ndarray) -> np.ndarray:
    """Where a centre line stops: one neighbour, or two that touch (a diagonal step at the tip)."""
    out = np.zeros_like(centre)
    box = _box(centre)
    if box is not None:
        out[box] = np.take(LINE_END, neighbourhoods(centre[box]))
    return out


def _box(mask: np.ndarray, margin: int = 0) -> tuple[slice, slice] | None:
    """The smallest box that holds every set pixel, grown by `margin` each side within the image; None when no
    pixel is set."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    (h, w), m = mask.shape, margin
    return (slice(max(rows[0] - m, 0), min(rows[-1] + 1 + m, h)),
            slice(max(columns[0] - m, 0), min(columns[-1] + 1 + m, w)))


# ----------------------------------------------------------------------------- rays


def first_hits(mask: np.ndarray, ys: np.ndarray, xs: np.ndarray, dys: np.ndarray, dxs: np.ndarray,
               steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rays from pixels (ys[i], xs[i]) along directions (dys[i, j], dxs[i, j]), stepping t = 1..`steps` to the
    pixel (round(y + dy * t), round(x + dx * t)); a ray ends where it leaves the image. A ray's hit is the first
    pixel of `mask` it reaches after it has passed a pixel off the mask (it leaves the stroke it starts on).
    -> (t, row, column) of each origin's nearest hit over its rays, the earliest ray on a tie; t = 0 where no
    ray hits. All rays and steps at once: [origins, rays, steps] arrays, no loop."""
    h, w = mask.shape
    if steps < 1 or len(ys) == 0:
        return np.zeros(len(ys), np.intp), np.zeros(len(ys), np.intp), np.zeros(len(ys), np.intp)
    t = np.arange(1, steps + 1)
    py = np.round(ys[:, None, None] + dys[:, :, None] * t).astype(np.intp)
    px = np.round(xs[:, None, None] + dxs[:, :, None] * t).astype(np.intp)
    alive = np.logical_and.accumulate((py >= 0) & (py < h) & (px >= 0) & (px < w), axis=2)
    on = mask[py.clip(0, h - 1), px.clip(0, w - 1)] & alive
    left = np.logical_or.accumulate(alive & ~on, axis=2)  # at a mask pixel, whether the ray left before it
    hit = on & left
    found = hit.any(axis=2)
    first = np.where(found, hit.argmax(axis=2) + 1, steps + 1)  # t of each ray's first hit
    ray = first.argmin(axis=1)  # the nearest ray, the earliest on a tie
    origin = np.arange(len(ys))
    best = first[origin, ray]
    step = np.minimum(best, steps) - 1  # a valid index where there is no hit; masked below
    hits = best <= steps
    return (np.where(hits, best, 0), np.where(hits, py[origin, ray, step], 0),
            np.where(hits, px[origin, ray, step], 0))
