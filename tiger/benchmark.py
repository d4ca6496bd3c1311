"""`scripts/benchmark.py tiger`: training samples/s, reconstructions/s and gSDF evaluation time per sample (CPU)."""

from __future__ import annotations

import time

import numpy as np
import torch

from common.benchmarking import BenchRow, best_time, peak_memory_mib, register_benchmark
from tiger.config import TigerModelConfig
from tiger.evaluation import Prediction, sample_metrics
from tiger.model.losses import tiger_losses
from tiger.model.network import TigerNet
from tiger.prior import fibonacci_sphere

BATCH = 16


def synthetic_batch(cfg: TigerModelConfig, batch: int = BATCH, seed: int = 0) -> dict[str, torch.Tensor]:
    """A random but well-formed training batch (object ~0.5 m in front of the camera, 512 GT points)."""
    gen = torch.Generator().manual_seed(seed)
    size = cfg.input_size
    K = torch.tensor([[2.0 * size, 0, size / 2], [0, 2.0 * size, size / 2], [0, 0, 1]]).expand(batch, 3, 3)
    centre = torch.tensor([0.0, 0.0, 0.5]) + 0.01 * torch.randn(batch, 3, generator=gen)
    points = centre[:, None] + 0.05 * torch.nn.functional.normalize(torch.randn(batch, 512, 3, generator=gen), dim=-1)
    prior = torch.from_numpy(fibonacci_sphere(cfg.prior.num_points)).expand(batch, -1, -1).contiguous()
    return {"image": torch.randn(batch, 3, size, size, generator=gen), "K": K.contiguous(), "prior": prior,
            "root_depth": centre[:, 2] + 0.03, "object_points": points, "object_centre": centre,
            "hand_joints": centre[:, None] + 0.05 * torch.randn(batch, 21, 3, generator=gen),
            "mask_amodal": (torch.rand(batch, size, size, generator=gen) > 0.5).float(),
            "gt_to_prior": torch.randint(0, cfg.prior.num_points, (batch, 512), generator=gen),
            "prior_to_gt": torch.randint(0, 512, (batch, cfg.prior.num_points), generator=gen)}


@register_benchmark("tiger")
def run() -> list[BenchRow]:
    """Measure the tiny CPU configuration used by the synthetic reproduction."""
    from common.body import load_mano
    from common.body.mano_ik import mano_joints_from_pose, solve_mano_ik

    torch.manual_seed(0)
    cfg = TigerModelConfig()
    model = TigerNet(cfg)
    batch = synthetic_batch(cfg)
    inputs = (batch["image"], batch["K"], batch["prior"], batch["root_depth"])
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)

    def train_step() -> None:
        loss = tiger_losses(model(*inputs), batch, cfg)["total"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    train_time = best_time(train_step, repeat=3)
    mano = load_mano()
    model.eval()

    @torch.no_grad()
    def reconstruct() -> None:
        out = model(*inputs)
        mano_joints_from_pose(mano, solve_mano_ik(out.hand_joints, mano))

    recon_time = best_time(reconstruct, repeat=3)
    with torch.no_grad():
        out = model(*inputs)
        verts, _ = mano_joints_from_pose(mano, solve_mano_ik(out.hand_joints, mano))
    faces = np.asarray(mano.faces, np.int64)
    sphere = fibonacci_sphere(400) * 0.05 + np.array([0.0, 0.0, 0.5])
    sphere_faces = np.array([[i, i + 1, i + 2] for i in range(0, 398)])
    pred = Prediction(out.object_points[0].numpy(), (verts[0].numpy(), faces), (sphere, sphere_faces),
                      (verts[1].numpy(), faces), 0.0, "sphere")
    rows = [BenchRow("training samples per second (tiny config, batch 16, fwd+bwd+AdamW)",
                     BATCH / train_time, "samples/s"),
            BenchRow("reconstructions per second (network + analytic IK + MANO, batch 16)",
                     BATCH / recon_time, "samples/s")]
    for samples, icp in ((30000, True), (3000, True), (30000, False)):
        start = time.perf_counter()
        sample_metrics(pred, samples, icp)
        rows.append(BenchRow(f"gSDF Chamfer/F-score evaluation per sample ({samples} surface samples, "
                             f"hand ICP {'on' if icp else 'off'})", time.perf_counter() - start, "s"))
    rows.append(BenchRow("peak resident memory", peak_memory_mib(), "MiB"))
    return rows
