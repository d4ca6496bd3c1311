"""gSDF-protocol evaluation of TIGeR predictions (via common.metrics), the centred object-only variant and
the occlusion analysis (10 equal-count groups, median CD_o per group, PNG plot)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.metrics import aggregate, chamfer_distance, f_score
from common.metrics.aggregate import M_TO_CM
from common.metrics.pointcloud import surface_points
from common.metrics.protocols import gsdf_sample_metrics

OBJECT_THRESHOLDS_CM = {"5mm": 0.5, "10mm": 1.0}
REPORTED = ("cd_o", "fs_o_5", "fs_o_10", "cd_h", "fs_h_1", "fs_h_5")


@dataclass
class Prediction:
    """One test sample's prediction and ground truth (metres, camera frame)."""

    pred_object: np.ndarray                       # (N,3) refined object points
    pred_hand: tuple[np.ndarray, np.ndarray]      # MANO mesh from IK (verts, faces)
    gt_object: tuple[np.ndarray, np.ndarray]      # GT object mesh
    gt_hand: tuple[np.ndarray, np.ndarray]        # GT MANO mesh
    occlusion: float
    category: str


def sample_metrics(pred: Prediction, num_samples: int, icp: bool, seed: int = 0) -> dict[str, float]:
    """gSDF metrics of one sample (CD in cm^2, F-scores) plus the centred object-only CD/F-scores."""
    raw = gsdf_sample_metrics(pred.pred_hand, pred.gt_hand, pred.pred_object, pred.gt_object, icp=icp,
                              num_samples=num_samples, seed=seed)
    out = {"cd_o": raw["chamfer_obj"], "fs_o_5": raw["fscore_obj_5mm"], "fs_o_10": raw["fscore_obj_10mm"],
           "cd_h": raw["chamfer_hand"], "fs_h_1": raw["fscore_hand_1mm"], "fs_h_5": raw["fscore_hand_5mm"]}
    pred_c = (pred.pred_object - pred.pred_object.mean(0)) * M_TO_CM
    gt_pts = surface_points(pred.gt_object, num_samples, np.random.default_rng(seed))
    gt_c = (gt_pts - gt_pts.mean(0)) * M_TO_CM
    out["cd_o_centred"] = chamfer_distance(pred_c, gt_c, squared=True)
    for label, th in OBJECT_THRESHOLDS_CM.items():
        out[f"fs_o_{label[:-2]}_centred"] = f_score(pred_c, gt_c, th)
    return out


def summarise(per_sample: Sequence[dict[str, float]]) -> dict[str, float]:
    """Dataset figures as papers report them: median Chamfer (cm^2), mean F-scores."""
    keys = list(per_sample[0]) if per_sample else []
    out: dict[str, float] = {}
    for key in keys:
        stats = aggregate([s[key] for s in per_sample])
        out[key] = stats["median"] if key.startswith("cd") else stats["mean"]
    return out


def occlusion_groups(occlusion: Sequence[float], cd_o: Sequence[float], groups: int = 10
                     ) -> tuple[list[float], list[float]]:
    """Samples sorted by occlusion rate and split into `groups` equal-count groups: (mean rate, median CD_o)."""
    order = np.argsort(np.asarray(occlusion), kind="stable")
    chunks = [c for c in np.array_split(order, groups) if len(c)]
    occ, cd = np.asarray(occlusion), np.asarray(cd_o)
    return [float(occ[c].mean()) for c in chunks], [float(np.median(cd[c])) for c in chunks]


def plot_occlusion(curves: dict[str, tuple[list[float], list[float]]], path: Path, title: str) -> Path:
    """Median CD_o per occlusion group, one line per method, written as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, (_rates, cds) in curves.items():
        ax.plot(range(1, len(cds) + 1), cds, marker="o", label=name)
    rates = next(iter(curves.values()))[0]
    ax.set_xticks(range(1, len(rates) + 1), [f"{k}\n{r:.2f}" for k, r in enumerate(rates, 1)], fontsize=7)
    ax.set_xlabel("occlusion group (equal counts) and its mean occlusion rate")
    ax.set_ylabel("median CD_o (cm²)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
