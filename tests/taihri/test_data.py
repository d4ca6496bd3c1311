"""Canonical-focal preprocessing, synthetic ego renders, prompts per row, EgoBody and Harmony4D fixtures."""

import importlib.util
import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import torch

from common.body import load_smpl
from taihri.config import TaihriDataConfig
from taihri.data import eval_rows, make_row, preprocess, synthetic_frames, train_rows, uv_to_original
from taihri.frames import Frames, preprocessed_frames
from taihri.grammar import parse_answer
from taihri.prompts import PART_SETS, command_prompts
from taihri.real_data import EgoBodyEgocentric, Harmony4DEgocentric

REPO = Path(__file__).resolve().parents[2]
CFG = TaihriDataConfig(canonical_focal=80.0, crop_size=96, distance_range=[0.5, 0.8])


def _project(joints: np.ndarray, K: np.ndarray) -> np.ndarray:
    return np.array([[K[0, 0] * x / z + K[0, 2], K[1, 1] * y / z + K[1, 2]] for x, y, z in joints])


def _fake_sample(rng: np.random.Generator) -> dict:
    K = np.array([[rng.uniform(500, 1500), 0, 320.0], [0, rng.uniform(500, 1500), 240.0], [0, 0, 1]])
    K[1, 1] = K[0, 0]
    joints = rng.uniform([-0.4, -0.4, 1.0], [0.4, 0.4, 2.0], (22, 3))
    return {"image": rng.random((3, 480, 640)).astype(np.float32), "K": K.astype(np.float32),
            "joints_cam": joints.astype(np.float32), "joints_2d": _project(joints, K).astype(np.float32),
            "joint_valid": np.ones(22, bool)}


def test_canonical_focal_and_crop_keep_projection_and_map_back() -> None:
    rng = np.random.default_rng(0)
    for crop in (None, 700):
        sample = _fake_sample(rng)
        out = preprocess(sample, 1000.0, crop)
        K = np.asarray(out["K"], np.float64)
        assert abs(K[0, 0] - 1000.0) < 1e-3 and abs(K[1, 1] - 1000.0) < 1e-3
        np.testing.assert_allclose(_project(out["joints_cam"], K), out["joints_2d"], atol=2e-3)
        if crop:
            assert out["image"].shape[-2:] == (crop, crop)
            np.testing.assert_allclose(K[:2, 2], [(crop - 1) / 2] * 2, atol=1e-3)
        np.testing.assert_allclose(uv_to_original(out["joints_2d"], out), sample["joints_2d"], atol=2e-3)


def test_rows_answer_the_prompt_and_cover_every_part_and_command() -> None:
    rng = np.random.default_rng(1)
    sample = preprocess(_fake_sample(rng), 100.0, 64)
    annotation = Frames.in_memory([sample]).annotations[0]
    for part, text in command_prompts():
        row = make_row(annotation, 0, part, text, TaihriDataConfig(intrinsics_in_prompt=True))
        parsed = parse_answer(row["completion"][0]["content"], row["width"], row["height"])
        assert parsed.ok and parsed.names_exactly(PART_SETS[part])
        np.testing.assert_allclose(parsed.arrays(row["joints"])[1], sample["joints_cam"][row["joints"]], atol=3e-3)
        assert "fx=100.0" in row["prompt"][0]["content"]
    many = train_rows(Frames.in_memory([sample] * 300), TaihriDataConfig(command_prob=0.5), seed=0)
    texts = {r["prompt"][0]["content"] for r in many}
    assert {r["part"] for r in many} == set(PART_SETS)
    assert {t for _, t in command_prompts()} <= texts
    assert [r["part"] for r in eval_rows(Frames.in_memory([sample]), CFG)] == list(PART_SETS)


def test_synthetic_renders_are_close_range_and_parts_leave_the_frame() -> None:
    frames = synthetic_frames(CFG, 4, seed=3)
    samples = [frames.sample(i) for i in range(len(frames))]
    depths = np.array([s["joints_cam"][0, 2] for s in samples])
    assert ((depths > 0.45) & (depths < 0.85)).all()
    assert not np.all([s["joint_valid"].all() for s in samples])
    for s in samples:
        assert s["image"].shape == (3, 96, 96) and s["image"].std() > 0.02
        front = s["joints_cam"][:, 2] > 0.05
        np.testing.assert_allclose(_project(s["joints_cam"][front], np.asarray(s["K"], np.float64)),
                                   s["joints_2d"][front], atol=2e-3)


