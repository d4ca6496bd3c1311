"""The IK problem (rough pose, target contact set, optional 2D root) and the loss L_IK of eq. (14)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor

from common.geometry import project
from kinematics.chains import KinematicChain


@dataclass
class IKProblem:
    """A batch of B independent problems on one chain; lengths in metres, body-model/camera frame.

    rest_joints (B,J,3) shaped rest skeleton; rough_pose (B,J,3) local axis-angle; rough_transl (B,3);
    targets (B,N,3) contact points with target_mask (B,N) (True = valid); root_2d (B,2) pixels and K (B,3,3)
    for the optional 2D root term (joints must then be in the camera frame); keys (B,) int64 seed the neural IK's
    per-problem MLP initialisation (None = 0..B-1): a problem's solve depends on its data, key and settings only.
    """

    chain: KinematicChain
    rest_joints: Tensor
    rough_pose: Tensor
    rough_transl: Tensor
    targets: Tensor
    target_mask: Tensor | None = None
    root_2d: Tensor | None = None
    K: Tensor | None = None
    keys: Tensor | None = None

    def __post_init__(self) -> None:
        """Default mask: all target points valid."""
        if self.target_mask is None:
            self.target_mask = torch.ones(self.targets.shape[:2], dtype=torch.bool, device=self.targets.device)

    @property
    def batch(self) -> int:
        """Number of problems B."""
        return self.rest_joints.shape[0]

    def init_keys(self) -> Tensor:
        """(B,) int64 initialisation keys (CPU): `keys`, or 0..B-1."""
        return torch.arange(self.batch) if self.keys is None else self.keys.cpu().long()

    def to(self, device: torch.device | str, dtype: torch.dtype) -> IKProblem:
        """Copy of the problem on a device/dtype (masks stay bool)."""
        def move(x: Tensor | None) -> Tensor | None:
            if x is None:
                return None
            return x.to(device) if x.dtype == torch.bool else x.to(device=device, dtype=dtype)

        return IKProblem(self.chain, move(self.rest_joints), move(self.rough_pose), move(self.rough_transl),
                         move(self.targets), move(self.target_mask), move(self.root_2d), move(self.K), self.keys)

    def subset(self, index: Tensor | slice) -> IKProblem:
        """The problems selected by `index`."""
        def pick(x: Tensor | None) -> Tensor | None:
            return None if x is None else x[index]

        return IKProblem(self.chain, pick(self.rest_joints), pick(self.rough_pose), pick(self.rough_transl),
                         pick(self.targets), pick(self.target_mask), pick(self.root_2d), pick(self.K),
                         self.init_keys()[index])


@dataclass
class LossWeights:
    """epsilon_1 (3D term) and epsilon_2 (2D root term, 0 disables it) of eq. (14) and the 3D target mode.

    target_mode "mean_distance": mean over the contact points of ||q_j - p_k|| (the paper's note);
    "centroid": ||q_j - mean_k p_k||.
    """

    eps1: float = 1.0
    eps2: float = 1.0
    target_mode: str = "mean_distance"


@dataclass
class IKResult:
    """Solver output per problem: refined local pose (B,J,3) / rotations, translation, joints (metres)."""

    pose: Tensor
    rot_mats: Tensor
    transl: Tensor
    joints: Tensor
    steps: Tensor
    loss: Tensor
    initial_loss: Tensor
    reach: Tensor
    converged: Tensor
    extras: dict[str, Tensor] = field(default_factory=dict)


class ProblemTensors(Protocol):
    """What the loss and the network input read of a batch of problems (IKProblem, or several chains stacked)."""

    rest_joints: Tensor
    rough_pose: Tensor
    rough_transl: Tensor
    targets: Tensor
    target_mask: Tensor
    root_2d: Tensor | None
    K: Tensor | None


def target_centroid(problem: ProblemTensors) -> Tensor:
    """(B,3) centroid of the valid contact points."""
    mask = problem.target_mask.to(problem.targets.dtype)[..., None]
    return (problem.targets * mask).sum(1) / mask.sum(1).clamp_min(1.0)


def reach_distance(joints: Tensor, problem: IKProblem, target_mode: str = "centroid") -> Tensor:
    """(B,) metres: target joint to the contact centroid, or its mean distance to the contact points."""
    return target_distance(joints[:, problem.chain.target], problem, target_mode)


def target_distance(q: Tensor, problem: ProblemTensors, target_mode: str = "centroid") -> Tensor:
    """(B,) metres from target-joint positions q (B,3) to the contact centroid or (mean) to the contact points."""
    if target_mode == "centroid":
        return (q - target_centroid(problem)).norm(dim=-1)
    if target_mode != "mean_distance":
        raise ValueError(f"target_mode={target_mode!r}: choose 'mean_distance' or 'centroid'")
    dist = (q[:, None] - problem.targets).norm(dim=-1)
    mask = problem.target_mask.to(dist.dtype)
    return (dist * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)


def root_2d_residual(root: Tensor, problem: ProblemTensors, depth_scale: Tensor) -> Tensor:
    """(B,2) projected-root (root (B,3)) error in pixels times rough depth / focal, i.e. metres at the body's depth."""
    uv = project(root[:, None], problem.K)[:, 0]
    focal = problem.K[:, [0, 1], [0, 1]]
    return (uv - problem.root_2d) / focal * depth_scale[:, None]


def ik_residuals(joints: Tensor, problem: IKProblem, weights: LossWeights, depth_scale: Tensor) -> Tensor:
    """Residual vector (B,R) whose squared norm is L_IK: [sqrt(e1) reach, sqrt(e2) 2D root error (x, y)]."""
    return key_residuals(joints[:, 0], joints[:, problem.chain.target], problem, weights, depth_scale)


def key_residuals(root: Tensor, q: Tensor, problem: ProblemTensors, weights: LossWeights, depth_scale: Tensor
                  ) -> Tensor:
    """`ik_residuals` from the root (B,3) and target-joint (B,3) positions, the only joints L_IK reads."""
    parts = [weights.eps1 ** 0.5 * target_distance(q, problem, weights.target_mode)[:, None]]
    if uses_2d(problem, weights):
        parts.append(weights.eps2 ** 0.5 * root_2d_residual(root, problem, depth_scale))
    return torch.cat(parts, dim=1)


def uses_2d(problem: ProblemTensors, weights: LossWeights) -> bool:
    """Whether the 2D root term is active (weight > 0 and a 2D root with intrinsics given)."""
    return weights.eps2 > 0 and problem.root_2d is not None and problem.K is not None


def rough_depth(problem: ProblemTensors) -> Tensor:
    """Depth (B,) of the rough root joint (metres; G_0 = [R_0 | J_0] so it is J_0 + t), no gradient."""
    root = problem.rest_joints[:, 0] + problem.rough_transl
    return root[:, 2].abs().clamp_min(0.1).detach()
