"""Trust-region baseline (Coleman & Li 1996; scipy's TRF, Branch, Coleman & Li 1999) for the same IK problem.

Per problem, `scipy.optimize.least_squares(method="trf")` optimises the chain's local axis-angle deltas
(composed after the rough rotations, R_i = R^_i exp(x_i)) and the translation delta, with the same residuals
as the neural solver (sqrt(e1) * reach, sqrt(e2) * 2D root error) and box bounds |x_i,k| <= gamma,
|dt_k| <= dt_bound, and the same stopping rule (L_IK < stop_ratio * initial, via scipy's callback).
The residuals are a numpy mirror of the torch ones (checked equal in tests); the Jacobian is scipy's
default 2-point finite difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import OptimizeResult, least_squares
from scipy.spatial.transform import Rotation

from common.geometry import axis_angle_to_matrix
from kinematics.fk import ChainFK
from kinematics.neural_ik import finish_result, joint_gammas
from kinematics.objective import IKProblem, IKResult, LossWeights, rough_depth, uses_2d


@dataclass
class TrustRegionConfig:
    """Bounds (gamma in degrees per axis-angle component, dt_bound in metres) and scipy settings."""

    gamma_deg: float = 30.0
    use_2d: bool = True
    eps1: float = 1.0
    eps2: float = 1.0
    dt_bound: float = 1.0
    max_nfev: int = 200
    stop_ratio: float = 0.01
    target_mode: str = "mean_distance"
    ftol: float = 1e-8
    xtol: float = 1e-8
    gtol: float = 1e-8
    trunk_gamma_deg: float | None = None   # research option: bound for the chain's trunk joints (TRUNK_JOINTS)


class _NumpyChainResidual:
    """numpy mirror of the torch residuals for one problem (fast enough for scipy's finite differences)."""

    def __init__(self, problem: IKProblem, chain_fk: ChainFK, weights: LossWeights, depth: float) -> None:
        self.path = chain_fk.path
        self.rotation = problem.chain.rotation
        self.start_rot = chain_fk.start_rot[0].numpy()
        self.start_pos = chain_fk.start_pos[0].numpy()
        self.bones = chain_fk.bones[0].numpy()
        self.rough = chain_fk.rough_path_rot[0].numpy()
        self.transl = problem.rough_transl[0].numpy()
        self.root = problem.rest_joints[0, 0].numpy() + self.transl
        self.targets = problem.targets[0][problem.target_mask[0]].numpy()
        self.weights = weights
        self.use_2d = uses_2d(problem, weights)
        if self.use_2d:
            self.K = problem.K[0].numpy()
            self.root_2d = problem.root_2d[0].numpy()
        self.depth = depth

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Residuals [sqrt(e1) reach, sqrt(e2) 2D root error] for x = (axis-angle deltas, dt)."""
        n_rot = len(self.rotation)
        deltas = Rotation.from_rotvec(x[: 3 * n_rot].reshape(n_rot, 3)).as_matrix()
        dt = x[3 * n_rot:]
        rot, pos = self.start_rot, self.start_pos
        for k, j in enumerate(self.path):
            pos = pos + rot @ self.bones[k]
            if k == len(self.path) - 1:
                break
            local = self.rough[k] @ deltas[self.rotation.index(j)] if j in self.rotation else self.rough[k]
            rot = rot @ local
        return self._residuals(pos + self.transl + dt, dt)

    def _residuals(self, q: np.ndarray, dt: np.ndarray) -> np.ndarray:
        """Residual vector from the target joint position (camera frame) and the translation delta."""
        if self.weights.target_mode == "centroid":
            reach = np.linalg.norm(q - self.targets.mean(0))
        else:
            reach = np.linalg.norm(q - self.targets, axis=1).mean()
        res = [np.sqrt(self.weights.eps1) * reach]
        if self.use_2d:
            uvw = self.K @ (self.root + dt)
            focal = np.array([self.K[0, 0], self.K[1, 1]])
            res.extend(np.sqrt(self.weights.eps2) * (uvw[:2] / uvw[2] - self.root_2d) / focal * self.depth)
        return np.asarray(res)


def solve_trust_region(problem: IKProblem, cfg: TrustRegionConfig | None = None) -> IKResult:
    """Solve each problem with scipy TRF (sequentially, float64, CPU); same result layout as the neural IK."""
    cfg = cfg or TrustRegionConfig()
    problem = problem.to("cpu", torch.float64)
    weights = LossWeights(cfg.eps1, cfg.eps2 if cfg.use_2d else 0.0, cfg.target_mode)
    n_rot = len(problem.chain.rotation)
    gammas = joint_gammas(problem.chain.rotation, cfg, problem.chain.tree).numpy()
    lower = np.concatenate([-np.repeat(gammas, 3), np.full(3, -cfg.dt_bound)])
    rough_rot = axis_angle_to_matrix(problem.rough_pose)
    depths = rough_depth(problem)
    deltas, delta_ts, steps, losses, initial = [], [], [], [], []
    for b in range(problem.batch):
        single = problem.subset(slice(b, b + 1))
        chain_fk = ChainFK(rough_rot[b : b + 1], single.rest_joints, single.chain.parents,
                           single.chain.rotation, single.chain.target)
        fun = _NumpyChainResidual(single, chain_fk, weights, float(depths[b]))
        x0 = np.zeros(3 * n_rot + 3)
        xi = float((fun(x0) ** 2).sum())
        stop = _StopRule(cfg.stop_ratio * xi)
        sol = least_squares(fun, x0, bounds=(lower, -lower), method="trf", max_nfev=cfg.max_nfev,
                            ftol=cfg.ftol, xtol=cfg.xtol, gtol=cfg.gtol, callback=stop)
        initial.append(xi)
        losses.append(float((sol.fun ** 2).sum()))
        steps.append(int(sol.nfev))
        deltas.append(axis_angle_to_matrix(torch.from_numpy(sol.x[: 3 * n_rot]).reshape(n_rot, 3)))
        delta_ts.append(torch.from_numpy(sol.x[3 * n_rot:]))
    loss_t = torch.tensor(losses, dtype=torch.float64)
    init_t = torch.tensor(initial, dtype=torch.float64)
    return finish_result(problem, rough_rot, torch.stack(deltas), torch.stack(delta_ts), torch.tensor(steps),
                         loss_t, init_t, loss_t <= cfg.stop_ratio * init_t + 1e-12, {})


@dataclass
class _StopRule:
    """scipy callback: stop once L_IK (= 2 * cost) falls below the threshold (the paper's rule)."""

    threshold: float

    def __call__(self, intermediate_result: OptimizeResult) -> None:
        """Raise StopIteration when the current loss is below the threshold."""
        if 2.0 * intermediate_result.cost <= self.threshold:
            raise StopIteration
