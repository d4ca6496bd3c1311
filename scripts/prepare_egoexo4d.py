"""Convert Ego-Exo4D hand annotations (official jsons + camera poses, or EgoH4 combined files) to LeRobot v2.1.

  python scripts/prepare_egoexo4d.py --root <egoexo4d> --takes-json <egoexo4d>/takes.json \
      [--instructions-dir <EggHand_Code>/configs/data] [--frames-root <gt_output_dir>/image/undistorted] \
      --out data/egoexo4d_lerobot
  python scripts/prepare_egoexo4d.py --egoh4-dir <gt_output/annotation/manual> ... --out ...

--frames-root holds the undistorted Aria frames extracted by the Ego-Exo4D egopose baseline, keyed by take name:
<frames-root>/<split>/<take_name>/<frame_number:06d>.jpg (docs/eggflow.md, "Frames"); they become 224x224
videos. --instructions-dir holds EggHand's {split}.json (fine-grained instruction per episode).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import cv2
import numpy as np

from eggflow.egoexo4d import (
    Episode,
    load_egoh4_combined,
    load_official_split,
    read_instructions,
    read_takes,
    with_instructions,
    with_take_info,
)
from eggflow.lerobot import write_lerobot

log = logging.getLogger("prepare_egoexo4d")


def episode_frames(frames_dir: Path, episode: Episode, size: int = 224) -> np.ndarray:
    """Resized RGB frames of an episode from `frames_dir/<take_name>/<frame:06d>.jpg` (an error names a gap)."""
    if not episode.take_name:
        raise ValueError(f"take {episode.take_uid} has no take name: pass --takes-json (frames are keyed by name)")
    out = []
    for f in episode.frames:
        path = frames_dir / episode.take_name / f"{int(f):06d}.jpg"
        image = cv2.imread(str(path))
        if image is None:
            raise FileNotFoundError(f"frame {path} missing or unreadable (expected "
                                    "<frames-root>/<split>/<take_name>/<frame:06d>.jpg, see docs/eggflow.md)")
        out.append(cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (size, size)))
    return np.stack(out)


def main(argv: list[str] | None = None) -> Path:
    """Parse arguments, load the splits and write the LeRobot root."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, help="Ego-Exo4D root with annotations/ego_pose/{split}/...")
    parser.add_argument("--egoh4-dir", type=Path, help="folder with ego_pose_gt_anno_{split}_combined.json")
    parser.add_argument("--takes-json", type=Path, help="Ego-Exo4D takes.json (take names and task names)")
    parser.add_argument("--instructions-dir", type=Path, help="folder with EggHand's {split}.json instructions")
    parser.add_argument("--frames-root", type=Path, help="<gt_output_dir>/image/undistorted of the egopose baseline")
    parser.add_argument("--splits", nargs="+", default=["train", "val"])
    parser.add_argument("--interval", type=int, default=3, help="30 fps frame step giving 10 fps")
    parser.add_argument("--min-views", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if (args.root is None) == (args.egoh4_dir is None):
        parser.error("give exactly one of --root or --egoh4-dir")
    if args.frames_root is not None and args.takes_json is None:
        parser.error("--frames-root needs --takes-json (frame folders are keyed by take name)")
    takes = read_takes(args.takes_json)
    episodes: list[Episode] = []
    split_of: list[str] = []
    splits: dict[str, list[int]] = {}
    for split in args.splits:
        if args.root is not None:
            eps = load_official_split(args.root, split, args.interval, args.min_views)
        else:
            eps = load_egoh4_combined(args.egoh4_dir / f"ego_pose_gt_anno_{split}_combined.json", args.interval)
        eps = with_take_info(eps, takes)
        if args.instructions_dir is not None:
            eps = with_instructions(eps, read_instructions(args.instructions_dir / f"{split}.json"))
        splits[split] = list(range(len(episodes), len(episodes) + len(eps)))
        episodes += eps
        split_of += [split] * len(eps)
        log.info("%s: %d episodes, %d frames", split, len(eps), sum(len(e.frames) for e in eps))
    frames = None if args.frames_root is None else (
        lambda e, episode: episode_frames(args.frames_root / split_of[e], episode))
    return write_lerobot(args.out, episodes, splits, frames=frames)


if __name__ == "__main__":
    main()
