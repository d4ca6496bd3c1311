"""Pictures of TIGeR results: predictions beside ground truth and the raw prior, projected onto the input crop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from common.plotting import save_figure
from tiger.data.dataset import IMAGE_MEAN, IMAGE_STD


def _project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    proj = points @ K.T
    return proj[:, :2] / proj[:, 2:3]


def plot_predictions(items: list[dict[str, torch.Tensor]], refined: list[np.ndarray], prior: list[np.ndarray],
                     hands: list[np.ndarray], gt_hands: list[np.ndarray], path: Path, title: str) -> Path:
    """One row per sample: input crop, GT (object + hand), raw prior, TIGeR refinement (+ IK hand), and a
    side view (x-z, object-centred) of GT vs prior vs refined. Points in metres, camera frame."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = len(items)
    fig, axes = plt.subplots(rows, 5, figsize=(12, 2.5 * rows), squeeze=False)
    heads = ["input crop", "ground truth", "raw prior (no refinement)", "TIGeR refined + IK hand",
             "side view x-z (cm, centred)"]
    for r, item in enumerate(items):
        image = (item["image"].numpy() * IMAGE_STD + IMAGE_MEAN).transpose(1, 2, 0).clip(0, 1)
        K = item["K"].numpy()
        gt = item["object_points"].numpy()
        panels = [(None, None), (gt, gt_hands[r]), (prior[r], None), (refined[r], hands[r])]
        for c, (obj, hand) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(image)
            if obj is not None:
                uv = _project(obj, K)
                ax.scatter(uv[:, 0], uv[:, 1], s=1.5, c="tab:cyan", alpha=0.7)
            if hand is not None:
                uv = _project(hand, K)
                ax.scatter(uv[:, 0], uv[:, 1], s=0.8, c="tab:orange", alpha=0.5)
            ax.set_xlim(0, image.shape[1])
            ax.set_ylim(image.shape[0], 0)
            ax.axis("off")
        side = axes[r, 4]
        for pts, colour, label in ((gt, "black", "GT"), (prior[r], "tab:red", "prior"),
                                   (refined[r], "tab:cyan", "refined")):
            centred = (pts - pts.mean(0)) * 100.0
            side.scatter(centred[:, 0], centred[:, 2], s=1.0, c=colour, alpha=0.6, label=label)
        side.set_aspect("equal")
        side.tick_params(labelsize=6)
        if r == 0:
            side.legend(fontsize=6, markerscale=4)
            for c, head in enumerate(heads):
                axes[0, c].set_title(head, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)
