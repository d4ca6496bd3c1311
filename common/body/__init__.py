"""SMPL, SMPL-H and MANO access through smplx: real model files when given, generated stand-ins otherwise.

Layout of a body-model folder (real or stand-in): `smpl/SMPL_{NEUTRAL,MALE,FEMALE}.pkl`,
`mano/MANO_{RIGHT,LEFT}.pkl`, optionally `smplh/SMPLH_{MALE,FEMALE}.pkl` and `smpl_parts_dense.pkl`
(BEHAVE's 14-part map). The official pickles load as downloaded (chumpy arrays are read without chumpy,
see common/body/pickles.py).
Stand-ins are procedural capsule bodies/hands with the real trees and vertex counts; every output made
with them must say "stand-in".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import smplx
import torch

from common.body.constants import (
    MANO_16_TO_21,
    MANO_JOINT_NAMES,
    MANO_JOINT_NAMES_16,
    MANO_PARENTS_16,
    MANO_PARENTS_21,
    MANO_TIP_VERTEX_IDS,
    SMPL_JOINT_NAMES,
    SMPL_PARENTS,
    SMPL_PART_NAMES,
)
from common.body.mano_ik import ManoIKResult, mano_joints_from_pose, mano_template_joints21, solve_mano_ik
from common.body.pickles import read_model_pickle
from common.body.standin import PARTS_FILE, ensure_standins

__all__ = [
    "MANO_JOINT_NAMES",
    "MANO_JOINT_NAMES_16",
    "MANO_PARENTS_16",
    "MANO_PARENTS_21",
    "MANO_TIP_VERTEX_IDS",
    "SMPL_JOINT_NAMES",
    "SMPL_PARENTS",
    "SMPL_PART_NAMES",
    "ManoIKResult",
    "is_standin",
    "load_mano",
    "load_smpl",
    "load_smplh",
    "mano_joints21",
    "mano_joints_from_pose",
    "mano_template_joints21",
    "read_model_pickle",
    "smpl_part_labels",
    "solve_mano_ik",
    "standin_dir",
]
_REPO_ROOT = Path(__file__).resolve().parents[2]
_HOW_TO = ("Register and download it from {site}, or create labelled stand-ins with "
           "`python scripts/make_body_models.py` (used automatically when no model folder is given).")


def standin_dir() -> Path:
    """Folder of the generated stand-in models (env EHP_BODY_MODELS_STANDIN, default <repo>/.cache/...)."""
    return Path(os.environ.get("EHP_BODY_MODELS_STANDIN", _REPO_ROOT / ".cache" / "body_models_standin"))


def _model_file(model_dir: str | Path | None, sub: str, filename: str, site: str) -> Path:
    """Path of a model file: the stand-in when model_dir is None, else model_dir[/sub]/filename."""
    if model_dir is None:
        return ensure_standins(standin_dir()) / sub / filename
    root = Path(model_dir)
    for candidate in (root / sub / filename, root / filename):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"Body model file not found: expected {root / sub / filename}. "
                            + _HOW_TO.format(site=site))


def _read_standin_flag(path: Path) -> bool:
    """True when the pickle at `path` carries the `standin` key."""
    return bool(read_model_pickle(path).get("standin", False))


def _build(cls: type[smplx.SMPL], path: Path, **kwargs: Any) -> smplx.SMPL:
    """Instantiate an smplx model from the pickle at `path` (chumpy-free), tagging `is_standin`."""
    data = read_model_pickle(path)
    model = cls(str(path), data_struct=smplx.utils.Struct(**data), **kwargs)
    model.is_standin = bool(data.get("standin", False))
    return model


def load_smpl(model_dir: str | Path | None = None, gender: str = "neutral",
              **smplx_kwargs: Any) -> smplx.SMPL:
    """smplx.SMPL from `model_dir` (folder with smpl/SMPL_<GENDER>.pkl) or the stand-in when None."""
    path = _model_file(model_dir, "smpl", f"SMPL_{gender.upper()}.pkl", "https://smpl.is.tue.mpg.de")
    return _build(smplx.SMPL, path, gender=gender, **smplx_kwargs)


def load_smplh(model_dir: str | Path, gender: str = "male", **smplx_kwargs: Any) -> smplx.SMPLH:
    """smplx.SMPLH from `model_dir` (folder with smplh/SMPLH_<GENDER>.pkl); there is no stand-in SMPL-H."""
    path = _model_file(model_dir, "smplh", f"SMPLH_{gender.upper()}.pkl", "https://mano.is.tue.mpg.de")
    return _build(smplx.SMPLH, path, gender=gender, **smplx_kwargs)


def load_mano(model_dir: str | Path | None = None, is_rhand: bool = True, **kw: Any) -> smplx.MANO:
    """smplx.MANO (use_pca=False, flat_hand_mean=True by default) from `model_dir` or the stand-in."""
    name = f"MANO_{'RIGHT' if is_rhand else 'LEFT'}.pkl"
    path = _model_file(model_dir, "mano", name, "https://mano.is.tue.mpg.de")
    kw.setdefault("use_pca", False)
    kw.setdefault("flat_hand_mean", True)
    return _build(smplx.MANO, path, is_rhand=is_rhand, **kw)


def is_standin(model: torch.nn.Module | str | Path) -> bool:
    """Whether a loaded model (or a model pickle path) is a generated stand-in."""
    if isinstance(model, str | Path):
        return _read_standin_flag(Path(model))
    return bool(getattr(model, "is_standin", False))


def mano_joints21(mano_output: Any, mano_model: smplx.MANO | None = None) -> torch.Tensor:
    """(B,21,3) joints in MANO_JOINT_NAMES order: the 16 MANO joints plus the 5 fingertip vertices."""
    tips = mano_output.vertices[:, list(MANO_TIP_VERTEX_IDS)]
    joints = torch.cat([mano_output.joints[:, :16], tips], dim=1)
    return joints[:, list(MANO_16_TO_21)]


def smpl_part_labels(model_dir: str | Path | None = None) -> np.ndarray:
    """(6890,) int part id in SMPL_PART_NAMES order: BEHAVE's smpl_parts_dense.pkl, or the stand-in map."""
    if model_dir is None:
        path = ensure_standins(standin_dir()) / PARTS_FILE
    else:
        path = Path(model_dir) / "smpl_parts_dense.pkl"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: copy data/smpl_parts_dense.pkl of "
                "https://github.com/xiexh20/behave-dataset there (the stand-in part map only fits the "
                "stand-in SMPL, see scripts/make_body_models.py).")
    parts = read_model_pickle(path)
    labels = np.full(6890, -1, dtype=np.int64)
    for name, ids in parts.items():
        labels[np.asarray(ids, dtype=np.int64)] = SMPL_PART_NAMES.index(name)
    if (labels < 0).any():
        raise ValueError(f"{path} does not cover all 6890 SMPL vertices")
    return labels
