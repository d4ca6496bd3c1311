"""Neural IK solver (paper Fig. 4, eqs. 11-14): one small MLP per problem, optimised online, all batched.

Every problem b has its own MLP weights (stacked into (B, ...) tensors and applied with batched matmuls), so
B independent problems are solved at once on CPU or GPU; Adam is element-wise, so summing the B losses
keeps the optimisations independent. A problem stops (its outputs are frozen) when L_IK < stop_ratio * xi,
xi being its initial loss, or at max_steps.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from common.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from kinematics.fk import ChainFK, improved_fk, twist_swing_delta
from kinematics.objective import (
    IKProblem,
    IKResult,
    LossWeights,
    ik_residuals,
    reach_distance,
    rough_depth,
    target_centroid,
)

if TYPE_CHECKING:
    from kinematics.trust_region import TrustRegionConfig


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
    patience: int = 50
    target_mode: str = "mean_distance"
    dt_scale: float = 0.1
    seed: int = 0
    trunk_gamma_deg: float | None = None   # research option: bound for the chain's trunk joints (TRUNK_JOINTS)


TRUNK_JOINTS = frozenset((0, 3, 6, 9, 12, 13, 14))
"""SMPL pelvis, spine1-3, neck and collars: the joints the paper's chains add in front of the limb."""


def joint_gammas(chain_rotation: tuple[int, ...], cfg: NeuralIKConfig | TrustRegionConfig, tree: str = "smpl"
                 ) -> Tensor:
    """(K,) bound gamma (radians) per rotation joint: gamma_deg, or trunk_gamma_deg on SMPL trunk joints."""
    trunk = cfg.gamma_deg if cfg.trunk_gamma_deg is None or tree != "smpl" else cfg.trunk_gamma_deg
    return torch.tensor([math.radians(trunk if j in TRUNK_JOINTS else cfg.gamma_deg) for j in chain_rotation],
                        dtype=torch.float64)


class BatchedMLP:
    """B independent MLPs (in -> hidden^depth -> out, ReLU) stored as stacked weights; last layer zero."""

    def __init__(self, batch: int, n_in: int, n_out: int, hidden: int, depth: int, out_bias: Tensor,
                 generator: torch.Generator, device: torch.device, dtype: torch.dtype) -> None:
        sizes = [n_in] + [hidden] * depth
        self.weights: list[Tensor] = []
        self.biases: list[Tensor] = []
        for fan_in, fan_out in itertools.pairwise(sizes):
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


