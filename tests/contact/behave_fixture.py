"""A tiny BEHAVE release written from the dataset's documented layout (not by our reader's code paths).

Four sequences (train: boxsmall + chairwood; test: boxsmall (male) + chairblack (female)), frames t0001-t0006
at 1 fps with t0004's fits missing in the boxsmall sequences (an annotation gap), chair fits under
`chair/fit01/chair_fit.pkl` (SeqInfo.get_obj_name(convert=True)), SMPL-H (156-d) person fits made with the
stand-in SMPL-H, obj_rend_mask/obj_rend_full masks (one test frame 80% occluded), BEHAVE OpenPose json
(`body_joints`, BODY_25) and VisTracker packed outputs (joblib, camera frame) with perturbed bodies.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import cv2
import joblib
import numpy as np
import torch
from scipy.spatial.transform import Rotation

from common.body import smpl_part_labels
from kinematics.smplh_standin import behave_body

WIDTH, HEIGHT = 320, 240
HALF = np.array([0.15, 0.1, 0.08])
FRAMES = tuple(f"t{k:04d}.000" for k in range(1, 7))
GAP = "t0004.000"
SEQUENCES = {"train": [("Date01_Sub01_boxsmall_hand", "boxsmall", "male", 2),
                       ("Date01_Sub06_chairwood_sit", "chairwood", "female", 12)],
             "test": [("Date03_Sub03_boxsmall_hand", "boxsmall", "male", 2),
                      ("Date03_Sub06_chairblack_sit", "chairblack", "female", 12)]}
"""split -> (sequence, category, gender, BEHAVE part id the object touches)."""
OCCLUDED = ("Date03_Sub06_chairblack_sit", "t0002.000")


def write_box_ply(path: Path) -> None:
    """A box as binary little-endian PLY (float xyz, uchar/int quad lists), BEHAVE's template format."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float32) * HALF
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex 8\nproperty float x\nproperty float y\n"
              "property float z\nelement face 6\nproperty list uchar int vertex_indices\nend_header\n")
    body = corners.astype("<f4").tobytes() + b"".join(
        np.uint8(4).tobytes() + np.asarray(q, "<i4").tobytes() for q in quads)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header.encode() + body)


def _calibration(root: Path, date: str, rng: np.random.Generator) -> np.ndarray:
    """Write config.json (local->world) of Kinect 1 for a date and the intrinsics; returns world->camera 4x4."""
    local_to_world = Rotation.from_euler("xyz", rng.uniform(-10, 10, 3), degrees=True).as_matrix()
    cam_trans = rng.uniform(-0.3, 0.3, 3)
    cfg_dir = root / "calibs" / date / "config" / "1"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    (cfg_dir / "config.json").write_text(json.dumps({"rotation": local_to_world.reshape(-1).tolist(),
                                                     "translation": cam_trans.tolist()}))
    return np.linalg.inv(np.block([[local_to_world, cam_trans[:, None]], [np.zeros((1, 3)), 1]]))


