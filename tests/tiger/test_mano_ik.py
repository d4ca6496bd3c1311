"""Analytic IK (common/body/mano_ik.py) against the stand-in MANO's own forward pass (smplx)."""

from __future__ import annotations

import torch
from smplx.lbs import batch_rodrigues

from common.body import load_mano, mano_joints21
from common.body.mano_ik import kabsch_rotation, mano_joints_from_pose, solve_mano_ik


def test_ik_recovers_joints_of_random_poses_within_1mm() -> None:
    mano = load_mano()
    gen = torch.Generator().manual_seed(0)
    batch = 32
    global_orient = torch.randn(batch, 3, generator=gen)
    hand_pose = 0.3 * torch.randn(batch, 45, generator=gen)
    betas = 0.5 * torch.randn(batch, 10, generator=gen)
    transl = 0.2 * torch.randn(batch, 3, generator=gen)
    out = mano(global_orient=global_orient, hand_pose=hand_pose, betas=betas, transl=transl)
    joints = mano_joints21(out, mano)
    result = solve_mano_ik(joints, mano, betas)
    _, recon = mano_joints_from_pose(mano, result, betas)
    error = (recon - joints).norm(dim=-1)
    assert bool(result.valid.all())
    assert float(error.max()) < 1e-3
    # The global rotation is fully determined by the palm, so it must match the generating one.
    assert torch.allclose(batch_rodrigues(result.global_orient), batch_rodrigues(global_orient), atol=1e-4)


def test_kabsch_matches_known_rotation() -> None:
    gen = torch.Generator().manual_seed(1)
    rot = batch_rodrigues(torch.randn(4, 3, generator=gen))
    src = torch.randn(4, 5, 3, generator=gen)
    dst = src @ rot.transpose(1, 2)
    est, valid = kabsch_rotation(src, dst)
    assert bool(valid.all())
    assert torch.allclose(est, rot, atol=1e-5)
