"""Figures: contact predictions beside the ground truth, and Table 1 over seeds."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from common.plotting import save_figure
from contact.labels import CLASS_NAMES, NO_CONTACT
from contact.model import project_points
from contact.synthetic import PART_COLORS

_CLASS_COLORS = np.vstack([PART_COLORS, [[0.85, 0.85, 0.85]]])


def _scatter_labels(ax: plt.Axes, image: np.ndarray, uv: np.ndarray, labels: np.ndarray, title: str) -> None:
    ax.imshow(image, interpolation="nearest")
    order = np.argsort(labels != NO_CONTACT)                          # contact points drawn on top
    edges = np.where((labels[order] == NO_CONTACT)[:, None], [[0.0, 0, 0, 0]], [[0.0, 0, 0, 1]])
    ax.scatter(uv[order, 0], uv[order, 1], c=_CLASS_COLORS[labels[order]], s=6, edgecolors=edges, linewidths=0.3)
    ax.set_title(title, fontsize=7)
    ax.axis("off")


def contact_figure(path: Path, clips: list[dict], predictions: dict[str, list[np.ndarray]],
                   note: str) -> Path:
    """Grid: per clip the middle frame, GT contact labels and each method's labels on the projected points."""
    cols = 2 + len(predictions)
    fig, axes = plt.subplots(len(clips), cols, figsize=(1.6 * cols, 1.7 * len(clips)), squeeze=False)
    for row, clip in enumerate(clips):
        mid = len(clip["labels"]) // 2
        image = np.asarray(clip["images"][mid]).transpose(1, 2, 0)
        uv = project_points(torch.as_tensor(clip["object_points"][mid]), torch.as_tensor(clip["K"][mid])).numpy()
        axes[row, 0].imshow(image, interpolation="nearest")
        axes[row, 0].set_title(f"{clip['interaction']} ({clip['category']})", fontsize=7)
        axes[row, 0].axis("off")
        _scatter_labels(axes[row, 1], image, uv, np.asarray(clip["labels"][mid]), "ground truth")
        for col, (name, preds) in enumerate(predictions.items(), start=2):
            _scatter_labels(axes[row, col], image, uv, preds[row], name)
    handles = [plt.Line2D([], [], marker="o", ls="", color=_CLASS_COLORS[i], label=n)
               for i, n in enumerate(CLASS_NAMES)]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=6, frameon=False)
    fig.suptitle(note, fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 0.96))
    return save_figure(fig, path, dpi=130)


def pipeline_figure(path: Path, rows: dict[str, list[float]], note: str) -> Path:
    """Table 1 as bars (mean over seeds, from zero) with every seed as a dot: PA-Chamfer of the human (cm)."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    for k, values in enumerate(rows.values()):
        if values:
            ax.bar(k, float(np.mean(values)), width=0.6, color="tab:blue" if k else "0.6", alpha=0.4)
            ax.plot([k] * len(values), values, "o", color="k", ms=3)
    ax.set_xticks(range(len(rows)), list(rows), rotation=20, ha="right", fontsize=7)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("PA-Chamfer, human (cm)")
    ax.set_title(note, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)
