"""Forecasting datasets: windowed samples in the canonical frame, with cached frozen-encoder features."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from eggflow.baselines import last_valid
from eggflow.canonical import WRIST_OF, make_window, to_wrist_relative
from eggflow.config import EggFlowDataConfig
from eggflow.encoder import EgoVideoEncoder
from eggflow.synthetic import ANCHOR, generate_clip, random_task_text

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


def normalisation_stats(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Per-coordinate min/max (metres): absolute joints + 12 extrinsics (state, EggHand's stats) and the
    targets as residuals from the last observed pose (`residual_*`: wrist offsets, wrist-relative finger
    offsets), over valid joints only."""
    def min_max(x: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo = np.where(valid[..., None], x, np.inf).min(0).ravel()
        hi = np.where(valid[..., None], x, -np.inf).max(0).ravel()
        unseen = ~np.isfinite(lo) | ~np.isfinite(hi) | (hi - lo < 1e-6)
        return np.where(unseen, -1.0, lo), np.where(unseen, 1.0, hi)

    hands = np.concatenate([arrays["past"].reshape(-1, 42, 3), arrays["future"].reshape(-1, 42, 3)])
    valid = np.concatenate([arrays["past_valid"].reshape(-1, 42), arrays["future_valid"].reshape(-1, 42)])
    lo, hi = min_max(hands, valid)
    anchor = last_valid(arrays["past"], arrays["past_valid"])
    residual = to_wrist_relative(arrays["future"]) - to_wrist_relative(anchor)[:, None]
    res_valid = arrays["future_valid"] & arrays["future_valid"][..., WRIST_OF]
    res_lo, res_hi = min_max(residual.reshape(-1, 42, 3), res_valid.reshape(-1, 42))
    extr = arrays["past_extrinsics"].reshape(-1, 12)
    stats = {"hand_min": lo, "hand_max": hi, "residual_min": res_lo, "residual_max": res_hi,
             "state_min": np.concatenate([lo, extr.min(0)]), "state_max": np.concatenate([hi, extr.max(0)])}
    return {k: torch.as_tensor(v, dtype=torch.float32) for k, v in stats.items()}


class CorruptedView(Dataset):
    """Raw-input dataset view with Gaussian-noise frames and/or random task texts (ablations)."""

    def __init__(self, base: Dataset, noisy_vision: bool, dummy_language: bool, seed: int = 0) -> None:
        self.base, self.noisy_vision, self.dummy_language, self.seed = base, noisy_vision, dummy_language, seed
        self.egomotion = getattr(base, "egomotion", None)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> dict:
        item = dict(self.base[i])
        rng = np.random.default_rng(self.seed * 1_000_003 + i)
        if self.noisy_vision:
            item["video"] = noise_video(1, item["video"].shape[1], item["video"].shape[-1], rng)[0]
        if self.dummy_language:
            item["text"] = random_task_text(rng)
        return item


def corrupted(dataset: Dataset, encoder: EgoVideoEncoder, noisy_vision: bool, dummy_language: bool,
              seed: int = 0) -> Dataset:
    """The same samples with corrupted vision and/or language (features recomputed when cached)."""
    if not isinstance(dataset, ForecastDataset) or dataset.features is None:
        return CorruptedView(dataset, noisy_vision, dummy_language, seed)
    rng = np.random.default_rng(seed)
    feats = dict(dataset.features)
    n = len(dataset)
    if noisy_vision:
        size, frames = encoder.cfg.image_size, encoder.cfg.num_frames
        feats["vision_feats"] = torch.cat([encoder.encode_video(noise_video(min(64, n - s), frames, size, rng))
                                           for s in range(0, n, 64)])
    if dummy_language:
        feats["text_feats"] = encoder.encode_text([random_task_text(rng) for _ in range(n)])
    return ForecastDataset({k: v.numpy() for k, v in dataset.arrays.items()}, dataset.egomotion, feats)
