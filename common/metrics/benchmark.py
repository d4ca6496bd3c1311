"""`python scripts/benchmark.py metrics`: shared metrics against their references, interleaved (one CPU thread)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from scipy.spatial import cKDTree

from common.benchmarking import Comparison, compare, register_benchmark
from common.metrics.coco import COCO_KEYPOINT_STAT_NAMES, coco_keypoint_eval
from common.metrics.joints import mpjpe, pa_mpjpe
from common.metrics.pointcloud import chamfer_distance

CHAMFER_POINTS = 30_000
DENSE_POINTS = 5_000
COCO_INSTANCES = 1_000
COCO_PER_IMAGE = 5
JOINT_SAMPLES = 100_000
LOOP_SAMPLES = 10_000
JOINTS = 24


def _coco_case(rng: np.random.Generator) -> tuple[dict, list[dict]]:
    """Synthetic 17-keypoint COCO ground truth with COCO_INSTANCES people and one noisy detection each."""
    anns, results = [], []
    for k in range(COCO_INSTANCES):
        x, y = rng.uniform(0, 400, 2)
        w, h = rng.uniform(30, 200, 2)
        xy = np.stack([rng.uniform(x, x + w, 17), rng.uniform(y, y + h, 17)], 1)
        vis = rng.choice([0, 1, 2], 17, p=[0.2, 0.3, 0.5])
        gt_kp = np.c_[np.where(vis[:, None] > 0, xy, 0.0), vis]
        anns.append({"id": k + 1, "image_id": k // COCO_PER_IMAGE, "category_id": 1, "iscrowd": 0,
                     "keypoints": gt_kp.ravel().tolist(), "num_keypoints": int((vis > 0).sum()),
                     "area": float(w * h * 0.8), "bbox": [float(x), float(y), float(w), float(h)]})
        dt_kp = np.c_[xy + rng.normal(scale=0.05 * np.sqrt(w * h), size=xy.shape), np.ones(17)]
        results.append({"image_id": k // COCO_PER_IMAGE, "category_id": 1,
                        "keypoints": dt_kp.ravel().tolist(), "score": float(rng.uniform(0.1, 1.0))})
    images = [{"id": i, "width": 640, "height": 480} for i in range(COCO_INSTANCES // COCO_PER_IMAGE)]
    categories = [{"id": 1, "name": "person", "keypoints": [str(i) for i in range(17)], "skeleton": []}]
    return {"images": images, "annotations": anns, "categories": categories}, results


def _pycocotools_direct(gt: dict, results: list[dict]) -> np.ndarray:
    """Reference: pycocotools COCO + loadRes + COCOeval called directly, as its README shows."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {k: list(v) for k, v in gt.items()}
        coco_gt.createIndex()
        evaluator = COCOeval(coco_gt, coco_gt.loadRes([dict(r) for r in results]), iouType="keypoints")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats


def _numpy_umeyama_loop(pred: np.ndarray, gt: np.ndarray) -> float:
    """Reference PA-MPJPE: one numpy Umeyama (1991) similarity fit per sample, then the mean joint error."""
    total = 0.0
    for p, g in zip(pred, gt):
        mu_p, mu_g = p.mean(0), g.mean(0)
        xp, xg = p - mu_p, g - mu_g
        u, sig, vt = np.linalg.svd(xg.T @ xp / len(p))
        d = np.ones(3)
        d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
        rot = (u * d) @ vt
        scale = (sig * d).sum() / (xp ** 2).sum(1).mean()
        aligned = scale * xp @ rot.T + mu_g
        total += np.linalg.norm(aligned - g, axis=1).mean()
    return total / len(pred)


def _numpy_umeyama_batched(pred: np.ndarray, gt: np.ndarray) -> float:
    """Reference PA-MPJPE in plain numpy, batched: stacked 3x3 covariances through np.linalg.svd."""
    xp, xg = pred - pred.mean(1, keepdims=True), gt - gt.mean(1, keepdims=True)
    u, sig, vt = np.linalg.svd(np.einsum("bni,bnj->bij", xg, xp) / pred.shape[1])
    d = np.ones_like(sig)
    d[:, 2] = np.where(np.linalg.det(u @ vt) < 0, -1.0, 1.0)
    rot = (u * d[:, None]) @ vt
    scale = (sig * d).sum(1) / (xp ** 2).sum(2).mean(1)
    aligned = scale[:, None, None] * np.einsum("bij,bnj->bni", rot, xp) + gt.mean(1, keepdims=True)
    return float(np.linalg.norm(aligned - gt, axis=-1).mean())


