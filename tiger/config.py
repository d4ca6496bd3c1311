"""Typed configuration of TIGeR's model (priors, encoders, losses) and data; validates cfg.model / cfg.data."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import DictConfig, OmegaConf

from common.models.loading import PretrainedInit


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{key}={value!r}; choose one of {list(choices)}")


@dataclass
class PriorConfig:
    """Which prior source feeds the refinement; the generated prior is read from its offline cache.

    `generated` priors come from `scripts/make_priors.py` (captioner -> text-to-image -> image-to-points, run
    once); training and evaluation only read that cache. `oracle` / `procedural` / `depth_lift` are the
    embedded default's stand-ins, named for what they are (the oracle captioner answers the ground-truth
    category; the procedural renderer draws the synthetic primitive family; depth lift back-projects it).
    """

    source: str = "retrieval"                 # generated | retrieval | sphere
    num_points: int = 256
    cache_dir: str | None = None              # generated-prior cache root; null = <paths.cache_dir>/tiger_priors
    bank_dir: str | None = None               # retrieval: <category>.npz prototypes (required on real data)
    caption_per: str = "image"                # image (the paper) | object (one caption per object model)
    captioner: str = "instructblip"           # instructblip | oracle
    captioner_weights: str | None = None      # local InstructBLIP folder (transformers layout)
    text_to_image: str = "diffusers"          # diffusers | procedural
    text_to_image_weights: str | None = None  # local diffusers pipeline folder (e.g. FLUX.1-schnell)
    text_to_image_steps: int = 4
    text_to_image_guidance: float = 0.0
    text_to_image_size: int = 512
    image_to_points: str = "point_e"          # point_e | depth_lift
    image_to_points_weights: str | None = None  # folder with Point-E base_40m.pt and upsample_40m.pt
    point_e_clip_dir: str | None = None       # folder with CLIP ViT-L-14.pt for Point-E's image conditioning
    build_cache: bool = False                 # generated: run the offline stage in-process if its cache is missing
    icp_starts: int = 6                       # initial rotations of the training-only prior->GT ICP
    icp_iterations: int = 20

    def __post_init__(self) -> None:
        _check_choice("model.prior.source", self.source, ("generated", "retrieval", "sphere"))
        _check_choice("model.prior.caption_per", self.caption_per, ("image", "object"))
        _check_choice("model.prior.captioner", self.captioner, ("instructblip", "oracle"))
        _check_choice("model.prior.text_to_image", self.text_to_image, ("diffusers", "procedural"))
        _check_choice("model.prior.image_to_points", self.image_to_points, ("point_e", "depth_lift"))


ENCODER_INITS = ("hrnet_init", "pointnet_init", "hand_init", "object_pose_init")
"""Config blocks of the four encoders' published weights (common.models.PretrainedInit)."""


