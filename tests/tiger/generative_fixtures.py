"""Tiny random-weight InstructBLIP and FLUX folders built with the real classes and saved in their
released layouts (save_pretrained), so the loaders that read real weights are the code under test."""

from __future__ import annotations

import json
from pathlib import Path

WORDS = ["in", "this", "image", ",", "the", "hand", "is", "holding", "a", "mug", "box", ".", "what", "being",
         "held", "by", "?", "clean", "surface"]


def write_tiny_instructblip(folder: Path) -> Path:
    """InstructBlipForConditionalGeneration (flan-T5 text model) + InstructBlipProcessor, 32 px images."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        BlipImageProcessor,
        InstructBlipConfig,
        InstructBlipForConditionalGeneration,
        InstructBlipProcessor,
        PreTrainedTokenizerFast,
    )

    vocab = {w: i for i, w in enumerate(["<pad>", "</s>", "<unk>", "[CLS]", "[SEP]", "[PAD]", "<image>", *WORDS])}

    def tokenizer(**special: str) -> PreTrainedTokenizerFast:
        tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
        tk.pre_tokenizer = pre_tokenizers.Whitespace()
        return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", **special)

    cfg = InstructBlipConfig(
        vision_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8},
        qformer_config={"vocab_size": len(vocab), "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                        "intermediate_size": 32, "encoder_hidden_size": 16, "pad_token_id": 5},
        text_config={"model_type": "t5", "vocab_size": len(vocab), "d_model": 16, "d_kv": 8, "d_ff": 32,
                     "num_layers": 1, "num_decoder_layers": 1, "num_heads": 2, "pad_token_id": 0, "eos_token_id": 1,
                     "decoder_start_token_id": 0},
        num_query_tokens=4, image_token_index=vocab["<image>"])
    torch.manual_seed(0)                                   # random weights, but the same ones every run
    InstructBlipForConditionalGeneration(cfg).save_pretrained(folder)
    InstructBlipProcessor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}),
                          tokenizer=tokenizer(pad_token="<pad>", eos_token="</s>"),
                          qformer_tokenizer=tokenizer(pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]"),
                          num_query_tokens=4).save_pretrained(folder)
    return folder


def write_tiny_flux(folder: Path) -> Path:
    """FluxPipeline (FluxTransformer2DModel, AutoencoderKL, CLIP + T5 encoders and tokenizers, flow-match Euler)."""
    import diffusers
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer, T5Config, T5EncoderModel, T5TokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    clip_vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for token in [*(w + "</w>" for w in WORDS), *"abcdefghijklmnopqrstuvwxyz",
                  *(c + "</w>" for c in "abcdefghijklmnopqrstuvwxyz")]:
        clip_vocab.setdefault(token, len(clip_vocab))
    (folder / "clip_vocab.json").write_text(json.dumps(clip_vocab))
    (folder / "clip_merges.txt").write_text("#version: 0.2\n")
    clip_tok = CLIPTokenizer(str(folder / "clip_vocab.json"), str(folder / "clip_merges.txt"), model_max_length=77)
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), *(("\u2581" + w, -1.0) for w in WORDS)]
    t5_model = Tokenizer(models.Unigram(pieces, unk_id=2))
    t5_model.pre_tokenizer = pre_tokenizers.Metaspace()
    t5_tok = T5TokenizerFast(tokenizer_object=t5_model, eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
                             extra_ids=0, model_max_length=64)
    torch.manual_seed(0)
    clip = CLIPTextModel(CLIPTextConfig(vocab_size=len(clip_vocab), hidden_size=32, intermediate_size=37,
                                        num_hidden_layers=1, num_attention_heads=4, projection_dim=32,
                                        max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1))
    t5 = T5EncoderModel(T5Config(vocab_size=len(pieces), d_model=32, d_kv=8, d_ff=37, num_layers=1, num_heads=4))
    transformer = diffusers.FluxTransformer2DModel(
        patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=[4, 4, 8])
    vae = diffusers.AutoencoderKL(sample_size=32, in_channels=3, out_channels=3, block_out_channels=(4,),
                                  layers_per_block=1, latent_channels=1, norm_num_groups=1, use_quant_conv=False,
                                  use_post_quant_conv=False, shift_factor=0.0609, scaling_factor=1.5035)
    pipe = diffusers.FluxPipeline(scheduler=diffusers.FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=clip,
                                  tokenizer=clip_tok, text_encoder_2=t5, tokenizer_2=t5_tok, transformer=transformer)
    pipe.save_pretrained(folder / "pipeline")
    return folder / "pipeline"
