"""The prior-source interface and canonical frame normalisation."""

from __future__ import annotations

import abc
import re

import numpy as np


def canonicalize(points: np.ndarray) -> np.ndarray:
    """Centre points (N,3) on their bounding-box centre and scale the farthest point to radius 1 (unitless)."""
    points = np.asarray(points, dtype=np.float64)
    centre = (points.min(0) + points.max(0)) / 2.0
    centred = points - centre
    radius = np.linalg.norm(centred, axis=1).max()
    return (centred / max(radius, 1e-12)).astype(np.float32)


def farthest_point_resample(points: np.ndarray, num_points: int, seed: int = 0) -> np.ndarray:
    """Exactly `num_points` points from (N,3): farthest-point subset when N >= num_points, else repeats."""
    rng = np.random.default_rng(seed)
    n = points.shape[0]
    if n < num_points:
        extra = rng.choice(n, num_points - n, replace=True)
        return np.concatenate([points, points[extra]], 0)
    chosen = np.empty(num_points, dtype=np.int64)
    chosen[0] = rng.integers(n)
    dist = np.full(n, np.inf)
    for k in range(1, num_points):
        dist = np.minimum(dist, ((points - points[chosen[k - 1]]) ** 2).sum(1))
        chosen[k] = int(dist.argmax())
    return points[chosen]


def category_slug(category: str) -> str:
    """File-system-safe lower-case name of a category text."""
    return re.sub(r"[^a-z0-9]+", "_", category.lower()).strip("_") or "unknown"


class PriorSource(abc.ABC):
    """A source of object shape priors: `points(category)` returns (N,3) in the canonical frame."""

    name: str = "prior"

    def __init__(self, num_points: int) -> None:
        self.num_points = num_points
        self._memory: dict[str, np.ndarray] = {}

    def category_for(self, split: str, sample_id: str, object_model: str, category_text: str) -> str:
        """Category the prior of a frame is made for; the default trusts the dataset's category text."""
        return category_text

    @abc.abstractmethod
    def _make(self, category: str) -> np.ndarray:
        """Build the raw prior points (K,3) for a category (any frame; canonicalised afterwards)."""

    def points(self, category: str) -> np.ndarray:
        """Prior (num_points,3) float32 for `category`, canonical frame (centred, max radius 1), memoised."""
        key = category_slug(category)
        if key not in self._memory:
            self._memory[key] = farthest_point_resample(canonicalize(self._make(category)), self.num_points)
        return self._memory[key]
