"""Picture for a person: skeletons (bones, a colour per joint) of ground truth and each model, per image."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from common.plotting import save_figure
from taihri.frames import Frames
from taihri.grammar import BODY_JOINT_NAMES, parse_answer

SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
"""Parent of each of the 22 SMPL body joints (kinematic tree; -1 = root)."""
JOINT_COLOURS = plt.get_cmap("turbo")(np.linspace(0.05, 0.95, len(BODY_JOINT_NAMES)))


def _answer_uv(answers: list[str], rows: list[dict], index: int) -> dict[int, np.ndarray]:
    """Joint -> predicted 2D (model-input px, pixel edges at integers) over all part queries of one image."""
    out: dict[int, np.ndarray] = {}
    for text, row in zip(answers, rows):
        if row["index"] == index:
            out.update(parse_answer(text, row["width"], row["height"]).uv)
    return out


def _skeleton(ax, uv: dict[int, np.ndarray], style: str) -> None:
    """Bones between joints present in `uv` and a dot per joint in its own colour."""
    for joint, parent in enumerate(SMPL_PARENTS):
        if parent >= 0 and joint in uv and parent in uv:
            ax.plot(*np.stack([uv[parent], uv[joint]]).T, style, color="white", lw=1.2, alpha=0.8)
    for joint, point in uv.items():
        ax.scatter(*point, s=22, color=JOINT_COLOURS[joint], edgecolors="black", linewidths=0.4, zorder=3)


def plot_predictions(frames: Frames, rows: list[dict], sft_answers: list[str], rft_answers: list[str],
                     regression_xyz: np.ndarray, path: Path, data_label: str, model_label: str,
                     count: int = 4) -> Path:
    """Save a PNG: one row per image, columns ground truth | SFT | SFT+RFT | regression (projected 3D)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = ("ground truth (queried joints)", "SFT", "SFT+RFT", "regression (3D projected)")
    fig, axes = plt.subplots(count, len(columns), figsize=(2.6 * len(columns), 2.7 * count), squeeze=False)
    for index in range(count):
        sample = frames.sample(index)
        joints = sorted({j for r in rows if r["index"] == index for j in r["joints"]})
        K = np.asarray(sample["K"], np.float64)
        height, width = np.asarray(sample["image"]).shape[-2:]
        gt = {j: np.asarray(sample["joints_2d"], np.float64)[j] + 0.5 for j in joints}
        reg = regression_xyz[index]
        reg_uv = reg[:, :2] / np.maximum(reg[:, 2:], 1e-2) * np.diag(K)[:2] + K[:2, 2] + 0.5
        panels = (gt, _answer_uv(sft_answers, rows, index), _answer_uv(rft_answers, rows, index),
                  {j: reg_uv[j] for j in joints})
        for ax, uv, title in zip(axes[index], panels, columns):
            ax.imshow(np.asarray(sample["image"]).transpose(1, 2, 0), extent=(0, width, height, 0))
            _skeleton(ax, uv, "-")
            ax.set_xlim(-0.1 * width, 1.1 * width)
            ax.set_ylim(1.1 * height, -0.1 * height)
            ax.set_title(title if index == 0 else "", fontsize=8)
            ax.axis("off")
        axes[index, 0].set_title(f"{columns[0] if index == 0 else 'ground truth'}\npelvis depth "
                                 f"{sample['joints_cam'][0][2]:.2f} m", fontsize=8)
    fig.suptitle(f"TAIHRI 2D answers, data: {data_label}; model: {model_label}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return save_figure(fig, path, dpi=110)
