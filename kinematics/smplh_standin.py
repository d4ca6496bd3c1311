"""Stand-in SMPL-H files in the real format (`smplh/SMPLH_<GENDER>.pkl`), derived from the stand-in SMPL.

Only used when a config asks for it by name (`data.smplh_standin=true`): BEHAVE's ground truth and the
VisTracker/CHORE outputs are SMPL-H, whose licensed model cannot be shipped. The file has the keys smplx's
SMPLH loader reads (v_template, shapedirs, posedirs (V,3,459), J_regressor (52,V), weights (V,52),
kintree_table (2,52), f, hands_components{l,r} (45,45), hands_mean{l,r} (45,)) plus `standin: True`.
Joints 0-21 are the stand-in SMPL's; the 15 finger joints of a hand all sit at the SMPL hand joint (the
middle-finger knuckle takes its skinning weights), so finger poses do not deform this stand-in.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import smplx

from common.body import load_smplh, read_model_pickle, standin_dir
from common.body.standin import ensure_standins

SMPLH_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19,
                 20, 22, 23, 20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35,
                 21, 37, 38, 21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50)
"""SMPL-H kinematic tree (smplx joint order: 22 body joints, then 15 left and 15 right finger joints)."""
LEFT_MIDDLE1, RIGHT_MIDDLE1 = 25, 40


def standin_smplh(smpl: dict) -> dict:
    """SMPL-H model dict (real key layout, `standin: True`) built from a stand-in SMPL model dict."""
    n_verts = smpl["v_template"].shape[0]
    regressor = np.asarray(smpl["J_regressor"], dtype=np.float64)
    rows = [regressor[j] for j in range(22)] + [regressor[22]] * 15 + [regressor[23]] * 15
    weights = np.zeros((n_verts, 52))
    weights[:, :22] = smpl["weights"][:, :22]
    weights[:, LEFT_MIDDLE1] = smpl["weights"][:, 22]
    weights[:, RIGHT_MIDDLE1] = smpl["weights"][:, 23]
    posedirs = np.zeros((n_verts, 3, 51 * 9))
    posedirs[..., : 21 * 9] = smpl["posedirs"][..., : 21 * 9]
    parents = np.array(SMPLH_PARENTS, dtype=np.int64)
    kintree = np.stack([np.where(parents < 0, 4294967295, parents), np.arange(52)]).astype(np.int64)
    return {"v_template": smpl["v_template"], "shapedirs": smpl["shapedirs"], "posedirs": posedirs,
            "J_regressor": np.stack(rows), "weights": weights, "kintree_table": kintree, "f": smpl["f"],
            "hands_componentsl": np.eye(45), "hands_componentsr": np.eye(45), "hands_meanl": np.zeros(45),
            "hands_meanr": np.zeros(45), "standin": True,
            "standin_note": "Procedural stand-in for SMPL-H (from the stand-in SMPL); NOT the real SMPL-H model."}


def write_standin_smplh(folder: Path) -> Path:
    """Write `folder/smplh/SMPLH_{MALE,FEMALE,NEUTRAL}.pkl` stand-ins (if absent); returns `folder`."""
    source = ensure_standins(standin_dir())
    for gender in ("male", "female", "neutral"):
        path = folder / "smplh" / f"SMPLH_{gender.upper()}.pkl"
        if path.is_file():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(standin_smplh(read_model_pickle(source / "smpl" / f"SMPL_{gender.upper()}.pkl")), f)
        tmp.replace(path)
    return folder


def behave_body(body_models: str | Path | None, gender: str, allow_standin: bool, cache_dir: Path) -> smplx.SMPLH:
    """smplx SMPL-H of a gender (BEHAVE fits: full 45-d hand poses, flat hand mean) from `body_models`, or the
    stand-in written under `cache_dir` when `allow_standin` and the real file is absent."""
    kwargs = {"use_pca": False, "flat_hand_mean": True, "num_betas": 10}
    if body_models is not None and (Path(body_models) / "smplh" / f"SMPLH_{gender.upper()}.pkl").is_file():
        return load_smplh(body_models, gender, **kwargs)
    if not allow_standin:
        raise FileNotFoundError(
            f"SMPL-H {gender} model not found under paths.body_models={body_models} (expected "
            f"smplh/SMPLH_{gender.upper()}.pkl; BEHAVE's fits are SMPL-H, https://mano.is.tue.mpg.de). "
            "Set data.smplh_standin=true to use a labelled stand-in.")
    return load_smplh(write_standin_smplh(cache_dir / "smplh_standin"), gender, **kwargs)
