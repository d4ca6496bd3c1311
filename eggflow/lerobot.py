"""LeRobot v2.1 (GR00T-flavoured) episodes of hand poses: writer used by scripts/prepare_egoexo4d.py, reader
and lazily windowed training dataset.

Layout: meta/{info.json, episodes.jsonl, tasks.jsonl, episodes_stats.jsonl, modality.json, stats.json},
data/chunk-{c:03d}/episode_{e:06d}.parquet (observation.state 138 = 126 world joints + 12 world->camera
extrinsics, action 126, timestamp, frame_index, episode_index, index, task_index) and optionally
videos/chunk-{c:03d}/observation.images.ego/episode_{e:06d}.mp4 (224x224, 10 fps).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from common.cache import cache_key, cache_path, cached_tensors
from eggflow.canonical import Window, make_window
from eggflow.config import EggFlowDataConfig
from eggflow.data import WINDOW_KEYS, frames_to_video, noise_video
from eggflow.egoexo4d import Episode
from eggflow.encoder import EgoVideoEncoder

log = logging.getLogger(__name__)
CHUNK = 1000
VIDEO_KEY = "observation.images.ego"
DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"


def _stats(x: np.ndarray) -> dict:
    """LeRobot/GR00T feature statistics; GR00T's `DatasetStatisticalValues` requires q01 and q99."""
    q01, q99 = np.quantile(x, [0.01, 0.99], axis=0)
    return {"mean": x.mean(0).tolist(), "std": x.std(0).tolist(), "min": x.min(0).tolist(),
            "max": x.max(0).tolist(), "q01": q01.tolist(), "q99": q99.tolist(), "count": [len(x)]}


