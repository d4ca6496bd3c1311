"""GR00T N1.5 DiT building blocks with diffusers-compatible parameter names (cross_attention_dit.py layout)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


def sinusoidal_timestep_features(timesteps: Tensor, channels: int = 256) -> Tensor:
    """diffusers `Timesteps(channels, flip_sin_to_cos=True, downscale_freq_shift=1)` of (B,) bucket ids."""
    half = channels // 2
    exponent = -math.log(10000.0) * torch.arange(half, device=timesteps.device, dtype=torch.float32)
    freqs = torch.exp(exponent / (half - 1))
    angles = timesteps.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class TimestepEmbedding(nn.Module):
    """diffusers TimestepEmbedding: linear_1 -> SiLU -> linear_2."""

    def __init__(self, in_channels: int, dim: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(in_channels, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in) -> (B, dim)."""
        return self.linear_2(F.silu(self.linear_1(x)))


class TimestepEncoder(nn.Module):
    """Flow-time bucket (B,) -> (B, dim) conditioning vector."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.timestep_embedder = TimestepEmbedding(256, dim)

    def forward(self, timesteps: Tensor) -> Tensor:
        """Integer buckets in [0, num_timestep_buckets) -> embedding."""
        return self.timestep_embedder(sinusoidal_timestep_features(timesteps))


class AdaLayerNorm(nn.Module):
    """Non-affine LayerNorm modulated by (scale, shift) = linear(SiLU(temb)); no gate, as in GR00T."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, 2 * dim)
        self.norm = nn.LayerNorm(dim, eps, elementwise_affine=False)

    def forward(self, x: Tensor, temb: Tensor) -> Tensor:
        """x (B,T,D), temb (B,D)."""
        scale, shift = self.linear(F.silu(temb)).chunk(2, dim=1)
        return self.norm(x) * (1 + scale[:, None]) + shift[:, None]


