"""Ego-Exo4D fixtures in the official layouts (hand/camera jsons, takes.json, egopose-baseline frame folders,
EggHand instruction json) -> prepare script -> LeRobot v2.1 -> training windows, ablations and errors."""

import dataclasses
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import default_collate

from eggflow.canonical import canonical_frame, to_canonical
from eggflow.config import EggFlowDataConfig, EggFlowModelConfig
from eggflow.data import split_statistics
from eggflow.egoexo4d import JOINT_NAMES, load_egoh4_combined
from eggflow.lerobot import LeRobotHands, LeRobotWindows
from eggflow.model import EggFlowModel
from eggflow.task import EggFlowData

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "prepare_egoexo4d.py"
_spec = importlib.util.spec_from_file_location("prepare_egoexo4d", SCRIPT)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
prepare = _module.main

FRAMES = [0, 3, 6, 9, 12, 15, 21, 24]            # gap 15 -> 21 splits the take into two episodes
TAKE_UID, TAKE_NAME = "take-a", "georgiatech_bike_01_6"


def extrinsics(i: int) -> np.ndarray:
    yaw = 0.2 * i
    rot = np.array([[np.sin(yaw), -np.cos(yaw), 0], [0, 0, -1], [np.cos(yaw), np.sin(yaw), 0]])
    return np.concatenate([rot, (-rot @ np.array([0.1 * i, 0.0, 1.6]))[:, None]], axis=1)


def joints(i: int) -> np.ndarray:
    return np.stack([np.array([1.0 + 0.01 * j, 0.02 * i, 1.0 + 0.001 * j]) for j in range(42)])


def colour(frame: int) -> tuple[int, int, int]:
    return (20 + 9 * frame, 200 - 7 * frame, 60 + 5 * frame)


def write_egoexo(root: Path, frames: bool = True, instructions: bool = True) -> list[str]:
    """Official annotation/camera jsons, takes.json, undistorted frames and EggHand's train.json; returns args."""
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
        hand[str(f)] = [{"metadata": {"take_uid": TAKE_UID, "take_name": TAKE_NAME, "frame_number": f},
                         "annotation2D": {"aria01_rgb": {"right_wrist": {"x": 1.0, "y": 2.0,
                                                                         "placement": "manual"}}},
                         "annotation3D": ann3d}]
        cam[str(f)] = extrinsics(i).tolist()
    (base / "hand" / "annotation" / f"{TAKE_UID}.json").write_text(json.dumps(hand))
    (base / "camera_pose" / f"{TAKE_UID}.json").write_text(json.dumps(
        {"aria01": {"camera_intrinsics": np.eye(3).tolist(), "camera_extrinsics": cam},
         "metadata": {"take_uid": TAKE_UID}}))
    (root / "takes.json").write_text(json.dumps([{"take_uid": TAKE_UID, "take_name": TAKE_NAME,
                                                  "task_name": "Covid-19 Rapid Antigen Test"}]))
    args = ["--root", str(root), "--splits", "train", "--takes-json", str(root / "takes.json")]
    if frames:
        folder = root / "gt" / "image" / "undistorted" / "train" / TAKE_NAME
        folder.mkdir(parents=True)
        for f in FRAMES:
            cv2.imwrite(str(folder / f"{f:06d}.jpg"), np.full((512, 512, 3), colour(f)[::-1], np.uint8))
        args += ["--frames-root", str(root / "gt" / "image" / "undistorted")]
    if instructions:
        (root / "egghand").mkdir()
        (root / "egghand" / "train.json").write_text(json.dumps({
            "tasks": [{"task_index": 0, "task": "Covid-19 Rapid Antigen Test"}],
            "episodes": [{"episode_index": 0, "take_uid": TAKE_UID, "start_frame": 0, "end_frame": 15, "length": 6,
                          "task_index": 0, "tasks": ["Open the test kit and remove the components carefully."]}]}))
        args += ["--instructions-dir", str(root / "egghand")]
    return args


