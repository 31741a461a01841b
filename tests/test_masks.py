"""The mask operations of the canvas path (nin/masks.py) equal their plain definitions, written out here pixel by
pixel or round by round, on random masks of many shapes and densities: the fast versions are exact, so the
drawing the network is sent never depends on how they are computed."""

from collections import deque

import numpy as np
import pytest

from nin import masks

SHAPES = [(1, 1), (1, 9), (9, 1), (2, 2), (7, 12), (33, 20), (64, 64)]
DENSITIES = [0.0, 0.05, 0.3, 0.6, 0.95, 1.0]


def random_masks(seed: int = 0):
    """Noise at every density, and blobs and strokes (noise grown by a few rounds), in every shape."""
    rng = np.random.default_rng(seed)
    for shape in SHAPES:
        for density in DENSITIES:
            yield rng.random(shape) < density
        for radius in (1, 2, 4):
            yield dilate_by_rounds(rng.random(shape) < 0.02, radius) & (rng.random(shape) < 0.97)


# ----------------------------------------------------------------------------- the definitions

def shifted(mask: np.ndarray, dy: int, dx: int, outside: bool = False) -> np.ndarray:
    """Each pixel -> the pixel at (y + dy, x + dx); `outside` beyond the image."""
    h, w = mask.shape
    padded = np.pad(mask, 1, constant_values=outside)
    return padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]


