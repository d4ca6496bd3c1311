"""Rewards on hand-made completions: perfect > slightly off > far off > wrong joints > malformed."""

import numpy as np
import pytest

from taihri.config import RewardConfig
from taihri.grammar import encode_answer, parse_answer
from taihri.rewards import consistency_score, make_reward_functions, total_reward

JOINTS = [16, 18, 20]
K = np.array([[1000.0, 0.0, 700.0], [0.0, 1000.0, 700.0], [0.0, 0.0, 1.0]])
XYZ = np.array([[-0.30, 0.10, 1.6], [-0.35, 0.35, 1.5], [-0.20, 0.50, 1.3]])
UV = XYZ[:, :2] / XYZ[:, 2:] * 1000.0 + 700.0
SIZE = 1400.0
CFG = RewardConfig()


def _reward(text: str) -> float:
    return total_reward(text, JOINTS, UV, XYZ, K, SIZE, SIZE, CFG)


def _answer(xyz: np.ndarray, joints: list[int] = JOINTS) -> str:
    uv = xyz[:, :2] / xyz[:, 2:] * 1000.0 + 700.0
    return encode_answer(joints, uv, xyz, SIZE, SIZE)


def test_ordering_perfect_worse_malformed() -> None:
    perfect = _reward(_answer(XYZ))
    slightly_off = _reward(_answer(XYZ + np.array([0.03, -0.02, 0.05])))
    far_off = _reward(_answer(XYZ + np.array([0.4, 0.3, 0.8])))
    wrong_joints = _reward(_answer(XYZ, [17, 19, 21]))
    malformed = _reward("<|kpt2d_start|><|left_shoulder|><12>")
    assert perfect > slightly_off > far_off > wrong_joints >= malformed
    assert malformed == 0.0
    total_weight = CFG.w_format + CFG.w_2d + CFG.w_3d + CFG.w_consistency
    assert perfect > 0.95 * total_weight


def test_each_reward_in_unit_interval_and_named_for_trl_logging() -> None:
    functions, weights = make_reward_functions(CFG)
    assert [f.__name__ for f in functions] == ["format", "accuracy_2d", "accuracy_3d", "consistency"]
    assert weights == [CFG.w_format, CFG.w_2d, CFG.w_3d, CFG.w_consistency]
    completions = [[{"role": "assistant", "content": _answer(XYZ + d)}] for d in (0.0, 0.1, 0.5)]
    columns = {"joints": [JOINTS] * 3, "uv": [UV] * 3, "xyz": [XYZ] * 3, "K": [K] * 3, "width": [SIZE] * 3,
               "height": [SIZE] * 3}
    for f in functions:
        values = f(prompts=[None] * 3, completions=completions, **columns)
        assert len(values) == 3 and all(0.0 <= v <= 1.0 for v in values)


@pytest.mark.parametrize("shift_px", [0.0, 40.0])
def test_consistency_matches_brute_force_projection(shift_px: float) -> None:
    uv = UV + shift_px
    parsed = parse_answer(encode_answer(JOINTS, uv, XYZ, SIZE, SIZE), SIZE, SIZE)
    got_uv, got_xyz = parsed.arrays(JOINTS)
    projected = np.array([[K[0, 0] * x / z + K[0, 2], K[1, 1] * y / z + K[1, 2]] for x, y, z in got_xyz])
    expected = np.mean(np.exp(-np.linalg.norm(projected - got_uv, axis=1) / CFG.sigma_consistency_px))
    assert consistency_score(parsed, JOINTS, K, SIZE, SIZE, CFG.sigma_consistency_px) == pytest.approx(expected)
