"""EgoVideo checkpoint layout: a tiny `EgoVideoModel.state_dict()` written from the official naming rules loads
strictly; the encoder stays frozen; the text tower runs only the layers below the fusion layer."""

import dataclasses

import pytest
import torch

from common.models import PretrainedInit, WeightLoadError
from eggflow.config import EncoderConfig
from eggflow.encoder import EgoVideoEncoder, build_tokenizer, vocabulary_words

TINY = EncoderConfig(patch_size=112, vision_width=16, vision_depth=2, vision_heads=2, vision_mlp_dim=24,
                     attn_pool_heads=2, clip_embed_dim=12, clip_teacher_embed_dim=20, clip_teacher_final_dim=10,
                     clip_return_layer=2, text_width=16, text_layers=3, text_heads=2, text_intermediate=32,
                     fusion_layer=2, vocab_size=64, max_position_embeddings=16, embed_dim=8, max_text_len=6)


def egovideo_state_dict(c: EncoderConfig) -> dict[str, torch.Tensor]:
    """A tiny checkpoint in EgoVideo's layout (random values, integer position_ids buffer)."""
    g = torch.Generator().manual_seed(0)
    state = {k: 0.1 * torch.randn(*s, generator=g) for k, s in egovideo_shapes(c).items()}
    state["textual.embeddings.position_ids"] = torch.arange(c.max_position_embeddings)[None]
    return state


