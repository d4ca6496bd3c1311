"""Grammar-constrained decoding: given the requested joints only bin values are free, so answers always parse."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import LogitsProcessor, PreTrainedTokenizerBase

from taihri.grammar import GRAMMAR_TOKENS, JOINT_TOKENS, KPT2D_END, KPT2D_START, KPT3D_END, KPT3D_START, allowed_bins
from taihri.prompts import joints_in_prompt

FREE_BIN = -1
"""Template slot where any bin token `<0>..<999>` may be chosen."""


def answer_template(joints: Sequence[int], tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Token ids of the answer structure for `joints` (FREE_BIN where a bin goes), ending with the EOS id."""
    ids = tokenizer.convert_tokens_to_ids
    template = [ids(KPT2D_START)]
    for joint in joints:
        template += [ids(JOINT_TOKENS[joint]), FREE_BIN, FREE_BIN]
    template += [ids(KPT2D_END), ids(KPT3D_START)]
    for joint in joints:
        template += [ids(JOINT_TOKENS[joint]), FREE_BIN, FREE_BIN, FREE_BIN]
    return [*template, ids(KPT3D_END), tokenizer.eos_token_id]


class GrammarLogitsProcessor(LogitsProcessor):
    """Masks every token the answer grammar does not allow; each row's joints are read from its prompt text.

    The decoding step of a row is the length of its trailing run of grammar tokens (the prompt ends in text);
    rows whose prompt names no known part set are left unconstrained.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, bin_stride: int = 1) -> None:
        self.tokenizer = tokenizer
        self.bin_ids = torch.as_tensor(tokenizer.convert_tokens_to_ids([f"<{b}>" for b in allowed_bins(bin_stride)]))
        grammar = tokenizer.convert_tokens_to_ids(list(GRAMMAR_TOKENS))
        self.is_grammar = torch.zeros(len(tokenizer), dtype=torch.bool)
        self.is_grammar[grammar] = True
        self.templates: dict[int, list[int] | None] = {}

    def _template(self, row_ids: torch.Tensor) -> list[int] | None:
        """Answer template for the prompt in `row_ids` (None when the prompt names no known part set)."""
        joints = joints_in_prompt(self.tokenizer.decode(row_ids, skip_special_tokens=True))
        return None if joints is None else answer_template(joints, self.tokenizer)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        grammar = self.is_grammar.to(input_ids.device)[input_ids.clamp(max=len(self.is_grammar) - 1)]
        not_grammar = (~grammar).flip(-1).int()
        steps = torch.where(not_grammar.any(-1), not_grammar.argmax(-1), torch.full_like(not_grammar[:, 0],
                                                                                           grammar.shape[1]))
        mask = torch.zeros_like(scores)
        for row, step in enumerate(steps.tolist()):
            if step == 0:
                self.templates[row] = self._template(input_ids[row])
            template = self.templates.get(row)
            if template is None:
                continue
            mask[row] = float("-inf")
            slot = template[step] if step < len(template) else self.tokenizer.eos_token_id
            if slot == FREE_BIN:
                mask[row, self.bin_ids.to(scores.device)] = 0.0
            else:
                mask[row, slot] = 0.0
        return scores + mask
