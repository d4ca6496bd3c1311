"""Dataset-level aggregation: mean/median over samples, named joint subsets, unit conversion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from common.metrics._arrays import to_numpy
from common.metrics.joints import mpjpe

M_TO_MM = 1000.0
M_TO_CM = 100.0

# TAIHRI eval/eval.py body-part queries, indices into the SMPL 22/24-joint order.
TAIHRI_PART_SETS: dict[str, list[int]] = {
    "left_arm": [16, 18, 20],
    "right_arm": [17, 19, 21],
    "upper_body": [16, 17, 18, 19],
    "lower_body": [1, 2, 4, 5],
}


def aggregate(values: Iterable[float | None] | Any) -> dict[str, float]:
    """Mean and median over per-sample values, dropping None and NaN (as gSDF's eval.py); NaN if empty."""
    if isinstance(values, np.ndarray) or hasattr(values, "detach"):
        arr = to_numpy(values).reshape(-1)
    else:
        arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return {"mean": float("nan"), "median": float("nan")}
    return {"mean": float(arr.mean()), "median": float(np.median(arr))}


def per_subset_mpjpe(pred: Any, gt: Any, subsets: Mapping[str, list[int]], valid: Any = None
                     ) -> dict[str, float]:
    """MPJPE (no alignment, input units) restricted to each named joint subset, e.g. TAIHRI_PART_SETS."""
    p, g = to_numpy(pred), to_numpy(gt)
    v = None if valid is None else np.broadcast_to(to_numpy(valid, dtype=bool), p.shape[:-1])
    out = {}
    for name, idx in subsets.items():
        cols = list(idx)
        out[name] = mpjpe(p[..., cols, :], g[..., cols, :], None if v is None else v[..., cols])
    return out


def convert_units(metrics: Any, factor: float, power: int = 1) -> Any:
    """Multiply a float, array or dict of floats by factor**power (power 2 for squared Chamfer)."""
    scale = factor**power
    if isinstance(metrics, Mapping):
        return {k: convert_units(v, factor, power) for k, v in metrics.items()}
    if isinstance(metrics, np.ndarray):
        return metrics * scale
    return float(metrics) * scale
