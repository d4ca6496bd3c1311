"""Typed model/data configs of TAIHRI (validated against cfg.model / cfg.data at start-up)."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import DictConfig, OmegaConf

from common.models.lora import LoraSettings


@dataclass
class TinyBackboneConfig:
    """Sizes of the random-init backbone used when no pretrained path is given."""

    hidden_size: int = 128
    num_layers: int = 2
    head_dim: int = 32
    vision_depth: int = 2
    vision_hidden_size: int = 64
    vision_heads: int = 2
    bpe_vocab_size: int = 400


@dataclass
class SFTSettings:
    """TRL SFTConfig settings that are not shared trainer keys; bin_label_sigma > 0 = ordinal bin targets (bins)."""

    completion_only_loss: bool = True
    max_length: int | None = None
    bin_label_sigma: float = 0.0


@dataclass
class GRPOSettings:
    """TRL GRPOConfig settings (the learning rate is trainer.lr); use_vllm = TRL's vLLM rollouts (vllm installed).

    bootstrap_sft_steps > 0: an RFT run without ckpt first runs that many SFT steps, with the `trainer` keys
    in bootstrap_trainer replacing the run's (the SFT recipe), and reports that SFT model under `sft/`.
    """

    num_generations: int = 8
    beta: float = 0.01
    loss_type: str = "grpo"
    scale_rewards: str = "group"
    epsilon: float = 0.2
    temperature: float = 1.0
    top_p: float = 1.0
    max_completion_length: int = 256
    bootstrap_sft_steps: int = 0
    bootstrap_trainer: dict = field(default_factory=dict)
    constrained_generation: bool = True
    use_vllm: bool = False
    vllm_mode: str = "colocate"


@dataclass
class RewardConfig:
    """Reward weights and sigmas: format, 2D (model-input px), 3D (m), 2D-3D consistency (px)."""

    w_format: float = 1.0
    w_2d: float = 1.0
    w_3d: float = 1.0
    w_consistency: float = 0.5
    sigma_2d_px: float = 20.0
    sigma_3d_m: float = 0.1
    sigma_consistency_px: float = 20.0


@dataclass
class RegressionConfig:
    """Direct-regression baseline: the VLM's vision encoder + an MLP head to camera-frame joints."""

    head_hidden: int = 256
    init_vlm_vision: bool = False
    max_steps: int = 300
    lr: float = 1e-3
    batch_size: int = 16


@dataclass
class TaihriModelConfig:
    """Backbone, training stage and GRPO/reward settings.

    pretrained_path: a downloaded Qwen-VL folder (required unless random_init, the tiny CPU model);
    dtype: auto = bf16 on CUDA, fp32 on CPU, or bfloat16 / float16 / float32;
    attn_implementation: sdpa | eager | flash_attention_2 | auto (flash_attention_2 on CUDA when installed);
    answer_format: compact (`<|j|><u><v>`) or official (the released `<|j|> <u>, <v>`);
    system_prompt / repetition_penalty: the chat system message and the greedy decoding penalty.
    """

    name: str = "taihri_vlm"
    stage: str = "sft"
    backbone: str = "qwen3_vl"
    pretrained_path: str | None = None
    random_init: bool = False
    init_seed: int = 0
    dtype: str = "auto"
    attn_implementation: str = "sdpa"
    min_pixels: int = 32 * 32
    max_pixels: int = 2560 * 32 * 32
    gradient_checkpointing: bool = False
    freeze_vision: bool = False
    max_new_tokens: int = 256
    constrained_decoding: bool = True
    answer_format: str = "compact"
    system_prompt: str | None = None
    repetition_penalty: float = 1.0
    eval_batch_size: int = 16
    tiny: TinyBackboneConfig = field(default_factory=TinyBackboneConfig)
    lora: LoraSettings = field(default_factory=lambda: LoraSettings(enabled=False))
    sft: SFTSettings = field(default_factory=SFTSettings)
    grpo: GRPOSettings = field(default_factory=GRPOSettings)
    rewards: RewardConfig = field(default_factory=RewardConfig)
    regression: RegressionConfig = field(default_factory=RegressionConfig)


@dataclass
class TaihriDataConfig:
    """Dataset choice (`source`: synthetic | egobody | harmony4d) and the model-input preprocessing."""

    source: str = "synthetic"
    root: str | None = None
    train_split: str = "train"
    eval_split: str = "val"
    num_train: int = 512
    num_eval: int = 64
    canonical_focal: float = 1000.0
    crop_size: int | None = None
    intrinsics_in_prompt: bool = False
    bin_stride: int = 1
    command_prob: float = 0.3
    prompts_per_sample: int = 1
    eval_parts: list[str] = field(default_factory=lambda: ["left_arm", "right_arm", "upper_body",
                                                           "lower_body"])
    render_size: int = 96
    focal_range: list[float] = field(default_factory=lambda: [60.0, 110.0])
    distance_range: list[float] = field(default_factory=lambda: [0.5, 2.5])
    yaw_range_deg: float = 45.0
    pose_spread: float = 0.45
    shape_std: float = 0.8
    seed: int = 0


def _resolved(cfg: DictConfig | dict) -> dict:
    """Plain dict with interpolations resolved against the node's root config."""
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


def model_config(cfg: DictConfig | dict) -> TaihriModelConfig:
    """Validate cfg.model against `TaihriModelConfig` (wrong key/type fails here)."""
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(TaihriModelConfig), _resolved(cfg)))


def data_config(cfg: DictConfig | dict) -> TaihriDataConfig:
    """Validate cfg.data against `TaihriDataConfig` (wrong key/type fails here)."""
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(TaihriDataConfig), _resolved(cfg)))


SCHEMAS = {"model": TaihriModelConfig, "data": TaihriDataConfig}
"""Registered schemas the runtime validates cfg.model / cfg.data against at start-up."""
METRICS = ("g_mpjpe_*", "parse_failure_rate", "mean_reward", "sft_loss_*", "grpo_reward_*", "train_step_s")
"""Names of the metrics api.train / api.evaluate return (fnmatch patterns)."""
