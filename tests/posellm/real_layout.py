"""Tiny random-weight folders in the exact layout of PoseLLM's downloads (Vicuna-7B v1.5, DINOv2-large).

- Vicuna-style: `LlamaForCausalLM` weights in fp16 (`torch_dtype: float16` in config.json), a SentencePiece
  `tokenizer.model` as the only tokenizer file (+ tokenizer_config.json naming LlamaTokenizer), a
  generation_config.json; `sharded=True` writes several safetensors shards with `model.safetensors.index.json`.
- DINOv2-style: `Dinov2Model` with patch 14 and the 518-px position grid (37 x 37 + CLS), fp32 safetensors in
  the checkpoint's key layout, and the BitImageProcessor `preprocessor_config.json`.
The tokenizer is trained offline with the `sentencepiece` trainer (BPE, split digits, byte fallback, as Llama's).
"""

from __future__ import annotations

import json
from pathlib import Path

import sentencepiece as spm
import torch
from transformers import BitImageProcessor, Dinov2Config, Dinov2Model, GenerationConfig, LlamaConfig, LlamaForCausalLM

from posellm.keypoints import DESCRIPTIONS, display_name
from posellm.text import QUESTION, turn_prompt

VOCAB = 320


def _sentencepiece_corpus(path: Path) -> None:
    lines = ["Image:", "A chat between a curious user and an artificial intelligence assistant."]
    for name in DESCRIPTIONS:
        lines += [turn_prompt(name, True), QUESTION.format(name=display_name(name))]
    lines += [f"[0.{i:03d},0.{(7 * i) % 1000:03d}]" for i in range(0, 1000, 7)]
    path.write_text("\n".join(lines * 3))


def write_sentencepiece(folder: Path) -> Path:
    """`folder/tokenizer.model`: a Llama-like SentencePiece BPE model (unk 0, bos 1, eos 2, no pad)."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder.parent / f".{folder.name}_corpus.txt"
    _sentencepiece_corpus(corpus)
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(folder / "tokenizer"), vocab_size=VOCAB,
                                   model_type="bpe", split_digits=True, byte_fallback=True, character_coverage=1.0,
                                   unk_id=0, bos_id=1, eos_id=2, pad_id=-1, add_dummy_prefix=True,
                                   minloglevel=2, num_threads=1)
    corpus.unlink()
    (folder / "tokenizer.vocab").unlink()
    return folder / "tokenizer.model"


def write_vicuna(folder: Path, sharded: bool = False, seed: int = 0) -> Path:
    """A Vicuna-7B-v1.5-layout folder at tiny size (fp16 weights, tokenizer.model only)."""
    write_sentencepiece(folder)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=4096,
                         rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                         tie_word_embeddings=False, torch_dtype="float16")
    model = LlamaForCausalLM(config).half()
    model.save_pretrained(str(folder), max_shard_size="100KB" if sharded else "10GB")
    GenerationConfig(bos_token_id=1, eos_token_id=2, pad_token_id=0, temperature=0.9, top_p=0.6,
                     do_sample=True, max_length=4096).save_pretrained(str(folder))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False, "legacy": False,
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
        "clean_up_tokenization_spaces": False, "model_max_length": 4096, "padding_side": "right"}))
    (folder / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}))
    return folder


def write_dinov2(folder: Path, seed: int = 0) -> Path:
    """A facebook/dinov2-large-layout folder at tiny size (patch 14, 518-px position grid)."""
    torch.manual_seed(seed)
    config = Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                          patch_size=14, image_size=518, layerscale_value=1.0, drop_path_rate=0.0)
    Dinov2Model(config).save_pretrained(str(folder))
    BitImageProcessor(do_resize=True, size={"shortest_edge": 256}, do_center_crop=True,
                      crop_size={"height": 224, "width": 224}, image_mean=[0.485, 0.456, 0.406],
                      image_std=[0.229, 0.224, 0.225], do_convert_rgb=True).save_pretrained(str(folder))
    return folder
