"""Typed configs of the contact package: CRRNet / PiCR-style model and the HOI clip data."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf


@dataclass
class ContactModelConfig:
    """CRRNet hyper-parameters; the PiCR-style baseline is window=1, temporal='none'."""

    name: str = "crrnet"
    img_channels: int = 16               # C_img of the H/4 x W/4 hourglass feature map
    hourglass_stacks: int = 1
    hourglass_depth: int = 2             # number of 2x down/up-sampling levels per hourglass
    window: int = 7                      # k of the k x k feature window (odd; 1 = bilinear sample)
    temporal: str = "gru"                # "gru" or "none"
    point_hidden: int = 32
    gru_hidden: int = 32
    bidirectional: bool = True           # GRU sees past and future frames of the clip
    num_classes: int = 15                # 14 BEHAVE parts + no contact
    loss_weight: float = 0.006           # epsilon_0 of eq. 18


@dataclass
class ContactDataConfig:
    """Clip data: 'synthetic' (embedded HOI clips) or 'behave' (real, root from env EHP_BEHAVE_ROOT)."""

    source: str = "synthetic"            # "synthetic" or "behave"
    root: str | None = None              # BEHAVE root (sequences/, calibs/, objects/, split.json)
    rough_dir: str | None = None         # BEHAVE: VisTracker/CHORE packed outputs <rough_dir>/<seq>_k<kid>.pkl
    kid: int = 1                         # BEHAVE: test Kinect (CHORE protocol: k1)
    smplh_standin: bool = False          # BEHAVE: use a labelled stand-in SMPL-H when paths.body_models has none
    max_test_frames: int = 0             # BEHAVE: score the first N protocol frames (0 = every test frame)
    frames: int = 7                      # T, frames per clip fed to the network
    image_size: int = 48                 # square network input (pixels)
    crop_min_m: float = 0.5              # synthetic: min side (m) of the interaction crop at object depth
    num_points: int = 128                # object points per frame
    train_clips: int = 192
    eval_clips: int = 48
    seed: int = 0
    occlusion_prob: float = 0.3          # chance a frame has an occluder over the contact region
    rough_rot_deg: float = 3.0           # object rotation noise of the rough fit (degrees)
    rough_trans_m: float = 0.02          # object translation noise of the rough fit (m)
    body_trans_m: float = 0.10           # body translation error of the rough fit (m, mostly depth)
    chain_rot_deg: float = 8.0           # rotation noise on the contact chain's joints (degrees)
    cache: bool = True                   # cache generated clips under paths.cache_dir/contact


def _resolved(node: DictConfig | dict | None) -> dict:
    """Plain dict of a config node with its interpolations (e.g. ${paths.data_root}) resolved."""
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)
    return dict(node or {})


def model_config(cfg: DictConfig | dict | None) -> ContactModelConfig:
    """Validate `cfg.model` against ContactModelConfig (unknown keys or wrong types fail here)."""
    merged = OmegaConf.merge(OmegaConf.structured(ContactModelConfig), _resolved(cfg))
    out = OmegaConf.to_object(merged)
    if out.window < 1 or out.window % 2 == 0:
        raise ValueError(f"model.window={out.window}: the k x k window needs an odd k >= 1")
    if out.temporal not in ("gru", "none"):
        raise ValueError(f"model.temporal={out.temporal!r}: choose 'gru' or 'none'")
    return out


SCHEMAS = {"model": ContactModelConfig, "data": ContactDataConfig}
METRICS = ("miou", "part_miou", "accuracy", "contact_iou", "contact_recall", "l_crr", "iou/*", "majority/*",
           "chamfer_human", "pa_chamfer_human", "chamfer_object", "pa_chamfer_object", "frames", "rough/*", "loss")
"""Metric names api.train/evaluate return (majority/* = the majority-class baseline, rough/* = the rough input)."""
"""Registered config schemas (validated at start-up by common.entry)."""


def data_config(cfg: DictConfig | dict | None) -> ContactDataConfig:
    """Validate `cfg.data` against ContactDataConfig."""
    out = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(ContactDataConfig), _resolved(cfg)))
    if out.source not in ("synthetic", "behave"):
        raise ValueError(f"data.source={out.source!r}: choose 'synthetic' or 'behave'")
    return out
