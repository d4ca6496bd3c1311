"""Ego-Exo4D hand annotations: official per-take jsons + camera poses, and EgoH4's combined gt files.

Official layout (root = the Ego-Exo4D download):
  annotations/ego_pose/{split}/hand/annotation/{take_uid}.json
      {frame_number: [{"metadata": {...}, "annotation2D": {...},
                       "annotation3D": {joint_name: {"x", "y", "z", "num_views_for_3d"}}}]}
  annotations/ego_pose/{split}/camera_pose/{take_uid}.json
      {"aria01": {"camera_intrinsics": 3x3, "camera_extrinsics": {frame_number: 3x4 world->camera}},
       "metadata": {...}}
EgoH4 combined: {take_uid: {"intrinsics": 3x3, frame_number: {"extrinsics": 3x4, "right_hand_3d": 21x3,
  "left_hand_3d": 21x3, "right_hand_valid_3d": [21 bool], "left_hand_valid_3d": [21 bool], ...}}}
World coordinates in metres; 30 fps frame numbers (every 3rd frame gives 10 fps).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FINGERS = ("thumb", "index", "middle", "ring", "pinky")
HAND_ORDER = ("right", "left")
JOINT_NAMES = tuple(f"{hand}_{name}" for hand in HAND_ORDER
                    for name in ("wrist", *[f"{f}_{i}" for f in FINGERS for i in range(1, 5)]))


@dataclass
class Episode:
    """A contiguous 10 fps run of one take: world joints (T,42,3) with NaN = missing, extrinsics (T,3,4)."""

    take_uid: str
    frames: np.ndarray
    joints_world: np.ndarray
    extrinsics: np.ndarray
    task: str = ""              # scenario task name (takes.json task_name)
    instruction: str = ""       # fine-grained instruction (EggHand's per-episode `tasks`), when known
    take_name: str = ""         # Ego-Exo4D take name (keys the extracted Aria frames)

    @property
    def text(self) -> str:
        """The instruction when known, else the task name."""
        return self.instruction or self.task


def read_hand_annotation(path: Path, min_views: int = 3) -> dict[int, np.ndarray]:
    """frame number -> (42,3) world joints; joints missing or seen by fewer than `min_views` views are NaN."""
    raw = json.loads(Path(path).read_text())
    out = {}
    for frame, entries in raw.items():
        joints = np.full((len(JOINT_NAMES), 3), np.nan)
        ann3d = entries[0].get("annotation3D", {}) if entries else {}
        for j, name in enumerate(JOINT_NAMES):
            point = ann3d.get(name)
            if point is not None and point.get("num_views_for_3d", min_views) >= min_views:
                joints[j] = (point["x"], point["y"], point["z"])
        out[int(frame)] = joints
    return out


def read_camera_pose(path: Path) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """(Aria intrinsics (3,3), frame number -> world->camera extrinsics (3,4))."""
    raw = json.loads(Path(path).read_text())
    aria = [k for k in raw if k.lower().startswith("aria")]
    if not aria:
        raise KeyError(f"{path}: no 'aria*' camera entry (keys: {sorted(raw)})")
    cam = raw[sorted(aria)[0]]
    extr = {int(f): np.asarray(m, dtype=np.float64) for f, m in cam["camera_extrinsics"].items()}
    return np.asarray(cam["camera_intrinsics"], dtype=np.float64), extr


def split_runs(take_uid: str, frames: list[int], joints: list[np.ndarray], extrinsics: list[np.ndarray],
               interval: int) -> list[Episode]:
    """Cut sorted frames into episodes whose consecutive frame numbers are exactly `interval` apart."""
    episodes, start = [], 0
    for i in range(1, len(frames) + 1):
        if i == len(frames) or frames[i] - frames[i - 1] != interval:
            if i - start >= 2:
                episodes.append(Episode(take_uid, np.asarray(frames[start:i]), np.stack(joints[start:i]),
                                        np.stack(extrinsics[start:i])))
            start = i
    return episodes


def load_official_take(hand_json: Path, camera_json: Path, interval: int = 3, min_views: int = 3) -> list[Episode]:
    """Episodes of one take from the official hand annotation and camera pose jsons."""
    hands = read_hand_annotation(hand_json, min_views)
    _, extr = read_camera_pose(camera_json)
    frames = sorted(f for f in hands if f in extr)
    return split_runs(Path(hand_json).stem, frames, [hands[f] for f in frames], [extr[f] for f in frames],
                      interval)


def load_official_split(root: Path, split: str, interval: int = 3, min_views: int = 3) -> list[Episode]:
    """All takes of a split under `root/annotations/ego_pose/{split}/hand/annotation` with camera poses."""
    base = Path(root) / "annotations" / "ego_pose" / split
    hand_dir, cam_dir = base / "hand" / "annotation", base / "camera_pose"
    if not hand_dir.is_dir():
        raise FileNotFoundError(f"expected Ego-Exo4D hand annotations in {hand_dir}; see docs/eggflow.md")
    episodes = []
    for hand_json in sorted(hand_dir.glob("*.json")):
        cam_json = cam_dir / hand_json.name
        if not cam_json.exists():
            raise FileNotFoundError(f"camera pose {cam_json} missing for take {hand_json.stem}")
        episodes += load_official_take(hand_json, cam_json, interval, min_views)
    return episodes


def load_egoh4_combined(path: Path, interval: int = 3) -> list[Episode]:
    """Episodes from EgoH4's `ego_pose_gt_anno_{split}_combined.json` (invalid joints become NaN)."""
    raw = json.loads(Path(path).read_text())
    episodes = []
    for take_uid, take in raw.items():
        frames = sorted(int(f) for f in take if f != "intrinsics")
        joints, extr = [], []
        for f in frames:
            entry = take[str(f)]
            hand = np.concatenate([np.asarray(entry[f"{h}_hand_3d"], dtype=np.float64) for h in HAND_ORDER])
            valid = np.concatenate([np.asarray(entry[f"{h}_hand_valid_3d"], dtype=bool) for h in HAND_ORDER])
            joints.append(np.where(valid[:, None], hand, np.nan))
            extr.append(np.asarray(entry["extrinsics"], dtype=np.float64))
        episodes += split_runs(take_uid, frames, joints, extr, interval)
    return episodes


