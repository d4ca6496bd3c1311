"""Qwen-VL backbone: a downloaded or trained folder with its own processor, or a tiny random-init model."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoProcessor,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2VLImageProcessor,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLProcessor,
)
from transformers.integrations import is_deepspeed_zero3_enabled
from transformers.utils import is_flash_attn_2_available, is_torchvision_available

from taihri.config import TaihriModelConfig
from taihri.grammar import BIN_TOKENS, BODY_JOINT_NAMES, GRAMMAR_TOKENS
from taihri.prompts import COMMANDS, EVAL_TEMPLATE, PART_SETS, joint_names

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                  "<|image_pad|>", "<|video_pad|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""Minimal Qwen-style chat template used by the locally built processor."""


class Qwen3VLImageOnlyProcessor(Qwen3VLProcessor):
    """Qwen3-VL processor without a video processor (the video processor needs torchvision)."""

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)


class Qwen25VLImageOnlyProcessor(Qwen2_5_VLProcessor):
    """Qwen2.5-VL processor without a video processor (the video processor needs torchvision)."""

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)


_BACKBONES = {
    "qwen3_vl": (Qwen3VLConfig, Qwen3VLForConditionalGeneration, Qwen3VLImageOnlyProcessor),
    "qwen2_5_vl": (Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen25VLImageOnlyProcessor),
}


def _bpe_corpus() -> list[str]:
    """Text the local byte-level BPE is trained on: prompts, commands and joint names."""
    lines = [EVAL_TEMPLATE.format(names=joint_names(ids)) for ids in PART_SETS.values()]
    lines += [text for _, texts in COMMANDS.values() for text in texts]
    lines += [" ".join(BODY_JOINT_NAMES), "You are a helpful assistant.", "user assistant system",
              "Camera intrinsics: fx=1000.0, fy=1000.0, cx=512.5, cy=384.0 pixels. 0123456789"]
    return lines * 4


def build_tokenizer(vocab_size: int = 400) -> PreTrainedTokenizerFast:
    """Byte-level BPE tokenizer trained in-process, with the grammar tokens added (one token each)."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(_bpe_corpus(), trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  additional_special_tokens=SPECIAL_TOKENS[1:])
    tok.add_tokens(list(GRAMMAR_TOKENS))
    tok.chat_template = CHAT_TEMPLATE
    tok.padding_side = "left"
    return tok


def build_image_processor(cfg: TaihriModelConfig, patch_size: int, merge_size: int) -> Qwen2VLImageProcessor:
    """Image processor with the backbone's patch/merge sizes and the configured pixel budget."""
    return Qwen2VLImageProcessor(patch_size=patch_size, merge_size=merge_size, temporal_patch_size=2,
                                 size={"shortest_edge": cfg.min_pixels, "longest_edge": cfg.max_pixels})