def test_official_jsons_to_lerobot_to_windows(tmp_path):
    out = prepare([*write_egoexo(tmp_path / "egoexo"), "--out", str(tmp_path / "lr")])
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v2.1" and info["total_episodes"] == 2 and info["total_frames"] == 8
    stats = json.loads((out / "meta" / "stats.json").read_text())
    for feature in ("observation.state", "action"):
        assert {"mean", "std", "min", "max", "q01", "q99"} <= set(stats[feature])
        action = np.concatenate([np.stack(pd.read_parquet(p)[feature].to_numpy())
                                 for p in sorted((out / "data" / "chunk-000").glob("*.parquet"))])
        np.testing.assert_allclose(stats[feature]["q99"], np.quantile(action, 0.99, axis=0), atol=1e-5)
    table = pd.read_parquet(out / "data" / "chunk-000" / "episode_000000.parquet")
    assert list(table["source_frame"]) == [0, 3, 6, 9, 12, 15]
    assert len(table["observation.state"][0]) == 138 and len(table["action"][0]) == 126
    reader = LeRobotHands(out)
    j, e = reader.episode(0)
    assert reader.text(0) == "Open the test kit and remove the components carefully."   # fine-grained
    assert reader.text(0, "task") == "Covid-19 Rapid Antigen Test"
    assert reader.text(1) == "Covid-19 Rapid Antigen Test"          # frames 21, 24 lie outside the instruction
    np.testing.assert_allclose(j[1], joints(1), atol=1e-6)
    np.testing.assert_allclose(e[4], extrinsics(4), atol=1e-6)
    assert np.all(j[2, JOINT_NAMES.index("left_index_2")] == 0)
    assert np.all(j[2, JOINT_NAMES.index("right_thumb_1")] == 0)

    cfg = EggFlowDataConfig(source="lerobot", root=str(out), obs_len=4, horizon=3)
    windows = LeRobotWindows(reader, [0, 1], cfg, words=["test", "kit"])
    assert len(windows) == 8                                                # every frame is a sample
    item = windows[1]                                                       # episode 0, anchor 1
    rot, origin = canonical_frame(extrinsics(0))                            # oldest index clamps to 0
    np.testing.assert_allclose(item["past"][-1].numpy(), to_canonical(joints(1), rot, origin), atol=1e-5)
    np.testing.assert_allclose(item["future"][0].numpy()[0], to_canonical(joints(2), rot, origin)[0], atol=1e-5)
    assert not item["future_valid"][0, JOINT_NAMES.index("left_index_2")]
    assert not item["future_valid"][0, JOINT_NAMES.index("right_thumb_1")]
    assert item["future_valid"][1].all()
    np.testing.assert_allclose(windows[5]["future"][2].numpy(), windows[5]["future"][0].numpy(), atol=1e-6)
    assert item["video"].shape == (3, 4, 224, 224) and item["text"] == reader.text(0)
    # video offsets -18, -12, -6, 0 at anchor 1 clamp to episode frames 0, 0, 0, 1 (source frames 0, 0, 0, 3)
    for k, source in enumerate([0, 0, 0, 3]):
        mean = item["video"][:, k].mean((1, 2)).numpy() * 255
        np.testing.assert_allclose(mean, colour(source), atol=6)


def test_ablation_switches_change_the_inputs(tmp_path):
    out = prepare([*write_egoexo(tmp_path / "egoexo"), "--out", str(tmp_path / "lr")])
    reader = LeRobotHands(out)
    cfg = EggFlowDataConfig(source="lerobot", root=str(out))
    words = ["open", "the", "test", "kit"]
    real = LeRobotWindows(reader, [0, 1], cfg, words)
    noisy = LeRobotWindows(reader, [0, 1], dataclasses.replace(cfg, noisy_vision=True), words)
    dummy = LeRobotWindows(reader, [0, 1], dataclasses.replace(cfg, dummy_language=True), words)
    for i in (0, 3, 7):
        base, n, d = real[i], noisy[i], dummy[i]
        assert n["text"] == base["text"] and torch.equal(d["video"], base["video"])
        assert not torch.allclose(n["video"], base["video"], atol=0.1)
        spatial_std = [float(v[:, 0].std((1, 2)).min()) for v in (n["video"], base["video"])]
        assert spatial_std[0] > 0.2 > 0.05 > spatial_std[1]                 # noise replaces the flat frames
        assert d["text"] != base["text"] and set(d["text"].split()) <= set(words)
        torch.testing.assert_close(n["past"], base["past"])                 # poses untouched
    view = real.with_ablations(True, True, seed=3)
    assert view[2]["text"] != real[2]["text"] and not torch.allclose(view[2]["video"], real[2]["video"], atol=0.1)


