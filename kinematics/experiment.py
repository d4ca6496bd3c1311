"""Runs a solver on the synthetic interaction benchmark and scores it (used by api, reproduce, benchmark)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from common.geometry import axis_angle_to_matrix
from kinematics.config import KinematicsDataConfig, KinematicsModelConfig
from kinematics.evaluation import score, smpl_vertices
from kinematics.fk import fk_joints
from kinematics.neural_ik import NeuralIKConfig, solve_neural_ik
from kinematics.objective import IKResult, reach_distance
from kinematics.synthetic import Interactions, NoiseConfig, make_interactions
from kinematics.trust_region import TrustRegionConfig, solve_trust_region


@contextlib.contextmanager
def cpu_threads(n: int = 1) -> Iterator[None]:
    """Temporarily limit torch's intra-op CPU threads (the solvers run many tiny ops; threads only add
    synchronisation cost, badly so on a shared machine); restores the previous setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass
class BenchmarkCase:
    """One chain's interactions with ground-truth joints (B,24,3) and vertices (B,6890,3)."""

    inter: Interactions
    gt_joints: torch.Tensor
    gt_vertices: np.ndarray


def make_cases(model: torch.nn.Module, data: KinematicsDataConfig) -> list[BenchmarkCase]:
    """The benchmark problems: `problems_per_chain` interactions for each chain, seeded."""
    noise = NoiseConfig(data.rot_std, tuple(data.transl_std), data.root_2d_std)
    cases = []
    for k, chain in enumerate(data.chains):
        inter = make_interactions(model, data.problems_per_chain, chain, data.seed + 1000 * k, noise,
                                  data.n_contact, data.contact_radius, data.chain_set)
        p = inter.problem
        gt = fk_joints(axis_angle_to_matrix(inter.gt_pose), p.rest_joints, p.chain.parents)
        gt = gt + inter.gt_transl[:, None]
        cases.append(BenchmarkCase(inter, gt, smpl_vertices(model, inter.gt_pose, inter.betas, inter.gt_transl)))
    return cases


def solver_configs(model_cfg: KinematicsModelConfig, max_steps: int, lr: float, seed: int = 0
                   ) -> NeuralIKConfig | TrustRegionConfig:
    """The solver dataclass for a validated model config (trainer.max_steps / lr = online solver steps / lr)."""
    if model_cfg.solver == "neural":
        return NeuralIKConfig(gamma_deg=model_cfg.gamma_deg, use_tanh=model_cfg.use_tanh, use_2d=model_cfg.use_2d,
                              eps1=model_cfg.eps1, eps2=model_cfg.eps2, hidden=model_cfg.hidden,
                              depth=model_cfg.depth, lr=lr, max_steps=max_steps, stop_ratio=model_cfg.stop_ratio,
                              patience=model_cfg.patience, dt_scale=model_cfg.dt_scale,
                              target_mode=model_cfg.target_mode, seed=seed,
                              trunk_gamma_deg=model_cfg.trunk_gamma_deg)
    if model_cfg.solver == "trust_region":
        return TrustRegionConfig(gamma_deg=model_cfg.gamma_deg, use_2d=model_cfg.use_2d, eps1=model_cfg.eps1,
                                 eps2=model_cfg.eps2, dt_bound=model_cfg.dt_bound, max_nfev=model_cfg.max_nfev,
                                 stop_ratio=model_cfg.stop_ratio, target_mode=model_cfg.target_mode,
                                 trunk_gamma_deg=model_cfg.trunk_gamma_deg)
    raise ValueError(f"model.solver={model_cfg.solver!r}: choose 'neural' or 'trust_region'")


def rough_result(inter: Interactions, gt_joints_like: torch.Tensor) -> IKResult:
    """The unrefined input as an IKResult (the trivial baseline)."""
    p = inter.problem
    joints = fk_joints(axis_angle_to_matrix(p.rough_pose), p.rest_joints, p.chain.parents)
    joints = joints + p.rough_transl[:, None]
    zeros = torch.zeros(p.batch, dtype=torch.float64)
    return IKResult(p.rough_pose, axis_angle_to_matrix(p.rough_pose), p.rough_transl, joints,
                    zeros.long(), zeros, zeros, reach_distance(joints, p), torch.zeros(p.batch, dtype=torch.bool))


def run_solver(cases: list[BenchmarkCase], model: torch.nn.Module, solver_cfg: NeuralIKConfig | TrustRegionConfig
               | None, device: torch.device | None = None) -> tuple[dict[str, float], list[IKResult]]:
    """Solve every case (None = rough input), score; metrics are means over chains, plus solves_per_s."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    per_chain, results, elapsed, count = [], [], 0.0, 0
    for case in cases:
        start = time.perf_counter()
        if solver_cfg is None:
            result = rough_result(case.inter, case.gt_joints)
        elif isinstance(solver_cfg, NeuralIKConfig):
            result = solve_neural_ik(case.inter.problem, solver_cfg, device)
        else:
            result = solve_trust_region(case.inter.problem, solver_cfg)
        elapsed += time.perf_counter() - start
        count += case.inter.problem.batch
        results.append(result)
        per_chain.append(score(result, case.inter, model, case.gt_joints, case.gt_vertices))
    metrics = {key: float(np.mean([m[key] for m in per_chain])) for key in per_chain[0]}
    metrics["nonchain_change_rad"] = float(max(m["nonchain_change_rad"] for m in per_chain))
    metrics["solves_per_s"] = count / max(elapsed, 1e-9)
    return metrics, results
