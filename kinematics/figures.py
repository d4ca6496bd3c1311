"""Figures of the reproduction: the gamma trend and paper vs short chains (per-seed points, axes from zero)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from common.plotting import save_figure


def _points(ax: plt.Axes, x: float, values: list[float], color: str, label: str | None = None) -> None:
    """Per-seed values as dots and their mean as a bar."""
    if values:
        ax.bar(x, float(np.mean(values)), width=0.6, color=color, alpha=0.35, label=label)
        ax.plot([x] * len(values), values, "o", color=color, ms=4)


def gamma_figure(ours: dict[float, list[float]], ours_mpjpe: dict[float, list[float]],
                 published: dict[float, float], data_label: str, path: Path) -> Path:
    """Three panels, y axes from zero: our PA-Chamfer and MPJPE per gamma (seeds as dots), the paper's PA-Chamfer."""
    fig, ax = plt.subplots(1, 3, figsize=(11, 3.4))
    gammas = sorted(ours)
    for k, g in enumerate(gammas):
        _points(ax[0], k, ours[g], "tab:blue")
        _points(ax[1], k, ours_mpjpe[g], "tab:blue")
    ax[2].bar(range(len(gammas)), [published[g] for g in gammas], width=0.6, color="tab:gray")
    titles = (f"ours: PA-Chamfer (cm)\n{data_label}", f"ours: MPJPE (mm)\n{data_label}",
              "paper: PA-Chamfer (cm)\nBEHAVE test set (published)")
    for a, title in zip(ax, titles):
        a.set_xticks(range(len(gammas)), [f"{g:.0f}" for g in gammas])
        a.set_xlabel("gamma (deg)")
        a.set_ylim(bottom=0)
        a.set_title(title, fontsize=8)
    fig.suptitle("Impact of gamma (Table 2), neural IK on the paper's chains; dots = seeds", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)


def chain_figure(rows: dict[str, tuple[list[float], list[float]]], rough: list[float], data_label: str,
                 path: Path) -> Path:
    """MPJPE (mm, from zero) per solver on the paper's chains and on the short-chain ablation; dots = seeds."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    _points(ax, 0, rough, "0.5", "rough input")
    names = list(rows)
    for k, name in enumerate(names):
        paper, short = rows[name]
        _points(ax, 1 + 2 * k, paper, "tab:blue", "paper chains" if k == 0 else None)
        _points(ax, 2 + 2 * k, short, "tab:orange", "short chains (ablation)" if k == 0 else None)
    ax.set_xticks([0, *[1.5 + 2 * k for k in range(len(names))]], ["rough", *names], fontsize=8)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("MPJPE (mm, root-aligned)")
    ax.legend(fontsize=7)
    ax.set_title(f"Neural IK vs trust region, paper vs short chains ({data_label})", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)
