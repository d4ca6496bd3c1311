"""Grammar-constrained decoding: given the requested joints only bin values are free, so answers always parse."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from transformers import LogitsProcessor, PreTrainedTokenizerBase

from taihri.grammar import BIN_TOKENS, GRAMMAR_TOKENS, allowed_bins, encode_answer
from taihri.prompts import joints_in_prompt

FREE_BIN = -1
"""Template slot where any bin token `<0>..<999>` may be chosen."""


def answer_template(joints: Sequence[int], tokenizer: PreTrainedTokenizerBase, style: str = "compact") -> list[int]:
    """Token ids of the answer the encoder writes for `joints` in `style` (FREE_BIN where a bin goes), then EOS."""
    placeholder = encode_answer(joints, np.zeros((len(joints), 2)), np.zeros((len(joints), 3)), 1.0, 1.0,
                                style=style)
    bins = set(tokenizer.convert_tokens_to_ids(list(BIN_TOKENS)))
    ids = tokenizer(placeholder, add_special_tokens=False)["input_ids"]
    return [FREE_BIN if i in bins else i for i in ids] + [tokenizer.eos_token_id]


class GrammarLogitsProcessor(LogitsProcessor):
    """Masks every token the answer grammar does not allow; each row's joints are read from its prompt text.

    The decoding step of a row is the length of its trailing run of answer tokens (grammar tokens and, in the
    official style, the separator tokens; the prompt ends in "assistant\\n"); rows whose prompt names no known
    part set are left unconstrained.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, bin_stride: int = 1, style: str = "compact") -> None:
        self.tokenizer, self.style = tokenizer, style
        self.bin_ids = torch.as_tensor(tokenizer.convert_tokens_to_ids([f"<{b}>" for b in allowed_bins(bin_stride)]))
        grammar = tokenizer.convert_tokens_to_ids(list(GRAMMAR_TOKENS))
        self.is_grammar = torch.zeros(len(tokenizer), dtype=torch.bool)
        self.is_grammar[grammar] = True
        separators = {i for i in answer_template((0,), tokenizer, style)[:-1] if i != FREE_BIN} - set(grammar)
        self.is_grammar[sorted(separators)] = True
        self.templates: dict[int, list[int] | None] = {}

    def _template(self, row_ids: torch.Tensor) -> list[int] | None:
        """Answer template for the prompt in `row_ids` (None when the prompt names no known part set)."""
        joints = joints_in_prompt(self.tokenizer.decode(row_ids, skip_special_tokens=True))
        return None if joints is None else answer_template(joints, self.tokenizer, self.style)

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
