"""Ego-Exo4D fixtures in the official json layouts -> prepare script -> LeRobot v2.1 -> training windows."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import default_collate

from eggflow.canonical import canonical_frame, to_canonical
from eggflow.config import EggFlowDataConfig, EggFlowModelConfig
from eggflow.egoexo4d import JOINT_NAMES, load_egoh4_combined
from eggflow.lerobot import LeRobotHands, LeRobotWindows
from eggflow.model import EggFlowModel

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "prepare_egoexo4d.py"
_spec = importlib.util.spec_from_file_location("prepare_egoexo4d", SCRIPT)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
prepare = _module.main

FRAMES = [0, 3, 6, 9, 12, 15, 21, 24]            # gap 15 -> 21 splits the take into two episodes


def extrinsics(i: int) -> np.ndarray:
    yaw = 0.2 * i
    rot = np.array([[np.sin(yaw), -np.cos(yaw), 0], [0, 0, -1], [np.cos(yaw), np.sin(yaw), 0]])
    return np.concatenate([rot, (-rot @ np.array([0.1 * i, 0.0, 1.6]))[:, None]], axis=1)


def joints(i: int) -> np.ndarray:
    return np.stack([np.array([1.0 + 0.01 * j, 0.02 * i, 1.0 + 0.001 * j]) for j in range(42)])


def write_official(root, take="take-a"):
    base = root / "annotations" / "ego_pose" / "train"
    (base / "hand" / "annotation").mkdir(parents=True)
    (base / "camera_pose").mkdir(parents=True)
    hand, cam = {}, {}
    for i, f in enumerate(FRAMES):
        ann3d = {name: {"x": p[0], "y": p[1], "z": p[2], "num_views_for_3d": 4}
                 for name, p in zip(JOINT_NAMES, joints(i))}
        if f == 6:
            ann3d.pop("left_index_2")                                   # missing joint
            ann3d["right_thumb_1"]["num_views_for_3d"] = 2              # too few views
        hand[str(f)] = [{"metadata": {"take_uid": take, "take_name": "t", "frame_number": f},
                         "annotation2D": {"aria01_rgb": {"right_wrist": {"x": 1.0, "y": 2.0,
                                                                         "placement": "manual"}}},
                         "annotation3D": ann3d}]
        cam[str(f)] = extrinsics(i).tolist()
    (base / "hand" / "annotation" / f"{take}.json").write_text(json.dumps(hand))
    (base / "camera_pose" / f"{take}.json").write_text(json.dumps(
        {"aria01": {"camera_intrinsics": np.eye(3).tolist(), "camera_extrinsics": cam},
         "metadata": {"take_uid": take}}))
    (root / "takes.json").write_text(json.dumps([{"take_uid": take, "task_name": "Install a Wheel"}]))


def test_official_jsons_to_lerobot_to_windows(tmp_path):
    write_official(tmp_path / "egoexo")
    out = prepare(["--root", str(tmp_path / "egoexo"), "--splits", "train", "--out", str(tmp_path / "lr"),
                   "--takes-json", str(tmp_path / "egoexo" / "takes.json")])
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v2.1" and info["total_episodes"] == 2 and info["total_frames"] == 8
    for name in ("episodes.jsonl", "tasks.jsonl", "modality.json", "stats.json", "episodes_stats.jsonl"):
        assert (out / "meta" / name).exists()
    table = pd.read_parquet(out / "data" / "chunk-000" / "episode_000000.parquet")
    assert list(table["source_frame"]) == [0, 3, 6, 9, 12, 15]
    assert len(table["observation.state"][0]) == 138 and len(table["action"][0]) == 126
    reader = LeRobotHands(out)
    j, e, task = reader.episode(0)
    assert task == "Install a Wheel"
    np.testing.assert_allclose(j[1], joints(1), atol=1e-6)
    np.testing.assert_allclose(e[4], extrinsics(4), atol=1e-6)
    assert np.all(j[2, JOINT_NAMES.index("left_index_2")] == 0)
    assert np.all(j[2, JOINT_NAMES.index("right_thumb_1")] == 0)

    cfg = EggFlowDataConfig(source="lerobot", root=str(out), obs_len=4, horizon=3)
    windows = LeRobotWindows(reader, [0, 1], cfg)
    assert len(windows) == 8                                                # every frame is a sample
    item = windows[1]                                                       # episode 0, anchor 1
    rot, origin = canonical_frame(extrinsics(0))                            # oldest index clamps to 0
    np.testing.assert_allclose(item["past"][-1].numpy(), to_canonical(joints(1), rot, origin), atol=1e-5)
    np.testing.assert_allclose(item["future"][0].numpy()[0], to_canonical(joints(2), rot, origin)[0], atol=1e-5)
    assert not item["future_valid"][0, JOINT_NAMES.index("left_index_2")]
    assert not item["future_valid"][0, JOINT_NAMES.index("right_thumb_1")]
    assert item["future_valid"][1].all()
    np.testing.assert_allclose(windows[5]["future"][2].numpy(), windows[5]["future"][0].numpy(), atol=1e-6)
    assert item["video"].shape == (3, 4, 224, 224) and item["text"] == "Install a Wheel"


def test_egoh4_combined_layout(tmp_path):
    take = {"intrinsics": np.eye(3).tolist()}
    for i, f in enumerate([30, 33, 36]):
        hand = joints(i)
        valid = np.ones(42, bool)
        valid[25] = False
        take[str(f)] = {"extrinsics": extrinsics(i).tolist(), "right_hand_3d": hand[:21].tolist(),
                        "left_hand_3d": hand[21:].tolist(), "right_hand_valid_3d": valid[:21].tolist(),
                        "left_hand_valid_3d": valid[21:].tolist(), "body_3d": np.zeros((17, 3)).tolist(),
                        "out-of-view": {"right": False, "left": False}}
    path = tmp_path / "ego_pose_gt_anno_train_combined.json"
    path.write_text(json.dumps({"uid-1": take}))
    (episode,) = load_egoh4_combined(path)
    assert episode.take_uid == "uid-1" and list(episode.frames) == [30, 33, 36]
    assert np.isnan(episode.joints_world[:, 25]).all()
    np.testing.assert_allclose(episode.joints_world[2, 3], joints(2)[3])


def test_model_trains_on_lerobot_windows(tmp_path):
    write_official(tmp_path / "egoexo")
    out = prepare(["--root", str(tmp_path / "egoexo"), "--splits", "train", "--out", str(tmp_path / "lr")])
    cfg = EggFlowDataConfig(source="lerobot", root=str(out))
    windows = LeRobotWindows(LeRobotHands(out), [0, 1], cfg)
    batch = default_collate([windows[i] for i in (0, 7)])
    model = EggFlowModel(EggFlowModelConfig(), cache_dir=tmp_path)
    loss, logs = model(batch)
    loss.backward()
    assert torch.isfinite(loss) and set(logs) == {"loss_abs", "loss_rel", "loss_pair"}
    assert model.forecast(batch).shape == (2, 10, 42, 3)
