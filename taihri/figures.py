"""Picture for a person: queried joints of SFT / SFT+RFT / regression predictions beside the ground truth."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from common.plotting import save_figure
from taihri.grammar import parse_answer


def _answer_uv(answers: list[str], rows: list[dict], index: int) -> dict[int, np.ndarray]:
    """Joint -> predicted 2D (model-input px, pixel edges at integers) over all part queries of one sample."""
    out: dict[int, np.ndarray] = {}
    for text, row in zip(answers, rows):
        if row["index"] == index:
            out.update(parse_answer(text, row["width"], row["height"]).uv)
    return out


def plot_predictions(samples: list[dict], rows: list[dict], sft_answers: list[str], rft_answers: list[str],
                     regression_xyz: np.ndarray, path: Path, count: int = 4) -> Path:
    """Save a PNG of `count` eval images: ground truth, SFT, SFT+RFT 2D answers and projected regression 3D."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, count, figsize=(3.2 * count, 3.6))
    for index, ax in enumerate(np.atleast_1d(axes)):
        sample = samples[index]
        joints = sorted({j for r in rows if r["index"] == index for j in r["joints"]})
        K = np.asarray(sample["K"], np.float64)
        height, width = np.asarray(sample["image"]).shape[-2:]
        ax.imshow(np.asarray(sample["image"]).transpose(1, 2, 0), extent=(0, width, height, 0))
        gt = np.asarray(sample["joints_2d"])[joints] + 0.5
        ax.scatter(gt[:, 0], gt[:, 1], s=40, facecolors="none", edgecolors="lime", label="ground truth")
        reg = regression_xyz[index, joints]
        reg_uv = reg[:, :2] / np.maximum(reg[:, 2:], 1e-2) * np.diag(K)[:2] + K[:2, 2] + 0.5
        ax.scatter(reg_uv[:, 0], reg_uv[:, 1], s=18, marker="^", c="orange", label="regression (projected)")
        for answers, colour, marker, label in ((sft_answers, "red", "x", "SFT"),
                                               (rft_answers, "cyan", "+", "SFT+RFT")):
            uv = _answer_uv(answers, rows, index)
            if uv:
                pts = np.stack(list(uv.values()))
                ax.scatter(pts[:, 0], pts[:, 1], s=30, marker=marker, c=colour, label=label)
        depth = np.asarray(sample["joints_cam"])[0, 2]
        ax.set_title(f"pelvis depth {depth:.2f} m", fontsize=9)
        ax.set_xlim(-0.1 * width, 1.1 * width)
        ax.set_ylim(1.1 * height, -0.1 * height)
        ax.axis("off")
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8)
    fig.suptitle("TAIHRI on synthetic egocentric renders (stand-in body): queried joints", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return save_figure(fig, path, dpi=110)
