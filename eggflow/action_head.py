"""GR00T N1.5 `FlowmatchingActionHead` with EggHand's 138->64 state and 126<->32 action adapters."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eggflow.config import HAND_DIM, STATE_DIM, HeadConfig
from eggflow.dit import DiT, SelfAttentionTransformer


@dataclass
class Conditioning:
    """Per-sample conditioning reused by every Euler step: state tokens (B,obs_len,D), DiT VL keys/values."""

    state_tokens: Tensor
    vl_cache: list[tuple[Tensor, Tensor] | None]
    cat_ids: Tensor


class CategorySpecificLinear(nn.Module):
    """Per-embodiment linear layer: W (num_cat, in, out) and b (num_cat, out), selected by category id.

    Init std is 1/sqrt(in) (GR00T uses 0.02, close at its 1024-1536 widths; at tiny widths 0.02 starves
    the signal). Pretrained GR00T weights replace it anyway.
    """

    def __init__(self, num_categories: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.randn(num_categories, in_dim, out_dim) / in_dim ** 0.5)
        self.b = nn.Parameter(torch.zeros(num_categories, out_dim))

    def forward(self, x: Tensor, cat_ids: Tensor) -> Tensor:
        """x (B,T,in), cat_ids (B,) -> (B,T,out); one matmul when the batch shares an embodiment."""
        if bool((cat_ids == cat_ids[0]).all()):
            return x @ self.W[cat_ids[0]] + self.b[cat_ids[0]]
        return torch.bmm(x, self.W[cat_ids]) + self.b[cat_ids][:, None]


class CategorySpecificMLP(nn.Module):
    """layer1 -> ReLU -> layer2, both category specific."""

    def __init__(self, num_categories: int, in_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.layer1 = CategorySpecificLinear(num_categories, in_dim, hidden)
        self.layer2 = CategorySpecificLinear(num_categories, hidden, out_dim)

    def forward(self, x: Tensor, cat_ids: Tensor) -> Tensor:
        """(B,T,in) -> (B,T,out)."""
        return self.layer2(F.relu(self.layer1(x, cat_ids)), cat_ids)


def tau_encoding(timesteps: Tensor, dim: int) -> Tensor:
    """GR00T SinusoidalPositionalEncoding of (B,T) bucket ids -> (B,T,dim) as [sin, cos]."""
    half = dim // 2
    freqs = torch.exp(-torch.arange(half, device=timesteps.device, dtype=torch.float32)
                      * (torch.log(torch.tensor(10000.0)) / half))
    angles = timesteps.float()[..., None] * freqs
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


class MultiEmbodimentActionEncoder(nn.Module):
    """W1(a) ++ tau-encoding -> W2 -> swish -> W3, all category specific."""

    def __init__(self, action_dim: int, dim: int, num_categories: int) -> None:
        super().__init__()
        self.dim = dim
        self.W1 = CategorySpecificLinear(num_categories, action_dim, dim)
        self.W2 = CategorySpecificLinear(num_categories, 2 * dim, dim)
        self.W3 = CategorySpecificLinear(num_categories, dim, dim)

    def forward(self, actions: Tensor, timesteps: Tensor, cat_ids: Tensor) -> Tensor:
        """actions (B,H,a), timesteps (B,) buckets -> (B,H,dim)."""
        tau = tau_encoding(timesteps[:, None].expand(-1, actions.shape[1]), self.dim)
        x = torch.cat([self.W1(actions, cat_ids), tau], dim=-1)
        return self.W3(F.silu(self.W2(x, cat_ids)), cat_ids)


class FlowmatchingActionHead(nn.Module):
    """State/action encoders, DiT over [20 state tokens, H action tokens] cross-attending to VL tokens."""

    def __init__(self, cfg: HeadConfig, horizon: int, obs_len: int) -> None:
        super().__init__()
        self.cfg, self.horizon, self.obs_len = cfg, horizon, obs_len
        heads = cfg.num_attention_heads
        n_cat = cfg.max_num_embodiments
        self.state_proj_in = nn.Linear(STATE_DIM, cfg.max_state_dim)
        self.action_proj_in = nn.Linear(HAND_DIM, cfg.max_action_dim)
        self.action_proj_out = nn.Linear(cfg.max_action_dim, HAND_DIM)
        for adapter in (self.state_proj_in, self.action_proj_in, self.action_proj_out):
            nn.init.normal_(adapter.weight, std=0.02)  # EggHand's init
            nn.init.zeros_(adapter.bias)
        self.state_encoder = CategorySpecificMLP(n_cat, cfg.max_state_dim, cfg.hidden_size,
                                                 cfg.input_embedding_dim)
        self.action_encoder = MultiEmbodimentActionEncoder(cfg.max_action_dim, cfg.input_embedding_dim, n_cat)
        self.action_decoder = CategorySpecificMLP(n_cat, cfg.hidden_size, cfg.hidden_size, cfg.max_action_dim)
        self.position_embedding = nn.Embedding(cfg.max_seq_len, cfg.input_embedding_dim)
        self.vlln = nn.LayerNorm(cfg.backbone_embedding_dim)
        self.vl_self_attention = SelfAttentionTransformer(cfg.backbone_embedding_dim, cfg.vl_heads,
                                                          cfg.vl_layers, cfg.dropout)
        self.model = DiT(heads, cfg.input_embedding_dim // heads, cfg.hidden_size, cfg.num_layers,
                         cross_dim=cfg.backbone_embedding_dim, dropout=cfg.dropout,
                         gradient_checkpointing=cfg.gradient_checkpointing)
        self.beta = torch.distributions.Beta(torch.tensor(cfg.noise_beta_alpha, device="cpu"),
                                             torch.tensor(cfg.noise_beta_beta, device="cpu"), validate_args=False)

    def encode_vl(self, vl_tokens: Tensor) -> Tensor:
        """vlln + vl_self_attention over the adapted backbone tokens (B,S,backbone_dim)."""
        return self.vl_self_attention(self.vlln(vl_tokens))

    def condition(self, state: Tensor, vl: Tensor) -> Conditioning:
        """What stays fixed over the Euler steps of a sample: state tokens and the VL keys/values per block."""
        cat_ids = torch.full((state.shape[0],), self.cfg.embodiment_id, device=state.device, dtype=torch.long)
        state_tokens = self.state_encoder(self.state_proj_in(state), cat_ids)
        if self.cfg.state_position_embedding:
            positions = torch.arange(self.horizon, self.horizon + self.obs_len, device=state.device)
            state_tokens = state_tokens + self.position_embedding(positions)
        return Conditioning(state_tokens, self.model.context_cache(vl), cat_ids)

    def velocity(self, z: Tensor, t: Tensor, cond: Conditioning) -> Tensor:
        """Velocity (B,H,32) in GR00T's 32-D action slot at latent actions z (B,H,32), time t (B,) in [0,1]."""
        buckets = (t * self.cfg.num_timestep_buckets).long().clamp(max=self.cfg.num_timestep_buckets - 1)
        action_tokens = self.action_encoder(z, buckets, cond.cat_ids)
        action_tokens = action_tokens + self.position_embedding(torch.arange(self.horizon, device=z.device))
        out = self.model(torch.cat([cond.state_tokens, action_tokens], dim=1), cond.vl_cache, buckets)
        return self.action_decoder(out, cond.cat_ids)[:, -self.horizon:]

    def sample_time(self, batch: int, device: torch.device) -> Tensor:
        """Flow time t = (s - u) / s with u ~ Beta(1.5, 1); t = 1 is data."""
        u = self.beta.sample((batch,)).to(device)
        return (self.cfg.noise_s - u) / self.cfg.noise_s

    def latent_velocity_loss(self, z: Tensor, state: Tensor, vl: Tensor) -> Tensor:
        """Flow-matching MSE to velocity = z - noise at x_t = (1 - t) noise + t z; z (B,H,32) data."""
        noise = torch.randn_like(z)
        t = self.sample_time(z.shape[0], z.device)[:, None, None]
        pred = self.velocity((1 - t) * noise + t * z, t[:, 0, 0], self.condition(state, vl))
        return ((pred - (z - noise)) ** 2).mean()

    def velocity_loss(self, actions: Tensor, state: Tensor, vl: Tensor, mask: Tensor) -> tuple[Tensor, dict]:
        """Velocity loss in the 32-D slot on z = action_proj_in(a) (detached) + masked L1 decoding of z.

        actions (B,H,126) normalised, mask (B,H,126). The decoding term trains `action_proj_out`, which
        the velocity loss alone never reaches.
        """
        z = self.action_proj_in(actions)
        flow = self.latent_velocity_loss(z.detach(), state, vl)
        recon = ((self.action_proj_out(z) - actions).abs() * mask).sum() / mask.sum().clamp(min=1)
        return flow + recon, {"loss_flow": float(flow.detach()), "loss_recon": float(recon.detach())}

    def sample_latent(self, state: Tensor, vl: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Euler integration of (B,H,32) from N(0, I) over `num_inference_timesteps` steps (t = k/N)."""
        steps = self.cfg.num_inference_timesteps
        cond = self.condition(state, vl)
        z = torch.randn(state.shape[0], self.horizon, self.cfg.max_action_dim, generator=generator,
                        device="cpu").to(state.device)
        for k in range(steps):
            t = torch.full((state.shape[0],), k / steps, device=state.device)
            z = z + self.velocity(z, t, cond) / steps
        return z

    def get_action(self, state: Tensor, vl: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Sampled (B,H,126) normalised hands: latent Euler sampler then `action_proj_out`.

        Differentiable (no no_grad), since EggHand backpropagates its loss through the sampler.
        """
        return self.action_proj_out(self.sample_latent(state, vl, generator))
