"""Binary-mask operations in numpy: dilation, flood fill, region labels, thinning, and rays cast across a mask.

The canvas path (nin.ink) runs these on every drawing: live while the pen moves, and on every drawing that
training makes. So each is a few whole-array passes, never a loop over pixels, on masks of about 140 x 140
(bool [H, W]; outside the image counts as empty). numpy only: no SciPy or OpenCV for the app to install.
Each is exact, not an approximation: tests/test_masks.py checks each against its plain definition, so making
one faster never changes what the network is sent.
"""

from __future__ import annotations

import numpy as np

# ----------------------------------------------------------------------------- dilation


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1)-square, nothing outside the image: the same as r rounds of a 3x3 max.

    The square is separable, a max along rows then along columns, and each pass doubles its window per step, so
    a radius costs about 2 log2(2r+1) shifted ORs instead of the 8r of r rounds.
    """
    if radius <= 0:
        return mask.copy()
    h, w = mask.shape
    # A window wider than the image covers all of it either way; empty margins let every window start at 0.
    ry, rx = min(radius, h - 1), min(radius, w - 1)
    padded = np.zeros((h + 2 * ry, w + 2 * rx), dtype=bool)
    padded[ry:ry + h, rx:rx + w] = mask
    return _window_max(_window_max(padded, rx, w).T, ry, h).T


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary erosion by a (2r+1)-square: dilation's complement, so outside the image counts as set here."""
    return ~dilate(~mask, radius) if radius > 0 else mask.copy()


def _window_max(padded: np.ndarray, radius: int, width: int) -> np.ndarray:
    """Rows padded by `radius` each side -> whether any pixel within `radius` along the row is set, `width` wide.
    Changes `padded`."""
    size, span = 2 * radius + 1, 1
    while 2 * span <= size:  # each pixel comes to hold the OR of the `span` pixels from it onwards
        padded[:, :-span] |= padded[:, span:]
        span *= 2
    # Two windows of `span` >= size / 2, one at each end, cover the whole window.
    return padded[:, :width] | padded[:, size - span:size - span + width]


# ----------------------------------------------------------------------------- flood fill and regions


def outside(walls: np.ndarray) -> np.ndarray:
    """Pixels reachable from the image border without crossing `walls` (4-connected flood fill)."""
    border = np.zeros_like(walls)
    border[0], border[-1], border[:, 0], border[:, -1] = True, True, True, True
    return grow(border, ~walls)


def grow(seed: np.ndarray, within: np.ndarray) -> np.ndarray:
    """The pixels of `within` 4-connected to `seed`.

    Alternating row and column sweeps: along a line, a whole run of free pixels is reached at once when any of
    it is, so a garment outline fills in a handful of sweeps instead of one pixel ring per pass. The sweeps
    work on whole rows of bools (the columns transposed): outside a drawing most of the image is free, and
    there that is cheaper than region_labels' lists of runs.
    """
    h, w = within.shape
    rows, columns = _segments(within), _segments(np.ascontiguousarray(within.T))
    seen = (seed & within).ravel()
    for _ in range(2 * max(within.shape)):  # bounded: each sweep that changes anything adds pixels
        before = np.count_nonzero(seen)
        seen = _spread(seen, rows)
        seen = _spread(seen.reshape(h, w).T.ravel(), columns).reshape(w, h).T.ravel()  # columns as rows
        if np.count_nonzero(seen) == before:
            break
    return seen.reshape(h, w)


