"""Typed model and data configuration of PoseLLM (validated against `cfg.model` / `cfg.data`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import DictConfig, OmegaConf

from common.models.lora import LoraSettings

DTYPES = ("auto", "bf16", "fp16", "fp32")
ATTENTION = ("sdpa", "eager", "flash_attention_2")


def _posellm_lora() -> LoraSettings:
    """LocLLM/PoseLLM LoRA: r 8, alpha 16 on the q and v projections of both towers (Dinov2 query/value)."""
    return LoraSettings(r=8, alpha=16, dropout=0.05, target_modules=["query", "value", "q_proj", "v_proj"])


@dataclass
class TinyVisionConfig:
    """Random-init Dinov2 used when `vision_path` is null (sizes in channels/tokens)."""

    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    intermediate_size: int = 128
    patch_size: int = 14


@dataclass
class TinyLLMConfig:
    """Random-init Llama used when `llm_path` is null."""

    hidden_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    intermediate_size: int = 256
    vocab_size: int = 512                      # BPE vocabulary trained locally (special tokens included)


@dataclass
class PoseLLMModelConfig:
    """Vision tower, connector, LLM, LoRA and decoding settings."""

    name: str = "posellm"
    connector: str = "mlp"                        # mlp = PoseLLM (Linear-GELU-Linear), linear = LocLLM
    vision_path: str | None = None               # local Dinov2 folder (from_pretrained); null = tiny
    llm_path: str | None = None                  # local Llama/Vicuna folder with its tokenizer; null = tiny
    tiny_vision: TinyVisionConfig = field(default_factory=TinyVisionConfig)
    tiny_llm: TinyLLMConfig = field(default_factory=TinyLLMConfig)
    lora: LoraSettings = field(default_factory=_posellm_lora)
    dtype: str = "auto"                          # frozen towers' weights: auto = bf16 on CUDA, fp32 on CPU
    attn_implementation: str = "sdpa"            # sdpa | eager | flash_attention_2 (both towers)
    vision_drop_path_rate: float = 0.0           # stochastic depth in Dinov2 (LocLLM: 0.4)
    train_token_embeddings: bool | None = None   # also train embed_tokens/lm_head; null = iff LLM is random
    freeze_base: bool = True                     # false only for random-init towers: train every weight
    connector_lr_scale: float = 1.0              # connector learning rate = trainer.lr x this (LoRA/rest: x 1)
    answer_digit_weights: list[float] = field(default_factory=lambda: [1.0])  # loss weight per decimal place
    max_new_tokens: int = 14                     # greedy decoding budget per answer
    image_mean: list[float] = field(default_factory=lambda: [0.48145466, 0.4578275, 0.40821073])
    image_std: list[float] = field(default_factory=lambda: [0.26862954, 0.26130258, 0.27577711])

    def __post_init__(self) -> None:
        if self.connector not in ("mlp", "linear"):
            raise ValueError(f"model.connector={self.connector!r}; choose mlp (PoseLLM) or linear (LocLLM)")
        if self.dtype not in DTYPES:
            raise ValueError(f"model.dtype={self.dtype!r}; choose one of {DTYPES} (auto: bf16 on CUDA, fp32 on CPU)")
        if self.attn_implementation not in ATTENTION:
            raise ValueError(f"model.attn_implementation={self.attn_implementation!r}; choose one of {ATTENTION}")
        if not 0.0 <= self.vision_drop_path_rate < 1.0:
            raise ValueError(f"model.vision_drop_path_rate={self.vision_drop_path_rate} must be in [0, 1)")
        if not self.answer_digit_weights or min(self.answer_digit_weights) <= 0:
            raise ValueError(f"model.answer_digit_weights={self.answer_digit_weights}: give one positive weight "
                             "per decimal place (tenths, hundredths, ...); [1.0] is the plain LM loss")


@dataclass
class PoseLLMDataConfig:
    """Training/evaluation data, crop protocol and augmentation."""

    source: str = "synthetic"                    # synthetic | coco (training data; zero-shot sets by root)
    root: str | None = None                      # dataset root; synthetic: where it is written (null = cache)
    humanart_root: str | None = None             # Human-Art root (zero-shot eval); null = skip
    mpii_root: str | None = None                 # MPII root with annot/valid.json (zero-shot); null = skip
    image_size: int = 224                        # square crop side, pixels
    max_turns: int = 5                           # visible keypoints packed as turns per training sample
    scale_factor: float = 0.3                    # scale augmentation: s *= clip(1 + N(0,sf), 1-sf, 1+sf)
    rotation_factor: float = 40.0                # degrees, clip(N(0, rf), -2rf, 2rf), applied with p=0.5
    flip: bool = True                            # horizontal flip with COCO flip pairs, p=0.5
    epochs: float | None = None                  # passes over the training set; overrides trainer.max_steps
    max_eval_instances: int | None = None        # cap on evaluated person instances (null = all)
    digit_nll: bool = False                      # also report x_tenths_nll (model) vs the image-blind prior
    synthetic_train: int = 600                   # synthetic persons written for training
    synthetic_val: int = 60                      # synthetic persons written for validation
    synthetic_render_size: int = 160             # synthetic image side, pixels
    seed: int = 0

    def __post_init__(self) -> None:
        if self.source not in ("synthetic", "coco"):
            raise ValueError(f"data.source={self.source!r}; choose synthetic or coco")


def _resolved(cfg: DictConfig | dict) -> dict:
    """Plain dict with interpolations (e.g. ${paths.data_root}) resolved against the full config."""
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)


def model_config(cfg: DictConfig) -> PoseLLMModelConfig:
    """`cfg.model` validated against `PoseLLMModelConfig` (unknown key or wrong type fails here)."""
    merged = OmegaConf.merge(OmegaConf.structured(PoseLLMModelConfig), _resolved(cfg))
    return OmegaConf.to_object(merged)


def data_config(cfg: DictConfig) -> PoseLLMDataConfig:
    """`cfg.data` validated against `PoseLLMDataConfig`."""
    merged = OmegaConf.merge(OmegaConf.structured(PoseLLMDataConfig), _resolved(cfg))
    return OmegaConf.to_object(merged)


SCHEMAS = {"model": PoseLLMModelConfig, "data": PoseLLMDataConfig}
"""The typed schemas `cfg.model` / `cfg.data` are validated against at start-up."""

METRICS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl", "unparsed_rate",
           "x_tenths_nll", "humanart_AP", "mpii_*", "mean_pose/*", "train_*")
"""Metric names `api.train` / `api.evaluate` return (COCO stats, zero-shot sets, baselines, training logs)."""
