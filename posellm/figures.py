"""Pictures of predictions beside ground truth (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from common.data.base import read_rgb
from common.plotting import save_figure
from posellm.data import PersonInstance
from posellm.keypoints import COCO_SKELETON


def _draw(ax: plt.Axes, xy: np.ndarray, valid: np.ndarray, colour: str) -> None:
    for a, b in COCO_SKELETON:
        if valid[a] and valid[b]:
            ax.plot(xy[[a, b], 0], xy[[a, b], 1], "-", color=colour, lw=1.5)
    ax.scatter(xy[valid, 0], xy[valid, 1], s=8, c=colour, zorder=3)


def prediction_grid(instances: list[PersonInstance], columns: dict[str, np.ndarray], out: Path,
                    title: str) -> Path:
    """One row per person: ground truth then each named prediction (N, 17, 2) image px; writes a PNG."""
    n, m = len(instances), 1 + len(columns)
    fig, axes = plt.subplots(n, m, figsize=(2.2 * m, 2.2 * n), squeeze=False)
    for i, inst in enumerate(instances):
        image = read_rgb(inst.image_path)
        panels = {"ground truth": inst.keypoints[:, :2], **{k: v[i] for k, v in columns.items()}}
        for j, (name, xy) in enumerate(panels.items()):
            ax = axes[i, j]
            ax.imshow(image)
            valid = inst.keypoints[:, 2] > 0 if j == 0 else np.ones(len(xy), bool)
            _draw(ax, xy, valid, "lime" if j == 0 else "red")
            ax.set_axis_off()
            if i == 0:
                ax.set_title(name, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out, dpi=90)
