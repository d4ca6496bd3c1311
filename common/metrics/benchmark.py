"""`python scripts/benchmark.py metrics`: speed of Chamfer, COCO keypoint eval, MPJPE and PA-MPJPE on CPU."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from common.benchmarking import BenchRow, best_time, peak_memory_mib, register_benchmark
from common.metrics.coco import coco_keypoint_eval
from common.metrics.joints import mpjpe, pa_mpjpe
from common.metrics.pointcloud import chamfer_distance

CHAMFER_POINTS = 30_000
DENSE_POINTS = 8_000
COCO_INSTANCES = 5_000
COCO_PER_IMAGE = 5
JOINT_SAMPLES = 100_000
JOINTS = 24


def _best_cpu_time(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best process CPU time (s) of `fn`, less sensitive than wall time to other jobs on a shared host."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def _dense_chamfer(a: torch.Tensor, b: torch.Tensor) -> float:
    """Reference Chamfer through the full N x M torch.cdist matrix."""
    d = torch.cdist(a, b)
    return float((d.min(1).values ** 2).mean() + (d.min(0).values ** 2).mean())


def _coco_case(rng: np.random.Generator) -> tuple[dict, list[dict]]:
    """Synthetic 17-keypoint COCO ground truth with COCO_INSTANCES people and one noisy detection each."""
    num_images = COCO_INSTANCES // COCO_PER_IMAGE
    images = [{"id": i, "width": 640, "height": 480} for i in range(num_images)]
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
    categories = [{"id": 1, "name": "person", "keypoints": [str(i) for i in range(17)], "skeleton": []}]
    return {"images": images, "annotations": anns, "categories": categories}, results


@register_benchmark("metrics")
def run() -> list[BenchRow]:
    """Time the shared metrics on one CPU thread (KD-tree queries with workers=1)."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    a, b = rng.random((CHAMFER_POINTS, 3)), rng.random((CHAMFER_POINTS, 3))
    chamfer_cpu = _best_cpu_time(lambda: chamfer_distance(a, b, workers=1))
    rows = [BenchRow(f"chamfer KD-tree {CHAMFER_POINTS} vs {CHAMFER_POINTS}",
                     best_time(lambda: chamfer_distance(a, b, workers=1)), "s",
                     reference=f"process CPU time {chamfer_cpu:.3f} s", target="< 1 s on one core",
                     extra={"cpu_s": chamfer_cpu})]
    small_a, small_b = a[:DENSE_POINTS], b[:DENSE_POINTS]
    t_a, t_b = torch.from_numpy(small_a), torch.from_numpy(small_b)
    kd_small = best_time(lambda: chamfer_distance(small_a, small_b, workers=1))
    dense_small = best_time(lambda: _dense_chamfer(t_a, t_b))
    rows.append(BenchRow(f"chamfer KD-tree {DENSE_POINTS} vs {DENSE_POINTS}", kd_small, "s",
                         reference=f"dense torch.cdist float64, same size: {dense_small:.3f} s",
                         ratio=dense_small / kd_small, extra={"dense_s": dense_small}))
    gt, results = _coco_case(rng)
    stats: dict[str, float] = {}
    coco_s = best_time(lambda: stats.update(coco_keypoint_eval(gt, results)), repeat=1)
    rows.append(BenchRow(f"coco_keypoint_eval {COCO_INSTANCES} instances", coco_s, "s",
                         reference=f"pycocotools COCOeval, AP={stats['AP']:.3f}", extra=stats))
    gt_j = rng.normal(size=(JOINT_SAMPLES, JOINTS, 3))
    pred_j = gt_j + rng.normal(scale=0.02, size=gt_j.shape)
    for name, fn in (("mpjpe", mpjpe), ("pa_mpjpe batched", pa_mpjpe)):
        wall = best_time(lambda fn=fn: fn(pred_j, gt_j))
        cpu = _best_cpu_time(lambda fn=fn: fn(pred_j, gt_j))
        rows.append(BenchRow(f"{name} {JOINT_SAMPLES} x {JOINTS}", wall, "s", target="< 1 s",
                             reference=f"process CPU time {cpu:.3f} s", extra={"cpu_s": cpu}))
    rows.append(BenchRow("peak resident memory", peak_memory_mib(), "MiB"))
    return rows
