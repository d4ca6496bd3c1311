"""LeRobot v2.1 (GR00T-flavoured) episodes of hand poses: writer used by scripts/prepare_egoexo4d.py, reader
and lazily windowed training dataset.

Layout: meta/{info.json, episodes.jsonl, tasks.jsonl, episodes_stats.jsonl, modality.json, stats.json},
data/chunk-{c:03d}/episode_{e:06d}.parquet (observation.state 138 = 126 world joints + 12 world->camera
extrinsics, action 126, timestamp, frame_index, episode_index, index, task_index) and optionally
videos/chunk-{c:03d}/observation.images.ego/episode_{e:06d}.mp4 (224x224, 10 fps).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from eggflow.canonical import Window, make_window
from eggflow.config import EggFlowDataConfig
from eggflow.data import WINDOW_KEYS
from eggflow.egoexo4d import Episode

log = logging.getLogger(__name__)
CHUNK = 1000
VIDEO_KEY = "observation.images.ego"
DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"


def _stats(x: np.ndarray) -> dict:
    return {"mean": x.mean(0).tolist(), "std": x.std(0).tolist(), "min": x.min(0).tolist(),
            "max": x.max(0).tolist(), "count": [len(x)]}


def write_lerobot(root: Path, episodes: list[Episode], splits: dict[str, list[int]], fps: int = 10,
                  frames: list[np.ndarray | None] | None = None) -> Path:
    """Write episodes (NaN joints stored as zeros, EggHand's invalid marker) in the v2.1 layout."""
    root = Path(root)
    (root / "meta").mkdir(parents=True, exist_ok=True)
    tasks = sorted({e.task for e in episodes})
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
            "task_index": np.full(n, task_index[ep.task]), "source_frame": ep.frames.astype(np.int64)})
        path = root / DATA_PATH.format(episode_chunk=e // CHUNK, episode_index=e)
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(path)
        if frames is not None and frames[e] is not None:
            _write_video(root / VIDEO_PATH.format(episode_chunk=e // CHUNK, video_key=VIDEO_KEY,
                                                  episode_index=e), frames[e], fps)
        index += n
        all_state.append(state)
        all_action.append(joints)
        ep_lines.append({"episode_index": e, "tasks": [ep.task], "length": n, "take_uid": ep.take_uid})
        stat_lines.append({"episode_index": e, "stats": {"observation.state": _stats(state),
                                                         "action": _stats(joints)}})
    has_video = frames is not None and any(f is not None for f in frames)
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


def read_video(path: Path, size: int = 224) -> np.ndarray:
    """mp4 -> (T,size,size,3) RGB uint8."""
    cap, out = cv2.VideoCapture(str(path)), []
    ok, frame = cap.read()
    while ok:
        out.append(cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), (size, size)))
        ok, frame = cap.read()
    cap.release()
    return np.stack(out) if out else np.zeros((0, size, size, 3), np.uint8)


class LeRobotHands:
    """Reads a v2.1 root: per-episode world joints (T,42,3; zeros = invalid), extrinsics (T,3,4) and task."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        info_path = self.root / "meta" / "info.json"
        if not info_path.exists():
            raise FileNotFoundError(f"{info_path} not found: run scripts/prepare_egoexo4d.py "
                                    "(see docs/eggflow.md, 'Ego-Exo4D')")
        self.info = json.loads(info_path.read_text())
        lines = (self.root / "meta" / "episodes.jsonl").read_text().splitlines()
        self.episodes = [json.loads(x) for x in lines if x.strip()]
        self._video: dict[int, np.ndarray] = {}

    def split(self, name: str) -> list[int]:
        """Episode indices of split `name` ('train', 'val'/'test'); without splits, 85/15 by index."""
        spans = self.info.get("splits", {})
        if name in spans:
            lo, hi = (int(x) for x in spans[name].split(":"))
            return list(range(lo, hi))
        n = len(self.episodes)
        cut = round(0.85 * n)
        return list(range(cut)) if name == "train" else list(range(cut, n))

    def episode(self, e: int) -> tuple[np.ndarray, np.ndarray, str]:
        """(joints (T,42,3), extrinsics (T,3,4), task text) of episode e."""
        table = pd.read_parquet(self.root / self.info["data_path"].format(episode_chunk=e // CHUNK,
                                                                          episode_index=e))
        state = np.stack(table["observation.state"].to_numpy()).astype(np.float64)
        return state[:, :126].reshape(-1, 42, 3), state[:, 126:].reshape(-1, 3, 4), self.episodes[e]["tasks"][0]

    def frames(self, e: int) -> np.ndarray | None:
        """(T,224,224,3) RGB frames of episode e, or None without videos (decoded once, kept in memory)."""
        if not self.info.get("video_path"):
            return None
        if e not in self._video:
            self._video[e] = read_video(self.root / self.info["video_path"].format(
                episode_chunk=e // CHUNK, video_key=VIDEO_KEY, episode_index=e))
        return self._video[e]


class LeRobotWindows(Dataset):
    """Every frame of every episode is a sample (edge padding), canonicalised at the first observed camera."""

    def __init__(self, reader: LeRobotHands, episode_ids: list[int], cfg: EggFlowDataConfig) -> None:
        self.reader, self.cfg = reader, cfg
        self.data = {e: reader.episode(e) for e in episode_ids}
        self.index = [(e, t) for e in episode_ids for t in range(len(self.data[e][0]))]
        self.egomotion = np.array([self.window(i).egomotion for i in range(len(self.index))])

    def window(self, i: int) -> Window:
        """The canonical window (no video) of sample i."""
        e, t = self.index[i]
        joints, extr, _ = self.data[e]
        return make_window(joints, extr, t, self.cfg.obs_len, self.cfg.horizon, self.cfg.action_offset_start,
                           self.cfg.video_offsets)

    def __len__(self) -> int:
        return len(self.index)

    def window_arrays(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """Stacked window arrays of the samples in `index` (for statistics and baselines)."""
        windows = [self.window(int(i)) for i in index]
        return {k: np.stack([getattr(w, k) for w in windows]) for k in WINDOW_KEYS}

    def __getitem__(self, i: int) -> dict:
        window = self.window(i)
        item = {k: torch.from_numpy(np.asarray(getattr(window, k))) for k in WINDOW_KEYS}
        e, _ = self.index[i]
        frames = self.reader.frames(e)
        if frames is None or len(frames) == 0:
            video = torch.zeros(3, len(window.video_index), 224, 224)
        else:
            clip = frames[np.clip(window.video_index, 0, len(frames) - 1)]
            video = torch.from_numpy(clip).permute(3, 0, 1, 2).float() / 255.0
        item["video"], item["text"] = video, self.data[e][2]
        return item


def lerobot_datasets(cfg: EggFlowDataConfig) -> tuple[LeRobotWindows, LeRobotWindows]:
    """Train and evaluation windows from `cfg.root` (splits from meta/info.json)."""
    if not cfg.root:
        raise FileNotFoundError("data.root is not set: point it at a LeRobot v2.1 root written by "
                                "scripts/prepare_egoexo4d.py (see docs/eggflow.md)")
    reader = LeRobotHands(cfg.root)
    eval_split = "val" if "val" in reader.info.get("splits", {}) else "test"
    return LeRobotWindows(reader, reader.split("train"), cfg), LeRobotWindows(reader, reader.split(eval_split), cfg)
