"""Convert Ego-Exo4D hand annotations (official jsons + camera poses, or EgoH4 combined files) to LeRobot v2.1.

  python scripts/prepare_egoexo4d.py --root <egoexo4d> --out data/egoexo4d_lerobot [--takes-json ...]
  python scripts/prepare_egoexo4d.py --egoh4-dir <gt_output/annotation/manual> --out ...
Optional --frames-dir <dir>/<take_uid>/<frame_number:06d>.jpg (undistorted Aria RGB) adds 224x224 videos.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import cv2
import numpy as np

from eggflow.egoexo4d import Episode, load_egoh4_combined, load_official_split, read_take_tasks
from eggflow.lerobot import write_lerobot

log = logging.getLogger("prepare_egoexo4d")


def episode_frames(frames_dir: Path | None, episode: Episode, size: int = 224) -> np.ndarray | None:
    """Resized RGB frames of an episode from `frames_dir/<take_uid>/<frame:06d>.jpg`, None if absent."""
    if frames_dir is None:
        return None
    out = []
    for f in episode.frames:
        path = frames_dir / episode.take_uid / f"{int(f):06d}.jpg"
        image = cv2.imread(str(path))
        if image is None:
            raise FileNotFoundError(f"frame {path} missing (expected <frames_dir>/<take_uid>/<frame:06d>.jpg)")
        out.append(cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (size, size)))
    return np.stack(out)


def main(argv: list[str] | None = None) -> Path:
    """Parse arguments, load both splits and write the LeRobot root."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, help="Ego-Exo4D root with annotations/ego_pose/{split}/...")
    parser.add_argument("--egoh4-dir", type=Path, help="folder with ego_pose_gt_anno_{split}_combined.json")
    parser.add_argument("--takes-json", type=Path, help="Ego-Exo4D takes.json (task names)")
    parser.add_argument("--frames-dir", type=Path)
    parser.add_argument("--splits", nargs="+", default=["train", "val"])
    parser.add_argument("--interval", type=int, default=3, help="30 fps frame step giving 10 fps")
    parser.add_argument("--min-views", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if (args.root is None) == (args.egoh4_dir is None):
        parser.error("give exactly one of --root or --egoh4-dir")
    tasks = read_take_tasks(args.takes_json)
    episodes: list[Episode] = []
    splits: dict[str, list[int]] = {}
    for split in args.splits:
        if args.root is not None:
            eps = load_official_split(args.root, split, args.interval, args.min_views, tasks)
        else:
            eps = load_egoh4_combined(args.egoh4_dir / f"ego_pose_gt_anno_{split}_combined.json",
                                      args.interval, tasks)
        splits[split] = list(range(len(episodes), len(episodes) + len(eps)))
        episodes += eps
        log.info("%s: %d episodes, %d frames", split, len(eps), sum(len(e.frames) for e in eps))
    frames = [episode_frames(args.frames_dir, e) for e in episodes] if args.frames_dir else None
    return write_lerobot(args.out, episodes, splits, frames=frames)


if __name__ == "__main__":
    main()
