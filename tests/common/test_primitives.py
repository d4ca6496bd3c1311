"""The one implementation of each shared primitive: 6D convention, Umeyama front-ends, meshes, device, subsets."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from common.data.subset import first_samples
from common.device import default_device
from common.geometry import matrix_to_rot6d, rot6d_to_matrix, umeyama
from common.geometry.meshes import read_mesh, sample_surface, write_mesh


def test_rot6d_convention_is_rows_pinned_by_closed_form() -> None:
    """(a1, a2) are the first two ROWS: a1=(1,1,0), a2=(0,0,1) gives rows b1, b2, b1 x b2 by hand."""
    r = 1 / math.sqrt(2)
    expected = np.array([[r, r, 0.0], [0.0, 0.0, 1.0], [r, -r, 0.0]])
    got = rot6d_to_matrix(torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0, 1.0], dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert not np.allclose(got, expected.T)  # the column-stacking convention would give the transpose
    # Gram-Schmidt on a non-orthogonal pair: a2 loses its a1 component; lengths do not matter
    got = rot6d_to_matrix(torch.tensor([2.0, 0.0, 0.0, 5.0, 3.0, 0.0], dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, np.eye(3), atol=1e-12)
    # a rotation about z by theta has rows (cos, -sin, 0), (sin, cos, 0)
    theta = 0.7
    rz = torch.tensor([[math.cos(theta), -math.sin(theta), 0], [math.sin(theta), math.cos(theta), 0], [0, 0, 1]],
                      dtype=torch.float64)
    np.testing.assert_allclose(matrix_to_rot6d(rz).numpy(), [math.cos(theta), -math.sin(theta), 0,
                                                             math.sin(theta), math.cos(theta), 0], atol=1e-12)


def test_umeyama_numpy_front_end_matches_per_sample_closed_form() -> None:
    rng = np.random.default_rng(0)
    src = rng.normal(size=(6, 20, 3))
    rot = Rotation.random(6, random_state=1).as_matrix()
    scale, shift = rng.uniform(0.5, 2.0, 6), rng.normal(size=(6, 3))
    dst = scale[:, None, None] * src @ rot.transpose(0, 2, 1) + shift[:, None] + rng.normal(scale=1e-3,
                                                                                         size=src.shape)
    s, R, t = umeyama(src, dst)
    for i in range(6):  # Umeyama 1991 eq. 40-42 written out per sample
        xs, xd = src[i] - src[i].mean(0), dst[i] - dst[i].mean(0)
        u, sig, vt = np.linalg.svd(xd.T @ xs / 20)
        d = np.diag([1, 1, np.sign(np.linalg.det(u @ vt))])
        r_ref = u @ d @ vt
        s_ref = np.trace(np.diag(sig) @ d) / (xs ** 2).sum(1).mean()
        np.testing.assert_allclose(R[i], r_ref, atol=1e-10)
        np.testing.assert_allclose(s[i], s_ref, rtol=1e-10)
        np.testing.assert_allclose(t[i], dst[i].mean(0) - s_ref * r_ref @ src[i].mean(0), atol=1e-10)
    s1, r1, t1 = umeyama(src[0], dst[0], with_scale=False)
    assert s1 == 1.0 and r1.shape == (3, 3) and t1.shape == (3,)
    mirrored = src[0] * np.array([-1.0, 1.0, 1.0])
    assert np.linalg.det(umeyama(src[0], mirrored)[1]) == pytest.approx(1.0)


def _ascii_ply(path: Path) -> None:
    """A square as one quad, written per the PLY format description (Turk 1994), by hand."""
    path.write_text("ply\nformat ascii 1.0\ncomment by hand\nelement vertex 4\nproperty float x\n"
                    "property float y\nproperty float z\nproperty uchar red\nproperty uchar green\n"
                    "property uchar blue\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
                    "0 0 0 255 0 0\n1 0 0 255 0 0\n1 1 0 255 0 0\n0 1 0 255 0 0\n4 0 1 2 3\n")


def _binary_ply(path: Path, verts: np.ndarray, faces: np.ndarray) -> None:
    """Binary little-endian PLY written with struct from the format description."""
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(verts)}\nproperty float x\n"
              f"property float y\nproperty float z\nelement face {len(faces)}\n"
              "property list uchar int vertex_indices\nend_header\n").encode()
    body = b"".join(struct.pack("<3f", *v) for v in verts)
    body += b"".join(struct.pack("<B3i", 3, *f) for f in faces)
    path.write_bytes(header + body)


def test_read_mesh_ply_ascii_binary_and_obj(tmp_path: Path) -> None:
    _ascii_ply(tmp_path / "quad.ply")
    verts, faces = read_mesh(tmp_path / "quad.ply")
    np.testing.assert_array_equal(verts, [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    assert faces.shape == (2, 3) and set(faces.ravel()) == {0, 1, 2, 3}
    tri = verts[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
    assert area == pytest.approx(1.0)
    rng = np.random.default_rng(3)
    v = rng.normal(size=(30, 3)).astype(np.float32)
    f = rng.integers(0, 30, size=(20, 3))
    _binary_ply(tmp_path / "bin.ply", v, f)
    verts, faces = read_mesh(tmp_path / "bin.ply")
    np.testing.assert_array_equal(verts, v.astype(np.float64))
    np.testing.assert_array_equal(faces, f)
    (tmp_path / "m.obj").write_text("# by hand\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nvt 0 0\nvt 1 0\n"
                                    "vn 0 0 1\nf 1/1/1 2/2/1 3/1/1\nf 1//1 3//1 4//1\nf -3 -2 -1\n")
    verts, faces = read_mesh(tmp_path / "m.obj")
    np.testing.assert_array_equal(verts, [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(faces, [[0, 1, 2], [0, 2, 3], [1, 2, 3]])
    write_mesh(tmp_path / "out" / "copy.obj", v, f)
    np.testing.assert_allclose(read_mesh(tmp_path / "out" / "copy.obj")[0], v, atol=1e-6)
    with pytest.raises(FileNotFoundError, match=r"missing\.ply"):
        read_mesh(tmp_path / "missing.ply")


def test_sample_surface_accepts_generator_and_torch() -> None:
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=float)
    faces = np.array([[0, 1, 2]])
    a = sample_surface(verts, faces, 100, np.random.default_rng(5))
    b = sample_surface(torch.from_numpy(verts), torch.from_numpy(faces), 100, 5)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="zero surface area"):
        sample_surface(np.zeros((3, 3)), faces, 10)


def test_first_samples_and_device(monkeypatch: pytest.MonkeyPatch) -> None:
    assert first_samples(list(range(10)), None) == list(range(10))
    assert first_samples(list(range(10)), 3) == [0, 1, 2]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=r"data\.max_samples"):
            first_samples([1, 2], bad)
    assert default_device("cpu") == torch.device("cpu")
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    if torch.cuda.is_available():
        monkeypatch.setenv("LOCAL_RANK", "0")
        assert default_device() == torch.device("cuda", 0)
    else:
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            default_device("cuda")