def _segments(free: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of `free`, one after another, cut where a row starts or free turns to wall or back: each
    segment's start (flat index), length, and whether it is a run of free pixels."""
    flat = free.ravel()
    new = np.empty(flat.size, dtype=bool)
    new[0] = True
    np.not_equal(flat[1:], flat[:-1], out=new[1:])
    new[::free.shape[1]] = True
    starts = np.flatnonzero(new)
    return starts, np.diff(starts, append=flat.size), flat[starts]


def _spread(seen: np.ndarray, segments: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Every run of free pixels (of _segments) that holds a `seen` pixel, whole; flat in, flat out."""
    starts, lengths, free = segments
    return np.repeat(np.logical_or.reduceat(seen, starts) & free, lengths)


def region_labels(mask: np.ndarray) -> np.ndarray:
    """Each pixel of `mask` numbered by its 4-connected region, int64 (0 off the mask): every pixel starts with
    its flat index + 1 and takes the smallest in its run along rows, then along columns, until nothing changes,
    so a region's number is its first pixel's + 1."""
    labels = np.zeros(mask.shape, dtype=np.int64)
    labels[mask] = _region_numbers(mask)
    return labels


def _region_numbers(mask: np.ndarray) -> np.ndarray:
    """region_labels for the pixels of `mask` only, in row order.

    After a sweep along rows a row run holds one number, after one along columns a column run does: so the
    sweeps work on lists of runs, each a min over the pixels (where a row run crosses a column run) of a run.
    """
    values = np.flatnonzero(mask) + 1
    if len(values) == 0:
        return values
    row_starts, row_run_by_column, column_starts, column_run = _run_graph(mask)
    for _ in range(2 * max(mask.shape)):  # bounded: each sweep that changes anything lowers a number
        rows = np.minimum.reduceat(values, row_starts)
        swept = np.minimum.reduceat(rows[row_run_by_column], column_starts)[column_run]
        if np.array_equal(swept, values):
            break
        values = swept
    return values


def _run_graph(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The runs of `mask` along rows and along columns, and which of each every pixel lies in: (where each row
    run starts in the pixels listed in row order, the row run of each pixel listed in column order, where each
    column run starts in that list, the column run of each pixel listed in row order)."""
    starts, starts_t = mask.copy(), mask.T.copy()  # a run starts at a pixel of the mask after one off it
    starts[:, 1:] &= ~mask[:, :-1]
    starts_t[:, 1:] &= ~mask.T[:, :-1]
    row_run = (np.cumsum(starts) - 1).reshape(mask.shape)
    column_run = (np.cumsum(starts_t) - 1).reshape(mask.T.shape)
    return np.flatnonzero(starts[mask]), row_run.T[mask.T], np.flatnonzero(starts_t[mask.T]), column_run.T[mask]


def regions(mask: np.ndarray, most: int) -> list[np.ndarray] | None:
    """4-connected regions of a mask, largest first (the one whose first pixel comes first on a tie), each as its
    [k, 2] (row, column) indices in row order; None when there are more than `most` (a scribble or noise, not a
    drawing's few areas)."""
    numbers = _region_numbers(mask)
    counts = np.bincount(numbers)
    found = np.flatnonzero(counts)
    if len(found) > most:
        return None
    nth = np.cumsum(counts > 0, dtype=np.min_scalar_type(len(found)))[numbers] - 1  # each pixel's region, 0..n-1
    by_region = np.split(np.flatnonzero(mask)[np.argsort(nth, kind="stable")], np.cumsum(counts[found])[:-1])
    return [np.column_stack(np.unravel_index(by_region[i], mask.shape))
            for i in np.argsort(-counts[found], kind="stable")]


# ----------------------------------------------------------------------------- thinning

# A pixel's 3x3 neighbourhood as the bits of one number: what Zhang-Suen thinning and line ends ask of it is
# then a lookup in a table of the 512 ways it can be set, not a dozen array operations per pass.
RING = (1, 2, 5, 8, 7, 6, 3, 0)  # the bits of the 8 neighbours, clockwise from north; bit 4 is the pixel itself


def neighbourhoods(mask: np.ndarray) -> np.ndarray:
    """uint16 [H, W]: bit 3 * (dy + 1) + (dx + 1) set where pixel (y + dy, x + dx) is set, for dy, dx in -1..1
    (outside the image counts as empty)."""
    h, w = mask.shape
    padded = np.zeros((h + 2, w + 2), dtype=np.uint16)
    padded[1:-1, 1:-1] = mask
    rows = padded[:, :-2] | (padded[:, 1:-1] << 1) | (padded[:, 2:] << 2)  # each pixel's row of three
    return rows[:-2] | (rows[1:-1] << 3) | (rows[2:] << 6)


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
    for _ in range(max(mask.shape)):  # bounded: each pass that changes anything removes pixels
        changed = False
        for peelable in (PEEL_FIRST, PEEL_SECOND):
            peel = np.take(peelable, neighbourhoods(m))
            if peel.any():
                m &= ~peel
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


def _box(mask: np.ndarray) -> tuple[slice, slice] | None:
    """The smallest box that holds every set pixel; None when none is."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    return slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1)


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
