"""Grammar-constrained decoding makes even an untrained model's answers parse, with the requested joints only."""

import re
from dataclasses import replace

import numpy as np
import torch

from taihri.evaluation import generate_answers
from taihri.grammar import parse_answer
from taihri.prompts import COMMANDS, PART_SETS, eval_prompt, joints_in_prompt
from taihri.vlm import build_model_and_processor
from tests.taihri.test_trl_steps import _model_cfg, _rows


def test_prompts_name_their_joints() -> None:
    for part, joints in PART_SETS.items():
        assert joints_in_prompt(f"<|im_start|>user\n{eval_prompt(part)} Camera intrinsics: fx=1.0") == joints
    for part, texts in COMMANDS.values():
        assert all(joints_in_prompt(text) == PART_SETS[part] for text in texts)
    assert joints_in_prompt("Describe the weather.") is None


def test_constrained_answers_of_random_model_parse() -> None:
    torch.manual_seed(0)
    model, processor = build_model_and_processor(_model_cfg())
    rows = _rows(4)
    mc = replace(_model_cfg(), eval_batch_size=4, max_new_tokens=40)
    free = generate_answers(model, processor, rows, replace(mc, constrained_decoding=False))
    constrained = generate_answers(model, processor, rows, mc, bin_stride=10)
    assert not any(parse_answer(a, r["width"], r["height"]).ok for a, r in zip(free, rows))
    for answer, row in zip(constrained, rows):
        parsed = parse_answer(answer, row["width"], row["height"])
        assert parsed.ok and parsed.names_exactly(row["joints"]), parsed.errors
        assert all(int(b) % 10 == 0 for b in re.findall(r"<(\d+)>", answer))


def test_official_format_parses_and_constrained_decoder_emits_it() -> None:
    official = ("<|kpt2d_start|> <|left_shoulder|> <261>, <630> <|right_shoulder|> <145>, <627>\n"
                "<|left_elbow|> <290>, <748> <|right_elbow|> <125>, <725> <|kpt2d_end|>\n"
                "<|kpt3d_start|> <|left_shoulder|> <394>, <559>, <416> <|right_shoulder|> <330>, <562>, <444>\n"
                "<|left_elbow|> <404>, <613>, <421> <|right_elbow|> <314>, <612>, <456> <|kpt3d_end|>")
    parsed = parse_answer(official, 1400, 1400)
    assert parsed.ok and parsed.names_exactly(PART_SETS["upper_body"])
    np.testing.assert_allclose(parsed.uv[16], [261 / 999 * 1400, 630 / 999 * 1400])
    np.testing.assert_allclose(parsed.xyz[16], [394 / 999 * 5 - 2.5, 559 / 999 * 5 - 2.5, 416 / 999 * 4])
    torch.manual_seed(0)
    model, processor = build_model_and_processor(_model_cfg())
    rows = _rows(2)
    mc = replace(_model_cfg(), eval_batch_size=2, max_new_tokens=60, answer_format="official")
    for answer, row in zip(generate_answers(model, processor, rows, mc), rows):
        parsed = parse_answer(answer, row["width"], row["height"])
        assert parsed.ok and parsed.names_exactly(row["joints"]), (answer, parsed.errors)
        assert re.fullmatch(r"<\|kpt2d_start\|>( <\|\w+\|> <\d+>, <\d+>){3} <\|kpt2d_end\|> "
                            r"<\|kpt3d_start\|>( <\|\w+\|> <\d+>, <\d+>, <\d+>){3} <\|kpt3d_end\|>", answer), answer
