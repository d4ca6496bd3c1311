"""Figures for people: contact predictions beside ground truth, and rough / refined / GT bodies."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from common.data.render import render_mesh
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


def body_figure(path: Path, rows: list[dict[str, np.ndarray]], faces: np.ndarray, note: str,
                size: int = 160) -> Path:
    """Per row: rough, refined and GT bodies with the object, rendered from a side camera (camera frame m)."""
    names = ("rough input", "ours (CRRNet + neural IK)", "ground truth")
    fig, axes = plt.subplots(len(rows), 3, figsize=(6, 2.1 * len(rows)), squeeze=False)
    for r, row in enumerate(rows):
        centre = row["gt_object"].mean(axis=0)
        focal = size * 2.2 / 1.6
        K = np.array([[focal, 0, size / 2], [0, focal, size / 2], [0, 0, 1.0]])
        yaw = np.array([[0.0, 0, -1], [0, 1, 0], [1, 0, 0]])              # look from the subject's side
        for c, key in enumerate(("rough", "refined", "gt")):
            meshes = [(row[key], faces, (0.75, 0.72, 0.68)), (row["gt_object"], row["object_faces"],
                                                               (0.2, 0.5, 0.9))]
            verts = np.concatenate([(m[0] - centre) @ yaw.T + [0, 0, 2.2] for m in meshes])
            all_faces = np.concatenate([meshes[0][1], meshes[1][1] + len(meshes[0][0])])
            colors = np.concatenate([np.tile(m[2], (len(m[1]), 1)) for m in meshes])
            rgb, _, _ = render_mesh(verts, all_faces, K, (size, size), colors=colors,
                                    background=np.full((size, size, 3), 255, np.uint8))
            axes[r, c].imshow(rgb)
            axes[r, c].set_title(names[c] if r == 0 else "", fontsize=7)
            axes[r, c].axis("off")
    fig.suptitle(note, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=130)
