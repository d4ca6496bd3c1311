"""Stand-in SMPL/MANO: smplx loads them, joints follow the real trees, meshes and labels are sane."""

from __future__ import annotations

import pickle
import runpy
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

import common.body as body
from common.body.standin_mano import build_standin_mano

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smpl():
    return body.load_smpl()


@pytest.fixture(scope="module")
def mano():
    return body.load_mano()


def _edge_counts(faces: np.ndarray) -> tuple[Counter, Counter]:
    directed = Counter((int(a), int(b)) for f in faces for a, b in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])))
    undirected = Counter()
    for (a, b), n in directed.items():
        undirected[(min(a, b), max(a, b))] += n
    return directed, undirected


def _reference_fk(rotvecs: np.ndarray, rest: np.ndarray, parents: list[int]) -> np.ndarray:
    """Independent numpy forward kinematics with scipy rotations (paper eqs. 1-4)."""
    R = Rotation.from_rotvec(rotvecs).as_matrix()
    glob_R, glob_t = [R[0]], [rest[0]]
    for j in range(1, len(parents)):
        p = parents[j]
        glob_t.append(glob_R[p] @ (rest[j] - rest[p]) + glob_t[p])
        glob_R.append(glob_R[p] @ R[j])
    return np.stack(glob_t)


def test_smpl_standin_loads_with_real_tree(smpl) -> None:
    assert body.is_standin(smpl)
    assert smpl.v_template.shape == (6890, 3) and smpl.faces.shape[1] == 3
    assert smpl.parents.tolist() == list(body.SMPL_PARENTS)
    assert len(body.SMPL_JOINT_NAMES) == 24 and body.SMPL_JOINT_NAMES[20] == "left_wrist"
    rng = np.random.default_rng(0)
    pose = rng.normal(scale=0.4, size=(24, 3))
    betas = torch.from_numpy(rng.normal(size=(1, 10))).float()
    out = smpl(betas=betas, global_orient=torch.from_numpy(pose[:1]).float().reshape(1, 3),
               body_pose=torch.from_numpy(pose[1:]).float().reshape(1, 69), transl=torch.zeros(1, 3))
    assert out.joints.shape == (1, 45, 3)
    v_shaped = smpl.v_template + torch.einsum("l,mkl->mk", betas[0], smpl.shapedirs)
    rest = (smpl.J_regressor @ v_shaped).detach().double().numpy()
    expected = _reference_fk(pose, rest, list(body.SMPL_PARENTS))
    np.testing.assert_allclose(out.joints[0, :24].detach().numpy(), expected, atol=1e-5)


def test_smpl_standin_body_is_plausible(smpl) -> None:
    out = smpl()
    v, j = out.vertices[0].detach().numpy(), out.joints[0].detach().numpy()
    assert 1.6 < np.ptp(v[:, 1]) < 1.9
    assert 1.5 < np.ptp(v[:, 0]) < 1.9  # T-pose arm span
    names = body.SMPL_JOINT_NAMES
    for k, name in enumerate(names):
        if name.startswith("left_"):
            assert j[k, 0] > 0 and j[names.index("right_" + name[5:]), 0] < 0
    assert j[15, 1] > j[12, 1] > j[9, 1] > j[0, 1] > j[4, 1] > j[7, 1]
    # smplx's vertex-picked joints sit at sensible places: nose on the head, toes low/front, tips outward
    nose, ltoe, lheel, lindex = v[332], v[3216], v[3387], v[2319]
    assert nose[1] > j[12, 1] and nose[2] > j[15, 2]
    assert ltoe[1] < j[7, 1] and ltoe[2] > lheel[2] and ltoe[0] > 0
    assert lindex[0] > j[22, 0] > j[20, 0]
    assert v[411, 1] == pytest.approx(v[:, 1].max(), abs=0.02)


def test_smpl_standin_mesh_is_closed_and_oriented(smpl) -> None:
    directed, undirected = _edge_counts(smpl.faces)
    assert all(n == 2 for n in undirected.values())
    assert all(n == 1 for n in directed.values())
    tri = smpl.v_template.double().numpy()[smpl.faces.astype(np.int64)]
    volume = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6
    assert 0.04 < volume < 0.15  # m^3 (a person: ~0.07)
    np.testing.assert_allclose(smpl.lbs_weights.sum(1).numpy(), 1.0, atol=1e-6)


