"""`python scripts/benchmark.py tiger`: per-sample gSDF evaluation against the same metrics computed call by call."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader

from common.benchmarking import Comparison, compare, register_benchmark
from common.body import load_mano
from common.metrics import chamfer_distance, f_score, icp_translation_scale
from common.metrics.aggregate import M_TO_CM
from common.metrics.pointcloud import surface_points
from common.metrics.protocols import GSDF_HAND_THRESHOLDS_CM, GSDF_OBJECT_THRESHOLDS_CM
from common.throughput import ThroughputProbe, compose_config, probe_from_module, register_throughput
from tiger.api import build_task
from tiger.config import TigerModelConfig
from tiger.evaluation import OBJECT_THRESHOLDS_CM, Prediction, sample_metrics
from tiger.model.losses import tiger_losses
from tiger.model.network import TigerNet
from tiger.prior import fibonacci_sphere

SAMPLES = 10_000


def _prediction() -> Prediction:
    """A stand-in MANO hand holding a 5 cm sphere, predictions perturbed from the ground truth (metres)."""
    mano = load_mano()
    rng = np.random.default_rng(0)
    faces = np.asarray(mano.faces, np.int64)
    gt_verts = mano().vertices[0].detach().numpy().astype(np.float64) + np.array([0.0, 0.0, 0.5])
    pred_verts = gt_verts * 1.02 + rng.normal(scale=0.002, size=gt_verts.shape)
    sphere = fibonacci_sphere(400) * 0.05 + np.array([0.05, 0.0, 0.5])
    sphere_faces = np.array([[0, i, i + 1] for i in range(1, 399)])
    objects = {"refined": fibonacci_sphere(2048) * 0.048 + np.array([0.052, 0.003, 0.5]),
               "raw_prior": fibonacci_sphere(2048) * 0.04 + np.array([0.06, 0.01, 0.51])}
    return Prediction(objects, (pred_verts, faces), (sphere, sphere_faces), (gt_verts, faces), 0.0, "sphere")


def _call_by_call(pred: Prediction, num_samples: int, seed: int = 0) -> dict[str, dict[str, float]]:
    """Reference: per object variant, the hand ICP refitted and one chamfer_distance / f_score call (own KD-trees)
    per figure, drawing the same surface samples as the protocol."""
    out = {}
    for name, pred_object in pred.objects.items():
        rng = np.random.default_rng(seed)
        scale, trans = icp_translation_scale(surface_points(pred.pred_hand, num_samples, rng),
                                             surface_points(pred.gt_hand, num_samples, rng))
        shapes = {"h": ((scale * pred.pred_hand[0] + trans, pred.pred_hand[1]), pred.gt_hand,
                        GSDF_HAND_THRESHOLDS_CM), "o": (scale * pred_object + trans, pred.gt_object,
                                                        GSDF_OBJECT_THRESHOLDS_CM)}
        figures = {}
        for key, (p, g, ths) in shapes.items():
            p_pts = surface_points(p, num_samples, rng) * M_TO_CM
            g_pts = surface_points(g, num_samples, rng) * M_TO_CM
            figures[f"cd_{key}"] = chamfer_distance(g_pts, p_pts)
            for label, th in ths.items():
                figures[f"fs_{key}_{label[:-2]}"] = f_score(g_pts, p_pts, th)
        gt_pts = surface_points(pred.gt_object, num_samples, np.random.default_rng(seed))
        pred_c = (pred_object - pred_object.mean(0)) * M_TO_CM
        gt_c = (gt_pts - gt_pts.mean(0)) * M_TO_CM
        figures["cd_o_centred"] = chamfer_distance(pred_c, gt_c)
        for label, th in OBJECT_THRESHOLDS_CM.items():
            figures[f"fs_o_{label[:-2]}_centred"] = f_score(pred_c, gt_c, th)
        out[name] = figures
    return out


def _max_difference(ours: dict[str, dict[str, float]], ref: dict[str, dict[str, float]]) -> float:
    if set(ours) != set(ref) or any(set(ours[k]) != set(ref[k]) for k in ours):
        return float("inf")
    return max(abs(ours[k][f] - ref[k][f]) for k in ours for f in ours[k])


@register_benchmark("tiger")
def run() -> list[Comparison]:
    """gSDF evaluation of one sample (10,000 surface samples to keep the run short; the paper uses 30,000)."""
    pred = _prediction()
    return [compare(f"gSDF evaluation of one sample (refined + raw-prior objects), {SAMPLES} surface samples, "
                    "hand ICP",
                    lambda: sample_metrics(pred, SAMPLES, icp=True), lambda: _call_by_call(pred, SAMPLES),
                    ours_label="tiger.evaluation.sample_metrics",
                    reference_label="same protocol per object, ICP refitted, one KD-tree pair per figure",
                    difference=_max_difference, tolerance=1e-9,
                    difference_note="max |figure difference| over 2 objects x 9 figures",
                    clock="wall", notes="KD-tree queries use all cores, so wall clock")]


def _training_batch(cfg: TigerModelConfig, batch: int, device: torch.device) -> dict[str, torch.Tensor]:
    """A random but well-formed training batch (object ~0.5 m in front of the camera, 512 GT points)."""
    gen = torch.Generator().manual_seed(0)
    size = cfg.input_size
    K = torch.tensor([[2.0 * size, 0, size / 2], [0, 2.0 * size, size / 2], [0, 0, 1]]).expand(batch, 3, 3)
    centre = torch.tensor([0.0, 0.0, 0.5]) + 0.01 * torch.randn(batch, 3, generator=gen)
    points = centre[:, None] + 0.05 * torch.nn.functional.normalize(torch.randn(batch, 512, 3, generator=gen), dim=-1)
    prior = torch.from_numpy(fibonacci_sphere(cfg.prior.num_points)).float().expand(batch, -1, -1).contiguous()
    out = {"image": torch.randn(batch, 3, size, size, generator=gen), "K": K.contiguous(), "prior": prior,
           "root_depth": centre[:, 2] + 0.03, "object_points": points, "object_centre": centre,
           "hand_joints": centre[:, None] + 0.05 * torch.randn(batch, 21, 3, generator=gen),
           "mask_amodal": (torch.rand(batch, size, size, generator=gen) > 0.5).float(),
           "gt_to_prior": torch.randint(0, cfg.prior.num_points, (batch, 512), generator=gen),
           "prior_to_gt": torch.randint(0, 512, (batch, cfg.prior.num_points), generator=gen)}
    return {k: v.to(device) for k, v in out.items()}


@register_throughput("tiger")
def throughput(device: torch.device, tiny: bool) -> ThroughputProbe:
    """TigerNet (default config) training step on a random well-formed batch."""
    cfg = TigerModelConfig()
    size = 2 if tiny else 64
    model = TigerNet(cfg).to(device)
    batch = _training_batch(cfg, size, device)
    inputs = (batch["image"], batch["K"], batch["prior"], batch["root_depth"])
    task = build_task(compose_config(["experiment=tiger/synthetic", "debug=tiger"]))
    dataset = task.train_dataset()

    def batches() -> Iterator[dict]:
        while True:
            yield from DataLoader(dataset, batch_size=size, shuffle=True, collate_fn=task.collate)

    return probe_from_module(f"TigerNet (default config), batch {size}", model,
                             lambda: tiger_losses(model(*inputs), batch, cfg)["total"], size, batches,
                             min(size, len(dataset)),
                             batches_note="TigerTask's synthetic DexYCB-layout set (debug size), no workers")
