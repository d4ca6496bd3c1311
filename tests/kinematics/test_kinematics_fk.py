"""Forward kinematics against smplx (random trees, stand-in SMPL/MANO) and twist-swing properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from smplx.lbs import batch_rigid_transform

from common.body import load_mano, load_smpl, mano_joints21
from common.geometry import axis_angle_to_matrix
from kinematics.body_adapter import mano_pose21, mano_rest_joints21, smpl_rest_joints
from kinematics.chains import MANO_CHAINS, SMPL_CHAINS
from kinematics.fk import (
    ChainFK,
    fk_joints,
    forward_kinematics,
    improved_fk,
    relative_transforms,
    tree_levels,
    twist_swing_delta,
)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fk_equals_smplx_batch_rigid_transform_on_random_trees(dtype: torch.dtype, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    n_joints = 5 + 10 * seed
    parents = [-1] + [int(torch.randint(0, i, (1,), generator=gen)) for i in range(1, n_joints)]
    rot = axis_angle_to_matrix(torch.randn(3, n_joints, 3, generator=gen, dtype=torch.float64)).to(dtype)
    rest = torch.randn(3, n_joints, 3, generator=gen, dtype=torch.float64).to(dtype)
    joints, world = forward_kinematics(rot, rest, parents)
    ref_joints, ref_rel = batch_rigid_transform(rot, rest, torch.tensor(parents))
    np.testing.assert_allclose(joints.numpy(), ref_joints.numpy(), atol=1e-5)
    np.testing.assert_allclose(relative_transforms(world, rest).numpy(), ref_rel.numpy(), atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_joints_only_fk_equals_smplx_at_batch_1024(dtype: torch.dtype) -> None:
    """The hot-path joints-only FK (no 4x4 transforms) gives smplx's joints on the SMPL tree (speed: benchmark)."""
    gen = torch.Generator().manual_seed(3)
    parents = SMPL_CHAINS["left_arm"].parents
    rot = axis_angle_to_matrix(0.4 * torch.randn(1024, 24, 3, generator=gen, dtype=torch.float64)).to(dtype)
    rest = torch.randn(1024, 24, 3, generator=gen, dtype=torch.float64).to(dtype)
    ref, _ = batch_rigid_transform(rot, rest, torch.tensor(parents))
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    np.testing.assert_allclose(fk_joints(rot, rest, parents).numpy(), ref.numpy(), atol=tol)


def test_rest_joint_regression_is_cached_and_follows_the_model() -> None:
    model = load_smpl()
    betas = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
    shaped = model.v_template.double()[None] + torch.einsum("bl,vkl->bvk", betas.double(), model.shapedirs.double())
    expected = torch.einsum("jv,bvk->bjk", model.J_regressor.double(), shaped)
    first = smpl_rest_joints(model, betas)
    np.testing.assert_allclose(first.numpy(), expected.numpy(), atol=1e-9)
    assert smpl_rest_joints(model, betas).data_ptr() != first.data_ptr()            # a fresh tensor every call
    with torch.no_grad():
        model.v_template += 0.1                                                      # in place: same buffer
    model.v_template = model.v_template.clone()                                      # replaced buffer: recomputed
    np.testing.assert_allclose(smpl_rest_joints(model, betas).numpy(), expected.numpy() + 0.1, atol=1e-6)


def test_tree_levels_rejects_bad_order() -> None:
    with pytest.raises(ValueError):
        tree_levels((-1, 2, 0))
    assert tree_levels((-1, 0, 1, 0)) == ((0,), (1, 3), (2,))


def test_fk_equals_smplx_smpl_joints_on_standin() -> None:
    model = load_smpl()
    gen = torch.Generator().manual_seed(0)
    pose = 0.5 * torch.randn(2, 24, 3, generator=gen)
    betas = torch.randn(2, 10, generator=gen)
    transl = torch.randn(2, 3, generator=gen)
    out = model(betas=betas, global_orient=pose[:, 0], body_pose=pose[:, 1:].reshape(2, 69), transl=transl)
    joints, _ = forward_kinematics(axis_angle_to_matrix(pose.double()), smpl_rest_joints(model, betas),
                                   SMPL_CHAINS["left_arm"].parents)
    np.testing.assert_allclose((joints + transl[:, None].double()).numpy(), out.joints[:, :24].detach().numpy(),
                               atol=1e-5)


