"""Qwen-VL backbone: real weights from a local path, or a tiny random-init config with a local processor."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoTokenizer,
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


def build_model_and_processor(cfg: TaihriModelConfig, device: str | torch.device = "cpu"):
    """(model, processor): local pretrained weights when `cfg.pretrained_path` is set, else tiny random init."""
    _config_cls, model_cls, processor_cls = _BACKBONES[cfg.backbone]
    dtype = torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32
    if cfg.pretrained_path:
        path = Path(cfg.pretrained_path)
        if not path.exists():
            raise FileNotFoundError(f"model.pretrained_path={path} does not exist; download the "
                                    "checkpoint there (see docs/taihri.md) or set it to null for the tiny model")
        tok = AutoTokenizer.from_pretrained(path)
        before = len(tok)
        tok.add_tokens([t for t in GRAMMAR_TOKENS if tok.convert_tokens_to_ids(t) in (None, tok.unk_token_id)])
        tok.padding_side = "left"
        model = model_cls.from_pretrained(path, dtype=dtype)
        vision = model.config.vision_config
        image_processor = build_image_processor(cfg, vision.patch_size, vision.spatial_merge_size)
        processor = processor_cls(image_processor=image_processor, tokenizer=tok,
                                  chat_template=tok.chat_template)
        if len(tok) > before:
            model.resize_token_embeddings(len(tok))
            init_grammar_embeddings(model, tok, list(range(before, len(tok))))
            log.info("added %d grammar tokens to %s", len(tok) - before, path)
        return model.to(device), processor
    torch.manual_seed(cfg.init_seed)
    tok = build_tokenizer(cfg.tiny.bpe_vocab_size)
    model = model_cls(_tiny_config(cfg, tok)).to(dtype)
    init_grammar_embeddings(model, tok, tok.convert_tokens_to_ids(list(GRAMMAR_TOKENS)))
    processor = processor_cls(image_processor=build_image_processor(cfg, 16, 2), tokenizer=tok,
                              chat_template=CHAT_TEMPLATE)
    return model.to(device), processor


def load_trained(path: str | Path, cfg: TaihriModelConfig, device: str | torch.device = "cpu"):
    """(model, processor) saved by our SFT/RFT runs (`<run_dir>/final`, LoRA already merged)."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} holds no saved model (config.json); pass the `final` folder "
                                "of an SFT/RFT run as ckpt=")
    _, model_cls, processor_cls = _BACKBONES[cfg.backbone]
    dtype = torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32
    processor = processor_cls.from_pretrained(path)
    processor.tokenizer.padding_side = "left"
    model = model_cls.from_pretrained(path, dtype=dtype)
    return model.to(device).eval(), processor
