"""EgoVideo (OpenGVLab/EgoVideo `backbone/`) in its checkpoint layout: InternVideo2-style video ViT + xbert text.

Parameter names and shapes follow `EgoVideoModel.state_dict()` of the official code, so a released checkpoint
(`ckpt_4frames.pth`) loads strictly: `visual.*` (Conv3d tubelet patch embedding, learnable `pos_embed` /
`clip_pos_embed` initialised to 3-D sin-cos, RMSNorm blocks without qkv bias, q/k RMSNorm over the full width,
LayerScale, attention-pooling `clip_projector`, distillation `clip_decoder` / `final_clip_decoder`),
`textual.*` (BERT with fusion layers whose cross-attention keys/values read `encoder_width` features, and a
pooler), `image_projection` (clip_embed_dim x embed_dim) and `text_projection` (text_width x embed_dim).
Written by hand because neither timm nor transformers has this layout (transformers' BertModel has no
fusion-layer cross-attention from a different width and keeps `position_ids` out of the state dict).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eggflow.config import EncoderConfig


def sincos_3d_position_embedding(dim: int, frames: int, grid: int) -> Tensor:
    """Fixed 3-D sin-cos embedding (1 + frames*grid*grid, dim): CLS row zero, then t-major patches."""
    def one_axis(d: int, positions: np.ndarray) -> np.ndarray:
        omega = 1.0 / 10000 ** (np.arange(d // 2) / (d / 2))
        angles = positions[:, None] * omega[None]
        return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)

    d_t = dim // 4 if dim // 4 % 2 == 0 else dim // 4 + 1
    d_s = (dim - d_t) // 2
    d_t = dim - 2 * d_s
    t, y, x = np.meshgrid(np.arange(frames), np.arange(grid), np.arange(grid), indexing="ij")
    emb = np.concatenate([one_axis(d_t, t.ravel().astype(float)), one_axis(d_s, y.ravel().astype(float)),
                          one_axis(d_s, x.ravel().astype(float))], axis=1)
    return torch.from_numpy(np.concatenate([np.zeros((1, dim)), emb])).float()


class RMSNorm(nn.Module):
    """RMS normalisation with a learned scale `weight` (eps 1e-6), computed in float32."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        """(..., dim) -> (..., dim)."""
        xf = x.float()
        return self.weight * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


class LayerScale(nn.Module):
    """Per-channel residual scale `gamma` (init 1e-5)."""

    def __init__(self, dim: int, init: float = 1e-5) -> None:
        super().__init__()
        self.gamma = nn.Parameter(init * torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        """x * gamma."""
        return x * self.gamma


class VisionAttention(nn.Module):
    """Self-attention with a bias-free fused `qkv` and q/k RMSNorm over the full width (before the head split)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_norm = RMSNorm(dim)
        self.k_norm = RMSNorm(dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        """(B,N,D) -> (B,N,D)."""
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, d).unbind(2)
        q, k = self.q_norm(q), self.k_norm(k)

        def heads(t: Tensor) -> Tensor:
            return t.view(b, n, self.heads, -1).transpose(1, 2)

        out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v))
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    """fc1 -> GELU -> fc2."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        """(..., dim) -> (..., dim)."""
        return self.fc2(F.gelu(self.fc1(x)))


class VisionBlock(nn.Module):
    """Pre-norm (RMSNorm) block: x + ls1(attn(norm1 x)), then x + ls2(mlp(norm2 x))."""

    def __init__(self, dim: int, heads: int, mlp_dim: int) -> None:
        super().__init__()
        self.norm1 = RMSNorm(dim)
        self.attn = VisionAttention(dim, heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = RMSNorm(dim)
        self.mlp = Mlp(dim, mlp_dim)
        self.ls2 = LayerScale(dim)

    def forward(self, x: Tensor) -> Tensor:
        """(B,N,D) -> (B,N,D)."""
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    """Conv3d tubelet embedding: (B,3,T,H,W) -> (B, T/tubelet * (H/p)^2, D), t-major."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        kernel = (cfg.tubelet_size, cfg.patch_size, cfg.patch_size)
        self.proj = nn.Conv3d(3, cfg.vision_width, kernel, stride=kernel)

    def forward(self, video: Tensor) -> Tensor:
        """Patch tokens in (t, y, x) order."""
        return self.proj(video).flatten(2).transpose(1, 2)


