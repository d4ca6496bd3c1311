"""EggFlow model: frozen EgoVideo-style encoder + trainable adapters + GR00T flow-matching action head."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from common.models.hub import ModelFolderMixin
from common.models.loading import LoadReport
from eggflow.action_head import FlowmatchingActionHead
from eggflow.canonical import from_wrist_relative, to_wrist_relative
from eggflow.config import HAND_DIM, NUM_JOINTS, STATE_DIM, EggFlowModelConfig
from eggflow.encoder import EgoVideoEncoder
from eggflow.losses import egghand_loss


class Backbone(nn.Module):
    """Frozen `egovideo` encoder and the trainable `vision_projection` / `text_projection` adapters."""

    def __init__(self, cfg: EggFlowModelConfig, seed: int) -> None:
        super().__init__()
        self.egovideo = EgoVideoEncoder(cfg.encoder, seed)
        dim = cfg.head.backbone_embedding_dim
        self.vision_projection = nn.Linear(cfg.encoder.vision_width, dim)
        self.text_projection = nn.Linear(cfg.encoder.embed_dim, dim)

    def frozen_features(self, video: Tensor, texts: list[str]) -> tuple[Tensor, Tensor]:
        """Frozen encoder outputs (vision tokens, text tokens); cacheable because the encoder never trains."""
        return self.egovideo.encode_video(video), self.egovideo.encode_text(texts)

    def forward(self, vision_feats: Tensor, text_feats: Tensor) -> Tensor:
        """Adapted tokens concatenated along the sequence: (B, Nv + Nt, backbone_embedding_dim)."""
        return torch.cat([self.vision_projection(vision_feats), self.text_projection(text_feats)], dim=1)


class EggFlowModel(nn.Module, ModelFolderMixin):
    """Forecasts (B,H,42,3) canonical-frame hands from 20 past poses, 4 RGB frames and a task text."""

    def __init__(self, cfg: EggFlowModelConfig, obs_len: int = 20, horizon: int = 10, seed: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = Backbone(cfg, seed)
        self.action_head = FlowmatchingActionHead(cfg.head, horizon, obs_len)
        for name, dim in (("hand", HAND_DIM), ("residual", HAND_DIM), ("state", STATE_DIM)):
            self.register_buffer(f"{name}_min", -torch.ones(dim))
            self.register_buffer(f"{name}_max", torch.ones(dim))

    def load_pretrained_parts(self) -> dict[str, LoadReport | None]:
        """Initialise the frozen EgoVideo encoder and the GR00T action head from `cfg` (strict, reported)."""
        return {"egovideo": self.backbone.egovideo.load_pretrained(),
                "groot_action_head": self.cfg.groot.load_into(self.action_head)}

    def set_normalisation(self, **stats: Tensor) -> None:
        """Min-max statistics (metres) mapping each coordinate to [-1, 1] (EggHand's meta/stats.json)."""
        for name, value in stats.items():
            getattr(self, name).copy_(value)

    @staticmethod
    def _norm(x: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
        return 2 * (x - lo) / (hi - lo).clamp(min=1e-6) - 1

    @staticmethod
    def _denorm(x: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
        return (x + 1) / 2 * (hi - lo).clamp(min=1e-6) + lo

    def anchor(self, batch: dict) -> Tensor:
        """Last valid observed position of every joint (B,42,3) metres; zeros for never-observed joints."""
        valid = batch["past_valid"]
        steps = torch.arange(valid.shape[1], device=valid.device)[None, :, None]
        latest = torch.where(valid, steps, -1).amax(1)
        picked = batch["past"].gather(1, latest.clamp(min=0)[:, None, :, None].expand(-1, 1, -1, 3))[:, 0]
        return torch.where((latest >= 0)[..., None], picked, torch.zeros_like(picked))

    def head_target(self, batch: dict) -> Tensor:
        """What the flow head generates: (B,H,126) normalised absolute joints, or the residual: wrist offsets
        from the last observed wrists and wrist-relative finger offsets from the last observed hand shape."""
        future = batch["future"]
        if self.cfg.target == "absolute":
            return self._norm(future.flatten(2), self.hand_min, self.hand_max)
        residual = to_wrist_relative(future) - to_wrist_relative(self.anchor(batch))[:, None]
        return self._norm(residual.flatten(2), self.residual_min, self.residual_max)

    def to_metres(self, x: Tensor, batch: dict) -> Tensor:
        """Head output (B,H,126) -> (B,H,42,3) canonical-frame metres."""
        if self.cfg.target == "absolute":
            return self._denorm(x, self.hand_min, self.hand_max).view(*x.shape[:2], NUM_JOINTS, 3)
        residual = self._denorm(x, self.residual_min, self.residual_max).view(*x.shape[:2], NUM_JOINTS, 3)
        return from_wrist_relative(residual + to_wrist_relative(self.anchor(batch))[:, None])

    def normalise_hands(self, hands: Tensor) -> Tensor:
        """(B,T,42,3) metres -> EggHand's normalised absolute space (per-coordinate min-max to [-1, 1])."""
        return self._norm(hands, self.hand_min.view(NUM_JOINTS, 3), self.hand_max.view(NUM_JOINTS, 3))

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
        """Training loss: EggHand's objective on the 4-step sampler output, or the velocity loss.

        EggHand's terms are computed in its normalised absolute space whatever the head's target.
        """
        state, vl = self.state(batch), self.vl_tokens(batch)
        valid = batch["future_valid"]
        if self.cfg.objective == "velocity":
            mask = valid.repeat_interleave(3, dim=-1).float()
            return self.action_head.velocity_loss(self.head_target(batch), state, vl, mask)
        pred = self.to_metres(self.action_head.get_action(state, vl), batch)
        return egghand_loss(self.normalise_hands(pred), self.normalise_hands(batch["future"]), valid,
                            self.cfg.loss_weights)

    @torch.no_grad()
    def forecast(self, batch: dict, generator: torch.Generator | None = None) -> Tensor:
        """(B,H,42,3) canonical-frame metres from the 4-step Euler sampler."""
        pred = self.action_head.get_action(self.state(batch), self.vl_tokens(batch), generator=generator)
        return self.to_metres(pred, batch)