def _kdtree_chamfer(a: np.ndarray, b: np.ndarray) -> float:
    """Reference: squared Chamfer straight from two scipy cKDTree queries (one worker)."""
    d_ab, _ = cKDTree(b).query(a, k=1, workers=1)
    d_ba, _ = cKDTree(a).query(b, k=1, workers=1)
    return float(np.mean(d_ab ** 2) + np.mean(d_ba ** 2))


def _cdist_chamfer(a: torch.Tensor, b: torch.Tensor, chunk: int = 2048) -> float:
    """Reference: brute-force squared Chamfer through torch.cdist, in row chunks (float64)."""
    min_ab = torch.cat([torch.cdist(a[i:i + chunk], b).min(1).values for i in range(0, len(a), chunk)])
    min_ba = torch.cat([torch.cdist(b[i:i + chunk], a).min(1).values for i in range(0, len(b), chunk)])
    return float((min_ab ** 2).mean() + (min_ba ** 2).mean())


def _relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


@register_benchmark("metrics")
def run() -> list[Comparison]:
    """COCO eval, PA-MPJPE, MPJPE and Chamfer against their references (one intra-op thread)."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    gt, results = _coco_case(rng)
    rows = [compare(f"COCO keypoint eval, {COCO_INSTANCES} instances", lambda: coco_keypoint_eval(gt, results),
                    lambda: _pycocotools_direct(gt, results), ours_label="common.metrics.coco_keypoint_eval",
                    reference_label="pycocotools COCOeval called directly",
                    difference=lambda o, r: float(np.abs(np.array([o[k] for k in COCO_KEYPOINT_STAT_NAMES]) - r).max()),
                    tolerance=0.0, difference_note="max |stat difference| over the 10 stats",
                    notes="ours adds input copies and stdout silencing; expected ~1x")]
    gt_j = rng.normal(size=(JOINT_SAMPLES, JOINTS, 3))
    pred_j = gt_j + rng.normal(scale=0.02, size=gt_j.shape)
    rows.append(compare(f"PA-MPJPE, {JOINT_SAMPLES} x {JOINTS} joints", lambda: pa_mpjpe(pred_j, gt_j),
                        lambda: _numpy_umeyama_batched(pred_j, gt_j),
                        ours_label="common.metrics.pa_mpjpe (batched torch)",
                        reference_label="numpy Umeyama, batched np.linalg.svd", difference=_relative,
                        tolerance=1e-9, difference_note="relative difference of the means", target_seconds=1.0))
    loop_p, loop_g = pred_j[:LOOP_SAMPLES], gt_j[:LOOP_SAMPLES]
    rows.append(compare(f"PA-MPJPE, {LOOP_SAMPLES} x {JOINTS} joints", lambda: pa_mpjpe(loop_p, loop_g),
                        lambda: _numpy_umeyama_loop(loop_p, loop_g),
                        ours_label="common.metrics.pa_mpjpe (batched torch)",
                        reference_label="per-sample numpy Umeyama loop", difference=_relative, tolerance=1e-9,
                        difference_note="relative difference of the means"))
    rows.append(compare(f"MPJPE, {JOINT_SAMPLES} x {JOINTS} joints", lambda: mpjpe(pred_j, gt_j),
                        lambda: float(np.linalg.norm(pred_j - gt_j, axis=-1).mean()),
                        ours_label="common.metrics.mpjpe", reference_label="numpy norm().mean()",
                        difference=_relative, tolerance=1e-12, difference_note="relative difference",
                        notes="ours validates inputs and supports masks; expected ~1x"))
    a, b = rng.random((CHAMFER_POINTS, 3)), rng.random((CHAMFER_POINTS, 3))
    rows.append(compare(f"Chamfer, {CHAMFER_POINTS} vs {CHAMFER_POINTS} points",
                        lambda: chamfer_distance(a, b, workers=1), lambda: _kdtree_chamfer(a, b),
                        ours_label="common.metrics.chamfer_distance (workers=1)",
                        reference_label="scipy cKDTree queries directly", difference=_relative, tolerance=1e-12,
                        difference_note="relative difference", notes="same algorithm; expected ~1x"))
    small_a, small_b = a[:DENSE_POINTS], b[:DENSE_POINTS]
    t_a, t_b = torch.from_numpy(small_a), torch.from_numpy(small_b)
    rows.append(compare(f"Chamfer, {DENSE_POINTS} vs {DENSE_POINTS} points",
                        lambda: chamfer_distance(small_a, small_b, workers=1), lambda: _cdist_chamfer(t_a, t_b),
                        ours_label="common.metrics.chamfer_distance (workers=1)",
                        reference_label="brute-force torch.cdist (float64, chunked)", difference=_relative,
                        tolerance=1e-9, difference_note="relative difference"))
    return rows