class CrossAttentionPool(nn.Module):
    """EgoVideo `CrossAttention` of the pooling block: bias-free q/k/v plus separate q/k/v biases."""

    def __init__(self, dim: int, heads: int, out_dim: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.k_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, out_dim)

    def forward(self, query: Tensor, key: Tensor, value: Tensor) -> Tensor:
        """query (B,1,D), key/value (B,N,D) -> (B,1,out_dim)."""
        def heads(t: Tensor) -> Tensor:
            return t.view(t.shape[0], t.shape[1], self.heads, -1).transpose(1, 2)

        q = F.linear(query, self.q.weight, self.q_bias)
        k = F.linear(key, self.k.weight, self.k_bias)
        v = F.linear(value, self.v.weight, self.v_bias)
        out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v))
        return self.proj(out.transpose(1, 2).reshape(query.shape[0], 1, -1))


class AttentionPoolingBlock(nn.Module):
    """`clip_projector`: the token mean cross-attends to all tokens (LayerNorm'd q/k/v) -> (B, clip_embed_dim)."""

    def __init__(self, dim: int, heads: int, out_dim: int) -> None:
        super().__init__()
        self.norm1_q = nn.LayerNorm(dim, eps=1e-5)
        self.norm1_k = nn.LayerNorm(dim, eps=1e-5)
        self.norm1_v = nn.LayerNorm(dim, eps=1e-5)
        self.cross_attn = CrossAttentionPool(dim, heads, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        """(B,N,D) -> (B,out_dim)."""
        query = self.norm1_q(x.mean(1, keepdim=True))
        return self.cross_attn(query, self.norm1_k(x), self.norm1_v(x))[:, 0]


class DistillationDecoder(nn.Module):
    """`Linear_Decoder` of the InternVideo2 teacher distillation: head + LayerNorm (in the checkpoint, not run)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.head = nn.Linear(in_dim, out_dim)
        self.norm = nn.LayerNorm(out_dim, eps=1e-5)


class VideoTransformer(nn.Module):
    """EgoVideo vision tower (`visual.*`): (B,3,T,H,W) -> all tokens x_vis (B, 1+T*P, D) and pooled (B, clip_dim)."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        grid = cfg.image_size // cfg.patch_size
        frames = cfg.num_frames // cfg.tubelet_size
        width = cfg.vision_width
        self.patch_embed = PatchEmbed(cfg)
        self.cls_token = nn.Parameter(0.02 * torch.randn(1, 1, width))
        pos = sincos_3d_position_embedding(width, frames, grid)[None]
        self.pos_embed = nn.Parameter(pos.clone())
        self.clip_pos_embed = nn.Parameter(pos.clone())   # distillation decoder's position embedding
        self.blocks = nn.ModuleList([VisionBlock(width, cfg.vision_heads, cfg.vision_mlp_dim)
                                     for _ in range(cfg.vision_depth)])
        self.clip_projector = AttentionPoolingBlock(width, cfg.attn_pool_heads, cfg.clip_embed_dim)
        self.clip_decoder = nn.ModuleList([DistillationDecoder(width, cfg.clip_teacher_embed_dim)
                                           for _ in range(cfg.clip_return_layer)])
        if cfg.clip_teacher_final_dim > 0:
            self.final_clip_decoder = DistillationDecoder(cfg.clip_embed_dim, cfg.clip_teacher_final_dim)
        for i, block in enumerate(self.blocks):                # EgoVideo's depth-scaled init
            for linear in (block.attn.proj, block.mlp.fc2):
                linear.weight.data.div_((2.0 * (i + 1)) ** 0.5)

    def forward(self, video: Tensor) -> tuple[Tensor, Tensor]:
        """Video (B,3,T,H,W), already normalised -> (x_vis (B,1+N,D) after the last block, pooled (B,clip_dim))."""
        tokens = self.patch_embed(video)
        x = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return x, self.clip_projector(x)


class BertEmbeddings(nn.Module):
    """Word + absolute position + token-type embeddings, LayerNorm; `position_ids` is a persistent buffer."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.text_width, padding_idx=0)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.text_width)
        self.token_type_embeddings = nn.Embedding(2, cfg.text_width)
        self.LayerNorm = nn.LayerNorm(cfg.text_width, eps=1e-12)
        self.register_buffer("position_ids", torch.arange(cfg.max_position_embeddings)[None])

    def forward(self, input_ids: Tensor) -> Tensor:
        """(B,L) ids -> (B,L,width)."""
        positions = self.position_ids[:, : input_ids.shape[1]]
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(torch.zeros_like(input_ids))
        return self.LayerNorm(x + self.position_embeddings(positions))


class BertSelfAttention(nn.Module):
    """query/key/value; keys and values read `kv_width` features (text width, or encoder_width when fusing)."""

    def __init__(self, width: int, heads: int, kv_width: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(kv_width, width)
        self.value = nn.Linear(kv_width, width)

    def forward(self, x: Tensor, context: Tensor, mask: Tensor | None) -> Tensor:
        """x (B,L,W) attends to context (B,S,kv_width); mask (B,1,1,S) additive."""
        def heads(t: Tensor) -> Tensor:
            return t.view(t.shape[0], t.shape[1], self.heads, -1).transpose(1, 2)

        out = F.scaled_dot_product_attention(heads(self.query(x)), heads(self.key(context)),
                                             heads(self.value(context)), attn_mask=mask)
        return out.transpose(1, 2).reshape(x.shape)


class BertOutput(nn.Module):
    """dense -> residual -> LayerNorm (BertSelfOutput / BertOutput)."""

    def __init__(self, in_dim: int, width: int) -> None:
        super().__init__()
        self.dense = nn.Linear(in_dim, width)
        self.LayerNorm = nn.LayerNorm(width, eps=1e-12)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        """LayerNorm(dense(x) + residual)."""
        return self.LayerNorm(self.dense(x) + residual)


class BertAttention(nn.Module):
    """`self` attention + `output` projection."""

    def __init__(self, width: int, heads: int, kv_width: int) -> None:
        super().__init__()
        self.self = BertSelfAttention(width, heads, kv_width)
        self.output = BertOutput(width, width)

    def forward(self, x: Tensor, context: Tensor, mask: Tensor | None) -> Tensor:
        """Residual attention block."""
        return self.output(self.self(x, context, mask), x)


class BertIntermediate(nn.Module):
    """dense -> GELU."""

    def __init__(self, width: int, inner: int) -> None:
        super().__init__()
        self.dense = nn.Linear(width, inner)

    def forward(self, x: Tensor) -> Tensor:
        """(..., width) -> (..., inner)."""
        return F.gelu(self.dense(x))


class BertLayer(nn.Module):
    """Self-attention, cross-attention to video tokens from `fusion_layer` on, feed-forward."""

    def __init__(self, cfg: EncoderConfig, index: int) -> None:
        super().__init__()
        width, heads = cfg.text_width, cfg.text_heads
        self.attention = BertAttention(width, heads, width)
        if index >= cfg.fusion_layer:
            self.crossattention = BertAttention(width, heads, cfg.vision_width)
        self.intermediate = BertIntermediate(width, cfg.text_intermediate)
        self.output = BertOutput(cfg.text_intermediate, width)

    def forward(self, x: Tensor, mask: Tensor | None, video: Tensor | None = None) -> Tensor:
        """(B,L,W) -> (B,L,W); `video` (B,N,vision_width) only in fusion layers."""
        x = self.attention(x, x, mask)
        if video is not None:
            x = self.crossattention(x, video, None)
        return self.output(self.intermediate(x), x)


class BertEncoder(nn.Module):
    """`encoder.layer.{i}`."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(cfg, i) for i in range(cfg.text_layers)])


class BertPooler(nn.Module):
    """`pooler.dense` (tanh of the CLS token) of the checkpoint."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.dense = nn.Linear(width, width)


class TextTransformer(nn.Module):
    """EgoVideo text tower (`textual.*`, bert-large with fusion layers); text mode runs layers < fusion_layer."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.fusion_layer = cfg.fusion_layer
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = BertEncoder(cfg)
        self.pooler = BertPooler(cfg.text_width)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Text mode: (B,L) ids and 0/1 mask -> last hidden state (B,L,text_width) of layer fusion_layer - 1."""
        x = self.embeddings(input_ids)
        mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.encoder.layer[: self.fusion_layer]:
            x = layer(x, mask)
        return x


class EgoVideoModel(nn.Module):
    """`EgoVideoModel`: `visual`, `textual`, `image_projection` (clip_dim x embed) and `text_projection`."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.visual = VideoTransformer(cfg)
        self.textual = TextTransformer(cfg)
        self.image_projection = nn.Parameter(torch.randn(cfg.clip_embed_dim, cfg.embed_dim)
                                             * cfg.clip_embed_dim ** -0.5)
        self.text_projection = nn.Parameter(torch.randn(cfg.text_width, cfg.embed_dim) * cfg.text_width ** -0.5)

    def encode_video_tokens(self, video: Tensor) -> Tensor:
        """All ViT tokens x_vis (B, 1+T*P, vision_width): EggHand's patched `encode_image`."""
        return self.visual(video)[0]

    def encode_video_pooled(self, video: Tensor) -> Tensor:
        """EgoVideo's retrieval embedding: attention-pooled tokens @ image_projection (B, embed_dim)."""
        return self.visual(video)[1] @ self.image_projection

    def encode_text_tokens(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """All token features @ text_projection (B, L, embed_dim), not normalised (EggHand's `encode_text`)."""
        return self.textual(input_ids, attention_mask) @ self.text_projection
