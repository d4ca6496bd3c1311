"""`python scripts/benchmark.py kinematics`: FK vs smplx forward, batched neural IK vs trust region."""

from __future__ import annotations

import time

import torch
from smplx.lbs import batch_rigid_transform

from common.benchmarking import BenchRow, best_time, peak_memory_mib, register_benchmark
from common.body import load_smpl
from common.geometry import axis_angle_to_matrix
from kinematics.body_adapter import smpl_rest_joints
from kinematics.chains import SMPL_CHAINS
from kinematics.experiment import cpu_threads
from kinematics.fk import forward_kinematics
from kinematics.neural_ik import NeuralIKConfig, solve_neural_ik
from kinematics.synthetic import make_interactions
from kinematics.trust_region import TrustRegionConfig, solve_trust_region

FK_BATCH, IK_BATCH, TRF_PROBLEMS = 1024, 256, 16


def _sync(device: torch.device) -> None:
    """Wait for queued CUDA work so timings are real."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def _fk_rows(device: torch.device) -> list[BenchRow]:
    """Joints-only FK at batch 1024 against smplx's full forward and its batch_rigid_transform."""
    smpl = load_smpl(batch_size=FK_BATCH).to(device)
    gen = torch.Generator().manual_seed(0)
    pose = (0.3 * torch.randn(FK_BATCH, 24, 3, generator=gen)).to(device)
    betas = torch.randn(FK_BATCH, 10, generator=gen).to(device)
    parents = SMPL_CHAINS["left_arm"].parents
    parents_t = torch.tensor(parents, device=device)

    @torch.no_grad()
    def ours() -> None:
        rest = smpl_rest_joints(smpl, betas).float()
        forward_kinematics(axis_angle_to_matrix(pose), rest, parents)
        _sync(device)

    @torch.no_grad()
    def smplx_forward() -> None:
        smpl(betas=betas, global_orient=pose[:, 0], body_pose=pose[:, 1:].reshape(FK_BATCH, 69))
        _sync(device)

    @torch.no_grad()
    def smplx_rigid() -> None:
        rest = smpl_rest_joints(smpl, betas).float()
        batch_rigid_transform(axis_angle_to_matrix(pose), rest, parents_t)
        _sync(device)

    t_ours, t_smplx, t_rigid = best_time(ours, repeat=5), best_time(smplx_forward, repeat=3), best_time(smplx_rigid,
                                                                                                        repeat=5)
    extra = {"device": str(device), "threads": torch.get_num_threads()}
    return [
        BenchRow("fk_joints_b1024", t_ours * 1e3, "ms", "smplx.SMPL.forward (verts + joints), b1024",
                 t_smplx / t_ours, ">= 5x faster", extra),
        BenchRow("fk_joints_b1024_vs_batch_rigid_transform", t_ours * 1e3, "ms",
                 "smplx.lbs.batch_rigid_transform (joints only), b1024", t_rigid / t_ours, "", extra),
    ]


def _ik_rows(device: torch.device) -> list[BenchRow]:
    """Solves/s of the batched neural IK (256 problems at once) vs scipy TRF on the same problems."""
    smpl = load_smpl()
    inter = make_interactions(smpl, IK_BATCH, "left_arm", seed=11)
    neural_cfg = NeuralIKConfig()
    solve_neural_ik(inter.problem.subset(slice(0, 4)), NeuralIKConfig(max_steps=2), device)
    _sync(device)
    start = time.perf_counter()
    neural = solve_neural_ik(inter.problem, neural_cfg, device)
    _sync(device)
    neural_rate = IK_BATCH / (time.perf_counter() - start)
    start = time.perf_counter()
    trf = solve_trust_region(inter.problem.subset(slice(0, TRF_PROBLEMS)), TrustRegionConfig())
    trf_rate = TRF_PROBLEMS / (time.perf_counter() - start)
    extra = {"device": str(device), "neural_mean_steps": float(neural.steps.double().mean()),
             "trf_mean_nfev": float(trf.steps.double().mean()), "trf_problems_timed": TRF_PROBLEMS,
             "neural_reach_cm": float(neural.reach.mean()) * 100,
             "trf_reach_cm": float(trf.reach.mean()) * 100, "peak_rss_mib": peak_memory_mib()}
    return [BenchRow("neural_ik_solves_per_s_b256", neural_rate, "solves/s",
                     "scipy least_squares(trf), one problem at a time (CPU)", neural_rate / trf_rate,
                     ">= 5x the trust-region rate", extra),
            BenchRow("trust_region_solves_per_s", trf_rate, "solves/s", "", None, "", extra)]


@register_benchmark("kinematics")
def run() -> list[BenchRow]:
    """All kinematics benchmark rows (CPU: one intra-op thread for every contender)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with cpu_threads(1 if device.type == "cpu" else torch.get_num_threads()):
        return _fk_rows(device) + _ik_rows(device)
