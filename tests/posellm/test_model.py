"""LoRA placement, frozen base, connector switch, batched generation and checkpoint round trip."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from transformers import TrainingArguments

from posellm.config import PoseLLMModelConfig, TinyLLMConfig, TinyVisionConfig
from posellm.folder import load_posellm, save_posellm
from posellm.inference import base_network, predict
from posellm.keypoints import COCO_KEYPOINTS
from posellm.model import build_posellm
from posellm.training import ConnectorLRTrainer

SIZE = 32
TINY = {"tiny_vision": TinyVisionConfig(hidden_size=32, intermediate_size=64, patch_size=8),
        "tiny_llm": TinyLLMConfig(hidden_size=64, intermediate_size=128)}


def _cfg(**kw: object) -> PoseLLMModelConfig:
    return PoseLLMModelConfig(**{**TINY, **kw})


def _perturb_trainable(model: nn.Module, seed: int = 0) -> None:
    """Stand-in for training: give every trainable tensor (LoRA B starts at 0) non-zero values."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn(p.shape, generator=gen))


def test_lora_on_exactly_q_and_v_of_both_towers_and_base_frozen() -> None:
    built = build_posellm(_cfg(train_token_embeddings=False), SIZE)
    net = base_network(built.model)
    wrapped = {n for n, m in net.named_modules() if hasattr(m, "lora_A")}
    linears = {n for n, m in net.named_modules() if type(m).__name__ == "Linear" and "." in n}
    expected_vision = {n for n in linears if n.startswith("vision.") and re.search(r"attention\.(q|v)_proj$", n)}
    expected_llm = {n for n in linears if n.startswith("llm.") and re.search(r"self_attn\.(q|v)_proj$", n)}
    n_layers = net.vision.config.num_hidden_layers + net.llm.config.num_hidden_layers
    assert len(expected_vision) + len(expected_llm) == 2 * n_layers
    assert wrapped == expected_vision | expected_llm
    lora = built.model.peft_config["default"]
    assert (lora.r, lora.lora_alpha, lora.lora_dropout) == (8, 16, 0.05)
    for name, param in built.model.named_parameters():
        is_adapter = "lora_A" in name or "lora_B" in name
        is_connector = ".connector.modules_to_save." in name
        assert param.requires_grad == (is_adapter or is_connector), name


def test_connector_switch_changes_only_the_connector() -> None:
    shapes = {}
    for kind in ("linear", "mlp"):
        built = build_posellm(_cfg(connector=kind, train_token_embeddings=False), SIZE)
        shapes[kind] = {k: tuple(v.shape) for k, v in built.model.state_dict().items()}
        connector = base_network(built.model).connector.modules_to_save["default"]
        kinds = [type(m).__name__ for m in connector.modules()][1:] if kind == "mlp" else [type(connector).__name__]
        assert kinds == (["Linear", "GELU", "Linear"] if kind == "mlp" else ["Linear"])
    same = {k for k in shapes["linear"] if ".connector." not in k}
    assert same == {k for k in shapes["mlp"] if ".connector." not in k}
    assert all(shapes["linear"][k] == shapes["mlp"][k] for k in same)
    assert {k for k in shapes["linear"] if ".connector." in k} != {k for k in shapes["mlp"] if ".connector." in k}


def test_batched_generation_matches_single_queries() -> None:
    built = build_posellm(_cfg(), SIZE)
    _perturb_trainable(built.model)
    net = base_network(built.model).eval()
    codec, tok = built.codec, built.codec.tokenizer
    img = net.image_embeddings(torch.randn(1, 3, SIZE, SIZE))
    queries = [codec.query(n) for n in ("nose", "left_wrist", "head_top")]
    length = max(map(len, queries))
    ids = torch.tensor([[tok.pad_token_id] * (length - len(q)) + q for q in queries])
    mask = (ids != tok.pad_token_id).long()
    tokens, probs = net.generate_answers(img.repeat(3, 1, 1), ids, mask, 8, tok.pad_token_id, tok.eos_token_id)
    for i, q in enumerate(queries):
        single, p = net.generate_answers(img, torch.tensor([q]), torch.ones(1, len(q), dtype=torch.long), 8,
                                         tok.pad_token_id, tok.eos_token_id)
        assert torch.equal(single[0], tokens[i, :single.shape[1]])
        assert torch.allclose(p[0], probs[i, :p.shape[1]], atol=1e-5)


def test_checkpoint_reload_answers_identically(tmp_path, synthetic_instances) -> None:
    cfg = _cfg(connector="mlp")
    built = build_posellm(cfg, SIZE, seed=3)
    _perturb_trainable(built.model, seed=1)
    save_posellm(built, cfg, SIZE, tmp_path / "ckpt")
    reloaded, cfg2, size = load_posellm(tmp_path / "ckpt")
    assert cfg2 == cfg and size == SIZE
    names = list(COCO_KEYPOINTS[:5])
    kw = {"image_size": SIZE, "mean": cfg.image_mean, "std": cfg.image_std, "max_new_tokens": 14}
    first = predict(built.model, built.codec, synthetic_instances[:2], names, **kw)
    second = predict(reloaded.model, reloaded.codec, synthetic_instances[:2], names, **kw)
    assert first.texts == second.texts
    np.testing.assert_array_equal(first.keypoints, second.keypoints)
    np.testing.assert_allclose(first.confidence, second.confidence, atol=1e-6)
    assert first.parsed.size == 10


@pytest.fixture(scope="module")
def synthetic_instances(synthetic_root):
    from posellm.data import coco_paths, load_coco_instances
    return load_coco_instances(*coco_paths(synthetic_root, "val2017"))[0]


def test_connector_learning_rate_scale(tmp_path: Path) -> None:
    built = build_posellm(_cfg(), SIZE)
    args = TrainingArguments(output_dir=str(tmp_path), learning_rate=1e-3, use_cpu=True, report_to="none")
    trainer = ConnectorLRTrainer(model=built.model, args=args, connector_lr_scale=10.0)
    optimizer = trainer.create_optimizer()
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    trainable = {n: p for n, p in built.model.named_parameters() if p.requires_grad}
    assert len(lr_of) == sum(len(g["params"]) for g in optimizer.param_groups) == len(trainable)
    for name, p in trainable.items():
        assert lr_of[id(p)] == pytest.approx(1e-2 if ".connector." in name else 1e-3), name
