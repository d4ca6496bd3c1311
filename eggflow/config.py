"""Typed model and data configuration of eggflow (validated against configs/{model,data}/eggflow/*.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field

NUM_JOINTS = 42            # 21 right-hand joints then 21 left-hand joints (Ego-Exo4D order)
HAND_DIM = NUM_JOINTS * 3  # 126-D action vector
STATE_DIM = HAND_DIM + 12  # 126 joints + flattened 3x4 camera extrinsics = 138-D state


@dataclass
class EncoderConfig:
    """Frozen EgoVideo-style video-text encoder; `checkpoint` = local dir with real weights, else tiny init."""

    checkpoint: str | None = None      # dir with vision.pt (+ vision_config.json) and a BERT folder `text/`
    image_size: int = 224
    num_frames: int = 4
    patch_size: int = 56             # 14 in EgoVideo (1025 tokens); 56 = 4x4 grid, small enough for CPU
    vision_width: int = 64
    vision_depth: int = 2
    vision_heads: int = 4
    text_width: int = 64
    text_layers: int = 2
    text_heads: int = 4
    text_embed_dim: int = 64           # EgoVideo's text_projection output (512 in the real model)
    max_text_len: int = 12             # EggHand uses 59


@dataclass
class HeadConfig:
    """GR00T N1.5 flow-matching action head; defaults are a tiny CPU configuration (N1.5: see docs)."""

    backbone_embedding_dim: int = 64   # 2048 in GR00T N1.5 (vision/text adapters project to this)
    input_embedding_dim: int = 64      # 1536 in N1.5 (DiT inner dim = heads x head_dim)
    hidden_size: int = 64              # 1024 in N1.5 (DiT output / decoder width)
    num_layers: int = 4                # 16 in N1.5; even blocks cross-attend, odd blocks self-attend
    num_attention_heads: int = 4       # 32 in N1.5
    vl_layers: int = 1                 # 4 in N1.5 (vl_self_attention)
    vl_heads: int = 4
    dropout: float = 0.0               # 0.2 in N1.5
    max_state_dim: int = 64
    max_action_dim: int = 32
    max_num_embodiments: int = 32
    embodiment_id: int = 31            # GR00T's new_embodiment slot
    max_seq_len: int = 64              # 1024 in N1.5
    num_timestep_buckets: int = 1000
    noise_beta_alpha: float = 1.5
    noise_beta_beta: float = 1.0
    noise_s: float = 0.999
    num_inference_timesteps: int = 4
    state_position_embedding: bool = True  # deviation: GR00T had one state token; 20 need an order


@dataclass
class EggFlowModelConfig:
    """Whole model: encoder, head, objective and optional GR00T head initialisation."""

    name: str = "eggflow"
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    objective: str = "egghand"           # egghand (L1 abs/rel + pairwise on sampler output) | velocity
    target: str = "residual"   # wrist offsets + wrist-relative shape deltas from the last observed pose | absolute
    loss_weights: list[float] = field(default_factory=lambda: [0.6, 0.2, 0.2])  # abs, rel, pairwise
    groot_checkpoint: str | None = None  # .safetensors/.pt state_dict with GR00T `action_head.*` keys
    pretrain_head_steps: int = 0         # >0: pretrain the head on a disjoint synthetic motion set first

    def __post_init__(self) -> None:
        if self.objective not in ("egghand", "velocity"):
            raise ValueError(f"model.objective={self.objective!r}: choose 'egghand' or 'velocity'")
        if self.target not in ("residual", "absolute"):
            raise ValueError(f"model.target={self.target!r}: choose 'residual' or 'absolute'")
        if len(self.loss_weights) != 3:
            raise ValueError("model.loss_weights needs 3 weights (abs, rel, pairwise)")


@dataclass
class EggFlowDataConfig:
    """Data source and windowing; `source` synthetic (embedded default) or a LeRobot v2.1 root."""

    source: str = "synthetic"            # synthetic | lerobot
    root: str | None = None              # LeRobot v2.1 root written by scripts/prepare_egoexo4d.py
    train_clips: int = 1500
    eval_clips: int = 300
    seed: int = 0
    num_objects: int = 1                 # objects on the table; the first is the target
    egomotion_scale: float = 1.0
    obs_len: int = 20                    # state offsets -19..0 at 10 fps
    horizon: int = 10
    action_offset_start: int = 1         # 1: strictly future (EgoH4/issue); 0: official EggHand code
    video_offsets: list[int] = field(default_factory=lambda: [-18, -12, -6, 0])
    noisy_vision: bool = False           # ablation: Gaussian-noise frames
    dummy_language: bool = False         # ablation: random task text from the vocabulary
    egomotion_top_fraction: float | None = None  # evaluate on the top fraction by egomotion (0.1)

    def __post_init__(self) -> None:
        if self.source not in ("synthetic", "lerobot"):
            raise ValueError(f"data.source={self.source!r}: choose 'synthetic' or 'lerobot'")