@dataclass
class TakeInfo:
    """takes.json entry of a take: its name (frame folders are keyed by it) and scenario task name."""

    take_name: str
    task_name: str


def read_takes(takes_json: Path | None) -> dict[str, TakeInfo]:
    """take_uid -> TakeInfo from Ego-Exo4D's takes.json (empty when not given)."""
    if takes_json is None:
        return {}
    return {t["take_uid"]: TakeInfo(t.get("take_name", ""), t.get("task_name", ""))
            for t in json.loads(Path(takes_json).read_text())}


def with_take_info(episodes: list[Episode], takes: dict[str, TakeInfo]) -> list[Episode]:
    """Episodes with their take name and task name filled from takes.json."""
    for ep in episodes:
        info = takes.get(ep.take_uid)
        if info is not None:
            ep.take_name, ep.task = info.take_name, info.task_name or ep.task
    return episodes


def read_instructions(path: Path) -> dict[str, list[tuple[int, int, str, str]]]:
    """EggHand's configs/data/{split}.json -> take_uid -> [(start_frame, end_frame, instruction, task name)]."""
    raw = json.loads(Path(path).read_text())
    names = {t["task_index"]: t["task"] for t in raw.get("tasks", [])}
    out: dict[str, list[tuple[int, int, str, str]]] = {}
    for ep in raw["episodes"]:
        out.setdefault(ep["take_uid"], []).append((int(ep["start_frame"]), int(ep["end_frame"]), ep["tasks"][0],
                                                   names.get(ep.get("task_index"), "")))
    return out


def with_instructions(episodes: list[Episode], segments: dict[str, list[tuple[int, int, str, str]]]
                      ) -> list[Episode]:
    """Cut episodes where the fine-grained instruction changes (frames inside an EggHand segment get its text)."""
    out = []
    for ep in episodes:
        labels = []
        for f in ep.frames:
            hit = [(text, task) for lo, hi, text, task in segments.get(ep.take_uid, []) if lo <= f <= hi]
            labels.append(hit[0] if hit else ("", ep.task))
        start = 0
        for i in range(1, len(labels) + 1):
            if i == len(labels) or labels[i] != labels[start]:
                if i - start >= 2:
                    text, task = labels[start]
                    out.append(Episode(ep.take_uid, ep.frames[start:i], ep.joints_world[start:i],
                                       ep.extrinsics[start:i], task or ep.task, text, ep.take_name))
                start = i
    return out