def test_smpl_shape_directions_change_limbs(smpl) -> None:
    def joints(betas: torch.Tensor) -> np.ndarray:
        return smpl(betas=betas).joints[0, :24].detach().numpy()

    base = joints(torch.zeros(1, 10))
    arm = lambda j: np.linalg.norm(j[20] - j[16])  # noqa: E731
    leg = lambda j: np.linalg.norm(j[7] - j[1])  # noqa: E731
    long_arms = joints(torch.tensor([[0, 0, 2.0, 0, 0, 0, 0, 0, 0, 0]]))
    long_legs = joints(torch.tensor([[0, 0, 0, 2.0, 0, 0, 0, 0, 0, 0]]))
    assert arm(long_arms) > 1.05 * arm(base) and leg(long_arms) == pytest.approx(leg(base), abs=1e-5)
    assert leg(long_legs) > 1.05 * leg(base)
    girth = smpl(betas=torch.tensor([[0, 2.0, 0, 0, 0, 0, 0, 0, 0, 0]])).vertices[0].detach().numpy()
    base_v = smpl().vertices[0].detach().numpy()
    waist = (np.abs(base_v[:, 1] - base[3, 1]) < 0.03) & (np.abs(base_v[:, 0]) < 0.2)
    assert np.ptp(girth[waist, 2]) > np.ptp(base_v[waist, 2]) * 1.1


def test_mano_standin(mano) -> None:
    assert body.is_standin(mano)
    assert mano.v_template.shape == (778, 3) and mano.faces.shape == (1538, 3)
    assert mano.parents.tolist() == list(body.MANO_PARENTS_16)
    out = mano(betas=torch.zeros(1, 10), global_orient=torch.zeros(1, 3), hand_pose=torch.zeros(1, 45))
    j21 = body.mano_joints21(out, mano)[0].detach().numpy()
    assert j21.shape == (21, 3)
    np.testing.assert_allclose(j21[4], out.vertices[0, 745].detach().numpy())
    wrist_dist = np.linalg.norm(j21 - j21[0], axis=1)
    for child, parent in enumerate(body.MANO_PARENTS_21):
        if parent > 0:
            assert wrist_dist[child] > wrist_dist[parent]
    assert 0.15 < wrist_dist.max() < 0.22
    _, undirected = _edge_counts(mano.faces)
    assert sum(n == 1 for n in undirected.values()) == 16  # open wrist, like MANO
    rng = np.random.default_rng(1)
    pose = rng.normal(scale=0.3, size=(16, 3))
    posed = mano(global_orient=torch.from_numpy(pose[:1]).float(),
                 hand_pose=torch.from_numpy(pose[1:]).float().reshape(1, 45))
    np.testing.assert_allclose(posed.joints[0].detach().numpy(),
                               _reference_fk(pose, mano.J_regressor.numpy() @ mano.v_template.numpy(),
                                             list(body.MANO_PARENTS_16)), atol=1e-5)


def test_left_mano_mirrors_right(mano) -> None:
    left = body.load_mano(is_rhand=False)
    np.testing.assert_allclose(left.v_template.numpy(), mano.v_template.numpy() * [-1, 1, 1], atol=1e-7)
    assert left.faces.shape == (1538, 3)


def test_part_labels() -> None:
    labels = body.smpl_part_labels()
    assert labels.shape == (6890,) and set(labels.tolist()) == set(range(14))
    names = body.SMPL_PART_NAMES
    assert names[0] == "head" and names[11] == "torso" and len(names) == 14
    assert names[labels[332]] == "head" and names[labels[3216]] == "left_foot"
    assert names[labels[2319]] == "left_forearm" and names[labels[5782]] == "right_forearm"


def test_missing_real_files_raise_helpful_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"smpl\.is\.tue\.mpg\.de.*make_body_models") as err:
        body.load_smpl(tmp_path)
    assert str(tmp_path / "smpl" / "SMPL_NEUTRAL.pkl") in str(err.value)
    with pytest.raises(FileNotFoundError, match=r"mano\.is\.tue\.mpg\.de"):
        body.load_mano(tmp_path, is_rhand=False)
    with pytest.raises(FileNotFoundError, match="behave-dataset"):
        body.smpl_part_labels(tmp_path)


def test_script_writes_identical_labelled_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body.load_smpl()
    monkeypatch.setattr(sys, "argv", ["make_body_models.py", "--out", str(tmp_path)])
    runpy.run_path(str(REPO / "scripts" / "make_body_models.py"), run_name="__main__")
    for rel in ("smpl/SMPL_NEUTRAL.pkl", "mano/MANO_RIGHT.pkl", "mano/MANO_LEFT.pkl", "smpl_parts_dense.pkl"):
        assert (tmp_path / rel).read_bytes() == (body.standin_dir() / rel).read_bytes(), rel
    assert "NOT the real" in (tmp_path / "STANDIN_README.txt").read_text()
    with open(tmp_path / "smpl" / "SMPL_NEUTRAL.pkl", "rb") as f:
        assert pickle.load(f)["standin"] is True
    assert body.is_standin(tmp_path / "mano" / "MANO_RIGHT.pkl")
    real_layout = body.load_smpl(tmp_path, gender="female")
    assert body.is_standin(real_layout)


def test_standin_generation_is_fast() -> None:
    start = time.perf_counter()
    build_standin_mano(True)
    assert time.perf_counter() - start < 2.0