def _tiny_config(cfg: TaihriModelConfig, tok: PreTrainedTokenizerFast):
    """Random-init config of the chosen backbone class sized by `cfg.tiny`."""
    config_cls = _BACKBONES[cfg.backbone][0]
    t = cfg.tiny
    half = t.head_dim // 2
    section = [half - 2 * (half * 3 // 8), half * 3 // 8, half * 3 // 8]
    rope = {"rope_type": "default", "rope_theta": 1e4, "mrope_section": section}
    if cfg.backbone == "qwen3_vl":
        rope["mrope_interleaved"] = True
    text = dict(vocab_size=len(tok), hidden_size=t.hidden_size, intermediate_size=2 * t.hidden_size,
                num_hidden_layers=t.num_layers, num_attention_heads=t.hidden_size // t.head_dim,
                num_key_value_heads=max(1, t.hidden_size // t.head_dim // 2), head_dim=t.head_dim,
                rope_parameters=rope, pad_token_id=tok.pad_token_id, bos_token_id=None,
                eos_token_id=tok.eos_token_id, tie_word_embeddings=True)
    vision = dict(depth=t.vision_depth, hidden_size=t.vision_hidden_size,
                  intermediate_size=2 * t.vision_hidden_size, num_heads=t.vision_heads, patch_size=16,
                  spatial_merge_size=2, temporal_patch_size=2, out_hidden_size=t.hidden_size)
    if cfg.backbone == "qwen3_vl":
        vision.update(num_position_embeddings=64, deepstack_visual_indexes=[t.vision_depth - 1])
    else:
        vision.update(fullatt_block_indexes=[t.vision_depth - 1], window_size=64)
    ids = {k: tok.convert_tokens_to_ids(v) for k, v in (("image_token_id", "<|image_pad|>"),
                                                       ("video_token_id", "<|video_pad|>"),
                                                       ("vision_start_token_id", "<|vision_start|>"),
                                                       ("vision_end_token_id", "<|vision_end|>"))}
    return config_cls(text_config=text, vision_config=vision, tie_word_embeddings=True, **ids)


@torch.no_grad()
def init_grammar_embeddings(model: PreTrainedModel, tok: PreTrainedTokenizerFast, new_ids: list[int]) -> None:
    """Initialise new token rows at the mean embedding; bins get a smooth sinusoidal code of their value."""
    emb = model.get_input_embeddings().weight
    old = [i for i in range(emb.shape[0]) if i not in set(new_ids)]
    mean, std = emb[old].mean(0), emb[old].std(0).mean()
    emb[new_ids] = mean
    bin_ids = tok.convert_tokens_to_ids(list(BIN_TOKENS))
    values = torch.arange(len(bin_ids), dtype=torch.float32) / (len(bin_ids) - 1)
    freqs = torch.arange(emb.shape[1] // 2, dtype=torch.float32)
    angles = values[:, None] * math.pi * (1.0 + freqs[None]) / 4.0
    code = torch.cat([angles.sin(), angles.cos()], -1)[:, : emb.shape[1]]
    emb[bin_ids] = mean + std * code.to(emb.dtype)


def resolve_dtype(name: str, device: str | torch.device) -> torch.dtype:
    """`model.dtype`: auto = bf16 on CUDA and fp32 on CPU; else bfloat16 / float16 / float32."""
    if name == "auto":
        return torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32
    if name not in ("bfloat16", "float16", "float32"):
        raise ValueError(f"model.dtype={name!r}: choose auto, bfloat16, float16 or float32")
    return getattr(torch, name)


def resolve_attention(name: str, device: str | torch.device) -> str:
    """`model.attn_implementation`: auto = flash_attention_2 on CUDA when installed, else sdpa."""
    if name == "auto":
        cuda = torch.device(device).type == "cuda"
        return "flash_attention_2" if cuda and is_flash_attn_2_available() else "sdpa"
    if name not in ("sdpa", "eager", "flash_attention_2"):
        raise ValueError(f"model.attn_implementation={name!r}: choose auto, sdpa, eager or flash_attention_2")
    return name


def load_processor(path: str | Path, cfg: TaihriModelConfig):
    """The checkpoint's own processor (image statistics, patch sizes, tokenizer, chat template) from `path`.

    AutoProcessor needs torchvision for Qwen's video processor; without it the image-only subclass reads the
    same files (preprocessor_config.json, tokenizer files, chat_template.json / .jinja). Only the pixel budget
    is set from the config (`model.min_pixels` / `model.max_pixels`).
    """
    if is_torchvision_available():
        processor = AutoProcessor.from_pretrained(path)
    else:
        log.info("torchvision is not installed: loading %s with the image-only %s", path,
                 _BACKBONES[cfg.backbone][2].__name__)
        processor = _BACKBONES[cfg.backbone][2].from_pretrained(path)
    if processor.chat_template is None:
        raise ValueError(f"{path} has no chat template (chat_template.json, chat_template.jinja or "
                         "tokenizer_config.json); copy it from the checkpoint's download")
    processor.image_processor.size = {"shortest_edge": cfg.min_pixels, "longest_edge": cfg.max_pixels}
    processor.tokenizer.padding_side = "left"
    return processor


def _device_map(device: str | torch.device) -> dict[str, str] | None:
    """Load straight onto `device` (no fp32 host copy); ZeRO-3 partitions the weights itself (no map)."""
    return None if is_deepspeed_zero3_enabled() else {"": str(torch.device(device))}


def load_model_folder(path: str | Path, cfg: TaihriModelConfig, device: str | torch.device = "cpu"):
    """(model, processor) of a Qwen-VL folder (a download or our `checkpoints/final`) in `model.dtype`, on `device`.

    Grammar tokens missing from the tokenizer are added and their embeddings initialised.
    """
    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} holds no model (config.json); set model.pretrained_path (or "
                                "TAIHRI_BASE_MODEL) to a downloaded Qwen-VL folder, or ckpt= to a trained "
                                "<run_dir>/checkpoints/final")
    model_cls = _BACKBONES[cfg.backbone][1]
    processor = load_processor(path, cfg)
    tok = processor.tokenizer
    before = len(tok)
    tok.add_tokens([t for t in GRAMMAR_TOKENS if tok.convert_tokens_to_ids(t) in (None, tok.unk_token_id)])
    model = model_cls.from_pretrained(path, dtype=resolve_dtype(cfg.dtype, device), device_map=_device_map(device),
                                      attn_implementation=resolve_attention(cfg.attn_implementation, device))
    if len(tok) > before:
        model.resize_token_embeddings(len(tok))
        init_grammar_embeddings(model, tok, list(range(before, len(tok))))
        log.info("added %d grammar tokens to %s", len(tok) - before, path)
    return model, processor


def build_model_and_processor(cfg: TaihriModelConfig, device: str | torch.device = "cpu"):
    """(model, processor): the folder `model.pretrained_path`, or the tiny random init when `model.random_init`."""
    if cfg.pretrained_path:
        return load_model_folder(cfg.pretrained_path, cfg, device)
    if not cfg.random_init:
        raise ValueError("model.pretrained_path is not set: export TAIHRI_BASE_MODEL=<downloaded Qwen3-VL folder> "
                         "or pass model.pretrained_path=<folder> (model.random_init=true builds the tiny CPU model)")
    torch.manual_seed(cfg.init_seed)
    tok = build_tokenizer(cfg.tiny.bpe_vocab_size)
    model = _BACKBONES[cfg.backbone][1]._from_config(
        _tiny_config(cfg, tok), dtype=resolve_dtype(cfg.dtype, device),
        attn_implementation=resolve_attention(cfg.attn_implementation, device))
    init_grammar_embeddings(model, tok, tok.convert_tokens_to_ids(list(GRAMMAR_TOKENS)))
    processor = _BACKBONES[cfg.backbone][2](image_processor=build_image_processor(cfg, 16, 2), tokenizer=tok,
                                            chat_template=CHAT_TEMPLATE)
    return model.to(device), processor
