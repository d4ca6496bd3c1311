"""`solve_contact(s)`: the refinement entry points other pipelines call (SMPL body chains or MANO fingers)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
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
from kinematics.neural_ik import NeuralIKConfig, solve_neural_ik_batch
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
                  K: Tensor | None = None, keys: Tensor | None = None) -> IKProblem:
    """IKProblem (float64) from smplx parameters (SMPL: global_orient, body_pose, betas, transl; MANO:
    global_orient, hand_pose, betas, transl) and contact points (B,N,3) in the same frame (metres); keys (B,)
    the problems' MLP initialisation keys (None = 0..B-1)."""
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
                     f64(root_2d), f64(K), keys)


@dataclass
class ContactRequest:
    """A batch of B contact problems on one chain: smplx parameters, contact points (B,N,3) or (N,3) in the same
    frame (metres), optional mask (B,N), 2D root (B,2) pixels + K (B,3,3), and the problems' MLP init keys (B,)."""

    body_params: dict[str, Tensor]
    chain: str | KinematicChain
    target_points: Tensor
    target_mask: Tensor | None = None
    root_2d: Tensor | None = None
    K: Tensor | None = None
    keys: Tensor | None = None


def _chunks(sizes: list[int], batch_size: int) -> list[list[tuple[int, slice]]]:
    """Rows of consecutive batches (sizes) cut into chunks of at most batch_size rows (0: one chunk)."""
    rows = [(i, r) for i, n in enumerate(sizes) for r in range(n)]
    step = batch_size if batch_size > 0 else max(len(rows), 1)
    chunks = []
    for start in range(0, len(rows), step):
        pieces: dict[int, list[int]] = {}
        for i, r in rows[start : start + step]:
            pieces.setdefault(i, []).append(r)
        chunks.append([(i, slice(r[0], r[-1] + 1)) for i, r in pieces.items()])
    return chunks


def concat_results(results: list[IKResult]) -> IKResult:
    """The results of consecutive pieces of one batch as one IKResult."""
    if len(results) == 1:
        return results[0]
    names = [f.name for f in fields(IKResult) if f.name != "extras"]
    merged = {n: torch.cat([getattr(r, n) for r in results]) for n in names}
    extras = {k: torch.cat([r.extras[k] for r in results]) for k in results[0].extras}
    return IKResult(**merged, extras=extras)


def solve_problems(problems: list[IKProblem], cfg: NeuralIKConfig | TrustRegionConfig, solver: str = "neural",
                   batch_size: int = 0) -> list[IKResult]:
    """One result per problem batch. neural: every problem of every batch in solves of at most `batch_size`
    problems (0 = all in one solve; 1 = one problem per solve), each problem's result independent of the
    chunking (solve_neural_ik_batch); trust_region: scipy TRF problem by problem."""
    if solver == "trust_region":
        return [solve_trust_region(p, cfg) for p in problems]
    if solver != "neural":
        raise ValueError(f"solver={solver!r}: choose 'neural' or 'trust_region'")
    pieces: list[list[IKResult]] = [[] for _ in problems]
    for chunk in _chunks([p.batch for p in problems], batch_size):
        solved = solve_neural_ik_batch([problems[i].subset(rows) for i, rows in chunk], cfg)
        for (i, _), result in zip(chunk, solved):
            pieces[i].append(result)
    return [concat_results(r) for r in pieces]


def solve_contacts(requests: list[ContactRequest], model: torch.nn.Module | None = None, *,
                   cfg: NeuralIKConfig | TrustRegionConfig | dict | None = None, solver: str = "neural",
                   batch_size: int = 0, return_vertices: bool = True) -> list[dict[str, Any]]:
    """`solve_contact` for several batches (chains of one tree) at once: the neural IK solves all their problems
    together in chunks of `batch_size` problems (0 = one solve); one output dict per request, as solve_contact."""
    chains = [get_chain(r.chain) for r in requests]
    if model is None:
        model = load_smpl() if chains[0].tree == "smpl" else load_mano()
    device = requests[0].body_params["global_orient"].device
    model = model.to(device)
    problems = [build_problem(r.body_params, c, r.target_points, model, r.target_mask, r.root_2d, r.K, r.keys)
                .to(device, torch.float64) for r, c in zip(requests, chains)]
    results = solve_problems(problems, _config(cfg, solver), solver, batch_size)
    return [_outputs(r.body_params, c, p, res, model, return_vertices)
            for r, c, p, res in zip(requests, chains, problems, results)]


def _outputs(body_params: dict[str, Tensor], chain: KinematicChain, problem: IKProblem, result: IKResult,
             model: torch.nn.Module, return_vertices: bool) -> dict[str, Any]:
    """solve_contact's output dict of one solved batch."""
    device = body_params["global_orient"].device
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


def solve_contact(body_params: dict[str, Tensor], chain_name: str | KinematicChain, target_points: Tensor,
                  model: torch.nn.Module | None = None, *, target_mask: Tensor | None = None,
                  root_2d: Tensor | None = None, K: Tensor | None = None,
                  cfg: NeuralIKConfig | TrustRegionConfig | dict | None = None, solver: str = "neural",
                  return_vertices: bool = True, keys: Tensor | None = None) -> dict[str, Any]:
    """Drive `chain_name`'s target joint onto the contact points; returns refined params/joints/verts.

    chain_name: a KinematicChain (e.g. `part_chain("left_forearm")` for a BEHAVE part), a paper SMPL chain
    (left_arm, right_arm, left_leg, right_leg, body), a short ablation chain (`left_arm_short`, ...) or a
    MANO finger (thumb, index, middle, ring, little). model: the smplx SMPL/MANO
    the parameters belong to (default: common.body.load_smpl()/load_mano()). root_2d (B,2) pixels + K (B,3,3)
    enable the 2D root term (then params/targets must be in that camera's frame). solver: "neural" (paper)
    or "trust_region" (baseline). keys (B,): the problems' MLP initialisation keys (default 0..B-1). Output keys:
    params (same keys as body_params), joints (B,J,3), vertices (B,V,3) or None, reach (B,) m = target joint to
    the contact centroid, mean_distance (B,) m = mean distance of the target joint to the valid contact points
    (the eq. 14 term), steps, loss, initial_loss, converged (B,), result (IKResult), chain (the KinematicChain
    solved).
    """
    request = ContactRequest(body_params, chain_name, target_points, target_mask, root_2d, K, keys)
    return solve_contacts([request], model, cfg=cfg, solver=solver, return_vertices=return_vertices)[0]