def test_missing_frames_fail_unless_placeholders_are_asked_for(tmp_path):
    out = prepare([*write_egoexo(tmp_path / "egoexo", frames=False), "--out", str(tmp_path / "lr")])
    reader = LeRobotHands(out)
    cfg = EggFlowDataConfig(source="lerobot", root=str(out))
    with pytest.raises(FileNotFoundError, match=r"has no videos.*allow_placeholder_frames"):
        LeRobotWindows(reader, [0, 1], cfg, [])
    grey = LeRobotWindows(reader, [0, 1], dataclasses.replace(cfg, allow_placeholder_frames=True), [])
    assert torch.all(grey[0]["video"] == 0.5)

    with_video = prepare([*write_egoexo(tmp_path / "egoexo2"), "--out", str(tmp_path / "lr2")])
    missing = next((with_video / "videos").rglob("episode_000001.mp4"))
    missing.unlink()
    windows = LeRobotWindows(LeRobotHands(with_video), [0, 1], dataclasses.replace(cfg, root=str(with_video)), [])
    windows[0]
    with pytest.raises(FileNotFoundError, match=r"episode_000001\.mp4"):
        windows[7]
    frames_root = tmp_path / "egoexo3"
    args = write_egoexo(frames_root)
    (frames_root / "gt" / "image" / "undistorted" / "train" / TAKE_NAME / "000009.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"000009\.jpg"):
        prepare([*args, "--out", str(tmp_path / "lr3")])


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


def test_real_data_model_sees_real_words_and_whole_split_statistics(tmp_path):
    out = prepare([*write_egoexo(tmp_path / "egoexo"), "--out", str(tmp_path / "lr")])
    data_cfg = EggFlowDataConfig(source="lerobot", root=str(out), eval_split="train")
    data = EggFlowData(EggFlowModelConfig(), data_cfg, tmp_path / "cache")
    model = EggFlowModel(data.model_cfg)
    tokenizer = model.backbone.egovideo.tokenizer
    for text in ("Covid-19 Rapid Antigen Test", "Open the test kit and remove the components carefully."):
        assert tokenizer.unk_token_id not in tokenizer(text)["input_ids"]
    arrays = data.train.window_arrays(np.arange(len(data.train)))
    valid = np.concatenate([arrays["future_valid"], arrays["past_valid"]], 1)[..., None]
    hands = np.concatenate([arrays["future"], arrays["past"]], 1)
    hands_max = np.where(valid, hands, -np.inf).max((0, 1)).ravel()
    hands_min = np.where(valid, hands, np.inf).min((0, 1)).ravel()
    spread = hands_max - hands_min > 1e-6                                   # degenerate coordinates map to [-1, 1]
    assert spread.sum() >= 84
    np.testing.assert_allclose(data.stats["hand_max"].numpy()[spread], hands_max[spread], atol=1e-6)
    np.testing.assert_allclose(data.stats["hand_min"].numpy()[spread], hands_min[spread], atol=1e-6)
    chunked = split_statistics(data.train, chunk=3)                        # streamed in chunks: same result
    for name, value in chunked.stats().items():
        torch.testing.assert_close(value, data.stats[name])
    np.testing.assert_allclose(chunked.mean_pose(), data.mean_pose, atol=1e-6)
    model.set_normalisation(**data.stats)
    batch = default_collate([data.train[i] for i in (0, 7)])
    loss, logs = model(batch)
    loss.backward()
    assert torch.isfinite(loss) and set(logs) == {"loss_abs", "loss_rel", "loss_pair"}
    assert model.forecast(batch).shape == (2, 10, 42, 3)


def test_frozen_features_are_cached_per_episode_in_bf16(tmp_path):
    out = prepare([*write_egoexo(tmp_path / "egoexo"), "--out", str(tmp_path / "lr")])
    data_cfg = EggFlowDataConfig(source="lerobot", root=str(out), eval_split="train", cache_features=True)
    data = EggFlowData(EggFlowModelConfig(), data_cfg, tmp_path / "cache")
    item, raw = data.train[3], data.train.windows[3]
    assert "video" not in item and item["vision_feats"].dtype == torch.float32
    expected = data.encoder.encode_video(raw["video"][None])[0]
    torch.testing.assert_close(item["vision_feats"], expected, atol=0.02 * float(expected.abs().max()), rtol=0.02)
    files = sorted((tmp_path / "cache" / "eggflow").glob("*.safetensors"))
    assert len(files) == 1                                                  # episode 0 only, so far
    noisy = data.train.with_ablations(True, False, seed=5)[3]
    assert not torch.allclose(noisy["vision_feats"], item["vision_feats"], atol=1e-3)
    assert len(sorted((tmp_path / "cache" / "eggflow").glob("*.safetensors"))) == 2
