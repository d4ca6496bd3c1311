"""Benchmark evaluation protocols (BEHAVE/CHORE, gSDF/AlignSDF, EggHand) built on the metric functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from common.geometry import similarity_procrustes
from common.metrics._arrays import joint_mask, to_numpy
from common.metrics.aggregate import M_TO_CM, aggregate
from common.metrics.icp import icp_translation_scale
from common.metrics.joints import mpjpe, root_aligned_mpjpe
from common.metrics.pointcloud import (
    chamfer_from_distances,
    fscore_from_distances,
    is_mesh,
    nearest_distances,
    surface_points,
)
from common.metrics.trajectories import ade, fde

BEHAVE_SAMPLES = 10_000
GSDF_SAMPLES = 30_000
GSDF_HAND_THRESHOLDS_CM = {"1mm": 0.1, "5mm": 0.5}
GSDF_OBJECT_THRESHOLDS_CM = {"5mm": 0.5, "10mm": 1.0}
EGGHAND_WRISTS = (0, 21)
EGGHAND_HAND_JOINTS = 21


def _vertices(shape: Any) -> np.ndarray:
    """The vertex (or point) array (N, 3) of a (verts, faces) mesh or of a point set."""
    return to_numpy(shape[0] if is_mesh(shape) else shape)


def _transformed(shape: Any, scale: float, rot: np.ndarray, trans: np.ndarray) -> Any:
    """The mesh or point set moved by x -> scale R x + trans (faces kept)."""
    moved = scale * _vertices(shape) @ rot.T + trans
    return (moved, shape[1]) if is_mesh(shape) else moved


def behave_chamfer(pred_h: Any, gt_h: Any, pred_o: Any, gt_o: Any, align: bool = True,
                   num_samples: int = BEHAVE_SAMPLES, seed: int = 0, unit_scale: float = M_TO_CM,
                   workers: int = -1) -> dict[str, float]:
    """CHORE/BEHAVE Chamfer (cm for metre inputs) of one frame, human and object separately.

    Meshes are (verts, faces) in metres (or (N, 3) point sets, used as they are). With `align`, one
    similarity Procrustes of the prediction onto the GT is fitted on the concatenated human+object
    vertices (human only when object vertex counts differ, as CHORE) and applied to both. Then
    `num_samples` surface points per mesh and the un-squared Chamfer mean(d_ab)+mean(d_ba).
    """
    if align:
        ph, gh, po, go = (_vertices(x) for x in (pred_h, gt_h, pred_o, gt_o))
        if len(ph) != len(gh):
            raise ValueError("aligned BEHAVE Chamfer needs predicted and GT human vertices in correspondence")
        src, dst = (np.concatenate([ph, po]), np.concatenate([gh, go])) if len(po) == len(go) else (ph, gh)
        scale, rot, trans = (x[0].numpy() for x in similarity_procrustes(torch.from_numpy(src[None]),
                                                                         torch.from_numpy(dst[None])))
        pred_h, pred_o = (_transformed(x, float(scale), rot, trans) for x in (pred_h, pred_o))
    rng = np.random.default_rng(seed)
    out = {}
    for name, pred, gt in (("chamfer_human", pred_h, gt_h), ("chamfer_object", pred_o, gt_o)):
        pred_pts = surface_points(pred, num_samples, rng) * unit_scale
        gt_pts = surface_points(gt, num_samples, rng) * unit_scale
        out[name] = chamfer_from_distances(*nearest_distances(pred_pts, gt_pts, workers), squared=False)
    return out


def _gsdf_scores(pred: Any, gt: Any, thresholds: dict[str, float], prefix: str, num_samples: int,
                 rng: np.random.Generator, workers: int) -> dict[str, float]:
    """gSDF squared Chamfer (cm^2) and F-scores (thresholds in cm) of one shape given in metres."""
    pred_pts = surface_points(pred, num_samples, rng) * M_TO_CM
    gt_pts = surface_points(gt, num_samples, rng) * M_TO_CM
    d_gt_pred, d_pred_gt = nearest_distances(gt_pts, pred_pts, workers)
    out = {f"chamfer_{prefix}": chamfer_from_distances(d_gt_pred, d_pred_gt, squared=True)}
    for label, th in thresholds.items():
        out[f"fscore_{prefix}_{label}"] = fscore_from_distances(d_gt_pred, d_pred_gt, th)
    return out


def gsdf_sample_metrics(pred_hand: Any, gt_hand: Any, pred_obj: Any = None, gt_obj: Any = None,
                        icp: bool = False, num_samples: int = GSDF_SAMPLES,
                        seed: int | np.random.Generator = 0, workers: int = -1) -> dict[str, float]:
    """gSDF/AlignSDF metrics of one sample: CD (cm^2, squared, no /2) and F-scores of hand and object.

    Inputs are (verts, faces) meshes or (N, 3) point sets in metres, camera frame. With `icp`, the
    predicted hand is aligned to the GT hand by gSDF's translation+scale ICP and the same transform
    is applied to the predicted object (gSDF `chamfer_optim`).
    """
    rng = np.random.default_rng(seed)
    if icp:
        scale, trans = icp_translation_scale(surface_points(pred_hand, num_samples, rng),
                                             surface_points(gt_hand, num_samples, rng), workers=workers)
        eye = np.eye(3)
        pred_hand = _transformed(pred_hand, scale, eye, trans)
        pred_obj = None if pred_obj is None else _transformed(pred_obj, scale, eye, trans)
    out = _gsdf_scores(pred_hand, gt_hand, GSDF_HAND_THRESHOLDS_CM, "hand", num_samples, rng, workers)
    if pred_obj is not None and gt_obj is not None:
        out |= _gsdf_scores(pred_obj, gt_obj, GSDF_OBJECT_THRESHOLDS_CM, "obj", num_samples, rng, workers)
    return out


def gsdf_hand_object_metrics(pred_hands: Sequence[Any], gt_hands: Sequence[Any],
                             pred_objs: Sequence[Any] | None = None, gt_objs: Sequence[Any] | None = None,
                             icp: bool = False, num_samples: int = GSDF_SAMPLES, seed: int = 0,
                             workers: int = -1) -> dict[str, float]:
    """gSDF test-set figures: mean and median Chamfer (cm^2), mean F-scores, over the samples.

    Each argument is a sequence with one mesh or point set per test sample (metres); a None
    prediction is skipped as gSDF's eval.py skips missing meshes. Sample i is sampled with seed
    (seed, i).
    """
    per_sample: list[dict[str, float]] = []
    for i, (ph, gh) in enumerate(zip(pred_hands, gt_hands)):
        po = None if pred_objs is None else pred_objs[i]
        go = None if gt_objs is None else gt_objs[i]
        if ph is None:
            continue
        rng = np.random.default_rng([seed, i])
        per_sample.append(gsdf_sample_metrics(ph, gh, po, go, icp, num_samples, rng, workers))
    keys = sorted({k for sample in per_sample for k in sample})
    out: dict[str, float] = {}
    for key in keys:
        stats = aggregate([s.get(key) for s in per_sample])
        if key.startswith("chamfer"):
            out[f"{key}_mean"], out[f"{key}_median"] = stats["mean"], stats["median"]
        else:
            out[key] = stats["mean"]
    out["num_samples"] = float(len(per_sample))
    return out


def egghand_validity(raw_gt: Any) -> np.ndarray:
    """EggHand joint validity (..., J) from raw GT: a joint whose three coordinates are all 0 is invalid."""
    return ~np.all(to_numpy(raw_gt) == 0.0, axis=-1)


def egghand_metrics(pred: Any, gt: Any, valid: Any = None) -> dict[str, float]:
    """EggHand forecasting metrics for (N, T, 42, 3) joints (right hand 0-20, left 21-41), input units.

    `mpjpe`/`mpjpe_f`: wrist-relative errors pooled over all valid joints (all frames / last frame),
    the paper's MPJPE and MPJPE-F (its r_mpjpe); a joint needs itself and its wrist valid.
    `ade`/`fde` on the two wrists; `abs_mpjpe`/`abs_mpjpe_f` without wrist alignment. `valid`
    defaults to `egghand_validity(gt)`; pass it from the raw GT when `gt` was re-framed.
    """
    p, g = to_numpy(pred), to_numpy(gt)
    mask = egghand_validity(g) if valid is None else joint_mask(valid, g.shape[:-1])
    groups = [range(w, w + EGGHAND_HAND_JOINTS) for w in EGGHAND_WRISTS]
    wrists = list(EGGHAND_WRISTS)
    return {
        "mpjpe": root_aligned_mpjpe(p, g, root=wrists, valid=mask, groups=groups),
        "mpjpe_f": root_aligned_mpjpe(p[:, -1], g[:, -1], root=wrists, valid=mask[:, -1], groups=groups),
        "ade": ade(p[:, :, wrists], g[:, :, wrists], mask[:, :, wrists]),
        "fde": fde(p[:, :, wrists], g[:, :, wrists], mask[:, :, wrists]),
        "abs_mpjpe": mpjpe(p, g, mask),
        "abs_mpjpe_f": mpjpe(p[:, -1], g[:, -1], mask[:, -1]),
    }