class MaskedAdam:
    """Adam (Kingma & Ba) over stacked per-problem tensors; problems with active=False are not updated.

    Written out (instead of torch.optim.Adam) so finished problems stay exactly frozen, and to avoid
    torch.optim's multi-second first-use import.
    """

    def __init__(self, params: list[Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    @torch.no_grad()
    def step(self, active: Tensor) -> None:
        """One update of the problems where `active` (B,) is True, from the current .grad."""
        self.t += 1
        b1, b2 = self.betas
        scale = self.lr * math.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            mask = active.view(-1, *[1] * (p.dim() - 1)).to(p.dtype)
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            p.sub_(scale * mask * m / (v.sqrt() + self.eps))
            p.grad = None


def bounded_sin_cos(y: Tensor, gamma: float | Tensor, use_tanh: bool) -> tuple[Tensor, Tensor]:
    """Eq. (12): sin = sin(gamma) tanh(y), cos = sqrt(1 - sin^2); plain ablation: angle = y (radians)."""
    if use_tanh:
        s = torch.sin(torch.as_tensor(gamma, dtype=y.dtype, device=y.device)) * torch.tanh(y)
        return s, (1.0 - s * s).clamp_min(1e-12).sqrt()
    return torch.sin(y), torch.cos(y)


def _decode(out: Tensor, n_rot: int, cfg: NeuralIKConfig, gamma: Tensor) -> dict[str, Tensor]:
    """Split MLP outputs into (sin, cos) of phi and alpha (bounds gamma (K,) rad), the swing axis and dt (m)."""
    y = out[:, : 5 * n_rot].reshape(-1, n_rot, 5)
    sin_phi, cos_phi = bounded_sin_cos(y[..., 0], gamma, cfg.use_tanh)
    sin_alpha, cos_alpha = bounded_sin_cos(y[..., 1], gamma, cfg.use_tanh)
    return {"sin_phi": sin_phi, "cos_phi": cos_phi, "sin_alpha": sin_alpha, "cos_alpha": cos_alpha,
            "axis": y[..., 2:], "delta_t": cfg.dt_scale * out[:, 5 * n_rot:]}


def network_input(problem: IKProblem) -> Tensor:
    """Eq. (11) input: rough pose (axis-angle), rough translation and the target (contact-set centroid)."""
    return torch.cat([problem.rough_pose.flatten(1), problem.rough_transl, target_centroid(problem)], dim=1)


def solve_neural_ik(problem: IKProblem, cfg: NeuralIKConfig | None = None,
                    device: torch.device | str | None = None) -> IKResult:
    """Solve B problems at once (float32 on `device`, default CUDA when available); the result keeps the
    problem's dtype/device and its non-chain pose entries bit for bit."""
    cfg = cfg or NeuralIKConfig()
    if device is None:
        device = torch.device("cuda") if torch.cuda.is_available() else problem.rest_joints.device
    original, dtype = problem, torch.float32
    problem = original.to(device, dtype)
    chain, batch = problem.chain, problem.batch
    rot_ids = torch.tensor(chain.rotation, device=device)
    child_ids = torch.tensor(chain.path_children(), device=device)
    rest_bones = problem.rest_joints[:, child_ids] - problem.rest_joints[:, rot_ids]
    rough_rot = axis_angle_to_matrix(problem.rough_pose)
    weights = LossWeights(cfg.eps1, cfg.eps2 if cfg.use_2d else 0.0, cfg.target_mode)
    depth_scale = rough_depth(problem)
    gen = torch.Generator().manual_seed(cfg.seed)
    n_rot = len(chain.rotation)
    out_bias = torch.zeros(batch, 5 * n_rot + 3, dtype=dtype)
    out_bias[:, : 5 * n_rot].view(batch, n_rot, 5)[..., 2:] = torch.randn(batch, n_rot, 3, generator=gen,
                                                                          dtype=dtype)
    chain_fk = ChainFK(rough_rot, problem.rest_joints, chain.parents, chain.rotation, chain.target)
    x = network_input(problem).detach()
    mlp = BatchedMLP(batch, x.shape[1], 5 * n_rot + 3, cfg.hidden, cfg.depth, out_bias, gen, device, dtype)
    optimiser = MaskedAdam(mlp.parameters(), lr=cfg.lr)
    gammas = joint_gammas(chain.rotation, cfg, chain.tree).to(device, dtype)

    done = torch.zeros(batch, dtype=torch.bool, device=device)
    steps = torch.full((batch,), cfg.max_steps, dtype=torch.long, device=device)
    best: dict[str, Tensor] = {}
    initial = None
    best_loss = torch.full((batch,), float("inf"), dtype=dtype, device=device)
    last_gain = torch.zeros(batch, dtype=torch.long, device=device)
    for step in range(cfg.max_steps + 1):
        dec = _decode(mlp(x), n_rot, cfg, gammas)
        delta = twist_swing_delta(dec["sin_phi"], dec["cos_phi"], dec["sin_alpha"], dec["cos_alpha"],
                                  dec["axis"], rest_bones)
        key_joints = chain_key_joints(chain_fk, delta, problem, dec["delta_t"])
        loss = ik_residuals(key_joints, problem, weights, depth_scale).pow(2).sum(-1)
        if initial is None:
            initial = loss.detach()
        improved = loss.detach() < best_loss * (1 - 1e-3)
        best_loss = torch.where(improved, loss.detach(), best_loss)
        last_gain = torch.where(improved, torch.full_like(last_gain, step), last_gain)
        plateau = step - last_gain >= cfg.patience
        newly = (~done) & ((loss.detach() <= cfg.stop_ratio * initial + 1e-12) | plateau | (step == cfg.max_steps))
        if newly.any():
            snapshot = {"delta": delta, "loss": loss, "delta_t": dec["delta_t"],
                        "phi": torch.atan2(dec["sin_phi"], dec["cos_phi"]),
                        "alpha": torch.atan2(dec["sin_alpha"], dec["cos_alpha"])}
            for key, value in snapshot.items():
                value = value.detach()
                best[key] = value.clone() if key not in best else torch.where(
                    newly.view(-1, *[1] * (value.dim() - 1)), value, best[key])
            steps = torch.where(newly, torch.full_like(steps, step), steps)
            done = done | newly
        if bool(done.all()):
            break
        loss[~done].sum().backward()
        optimiser.step(~done)

    out_device, out_dtype = original.rest_joints.device, original.rest_joints.dtype
    return finish_result(original, axis_angle_to_matrix(original.rough_pose),
                         best["delta"].to(out_device, out_dtype), best["delta_t"].to(out_device, out_dtype),
                         steps.to(out_device), best["loss"].to(out_device), initial.to(out_device),
                         (best["loss"] <= cfg.stop_ratio * initial + 1e-12).to(out_device),
                         {"phi": best["phi"].to(out_device), "alpha": best["alpha"].to(out_device)})


def chain_key_joints(chain_fk: ChainFK, delta: Tensor, problem: IKProblem, delta_t: Tensor) -> Tensor:
    """(B,J,3) tensor holding the root (J_0 + t) and the target joint (others zero) for the loss terms."""
    shift = problem.rough_transl + delta_t
    joints = torch.zeros_like(problem.rest_joints)
    joints = joints.index_copy(1, torch.tensor([0], device=shift.device), (problem.rest_joints[:, 0] + shift)[:, None])
    target = torch.tensor([problem.chain.target], device=shift.device)
    return joints.index_copy(1, target, (chain_fk.target_position(delta) + shift)[:, None])


def finish_result(problem: IKProblem, rough_rot: Tensor, delta: Tensor, delta_t: Tensor, steps: Tensor,
                  loss: Tensor, initial: Tensor, converged: Tensor, extras: dict[str, Tensor]) -> IKResult:
    """Full FK of the final pose; non-chain joints keep their input axis-angle bit for bit."""
    rot_ids = torch.tensor(problem.chain.rotation, device=rough_rot.device)
    transl = (problem.rough_transl + delta_t).detach()
    joints, rot = improved_fk(rough_rot, problem.rest_joints, problem.chain.parents, rot_ids, delta.detach(),
                              problem.rough_transl, delta_t.detach())
    pose = problem.rough_pose.clone()
    pose[:, rot_ids] = matrix_to_axis_angle(rot[:, rot_ids])
    rot_mats = rough_rot.detach().clone()
    rot_mats[:, rot_ids] = rot[:, rot_ids]
    return IKResult(pose=pose.detach(), rot_mats=rot_mats, transl=transl, joints=joints.detach(), steps=steps,
                    loss=loss.detach(), initial_loss=initial, reach=reach_distance(joints, problem).detach(),
                    converged=converged, extras=extras)
