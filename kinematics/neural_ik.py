"""Neural IK solver (paper Fig. 4, eqs. 11-14): one small MLP per problem, optimised online, all batched.

Every problem b has its own MLP weights (stacked into (B, ...) tensors and applied with batched matmuls), so
B independent problems are solved at once on CPU or GPU; Adam is element-wise, so summing the B losses
keeps the optimisations independent. A problem stops (its outputs are frozen) when L_IK < stop_ratio * xi,
xi being its initial loss, or at max_steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from common.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from kinematics.fk import improved_fk, twist_swing_delta
from kinematics.objective import IKProblem, IKResult, LossWeights, ik_residuals, reach_distance, rough_depth


@dataclass
class NeuralIKConfig:
    """Solver settings; gamma bounds |phi|, |alpha| (degrees); use_tanh=False is the plain-MLP ablation."""

    gamma_deg: float = 30.0
    use_tanh: bool = True
    use_2d: bool = True
    eps1: float = 1.0
    eps2: float = 1.0
    hidden: int = 32
    depth: int = 2
    lr: float = 3e-3
    max_steps: int = 300
    stop_ratio: float = 0.01
    dt_scale: float = 0.1
    seed: int = 0


class BatchedMLP:
    """B independent MLPs (in -> hidden^depth -> out, ReLU) stored as stacked weights; last layer zero."""

    def __init__(self, batch: int, n_in: int, n_out: int, hidden: int, depth: int, out_bias: Tensor,
                 generator: torch.Generator, device: torch.device, dtype: torch.dtype) -> None:
        sizes = [n_in] + [hidden] * depth
        self.weights: list[Tensor] = []
        self.biases: list[Tensor] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            w = torch.randn(batch, fan_in, fan_out, generator=generator, dtype=dtype) * math.sqrt(2.0 / fan_in)
            self.weights.append(w.to(device).requires_grad_())
            self.biases.append(torch.zeros(batch, fan_out, device=device, dtype=dtype, requires_grad=True))
        self.weights.append(torch.zeros(batch, sizes[-1], n_out, device=device, dtype=dtype, requires_grad=True))
        self.biases.append(out_bias.to(device=device, dtype=dtype).clone().requires_grad_())

    def parameters(self) -> list[Tensor]:
        """All weight and bias tensors (leaves)."""
        return self.weights + self.biases

    def __call__(self, x: Tensor) -> Tensor:
        """(B, in) -> (B, out)."""
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b[:, None], x[:, None], w)[:, 0]
            if k < len(self.weights) - 1:
                x = torch.relu(x)
        return x


def bounded_sin_cos(y: Tensor, gamma: float, use_tanh: bool) -> tuple[Tensor, Tensor]:
    """Eq. (12): sin = sin(gamma) tanh(y), cos = sqrt(1 - sin^2); plain ablation: angle = y (radians)."""
    if use_tanh:
        s = math.sin(gamma) * torch.tanh(y)
        return s, (1.0 - s * s).clamp_min(0.0).sqrt()
    return torch.sin(y), torch.cos(y)


def _decode(out: Tensor, n_rot: int, cfg: NeuralIKConfig) -> dict[str, Tensor]:
    """Split MLP outputs into (sin, cos) of phi and alpha, the swing axis and dt (metres)."""
    gamma = math.radians(cfg.gamma_deg)
    y = out[:, : 5 * n_rot].reshape(-1, n_rot, 5)
    sin_phi, cos_phi = bounded_sin_cos(y[..., 0], gamma, cfg.use_tanh)
    sin_alpha, cos_alpha = bounded_sin_cos(y[..., 1], gamma, cfg.use_tanh)
    return {"sin_phi": sin_phi, "cos_phi": cos_phi, "sin_alpha": sin_alpha, "cos_alpha": cos_alpha,
            "axis": y[..., 2:], "delta_t": cfg.dt_scale * out[:, 5 * n_rot:]}


def network_input(problem: IKProblem) -> Tensor:
    """Eq. (11) input: rough pose (axis-angle), rough translation and the target (contact-set centroid)."""
    mask = problem.target_mask.to(problem.targets.dtype)[..., None]
    centroid = (problem.targets * mask).sum(1) / mask.sum(1).clamp_min(1.0)
    return torch.cat([problem.rough_pose.flatten(1), problem.rough_transl, centroid], dim=1)


def solve_neural_ik(problem: IKProblem, cfg: NeuralIKConfig | None = None) -> IKResult:
    """Solve B problems at once; returns the refined pose, translation, joints and per-problem diagnostics."""
    cfg = cfg or NeuralIKConfig()
    chain, batch = problem.chain, problem.batch
    device, dtype = problem.rest_joints.device, problem.rest_joints.dtype
    rot_ids = torch.tensor(chain.rotation, device=device)
    child_ids = torch.tensor(chain.path_children(), device=device)
    rest_bones = problem.rest_joints[:, child_ids] - problem.rest_joints[:, rot_ids]
    rough_rot = axis_angle_to_matrix(problem.rough_pose)
    weights = LossWeights(cfg.eps1, cfg.eps2 if cfg.use_2d else 0.0)
    depth_scale = rough_depth(problem)
    gen = torch.Generator().manual_seed(cfg.seed)
    n_rot = len(chain.rotation)
    out_bias = torch.zeros(batch, 5 * n_rot + 3, dtype=dtype)
    out_bias[:, : 5 * n_rot].view(batch, n_rot, 5)[..., 2:] = torch.randn(batch, n_rot, 3, generator=gen,
                                                                          dtype=dtype)
    x = network_input(problem).detach()
    mlp = BatchedMLP(batch, x.shape[1], 5 * n_rot + 3, cfg.hidden, cfg.depth, out_bias, gen, device, dtype)
    optimiser = torch.optim.Adam(mlp.parameters(), lr=cfg.lr, fused=True)

    done = torch.zeros(batch, dtype=torch.bool, device=device)
    steps = torch.full((batch,), cfg.max_steps, dtype=torch.long, device=device)
    best: dict[str, Tensor] = {}
    initial = None
    for step in range(cfg.max_steps + 1):
        dec = _decode(mlp(x), n_rot, cfg)
        delta = twist_swing_delta(dec["sin_phi"], dec["cos_phi"], dec["sin_alpha"], dec["cos_alpha"],
                                  dec["axis"], rest_bones)
        joints, rot = improved_fk(rough_rot, problem.rest_joints, chain.parents, rot_ids, delta,
                                  problem.rough_transl, dec["delta_t"])
        loss = ik_residuals(joints, problem, weights, depth_scale).pow(2).sum(-1)
        if initial is None:
            initial = loss.detach()
        newly = (~done) & ((loss.detach() <= cfg.stop_ratio * initial + 1e-12) | (step == cfg.max_steps))
        if newly.any():
            snapshot = {"rot": rot, "joints": joints, "loss": loss, "delta_t": dec["delta_t"],
                        "phi": torch.atan2(dec["sin_phi"], dec["cos_phi"]),
                        "alpha": torch.atan2(dec["sin_alpha"], dec["cos_alpha"])}
            for key, value in snapshot.items():
                value = value.detach()
                best[key] = value.clone() if key not in best else torch.where(
                    newly.view(-1, *[1] * (value.dim() - 1)), value, best[key])
            steps = torch.where(newly & (step < cfg.max_steps), torch.full_like(steps, step), steps)
            done = done | newly
        if bool(done.all()):
            break
        optimiser.zero_grad(set_to_none=True)
        loss[~done].sum().backward()
        optimiser.step()

    pose = problem.rough_pose.clone()
    pose[:, rot_ids] = matrix_to_axis_angle(best["rot"][:, rot_ids])
    rot_mats = rough_rot.detach().clone()
    rot_mats[:, rot_ids] = best["rot"][:, rot_ids]
    return IKResult(
        pose=pose.detach(), rot_mats=rot_mats, transl=(problem.rough_transl + best["delta_t"]).detach(),
        joints=best["joints"], steps=steps, loss=best["loss"], initial_loss=initial,
        reach=reach_distance(best["joints"], problem).detach(),
        converged=best["loss"] <= cfg.stop_ratio * initial + 1e-12,
        extras={"phi": best["phi"], "alpha": best["alpha"]},
    )
