"""Neural IK solver (paper Fig. 4, eqs. 11-14): one small MLP per problem, optimised online, all batched.

Every problem b has its own MLP weights (stacked into (B, ...) tensors and applied with batched matmuls), drawn
from its own generator keyed by the problem (IKProblem.keys), so B independent problems, on different chains of
one tree (kinematics.multi_chain), are solved at once on CPU or GPU; Adam is element-wise and each problem's
parameters get gradients only from its own loss, so summing the B losses keeps the optimisations independent.
A problem stops (its outputs are frozen) when L_IK < stop_ratio * xi, xi being its initial loss, on a plateau
of `patience` steps, or at max_steps.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from common.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from kinematics.fk import improved_fk, twist_swing_delta
from kinematics.multi_chain import stack_problems
from kinematics.objective import (
    IKProblem,
    IKResult,
    LossWeights,
    ProblemTensors,
    key_residuals,
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


KEY_STRIDE = 0x9E3779B9
"""Odd 32-bit golden-ratio constant: seed + key * KEY_STRIDE (mod 2**32) keeps small seeds and keys apart."""


def init_generator(seed: int, key: int) -> torch.Generator:
    """The generator of one problem's MLP initialisation, seeded (seed + key * KEY_STRIDE) mod 2**32 (torch's CPU
    generator keeps 32 bits); key 0 draws exactly what a one-problem solve drew before keys existed."""
    if not 0 <= seed < 2 ** 32 or key < 0:
        raise ValueError(f"seed={seed} must lie in [0, 2**32) and problem key={key} be >= 0")
    return torch.Generator().manual_seed((seed + key * KEY_STRIDE) % 2 ** 32)


class BatchedMLP:
    """B independent MLPs (in -> hidden^depth -> out, ReLU) stored as stacked weights; last layer zero.

    Problem b's weights come from its own generator `init_generator(seed, keys[b])`, drawn in a fixed order
    (swing-axis biases (n_rot[b],3), then each hidden layer's (fan_in, fan_out) He-normal weights), so they do
    not depend on the other problems of the batch; outputs of padded joints (n_rot[b] < k_max) stay zero.
    """

    def __init__(self, keys: list[int], n_rot: list[int], k_max: int, n_in: int, hidden: int, depth: int,
                 seed: int, device: torch.device, dtype: torch.dtype) -> None:
        sizes = [n_in] + [hidden] * depth
        out_bias = torch.zeros(len(keys), 5 * k_max + 3, dtype=dtype)
        drawn: list[list[Tensor]] = [[] for _ in range(depth)]
        for b, (key, k) in enumerate(zip(keys, n_rot)):
            gen = init_generator(seed, key)
            out_bias[b, : 5 * k].view(k, 5)[:, 2:] = torch.randn(k, 3, generator=gen, dtype=dtype)
            for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
                drawn[layer].append(torch.randn(fan_in, fan_out, generator=gen, dtype=dtype) * math.sqrt(2.0 / fan_in))
        self.weights = [torch.stack(w).to(device).requires_grad_() for w in drawn]
        self.biases = [torch.zeros(len(keys), fan_out, device=device, dtype=dtype, requires_grad=True)
                       for fan_out in sizes[1:]]
        self.weights.append(torch.zeros(len(keys), sizes[-1], 5 * k_max + 3, device=device, dtype=dtype,
                                        requires_grad=True))
        self.biases.append(out_bias.to(device).requires_grad_())

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
    """Split MLP outputs into (sin, cos) of phi and alpha (bounds gamma (B,K) rad), the swing axis and dt (m)."""
    y = out[:, : 5 * n_rot].reshape(-1, n_rot, 5)
    sin_phi, cos_phi = bounded_sin_cos(y[..., 0], gamma, cfg.use_tanh)
    sin_alpha, cos_alpha = bounded_sin_cos(y[..., 1], gamma, cfg.use_tanh)
    return {"sin_phi": sin_phi, "cos_phi": cos_phi, "sin_alpha": sin_alpha, "cos_alpha": cos_alpha,
            "axis": y[..., 2:], "delta_t": cfg.dt_scale * out[:, 5 * n_rot:]}


def network_input(problem: ProblemTensors) -> Tensor:
    """Eq. (11) input: rough pose (axis-angle), rough translation and the target (contact-set centroid)."""
    return torch.cat([problem.rough_pose.flatten(1), problem.rough_transl, target_centroid(problem)], dim=1)


def solve_neural_ik(problem: IKProblem, cfg: NeuralIKConfig | None = None,
                    device: torch.device | str | None = None) -> IKResult:
    """Solve B problems at once (float32 on `device`, default CUDA when available); the result keeps the
    problem's dtype/device and its non-chain pose entries bit for bit."""
    return solve_neural_ik_batch([problem], cfg, device)[0]


def solve_neural_ik_batch(problems: list[IKProblem], cfg: NeuralIKConfig | None = None,
                          device: torch.device | str | None = None) -> list[IKResult]:
    """Solve the problems of several batches, on different chains of one tree, in one optimisation; one result
    per batch. Each problem's result depends only on its data, its key (`IKProblem.keys`) and `cfg`, not on
    the problems solved with it (its own MLP, initialisation, loss and stopping; up to float summation order)."""
    cfg = cfg or NeuralIKConfig()
    if device is None:
        device = torch.device("cuda") if torch.cuda.is_available() else problems[0].rest_joints.device
    dtype = torch.float32
    weights = LossWeights(cfg.eps1, cfg.eps2 if cfg.use_2d else 0.0, cfg.target_mode)
    stacked = stack_problems([p.to(device, dtype) for p in problems], weights.eps2)
    batch, k_max = stacked.rest_joints.shape[0], stacked.k_max
    depth_scale = rough_depth(stacked)
    x = network_input(stacked).detach()
    mlp = BatchedMLP(stacked.keys, stacked.n_rot, k_max, x.shape[1], cfg.hidden, cfg.depth, cfg.seed, device, dtype)
    optimiser = MaskedAdam(mlp.parameters(), lr=cfg.lr)
    gammas = torch.cat([_padded_gammas(p, cfg, k_max).to(device, dtype) for p in problems])

    done = torch.zeros(batch, dtype=torch.bool, device=device)
    steps = torch.full((batch,), cfg.max_steps, dtype=torch.long, device=device)
    best: dict[str, Tensor] = {}
    initial = None
    best_loss = torch.full((batch,), float("inf"), dtype=dtype, device=device)
    last_gain = torch.zeros(batch, dtype=torch.long, device=device)
    root_rest = stacked.rest_joints[:, 0]
    for step in range(cfg.max_steps + 1):
        dec = _decode(mlp(x), k_max, cfg, gammas)
        delta = twist_swing_delta(dec["sin_phi"], dec["cos_phi"], dec["sin_alpha"], dec["cos_alpha"],
                                  dec["axis"], stacked.rest_bones)
        shift = stacked.rough_transl + dec["delta_t"]
        loss = key_residuals(root_rest + shift, stacked.fk.target_position(delta) + shift, stacked, weights,
                             depth_scale).pow(2).sum(-1)
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
    converged = best["loss"] <= cfg.stop_ratio * initial + 1e-12
    per_problem = {"steps": steps, "loss": best["loss"], "initial": initial, "converged": converged, **best}
    return [_result(p, {k: v[sl] for k, v in per_problem.items()}) for p, sl in zip(problems, _slices(stacked.sizes))]


def _padded_gammas(problem: IKProblem, cfg: NeuralIKConfig, k_max: int) -> Tensor:
    """(B,K) joint bounds (rad) of a batch's chain, zero on padded slots."""
    gamma = joint_gammas(problem.chain.rotation, cfg, problem.chain.tree)
    return torch.cat([gamma, gamma.new_zeros(k_max - len(gamma))]).expand(problem.batch, k_max)


def _slices(sizes: list[int]) -> list[slice]:
    """Consecutive slices of the given lengths."""
    ends = list(itertools.accumulate(sizes))
    return [slice(end - size, end) for size, end in zip(sizes, ends)]


def _result(problem: IKProblem, solved: dict[str, Tensor]) -> IKResult:
    """One batch's IKResult from its rows of the stacked solve (padded joint slots dropped), on its device/dtype."""
    n_rot, device, dtype = len(problem.chain.rotation), problem.rest_joints.device, problem.rest_joints.dtype
    return finish_result(problem, axis_angle_to_matrix(problem.rough_pose),
                         solved["delta"][:, :n_rot].to(device, dtype), solved["delta_t"].to(device, dtype),
                         solved["steps"].to(device), solved["loss"].to(device), solved["initial"].to(device),
                         solved["converged"].to(device),
                         {"phi": solved["phi"][:, :n_rot].to(device), "alpha": solved["alpha"][:, :n_rot].to(device)})


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
