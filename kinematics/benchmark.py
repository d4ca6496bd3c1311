"""`python scripts/benchmark.py kinematics`: FK against smplx, batched neural IK against scipy TRF (one thread)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from smplx.lbs import batch_rigid_transform

from common.benchmarking import Comparison, compare, register_benchmark
from common.body import load_smpl
from common.geometry import axis_angle_to_matrix
from common.throughput import ThroughputProbe, register_throughput
from kinematics.body_adapter import smpl_rest_joints
from kinematics.experiment import cpu_threads
from kinematics.fk import fk_joints
from kinematics.neural_ik import NeuralIKConfig, solve_neural_ik
from kinematics.synthetic import make_interactions
from kinematics.trust_region import TrustRegionConfig, solve_trust_region

FK_BATCH, FORWARD_BATCH, IK_PROBLEMS = 1024, 256, 8


def _max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def _fk_rows() -> list[Comparison]:
    """Joints-only FK at batch 1024 against smplx's batch_rigid_transform and its full SMPL forward."""
    smpl = load_smpl(batch_size=FK_BATCH)
    gen = torch.Generator().manual_seed(0)
    pose = 0.3 * torch.randn(FK_BATCH, 24, 3, generator=gen)
    betas = torch.randn(FK_BATCH, 10, generator=gen)
    parents = tuple(int(p) for p in smpl.parents)
    parents_t = smpl.parents.clone()
    with torch.no_grad():
        rot = axis_angle_to_matrix(pose)
        rest = smpl_rest_joints(smpl, betas).float()

    @torch.no_grad()
    def ours_joints() -> torch.Tensor:
        return fk_joints(rot, rest, parents)

    @torch.no_grad()
    def smplx_rigid() -> torch.Tensor:
        return batch_rigid_transform(rot, rest, parents_t)[0]

    small_smpl = load_smpl(batch_size=FORWARD_BATCH)
    small_pose, small_betas = pose[:FORWARD_BATCH], betas[:FORWARD_BATCH]

    @torch.no_grad()
    def ours_from_pose() -> torch.Tensor:
        rest_joints = smpl_rest_joints(small_smpl, small_betas).float()
        return fk_joints(axis_angle_to_matrix(small_pose), rest_joints, parents)

    @torch.no_grad()
    def smplx_forward() -> torch.Tensor:
        return small_smpl(betas=small_betas, global_orient=small_pose[:, 0],
                          body_pose=small_pose[:, 1:].reshape(FORWARD_BATCH, 69)).joints[:, :24]

    setup = f"batch {FK_BATCH}, 24 SMPL joints, float32, rest joints given"
    return [
        compare(f"FK joints only, b{FK_BATCH}", ours_joints, smplx_rigid, ours_label="kinematics.fk.fk_joints",
                reference_label="smplx.lbs.batch_rigid_transform", difference=_max_abs, tolerance=1e-5,
                difference_note="max |joint difference| (m)", target_speedup=1.5, notes=setup),
        compare(f"pose + shape -> joints, b{FORWARD_BATCH}", ours_from_pose, smplx_forward,
                ours_label="axis-angle -> cached rest-joint regression -> fk_joints",
                reference_label="smplx.SMPL.forward (vertices + joints)", difference=_max_abs, tolerance=1e-5,
                difference_note="max |joint difference| (m)", notes="ours skips the mesh"),
    ]


def _ik_row() -> Comparison:
    """Batched neural IK against scipy least_squares(trf) one problem at a time, on the same problems."""
    smpl = load_smpl()
    inter = make_interactions(smpl, IK_PROBLEMS, "left_arm", seed=11)
    neural_cfg, trf_cfg = NeuralIKConfig(), TrustRegionConfig()
    device = torch.device("cpu")
    outputs: dict[str, torch.Tensor] = {}

    def neural() -> torch.Tensor:
        outputs["neural"] = solve_neural_ik(inter.problem, neural_cfg, device).reach
        return outputs["neural"]

    def trf() -> torch.Tensor:
        outputs["trf"] = solve_trust_region(inter.problem, trf_cfg).reach
        return outputs["trf"]

    row = compare(f"IK left arm, {IK_PROBLEMS} problems", neural, trf, ours_label="neural IK, all problems batched",
                  reference_label="scipy least_squares(trf), per problem",
                  difference=lambda o, r: max(0.0, float(o.mean() - r.mean())) * 1000.0, tolerance=5.0,
                  difference_note="mean reach distance of ours minus TRF's, mm (ours may be better)",
                  notes="reach = target joint to contact centroid")
    row.extra.update(neural_reach_mm=float(outputs["neural"].mean()) * 1000,
                     trf_reach_mm=float(outputs["trf"].mean()) * 1000)
    return row


@register_benchmark("kinematics")
def run() -> list[Comparison]:
    """All kinematics rows on one intra-op thread (CPU)."""
    with cpu_threads(1):
        return [*_fk_rows(), _ik_row()]


@register_throughput("kinematics")
def throughput(device: torch.device, tiny: bool) -> ThroughputProbe:
    """Neural IK (per-problem MLPs, batched) solving left-arm problems; data = make_interactions per batch."""
    smpl = load_smpl()
    batch = 4 if tiny else 1024
    inter = make_interactions(smpl, batch, "left_arm", seed=11)
    cfg = NeuralIKConfig(max_steps=5 if tiny else 50)

    def solve() -> None:
        solve_neural_ik(inter.problem, cfg, device)

    def batches() -> Iterator[object]:
        seed = 0
        while True:
            seed += 1
            yield make_interactions(smpl, batch, "left_arm", seed=seed)

    return ThroughputProbe(f"neural IK, {batch} left-arm problems per solve, {cfg.max_steps} steps max", solve,
                           batch, batches, batch, item="problems",
                           batches_note="problems generated with the stand-in SMPL (make_interactions)")