def write_behave_fixture(root: Path, cache_dir: Path, rough_dir: Path) -> dict:
    """Write the release under `root`, the tracker outputs under `rough_dir`; returns ground-truth facts."""
    rng = np.random.default_rng(0)
    parts = smpl_part_labels()
    fx, cx, cy = 300.0, WIDTH / 2 + 3, HEIGHT / 2 - 2
    K = np.array([[fx, 0, cx], [0, fx, cy], [0, 0, 1]])
    color = {"fx": fx, "fy": fx, "cx": cx, "cy": cy, "width": WIDTH, "height": HEIGHT,
             "opencv": [cx, cy, fx, fx, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}
    (root / "calibs" / "intrinsics" / "1").mkdir(parents=True)
    (root / "calibs" / "intrinsics" / "1" / "calibration.json").write_text(json.dumps({"color": color, "depth": color}))
    for name, stem in (("boxsmall", "boxsmall_f1000"), ("chairwood", "chairwood_f2500"),
                       ("chairblack", "chairblack_f2500")):
        write_box_ply(root / "objects" / name / f"{stem}.ply")
    (root / "split.json").write_text(json.dumps({k: [s[0] for s in v] for k, v in SEQUENCES.items()}))
    rough_dir.mkdir(parents=True, exist_ok=True)
    truth: dict = {"K": K, "frames": {}}
    calibrations: dict[str, np.ndarray] = {}
    for seqs in SEQUENCES.values():
        for seq, cat, gender, part in seqs:
            date = seq.split("_")[0]
            if date not in calibrations:
                calibrations[date] = _calibration(root, date, rng)
            world_to_cam = calibrations[date]
            body = behave_body(None, gender, True, cache_dir)
            seq_dir = root / "sequences" / seq
            seq_dir.mkdir(parents=True)
            (seq_dir / "info.json").write_text(json.dumps({
                "config": f"../../calibs/{date}/config", "intrinsic": "../../calibs/intrinsics", "cat": cat,
                "gender": gender, "empty": None, "beta": None, "kinects": [0, 1, 2, 3]}))
            contact_vertex = int(np.flatnonzero(parts == part)[0])
            packed = {k: [] for k in ("frames", "poses", "betas", "trans", "obj_angles", "obj_trans", "obj_scales")}
            for frame in FRAMES:
                fdir = seq_dir / frame
                fdir.mkdir()
                pose = np.zeros(156)
                pose[:66] = rng.normal(size=66) * 0.1
                pose[66:] = rng.normal(size=90) * 0.1
                pose[0:3] = [np.pi, 0, 0]
                betas, body_trans = rng.normal(size=10) * 0.3, np.array([0.0, 0.2, 2.5])
                rot, shift = world_to_cam[:3, :3], world_to_cam[:3, 3]
                with torch.no_grad():
                    verts = body(global_orient=torch.tensor(pose[None, :3], dtype=torch.float32),
                                 body_pose=torch.tensor(pose[None, 3:66], dtype=torch.float32),
                                 left_hand_pose=torch.tensor(pose[None, 66:111], dtype=torch.float32),
                                 right_hand_pose=torch.tensor(pose[None, 111:], dtype=torch.float32),
                                 betas=torch.tensor(betas[None], dtype=torch.float32),
                                 transl=torch.tensor(body_trans[None], dtype=torch.float32)).vertices[0].numpy()
                angle = rng.normal(size=3) * 0.3
                obj_trans = verts[contact_vertex].astype(np.float64)
                gap = frame == GAP and "boxsmall" in seq
                if not gap:
                    (fdir / "person" / "fit02").mkdir(parents=True)
                    with (fdir / "person" / "fit02" / "person_fit.pkl").open("wb") as f:
                        pickle.dump({"pose": pose, "betas": betas, "trans": body_trans}, f)
                    obj_name = "chair" if "chair" in cat else cat
                    (fdir / obj_name / "fit01").mkdir(parents=True)
                    with (fdir / obj_name / "fit01" / f"{obj_name}_fit.pkl").open("wb") as f:
                        pickle.dump({"angle": angle, "trans": obj_trans}, f)
                verts_cam = verts.astype(np.float64) @ rot.T + shift
                centre = rot @ obj_trans + shift
                image = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
                u, v = (K @ centre)[:2] / centre[2]
                cv2.circle(image, (round(u), round(v)), 6, (0, 0, 255), -1)
                cv2.imwrite(str(fdir / "k1.color.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
                person = np.zeros((HEIGHT, WIDTH), np.uint8)
                person[40:200, 60:260] = 255
                full = np.zeros_like(person)
                full[round(v) - 20:round(v) + 20, round(u) - 20:round(u) + 20] = 255
                visible = full.copy()
                if (seq, frame) == OCCLUDED:
                    visible[:, : round(u) + 12] = 0                      # ~80% of the object hidden
                cv2.imwrite(str(fdir / "k1.person_mask.jpg"), person)
                cv2.imwrite(str(fdir / "k1.obj_rend_mask.jpg"), visible)
                cv2.imwrite(str(fdir / "k1.obj_rend_full.jpg"), full)
                root_cam = verts_cam.mean(axis=0)
                joints = np.zeros((25, 3))
                joints[:, :2] = rng.uniform(0, WIDTH, (25, 2))
                joints[:, 2] = 0.8
                joints[8, :2] = (K @ root_cam)[:2] / root_cam[2]
                (fdir / "k1.color.json").write_text(json.dumps({"body_joints": joints.reshape(-1).tolist()}))
                rough_pose = pose.copy()
                orient = rot @ Rotation.from_rotvec(pose[:3]).as_matrix()
                rough_pose[0:3] = Rotation.from_matrix(orient).as_rotvec()
                rough_pose[3:66] += rng.normal(size=63) * 0.08
                rest = body(betas=torch.tensor(betas[None], dtype=torch.float32))
                joint0 = rest.joints[0, 0].detach().double().numpy()
                packed["frames"].append(frame)
                packed["poses"].append(rough_pose)
                packed["betas"].append(betas)
                packed["trans"].append(rot @ (joint0 + body_trans) + shift - joint0 + rng.normal(size=3) * 0.03)
                packed["obj_angles"].append((rot @ Rotation.from_rotvec(angle).as_matrix()).T)
                packed["obj_trans"].append(centre + rng.normal(size=3) * 0.01)
                packed["obj_scales"].append(1.0)
                truth["frames"][(seq, frame)] = {"verts_cam": verts_cam, "gap": gap, "gender": gender}
            joblib.dump({k: np.asarray(v) if k != "frames" else v for k, v in packed.items()},
                        rough_dir / f"{seq}_k1.pkl")
    return truth
