"""`solve_contact`: the refinement entry point other pipelines call (SMPL body chains or MANO fingers)."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

import torch
from torch import Tensor

from common.body import load_mano, load_smpl
from kinematics.body_adapter import (
    mano_params_from_pose21,
    mano_pose21,
    mano_rest_joints21,
    smpl_params_from_pose,
    smpl_pose,
    smpl_rest_joints,
)
from kinematics.chains import KinematicChain, get_chain
from kinematics.neural_ik import NeuralIKConfig, solve_neural_ik
from kinematics.objective import IKProblem, IKResult, reach_distance
from kinematics.trust_region import TrustRegionConfig, solve_trust_region


def _config(cfg: NeuralIKConfig | TrustRegionConfig | dict | None, solver: str
            ) -> NeuralIKConfig | TrustRegionConfig:
    """Solver config from a dataclass, a (possibly partial) dict, or None (defaults)."""
    cls = NeuralIKConfig if solver == "neural" else TrustRegionConfig
    if cfg is None:
        return cls()
    if isinstance(cfg, cls):
        return cfg
    values = asdict(cfg) if not isinstance(cfg, dict) else dict(cfg)
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in known})


def build_problem(body_params: dict[str, Tensor], chain: KinematicChain, target_points: Tensor,
                  model: torch.nn.Module, target_mask: Tensor | None = None, root_2d: Tensor | None = None,
                  K: Tensor | None = None) -> IKProblem:
    """IKProblem (float64) from smplx parameters (SMPL: global_orient, body_pose, betas, transl; MANO:
    global_orient, hand_pose, betas, transl) and contact points (B,N,3) in the same frame (metres)."""
    batch = body_params["global_orient"].shape[0]
    betas = body_params.get("betas")
    if betas is None:
        betas = torch.zeros(batch, model.shapedirs.shape[-1], device=body_params["global_orient"].device)
    transl = body_params.get("transl")
    if transl is None:
        transl = torch.zeros(batch, 3, device=body_params["global_orient"].device)
    if chain.tree == "smpl":
        rest, pose = smpl_rest_joints(model, betas), smpl_pose(body_params)
    else:
        rest, pose = mano_rest_joints21(model, betas), mano_pose21(model, body_params)
    targets = target_points if target_points.dim() == 3 else target_points[None].expand(batch, -1, -1)
    def f64(x: Tensor | None) -> Tensor | None:
        return None if x is None else x.double()

    return IKProblem(chain, rest.double(), pose.double(), transl.double(), targets.double(), target_mask,
                     f64(root_2d), f64(K))


def solve_contact(body_params: dict[str, Tensor], chain_name: str | KinematicChain, target_points: Tensor,
                  model: torch.nn.Module | None = None, *, target_mask: Tensor | None = None,
                  root_2d: Tensor | None = None, K: Tensor | None = None,
                  cfg: NeuralIKConfig | TrustRegionConfig | dict | None = None, solver: str = "neural",
                  return_vertices: bool = True) -> dict[str, Any]:
    """Drive `chain_name`'s target joint onto the contact points; returns refined params/joints/verts.

    chain_name: a KinematicChain (e.g. `part_chain("left_forearm")` for a BEHAVE part), a paper SMPL chain
    (left_arm, right_arm, left_leg, right_leg, body), a short ablation chain (`left_arm_short`, ...) or a
    MANO finger (thumb, index, middle, ring, little). model: the smplx SMPL/MANO
    the parameters belong to (default: common.body.load_smpl()/load_mano()). root_2d (B,2) pixels + K (B,3,3)
    enable the 2D root term (then params/targets must be in that camera's frame). solver: "neural" (paper)
    or "trust_region" (baseline). Output keys: params (same keys as body_params), joints (B,J,3), vertices
    (B,V,3) or None, reach (B,) m = target joint to the contact centroid, mean_distance (B,) m = mean
    distance of the target joint to the valid contact points (the eq. 14 term), steps, loss, initial_loss,
    converged (B,), result (IKResult), chain (the KinematicChain solved).
    """
    chain = get_chain(chain_name)
    if model is None:
        model = load_smpl() if chain.tree == "smpl" else load_mano()
    device = body_params["global_orient"].device
    model = model.to(device)
    problem = build_problem(body_params, chain, target_points, model, target_mask, root_2d, K).to(device, torch.float64)
    solver_cfg = _config(cfg, solver)
    if solver == "neural":
        result: IKResult = solve_neural_ik(problem, solver_cfg)
    elif solver == "trust_region":
        result = solve_trust_region(problem, solver_cfg)
    else:
        raise ValueError(f"solver={solver!r}: choose 'neural' or 'trust_region'")
    pose, transl, joints = result.pose.to(device), result.transl.to(device), result.joints.to(device)
    if chain.tree == "smpl":
        params = smpl_params_from_pose(pose, body_params, transl)
    else:
        params = mano_params_from_pose21(model, pose, body_params, transl)
    vertices = None
    if return_vertices:
        with torch.no_grad():
            vertices = model(**{k: v.to(model.shapedirs.dtype) for k, v in params.items()}).vertices
    return {"params": params, "joints": joints, "vertices": vertices, "reach": result.reach.to(device),
            "mean_distance": reach_distance(joints, problem, "mean_distance"), "steps": result.steps,
            "loss": result.loss, "initial_loss": result.initial_loss, "converged": result.converged,
            "result": result, "chain": chain}