def test_fk_equals_smplx_mano_joints21_on_standin() -> None:
    model = load_mano()
    gen = torch.Generator().manual_seed(1)
    params = {"global_orient": 0.5 * torch.randn(2, 3, generator=gen),
              "hand_pose": 0.4 * torch.randn(2, 45, generator=gen), "betas": torch.randn(2, 10, generator=gen)}
    out = model(**params)
    joints, _ = forward_kinematics(axis_angle_to_matrix(mano_pose21(model, params)),
                                   mano_rest_joints21(model, params["betas"]), MANO_CHAINS["index"].parents)
    np.testing.assert_allclose(joints.numpy(), mano_joints21(out, model).detach().numpy(), atol=1e-5)


def _arm_setup() -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]:
    model = load_smpl()
    rest = smpl_rest_joints(model, torch.zeros(1, 10))
    rough = axis_angle_to_matrix(0.3 * torch.randn(1, 24, 3, generator=torch.Generator().manual_seed(3)).double())
    return rest, rough, SMPL_CHAINS["left_arm"].parents


def test_pure_twist_leaves_child_fixed_and_swing_moves_it() -> None:
    rest, rough, parents = _arm_setup()
    elbow, wrist = 18, 20
    bone = rest[:, wrist] - rest[:, elbow]
    base, _ = forward_kinematics(rough, rest, parents)
    phi = torch.tensor([[0.7]], dtype=torch.float64)
    zero = torch.zeros(1, 1, dtype=torch.float64)
    twist = twist_swing_delta(phi.sin(), phi.cos(), zero, zero + 1, torch.randn(1, 1, 3).double(), bone[:, None])
    ids = torch.tensor([elbow])
    joints, _ = improved_fk(rough, rest, parents, ids, twist, torch.zeros(1, 3).double(), torch.zeros(1, 3).double())
    np.testing.assert_allclose(joints[:, wrist].numpy(), base[:, wrist].numpy(), atol=1e-12)
    assert (joints[:, 22] - base[:, 22]).norm() > 1e-3  # the hand (not on the bone axis) does turn
    alpha = torch.tensor([[0.4]], dtype=torch.float64)
    swing = twist_swing_delta(zero, zero + 1, alpha.sin(), alpha.cos(), torch.randn(1, 1, 3).double(), bone[:, None])
    moved, _ = improved_fk(rough, rest, parents, ids, swing, torch.zeros(1, 3).double(), torch.zeros(1, 3).double())
    before = base[:, wrist] - base[:, elbow]
    after = moved[:, wrist] - moved[:, elbow]
    angle = torch.acos((before * after).sum() / (before.norm() * after.norm()))
    assert math.isclose(float(angle), 0.4, abs_tol=1e-9)  # swing axis is made perpendicular to the bone


def test_twist_swing_is_swing_after_twist() -> None:
    gen = torch.Generator().manual_seed(4)
    bone, axis = torch.randn(5, 3, generator=gen).double(), torch.randn(5, 3, generator=gen).double()
    phi, alpha = torch.rand(5, generator=gen).double(), torch.rand(5, generator=gen).double()
    delta = twist_swing_delta(phi.sin(), phi.cos(), alpha.sin(), alpha.cos(), axis, bone)
    m = torch.nn.functional.normalize(bone, dim=-1)
    n = torch.nn.functional.normalize(axis - (axis * m).sum(-1, keepdim=True) * m, dim=-1)
    expected = axis_angle_to_matrix(n * alpha[:, None]) @ axis_angle_to_matrix(m * phi[:, None])
    np.testing.assert_allclose(delta.numpy(), expected.numpy(), atol=1e-12)


@pytest.mark.parametrize("chain", ["left_arm", "right_leg", "body"])
def test_chain_fk_matches_full_fk(chain: str) -> None:
    rest, rough, parents = _arm_setup()
    spec = SMPL_CHAINS[chain]
    delta = axis_angle_to_matrix(0.3 * torch.randn(1, len(spec.rotation), 3, dtype=torch.float64))
    full, _ = improved_fk(rough, rest, parents, torch.tensor(spec.rotation), delta, torch.zeros(1, 3).double(),
                          torch.zeros(1, 3).double())
    fast = ChainFK(rough, rest, parents, spec.rotation, spec.target).target_position(delta)
    np.testing.assert_allclose(fast.numpy(), full[:, spec.target].numpy(), atol=1e-12)
