"""Forecasting datasets: windowed samples in the canonical frame, with cached frozen-encoder features."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

from eggflow.baselines import last_valid
from eggflow.canonical import WRIST_OF, make_window, to_wrist_relative
from eggflow.config import EggFlowDataConfig
from eggflow.synthetic import ANCHOR, generate_clip, random_task_text

if TYPE_CHECKING:
    from eggflow.encoder import EgoVideoEncoder
    from eggflow.task import EggFlowData

log = logging.getLogger(__name__)
WINDOW_KEYS = ("past", "past_valid", "past_extrinsics", "future", "future_valid")


class ForecastDataset(Dataset):
    """Samples with window arrays plus either cached encoder features or a callable giving (video, text)."""

    def __init__(self, arrays: dict[str, np.ndarray], egomotion: np.ndarray,
                 features: dict[str, torch.Tensor] | None = None,
                 raw: Callable[[int], tuple[torch.Tensor, str]] | None = None) -> None:
        self.arrays = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
        self.egomotion = egomotion
        self.features = features
        self.raw = raw

    def __len__(self) -> int:
        return len(self.egomotion)

    def __getitem__(self, i: int) -> dict:
        item = {k: v[i] for k, v in self.arrays.items()}
        if self.features is not None:
            item.update({k: v[i] for k, v in self.features.items()})
        else:
            item["video"], item["text"] = self.raw(i)
        return item

    def window_arrays(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """Window arrays of the samples in `index` (for statistics and baselines)."""
        return {k: v[torch.as_tensor(index)].numpy() for k, v in self.arrays.items()}

    def subset(self, index: np.ndarray) -> ForecastDataset:
        """A dataset restricted to `index` (features must be cached)."""
        idx = torch.as_tensor(index)
        feats = None if self.features is None else {k: v[idx] for k, v in self.features.items()}
        return ForecastDataset({k: v[idx].numpy() for k, v in self.arrays.items()}, self.egomotion[index],
                               feats, None if self.raw is None else lambda i: self.raw(int(index[i])))


def frames_to_video(frames: np.ndarray) -> torch.Tensor:
    """(B,T,H,W,3) uint8 -> (B,3,T,H,W) float in [0,1] (EggHand feeds [0,1] video to the backbone)."""
    return torch.from_numpy(frames).permute(0, 4, 1, 2, 3).float() / 255.0


def noise_video(batch: int, frames: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    """Gaussian-noise frames (mean 0.5, std 0.25, clipped to [0,1]) for the noisy-vision ablation."""
    noise = rng.normal(0.5, 0.25, (batch, 3, frames, size, size)).clip(0, 1)
    return torch.from_numpy(noise).float()


def build_synthetic(cfg: EggFlowDataConfig, encoder: EgoVideoEncoder, num_clips: int, seed: int,
                    keep_frames: int = 0, noisy_vision: bool = False, dummy_language: bool = False,
                    ) -> tuple[ForecastDataset, np.ndarray, list[str]]:
    """Generate clips, window them and cache frozen features; returns (dataset, first frames, texts)."""
    rng = np.random.default_rng(seed)
    corrupt_rng = np.random.default_rng(seed + 17)
    windows, vision, text, texts, kept = [], [], [], [], []
    chunk = 64
    for start in range(0, num_clips, chunk):
        clips = [generate_clip(rng, cfg.num_objects, cfg.egomotion_scale)
                 for _ in range(min(chunk, num_clips - start))]
        for clip in clips:
            windows.append(make_window(clip.joints_world, clip.extrinsics, ANCHOR, cfg.obs_len, cfg.horizon,
                                       cfg.action_offset_start, cfg.video_offsets))
        frames = np.stack([c.frames for c in clips])
        kept.extend(frames[: max(keep_frames - len(kept), 0)])
        video = (noise_video(len(clips), frames.shape[1], frames.shape[2], corrupt_rng) if noisy_vision
                 else frames_to_video(frames))
        chunk_texts = [random_task_text(corrupt_rng) if dummy_language else c.text for c in clips]
        texts.extend(c.text for c in clips)
        vision.append(encoder.encode_video(video))
        text.append(encoder.encode_text(chunk_texts))
    arrays = {k: np.stack([getattr(w, k) for w in windows]) for k in WINDOW_KEYS}
    features = {"vision_feats": torch.cat(vision), "text_feats": torch.cat(text)}
    egomotion = np.array([w.egomotion for w in windows])
    frames_kept = np.stack(kept) if kept else np.zeros((0,), np.uint8)
    return ForecastDataset(arrays, egomotion, features), frames_kept, texts


class StatsAccumulator:
    """Streamed per-coordinate min/max (metres) and the training mean pose over every window of a split.

    Min/max of absolute joints + 12 extrinsics (state, EggHand's stats) and of the targets as residuals from the
    last observed pose (`residual_*`: wrist offsets, wrist-relative finger offsets), over valid joints only.
    """

    def __init__(self) -> None:
        self.lo: dict[str, np.ndarray] = {}
        self.hi: dict[str, np.ndarray] = {}
        self.pose_sum = np.zeros((42, 3))
        self.pose_count = np.zeros((42, 1))

    def _update(self, name: str, x: np.ndarray, valid: np.ndarray) -> None:
        lo = np.where(valid[..., None], x, np.inf).min(0).ravel()
        hi = np.where(valid[..., None], x, -np.inf).max(0).ravel()
        self.lo[name] = np.minimum(self.lo.get(name, lo), lo)
        self.hi[name] = np.maximum(self.hi.get(name, hi), hi)

    def update(self, arrays: dict[str, np.ndarray]) -> None:
        """Add a chunk of window arrays (WINDOW_KEYS)."""
        hands = np.concatenate([arrays["past"].reshape(-1, 42, 3), arrays["future"].reshape(-1, 42, 3)])
        valid = np.concatenate([arrays["past_valid"].reshape(-1, 42), arrays["future_valid"].reshape(-1, 42)])
        self._update("hand", hands, valid)
        anchor = last_valid(arrays["past"], arrays["past_valid"])
        residual = to_wrist_relative(arrays["future"]) - to_wrist_relative(anchor)[:, None]
        res_valid = arrays["future_valid"] & arrays["future_valid"][..., WRIST_OF]
        self._update("residual", residual.reshape(-1, 42, 3), res_valid.reshape(-1, 42))
        extr = arrays["past_extrinsics"].reshape(-1, 12)
        self._update("extrinsics", extr, np.ones(len(extr), bool))
        weights = arrays["future_valid"].reshape(-1, 42, 1).astype(np.float64)
        self.pose_sum += (arrays["future"].reshape(-1, 42, 3) * weights).sum(0)
        self.pose_count += weights.sum(0)

    def stats(self) -> dict[str, torch.Tensor]:
        """hand/residual/state min and max tensors for `EggFlowModel.set_normalisation`."""
        def fix(name: str) -> tuple[np.ndarray, np.ndarray]:
            lo, hi = self.lo[name], self.hi[name]
            unseen = ~np.isfinite(lo) | ~np.isfinite(hi) | (hi - lo < 1e-6)
            return np.where(unseen, -1.0, lo), np.where(unseen, 1.0, hi)

        (lo, hi), (res_lo, res_hi), (e_lo, e_hi) = fix("hand"), fix("residual"), fix("extrinsics")
        out = {"hand_min": lo, "hand_max": hi, "residual_min": res_lo, "residual_max": res_hi,
               "state_min": np.concatenate([lo, e_lo]), "state_max": np.concatenate([hi, e_hi])}
        return {k: torch.as_tensor(v, dtype=torch.float32) for k, v in out.items()}

    def mean_pose(self) -> np.ndarray:
        """Per-joint mean canonical position over every valid training target frame: (42,3)."""
        return (self.pose_sum / np.maximum(self.pose_count, 1)).astype(np.float32)


def split_statistics(dataset: Dataset, chunk: int = 2048) -> StatsAccumulator:
    """Stream every window of `dataset` (chunks of `chunk`) through a StatsAccumulator."""
    acc = StatsAccumulator()
    n = len(dataset)
    for start in range(0, n, chunk):
        acc.update(dataset.window_arrays(np.arange(start, min(n, start + chunk))))
    return acc


def corrupted(dataset: Dataset, data: EggFlowData, noisy_vision: bool, dummy_language: bool,
              seed: int = 0) -> Dataset:
    """The same samples with Gaussian-noise frames and/or random task texts (cached features are recomputed)."""
    if isinstance(dataset, ForecastDataset) and dataset.features is not None:
        rng = np.random.default_rng(seed)
        encoder, feats, n = data.encoder, dict(dataset.features), len(dataset)
        if noisy_vision:
            size, frames = encoder.cfg.image_size, encoder.cfg.num_frames
            feats["vision_feats"] = torch.cat([encoder.encode_video(noise_video(min(64, n - s), frames, size, rng))
                                               for s in range(0, n, 64)])
        if dummy_language:
            feats["text_feats"] = encoder.encode_text([random_task_text(rng) for _ in range(n)])
        return ForecastDataset({k: v.numpy() for k, v in dataset.arrays.items()}, dataset.egomotion, feats)
    return dataset.with_ablations(noisy_vision, dummy_language, seed)
