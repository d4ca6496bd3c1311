"""PoseLLM model folders: a standard PEFT adapter + connector over base towers named as the user gave them.

Layout written by `save_posellm` (format "posellm/2"):
    config.json                      model config (vision_path / llm_path exactly as given) + crop size
    adapter_config.json              PEFT LoRA config (both towers' q/v; connector as modules_to_save)
    adapter_model.safetensors        PEFT adapter weights (LoRA + connector)
    connector.safetensors            the connector alone (+ connector_config.json: kind and widths)
    base_model.safetensors           only when a tower is random-init or trained in full (tiny models)
    tokenizer files, README.md
`export_merged` writes a folder without PEFT: LoRA merged into `vision/` (Dinov2Model) and `llm/`
(LlamaForCausalLM + tokenizer), plus the connector and a config.json pointing at those subfolders.
`load_posellm(folder)` reads either, and the older "posellm.yaml" folders (format 1).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from peft import get_peft_model_state_dict, set_peft_model_state_dict
from safetensors.torch import load_file, save_file

from posellm.config import PoseLLMModelConfig
from posellm.model import Built, build_posellm

log = logging.getLogger(__name__)
FORMAT = "posellm/2"
CONFIG, ADAPTER, CONNECTOR, BASE = "config.json", "adapter_model.safetensors", "connector.safetensors", \
    "base_model.safetensors"
LEGACY_CONFIG = "posellm.yaml"
MODEL_CLASS = "posellm.model.PoseLLM"
"""Names the paper of a folder for `scripts/evaluate.py ckpt=<folder>` without `experiment=`."""


def _adapter_key(key: str) -> bool:
    return "lora_" in key or "modules_to_save" in key


def _needs_base(cfg: PoseLLMModelConfig) -> bool:
    """True when the base towers are not reproducible from their paths (random-init or trained in full)."""
    return cfg.vision_path is None or cfg.llm_path is None or not cfg.freeze_base


def _connector_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The trained connector's tensors (PEFT modules_to_save copy) under plain nn.Module names."""
    marker = "connector.modules_to_save.default."
    return {k.split(marker, 1)[1]: v for k, v in state.items() if marker in k}


