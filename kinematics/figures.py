"""Figures of the reproduction: skeletons of GT / rough / neural IK / trust region, and the gamma trend."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from common.plotting import save_figure
from kinematics.chains import TREES
from kinematics.objective import IKResult
from kinematics.synthetic import Interactions

_STYLES = {"ground truth": ("tab:green", "-"), "rough input": ("0.6", "--"), "neural IK": ("tab:blue", "-"),
           "trust region": ("tab:red", ":")}


def _project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Camera-frame points (...,3) -> pixels (...,2)."""
    uvw = points @ K.T
    return uvw[..., :2] / uvw[..., 2:]


def _draw_skeleton(ax: plt.Axes, uv: np.ndarray, parents: tuple[int, ...], label: str, chain: tuple[int, ...]
                   ) -> None:
    """Bones as 2D lines; bones of the active chain drawn thicker."""
    color, style = _STYLES[label]
    for j, p in enumerate(parents):
        if p < 0:
            continue
        width = 2.6 if j in chain or p in chain else 1.2
        ax.plot(uv[[p, j], 0], uv[[p, j], 1], style, color=color, lw=width,
                label=label if j == 1 else None)


def skeleton_figure(inter: Interactions, gt_joints: torch.Tensor, results: dict[str, IKResult], path: Path,
                    examples: int = 4) -> Path:
    """PNG of a few problems: projected skeletons, contact points (black) and the 2D root (x)."""
    p = inter.problem
    K = p.K[0].numpy()
    parents = TREES[p.chain.tree]
    active = (*p.chain.rotation, p.chain.target)
    fig, axes = plt.subplots(1, examples, figsize=(4 * examples, 5))
    for k, ax in enumerate(np.atleast_1d(axes)):
        skeletons = {"ground truth": gt_joints[k], **{name: r.joints[k] for name, r in results.items()}}
        for label, joints in skeletons.items():
            _draw_skeleton(ax, _project(joints.double().cpu().numpy(), K), parents, label, active)
        contact = _project(p.targets[k].numpy(), K)
        ax.scatter(contact[:, 0], contact[:, 1], s=6, c="k", label="contact region")
        ax.scatter(*p.root_2d[k].numpy(), marker="x", c="m", s=50, label="2D root")
        ax.set_aspect("equal")
        ax.invert_yaxis()
        ax.set_title(f"{p.chain.name} #{k}")
        ax.set_xticks([])
        ax.set_yticks([])
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Stand-in SMPL, synthetic interactions: image-plane skeletons (active chain thick)")
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)


def gamma_figure(gammas: list[float], mpjpe: list[float], pa_chamfer: list[float], published: list[float],
                 path: Path) -> Path:
    """PNG of MPJPE / PA-Chamfer against gamma (ours, stand-in synthetic) with the paper's PA-Chamfer."""
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ax[0].plot(gammas, mpjpe, "o-", label="ours (stand-in synthetic)")
    ax[0].set_xlabel("gamma (deg)")
    ax[0].set_ylabel("MPJPE (mm)")
    ax[1].plot(gammas, pa_chamfer, "o-", label="ours (stand-in synthetic)")
    ax[1].plot(gammas, published, "s--", label="paper (BEHAVE)")
    ax[1].set_xlabel("gamma (deg)")
    ax[1].set_ylabel("PA-Chamfer (cm)")
    ax[1].legend(fontsize=8)
    fig.suptitle("Impact of gamma (Table 2)")
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)
