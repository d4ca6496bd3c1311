"""Prepare EgoBody for TAIHRI: interactee SMPL joints in the HoloLens PV camera frame + PV intrinsics.

Usage: `python scripts/prepare_egobody.py --root <egobody> [--split val] [--body-models <dir>]`
Writes `<root>/taihri/egobody_<split>.npz` with image_path (relative to root), frame_id (the number in
the image name), K (N,3,3) px and joints_cam (N,22,3) m, read by `taihri.real_data.EgoBodyEgocentric`.
Layout read (EgoBody release):
  data_splits.csv                                   columns train,val,test of recording names
  data_info_release.csv                             recording_name, start_frame, end_frame,
                                                    body_idx_fpv = "<interactee body index> <gender>"
  egocentric_color/<rec>/<date>/<date>_pv.txt       line 1: cx,cy,w,h; then timestamp,fx,fy,pv2world(16)
  egocentric_color/<rec>/<date>/PV/<timestamp>_frame_<idx>.jpg
  smpl_interactee_<split>/<rec>/body_idx_<k>/results/frame_<idx>/000.pkl   SMPL params, master-Kinect
                                                    frame (older copies: smpl_interactee/<rec>/...)
  calibrations/<rec>/cal_trans/holo_to_kinect12.json               {"trans": 4x4}
Joints come from the interactee's gendered SMPL; frames outside [start_frame, end_frame] are skipped.
Chain: Kinect12 -> HoloLens world (inverse of holo_to_kinect12) -> PV camera (inverse of pv2world) ->
OpenCV axes (y and z flipped, as EgoBody's projection code does).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import pickle
import re
from pathlib import Path

import numpy as np
import torch

from common.body import is_standin, load_smpl

log = logging.getLogger("prepare_egobody")
HOLO_TO_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])


def read_pv_file(path: Path) -> tuple[float, float, dict[int, tuple[float, float, np.ndarray]]]:
    """(cx, cy, {timestamp: (fx, fy, pv2world 4x4)}) from an EgoBody `<date>_pv.txt`."""
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    cx, cy = (float(v) for v in lines[0].split(",")[:2])
    frames = {}
    for line in lines[1:]:
        values = line.split(",")
        frames[int(values[0])] = (float(values[1]), float(values[2]),
                                  np.array(values[3:19], dtype=np.float64).reshape(4, 4))
    return cx, cy, frames


def recordings(root: Path, split: str) -> list[str]:
    """Recording names of `split` from data_splits.csv."""
    with open(root / "data_splits.csv") as handle:
        return [row[split] for row in csv.DictReader(handle) if row.get(split)]


def recording_info(root: Path) -> dict[str, tuple[int, str, int, int]]:
    """recording -> (interactee body index, gender, start frame, end frame) from data_info_release.csv."""
    with open(root / "data_info_release.csv") as handle:
        rows = list(csv.DictReader(handle))
    info = {}
    for row in rows:
        index, gender = row["body_idx_fpv"].split()
        info[row["recording_name"]] = (int(index), gender.lower(), int(row["start_frame"]), int(row["end_frame"]))
    return info


def fits_folder(root: Path, split: str) -> Path:
    """`smpl_interactee_<split>` of the release, or the single `smpl_interactee` folder of older copies."""
    for name in (f"smpl_interactee_{split}", "smpl_interactee"):
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(f"neither {root / f'smpl_interactee_{split}'} nor {root / 'smpl_interactee'} "
                            "exists; unpack the EgoBody SMPL interactee fits there (docs/taihri.md#egobody)")


def smpl_joints(smpl: torch.nn.Module, params_path: Path) -> np.ndarray:
    """(22,3) joints (m) of one SMPL fit pkl, in the frame the fit lives in (master Kinect)."""
    with open(params_path, "rb") as handle:
        params = pickle.load(handle)
    kwargs = {k: torch.as_tensor(np.asarray(params[k], np.float32)).reshape(1, -1)
              for k in ("global_orient", "body_pose", "betas", "transl")}
    kwargs["body_pose"] = kwargs["body_pose"][:, :69]
    kwargs["betas"] = kwargs["betas"][:, :10]
    with torch.no_grad():
        return smpl(**kwargs).joints[0, :22].numpy().astype(np.float64)


def prepare(root: Path, split: str, body_models: str | None) -> Path:
    """Write `<root>/taihri/egobody_<split>.npz`; returns its path."""
    models = {gender: load_smpl(body_models, gender=gender) for gender in ("male", "female")}
    if is_standin(models["male"]):
        log.warning("using the stand-in SMPL: joints are NOT EgoBody ground truth; pass --body-models")
    info, fits_root = recording_info(root), fits_folder(root, split)
    paths, frame_ids, intrinsics, joints = [], [], [], []
    for rec in recordings(root, split):
        body, gender, first, last = info[rec]
        holo_to_kinect = np.array(json.loads((root / "calibrations" / rec / "cal_trans" /
                                              "holo_to_kinect12.json").read_text())["trans"], dtype=np.float64)
        kinect_to_holo = np.linalg.inv(holo_to_kinect)
        for pv_file in sorted((root / "egocentric_color" / rec).glob("*/*_pv.txt")):
            cx, cy, frames = read_pv_file(pv_file)
            for image in sorted((pv_file.parent / "PV").glob("*_frame_*.jpg")):
                match = re.match(r"(\d+)_frame_(\d+)\.jpg", image.name)
                fit = fits_root / rec / f"body_idx_{body}" / "results" / f"frame_{match[2]}" / "000.pkl"
                frame = int(match[2])
                if int(match[1]) not in frames or not fit.is_file() or not first <= frame <= last:
                    continue
                fx, fy, pv2world = frames[int(match[1])]
                world_to_cam = HOLO_TO_OPENCV @ np.linalg.inv(pv2world) @ kinect_to_holo
                kinect_joints = smpl_joints(models[gender], fit)
                joints.append(kinect_joints @ world_to_cam[:3, :3].T + world_to_cam[:3, 3])
                intrinsics.append([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
                paths.append(str(image.relative_to(root)))
                frame_ids.append(frame)
    if not paths:
        raise FileNotFoundError(f"no EgoBody frame with a PV pose and an interactee fit found under {root} "
                                f"for split {split!r}; see docs/taihri.md#egobody for the layout")
    out = root / "taihri" / f"egobody_{split}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, image_path=np.array(paths), frame_id=np.array(frame_ids, np.int64),
             K=np.array(intrinsics, np.float32),
             joints_cam=np.array(joints, np.float32))
    log.info("wrote %d frames to %s", len(paths), out)
    return out


def main() -> None:
    """Command-line entry point."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="EgoBody root folder")
    parser.add_argument("--split", default="val", choices=["train", "val", "test"])
    parser.add_argument("--body-models", default=None, help="folder with smpl/SMPL_{MALE,FEMALE}.pkl")
    args = parser.parse_args()
    prepare(args.root, args.split, args.body_models)


if __name__ == "__main__":
    main()
