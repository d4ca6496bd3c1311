"""The paper configs (`posellm/coco`, `posellm/coco_locllm`) as they are, on Vicuna/DINOv2-layout tiny towers and
COCO / Human-Art / MPII fixtures in the official layouts: train, model folder, zero-shot evaluation, exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoTokenizer, Dinov2Model, LlamaForCausalLM

from posellm.config import PoseLLMModelConfig
from posellm.folder import export_merged, load_posellm
from posellm.model import build_base, build_posellm
from tests.posellm.fixtures import write_coco, write_humanart, write_mpii
from tests.posellm.paper_run import paper_overrides, run
from tests.posellm.real_layout import write_dinov2, write_vicuna


@pytest.fixture(scope="module")
def paper_world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("posellm_paper")
    write_coco(root / "coco")
    write_humanart(root)
    write_mpii(root / "mpii")
    return {"root": root, "vicuna": write_vicuna(root / "vicuna-7b-v1.5"),
            "vicuna_sharded": write_vicuna(root / "vicuna-sharded", sharded=True),
            "dinov2": write_dinov2(root / "dinov2-large")}


def test_real_layout_towers_load_in_the_training_dtype(paper_world: dict[str, Path]) -> None:
    vicuna, sharded = paper_world["vicuna"], paper_world["vicuna_sharded"]
    assert sorted(p.name for p in vicuna.iterdir() if p.name.startswith("tokenizer")) == [
        "tokenizer.model", "tokenizer_config.json"]                             # no tokenizer.json
    assert load_file(str(vicuna / "model.safetensors"))["lm_head.weight"].dtype == torch.float16
    assert (sharded / "model.safetensors.index.json").is_file() and len(list(sharded.glob("model-0*"))) > 1
    assert AutoTokenizer.from_pretrained(str(vicuna)).convert_tokens_to_ids("<s>") == 1   # SentencePiece only
    cfg = PoseLLMModelConfig(llm_path=str(sharded), vision_path=str(paper_world["dinov2"]), freeze_base=True,
                             train_token_embeddings=False, vision_drop_path_rate=0.4, attn_implementation="eager")
    built = build_posellm(cfg, 56)
    net = built.model.get_base_model()
    assert net.llm.dtype == torch.float32 and net.vision.dtype == torch.float32   # model.dtype=auto on CPU
    assert net.vision.config.drop_path_rate == 0.4 and net.vision.config.image_size == 518
    assert net.llm.config._attn_implementation == "eager"
    reference = LlamaForCausalLM.from_pretrained(str(vicuna), dtype=torch.float32)
    assert torch.equal(net.llm.model.layers[0].mlp.up_proj.weight, reference.model.layers[0].mlp.up_proj.weight)
    out = net(pixel_values=torch.zeros(1, 3, 56, 56), input_ids=torch.tensor([built.codec.query("nose")]),
              attention_mask=torch.ones(1, len(built.codec.query("nose")), dtype=torch.long))
    assert out["logits"].shape[1] == len(built.codec.query("nose")) - 1 + 16         # 4x4 patches of 14 px


@pytest.mark.parametrize("experiment", ["posellm/coco", "posellm/coco_locllm"])
def test_paper_config_trains_saves_and_evaluates_zero_shot(paper_world: dict[str, Path], tmp_path: Path,
                                                           experiment: str) -> None:
    w = paper_world
    overrides = paper_overrides(w["root"], w["vicuna"], w["dinov2"])
    metrics = run("train", experiment, overrides, tmp_path / "run")
    assert metrics["train_steps"] == 3 and np.isfinite(metrics["train_loss"])
    for key in ("AP", "humanart_AP", "mpii_PCKh@0.5", "mean_pose/AP"):
        assert 0.0 <= metrics[key] <= 100.0, key
    folder = tmp_path / "run" / "checkpoints" / "final"
    adapter_cfg = json.loads((folder / "adapter_config.json").read_text())
    assert adapter_cfg["base_model_name_or_path"] == str(w["vicuna"])        # the path as the user gave it
    saved = json.loads((folder / "config.json").read_text())["model"]
    assert (saved["llm_path"], saved["vision_path"]) == (str(w["vicuna"]), str(w["dinov2"]))
    assert not (folder / "base_model.safetensors").exists()                  # frozen towers: named, not copied
    assert saved["connector"] == ("linear" if experiment.endswith("locllm") else "mlp")
    # Zero-shot evaluation from the trained folder alone (docs/posellm.md): MPII and Human-Art.
    zero_shot = run("evaluate", experiment, [*overrides, f"ckpt={folder}"], tmp_path / "eval")
    assert zero_shot["AP"] == pytest.approx(metrics["AP"])
    assert zero_shot["mpii_PCKh@0.5"] == pytest.approx(metrics["mpii_PCKh@0.5"])
    assert zero_shot["humanart_AP"] == pytest.approx(metrics["humanart_AP"])


def test_folder_is_a_standard_peft_adapter_and_exports_merged(paper_world: dict[str, Path], tmp_path: Path) -> None:
    w = paper_world
    cfg = PoseLLMModelConfig(llm_path=str(w["vicuna"]), vision_path=str(w["dinov2"]), freeze_base=True,
                             train_token_embeddings=False)
    built = build_posellm(cfg, 56, seed=1)
    with torch.no_grad():
        for p in built.model.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    from posellm.folder import save_posellm
    folder = save_posellm(built, cfg, 56, tmp_path / "model")
    pixels = torch.randn(2, 3, 56, 56)
    q = built.codec.query("left_wrist")
    batch = {"pixel_values": pixels, "input_ids": torch.tensor([q, q]), "attention_mask": torch.ones(2, len(q),
                                                                                                   dtype=torch.long)}
    built.model.eval()
    expected = built.model(**batch)["logits"]
    reloaded, cfg2, size = load_posellm(folder)
    assert cfg2 == cfg and size == 56
    assert torch.equal(reloaded.model(**batch)["logits"], expected)
    # The adapter folder is PEFT's own: PeftModel.from_pretrained over a freshly built base loads it.
    fresh, _ = build_base(cfg, 56, seed=7)
    fresh = PeftModel.from_pretrained(fresh.eval(), str(folder))
    assert torch.equal(fresh(**batch)["logits"], expected)
    merged = export_merged(folder, tmp_path / "merged")
    assert Dinov2Model.from_pretrained(str(merged / "vision")) is not None
    assert not (merged / "adapter_model.safetensors").exists()
    merged_built, _, _ = load_posellm(merged)
    torch.testing.assert_close(merged_built.model(**batch)["logits"], expected, atol=1e-4, rtol=1e-4)


def test_legacy_format_folder_still_loads() -> None:
    """A tiny checkpoint written by the previous format (posellm.yaml + model.safetensors), committed."""
    data = Path(__file__).parent / "data"
    built, cfg, size = load_posellm(data / "legacy_v1_tiny")
    assert (cfg.lora.r, cfg.lora.alpha, size) == (2, 4, 16)
    ids = torch.tensor([built.codec.query("nose")])
    x = torch.linspace(-1, 1, 3 * 16 * 16).view(1, 3, 16, 16)
    logits = built.model(pixel_values=x, input_ids=ids, attention_mask=torch.ones_like(ids))["logits"][:, -4:]
    torch.testing.assert_close(logits, load_file(str(data / "legacy_v1_tiny_logits.safetensors"))["logits"])

