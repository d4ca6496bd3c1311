"""Trust-region baseline (Coleman & Li 1996; scipy's TRF, Branch, Coleman & Li 1999) for the same IK problem.

Per problem, `scipy.optimize.least_squares(method="trf")` optimises the chain's local axis-angle deltas
(composed after the rough rotations, R_i = R^_i exp(x_i)) and the translation delta, with the same residuals
as the neural solver (sqrt(e1) * reach, sqrt(e2) * 2D root error) and box bounds |x_i,k| <= gamma,
|dt_k| <= dt_bound. The Jacobian comes from torch autograd (exact), evaluated on the chain-only FK.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import least_squares
from torch import Tensor

from common.geometry import axis_angle_to_matrix
from kinematics.fk import ChainFK
from kinematics.neural_ik import chain_key_joints, finish_result
from kinematics.objective import IKProblem, IKResult, LossWeights, ik_residuals, rough_depth


@dataclass
class TrustRegionConfig:
    """Bounds (gamma in degrees per axis-angle component, dt_bound in metres) and scipy settings."""

    gamma_deg: float = 30.0
    use_2d: bool = True
    eps1: float = 1.0
    eps2: float = 1.0
    dt_bound: float = 1.0
    max_nfev: int = 200
    target_mode: str = "mean_distance"
    ftol: float = 1e-8
    xtol: float = 1e-8
    gtol: float = 1e-8


def solve_trust_region(problem: IKProblem, cfg: TrustRegionConfig | None = None) -> IKResult:
    """Solve each problem with scipy TRF (sequentially, float64, CPU); same result layout as the neural IK."""
    cfg = cfg or TrustRegionConfig()
    problem = problem.to("cpu", torch.float64)
    weights = LossWeights(cfg.eps1, cfg.eps2 if cfg.use_2d else 0.0, cfg.target_mode)
    n_rot = len(problem.chain.rotation)
    gamma = math.radians(cfg.gamma_deg)
    lower = np.concatenate([np.full(3 * n_rot, -gamma), np.full(3, -cfg.dt_bound)])
    rough_rot = axis_angle_to_matrix(problem.rough_pose)
    deltas, delta_ts, steps, losses, initial = [], [], [], [], []
    for b in range(problem.batch):
        single = problem.subset(slice(b, b + 1))
        chain_fk = ChainFK(rough_rot[b : b + 1], single.rest_joints, single.chain.parents,
                           single.chain.rotation, single.chain.target)
        depth = rough_depth(single)

        def residual_t(x: Tensor, single: IKProblem = single, chain_fk: ChainFK = chain_fk,
                       depth: Tensor = depth) -> Tensor:
            delta = axis_angle_to_matrix(x[: 3 * n_rot].reshape(1, n_rot, 3))
            joints = chain_key_joints(chain_fk, delta, single, x[None, 3 * n_rot:])
            return ik_residuals(joints, single, weights, depth)[0]

        def fun(x: np.ndarray, residual_t=residual_t) -> np.ndarray:
            return residual_t(torch.from_numpy(x)).numpy()

        def jac(x: np.ndarray, residual_t=residual_t) -> np.ndarray:
            return torch.func.jacfwd(residual_t)(torch.from_numpy(x)).numpy()

        x0 = np.zeros(3 * n_rot + 3)
        sol = least_squares(fun, x0, jac=jac, bounds=(lower, -lower), method="trf", max_nfev=cfg.max_nfev,
                            ftol=cfg.ftol, xtol=cfg.xtol, gtol=cfg.gtol)
        initial.append(float((fun(x0) ** 2).sum()))
        losses.append(float((sol.fun ** 2).sum()))
        steps.append(int(sol.nfev))
        deltas.append(axis_angle_to_matrix(torch.from_numpy(sol.x[: 3 * n_rot]).reshape(n_rot, 3)))
        delta_ts.append(torch.from_numpy(sol.x[3 * n_rot:]))
    loss_t = torch.tensor(losses, dtype=torch.float64)
    init_t = torch.tensor(initial, dtype=torch.float64)
    return finish_result(problem, rough_rot, torch.stack(deltas), torch.stack(delta_ts),
                         torch.tensor(steps), loss_t, init_t, loss_t <= 0.01 * init_t + 1e-12, {})
