"""Figure for people: predicted vs ground-truth wrist trajectories (top view) beside the last observed frame."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from common.plotting import save_figure
from eggflow.canonical import WRISTS


def plot_forecasts(path: Path, out: dict[str, np.ndarray], baseline: np.ndarray, frames: np.ndarray,
                   texts: list[str], num: int = 4, title_data: str = "synthetic") -> Path:
    """Top view (canonical x forward, y left, metres) of past, GT, EggFlow and CVM wrists for `num` clips."""
    num = min(num, len(out["pred"]), len(frames) if len(frames) else num)
    fig, axes = plt.subplots(2, num, figsize=(3.6 * num, 7), squeeze=False)
    for i in range(num):
        if len(frames):
            axes[0, i].imshow(frames[i][-1])
        axes[0, i].set_title(textwrap.fill(texts[i], 30) if i < len(texts) else "", fontsize=9)
        axes[0, i].axis("off")
        ax = axes[1, i]
        for k, w in enumerate(WRISTS):
            valid = out["valid"][i, :, w]
            past = out["past"][i, out["past_valid"][i, :, w], w]
            ax.plot(past[:, 0], past[:, 1], color="0.6", lw=2, label="observed" if k == 0 else None)
            gt = out["gt"][i, valid, w]
            ax.plot(gt[:, 0], gt[:, 1], "g-o", ms=3, label="ground truth" if k == 0 else None)
            ax.plot(out["pred"][i, :, w, 0], out["pred"][i, :, w, 1], "r-o", ms=3,
                    label="EggFlow" if k == 0 else None)
            ax.plot(baseline[i, :, w, 0], baseline[i, :, w, 1], "b--", label="CVM" if k == 0 else None)
        ax.set_xlabel("x forward (m)")
        ax.set_ylabel("y left (m)")
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=8)
    fig.suptitle(f"EggFlow wrist forecasts, canonical frame top view ({title_data} data)")
    fig.tight_layout()
    return save_figure(fig, path, dpi=80)