@dataclass
class TigerModelConfig:
    """Refinement network (object shape, hand and object-centre branches) and loss weights.

    Encoders: HRNet (official key layout) for the object shape branch, PointNet++ SSG (`sa1`, `sa2`) over the
    prior, torchvision-layout ResNets for the two pose branches; each `*_init` loads published weights
    strictly (common.models.loading.PretrainedInit: path, prefix, container_key, declared gaps).
    """

    name: str = "tiger"
    stage: str = "refine"                     # refine | finetune (L_rec only, shape/hand encoders frozen)
    prior: PriorConfig = field(default_factory=PriorConfig)
    require_pretrained: bool = False          # true (paper): every *_init.path must be set, checked at start-up
    input_size: int = 64                      # square crop fed to every encoder (paper: 256)
    hrnet_width: int = 8                      # branch widths C, 2C, 4C, ... (HRNet-W18: 18)
    hrnet_stem: int = 16                      # stem / stage-1 width (HRNet: 64)
    hrnet_stage1_blocks: int = 1              # bottlenecks of stage 1 (HRNet: 4)
    hrnet_modules: list[int] = field(default_factory=lambda: [1])  # modules of stages 2.. (W18: [1, 4, 3])
    hrnet_blocks: list[int] = field(default_factory=lambda: [1])   # basic blocks per branch (W18: [4, 4, 4])
    hrnet_init: PretrainedInit = field(default_factory=PretrainedInit)
    sa1: list[int] = field(default_factory=lambda: [32, 32, 64])
    sa2: list[int] = field(default_factory=lambda: [64, 64, 128])
    sa1_points: int = 64
    sa2_points: int = 16
    sa1_radius: float = 0.4                   # canonical (unit-radius prior) units
    sa2_radius: float = 0.8
    sa1_samples: int = 16
    sa2_samples: int = 16
    pointnet_init: PretrainedInit = field(default_factory=PretrainedInit)
    attention_hidden: int = 128
    decoder_widths: list[int] = field(default_factory=lambda: [128, 64])
    object_scale: float = 0.07                # metres per canonical unit of the prior
    pose_widths: list[int] = field(default_factory=lambda: [16, 24])
    pose_layers: list[int] = field(default_factory=lambda: [1, 1])
    pose_bottleneck: bool = True              # true + [64,128,256,512] x [3,4,6,3] = ResNet-50
    hand_init: PretrainedInit = field(default_factory=PretrainedInit)
    object_pose_init: PretrainedInit = field(default_factory=PretrainedInit)
    dgcnn_init: PretrainedInit = field(default_factory=PretrainedInit)  # evaluation only: Table 4(c) Sim.
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
        if len(self.hrnet_modules) != len(self.hrnet_blocks) or not self.hrnet_modules:
            raise ValueError("model.hrnet_modules and model.hrnet_blocks need one entry per stage after stage 1")
        unset = [f"model.{k}.path" for k in ENCODER_INITS if getattr(self, k).path is None]
        if self.require_pretrained and unset:
            raise FileNotFoundError(f"model.require_pretrained=true but {', '.join(unset)} not set: point them at the "
                                    "published HRNet-W18 / PointNet++ / ResNet-50 files (docs/tiger.md#weights)")


@dataclass
class TigerDataConfig:
    """Dataset choice, roots and sizes."""

    source: str = "synthetic"                 # synthetic | dexycb | obman
    root: str | None = None                   # dataset root; synthetic: where it is written
    mano_dir: str | None = None               # real MANO folder (required on dexycb/obman)
    allow_standin_mano: bool = False          # dexycb/obman: explicitly accept the generated stand-in MANO
    shapenet_root: str | None = None          # obman: ShapeNetCore.v2
    train_ids: str | None = None              # obman: gSDF split json of the training ids (train_87k.json)
    eval_ids: str | None = None               # obman: gSDF split json of the test ids (test_6k.json)
    train_split: str = "train"
    eval_split: str = "test"
    num_train: int | None = None              # synthetic: first N frames of the train split (null = all)
    num_test: int | None = None               # synthetic: first N frames of the test split (null = all)
    image_hw: list[int] = field(default_factory=lambda: [120, 160])  # synthetic full-frame size
    gt_points: int = 512                      # GT object surface points used by the losses
    crop_scale: float = 2.2                   # crop side = crop_scale x projected object diameter
    max_samples: int | None = None
    eval_num_samples: int = 3000              # surface samples per mesh for the gSDF metrics (paper 30000)
    eval_icp: bool = True                     # gSDF hand translation+scale alignment applied to objects
    seed: int = 0

    def __post_init__(self) -> None:
        _check_choice("data.source", self.source, ("synthetic", "dexycb", "obman"))

    @property
    def real(self) -> bool:
        """Whether this is a released dataset (no stand-in may be used unless asked for by name)."""
        return self.source != "synthetic"


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


SCHEMAS = {"model": TigerModelConfig, "data": TigerDataConfig}
"""Config dataclasses validated at start-up (common entry point)."""
METRICS = ("cd_o", "fs_o_5", "fs_o_10", "cd_h", "fs_h_1", "fs_h_5", "cd_o_centred", "fs_o_5_centred",
           "fs_o_10_centred", "cd_o_group/*", "raw_prior/*", "prior_sim/*", "sphere_sim/*")
"""Metric names api.train / api.evaluate return (gSDF protocol; `raw_prior/` = the unrefined prior)."""
