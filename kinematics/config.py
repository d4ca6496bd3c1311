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


@dataclass
class KinematicsDataConfig:
    """Synthetic interaction benchmark (stand-in SMPL unless body_models points to real files)."""

    name: str = "synthetic_interactions"
    chains: list[str] = field(default_factory=lambda: ["left_arm", "right_arm", "left_leg", "right_leg"])
    problems_per_chain: int = 16
    rot_std: float = 0.25
    transl_std: list[float] = field(default_factory=lambda: [0.03, 0.03, 0.08])
    root_2d_std: float = 2.0
    n_contact: int = 32
    contact_radius: float = 0.03
    seed: int = 0
    body_models: str | None = None


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
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(KinematicsDataConfig), _resolved(node)))