def write_lerobot(root: Path, episodes: list[Episode], splits: dict[str, list[int]], fps: int = 10,
                  frames: Callable[[int, Episode], np.ndarray] | None = None) -> Path:
    """Write episodes (NaN joints stored as zeros, EggHand's invalid marker) in the v2.1 layout.

    `frames(e, episode)` gives episode e's (T,224,224,3) RGB frames; it is called once per episode, so only one
    episode's frames are in memory at a time.
    """
    root = Path(root)
    (root / "meta").mkdir(parents=True, exist_ok=True)
    tasks = sorted({ep.text for ep in episodes})
    task_index = {t: i for i, t in enumerate(tasks)}
    index, all_state, all_action, ep_lines, stat_lines = 0, [], [], [], []
    for e, ep in enumerate(episodes):
        joints = np.nan_to_num(ep.joints_world.reshape(len(ep.frames), -1)).astype(np.float32)
        state = np.concatenate([joints, ep.extrinsics.reshape(len(ep.frames), 12).astype(np.float32)], axis=1)
        n = len(ep.frames)
        table = pd.DataFrame({
            "observation.state": list(state), "action": list(joints),
            "timestamp": np.arange(n, dtype=np.float32) / fps, "frame_index": np.arange(n),
            "episode_index": np.full(n, e), "index": np.arange(index, index + n),
            "task_index": np.full(n, task_index[ep.text]), "source_frame": ep.frames.astype(np.int64)})
        path = root / DATA_PATH.format(episode_chunk=e // CHUNK, episode_index=e)
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(path)
        if frames is not None:
            _write_video(root / VIDEO_PATH.format(episode_chunk=e // CHUNK, video_key=VIDEO_KEY,
                                                  episode_index=e), frames(e, ep), fps)
        index += n
        all_state.append(state)
        all_action.append(joints)
        ep_lines.append({"episode_index": e, "tasks": [ep.text], "length": n, "take_uid": ep.take_uid,
                         "take_name": ep.take_name, "task_name": ep.task})
        stat_lines.append({"episode_index": e, "stats": {"observation.state": _stats(state),
                                                         "action": _stats(joints)}})
    has_video = frames is not None
    features = {"observation.state": {"dtype": "float32", "shape": [138], "names": None},
                "action": {"dtype": "float32", "shape": [126], "names": None},
                **{k: {"dtype": "int64", "shape": [1], "names": None}
                   for k in ("frame_index", "episode_index", "index", "task_index", "source_frame")},
                "timestamp": {"dtype": "float32", "shape": [1], "names": None}}
    if has_video:
        features[VIDEO_KEY] = {"dtype": "video", "shape": [224, 224, 3], "names": ["height", "width", "channel"],
                               "info": {"video.fps": fps, "video.codec": "mp4v", "video.pix_fmt": "yuv420p"}}
    info = {"codebase_version": "v2.1", "robot_type": "egoexo4d_hands", "total_episodes": len(episodes),
            "total_frames": index, "total_tasks": len(tasks), "total_videos": len(episodes) if has_video else 0,
            "total_chunks": (len(episodes) - 1) // CHUNK + 1, "chunks_size": CHUNK, "fps": fps,
            "splits": {k: f"{min(v)}:{max(v) + 1}" for k, v in splits.items() if v},
            "data_path": DATA_PATH, "video_path": VIDEO_PATH if has_video else None, "features": features}
    modality = {"state": {"hand_joints": {"start": 0, "end": 126, "absolute": True},
                          "extrinsics": {"start": 126, "end": 138, "absolute": True}},
                "action": {"hand_joints": {"start": 0, "end": 126, "absolute": True}},
                "video": {"ego_view": {"original_key": VIDEO_KEY}} if has_video else {},
                "annotation": {"human.task_description": {"original_key": "task_index"}}}
    meta = root / "meta"
    (meta / "info.json").write_text(json.dumps(info, indent=2))
    (meta / "modality.json").write_text(json.dumps(modality, indent=2))
    (meta / "episodes.jsonl").write_text("".join(json.dumps(x) + "\n" for x in ep_lines))
    (meta / "episodes_stats.jsonl").write_text("".join(json.dumps(x) + "\n" for x in stat_lines))
    (meta / "tasks.jsonl").write_text("".join(json.dumps({"task_index": i, "task": t}) + "\n"
                                              for i, t in enumerate(tasks)))
    (meta / "stats.json").write_text(json.dumps({"observation.state": _stats(np.concatenate(all_state)),
                                                 "action": _stats(np.concatenate(all_action))}))
    return root


def _write_video(path: Path, frames: np.ndarray, fps: int) -> None:
    """(T,224,224,3) RGB uint8 -> mp4."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, frames.shape[2:0:-1])
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def read_frames(path: Path, indices: np.ndarray, size: int = 224) -> np.ndarray:
    """Decode only the frames `indices` of an mp4 -> (len(indices),size,size,3) RGB uint8 (nothing else kept)."""
    if not path.exists():
        raise FileNotFoundError(f"video {path} is missing: re-run scripts/prepare_egoexo4d.py with --frames-root "
                                "(docs/eggflow.md, 'Ego-Exo4D'), or set data.allow_placeholder_frames=true")
    cap = cv2.VideoCapture(str(path))
    try:
        decoded = {}
        for index in sorted({int(i) for i in indices}):
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = cap.read()
            if not ok:
                raise ValueError(f"video {path} could not be decoded at frame {index} "
                                 f"({int(cap.get(cv2.CAP_PROP_FRAME_COUNT))} frames): the file is unreadable or "
                                 "shorter than its episode; re-run scripts/prepare_egoexo4d.py")
            decoded[index] = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), (size, size))
    finally:
        cap.release()
    return np.stack([decoded[int(i)] for i in indices])


class LeRobotHands:
    """Reads a v2.1 root: per-episode world joints (T,42,3; zeros = invalid), extrinsics (T,3,4), texts, frames."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        info_path = self.root / "meta" / "info.json"
        if not info_path.exists():
            raise FileNotFoundError(f"{info_path} not found: run scripts/prepare_egoexo4d.py "
                                    "(see docs/eggflow.md, 'Ego-Exo4D')")
        self.info = json.loads(info_path.read_text())
        lines = (self.root / "meta" / "episodes.jsonl").read_text().splitlines()
        self.episodes = [json.loads(x) for x in lines if x.strip()]

    @property
    def has_video(self) -> bool:
        """Whether the root was written with egocentric videos."""
        return bool(self.info.get("video_path"))

    def split(self, name: str) -> list[int]:
        """Episode indices of split `name` (from meta/info.json `splits`)."""
        spans = self.info.get("splits", {})
        if name not in spans:
            raise KeyError(f"{self.root / 'meta' / 'info.json'} has no split {name!r} (splits: {sorted(spans)}); "
                           "set data.eval_split")
        lo, hi = (int(x) for x in spans[name].split(":"))
        return list(range(lo, hi))

    def text(self, e: int, kind: str = "instruction") -> str:
        """Episode text: the fine-grained instruction (`tasks[0]`) or the scenario task name."""
        episode = self.episodes[e]
        if kind == "task":
            return episode.get("task_name") or episode["tasks"][0]
        return episode["tasks"][0]

    def episode(self, e: int) -> tuple[np.ndarray, np.ndarray]:
        """(joints (T,42,3), extrinsics (T,3,4)) of episode e."""
        table = pd.read_parquet(self.root / self.info["data_path"].format(episode_chunk=e // CHUNK,
                                                                          episode_index=e))
        state = np.stack(table["observation.state"].to_numpy()).astype(np.float64)
        return state[:, :126].reshape(-1, 42, 3), state[:, 126:].reshape(-1, 3, 4)

    def frames(self, e: int, indices: np.ndarray) -> np.ndarray:
        """(len(indices),224,224,3) RGB frames of episode e, decoded on demand."""
        return read_frames(self.root / self.info["video_path"].format(
            episode_chunk=e // CHUNK, video_key=VIDEO_KEY, episode_index=e), indices)


def dummy_text(words: list[str], rng: np.random.Generator, length: int = 6) -> str:
    """A random word sequence from the vocabulary of the real task texts (the dummy-language ablation)."""
    return " ".join(rng.choice(words, size=length))


class LeRobotWindows(Dataset):
    """Every frame of every episode is a sample (edge padding), canonicalised at the first observed camera.

    Frames are decoded per sample; `data.noisy_vision` / `data.dummy_language` replace the real frames / texts.
    """

    def __init__(self, reader: LeRobotHands, episode_ids: list[int], cfg: EggFlowDataConfig,
                 words: list[str], seed: int = 0) -> None:
        if not reader.has_video and not (cfg.allow_placeholder_frames or cfg.noisy_vision):
            raise FileNotFoundError(f"{reader.root} has no videos (meta/info.json video_path is null): prepare it with "
                                    "--frames-root (docs/eggflow.md), or set data.allow_placeholder_frames=true to "
                                    "train without vision")
        self.reader, self.cfg, self.words, self.seed = reader, cfg, words, seed
        self.data = {e: reader.episode(e) for e in episode_ids}
        self.texts = {e: reader.text(e, cfg.text) for e in episode_ids}
        self.index = [(e, t) for e in episode_ids for t in range(len(self.data[e][0]))]
        self.position = {sample: i for i, sample in enumerate(self.index)}    # sample -> index in the full split
        self.egomotion = np.array([self.window(i).egomotion for i in range(len(self.index))])

    def subset(self, keep: np.ndarray) -> LeRobotWindows:
        """A view restricted to the samples `keep` (episodes and texts shared)."""
        view = copy.copy(self)
        view.index = [self.index[int(i)] for i in keep]
        view.egomotion = self.egomotion[keep]
        return view

    def with_ablations(self, noisy_vision: bool, dummy_language: bool, seed: int) -> LeRobotWindows:
        """A view whose inputs are corrupted as `data.noisy_vision` / `data.dummy_language` would."""
        view = copy.copy(self)
        view.cfg = dataclasses.replace(self.cfg, noisy_vision=noisy_vision, dummy_language=dummy_language)
        view.seed = seed
        return view

    def window(self, i: int) -> Window:
        """The canonical window (no video) of sample i."""
        e, t = self.index[i]
        joints, extr = self.data[e]
        return make_window(joints, extr, t, self.cfg.obs_len, self.cfg.horizon, self.cfg.action_offset_start,
                           self.cfg.video_offsets)

    def __len__(self) -> int:
        return len(self.index)

    def window_arrays(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """Stacked window arrays of the samples in `index` (for statistics and baselines)."""
        windows = [self.window(int(i)) for i in index]
        return {k: np.stack([getattr(w, k) for w in windows]) for k in WINDOW_KEYS}

    def inputs(self, i: int, window: Window) -> tuple[torch.Tensor, str]:
        """(video (3,T,224,224) in [0,1], text) the model sees for sample i, ablations applied."""
        e, t = self.index[i]
        rng = np.random.default_rng([self.seed, self.position[(e, t)]])
        frames = len(window.video_index)
        if self.cfg.noisy_vision:
            video = noise_video(1, frames, 224, rng)[0]
        elif self.reader.has_video:
            video = frames_to_video(self.reader.frames(e, window.video_index)[None])[0]
        else:
            video = torch.full((3, frames, 224, 224), 0.5)      # allow_placeholder_frames: mid-grey
        text = dummy_text(self.words, rng) if self.cfg.dummy_language else self.texts[e]
        return video, text

    def __getitem__(self, i: int) -> dict:
        window = self.window(i)
        item = {k: torch.from_numpy(np.asarray(getattr(window, k))) for k in WINDOW_KEYS}
        item["video"], item["text"] = self.inputs(i, window)
        return item


class CachedFeatures(Dataset):
    """LeRobotWindows whose frozen-encoder features are computed once per episode (all its anchors) and cached
    in bf16 under paths.cache_dir (common/cache.py); items carry `vision_feats` / `text_feats`, not video/text."""

    def __init__(self, windows: LeRobotWindows, encoder: EgoVideoEncoder, cache_dir: Path, key: tuple) -> None:
        self.windows, self.encoder, self.cache_dir, self.key = windows, encoder, Path(cache_dir), key
        self.egomotion = windows.egomotion
        self._episode: tuple[int | None, dict[str, torch.Tensor]] = (None, {})

    def __len__(self) -> int:
        return len(self.windows)

    def features(self, e: int) -> dict[str, torch.Tensor]:
        """bf16 features of every anchor of episode e (kept in memory for one episode at a time)."""
        if self._episode[0] != e:
            w = self.windows
            name = cache_key("eggflow-features", 1, self.key, w.cfg, w.seed, e)
            self._episode = (e, cached_tensors(cache_path(self.cache_dir, "eggflow", name, ".safetensors"),
                                               lambda: self._encode(e)))
        return self._episode[1]

    def _encode(self, e: int) -> dict[str, torch.Tensor]:
        w, anchors = self.windows, range(len(self.windows.data[e][0]))
        vision, text = [], []
        for chunk in np.array_split(np.arange(len(anchors)), max(1, len(anchors) // 16)):
            inputs = [w.inputs(w.position[(e, int(t))], w.window(w.position[(e, int(t))])) for t in chunk]
            vision.append(self.encoder.encode_video(torch.stack([v for v, _ in inputs])).to(torch.bfloat16))
            text.append(self.encoder.encode_text([x for _, x in inputs]).to(torch.bfloat16))
        return {"vision_feats": torch.cat(vision).cpu(), "text_feats": torch.cat(text).cpu()}

    def __getitem__(self, i: int) -> dict:
        window = self.windows.window(i)
        item = {k: torch.from_numpy(np.asarray(getattr(window, k))) for k in WINDOW_KEYS}
        e, t = self.windows.index[i]
        item.update({k: v[t].float() for k, v in self.features(e).items()})
        return item

    def window_arrays(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """Window arrays of the samples in `index`."""
        return self.windows.window_arrays(index)

    def subset(self, keep: np.ndarray) -> CachedFeatures:
        """A view restricted to `keep` (same per-episode caches)."""
        return CachedFeatures(self.windows.subset(keep), self.encoder, self.cache_dir, self.key)

    def with_ablations(self, noisy_vision: bool, dummy_language: bool, seed: int) -> CachedFeatures:
        """Features of the corrupted inputs (cached under their own key)."""
        return CachedFeatures(self.windows.with_ablations(noisy_vision, dummy_language, seed), self.encoder,
                              self.cache_dir, self.key)


def lerobot_datasets(cfg: EggFlowDataConfig, words: list[str]) -> tuple[LeRobotWindows, LeRobotWindows]:
    """Train and evaluation windows from `cfg.root` (splits from meta/info.json)."""
    reader = open_root(cfg)
    return (LeRobotWindows(reader, reader.split("train"), cfg, words, cfg.seed),
            LeRobotWindows(reader, reader.split(cfg.eval_split), cfg, words, cfg.seed + 1))


def open_root(cfg: EggFlowDataConfig) -> LeRobotHands:
    """The LeRobot reader of `data.root` (a clear error when unset)."""
    if not cfg.root:
        raise FileNotFoundError("data.root is not set: point it at a LeRobot v2.1 root written by "
                                "scripts/prepare_egoexo4d.py (see docs/eggflow.md)")
    return LeRobotHands(cfg.root)


def task_texts(reader: LeRobotHands) -> list[str]:
    """Every instruction and task name of the root (for the word-level vocabulary)."""
    return sorted({t for e in range(len(reader.episodes)) for t in (reader.text(e), reader.text(e, "task"))})
