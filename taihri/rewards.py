"""Pose-aware GRPO rewards (format, 2D accuracy, 3D accuracy, 2D-3D consistency), each bounded in [0, 1]."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from taihri.config import RewardConfig
from taihri.grammar import ParsedAnswer, parse_answer

RewardFn = Callable[..., list[float]]


def completion_text(completion: str | list[dict]) -> str:
    """Assistant text of a TRL completion (plain string or conversational message list)."""
    if isinstance(completion, str):
        return completion
    return "".join(m["content"] if isinstance(m["content"], str) else
                   "".join(c.get("text", "") for c in m["content"]) for m in completion)


def _project(xyz: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(N,3) camera metres -> (N,2) pixels with intrinsics K (depth floored at 1 cm)."""
    z = np.maximum(xyz[:, 2:3], 1e-2)
    return xyz[:, :2] / z * np.diag(K)[:2] + K[:2, 2]


def _score(distances: np.ndarray, sigma: float) -> float:
    """Mean of exp(-d / sigma) over joints; a missing joint (NaN) scores 0."""
    return float(np.nan_to_num(np.exp(-distances / sigma), nan=0.0).mean())


def format_score(answer: ParsedAnswer, joints: Sequence[int]) -> float:
    """1 when the answer parses cleanly and names exactly the requested joints, else 0."""
    return float(answer.ok and answer.names_exactly(joints))


def accuracy_2d_score(answer: ParsedAnswer, joints: Sequence[int], uv_gt: np.ndarray, sigma_px: float) -> float:
    """Mean exp(-pixel error / sigma) over requested joints (model-input pixels)."""
    uv, _ = answer.arrays(joints)
    return _score(np.linalg.norm(uv - uv_gt, axis=-1), sigma_px)


def accuracy_3d_score(answer: ParsedAnswer, joints: Sequence[int], xyz_gt: np.ndarray, sigma_m: float) -> float:
    """Mean exp(-metric error / sigma) over requested joints (camera frame, metres)."""
    _, xyz = answer.arrays(joints)
    return _score(np.linalg.norm(xyz - xyz_gt, axis=-1), sigma_m)


def consistency_score(answer: ParsedAnswer, joints: Sequence[int], K: np.ndarray, width: float,
                      height: float, sigma_px: float) -> float:
    """Mean exp(-d / sigma), d = pixel distance between the projected 3D answer (clipped to the image) and 2D."""
    uv, xyz = answer.arrays(joints)
    projected = np.clip(_project(xyz, K), 0.0, [width, height])
    return _score(np.linalg.norm(projected - uv, axis=-1), sigma_px)


def _per_sample(kwargs: dict, i: int) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Ground truth of sample i from the dataset columns TRL passes to reward functions."""
    return (list(kwargs["joints"][i]), np.asarray(kwargs["uv"][i], dtype=np.float64),
            np.asarray(kwargs["xyz"][i], dtype=np.float64), np.asarray(kwargs["K"][i], dtype=np.float64),
            float(kwargs["width"][i]), float(kwargs["height"][i]))


def make_reward_functions(cfg: RewardConfig) -> tuple[list[RewardFn], list[float]]:
    """TRL reward functions `f(prompts, completions, **columns) -> list[float]` and their weights."""

    def scored(name: str, score: Callable[[ParsedAnswer, tuple], float]) -> RewardFn:
        def reward(prompts: list, completions: list, **kwargs) -> list[float]:
            out = []
            for i, completion in enumerate(completions):
                gt = _per_sample(kwargs, i)
                answer = parse_answer(completion_text(completion), gt[4], gt[5])
                out.append(score(answer, gt))
            return out

        reward.__name__ = name
        return reward

    functions = [
        scored("format", lambda a, gt: format_score(a, gt[0])),
        scored("accuracy_2d", lambda a, gt: accuracy_2d_score(a, gt[0], gt[1], cfg.sigma_2d_px)),
        scored("accuracy_3d", lambda a, gt: accuracy_3d_score(a, gt[0], gt[2], cfg.sigma_3d_m)),
        scored("consistency", lambda a, gt: consistency_score(a, gt[0], gt[3], gt[4], gt[5],
                                                              cfg.sigma_consistency_px)),
    ]
    return functions, [cfg.w_format, cfg.w_2d, cfg.w_3d, cfg.w_consistency]


def total_reward(text: str, joints: Sequence[int], uv_gt: np.ndarray, xyz_gt: np.ndarray, K: np.ndarray,
                 width: float, height: float, cfg: RewardConfig) -> float:
    """Weighted sum of the four rewards for one completion (the quantity GRPO maximises)."""
    functions, weights = make_reward_functions(cfg)
    columns = {"joints": [list(joints)], "uv": [uv_gt], "xyz": [xyz_gt], "K": [K], "width": [width],
               "height": [height]}
    return sum(w * f([None], [text], **columns)[0] for f, w in zip(functions, weights))
