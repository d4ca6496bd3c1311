"""Answer grammar: exact inverse up to bin resolution, tokenisation, malformed-answer reports, prompts."""

import numpy as np
import pytest

from common.body import SMPL_JOINT_NAMES
from common.metrics import TAIHRI_PART_SETS
from taihri.grammar import (
    BODY_JOINT_NAMES,
    GRAMMAR_TOKENS,
    XY_RANGE_M,
    Z_RANGE_M,
    bin_resolution,
    encode_answer,
    parse_answer,
)
from taihri.prompts import COMMANDS, PART_SETS, build_prompt, eval_prompt
from taihri.vlm import build_tokenizer

W, H = 1400.0, 1050.0


def _random_answer(rng: np.random.Generator, joints: list[int]) -> tuple[np.ndarray, np.ndarray]:
    uv = rng.uniform([0, 0], [W, H], (len(joints), 2))
    xyz = rng.uniform([XY_RANGE_M[0], XY_RANGE_M[0], Z_RANGE_M[0]], [XY_RANGE_M[1], XY_RANGE_M[1], Z_RANGE_M[1]],
                      (len(joints), 3))
    return uv, xyz


@pytest.mark.parametrize("part", list(PART_SETS))
def test_round_trip_within_half_a_bin(part: str) -> None:
    rng = np.random.default_rng(len(part))
    joints = list(PART_SETS[part])
    for _ in range(50):
        uv, xyz = _random_answer(rng, joints)
        box = [10.0, 20.0, 900.0, 1000.0]
        parsed = parse_answer(encode_answer(joints, uv, xyz, W, H, box=box), W, H)
        assert parsed.ok and parsed.names_exactly(joints)
        got_uv, got_xyz = parsed.arrays(joints)
        assert np.abs(got_uv[:, 0] - uv[:, 0]).max() <= W / 999 / 2 + 1e-9
        assert np.abs(got_uv[:, 1] - uv[:, 1]).max() <= H / 999 / 2 + 1e-9
        assert np.abs(got_xyz[:, :2] - xyz[:, :2]).max() <= bin_resolution(*XY_RANGE_M) + 1e-9
        assert np.abs(got_xyz[:, 2] - xyz[:, 2]).max() <= bin_resolution(*Z_RANGE_M) + 1e-9
        assert np.abs(parsed.box - box).max() <= W / 999 / 2 + 1e-9
        again = encode_answer(joints, got_uv, got_xyz, W, H, box=parsed.box)
        assert again == encode_answer(joints, uv, xyz, W, H, box=box)


def test_public_parser_example_decodes_as_documented() -> None:
    text = ("<|kpt2d_start|> <|left_shoulder|> <261>, <630> <|kpt2d_end|>"
            "<|kpt3d_start|> <|left_shoulder|> <394>, <559>, <416> <|kpt3d_end|>")
    parsed = parse_answer(text, 1400.0, 1400.0)
    assert parsed.ok
    np.testing.assert_allclose(parsed.uv[16], [261 / 999 * 1400, 630 / 999 * 1400])
    np.testing.assert_allclose(parsed.xyz[16], [394 / 999 * 5 - 2.5, 559 / 999 * 5 - 2.5, 416 / 999 * 4])


def test_out_of_range_values_clip_to_the_border_bins() -> None:
    answer = encode_answer([20], np.array([[-50.0, 2000.0]]), np.array([[-3.0, 9.0, 5.0]]), W, H)
    assert "<|left_wrist|><0><999>" in answer and "<|left_wrist|><0><999><999>" in answer