def save_posellm(built: Built, cfg: PoseLLMModelConfig, image_size: int, folder: str | Path,
                 state: dict[str, torch.Tensor] | None = None, card: str = "") -> Path:
    """Write the folder (call on the main process; `state` = a gathered full state dict under ZeRO-3)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in (state or built.model.state_dict()).items()}
    (folder / CONFIG).write_text(json.dumps({"format": FORMAT, "model_class": MODEL_CLASS, "model": asdict(cfg),
                                             "image_size": image_size}, indent=2))
    peft_cfg = built.model.peft_config["default"]
    peft_cfg.base_model_name_or_path = cfg.llm_path
    peft_cfg.save_pretrained(str(folder))
    adapter = get_peft_model_state_dict(built.model, state_dict=state)
    save_file({k: v.contiguous() for k, v in adapter.items()}, str(folder / ADAPTER))
    connector = _connector_state(state)
    save_file(connector, str(folder / CONNECTOR))
    net = built.model.get_base_model()
    (folder / "connector_config.json").write_text(json.dumps(
        {"kind": cfg.connector, "vision_dim": net.vision.config.hidden_size, "llm_dim": net.llm.config.hidden_size}))
    if _needs_base(cfg):
        save_file({k: v for k, v in state.items() if not _adapter_key(k)}, str(folder / BASE))
    built.codec.tokenizer.save_pretrained(str(folder))
    (folder / "README.md").write_text(card or _card(cfg, image_size))
    return folder


def _card(cfg: PoseLLMModelConfig, image_size: int) -> str:
    vision = cfg.vision_path or "tiny random-init Dinov2 (weights in base_model.safetensors)"
    llm = cfg.llm_path or "tiny random-init Llama (weights in base_model.safetensors)"
    return (f"# PoseLLM ({cfg.connector} connector)\n\nPaper: PoseLLM (DINOv2 + MLP connector + LoRA LLM; "
            f"linear connector = LocLLM).\n\n- vision tower: `{vision}`\n- LLM: `{llm}`\n- crop: {image_size} px\n"
            f"- LoRA: r {cfg.lora.r}, alpha {cfg.lora.alpha} on {cfg.lora.target_modules}\n\n"
            "Load with `posellm.folder.load_posellm(folder)`; the adapter is a standard PEFT folder over the "
            "PoseLLM module (base towers named in config.json).\n")


def _resolve(path: str | None, folder: Path) -> str | None:
    """A tower path from config.json: relative to the folder when it exists there, else as given."""
    if path is None:
        return None
    inside = folder / path
    return str(inside) if not Path(path).is_absolute() and inside.exists() else path


def _legacy_config(folder: Path) -> tuple[dict[str, Any], int]:
    """Format 1 (`posellm.yaml`): flat lora_r / lora_alpha / lora_dropout become the `lora` block."""
    saved = OmegaConf.to_container(OmegaConf.load(folder / LEGACY_CONFIG))
    model = dict(saved["model"])
    lora = {k: model.pop(f"lora_{k}") for k in ("r", "alpha", "dropout") if f"lora_{k}" in model}
    model["lora"] = {**asdict(PoseLLMModelConfig().lora), **lora}
    return model, int(saved["image_size"])


def load_posellm(folder: str | Path, vision_path: str | None = None, llm_path: str | None = None
                 ) -> tuple[Built, PoseLLMModelConfig, int]:
    """(built in eval mode, model config, crop px) from a saved folder; towers relocatable by argument."""
    folder = Path(folder)
    if (folder / CONFIG).is_file():
        saved = json.loads((folder / CONFIG).read_text())
        if saved.get("format") != FORMAT:
            raise ValueError(f"{folder / CONFIG}: format {saved.get('format')!r}, expected {FORMAT!r}")
        model, image_size = saved["model"], int(saved["image_size"])
    elif (folder / LEGACY_CONFIG).is_file():
        model, image_size = _legacy_config(folder)
    else:
        raise FileNotFoundError(f"{folder} is not a PoseLLM folder: no {CONFIG} (or legacy {LEGACY_CONFIG})")
    merged = OmegaConf.merge(OmegaConf.structured(PoseLLMModelConfig), model)
    cfg: PoseLLMModelConfig = OmegaConf.to_object(merged)
    cfg.vision_path = vision_path or _resolve(cfg.vision_path, folder)
    cfg.llm_path = llm_path or _resolve(cfg.llm_path, folder)
    built = build_posellm(cfg, image_size, tokenizer_path=str(folder))
    if (folder / LEGACY_CONFIG).is_file():
        _load_legacy_weights(built, folder)
    else:
        _load_weights(built, folder)
    built.model.eval()
    return built, cfg, image_size


def _load_weights(built: Built, folder: Path) -> None:
    """Base tensors (when saved), then the PEFT adapter, else the connector alone; every tensor accounted for."""
    if (folder / BASE).is_file():
        result = built.model.load_state_dict(load_file(str(folder / BASE)), strict=False)
        missing = [k for k in result.missing_keys if not _adapter_key(k)]
        if missing or result.unexpected_keys:
            raise KeyError(f"{folder / BASE}: missing {missing[:5]}, unexpected {result.unexpected_keys[:5]}")
    if (folder / ADAPTER).is_file():
        result = set_peft_model_state_dict(built.model, load_file(str(folder / ADAPTER)))
        missing = [k for k in result.missing_keys if _adapter_key(k)]
        if missing or result.unexpected_keys:
            raise KeyError(f"{folder / ADAPTER}: missing {missing[:5]}, unexpected {result.unexpected_keys[:5]}")
        return
    connector = built.model.get_base_model().connector.modules_to_save["default"]
    connector.load_state_dict(load_file(str(folder / CONNECTOR)), strict=True)


def _load_legacy_weights(built: Built, folder: Path) -> None:
    """Format 1: model.safetensors (full state) or adapter.safetensors (trainable tensors)."""
    full, adapter = folder / "model.safetensors", folder / "adapter.safetensors"
    if full.is_file():
        built.model.load_state_dict(load_file(str(full)), strict=True)
        return
    result = built.model.load_state_dict(load_file(str(adapter)), strict=False)
    if result.unexpected_keys:
        raise KeyError(f"unexpected keys in {adapter}: {result.unexpected_keys[:5]}")


def export_merged(folder: str | Path, out: str | Path) -> Path:
    """A PEFT-free copy: LoRA merged into `out/vision` and `out/llm` (HF folders), connector and config."""
    built, cfg, image_size = load_posellm(folder)
    net = built.model.merge_and_unload()
    out = Path(out)
    net.vision.save_pretrained(str(out / "vision"))
    net.llm.save_pretrained(str(out / "llm"))
    built.codec.tokenizer.save_pretrained(str(out / "llm"))
    merged_cfg = PoseLLMModelConfig(**{**cfg.__dict__, "vision_path": "vision", "llm_path": "llm",
                                       "freeze_base": True, "train_token_embeddings": False})
    (out / CONFIG).write_text(json.dumps({"format": FORMAT, "model_class": MODEL_CLASS, "model": asdict(merged_cfg),
                                          "image_size": image_size}, indent=2))
    save_file({k: v.contiguous() for k, v in net.connector.state_dict().items()}, str(out / CONNECTOR))
    built.codec.tokenizer.save_pretrained(str(out))
    (out / "README.md").write_text(_card(merged_cfg, image_size) + "\nLoRA merged into the towers (no PEFT).\n")
    return out
