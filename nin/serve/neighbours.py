"""What the network thinks is similar: the nearest official test images in its feature space and in pixel space.

The feature space is the one block4 reads: pool3's 384 channels averaged over space, compared by cosine
distance. Pixel space is the 28x28 image itself, compared by Euclidean distance on pixels in [0, 1]. Side by
side they show what the network has learnt beyond the raw picture: feature-space neighbours tend to share the
class, pixel-space ones the outline and brightness. The bank of the 10,000 test images' vectors is
precomputed per weight file (nin.serve.explorer_bank). numpy only: the query's vector comes from the caller's
forward pass (nin.serve.explain's pool3), so nothing here runs the network or draws.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from nin.names import CLASS_NAMES

K_MAX = 16  # neighbours one request may ask for
DEFAULT_K = 8
FEATURE_METRIC = "cosine distance between pool3 averaged over space (384 values), 0 = same direction"
PIXEL_METRIC = "Euclidean distance between the 28×28 images, pixels in [0, 1]"


@dataclass(frozen=True)
class Neighbour:
    test_index: int     # into the official test set
    label: int
    distance: float

    def to_json(self) -> dict:
        return {"test_index": self.test_index, "label": self.label, "class_name": CLASS_NAMES[self.label],
                "distance": round(self.distance, 5)}


@dataclass(frozen=True)
class Neighbours:
    """The k nearest official test images to one input, in both spaces, nearest first."""

    k: int
    predicted: int                          # the network's class for the input
    feature_space: tuple[Neighbour, ...]
    pixel_space: tuple[Neighbour, ...]
    left_out: tuple[int, ...]              # test images left out: identical to the input, or excluded by the caller

    @property
    def feature_majority(self) -> int:
        return majority_label([n.label for n in self.feature_space])

    @property
    def pixel_majority(self) -> int:
        return majority_label([n.label for n in self.pixel_space])

    def to_json(self) -> dict:
        return {
            "k": self.k, "predicted": self.predicted, "predicted_name": CLASS_NAMES[self.predicted],
            "feature_space": [n.to_json() for n in self.feature_space],
            "pixel_space": [n.to_json() for n in self.pixel_space],
            "feature_majority": CLASS_NAMES[self.feature_majority],
            "pixel_majority": CLASS_NAMES[self.pixel_majority],
            "left_out": list(self.left_out),
            "metrics": {"feature_space": FEATURE_METRIC, "pixel_space": PIXEL_METRIC},
            "summary": comparison_sentence(self),
        }


def feature_vector(pool3: np.ndarray) -> np.ndarray:
    """float32 [C]: a pool3 output [C, H, W] averaged over space, the vector block4 turns into class maps."""
    return np.asarray(pool3, np.float32).mean(axis=(1, 2))


def majority_label(labels: list[int]) -> int:
    """The most frequent label; a tie goes to the tied label that comes first (the nearest of them)."""
    counts = Counter(labels)
    best = max(counts.values())
    return next(label for label in labels if counts[label] == best)


def _take(distances: np.ndarray, labels: np.ndarray, k: int, skip: set[int]) -> tuple[Neighbour, ...]:
    """The k smallest distances, ties to the lower test index, skipping `skip`."""
    count = min(len(distances), k + len(skip))
    candidates = np.argpartition(distances, count - 1)[:count] if count < len(distances) else np.arange(len(distances))
    order = candidates[np.lexsort((candidates, distances[candidates]))]
    chosen = [int(i) for i in order if int(i) not in skip][:k]
    return tuple(Neighbour(i, int(labels[i]), float(distances[i])) for i in chosen)


def nearest(features: np.ndarray, pixels: np.ndarray, pixel_norms2: np.ndarray, images: np.ndarray,
            labels: np.ndarray, query_feature: np.ndarray, query_image: np.ndarray, k: int, predicted: int,
            exclude: tuple[int, ...] = ()) -> Neighbours:
    """The k nearest bank images to one input in feature space (cosine) and pixel space (Euclidean).

    features: float32 [N, C] of unit length; pixels: float32 [N, 784] in [0, 1] with pixel_norms2 their squared
    lengths; images: uint8 [N, 28, 28]; query_image: uint8 [28, 28]. Test images identical to the input
    (an official test image given back to the app) are left out of both lists, and so is `exclude`: the
    neighbours of an image should not be the image itself.
    """
    if isinstance(k, bool) or not isinstance(k, (int, float, np.integer)) or not float(k).is_integer() \
            or not 1 <= k <= K_MAX:
        raise ValueError(f"k must be a whole number from 1 to {K_MAX}; got {k!r}")
    k = int(k)
    query = np.asarray(query_feature, np.float32)
    query = query / max(float(np.linalg.norm(query)), 1e-12)
    feature_distance = 1.0 - features @ query
    q = np.asarray(query_image, np.uint8).reshape(-1)
    qf = q.astype(np.float32) / 255.0
    pixel_distance = np.sqrt(np.maximum(pixel_norms2 + qf @ qf - 2.0 * (pixels @ qf), 0.0))
    # Identical images: the smallest few pixel distances, compared byte for byte (float rounding is not zero).
    close = np.argpartition(pixel_distance, min(8, len(pixel_distance) - 1))[:9]
    identical = {int(i) for i in close if np.array_equal(images[i].reshape(-1), q)}
    skip = identical | {int(i) for i in exclude}
    return Neighbours(k=k, predicted=int(predicted),
                      feature_space=_take(feature_distance, labels, k, skip),
                      pixel_space=_take(pixel_distance, labels, k, skip),
                      left_out=tuple(sorted(skip)))


def comparison_sentence(result: Neighbours) -> str:
    """One sentence on what the two lists show for this input, from their labels."""
    name = CLASS_NAMES[result.predicted]
    k = result.k
    in_features = sum(n.label == result.predicted for n in result.feature_space)
    in_pixels = sum(n.label == result.predicted for n in result.pixel_space)
    pixel_major = CLASS_NAMES[result.pixel_majority]
    feature_major = CLASS_NAMES[result.feature_majority]
    if in_features > in_pixels and CLASS_NAMES[result.pixel_majority] != name:
        return (f"{in_features} of {k} feature-space neighbours are {name} (the prediction) against {in_pixels} of {k} "
                f"in pixel space, where the most common class is {pixel_major}: the network groups images by what the "
                "garment is, raw pixels by outline and brightness.")
    if in_features > in_pixels:
        return (f"{in_features} of {k} feature-space neighbours are {name} (the prediction) against {in_pixels} of {k} "
                f"in pixel space: the raw pixels alone already point to {name}, and the network's features group the "
                "class more tightly than raw pixels do.")
    if in_features == in_pixels:
        return (f"Both spaces find {in_features} of {k} {name} images (the prediction): for this input the raw "
                "pixels alone already point where the network's features point.")
    return (f"Pixel space finds more {name} images ({in_pixels} of {k}) than the network's feature space ({in_features} "
            f"of {k}, mostly {feature_major}): the network reads this input differently from its raw pixels, a hint "
            "that the prediction is shaky.")


__all__ = ["nearest", "Neighbours", "Neighbour", "feature_vector", "majority_label", "comparison_sentence", "K_MAX",
           "DEFAULT_K", "FEATURE_METRIC", "PIXEL_METRIC"]
