"""Typed configuration of TIGeR's model (priors, encoders, losses) and data; validates cfg.model / cfg.data."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import DictConfig, OmegaConf


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{key}={value!r}; choose one of {list(choices)}")


@dataclass
class PriorConfig:
    """Which prior source feeds the refinement and where its local weights / cache live."""

    source: str = "retrieval"                 # generated | retrieval | sphere
    num_points: int = 256
    cache_dir: str | None = None              # per-category prior cache (npz); null = memory only
    bank_dir: str | None = None               # retrieval: <category>.npz prototypes; null = synthetic bank
    captioner: str = "instructblip"           # instructblip | standin
    captioner_weights: str | None = None
    text_to_image: str = "diffusers"          # diffusers | standin
    text_to_image_weights: str | None = None
    text_to_image_steps: int = 4
    image_to_points: str = "point_e"          # point_e | standin
    image_to_points_weights: str | None = None
    icp_starts: int = 6                       # initial rotations of the training-only prior->GT ICP
    icp_iterations: int = 20

    def __post_init__(self) -> None:
        _check_choice("model.prior.source", self.source, ("generated", "retrieval", "sphere"))
        _check_choice("model.prior.captioner", self.captioner, ("instructblip", "standin"))
        _check_choice("model.prior.text_to_image", self.text_to_image, ("diffusers", "standin"))
        _check_choice("model.prior.image_to_points", self.image_to_points, ("point_e", "standin"))


@dataclass
class TigerModelConfig:
    """Refinement network (object shape, hand and object-centre branches) and loss weights."""

    name: str = "tiger"
    stage: str = "refine"                     # refine | finetune (L_rec only, shape/hand encoders frozen)
    prior: PriorConfig = field(default_factory=PriorConfig)
    input_size: int = 64                      # square crop fed to every encoder (paper: 256)
    hrnet_width: int = 16                     # HRNet-style branch widths C, 2C (paper: HRNet-W18+)
    hrnet_modules: int = 2
    hrnet_weights: str | None = None
    sa1: list[int] = field(default_factory=lambda: [32, 32, 64])
    sa2: list[int] = field(default_factory=lambda: [64, 64, 128])
    sa1_points: int = 64
    sa2_points: int = 16
    sa1_radius: float = 0.4                   # canonical (unit-radius prior) units
    sa2_radius: float = 0.8
    sa1_samples: int = 16
    sa2_samples: int = 16
    attention_hidden: int = 128
    decoder_widths: list[int] = field(default_factory=lambda: [128, 64])
    object_scale: float = 0.07                # metres per canonical unit of the prior
    pose_widths: list[int] = field(default_factory=lambda: [24, 48])
    pose_layers: list[int] = field(default_factory=lambda: [1, 1])
    pose_bottleneck: bool = False             # true + [64,128,256,512] x [3,4,6,3] = ResNet-50
    hand_weights: str | None = None
    object_pose_weights: str | None = None
    heatmap_size: int = 16
    depth_bins: int = 16
    deconv_width: int = 32                    # upsampling width of the pose heads (gSDF: 256)
    depth_range: float = 0.15                 # metres either side of the root depth (gSDF: 0.28)
    w_rec: float = 1.0
    w_mask: float = 1.0
    w_hand: float = 1.0
    w_centre: float = 1.0
    w_weight: float = 0.1
    w_proj: float = 0.01

    def __post_init__(self) -> None:
        _check_choice("model.stage", self.stage, ("refine", "finetune"))


@dataclass
class TigerDataConfig:
    """Dataset choice, roots and sizes."""

    name: str = "synthetic"                   # synthetic | dexycb | obman
    root: str | None = None                   # dataset root; synthetic: where it is written
    mano_dir: str | None = None               # real MANO folder for dexycb/obman; null = stand-in
    shapenet_root: str | None = None          # obman: ShapeNetCore.v2
    train_split: str = "train"
    eval_split: str = "test"
    num_train: int = 240                      # synthetic scenes written for training
    num_test: int = 60
    image_hw: list[int] = field(default_factory=lambda: [120, 160])  # synthetic full-frame size
    gt_points: int = 512                      # GT object surface points used by the losses
    crop_scale: float = 2.2                   # crop side = crop_scale x projected object diameter
    max_samples: int | None = None
    eval_num_samples: int = 3000              # surface samples per mesh for the gSDF metrics (paper 30000)
    eval_icp: bool = True                     # gSDF hand translation+scale alignment applied to objects
    seed: int = 0

    def __post_init__(self) -> None:
        _check_choice("data.name", self.name, ("synthetic", "dexycb", "obman"))


def _resolved(node: DictConfig | dict) -> dict:
    """Plain dict with interpolations resolved while the node is still attached to the full config."""
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)


def model_config_from(cfg: DictConfig | dict) -> TigerModelConfig:
    """Validate cfg.model against TigerModelConfig (unknown keys or wrong types fail)."""
    merged = OmegaConf.merge(OmegaConf.structured(TigerModelConfig), _resolved(cfg))
    return OmegaConf.to_object(merged)


def data_config_from(cfg: DictConfig | dict) -> TigerDataConfig:
    """Validate cfg.data against TigerDataConfig."""
    merged = OmegaConf.merge(OmegaConf.structured(TigerDataConfig), _resolved(cfg))
    return OmegaConf.to_object(merged)