@pytest.mark.parametrize(("text", "problem"), [
    ("", "expected <|kpt2d_start|>"),
    ("<|kpt2d_start|><|left_wrist|><1><2><|kpt2d_end|>", "expected <|kpt3d_start|>"),
    ("<|kpt2d_start|><|left_wrist|><1><|kpt2d_end|><|kpt3d_start|><|left_wrist|><1><2><3><|kpt3d_end|>",
     "expected 2"),
    ("<|kpt2d_start|><|left_wrist|><1><2><|kpt2d_end|><|kpt3d_start|><|left_wrist|><1><2><3>", "missing"),
    ("<|kpt2d_start|><|left_wrist|><1><2><|kpt2d_end|><|kpt3d_start|><|right_wrist|><1><2><3><|kpt3d_end|>",
     "different joints"),
    ("<|kpt2d_start|><|elbow|><1><2><|kpt2d_end|><|kpt3d_start|><|kpt3d_end|>", "unexpected token"),
    ("<|kpt2d_start|><|left_wrist|><1><2><|kpt2d_end|><|kpt3d_start|><|left_wrist|><1><2><3><|kpt3d_end|>xx",
     "trailing"),
    ("<|box_start|><1><2><|box_end|><|kpt2d_start|><|kpt2d_end|><|kpt3d_start|><|kpt3d_end|>", "box"),
])
def test_malformed_answers_are_reported(text: str, problem: str) -> None:
    parsed = parse_answer(text, W, H)
    assert not parsed.ok
    assert any(problem in e for e in parsed.errors), parsed.errors


def test_valid_joints_survive_a_partly_malformed_answer() -> None:
    text = ("<|kpt2d_start|><|left_wrist|><1><2><|left_elbow|><5><|kpt2d_end|>"
            "<|kpt3d_start|><|left_wrist|><1><2><3><|kpt3d_end|>")
    parsed = parse_answer(text, W, H)
    assert not parsed.ok and set(parsed.xyz) == {20} and set(parsed.uv) == {20}


def test_joint_tokens_match_smpl_and_every_grammar_token_is_one_token() -> None:
    assert tuple(SMPL_JOINT_NAMES[:22]) == BODY_JOINT_NAMES
    assert {k: list(v) for k, v in PART_SETS.items()} == TAIHRI_PART_SETS
    tok = build_tokenizer()
    answer = encode_answer([16, 18, 20], np.full((3, 2), 500.0), np.full((3, 3), 1.0), W, H)
    pieces = tok.convert_ids_to_tokens(tok(answer)["input_ids"])
    assert "".join(pieces) == answer and len(pieces) == 2 + 3 * 3 + 2 + 3 * 4
    assert all(len(tok(t)["input_ids"]) == 1 for t in GRAMMAR_TOKENS)


def test_prompts_cover_every_part_and_command() -> None:
    assert eval_prompt("left_arm").endswith("left_shoulder, left_elbow, left_wrist?")
    assert {part for part, _ in COMMANDS.values()} == set(PART_SETS)
    K = np.array([[1000.0, 0, 700], [0, 1000.0, 525], [0, 0, 1]])
    assert "fx=1000.0" in build_prompt("Hug me.", K, True) and build_prompt("Hug me.", K, False) == "Hug me."


def test_bin_stride_keeps_the_grammar_and_bounds_the_error() -> None:
    rng = np.random.default_rng(4)
    joints = list(PART_SETS["upper_body"])
    uv, xyz = _random_answer(rng, joints)
    uv, xyz = np.minimum(uv, [0.99 * W, 0.99 * H]), np.minimum(xyz, [2.45, 2.45, 3.95])  # stride 10 tops at bin 990
    answer = encode_answer(joints, uv, xyz, W, H, stride=10)
    parsed = parse_answer(answer, W, H)
    assert parsed.ok and parsed.names_exactly(joints)
    got_uv, got_xyz = parsed.arrays(joints)
    assert np.abs(got_xyz[:, :2] - xyz[:, :2]).max() <= 10 * bin_resolution(*XY_RANGE_M) + 1e-9
    assert np.abs(got_xyz[:, 2] - xyz[:, 2]).max() <= 10 * bin_resolution(*Z_RANGE_M) + 1e-9
    assert np.abs(got_uv - uv).max() <= 10 * bin_resolution(0.0, W) + 1e-9
