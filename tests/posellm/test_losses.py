"""Digit-place-weighted answer loss against a per-token loop, hand-made weights and the transformers LM loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM

from posellm.config import PoseLLMModelConfig, TinyLLMConfig, TinyVisionConfig
from posellm.data import collate_train
from posellm.losses import digit_place_weights
from posellm.model import build_posellm
from posellm.text import IGNORE_INDEX, PromptCodec, build_tiny_tokenizer


@pytest.fixture(scope="module")
def codec() -> PromptCodec:
    return PromptCodec(build_tiny_tokenizer())


def loop_place_weights(targets: torch.Tensor, is_digit: torch.Tensor, weights: list[float]) -> torch.Tensor:
    """The per-token loop the vectorised version replaced (reference)."""
    digit = is_digit[targets.clamp(min=0)] & (targets != IGNORE_INDEX)
    place = torch.zeros_like(targets)
    for t in range(1, targets.shape[1]):
        place[:, t] = torch.where(digit[:, t] & digit[:, t - 1], place[:, t - 1] + 1, 0)
    table = torch.as_tensor(weights, dtype=torch.float32)
    return torch.where(digit, table[place.clamp(max=len(weights) - 1)], 1.0)


def full_logits_loss(logits: torch.Tensor, labels: torch.Tensor, is_digit: torch.Tensor,
                     weights: list[float]) -> torch.Tensor:
    """Reference: weighted CE over every position of the full logits, masked to the labelled ones."""
    targets = labels[:, 1:]
    ce = F.cross_entropy(logits[:, :-1].float().transpose(1, 2), targets.clamp(min=0), reduction="none")
    w = loop_place_weights(targets, is_digit, weights) * (targets != IGNORE_INDEX)
    return (ce * w).sum() / w.sum()


def test_place_weights_of_an_answer(codec: PromptCodec) -> None:
    ids = codec.answer_ids(np.array([0.512, 0.334]))
    tokens = [codec.tokenizer.decode([i]) for i in ids]
    assert tokens[:7] == ["[", "0", ".", "5", "1", "2", ","]
    weights = digit_place_weights(torch.tensor([ids]), torch.as_tensor(codec.digit_token), [1.0, 0.1, 0.01])[0]
    expected = [1.0, 1.0, 1.0, 1.0, 0.1, 0.01, 1.0, 1.0, 1.0, 1.0, 0.1, 0.01, 1.0, 1.0]
    assert weights.tolist() == pytest.approx(expected)


def test_vectorised_weights_equal_the_loop(codec: PromptCodec) -> None:
    gen = torch.Generator().manual_seed(0)
    is_digit = torch.as_tensor(codec.digit_token)
    digits = torch.nonzero(is_digit)[:, 0]
    targets = torch.randint(0, len(is_digit), (6, 50), generator=gen)
    runs = torch.rand(6, 50, generator=gen) < 0.6               # long digit runs, some masked positions
    targets = torch.where(runs, digits[torch.randint(0, len(digits), (6, 50), generator=gen)], targets)
    targets[torch.rand(6, 50, generator=gen) < 0.2] = IGNORE_INDEX
    for weights in ([1.0], [1.0, 0.1], [1.0, 0.1, 0.01, 0.5]):
        assert torch.equal(digit_place_weights(targets, is_digit, weights), loop_place_weights(targets, is_digit,
                                                                                                   weights))


@pytest.mark.parametrize("weights", [[1.0], [1.0, 0.1, 0.01]])
def test_labelled_position_loss_equals_the_full_logits_loss(codec: PromptCodec, weights: list[float]) -> None:
    cfg = PoseLLMModelConfig(tiny_vision=TinyVisionConfig(hidden_size=32, intermediate_size=64, patch_size=8),
                             tiny_llm=TinyLLMConfig(hidden_size=32, intermediate_size=64),
                             answer_digit_weights=weights, freeze_base=False)
    built = build_posellm(cfg, 16, seed=0)
    net = built.model.get_base_model()
    net.eval()
    rng = np.random.default_rng(0)
    items = []
    for n in (2, 4):
        names = ["nose", "left_wrist", "right_knee", "left_hip"][:n]
        ids, labels = built.codec.conversation(names, rng.uniform(0, 1, (n, 2)))
        items.append({"pixel_values": torch.randn(3, 16, 16), "input_ids": torch.tensor(ids),
                      "labels": torch.tensor(labels)})
    batch = collate_train(items, pad_id=built.codec.tokenizer.pad_token_id)
    loss = net(**batch)["loss"]
    img = net.image_embeddings(batch["pixel_values"])
    embeds, mask, labs = net.merge(img, batch["input_ids"], batch["attention_mask"], batch["labels"])
    logits = net.llm(inputs_embeds=embeds, attention_mask=mask,
                     position_ids=(mask.long().cumsum(1) - 1).clamp(min=0)).logits
    assert loss.item() == pytest.approx(full_logits_loss(logits, labs, net.is_digit, weights).item(), rel=1e-5)


def test_unit_weights_equal_the_transformers_loss(codec: PromptCodec) -> None:
    torch.manual_seed(0)
    llm = LlamaForCausalLM(LlamaConfig(vocab_size=len(codec.tokenizer), hidden_size=32, intermediate_size=64,
                                       num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2))
    ids, labels = codec.conversation(["nose", "left_wrist"], np.array([[0.512, 0.334], [0.25, 0.875]]))
    ids, labels = torch.tensor([ids]), torch.tensor([labels])
    out = llm(input_ids=ids, labels=labels)
    is_digit = torch.as_tensor(codec.digit_token)
    assert full_logits_loss(out.logits, labels, is_digit, [1.0]).item() == pytest.approx(out.loss.item(), rel=1e-5)
