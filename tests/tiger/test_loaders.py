"""DexYCB and ObMan loaders on hand-written fixtures in the exact released layouts."""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from common.body import load_mano, standin_dir
from common.data import schema as S
from common.data.render import rasterize
from tiger.data.dexycb import SERIALS, SUBJECTS, DexYCBHandObject, category_text
from tiger.data.obman import ObManHandObject

CUBE_V = np.array([[x, y, z] for x in (-0.01, 0.01) for y in (-0.01, 0.01) for z in (-0.01, 0.01)], np.float32)
CUBE_F = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6],
                   [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
SERIAL = SERIALS[0]


def write_obj(path: Path, verts: np.ndarray, faces: np.ndarray) -> None:
    """A Wavefront OBJ written from the format description (1-based `f` indices), not by the project's writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in verts) +
                    "".join(f"f {a + 1}/{a + 1} {b + 1}/{b + 1} {c + 1}/{c + 1}\n" for a, b, c in faces))


def _mano_reference(coeffs: np.ndarray, betas: np.ndarray, go: np.ndarray, transl: np.ndarray) -> np.ndarray:
    """Independent decode of DexYCB's pose_m: manopth's PCA (coeffs @ components + mean) from the pickle."""
    with open(standin_dir() / "mano" / "MANO_RIGHT.pkl", "rb") as f:
        data = pickle.load(f, encoding="latin1")
    full = coeffs @ np.asarray(data["hands_components"]) + np.asarray(data["hands_mean"])
    mano = load_mano(flat_hand_mean=True)
    params = {k: torch.as_tensor(np.asarray(v, np.float32)[None])
              for k, v in {"global_orient": go, "hand_pose": full, "betas": betas, "transl": transl}.items()}
    with torch.no_grad():
        return mano(**params).vertices[0].numpy()


def _write_dexycb(root: Path, subjects: tuple[int, ...] = (0, 1, 2)) -> dict[str, np.ndarray]:
    """Subjects (indices into the toolkit's list) with 5 sequences each; intrinsics carry a python/tuple tag."""
    rng = np.random.default_rng(0)
    betas = rng.normal(0, 0.3, 10)
    coeffs, go, transl = rng.normal(0, 0.5, 45), np.array([0.3, -0.2, 0.1]), np.array([0.0, 0.0, 0.5])
    verts = _mano_reference(coeffs, betas, go, transl)
    pose_m = np.concatenate([go, coeffs, transl])[None].astype(np.float32)
    (root / "calibration" / "intrinsics").mkdir(parents=True)
    (root / "calibration" / "intrinsics" / f"{SERIAL}_640x480.yml").write_text(
        "color:\n  fx: 100.0\n  fy: 101.0\n  ppx: 32.0\n  ppy: 24.0\n"
        "  coeffs: !!python/tuple [0.0, 0.0, 0.0, 0.0, 0.0]\n")
    (root / "calibration" / "mano_calibA").mkdir(parents=True)
    (root / "calibration" / "mano_calibA" / "mano.yml").write_text(yaml.safe_dump({"betas": betas.tolist()}))
    write_obj(root / "models" / "025_mug" / "textured_simple.obj", CUBE_V, CUBE_F)
    near = verts[0] - CUBE_V[-1]                        # cube corner exactly on a hand vertex
    for s in subjects:
        for q in range(5):
            seq = root / SUBJECTS[s] / f"{SUBJECTS[s][:8]}_14{q:04d}"
            (seq / SERIAL).mkdir(parents=True)
            side = "left" if (s, q) == (0, 1) else "right"
            seq.joinpath("meta.yml").write_text(yaml.safe_dump(
                {"num_frames": 10, "ycb_ids": [1, 14], "ycb_grasp_ind": 1, "mano_sides": [side],
                 "mano_calib": ["calibA"]}))
            for frame in (0, 3, 5):
                far = frame == 5 and s == 2
                pose_y = np.zeros((2, 3, 4), np.float32)
                pose_y[:, :, :3] = np.eye(3)
                pose_y[1, :, 3] = near + (np.array([0, 0, 1.0]) if far else 0)
                joint_2d = np.full((1, 21, 2), -1.0 if (s, q, frame) == (1, 0, 0) else 10.0, np.float32)
                seg = np.zeros((48, 64), np.uint8)
                seg[10:20, 10:20], seg[30:40, 30:40] = 14, 255
                np.savez(seq / SERIAL / f"labels_{frame:06d}.npz", seg=seg, pose_y=pose_y, pose_m=pose_m,
                         joint_3d=np.full((1, 21, 3), 0.5, np.float32), joint_2d=joint_2d)
                cv2.imwrite(str(seq / SERIAL / f"color_{frame:06d}.jpg"), np.full((48, 64, 3), 128, np.uint8))
    return {"verts": verts, "near": near}


def test_dexycb_loader_reads_s0_layout(tmp_path: Path) -> None:
    truth = _write_dexycb(tmp_path / "dex")
    train = DexYCBHandObject(tmp_path / "dex", "train", cache_dir=tmp_path / "idx")
    test = DexYCBHandObject(tmp_path / "dex", "test", cache_dir=tmp_path / "idx")
    val = DexYCBHandObject(tmp_path / "dex", "val", cache_dir=tmp_path / "idx")
    # s0: sequences 0-3 of every subject train (minus the left hand and the all -1 joint_2d frame),
    # frames 0 and 5 only; sequence 4 of subjects 0-1 is val, of subject 2 test (frame 5 is not in contact).
    assert len(train) == 3 * 4 * 2 - 2 - 1
    assert len(val) == 2 * 2
    assert len(test) == 1
    assert all(r["frame"] in (0, 5) for r in train.index)
    sample = test[0]
    np.testing.assert_allclose(sample[S.K], [[100, 0, 32], [0, 101, 24], [0, 0, 1]])
    np.testing.assert_allclose(sample[S.VERTICES_CAM], truth["verts"], atol=1e-5)
    np.testing.assert_allclose(sample[S.OBJECT_POSE][:3, 3], truth["near"], atol=1e-6)
    assert sample[S.OBJECT_MASK].sum() == 100 and sample[S.OBJECT_MASK][15, 15]
    assert sample[S.OBJECT_MASK_AMODAL].any()
    assert len(list((tmp_path / "idx" / "tiger_amodal").glob("*.npz"))) == 1         # rasterised once, cached
    face_ids, _ = rasterize(CUBE_V + truth["near"], CUBE_F, sample[S.K], (48, 64))
    np.testing.assert_array_equal(test[0][S.OBJECT_MASK_AMODAL], face_ids >= 0)
    assert sample[S.OBJECT_CATEGORY] == "mug" and sample["object_model"] == "025_mug"
    assert category_text("006_mustard_bottle") == "mustard bottle"


def test_missing_subject_leaves_only_its_own_samples_out(tmp_path: Path) -> None:
    """Subjects 0, 2, 3 present (1 missing): each keeps its toolkit split (3 stays in test, not val)."""
    _write_dexycb(tmp_path / "full", subjects=(0, 1, 2, 3))
    _write_dexycb(tmp_path / "partial", subjects=(0, 2, 3))
    for split in ("train", "val", "test"):
        full = DexYCBHandObject(tmp_path / "full", split, cache_dir=tmp_path / "idx").index
        partial = DexYCBHandObject(tmp_path / "partial", split, cache_dir=tmp_path / "idx").index
        expected = [r for r in full if not r["dir"].startswith(SUBJECTS[1])]
        assert [r["id"] for r in partial] == [r["id"] for r in expected]
    test_subjects = {r["dir"].split("/")[0] for r in DexYCBHandObject(tmp_path / "partial", "test",
                                                                      cache_dir=tmp_path / "idx").index}
    assert test_subjects == {SUBJECTS[2], SUBJECTS[3]}   # by the toolkit's indices, not the folders' order
    val = DexYCBHandObject(tmp_path / "partial", "val", cache_dir=tmp_path / "idx").index
    assert {r["dir"].split("/")[0] for r in val} == {SUBJECTS[0]}


def test_obman_loader_flips_blender_to_opencv(tmp_path: Path) -> None:
    root, shapenet = tmp_path / "obman", tmp_path / "shapenet"
    for sub in ("rgb", "segm", "meta"):
        (root / "test" / sub).mkdir(parents=True)
    write_obj(shapenet / "03797390" / "abc123" / "models" / "model_normalized.obj", CUBE_V * 5, CUBE_F)
    rng = np.random.default_rng(0)
    affine = np.eye(4)
    affine[:3, :3] *= 0.8
    affine[:3, 3] = [0.02, 0.01, -0.6]                  # Blender camera looks down -z
    meta = {"coords_3d": rng.normal(0, 0.05, (21, 3)) + np.array([0, 0, -0.6]),
            "verts_3d": rng.normal(0, 0.05, (778, 3)), "class_id": "03797390", "sample_id": "abc123",
            "affine_transform": affine, "side": "right"}
    with open(root / "test" / "meta" / "00000007.pkl", "wb") as f:
        pickle.dump(meta, f)
    segm = np.zeros((256, 256, 3), np.uint8)
    segm[100:120, 100:140] = 100
    cv2.imwrite(str(root / "test" / "segm" / "00000007.png"), segm)
    cv2.imwrite(str(root / "test" / "rgb" / "00000007.jpg"), np.zeros((256, 256, 3), np.uint8))
    with open(root / "test" / "meta" / "00000009.pkl", "wb") as f:     # not in the split list: left out
        pickle.dump(meta, f)
    ids = tmp_path / "test_6k.json"
    ids.write_text('[\n  "00000007"\n]')                               # gSDF split-list format
    data = ObManHandObject(root, "test", shapenet, ids, cache_dir=tmp_path / "idx")
    assert len(data) == 1 and data.describe(0)["sample_id"] == "00000007"
    sample = data[0]
    flip = np.array([1.0, -1.0, -1.0])
    np.testing.assert_allclose(sample[S.JOINTS_CAM], meta["coords_3d"] * flip, atol=1e-6)
    np.testing.assert_allclose(sample[S.VERTICES_CAM], meta["verts_3d"] * flip, atol=1e-6)
    verts, _ = data.object_model(sample["object_model"])
    pose = sample[S.OBJECT_POSE]
    expected = (verts @ affine[:3, :3].T + affine[:3, 3]) * flip
    np.testing.assert_allclose(verts @ pose[:3, :3].T + pose[:3, 3], expected, atol=1e-6)
    assert (expected[:, 2] > 0).all()
    assert sample[S.OBJECT_MASK].sum() == 800 and sample[S.OBJECT_CATEGORY] == "mug"
    assert sample[S.OBJECT_MASK_AMODAL].any()
    np.testing.assert_allclose(sample[S.K], [[480, 0, 128], [0, 480, 128], [0, 0, 1]])


def test_obman_split_list_ids_must_exist(tmp_path: Path) -> None:
    root = tmp_path / "obman"
    for sub in ("rgb", "segm", "meta"):
        (root / "train" / sub).mkdir(parents=True)
    with open(root / "train" / "meta" / "00000002.pkl", "wb") as f:
        pickle.dump({"class_id": "03797390", "sample_id": "x"}, f)
    cv2.imwrite(str(root / "train" / "rgb" / "00000002.jpg"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(root / "train" / "segm" / "00000002.png"), np.zeros((8, 8, 3), np.uint8))
    ids = tmp_path / "train_87k.json"
    ids.write_text('["00000002", "00000006"]')
    with pytest.raises(FileNotFoundError, match="00000006"):
        ObManHandObject(root, "train", tmp_path, ids, cache_dir=tmp_path / "idx")
    with pytest.raises(FileNotFoundError, match="train_ids"):
        ObManHandObject(root, "train", tmp_path, tmp_path / "nope.json", cache_dir=tmp_path / "idx")


def test_missing_dexycb_root_names_the_layout(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"docs/tiger\.md#dexycb"):
        DexYCBHandObject(tmp_path / "nowhere", "train", cache_dir=tmp_path / "idx")
