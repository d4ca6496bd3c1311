"""Point-set metrics with KD-trees: Chamfer distance and F-score (meshes sampled by common.geometry.meshes)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from common.geometry.meshes import sample_surface
from common.metrics._arrays import to_numpy

Mesh = tuple[Any, Any]


def _points(x: Any, name: str) -> np.ndarray:
    """(N, 3) float64 point array from numpy/torch input."""
    pts = to_numpy(x)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) == 0:
        raise ValueError(f"{name} must be a non-empty (N, 3) point set, got shape {pts.shape}")
    return pts


def nearest_distances(a: Any, b: Any, workers: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour distances a->b (N,) and b->a (M,) via scipy cKDTree, in the input units."""
    pa, pb = _points(a, "a"), _points(b, "b")
    d_ab, _ = cKDTree(pb).query(pa, k=1, workers=workers)
    d_ba, _ = cKDTree(pa).query(pb, k=1, workers=workers)
    return d_ab, d_ba


def chamfer_from_distances(d_ab: np.ndarray, d_ba: np.ndarray, squared: bool = True) -> float:
    """Sum of the two directional means of (squared, if `squared`) nearest-neighbour distances."""
    if squared:
        return float(np.mean(d_ab**2) + np.mean(d_ba**2))
    return float(np.mean(d_ab) + np.mean(d_ba))


def fscore_from_distances(d_ab: np.ndarray, d_ba: np.ndarray, threshold: float) -> float:
    """2PR/(P+R) with P = frac(d_ab < threshold), R = frac(d_ba < threshold); 0 when both are 0."""
    precision = float(np.mean(d_ab < threshold))
    recall = float(np.mean(d_ba < threshold))
    if precision + recall == 0.0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall)


def chamfer_distance(a: Any, b: Any, squared: bool = True, workers: int = -1) -> float:
    """Chamfer between point sets (N,3), (M,3): mean(d_ab^2)+mean(d_ba^2) if squared (gSDF), else un-squared.

    Units are those of the input (squared units when `squared`); no division by 2 (as gSDF and CHORE).
    """
    return chamfer_from_distances(*nearest_distances(a, b, workers), squared=squared)


def f_score(a: Any, b: Any, threshold: float, workers: int = -1) -> float:
    """F-score at `threshold` (input units): P = frac of a within threshold of b, R = frac of b near a."""
    return fscore_from_distances(*nearest_distances(a, b, workers), threshold)


def is_mesh(shape: Any) -> bool:
    """True for a (verts, faces) tuple, False for a point array."""
    return isinstance(shape, tuple) and len(shape) == 2


def surface_points(shape: Any, count: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Points of a shape given as a (verts, faces) mesh (sampled `count` times) or as an (N, 3) point set."""
    if is_mesh(shape):
        return sample_surface(shape[0], shape[1], count, seed)
    return _points(shape, "points")
