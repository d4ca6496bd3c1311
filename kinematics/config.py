"""Typed configs of the kinematics paper (cfg.model, cfg.data); trainer.max_steps/lr drive the online solver."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import DictConfig, OmegaConf


@dataclass
class KinematicsModelConfig:
    """Solver choice and its settings (see kinematics.neural_ik.NeuralIKConfig / TrustRegionConfig)."""

    name: str = "neural_ik"
    solver: str = "neural"            # neural | trust_region
    gamma_deg: float = 30.0           # bound on |phi|, |alpha| (neural) or per axis-angle component (TRF)
    use_tanh: bool = True             # False: plain MLP ablation (no tanh limit)
    use_2d: bool = True               # False: ablation without L_2D
    eps1: float = 1.0
    eps2: float = 1.0
    target_mode: str = "mean_distance"  # mean_distance (paper) | centroid
    stop_ratio: float = 0.01          # stop when L_IK < stop_ratio * initial L_IK
    patience: int = 50                # neural: also stop after this many steps without 0.1% improvement
    hidden: int = 32
    depth: int = 2
    dt_scale: float = 0.1
    dt_bound: float = 1.0             # TRF translation bound (m)
    max_nfev: int = 200               # TRF function-evaluation cap
    trunk_gamma_deg: float | None = None  # research option: tighter bound on the chain's root/spine/collar joints


@dataclass
class KinematicsDataConfig:
    """Problems to solve: 'synthetic' interactions (stand-in SMPL unless body_models points to real files) or
    'behave' (the CHORE test protocol on a BEHAVE release with VisTracker/CHORE packed outputs as rough fits and
    the GT fits' contact regions as targets; docs/kinematics.md#real-data)."""

    source: str = "synthetic"          # synthetic | behave
    chain_set: str = "paper"           # paper (Fig. 3 chains from the root) | short (3-joint limb ablation)
    chains: list[str] = field(default_factory=lambda: ["left_arm", "right_arm", "left_leg", "right_leg"])
    problems_per_chain: int = 16
    rot_std: float = 0.25
    transl_std: list[float] = field(default_factory=lambda: [0.03, 0.03, 0.08])
    root_2d_std: float = 2.0
    n_contact: int = 32
    contact_radius: float = 0.03
    seed: int = 0
    body_models: str | None = None
    root: str | None = None            # behave: release root (split.json, sequences/, calibs/, objects/)
    rough_dir: str | None = None       # behave: VisTracker/CHORE packed outputs <rough_dir>/<seq>_k<kid>.pkl
    kid: int = 1                       # behave: test Kinect (CHORE protocol: k1)
    smplh_standin: bool = False        # behave: labelled stand-in SMPL-H when body_models has no smplh/
    cache_dir: str | None = None       # behave: where a stand-in SMPL-H is written
    eval_samples: int = 10000          # behave: surface samples per mesh of the CHORE metric
    max_frames: int = 0                # behave: score the first N protocol frames (0 = every test frame)


SCHEMAS = {"model": KinematicsModelConfig, "data": KinematicsDataConfig}
METRICS = ("mpjpe_mm", "pa_mpjpe_mm", "reach_cm", "chamfer_cm", "pa_chamfer_cm", "g_mpjpe_mm", "nonchain_change_rad",
           "steps", "converged", "solves_per_s", "standin_body_model", "chamfer_object_cm", "pa_chamfer_object_cm",
           "frames", "rough/*")
"""Metric names api.train/evaluate return (rough/* = the unrefined input on the same problems)."""
"""Registered config schemas (validated at start-up by common.entry)."""


def _resolved(node: DictConfig | dict | None) -> dict:
    """Plain dict of a config node with interpolations (e.g. ${paths.body_models}) resolved."""
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)
    return dict(node or {})


def model_config(node: DictConfig | dict | None) -> KinematicsModelConfig:
    """Validate cfg.model (unknown keys or wrong types fail)."""
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(KinematicsModelConfig), _resolved(node)))


def data_config(node: DictConfig | dict | None) -> KinematicsDataConfig:
    """Validate cfg.data (unknown keys or wrong types fail)."""
    out = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(KinematicsDataConfig), _resolved(node)))
    if out.source not in ("synthetic", "behave"):
        raise ValueError(f"data.source={out.source!r}: choose 'synthetic' or 'behave'")
    if out.chain_set not in ("paper", "short"):
        raise ValueError(f"data.chain_set={out.chain_set!r}: choose 'paper' or 'short'")
    return out
