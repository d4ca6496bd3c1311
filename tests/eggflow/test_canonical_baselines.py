"""Canonical frame (yaw only, gravity kept, invertible), windowing, the residual target and the three baselines."""

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from eggflow.baselines import constant_velocity, static, zero_velocity
from eggflow.canonical import (
    canonical_frame,
    extrinsics_in_canonical,
    from_canonical,
    joint_validity,
    make_window,
    to_canonical,
)
from eggflow.config import EggFlowModelConfig
from eggflow.data import StatsAccumulator
from eggflow.model import EggFlowModel


def camera(yaw: float, pitch: float, roll: float, centre: np.ndarray) -> np.ndarray:
    """World->camera [R|t] of a camera whose optical axis has the given yaw (about world z) and pitch."""
    base = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])   # cam axes -> world (x fwd)
    r_world_cam = Rotation.from_euler("ZYX", [yaw, pitch, 0.0]).as_matrix() @ base @ \
        Rotation.from_euler("z", roll).as_matrix()
    rot = r_world_cam.T
    return np.concatenate([rot, (-rot @ centre)[:, None]], axis=1)


def test_canonical_frame_removes_only_yaw_and_inverts():
    rng = np.random.default_rng(0)
    for _ in range(5):
        yaw, pitch, roll = rng.uniform(-3, 3), rng.uniform(-0.8, 0.8), rng.uniform(-0.3, 0.3)
        centre = rng.normal(size=3)
        extr = camera(yaw, pitch, roll, centre)
        rot, origin = canonical_frame(extr)
        np.testing.assert_allclose(origin, centre, atol=1e-9)
        np.testing.assert_allclose(rot, Rotation.from_euler("z", -yaw).as_matrix(), atol=1e-9)
        np.testing.assert_allclose(rot @ [0, 0, 1], [0, 0, 1], atol=1e-12)          # gravity kept
        forward = to_canonical(centre + extr[:, :3].T @ [0, 0, 1.0], rot, origin)
        assert abs(forward[1]) < 1e-9 and forward[0] > 0                            # looks along +x
        pts = rng.normal(size=(7, 3))
        np.testing.assert_allclose(from_canonical(to_canonical(pts, rot, origin), rot, origin), pts, atol=1e-12)
        cam_pts = pts @ extr[:, :3].T + extr[:, 3]
        e_c = extrinsics_in_canonical(extr, rot, origin)
        np.testing.assert_allclose(to_canonical(pts, rot, origin) @ e_c[:, :3].T + e_c[:, 3], cam_pts, atol=1e-9)


def test_window_validity_and_edge_padding():
    t, rng = 12, np.random.default_rng(1)
    joints = rng.normal(size=(t, 42, 3))
    joints[3, 5] = 0.0
    joints[4, 6, 1] = np.nan
    extr = np.stack([camera(0.1 * i, 0.2, 0.0, np.array([i * 0.1, 0, 1.5])) for i in range(t)])
    w = make_window(joints, extr, anchor=2, obs_len=5, horizon=4, action_offset_start=1)
    rot, origin = canonical_frame(extr[0])                                  # clamped oldest index = 0
    np.testing.assert_allclose(w.past[0], to_canonical(joints[0], rot, origin), atol=1e-5)
    np.testing.assert_allclose(w.past[2], w.past[0], atol=1e-6)              # indices -2,-1,0 -> 0
    np.testing.assert_allclose(w.future[0], to_canonical(joints[3], rot, origin) * w.future_valid[0][:, None],
                               atol=1e-5)
    assert not w.future_valid[0, 5] and not w.future_valid[1, 6] and w.future_valid[0, 6]
    assert np.all(w.future[0, 5] == 0)
    late = make_window(joints, extr, anchor=10, obs_len=5, horizon=4)
    np.testing.assert_allclose(late.future[1], late.future[3], atol=1e-6)    # 11, 12->11, 13->11
    assert joint_validity(np.array([[0.0, 0, 0], [0, 0, 1e-3], [np.nan, 1, 1]])).tolist() == [False, True, False]


