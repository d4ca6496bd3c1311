"""BEHAVE loader on a tiny fixture written in BEHAVE's exact on-disk layout."""

import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from common.body import load_smpl, smpl_part_labels
from contact.behave import BehaveClips, BehaveLayoutError
from contact.labels import CONTACT_THRESHOLD_M, NO_CONTACT

SEQ = "Date01_Sub01_boxsmall_hand"
FRAMES = ("t0003.000", "t0004.000", "t0005.000")
WIDTH, HEIGHT = 320, 240
HALF = np.array([0.15, 0.1, 0.08])                                   # box half extents (m)


def write_binary_box_ply(path: Path) -> None:
    """A box as BEHAVE-style binary little-endian PLY (float xyz, uchar/int face lists)."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float32) * HALF
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex 8\nproperty float x\nproperty float y\n"
              "property float z\nelement face 6\nproperty list uchar int vertex_indices\nend_header\n")
    body = corners.astype("<f4").tobytes() + b"".join(
        np.uint8(4).tobytes() + np.asarray(q, "<i4").tobytes() for q in quads)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header.encode() + body)


def write_fixture(root: Path) -> dict:
    rng = np.random.default_rng(0)
    body, parts = load_smpl(), smpl_part_labels()
    torso_vertex = int(np.flatnonzero(parts == 11)[0])
    seq_dir = root / "sequences" / SEQ
    (root / "split.json").write_text(json.dumps({"train": [SEQ], "test": ["Date03_Sub03_boxsmall_hand"]}))
    local_to_world = Rotation.from_euler("xyz", [5, -20, 3], degrees=True).as_matrix()
    cam_trans = np.array([0.3, -0.1, 0.2])
    cfg_dir = root / "calibs" / "Date01" / "config" / "1"
    cfg_dir.mkdir(parents=True)
    (cfg_dir / "config.json").write_text(json.dumps({"rotation": local_to_world.reshape(-1).tolist(),
                                                     "translation": cam_trans.tolist()}))
    fx, cx, cy = 300.0, WIDTH / 2 + 3, HEIGHT / 2 - 2
    color = {"fx": fx, "fy": fx, "cx": cx, "cy": cy, "width": WIDTH, "height": HEIGHT,
             "opencv": [cx, cy, fx, fx, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}
    intr = root / "calibs" / "intrinsics" / "1"
    intr.mkdir(parents=True)
    (intr / "calibration.json").write_text(json.dumps({"color": color, "depth": color}))
    write_binary_box_ply(root / "objects" / "boxsmall" / "boxsmall_f1000.ply")
    seq_dir.mkdir(parents=True)
    (seq_dir / "info.json").write_text(json.dumps({
        "config": "../../calibs/Date01/config", "intrinsic": "../../calibs/intrinsics", "cat": "boxsmall",
        "gender": "male", "empty": None, "beta": None, "kinects": [0, 1, 2, 3]}))
    K = np.array([[fx, 0, cx], [0, fx, cy], [0, 0, 1]])
    world_to_cam = np.linalg.inv(np.block([[local_to_world, cam_trans[:, None]], [np.zeros((1, 3)), 1]]))
    truth = {"world_to_cam": world_to_cam, "K": K, "fits": []}
    for frame in FRAMES:
        fdir = seq_dir / frame
        pose = np.zeros(156)
        pose[:66] = rng.normal(size=66) * 0.1
        pose[0:3] = [np.pi, 0, 0]
        body_trans = np.array([0.0, 0.2, 2.5])
        with torch.no_grad():
            verts = body(global_orient=torch.tensor(pose[None, :3], dtype=torch.float32),
                         body_pose=torch.tensor(np.r_[pose[3:66], np.zeros(6)][None], dtype=torch.float32),
                         transl=torch.tensor(body_trans[None], dtype=torch.float32)).vertices[0].numpy()
        angle, obj_trans = rng.normal(size=3) * 0.3, verts[torso_vertex].astype(np.float64)  # box cuts the torso
        (fdir / "person" / "fit02").mkdir(parents=True)
        with (fdir / "person" / "fit02" / "person_fit.pkl").open("wb") as f:
            pickle.dump({"pose": pose, "betas": np.zeros(10), "trans": body_trans}, f)
        (fdir / "boxsmall" / "fit01").mkdir(parents=True)
        with (fdir / "boxsmall" / "fit01" / "boxsmall_fit.pkl").open("wb") as f:
            pickle.dump({"angle": angle, "trans": obj_trans}, f)
        centre_cam = world_to_cam[:3, :3] @ obj_trans + world_to_cam[:3, 3]
        u, v = (K @ centre_cam)[:2] / centre_cam[2]
        image = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
        cv2.circle(image, (round(u), round(v)), 6, (0, 0, 255), -1)    # BGR red marker at the object centre
        cv2.imwrite(str(fdir / "k1.color.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 100])
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        mask[40:200, 60:260] = 255
        cv2.imwrite(str(fdir / "k1.person_mask.jpg"), mask)
        cv2.imwrite(str(fdir / "k1.obj_rend_mask.jpg"), np.zeros_like(mask))
        truth["fits"].append({"pose": pose, "trans": body_trans, "angle": angle, "obj_trans": obj_trans})
    return truth


def test_loader_reads_behave_layout(tmp_path: Path) -> None:
    truth = write_fixture(tmp_path)
    body = load_smpl()
    parts = smpl_part_labels()
    data = BehaveClips(tmp_path, "train", frames=3, body_model=body, part_labels=parts, image_size=64,
                       num_points=400)
    assert len(data) == 1
    clip = data[0]
    assert clip["images"].shape == (3, 3, 64, 64) and clip["labels"].shape == (3, 400)
    rot, trans = truth["world_to_cam"][:3, :3], truth["world_to_cam"][:3, 3]
    for t, fit in enumerate(truth["fits"]):
        smpl_pose = np.concatenate([fit["pose"][:66], np.zeros(6)])
        out = body(global_orient=torch.tensor(smpl_pose[None, :3], dtype=torch.float32),
                   body_pose=torch.tensor(smpl_pose[None, 3:], dtype=torch.float32),
                   transl=torch.tensor(fit["trans"][None], dtype=torch.float32))
        verts_cam = out.vertices[0].detach().double().numpy() @ rot.T + trans
        points = clip["gt_object_points"][t].double().numpy()
        local = (points - (rot @ fit["obj_trans"] + trans)) @ (rot @ Rotation.from_rotvec(fit["angle"]).as_matrix())
        assert np.abs(np.abs(local) / HALF).max(axis=1).min() > 0.999         # points lie on the box surface
        assert np.all(np.abs(local) <= HALF + 1e-4)
        dist = torch.cdist(torch.as_tensor(points), torch.as_tensor(verts_cam))
        nearest = dist.argmin(dim=1).numpy()
        expected = np.where(dist.min(dim=1).values.numpy() < CONTACT_THRESHOLD_M, parts[nearest], NO_CONTACT)
        np.testing.assert_array_equal(clip["labels"][t].numpy(), expected)
        np.testing.assert_allclose(clip["body_verts"][t].numpy(), verts_cam, atol=1e-4)
        with torch.no_grad():                                   # camera-frame SMPL parameters give the same mesh
            cam = body(global_orient=clip["gt_global_orient"][t:t + 1], body_pose=clip["gt_body_pose"][t:t + 1],
                       betas=clip["betas"][t:t + 1], transl=clip["gt_transl"][t:t + 1])
        np.testing.assert_allclose(cam.vertices[0].double().numpy(), verts_cam, atol=1e-4)
        centre = torch.as_tensor(rot @ fit["obj_trans"] + trans, dtype=torch.float32)
        uv = (clip["K"][t] @ centre)[:2] / centre[2]
        red = (clip["images"][t, 0] > 0.6) & (clip["images"][t, 1] < 0.3)
        ys, xs = torch.nonzero(red, as_tuple=True)
        assert len(xs) > 0
        assert abs(xs.float().mean() - uv[0]) < 1.5 and abs(ys.float().mean() - uv[1]) < 1.5
    assert (clip["labels"] != NO_CONTACT).sum() > 5 and (clip["labels"] == NO_CONTACT).sum() > 5


def test_missing_file_names_path_and_docs(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    (tmp_path / "split.json").unlink()
    with pytest.raises(BehaveLayoutError, match=r"split\.json.*docs/contact\.md"):
        BehaveClips(tmp_path, "train", frames=3, body_model=load_smpl(), part_labels=smpl_part_labels())