def dilate_by_rounds(mask: np.ndarray, radius: int) -> np.ndarray:
    """r rounds of a 3x3 max, nothing outside the image."""
    out = mask.copy()
    for _ in range(radius):
        out = np.any([shifted(out, dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
    return out


def erode_by_rounds(mask: np.ndarray, radius: int) -> np.ndarray:
    """r rounds of a 3x3 min, everything outside the image set."""
    out = mask.copy()
    for _ in range(radius):
        out = np.all([shifted(out, dy, dx, outside=True) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
    return out


def flood(seed: np.ndarray, within: np.ndarray) -> np.ndarray:
    """4-neighbour steps inside `within` from `seed`, until nothing changes."""
    seen = seed & within
    while True:
        grown = (seen | shifted(seen, -1, 0) | shifted(seen, 1, 0) | shifted(seen, 0, -1) | shifted(seen, 0, 1)) & within
        if np.array_equal(grown, seen):
            return seen
        seen = grown


def labels_by_search(mask: np.ndarray) -> np.ndarray:
    """A breadth-first search from each unlabelled pixel in row order; a region is numbered by its first pixel's
    flat index + 1."""
    h, w = mask.shape
    labels = np.zeros(mask.shape, dtype=np.int64)
    for y, x in zip(*np.nonzero(mask)):
        if labels[y, x]:
            continue
        number = y * w + x + 1
        labels[y, x] = number
        queue = deque([(y, x)])
        while queue:
            v, u = queue.popleft()
            for b, a in ((v - 1, u), (v + 1, u), (v, u - 1), (v, u + 1)):
                if 0 <= b < h and 0 <= a < w and mask[b, a] and not labels[b, a]:
                    labels[b, a] = number
                    queue.append((b, a))
    return labels


def along_runs(values: np.ndarray, mask: np.ndarray, reduce) -> np.ndarray:
    """Every run of `mask` pixels along a row given reduce() of its values, one run at a time."""
    out = values.copy()
    for y in range(mask.shape[0]):
        x = 0
        while x < mask.shape[1]:
            end = x
            while end < mask.shape[1] and mask[y, end]:
                end += 1
            if end > x:
                out[y, x:end] = reduce(values[y, x:end])
            x = end + 1
    return out


def sweeps(values: np.ndarray, mask: np.ndarray, reduce) -> np.ndarray:
    """Sweeps along rows then columns, again until nothing changes, at most 2 * max(H, W) times: how the
    flood fill and region labels of the canvas path were bounded before they became scipy.ndimage.label."""
    for _ in range(2 * max(mask.shape)):
        before = values
        values = along_runs(values, mask, reduce)
        values = along_runs(values.T, mask.T, reduce).T
        if np.array_equal(values, before):
            break
    return values


def ring_of(m: np.ndarray, y: int, x: int) -> list[int]:
    """P2..P9 of Zhang and Suen: the 8 neighbours of (y, x) in a padded array, clockwise from north."""
    return [m[y - 1, x], m[y - 1, x + 1], m[y, x + 1], m[y + 1, x + 1], m[y + 1, x], m[y + 1, x - 1], m[y, x - 1],
            m[y - 1, x - 1]]


def transitions(ring: list[int]) -> int:
    """A(P1): 0 -> 1 patterns in P2, P3, ..., P9, P2."""
    return sum(ring[i] == 0 and ring[(i + 1) % 8] == 1 for i in range(8))


def zhang_suen(mask: np.ndarray) -> np.ndarray:
    """Zhang and Suen (1984), "A fast parallel algorithm for thinning digital patterns", pixel by pixel: each
    sub-iteration marks, then deletes; at most max(H, W) passes, as the canvas path has always done."""
    m = np.pad(mask, 1).astype(int)
    for _ in range(max(mask.shape)):
        changed = False
        for first in (True, False):
            marked = []
            for y, x in zip(*np.nonzero(m)):
                p2, _, p4, _, p6, _, p8, _ = ring = ring_of(m, y, x)
                corner = (p2 * p4 * p6, p4 * p6 * p8) if first else (p2 * p4 * p8, p2 * p6 * p8)
                if 2 <= sum(ring) <= 6 and transitions(ring) == 1 and corner == (0, 0):
                    marked.append((y, x))
            for y, x in marked:
                m[y, x] = 0
            changed |= bool(marked)
        if not changed:
            break
    return m[1:-1, 1:-1].astype(bool)


def line_ends(centre: np.ndarray) -> np.ndarray:
    """Pixels with one neighbour, or two that touch, pixel by pixel."""
    m = np.pad(centre, 1).astype(int)
    out = np.zeros_like(centre)
    for y, x in zip(*np.nonzero(m)):
        ring = ring_of(m, y, x)
        out[y - 1, x - 1] = 1 <= sum(ring) <= 2 and transitions(ring) == 1
    return out


def walk(mask: np.ndarray, y: int, x: int, dys, dxs, steps: int) -> tuple[int, int, int]:
    """Each ray step by step, as the canvas path first cast them: (t, row, column) of the nearest hit, or zeros."""
    h, w = mask.shape
    nearest = None
    for dy, dx in zip(dys, dxs):
        off_own_stroke = False
        for t in range(1, steps + 1):
            py, px = int(round(y + dy * t)), int(round(x + dx * t))
            if not (0 <= px < w and 0 <= py < h) or (nearest and t >= nearest[0]):
                break
            if not mask[py, px]:
                off_own_stroke = True
            elif off_own_stroke:
                nearest = (t, py, px)
                break
    return nearest or (0, 0, 0)


# ----------------------------------------------------------------------------- the fast versions equal them

@pytest.mark.parametrize("radius", [0, 1, 2, 3, 5, 8, 40, 70])
def test_dilation_equals_r_rounds_of_a_3x3_max(radius):
    for mask in random_masks():
        assert np.array_equal(masks.dilate(mask, radius), dilate_by_rounds(mask, radius)), (mask.shape, radius)


@pytest.mark.parametrize("radius", [0, 1, 2, 3, 5, 8, 40, 70])
def test_erosion_equals_r_rounds_of_a_3x3_min_with_outside_the_image_set(radius):
    for mask in random_masks(1):
        assert np.array_equal(masks.erode(mask, radius), erode_by_rounds(mask, radius)), (mask.shape, radius)


def test_dilation_and_erosion_leave_their_input_as_it_was_and_return_a_new_mask():
    for mask in random_masks(2):
        kept = mask.copy()
        for radius in (0, 3):
            for operation in (masks.dilate, masks.erode):
                out = operation(mask, radius)
                assert out is not mask and out.shape == mask.shape and out.dtype == bool
        assert np.array_equal(mask, kept)


def test_flood_fill_reaches_what_4_neighbour_steps_within_the_mask_reach():
    rng = np.random.default_rng(3)
    for within in random_masks(3):
        seed = rng.random(within.shape) < 0.01
        assert np.array_equal(masks.grow(seed, within), flood(seed, within)), within.shape


def test_outside_is_what_4_neighbour_steps_from_the_border_reach_without_crossing_walls():
    for walls in random_masks(4):
        border = np.ones_like(walls)
        border[1:-1, 1:-1] = False
        assert np.array_equal(masks.outside(walls), flood(border, ~walls)), walls.shape


def test_region_labels_number_each_4_connected_region_by_its_first_pixel():
    for mask in random_masks(5):
        assert np.array_equal(masks.region_labels(mask), labels_by_search(mask)), mask.shape


def test_regions_are_listed_largest_first_in_row_order_and_none_past_most():
    for mask in random_masks(6):
        labels = labels_by_search(mask)
        numbers, sizes = np.unique(labels[mask], return_counts=True)
        order = sorted(range(len(numbers)), key=lambda i: (-sizes[i], numbers[i]))  # a tie: the first pixel first
        expected = [np.argwhere(labels == numbers[i]) for i in order]
        for most in (0, 1, 5, 1000):
            got = masks.regions(mask, most)
            if len(numbers) > most:
                assert got is None
            else:
                assert len(got) == len(expected) and all(np.array_equal(a, b) for a, b in zip(got, expected))


def maze(cells: int, seed: int) -> np.ndarray:
    """A maze of 1 px corridors carved by a depth-first search: long, winding, turning at nearly every cell."""
    rng = np.random.default_rng(seed)
    side = 2 * cells + 1
    open_ = np.zeros((side, side), bool)
    stack = [(0, 0)]
    open_[1, 1] = True
    while stack:
        y, x = stack[-1]
        options = [(y + dy, x + dx) for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))
                   if 0 <= y + dy < cells and 0 <= x + dx < cells and not open_[2 * (y + dy) + 1, 2 * (x + dx) + 1]]
        if not options:
            stack.pop()
            continue
        v, u = options[rng.integers(len(options))]
        open_[y + v + 1, x + u + 1] = open_[2 * v + 1, 2 * u + 1] = True
        stack.append((v, u))
    return open_


def test_in_a_maze_longer_than_the_old_sweep_bound_fill_and_labels_reach_every_connected_pixel():
    corridors = maze(30, seed=1)  # 61 x 61 px: 145 sweeps reach its far end, the old bound was 122
    seed = np.zeros_like(corridors)
    seed[1, 1] = True
    assert not np.array_equal(sweeps(seed, corridors, np.any), corridors)  # the old bounded sweeps stopped short
    assert np.array_equal(flood(seed, corridors), corridors)  # the maze's corridors are one region ...
    assert np.array_equal(masks.grow(seed, corridors), corridors)  # ... and the fill reaches all of it
    labels = masks.region_labels(corridors)
    assert np.array_equal(labels, labels_by_search(corridors))
    assert set(labels[corridors]) == {1 * 61 + 1 + 1}  # one number: its first pixel's, (1, 1), flat index + 1
    assert np.array_equal(masks.regions(corridors, 1)[0], np.argwhere(corridors))
    entrance = corridors.copy()
    entrance[0, 1] = True  # a door in the maze's wall, above its first corridor
    assert np.array_equal(masks.outside(~entrance), entrance)


def test_each_bit_of_a_neighbourhood_code_is_one_pixel_of_the_3x3_around_it():
    for mask in random_masks(7):
        codes = masks.neighbourhoods(mask)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                assert np.array_equal(codes >> (3 * (dy + 1) + dx + 1) & 1 == 1, shifted(mask, dy, dx))
        ring = [(codes >> bit) & 1 for bit in masks.RING]
        assert np.array_equal(ring[0], shifted(mask, -1, 0)) and np.array_equal(ring[1], shifted(mask, -1, 1))


def test_skeleton_equals_zhang_suen_pixel_by_pixel():
    for mask in random_masks(8):
        assert np.array_equal(masks.skeleton(mask), zhang_suen(mask)), mask.shape


def test_line_ends_are_the_pixels_with_one_neighbour_or_two_that_touch():
    for mask in random_masks(9):
        for centre in (mask, zhang_suen(mask)):
            assert np.array_equal(masks.ends(centre), line_ends(centre)), mask.shape


@pytest.mark.parametrize("steps", [0, 1, 5, 30, 200])
def test_rays_find_the_hit_a_step_by_step_walk_finds(steps):
    rng = np.random.default_rng(steps)
    # Half-pixel steps land exactly between pixels, where rounding half to even decides.
    exact = np.array([[0.5, 1.0], [1.0, 0.5], [-0.5, 1.5], [0.0, -1.0], [1.0, 1.0], [-1.0, 0.0], [0.5, -0.5]])
    for mask in random_masks(10):
        h, w = mask.shape
        n = 12
        ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
        angles = rng.uniform(-np.pi, np.pi, (n, 1)) + np.radians(np.linspace(-15, 15, 7))
        dys, dxs = np.sin(angles), np.cos(angles)
        dys[:3], dxs[:3] = exact[:, 0], exact[:, 1]
        got = masks.first_hits(mask, ys, xs, dys, dxs, steps)
        for i in range(n):
            assert tuple(int(a[i]) for a in got) == walk(mask, ys[i], xs[i], dys[i], dxs[i], steps), (h, w, i)
