"""gSDF's translation+scale ICP (`common/utils/solver.py::icp_ts`) with scipy KD-trees."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from common.metrics._arrays import to_numpy


def _centroid_rms(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Centroid (3,) and RMS distance to it."""
    offset = points.mean(0)
    return offset, float(np.sqrt(((points - offset) ** 2).sum() / len(points)))


def icp_translation_scale(source: Any, target: Any, max_iter: int = 100, stop_error: float = 1e-3,
                          stop_improvement: float = 1e-5, workers: int = -1) -> tuple[float, np.ndarray]:
    """Scale s and translation t (3,) such that s * source + t fits target (no rotation), as gSDF.

    Source is first moved to the target's centroid and RMS scale; each iteration matches nearest
    neighbours in both directions and solves the joint least squares for [s, t]; it stops when the
    RMS error improves by less than `stop_improvement` or falls below `stop_error` (input units).
    """
    src, tgt = to_numpy(source), to_numpy(target)
    off_s, scale_s = _centroid_rms(src)
    off_t, scale_t = _centroid_rms(tgt)
    src = (src - off_s) / scale_s * scale_t + off_t
    tree_src, tree_tgt = cKDTree(src), cKDTree(tgt)
    scale, trans = 1.0, np.zeros(3)
    previous = 1e8
    for _ in range(max_iter):
        moved = src * scale + trans
        _, to_tgt = tree_tgt.query(moved, workers=workers)
        _, to_src = tree_src.query((tgt - trans) / scale, workers=workers)
        err = ((moved - tgt[to_tgt]) ** 2).sum() + ((tgt - (src[to_src] * scale + trans)) ** 2).sum()
        error = float(np.sqrt(err / (len(src) + len(tgt))))
        if previous - error < stop_improvement:
            break
        previous = error
        if error < stop_error:
            break
        a = np.concatenate([src, src[to_src]])
        b = np.concatenate([tgt[to_tgt], tgt])
        a_c, b_c = a - a.mean(0), b - b.mean(0)
        scale = float((a_c * b_c).sum() / (a_c**2).sum())
        trans = b.mean(0) - scale * a.mean(0)
    total_scale = scale_t * scale / scale_s
    return total_scale, trans + (off_t - off_s * scale_t / scale_s) * scale
