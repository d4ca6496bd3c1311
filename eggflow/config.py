"""Typed model and data configuration of eggflow (validated against configs/{model,data}/eggflow/*.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field

from common.models.loading import PretrainedInit

NUM_JOINTS = 42            # 21 right-hand joints then 21 left-hand joints (Ego-Exo4D order)
HAND_DIM = NUM_JOINTS * 3  # 126-D action vector
STATE_DIM = HAND_DIM + 12  # 126 joints + flattened 3x4 camera extrinsics = 138-D state


@dataclass
class EncoderConfig:
    """Frozen EgoVideo encoder (eggflow/egovideo.py); defaults are tiny, EgoVideo's sizes in the comments."""

    weights: PretrainedInit = field(default_factory=PretrainedInit)  # EgoVideo checkpoint; null path = random
    tokenizer: str | None = None       # folder with bert-large-uncased vocab.txt; null = word-level vocabulary
    words: list[str] = field(default_factory=list)  # extra words of the word-level vocabulary (data task texts)
    image_size: int = 224
    num_frames: int = 4
    tubelet_size: int = 1
    patch_size: int = 56               # 14 (1025 tokens); 56 = 4x4 grid, small enough for CPU
    vision_width: int = 64             # 1408
    vision_depth: int = 2              # 40
    vision_heads: int = 4              # 16
    vision_mlp_dim: int = 256          # 6144 = 1408 * 48/11
    attn_pool_heads: int = 4           # 16
    clip_embed_dim: int = 32           # 768 (attention-pooled embedding)
    clip_teacher_embed_dim: int = 32   # 3200 (distillation decoders, in the checkpoint only)
    clip_teacher_final_dim: int = 32   # 768
    clip_return_layer: int = 1         # 6
    text_width: int = 64               # 1024 (bert-large)
    text_layers: int = 3               # 24
    text_heads: int = 4                # 16
    text_intermediate: int = 256       # 4096
    fusion_layer: int = 2              # 19: text mode runs layers 0..fusion_layer-1
    vocab_size: int = 160              # 30522
    max_position_embeddings: int = 64  # 512
    embed_dim: int = 64                # 512 (text_projection / image_projection output)
    max_text_len: int = 12             # EggHand uses 59
    pixel_mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])  # EggHand: [0, 0, 0]
    pixel_std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])   # EggHand: [1, 1, 1]

    def __post_init__(self) -> None:
        if self.fusion_layer > self.text_layers:
            raise ValueError(f"model.encoder.fusion_layer={self.fusion_layer} exceeds text_layers={self.text_layers}")
        if self.image_size % self.patch_size or self.num_frames % self.tubelet_size:
            raise ValueError("model.encoder: image_size must be a multiple of patch_size and num_frames of "
                             "tubelet_size")


@dataclass
class HeadConfig:
    """GR00T N1.5 flow-matching action head; defaults are tiny (N1.5: configs/model/eggflow/paper.yaml)."""

    backbone_embedding_dim: int = 64   # 2048 in GR00T N1.5 (vision/text adapters project to this)
    input_embedding_dim: int = 64      # 1536 in N1.5 (DiT inner dim = heads x head_dim)
    hidden_size: int = 64              # 1024 in N1.5 (DiT output / decoder width)
    num_layers: int = 4                # 16 in N1.5; even blocks cross-attend, odd blocks self-attend
    num_attention_heads: int = 4       # 32 in N1.5
    vl_layers: int = 1                 # 4 in N1.5 (vl_self_attention)
    vl_heads: int = 4                  # 32
    dropout: float = 0.0               # 0.2 in N1.5
    max_state_dim: int = 64
    max_action_dim: int = 32
    max_num_embodiments: int = 32
    embodiment_id: int = 31            # GR00T's new_embodiment slot
    max_seq_len: int = 64              # 1024 in N1.5 (the size of `position_embedding`)
    num_timestep_buckets: int = 1000
    noise_beta_alpha: float = 1.5
    noise_beta_beta: float = 1.0
    noise_s: float = 0.999
    num_inference_timesteps: int = 4
    state_position_embedding: bool = True  # deviation: GR00T had one state token; 20 need an order
    gradient_checkpointing: bool = False   # recompute DiT blocks in backward (paper size on GPU)


def default_groot_init() -> PretrainedInit:
    """GR00T N1.5 head tensors: EggHand's adapters are new, `future_tokens` is dropped (EggHand)."""
    return PretrainedInit(prefix="action_head.",
                          allow_missing=["state_proj_in.*", "action_proj_in.*", "action_proj_out.*"],
                          allow_unexpected=["future_tokens.weight"])


@dataclass
class EggFlowModelConfig:
    """Whole model: encoder, head, objective and optional GR00T head initialisation."""

    name: str = "eggflow"
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    objective: str = "egghand"           # egghand (L1 abs/rel + pairwise on sampler output) | velocity
    target: str = "residual"   # wrist offsets + wrist-relative shape deltas from the last observed pose | absolute
    loss_weights: list[float] = field(default_factory=lambda: [0.6, 0.2, 0.2])  # abs, rel, pairwise
    groot: PretrainedInit = field(default_factory=default_groot_init)  # GR00T N1.5 checkpoint (path null = random)
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
    noisy_vision: bool = False           # ablation: Gaussian-noise frames replace the real ones
    dummy_language: bool = False         # ablation: a random task text of the vocabulary replaces the real one
    egomotion_top_fraction: float | None = None  # evaluate on the top fraction by egomotion (0.1)
    allow_placeholder_frames: bool = False  # lerobot without videos: feed mid-grey frames (vision ablated)
    text: str = "instruction"            # instruction (fine-grained, when present) | task (scenario name)
    cache_features: bool = False         # lerobot: frozen-encoder features cached per episode in bf16 (cache_dir)
    eval_split: str = "val"              # LeRobot split evaluated
    test_corruptions: bool = True        # also report test-time noisy vision / dummy language (Table 3 protocol)

    def __post_init__(self) -> None:
        if self.source not in ("synthetic", "lerobot"):
            raise ValueError(f"data.source={self.source!r}: choose 'synthetic' or 'lerobot'")
        if self.text not in ("instruction", "task"):
            raise ValueError(f"data.text={self.text!r}: choose 'instruction' or 'task'")


SCHEMAS = {"model": EggFlowModelConfig, "data": EggFlowDataConfig}
METRICS = ("ade", "fde", "mpjpe", "mpjpe_f", "abs_mpjpe", "abs_mpjpe_f", "wrist_h*", "*/*")
