"""Prior quality (Table 4(c) Sim., Fig. 8): DGCNN feature similarity between a prior and the GT object shape."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from common.models.loading import PretrainedInit
from tiger.evaluation import category_group
from tiger.model.dgcnn import DGCNN
from tiger.prior.base import canonicalize, farthest_point_resample
from tiger.prior.sphere import fibonacci_sphere

DGCNN_POINTS = 1024
"""Points per cloud fed to DGCNN (its ModelNet40 setting), unit-sphere normalised."""


@torch.no_grad()
def dgcnn_similarity(model: DGCNN, a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of the pooled DGCNN features of two point clouds (any frame; both canonicalised)."""
    clouds = [farthest_point_resample(canonicalize(x), DGCNN_POINTS) for x in (a, b)]
    feats = model.eval().features(torch.from_numpy(np.stack(clouds)).float())
    return float(torch.nn.functional.cosine_similarity(feats[:1], feats[1:]).item())


def prior_similarity(init: PretrainedInit, priors: Sequence[np.ndarray], gt_shapes: Sequence[np.ndarray],
                     categories: Sequence[str]) -> dict[str, float]:
    """Mean DGCNN similarity to the GT object of the prior (`prior_sim/<group>`) and of the unit sphere
    (`sphere_sim/<group>`) per Table 4(c) sub-category, without the pseudo transformation (Fig. 8(a))."""
    model = DGCNN(pretrained=init)
    sphere = fibonacci_sphere(DGCNN_POINTS)
    rows: dict[str, list[tuple[float, float]]] = {}
    for prior, gt, category in zip(priors, gt_shapes, categories):
        rows.setdefault(category_group(category), []).append(
            (dgcnn_similarity(model, prior, gt), dgcnn_similarity(model, sphere, gt)))
    out = {}
    for group, values in sorted(rows.items()):
        out[f"prior_sim/{group}"] = float(np.mean([v[0] for v in values]))
        out[f"sphere_sim/{group}"] = float(np.mean([v[1] for v in values]))
    return out