def test_baselines_against_hand_computation():
    past = np.zeros((1, 3, 2, 3))
    past[0, :, 0] = [[0, 0, 0.5], [1, 0, 0.5], [2, 0, 0.5]]              # joint 0 moves +1 x per frame
    past[0, :, 1] = [[5, 5, 5], [6, 5, 5], [0, 0, 0]]                    # joint 1 invalid at the last frame
    valid = np.array([[[True, True], [True, True], [True, False]]])
    zv = zero_velocity(past, valid, horizon=2)
    np.testing.assert_allclose(zv[0, :, 0], [[2, 0, 0.5], [2, 0, 0.5]])
    np.testing.assert_allclose(zv[0, :, 1], [[6, 5, 5], [6, 5, 5]])
    cv = constant_velocity(past, valid, horizon=2)
    np.testing.assert_allclose(cv[0, :, 0], [[3, 0, 0.5], [4, 0, 0.5]])
    np.testing.assert_allclose(cv[0, :, 1], [[6, 5, 5], [6, 5, 5]])     # no velocity without two valid
    np.testing.assert_allclose(constant_velocity(past, valid, 2, action_offset_start=0)[0, 0, 0], [2, 0, 0.5])
    fut = np.zeros((2, 2, 42, 3))
    fut[:, :, 0] = [[[1.0, 0, 0], [3.0, 0, 0]], [[10.0, 0, 0], [5.0, 2, 0]]]
    fv = np.ones((2, 2, 42), bool)
    fv[1, 0, 0] = False
    acc = StatsAccumulator()
    acc.update({"past": fut, "past_valid": fv, "past_extrinsics": np.zeros((2, 2, 12)), "future": fut,
                "future_valid": fv})
    mean = acc.mean_pose()
    np.testing.assert_allclose(mean[0], [3.0, 2 / 3, 0], atol=1e-6)
    assert static(mean, 4, 3).shape == (4, 3, 42, 3)


def test_tokenizer_knows_the_task_words():
    from eggflow.config import EncoderConfig
    from eggflow.encoder import build_tokenizer

    tokenizer = build_tokenizer(EncoderConfig())
    ids = tokenizer(["pick up the red cup", "push the yellow bottle"])["input_ids"]
    assert all(tokenizer.unk_token_id not in row for row in ids)
    assert len({tuple(row) for row in ids}) == 2


def test_residual_target_is_wrist_offset_plus_shape_change():
    rng = np.random.default_rng(3)
    past, future = rng.normal(size=(2, 20, 42, 3)), rng.normal(size=(2, 10, 42, 3))
    batch = {"past": torch.tensor(past, dtype=torch.float32), "past_valid": torch.ones(2, 20, 42, dtype=torch.bool),
             "future": torch.tensor(future, dtype=torch.float32)}
    model = EggFlowModel(EggFlowModelConfig())
    lo, hi = -torch.full((126,), 3.0), torch.full((126,), 5.0)
    model.set_normalisation(residual_min=lo, residual_max=hi)
    residual = (model.head_target(batch).view(2, 10, 42, 3) + 1) / 2 * 8 - 3
    last = past[:, -1]
    for hand in (0, 21):
        wrist_offset = future[:, :, hand] - last[:, None, hand]
        np.testing.assert_allclose(residual[:, :, hand].numpy(), wrist_offset, atol=1e-5)
        for joint in range(hand + 1, hand + 21):
            shape_change = (future[:, :, joint] - future[:, :, hand]) - (last[:, None, joint] - last[:, None, hand])
            np.testing.assert_allclose(residual[:, :, joint].numpy(), shape_change, atol=1e-5)
    np.testing.assert_allclose(model.to_metres(model.head_target(batch).flatten(2), batch).numpy(), future,
                               atol=1e-5)
