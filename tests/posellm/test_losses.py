"""Digit-place-weighted answer loss against hand-made weights and the transformers LM loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from posellm.losses import answer_loss, digit_place_weights
from posellm.text import IGNORE_INDEX, PromptCodec, build_tiny_tokenizer


@pytest.fixture(scope="module")
def codec() -> PromptCodec:
    return PromptCodec(build_tiny_tokenizer())


def test_place_weights_of_an_answer(codec: PromptCodec) -> None:
    ids = codec.answer_ids(np.array([0.512, 0.334]))
    tokens = [codec.tokenizer.decode([i]) for i in ids]
    assert tokens[:7] == ["[", "0", ".", "5", "1", "2", ","]
    weights = digit_place_weights(torch.tensor([ids]), torch.as_tensor(codec.digit_token), [1.0, 0.1, 0.01])[0]
    expected = [1.0, 1.0, 1.0, 1.0, 0.1, 0.01, 1.0, 1.0, 1.0, 1.0, 0.1, 0.01, 1.0, 1.0]
    assert weights.tolist() == pytest.approx(expected)


def test_unit_weights_equal_the_transformers_loss_and_weights_change_it(codec: PromptCodec) -> None:
    torch.manual_seed(0)
    llm = LlamaForCausalLM(LlamaConfig(vocab_size=len(codec.tokenizer), hidden_size=32, intermediate_size=64,
                                       num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2))
    ids, labels = codec.conversation(["nose", "left_wrist"], np.array([[0.512, 0.334], [0.25, 0.875]]))
    ids, labels = torch.tensor([ids]), torch.tensor([labels])
    out = llm(input_ids=ids, labels=labels)
    is_digit = torch.as_tensor(codec.digit_token)
    assert answer_loss(out.logits, labels, is_digit, [1.0]).item() == pytest.approx(out.loss.item(), rel=1e-5)
    targets = labels[:, 1:]
    ce = torch.nn.functional.cross_entropy(out.logits[0, :-1], targets[0].clamp(min=0), reduction="none")
    w = digit_place_weights(targets, is_digit, [1.0, 0.1, 0.01])[0] * (targets[0] != IGNORE_INDEX)
    weighted = answer_loss(out.logits, labels, is_digit, [1.0, 0.1, 0.01]).item()
    assert weighted == pytest.approx(((ce * w).sum() / w.sum()).item(), rel=1e-5)