class Attention(nn.Module):
    """diffusers Attention subset: to_q/to_k/to_v/to_out.0; keys/values from `cross_dim` when given."""

    def __init__(self, dim: int, heads: int, head_dim: int, cross_dim: int | None = None,
                 bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        inner = heads * head_dim
        self.heads = heads
        self.to_q = nn.Linear(dim, inner, bias=bias)
        self.to_k = nn.Linear(cross_dim or dim, inner, bias=bias)
        self.to_v = nn.Linear(cross_dim or dim, inner, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(inner, dim), nn.Dropout(dropout)])

    def _heads(self, t: Tensor) -> Tensor:
        return t.view(t.shape[0], t.shape[1], self.heads, -1).transpose(1, 2)

    def context_kv(self, context: Tensor) -> tuple[Tensor, Tensor]:
        """Keys and values (B,heads,S,head_dim) of a fixed context, reusable across calls (Euler steps)."""
        return self._heads(self.to_k(context)), self._heads(self.to_v(context))

    def forward(self, x: Tensor, context: Tensor | None = None,
                kv: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """Unmasked attention of x (B,T,D) over precomputed `kv`, over context (B,S,C), or over itself."""
        k, v = kv if kv is not None else self.context_kv(x if context is None else context)
        out = F.scaled_dot_product_attention(self._heads(self.to_q(x)), k, v)
        out = out.transpose(1, 2).reshape(x.shape[0], x.shape[1], -1)
        return self.to_out[1](self.to_out[0](out))


class GELUProj(nn.Module):
    """diffusers GELU(approximate='tanh') with its `proj` linear."""

    def __init__(self, dim: int, inner: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, inner)

    def forward(self, x: Tensor) -> Tensor:
        """Linear then tanh-GELU."""
        return F.gelu(self.proj(x), approximate="tanh")


class FeedForward(nn.Module):
    """diffusers FeedForward('gelu-approximate'): net = [GELU.proj, Dropout, Linear, Dropout]."""

    def __init__(self, dim: int, dropout: float = 0.0, mult: int = 4) -> None:
        super().__init__()
        self.net = nn.ModuleList([GELUProj(dim, mult * dim), nn.Dropout(dropout),
                                  nn.Linear(mult * dim, dim), nn.Dropout(dropout)])

    def forward(self, x: Tensor) -> Tensor:
        """Position-wise MLP."""
        for layer in self.net:
            x = layer(x)
        return x


class BasicTransformerBlock(nn.Module):
    """Pre-norm attention + feed-forward block; `ada_norm` for the DiT, affine LayerNorm for VL attention."""

    def __init__(self, dim: int, heads: int, head_dim: int, cross_dim: int | None = None,
                 ada_norm: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.ada_norm = ada_norm
        self.norm1 = AdaLayerNorm(dim) if ada_norm else nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads, head_dim, cross_dim=cross_dim, dropout=dropout)
        self.norm3 = nn.LayerNorm(dim, elementwise_affine=not ada_norm)
        self.ff = FeedForward(dim, dropout)
        self.final_dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, context: Tensor | None = None, temb: Tensor | None = None,
                kv: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """Residual attention (over precomputed `kv` or `context` when given) then residual feed-forward."""
        h = self.norm1(x, temb) if self.ada_norm else self.norm1(x)
        x = x + self.final_dropout(self.attn1(h, context, kv))
        return x + self.ff(self.norm3(x))


class DiT(nn.Module):
    """GR00T DiT: even blocks cross-attend to VL tokens, odd blocks self-attend; AdaLN time conditioning."""

    def __init__(self, heads: int, head_dim: int, output_dim: int, num_layers: int, cross_dim: int,
                 dropout: float = 0.0, gradient_checkpointing: bool = False) -> None:
        super().__init__()
        inner = heads * head_dim
        self.gradient_checkpointing = gradient_checkpointing
        self.timestep_encoder = TimestepEncoder(inner)
        self.transformer_blocks = nn.ModuleList([
            BasicTransformerBlock(inner, heads, head_dim, cross_dim=cross_dim if i % 2 == 0 else None,
                                  dropout=dropout)
            for i in range(num_layers)])
        self.norm_out = nn.LayerNorm(inner, elementwise_affine=False, eps=1e-6)
        self.proj_out_1 = nn.Linear(inner, 2 * inner)
        self.proj_out_2 = nn.Linear(inner, output_dim)

    def context_cache(self, vl_tokens: Tensor) -> list[tuple[Tensor, Tensor] | None]:
        """Cross-attention keys/values of the VL tokens for every cross-attending block (None for the others)."""
        return [block.attn1.context_kv(vl_tokens) if i % 2 == 0 else None
                for i, block in enumerate(self.transformer_blocks)]

    def forward(self, tokens: Tensor, cache: list[tuple[Tensor, Tensor] | None], timestep: Tensor) -> Tensor:
        """tokens (B,T,inner), `context_cache(vl_tokens)`, timestep (B,) buckets -> (B,T,output_dim)."""
        temb = self.timestep_encoder(timestep)
        for block, kv in zip(self.transformer_blocks, cache):
            if self.gradient_checkpointing and self.training:
                tokens = checkpoint(block, tokens, None, temb, kv, use_reentrant=False)
            else:
                tokens = block(tokens, None, temb, kv)
        shift, scale = self.proj_out_1(F.silu(temb)).chunk(2, dim=1)
        return self.proj_out_2(self.norm_out(tokens) * (1 + scale[:, None]) + shift[:, None])


class SelfAttentionTransformer(nn.Module):
    """GR00T `vl_self_attention`: plain-LayerNorm self-attention blocks over the VL tokens."""

    def __init__(self, dim: int, heads: int, num_layers: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.transformer_blocks = nn.ModuleList([
            BasicTransformerBlock(dim, heads, dim // heads, ada_norm=False, dropout=dropout)
            for _ in range(num_layers)])

    def forward(self, x: Tensor) -> Tensor:
        """(B,S,D) -> (B,S,D)."""
        for block in self.transformer_blocks:
            x = block(x)
        return x
