"""Task-aware prompts: body-part query sets, the evaluation prompt and free commands mapped to part sets."""

from __future__ import annotations

import numpy as np

from taihri.grammar import BODY_JOINT_NAMES

PART_SETS: dict[str, tuple[int, ...]] = {
    "left_arm": (16, 18, 20),
    "right_arm": (17, 19, 21),
    "upper_body": (16, 17, 18, 19),
    "lower_body": (1, 2, 4, 5),
}
"""SMPL joint ids queried per body part (TAIHRI eval/eval.py)."""

EVAL_TEMPLATE = "Can you provide the 2D and 3D coordinates of the following keypoints of the person: {names}?"

COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "handover_left": ("left_arm", ("Hand the object over to my left hand.",
                                   "Take the cup from the person's left hand.")),
    "handover_right": ("right_arm", ("Hand the object over to my right hand.",
                                     "Take the cup from the person's right hand.")),
    "high_five_left": ("left_arm", ("Give me a high five with your left hand.",)),
    "high_five_right": ("right_arm", ("Give me a high five!", "High five with the right hand.")),
    "hug": ("upper_body", ("Give the person a big hug.", "Hug me.")),
    "shake_shoulders": ("upper_body", ("Put your hands on the person's shoulders.",)),
    "step_back": ("lower_body", ("Step back, the person is walking towards you.",
                                 "Mind the person's legs and step back.")),
    "follow": ("lower_body", ("Follow the person and keep clear of their feet and knees.",)),
}
"""Free commands: name -> (part set it concerns, phrasings)."""


def joint_names(joints: tuple[int, ...] | list[int]) -> str:
    """Comma-separated SMPL joint names, as in the public evaluation prompt."""
    return ", ".join(BODY_JOINT_NAMES[j] for j in joints)


def eval_prompt(part: str) -> str:
    """The evaluation prompt listing the joints of `part`."""
    return EVAL_TEMPLATE.format(names=joint_names(PART_SETS[part]))


def intrinsics_text(K: np.ndarray) -> str:
    """Intrinsics sentence appended to the prompt when the intrinsics-in-prompt mode is on (pixels)."""
    return (f" Camera intrinsics: fx={K[0, 0]:.1f}, fy={K[1, 1]:.1f}, cx={K[0, 2]:.1f}, "
            f"cy={K[1, 2]:.1f} pixels.")


def command_prompts() -> list[tuple[str, str]]:
    """Every (part set, phrasing) of the free commands."""
    return [(part, text) for part, texts in COMMANDS.values() for text in texts]


def sample_prompt(rng: np.random.Generator, command_prob: float) -> tuple[str, str]:
    """Draw (part set, prompt): a free command with probability `command_prob`, else the eval prompt."""
    if rng.random() < command_prob:
        commands = command_prompts()
        return commands[int(rng.integers(len(commands)))]
    part = list(PART_SETS)[int(rng.integers(len(PART_SETS)))]
    return part, eval_prompt(part)


def joints_in_prompt(text: str) -> tuple[int, ...] | None:
    """SMPL ids a prompt asks for: the joints listed by the evaluation prompt or the part set of a command."""
    for part, joints in PART_SETS.items():
        if eval_prompt(part) in text:
            return joints
    for part, phrasing in command_prompts():
        if phrasing in text:
            return PART_SETS[part]
    return None


def build_prompt(text: str, K: np.ndarray | None, intrinsics_in_prompt: bool) -> str:
    """User text of one query, with the intrinsics sentence appended in the intrinsics-in-prompt mode."""
    return text + intrinsics_text(K) if intrinsics_in_prompt and K is not None else text