def _write_image(path: Path, hw: tuple[int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((*hw, 3), 128, np.uint8))


def test_egobody_prepare_and_loader_on_fixture_layout(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("prepare_egobody", REPO / "scripts" / "prepare_egobody.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rec, date = "recording_20210907_S02_S01_01", "2021-09-07-155421"
    (tmp_path / "data_splits.csv").write_text(f"train,val,test\n,{rec},\n")
    (tmp_path / "data_info_release.csv").write_text(
        "recording_name,start_frame,end_frame,body_idx_0,body_idx_1,body_idx_fpv,scene_name\n"
        f"{rec},1,900,0 male,1 female,1 female,seminar_g110\n")
    pv_dir = tmp_path / "egocentric_color" / rec / date
    pv2world = np.eye(4)
    lines = ["320.0,240.0,640,480", "1000," + "600.0,600.0," + ",".join(str(v) for v in pv2world.ravel())]
    pv_dir.mkdir(parents=True)
    (pv_dir / f"{date}_pv.txt").write_text("\n".join(lines) + "\n")
    _write_image(pv_dir / "PV" / "1000_frame_00417.jpg", (480, 640))
    calib = tmp_path / "calibrations" / rec / "cal_trans"
    calib.mkdir(parents=True)
    holo_to_kinect = np.eye(4)
    holo_to_kinect[2, 3] = 1.0
    (calib / "holo_to_kinect12.json").write_text(json.dumps({"trans": holo_to_kinect.tolist()}))
    params = {"global_orient": np.zeros((1, 3)), "body_pose": np.zeros((1, 69)), "betas": np.zeros((1, 10)),
              "transl": np.array([[0.0, 0.0, -1.0]])}
    fit = tmp_path / "smpl_interactee_val" / rec / "body_idx_1" / "results" / "frame_00417" / "000.pkl"
    fit.parent.mkdir(parents=True)
    fit.write_bytes(pickle.dumps(params))
    used = []
    joints_of = module.smpl_joints
    module.smpl_joints = lambda smpl, path: used.append(smpl.gender) or joints_of(smpl, path)
    module.prepare(tmp_path, "val", None)
    assert used == ["female"]
    data = EgoBodyEgocentric(tmp_path, "val", cache_dir=tmp_path / "cache")
    sample = data[0]
    with torch.no_grad():
        rest = load_smpl(gender="female")(transl=torch.tensor([[0.0, 0.0, -1.0]])).joints[0, :22].numpy()
    expected = rest - [0.0, 0.0, 1.0]           # kinect -> holo world (holo = kinect - t)
    expected = expected * [1.0, -1.0, -1.0]      # HoloLens camera (y up, z back) -> OpenCV
    np.testing.assert_allclose(sample["joints_cam"], expected, atol=1e-5)
    assert 1.5 < sample["joints_cam"][0, 2] < 2.5
    np.testing.assert_allclose(sample["K"], [[600, 0, 320], [0, 600, 240], [0, 0, 1]])
    assert sample["image"].shape == (3, 480, 640) and sample["frame_id"] == 417


def test_harmony4d_loader_reads_taihri_npy_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    K = np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]])
    entries = {f"test/01_hug/001_hug/aria01/{i:05d}.jpg": {"K": K, "joints_cam": rng.uniform(
        [-0.3, -0.3, 1.0], [0.3, 0.3, 2.0], (24, 3))} for i in range(3)}
    for path in entries:
        _write_image(tmp_path / path, (480, 640))
    (tmp_path / "data_center").mkdir()
    for k, name in enumerate(("leftarm", "rightarm", "upperbody")):
        subset = dict(list(entries.items())[k:k + 2])
        np.save(tmp_path / "data_center" / f"harmony4d_test_{name}_center.npy", subset, allow_pickle=True)
    data = Harmony4DEgocentric(tmp_path, "test", cache_dir=tmp_path / "cache")
    assert len(data) == 3
    sample = data[1]
    truth = entries[sorted(entries)[1]]["joints_cam"][:22]
    np.testing.assert_allclose(sample["joints_cam"], truth, atol=1e-6)
    np.testing.assert_allclose(sample["joints_2d"], _project(truth, K), atol=1e-3)
    out = preprocess(sample, 1000.0, 1400)
    assert out["image"].shape[-2:] == (1400, 1400)
    frames = preprocessed_frames(data, list(range(len(data))), 1000.0, 1400)
    rows = eval_rows(frames, TaihriDataConfig(eval_parts=["left_arm", "right_arm", "upper_body"]))
    for k, part in enumerate(("left_arm", "right_arm", "upper_body")):
        own = sorted(list(entries)[k:k + 2])
        assert sorted(data.index[r["index"]]["image"] for r in rows if r["part"] == part) == own
