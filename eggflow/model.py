"""EggFlow model: frozen EgoVideo-style encoder + trainable adapters + GR00T flow-matching action head."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from eggflow.action_head import FlowmatchingActionHead, load_groot_action_head
from eggflow.config import HAND_DIM, NUM_JOINTS, STATE_DIM, EggFlowModelConfig
from eggflow.encoder import EgoVideoEncoder
from eggflow.losses import egghand_loss


class Backbone(nn.Module):
    """Frozen `egovideo` encoder and the trainable `vision_projection` / `text_projection` adapters."""

    def __init__(self, cfg: EggFlowModelConfig, cache_dir: Path, seed: int) -> None:
        super().__init__()
        self.egovideo = EgoVideoEncoder(cfg.encoder, cache_dir, seed)
        dim = cfg.head.backbone_embedding_dim
        self.vision_projection = nn.Linear(cfg.encoder.vision_width, dim)
        self.text_projection = nn.Linear(cfg.encoder.text_embed_dim, dim)

    def frozen_features(self, video: Tensor, texts: list[str]) -> tuple[Tensor, Tensor]:
        """Frozen encoder outputs (vision tokens, text tokens); cacheable because the encoder never trains."""
        return self.egovideo.encode_video(video), self.egovideo.encode_text(texts)

    def forward(self, vision_feats: Tensor, text_feats: Tensor) -> Tensor:
        """Adapted tokens concatenated along the sequence: (B, Nv + Nt, backbone_embedding_dim)."""
        return torch.cat([self.vision_projection(vision_feats), self.text_projection(text_feats)], dim=1)


class EggFlowModel(nn.Module):
    """Forecasts (B,H,42,3) canonical-frame hands from 20 past poses, 4 RGB frames and a task text."""

    def __init__(self, cfg: EggFlowModelConfig, obs_len: int = 20, horizon: int = 10,
                 cache_dir: Path = Path(".cache"), seed: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = Backbone(cfg, cache_dir, seed)
        self.action_head = FlowmatchingActionHead(cfg.head, horizon, obs_len)
        for name, dim in (("hand", HAND_DIM), ("state", STATE_DIM)):
            self.register_buffer(f"{name}_min", -torch.ones(dim))
            self.register_buffer(f"{name}_max", torch.ones(dim))
        if cfg.groot_checkpoint:
            load_groot_action_head(self.action_head, cfg.groot_checkpoint)

    def set_normalisation(self, hand_min: Tensor, hand_max: Tensor, state_min: Tensor, state_max: Tensor) -> None:
        """Min-max statistics (metres) that map each coordinate to [-1, 1] (EggHand's meta/stats.json)."""
        for name, value in (("hand_min", hand_min), ("hand_max", hand_max), ("state_min", state_min),
                            ("state_max", state_max)):
            getattr(self, name).copy_(value)

    def _norm(self, x: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
        return 2 * (x - lo) / (hi - lo).clamp(min=1e-6) - 1

    def normalise_hands(self, hands: Tensor) -> Tensor:
        """(B,T,42,3) metres -> (B,T,126) in [-1, 1]."""
        return self._norm(hands.flatten(2), self.hand_min, self.hand_max)

    def denormalise_hands(self, x: Tensor) -> Tensor:
        """(B,T,126) normalised -> (B,T,42,3) metres."""
        hands = (x + 1) / 2 * (self.hand_max - self.hand_min).clamp(min=1e-6) + self.hand_min
        return hands.view(*x.shape[:2], NUM_JOINTS, 3)

    def state(self, batch: dict) -> Tensor:
        """138-D normalised state per past step; invalid joints set to 0 (mid-range)."""
        past = batch["past"].flatten(2)
        raw = torch.cat([past, batch["past_extrinsics"]], dim=-1)
        state = self._norm(raw, self.state_min, self.state_max)
        mask = torch.cat([batch["past_valid"].repeat_interleave(3, dim=-1),
                          torch.ones_like(batch["past_extrinsics"], dtype=torch.bool)], dim=-1)
        return torch.where(mask, state, torch.zeros_like(state))

    def vl_tokens(self, batch: dict) -> Tensor:
        """Adapted and self-attended VL tokens, from cached frozen features or raw video + text."""
        if "vision_feats" in batch:
            vision, text = batch["vision_feats"], batch["text_feats"]
        else:
            vision, text = self.backbone.frozen_features(batch["video"], list(batch["text"]))
        return self.action_head.encode_vl(self.backbone(vision, text))

    def forward(self, batch: dict) -> tuple[Tensor, dict[str, float]]:
        """Training loss: EggHand's objective on the 4-step sampler output, or the velocity loss."""
        state, vl = self.state(batch), self.vl_tokens(batch)
        target = self.normalise_hands(batch["future"])
        valid = batch["future_valid"]
        if self.cfg.objective == "velocity":
            mask = valid.repeat_interleave(3, dim=-1).float()
            return self.action_head.velocity_loss(target, state, vl, mask)
        pred = self.action_head.get_action(state, vl)
        shape = (*pred.shape[:2], NUM_JOINTS, 3)
        return egghand_loss(pred.view(shape), target.view(shape), valid, self.cfg.loss_weights)

    @torch.no_grad()
    def forecast(self, batch: dict, generator: torch.Generator | None = None) -> Tensor:
        """(B,H,42,3) canonical-frame metres from the 4-step Euler sampler."""
        pred = self.action_head.get_action(self.state(batch), self.vl_tokens(batch), generator=generator)
        return self.denormalise_hands(pred)
