"""Official-format body-model pickles with chumpy objects load without chumpy (common.body.pickles).

The test process defines look-alike `chumpy` classes (same module paths and pickled state as chumpy's
`Ch.__getstate__`: the instance __dict__ without _parents/_cache) only to WRITE such pickles, removes them
from sys.modules, and then loads the files; chumpy itself is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import torch

import common.body as body
from common.body.pickles import read_model_pickle


class _FakeCh:
    """Pickles like chumpy.ch.Ch: state = {'x', '_dirty_vars', '_itr', '_depends_on_deps', ...}."""

    def __init__(self, **terms: object) -> None:
        self.__dict__.update(_dirty_vars=set(terms), _itr=None, _depends_on_deps={}, _make_dense=False,
                             _make_sparse=False, **terms)


@pytest.fixture
def fake_chumpy() -> Iterator[dict[str, type]]:
    """Register classes under chumpy.ch / chumpy.reordering for pickling, then remove them again."""
    assert importlib.util.find_spec("chumpy") is None, "chumpy must not be installed for this test"
    classes = {}
    modules = {name: types.ModuleType(name) for name in ("chumpy", "chumpy.ch", "chumpy.reordering")}
    for module, name in (("chumpy.ch", "Ch"), ("chumpy.reordering", "Select"), ("chumpy.reordering", "Reshape"),
                         ("chumpy.reordering", "transpose")):
        cls = type(name, (_FakeCh,), {"__module__": module})
        setattr(modules[module], name, cls)
        classes[name] = cls
    sys.modules.update(modules)
    try:
        yield classes
    finally:
        for name in modules:
            sys.modules.pop(name, None)


def _chumpify(data: dict, ch: dict[str, type]) -> dict:
    """The stand-in dict with arrays stored the way the official files store them (chumpy + sparse)."""
    out = dict(data)
    out["v_template"] = ch["Ch"](x=data["v_template"])
    out["weights"] = ch["Ch"](x=data["weights"])
    shapedirs = data["shapedirs"]
    out["shapedirs"] = ch["Reshape"](a=ch["Ch"](x=shapedirs.ravel()), newshape=shapedirs.shape)
    posedirs = data["posedirs"]
    flat = np.concatenate([posedirs.ravel(), np.zeros(7, posedirs.dtype)])
    out["posedirs"] = ch["Select"](a=ch["Ch"](x=flat), idxs=np.arange(posedirs.size),
                                   preferred_shape=posedirs.shape)
    out["J"] = ch["transpose"](a=ch["Ch"](x=np.arange(6.0).reshape(3, 2)), axes=None)
    out["J_regressor"] = scipy.sparse.csc_matrix(data["J_regressor"])
    out.pop("standin"), out.pop("standin_note")
    return out


def _write(path: Path, data: dict, protocol: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=protocol)


def _standin(sub: str, name: str) -> dict:
    with open(body.standin_dir() / sub / name, "rb") as f:
        return pickle.load(f)


def test_official_format_smpl_and_mano_load_without_chumpy(tmp_path: Path, fake_chumpy) -> None:
    smpl_model, mano_model = body.load_smpl(), body.load_mano()  # writes the stand-ins if needed
    smpl_plain, mano_plain = _standin("smpl", "SMPL_NEUTRAL.pkl"), _standin("mano", "MANO_RIGHT.pkl")
    _write(tmp_path / "smpl" / "SMPL_NEUTRAL.pkl", _chumpify(smpl_plain, fake_chumpy), protocol=2)
    _write(tmp_path / "mano" / "MANO_RIGHT.pkl", _chumpify(mano_plain, fake_chumpy), protocol=0)
    for name in ("chumpy", "chumpy.ch", "chumpy.reordering"):
        sys.modules.pop(name)

    for path, plain in ((tmp_path / "smpl" / "SMPL_NEUTRAL.pkl", smpl_plain),
                        (tmp_path / "mano" / "MANO_RIGHT.pkl", mano_plain)):
        loaded = read_model_pickle(path)
        for key in ("v_template", "weights", "shapedirs", "posedirs", "f", "kintree_table"):
            assert isinstance(loaded[key], np.ndarray), key
            np.testing.assert_array_equal(loaded[key], plain[key], err_msg=key)
        assert scipy.sparse.issparse(loaded["J_regressor"])
        np.testing.assert_array_equal(loaded["J_regressor"].toarray(), plain["J_regressor"])
        np.testing.assert_array_equal(loaded["J"], np.arange(6.0).reshape(3, 2).T)
    assert "chumpy" not in sys.modules

    gen = torch.Generator().manual_seed(0)
    pose, betas = 0.3 * torch.randn(2, 72, generator=gen), torch.randn(2, 10, generator=gen)
    real_format = body.load_smpl(tmp_path)
    assert not body.is_standin(real_format)
    kw = dict(betas=betas, global_orient=pose[:, :3], body_pose=pose[:, 3:])
    torch.testing.assert_close(real_format(**kw).vertices, smpl_model(**kw).vertices, rtol=0, atol=1e-6)
    hand_pose = 0.3 * torch.randn(2, 45, generator=gen)
    mano_kw = dict(betas=betas, global_orient=pose[:, :3], hand_pose=hand_pose)
    torch.testing.assert_close(body.load_mano(tmp_path)(**mano_kw).vertices, mano_model(**mano_kw).vertices,
                               rtol=0, atol=1e-6)


def test_official_format_smplh_loads_without_chumpy(tmp_path: Path, fake_chumpy) -> None:
    """An SMPL-H file (52 joints, hand PCA) built from the stand-in body, body joints equal to SMPL's."""
    body.load_smpl()
    plain = _standin("smpl", "SMPL_NEUTRAL.pkl")
    parents = list(body.SMPL_PARENTS[:22])
    for wrist in (20, 21):  # 5 fingers x 3 joints per hand, each finger chained from its wrist
        for _ in range(5):
            parents += [wrist, len(parents), len(parents) + 1]
    regressor = np.concatenate([plain["J_regressor"][:22]] + [plain["J_regressor"][[w]] for w in
                                                              [20] * 15 + [21] * 15])
    weights = np.concatenate([plain["weights"][:, :22], np.zeros((6890, 30))], 1)
    weights[:, 20] += plain["weights"][:, 22]
    weights[:, 21] += plain["weights"][:, 23]
    smplh = dict(plain, J_regressor=regressor, weights=weights,
                 kintree_table=np.stack([np.array([-1, *parents[1:]]) % 2**32, np.arange(52)]).astype(np.uint32),
                 posedirs=np.zeros((6890, 3, 51 * 9), np.float32), hands_componentsl=np.eye(45),
                 hands_componentsr=np.eye(45), hands_meanl=np.zeros(45), hands_meanr=np.zeros(45))
    _write(tmp_path / "smplh" / "SMPLH_MALE.pkl", _chumpify(smplh, fake_chumpy), protocol=2)
    for name in ("chumpy", "chumpy.ch", "chumpy.reordering"):
        sys.modules.pop(name)
    model = body.load_smplh(tmp_path, gender="male", use_pca=False, flat_hand_mean=True)
    assert model.parents.tolist()[:22] == list(body.SMPL_PARENTS[:22]) and len(model.parents) == 52
    rest = model(betas=torch.zeros(1, 10)).joints[0, :22]
    smpl_rest = body.load_smpl()(betas=torch.zeros(1, 10)).joints[0, :22]
    torch.testing.assert_close(rest, smpl_rest, rtol=0, atol=1e-5)


def test_unlisted_globals_are_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo should-not-run",))

    _write(tmp_path / "evil.pkl", {"v_template": Evil()}, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        read_model_pickle(tmp_path / "evil.pkl")
    ops = types.ModuleType("chumpy.ch_ops")
    ops.add = type("add", (_FakeCh,), {"__module__": "chumpy.ch_ops"})
    sys.modules.update({"chumpy": types.ModuleType("chumpy"), "chumpy.ch_ops": ops})
    try:
        _write(tmp_path / "ops.pkl", {"v_template": ops.add(a=1)}, protocol=2)
    finally:
        sys.modules.pop("chumpy.ch_ops"), sys.modules.pop("chumpy")
    with pytest.raises(pickle.UnpicklingError, match=r"chumpy class chumpy\.ch_ops\.add"):
        read_model_pickle(tmp_path / "ops.pkl")
