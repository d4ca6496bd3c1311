"""Similarity ICP (training only) for the auxiliary prior->ground-truth transform A and the pseudo mapping J."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from common.geometry import umeyama as common_umeyama


@dataclass
class SimilarityTransform:
    """x -> scale * R @ x + t; `cost` is the symmetric mean squared nearest-neighbour distance after fitting."""

    scale: float
    rotation: np.ndarray
    translation: np.ndarray
    cost: float = float("nan")

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Transform points (N,3)."""
        return self.scale * points @ self.rotation.T + self.translation

    def matrix(self) -> np.ndarray:
        """4x4 homogeneous matrix of the transform."""
        out = np.eye(4)
        out[:3, :3] = self.scale * self.rotation
        out[:3, 3] = self.translation
        return out


def umeyama(src: np.ndarray, dst: np.ndarray, with_scale: bool = True) -> SimilarityTransform:
    """Least-squares similarity (or rigid) transform mapping paired points src (N,3) onto dst (N,3)."""
    scale, rot, trans = common_umeyama(src, dst, with_scale=with_scale)
    return SimilarityTransform(float(scale), rot, trans)


def _symmetric_cost(a: np.ndarray, b: np.ndarray, tree_b: cKDTree) -> float:
    d_ab, _ = tree_b.query(a)
    d_ba, _ = cKDTree(a).query(b)
    return float((d_ab ** 2).mean() + (d_ba ** 2).mean())


def icp(src: np.ndarray, dst: np.ndarray, init: SimilarityTransform | None = None, iterations: int = 30,
        with_scale: bool = True, tol: float = 1e-10) -> SimilarityTransform:
    """ICP from src (N,3) to dst (M,3) with correspondences in both directions each iteration."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    tree_dst = cKDTree(dst)
    current = init or SimilarityTransform(1.0, np.eye(3), np.zeros(3))
    previous = np.inf
    for _ in range(iterations):
        moved = current.apply(src)
        _, fwd = tree_dst.query(moved)
        _, bwd = cKDTree(moved).query(dst)
        pairs_src = np.concatenate([src, src[bwd]], 0)
        pairs_dst = np.concatenate([dst[fwd], dst], 0)
        current = umeyama(pairs_src, pairs_dst, with_scale)
        cost = _symmetric_cost(current.apply(src), dst, tree_dst)
        if previous - cost < tol:
            break
        previous = cost
    current.cost = _symmetric_cost(current.apply(src), dst, tree_dst)
    return current


def _rms_radius(points: np.ndarray) -> float:
    return float(np.sqrt(((points - points.mean(0)) ** 2).sum(1).mean()))


def multi_start_icp(src: np.ndarray, dst: np.ndarray, num_starts: int = 8, iterations: int = 30,
                    with_scale: bool = True, seed: int = 0) -> SimilarityTransform:
    """Best ICP over several initial rotations after centring and RMS-scale pre-alignment (lowest cost)."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    scale0 = _rms_radius(dst) / max(_rms_radius(src), 1e-12) if with_scale else 1.0
    rotations = [np.eye(3)]
    if num_starts > 1:
        rotations += list(Rotation.random(num_starts - 1, random_state=seed).as_matrix())
    best: SimilarityTransform | None = None
    for rot in rotations:
        init = SimilarityTransform(scale0, rot, dst.mean(0) - scale0 * rot @ src.mean(0))
        result = icp(src, dst, init, iterations, with_scale)
        if best is None or result.cost < best.cost:
            best = result
    return best


def pseudo_mapping(gt_points: np.ndarray, prior_points: np.ndarray,
                   transform: SimilarityTransform) -> tuple[np.ndarray, np.ndarray]:
    """J (M,): nearest transformed prior index of each GT point; K (N,): nearest GT index of each prior point."""
    moved = transform.apply(prior_points)
    _, gt_to_prior = cKDTree(moved).query(gt_points)
    _, prior_to_gt = cKDTree(gt_points).query(moved)
    return gt_to_prior.astype(np.int64), prior_to_gt.astype(np.int64)