def egovideo_shapes(c: EncoderConfig) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of OpenGVLab/EgoVideo `EgoVideoModel` (vision_encoder.py, xbert, setup_model.py)."""
    d, t = c.vision_width, c.text_width
    tokens = 1 + (c.num_frames // c.tubelet_size) * (c.image_size // c.patch_size) ** 2
    shapes = {"visual.cls_token": (1, 1, d), "visual.pos_embed": (1, tokens, d),
              "visual.clip_pos_embed": (1, tokens, d),
              "visual.patch_embed.proj.weight": (d, 3, c.tubelet_size, c.patch_size, c.patch_size),
              "visual.patch_embed.proj.bias": (d,)}
    for i in range(c.vision_depth):
        p = f"visual.blocks.{i}."
        shapes.update({p + "norm1.weight": (d,), p + "attn.qkv.weight": (3 * d, d),       # no qkv bias
                       p + "attn.q_norm.weight": (d,), p + "attn.k_norm.weight": (d,),      # RMSNorm, full width
                       p + "attn.proj.weight": (d, d), p + "attn.proj.bias": (d,), p + "ls1.gamma": (d,),
                       p + "norm2.weight": (d,), p + "mlp.fc1.weight": (c.vision_mlp_dim, d),
                       p + "mlp.fc1.bias": (c.vision_mlp_dim,), p + "mlp.fc2.weight": (d, c.vision_mlp_dim),
                       p + "mlp.fc2.bias": (d,), p + "ls2.gamma": (d,)})
    p = "visual.clip_projector."
    for n in ("norm1_q", "norm1_k", "norm1_v"):
        shapes.update({p + n + ".weight": (d,), p + n + ".bias": (d,)})
    for n in ("q", "k", "v"):
        shapes.update({p + f"cross_attn.{n}.weight": (d, d), p + f"cross_attn.{n}_bias": (d,)})
    shapes.update({p + "cross_attn.proj.weight": (c.clip_embed_dim, d),
                   p + "cross_attn.proj.bias": (c.clip_embed_dim,)})
    decoders = [(f"visual.clip_decoder.{j}.", d, c.clip_teacher_embed_dim) for j in range(c.clip_return_layer)]
    decoders.append(("visual.final_clip_decoder.", c.clip_embed_dim, c.clip_teacher_final_dim))
    for p, fan_in, out in decoders:
        shapes.update({p + "head.weight": (out, fan_in), p + "head.bias": (out,), p + "norm.weight": (out,),
                       p + "norm.bias": (out,)})
    p = "textual.embeddings."
    shapes.update({p + "word_embeddings.weight": (c.vocab_size, t),
                   p + "position_embeddings.weight": (c.max_position_embeddings, t),
                   p + "token_type_embeddings.weight": (2, t), p + "LayerNorm.weight": (t,),
                   p + "LayerNorm.bias": (t,)})
    for i in range(c.text_layers):
        p = f"textual.encoder.layer.{i}."
        blocks = [("attention.", t)] + ([("crossattention.", d)] if i >= c.fusion_layer else [])
        for block, kv in blocks:
            shapes.update({p + block + "self.query.weight": (t, t), p + block + "self.query.bias": (t,),
                           p + block + "self.key.weight": (t, kv), p + block + "self.key.bias": (t,),
                           p + block + "self.value.weight": (t, kv), p + block + "self.value.bias": (t,),
                           p + block + "output.dense.weight": (t, t), p + block + "output.dense.bias": (t,),
                           p + block + "output.LayerNorm.weight": (t,), p + block + "output.LayerNorm.bias": (t,)})
        shapes.update({p + "intermediate.dense.weight": (c.text_intermediate, t),
                       p + "intermediate.dense.bias": (c.text_intermediate,),
                       p + "output.dense.weight": (t, c.text_intermediate), p + "output.dense.bias": (t,),
                       p + "output.LayerNorm.weight": (t,), p + "output.LayerNorm.bias": (t,)})
    shapes.update({"textual.pooler.dense.weight": (t, t), "textual.pooler.dense.bias": (t,),
                   "image_projection": (c.clip_embed_dim, c.embed_dim), "text_projection": (t, c.embed_dim)})
    return shapes


@pytest.mark.parametrize("prefix", ["", "module."])
def test_tiny_egovideo_checkpoint_loads_strictly(tmp_path, prefix):
    official = egovideo_state_dict(TINY)
    path = tmp_path / "EgoVideo_model.pth"
    torch.save({prefix + k: v for k, v in official.items()}, path)
    cfg = dataclasses.replace(TINY, weights=PretrainedInit(path=str(path), prefix=prefix))
    encoder = EgoVideoEncoder(cfg)
    report = encoder.load_pretrained()
    assert report.complete and not report.missing and not report.unexpected
    assert set(report.loaded) == set(official)
    for name, value in encoder.model.state_dict().items():
        torch.testing.assert_close(value, official[name])
    video = torch.rand(2, 3, 4, 224, 224)
    assert encoder.encode_video(video).shape == (2, 1 + 4 * 2 * 2, 16)
    assert encoder.encode_text(["pick up the cup", "push"]).shape == (2, 6, 8)
    assert not any(p.requires_grad for p in encoder.parameters())             # frozen
    encoder.train()
    assert not encoder.training


def test_wrong_layout_fails_by_name(tmp_path):
    official = egovideo_state_dict(TINY)
    official["visual.blocks.0.attn.qkv.bias"] = torch.zeros(48)                # a ViT with qkv bias
    path = tmp_path / "vit.pth"
    torch.save(official, path)
    cfg = dataclasses.replace(TINY, weights=PretrainedInit(path=str(path)))
    with pytest.raises(WeightLoadError, match=r"visual\.blocks\.0\.attn\.qkv\.bias"):
        EgoVideoEncoder(cfg).load_pretrained()


def test_text_mode_ignores_fusion_layers_and_padding():
    encoder = EgoVideoEncoder(TINY)
    before = encoder.encode_text(["pick up the cup"])
    with torch.no_grad():
        for p in encoder.model.textual.encoder.layer[TINY.fusion_layer].parameters():
            p.add_(1.0)                                                        # fusion layer: not run for text
    torch.testing.assert_close(encoder.encode_text(["pick up the cup"]), before)
    short = dataclasses.replace(TINY, max_text_len=8)
    enc8 = EgoVideoEncoder(short)
    enc8.load_state_dict(encoder.state_dict())
    torch.testing.assert_close(enc8.encode_text(["pick up the cup"])[:, :6], before, atol=1e-5, rtol=0)


def test_vocabulary_from_real_task_texts_has_no_unknown_words():
    texts = ["Covid-19 Rapid Antigen Test", "Cooking Tomato & Eggs", "Tighten the bolt on the bike axle firmly."]
    cfg = dataclasses.replace(TINY, vocab_size=160, words=vocabulary_words(texts))
    tokenizer = build_tokenizer(cfg)
    for row in tokenizer(texts)["input_ids"]:
        assert tokenizer.unk_token_id not in row
    synthetic_only = build_tokenizer(dataclasses.replace(TINY, vocab_size=160))
    assert synthetic_only.unk_token_id in synthetic_only(texts[:1])["input_ids"][0]
    with pytest.raises(ValueError, match="vocab_size"):
        build_tokenizer(dataclasses.replace(cfg, vocab_size=20))
