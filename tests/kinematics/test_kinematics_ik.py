"""Neural IK and trust-region solvers: bounds, frozen joints, reach, the 2D root term, same residuals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from common.body import load_mano, load_smpl, mano_joints21
from common.geometry import axis_angle_to_matrix, project
from kinematics import solve_contact
from kinematics.chains import part_chain
from kinematics.fk import ChainFK, forward_kinematics
from kinematics.neural_ik import NeuralIKConfig, solve_neural_ik
from kinematics.objective import LossWeights, key_residuals, rough_depth
from kinematics.synthetic import NoiseConfig, make_interactions
from kinematics.trust_region import TrustRegionConfig, _NumpyChainResidual, solve_trust_region


@pytest.fixture(scope="module")
def smpl():
    torch.set_num_threads(1)
    return load_smpl()


@pytest.fixture(scope="module")
def arm_problems(smpl):
    return make_interactions(smpl, 6, "left_arm", seed=3)


@pytest.mark.parametrize("gamma", [30.0, 60.0])
def test_tanh_bound_and_frozen_joints(arm_problems, gamma: float) -> None:
    result = solve_neural_ik(arm_problems.problem, NeuralIKConfig(gamma_deg=gamma, max_steps=60, lr=0.05))
    bound = math.radians(gamma) + 1e-6
    assert result.extras["phi"].abs().max() <= bound and result.extras["alpha"].abs().max() <= bound
    chain = arm_problems.problem.chain
    off_chain = [j for j in range(24) if j not in chain.rotation]
    assert torch.equal(result.pose[:, off_chain], arm_problems.problem.rough_pose[:, off_chain])
    assert torch.equal(result.rot_mats[:, off_chain],
                       axis_angle_to_matrix(arm_problems.problem.rough_pose)[:, off_chain])
    on_chain = list(chain.rotation)
    assert not torch.equal(result.pose[:, on_chain], arm_problems.problem.rough_pose[:, on_chain])


def test_plain_mlp_ablation_can_exceed_gamma(arm_problems) -> None:
    cfg = NeuralIKConfig(gamma_deg=5.0, use_tanh=False, max_steps=150, lr=0.05, stop_ratio=1e-6, patience=500)
    result = solve_neural_ik(arm_problems.problem, cfg)
    assert max(result.extras["phi"].abs().max(), result.extras["alpha"].abs().max()) > math.radians(5.0)


def test_reaches_reachable_target_within_1cm(smpl) -> None:
    inter = make_interactions(smpl, 8, "right_leg", seed=5, noise=NoiseConfig(rot_std=0.2, root_2d_std=0.0))
    cfg = NeuralIKConfig(target_mode="centroid", stop_ratio=1e-5, max_steps=400, lr=0.02, patience=100)
    result = solve_neural_ik(inter.problem, cfg)
    p = inter.problem
    rough_joints = forward_kinematics(axis_angle_to_matrix(p.rough_pose), p.rest_joints, p.chain.parents)[0]
    centroid = p.targets.mean(1)
    assert float((rough_joints[:, 11] + p.rough_transl - centroid).norm(dim=-1).min()) > 0.02
    assert float(result.reach.max()) < 0.01
    np.testing.assert_allclose(result.reach.numpy(), (result.joints[:, 11] - centroid).norm(dim=-1).numpy(), atol=1e-9)


def test_l2d_pulls_projected_root_onto_2d_root(smpl) -> None:
    noise = NoiseConfig(rot_std=0.05, transl_std=(0.15, 0.15, 0.0), root_2d_std=0.0)
    inter = make_interactions(smpl, 6, "left_arm", seed=7, noise=noise)
    p = inter.problem

    def root_px_error(transl: torch.Tensor) -> torch.Tensor:
        root = p.rest_joints[:, 0] + transl
        return (project(root[:, None], p.K)[:, 0] - p.root_2d).norm(dim=-1)

    cfg = dict(max_steps=300, lr=0.02, stop_ratio=1e-5, patience=100, target_mode="centroid")
    with_2d = solve_neural_ik(p, NeuralIKConfig(use_2d=True, eps2=10.0, **cfg))
    without = solve_neural_ik(p, NeuralIKConfig(use_2d=False, **cfg))
    before = root_px_error(p.rough_transl)
    assert float(before.min()) > 10.0
    assert float(root_px_error(with_2d.transl).max()) < 0.2 * float(before.min())
    assert float(root_px_error(with_2d.transl).mean()) < float(root_px_error(without.transl).mean())


def test_trust_region_uses_the_same_residuals(arm_problems) -> None:
    p = arm_problems.problem.subset(slice(0, 1))
    rough = axis_angle_to_matrix(p.rough_pose)
    chain_fk = ChainFK(rough, p.rest_joints, p.chain.parents, p.chain.rotation, p.chain.target)
    depth = rough_depth(p)
    weights = LossWeights()
    fun = _NumpyChainResidual(p, chain_fk, weights, float(depth[0]))
    x = np.random.default_rng(0).normal(scale=0.3, size=3 * len(p.chain.rotation) + 3)
    delta = axis_angle_to_matrix(torch.from_numpy(x[:-3]).reshape(1, -1, 3))
    shift = p.rough_transl + torch.from_numpy(x[None, -3:])
    torch_res = key_residuals(p.rest_joints[:, 0] + shift, chain_fk.target_position(delta) + shift, p, weights, depth)
    np.testing.assert_allclose(fun(x), torch_res[0].numpy(), atol=1e-10)


def test_trust_region_respects_bounds_and_improves(arm_problems) -> None:
    p = arm_problems.problem.subset(slice(0, 3))
    result = solve_trust_region(p, TrustRegionConfig(gamma_deg=30.0))
    assert torch.all(result.loss < result.initial_loss)
    off_chain = [j for j in range(24) if j not in p.chain.rotation]
    assert torch.equal(result.pose[:, off_chain], p.rough_pose[:, off_chain])
    on_chain = list(p.chain.rotation)
    rel = axis_angle_to_matrix(p.rough_pose[:, on_chain]).transpose(-1, -2) @ result.rot_mats[:, on_chain]
    angle = torch.acos(((rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1))
    assert float(angle.max()) <= math.sqrt(3) * math.radians(30.0) + 1e-6


def test_solve_contact_refines_smplx_params(smpl) -> None:
    gen = torch.Generator().manual_seed(2)
    params = {"global_orient": torch.zeros(2, 3), "body_pose": 0.1 * torch.randn(2, 69, generator=gen),
              "betas": torch.zeros(2, 10), "transl": torch.zeros(2, 3)}
    target = smpl(**params).joints[:, 23].detach() + torch.tensor([0.0, -0.08, 0.06])
    out = solve_contact(params, part_chain("right_forearm"), target[:, None], smpl,
                        cfg={"stop_ratio": 1e-5, "max_steps": 300, "lr": 0.02, "target_mode": "centroid"})
    posed = smpl(**out["params"])
    np.testing.assert_allclose(posed.joints[:, :24].detach().numpy(), out["joints"].numpy(), atol=1e-5)
    assert float((posed.joints[:, 23] - target).norm(dim=-1).max()) < 0.01
    body_pose_in = params["body_pose"].reshape(2, 23, 3)
    body_pose_out = out["params"]["body_pose"].reshape(2, 23, 3)
    off_chain = [j - 1 for j in range(1, 24) if j not in part_chain("right_forearm").rotation]
    assert torch.equal(body_pose_out[:, off_chain], body_pose_in[:, off_chain])
    assert out["vertices"].shape == (2, 6890, 3)
    assert torch.all(out["mean_distance"] >= out["reach"] - 1e-12)


def test_solve_contact_on_mano_finger() -> None:
    mano = load_mano()
    gen = torch.Generator().manual_seed(4)
    params = {"global_orient": torch.zeros(3, 3), "hand_pose": 0.1 * torch.randn(3, 45, generator=gen),
              "betas": torch.zeros(3, 10), "transl": torch.zeros(3, 3)}
    target = mano_joints21(mano(**params), mano)[:, 8].detach() + torch.tensor([0.0, -0.02, 0.005])
    out = solve_contact(params, "index", target[:, None], mano,
                        cfg={"stop_ratio": 1e-5, "max_steps": 300, "lr": 0.02, "target_mode": "centroid"})
    joints = mano_joints21(mano(**out["params"]), mano)
    np.testing.assert_allclose(joints.detach().numpy(), out["joints"].numpy(), atol=1e-5)
    assert float((joints[:, 8] - target).norm(dim=-1).max()) < 0.005
    hand_in, hand_out = params["hand_pose"].reshape(3, 15, 3), out["params"]["hand_pose"].reshape(3, 15, 3)
    assert torch.equal(hand_out[:, 3:], hand_in[:, 3:])  # MANO joints 4..15 (not the index finger) untouched
