"""Grammar-constrained decoding makes even an untrained model's answers parse, with the requested joints only."""

import re

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
    free = generate_answers(model, processor, rows, batch_size=4, max_new_tokens=40, constrained=False)
    constrained = generate_answers(model, processor, rows, batch_size=4, max_new_tokens=40, bin_stride=10)
    assert not any(parse_answer(a, r["width"], r["height"]).ok for a, r in zip(free, rows))
    for answer, row in zip(constrained, rows):
        parsed = parse_answer(answer, row["width"], row["height"])
        assert parsed.ok and parsed.names_exactly(row["joints"]), parsed.errors
        assert all(int(b) % 10 == 0 for b in re.findall(r"<(\d+)>", answer))
