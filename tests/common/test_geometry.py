"""common.geometry against scipy.spatial.transform and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from common import geometry as G


@pytest.fixture
def rotations() -> Rotation:
    """Random rotations plus the identity, tiny angles and angles close to pi."""
    rng = np.random.default_rng(0)
    rotvecs = [np.zeros(3), [1e-7, 0, 0], [0, 0, np.pi - 1e-4], [np.pi / np.sqrt(2), np.pi / np.sqrt(2), 0]]
    return Rotation.concatenate([Rotation.from_rotvec(rotvecs), Rotation.random(64, random_state=rng)])


def test_axis_angle_to_matrix_matches_scipy(rotations: Rotation) -> None:
    aa = torch.from_numpy(rotations.as_rotvec())
    np.testing.assert_allclose(G.axis_angle_to_matrix(aa).numpy(), rotations.as_matrix(), atol=1e-10)
    assert G.rodrigues is G.axis_angle_to_matrix
    f32 = G.axis_angle_to_matrix(aa.float())
    assert f32.dtype == torch.float32
    np.testing.assert_allclose(f32.numpy(), rotations.as_matrix(), atol=1e-5)


def test_matrix_to_axis_angle_matches_scipy(rotations: Rotation) -> None:
    R = torch.from_numpy(rotations.as_matrix())
    ours = Rotation.from_rotvec(G.matrix_to_axis_angle(R).numpy())
    assert np.all((ours.inv() * rotations).magnitude() < 1e-6)
    np.testing.assert_allclose(np.linalg.norm(G.matrix_to_axis_angle(R).numpy(), axis=-1),
                               rotations.magnitude(), atol=1e-6)


def test_quaternions_match_scipy(rotations: Rotation) -> None:
    xyzw = rotations.as_quat()
    wxyz = torch.from_numpy(np.concatenate([xyzw[:, 3:], xyzw[:, :3]], axis=1))
    np.testing.assert_allclose(G.quaternion_to_matrix(wxyz).numpy(), rotations.as_matrix(), atol=1e-10)
    ours = G.matrix_to_quaternion(torch.from_numpy(rotations.as_matrix())).numpy()
    same_up_to_sign = np.minimum(np.abs(ours - wxyz.numpy()).max(1), np.abs(ours + wxyz.numpy()).max(1))
    assert same_up_to_sign.max() < 1e-8
    aa = G.quaternion_to_axis_angle(wxyz)
    assert np.all((Rotation.from_rotvec(aa.numpy()).inv() * rotations).magnitude() < 1e-6)
    np.testing.assert_allclose(G.axis_angle_to_quaternion(aa).numpy(), ours, atol=1e-6)
    a, b = rotations[:10], rotations[10:20]
    qa, qb = (G.matrix_to_quaternion(torch.from_numpy(r.as_matrix())) for r in (a, b))
    np.testing.assert_allclose(G.quaternion_to_matrix(G.quaternion_multiply(qa, qb)).numpy(),
                               (a * b).as_matrix(), atol=1e-10)


def test_rot6d_roundtrip_and_projection() -> None:
    R = torch.from_numpy(Rotation.random(32, random_state=1).as_matrix())
    np.testing.assert_allclose(G.rot6d_to_matrix(G.matrix_to_rot6d(R)).numpy(), R.numpy(), atol=1e-12)
    out = G.rot6d_to_matrix(torch.randn(32, 6, dtype=torch.float64))
    eye = torch.eye(3, dtype=torch.float64).expand(32, 3, 3)
    np.testing.assert_allclose((out @ out.transpose(1, 2)).numpy(), eye.numpy(), atol=1e-12)
    np.testing.assert_allclose(torch.det(out).numpy(), 1.0, atol=1e-12)


def test_rotation_gradients_finite_at_zero() -> None:
    aa = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    G.axis_angle_to_matrix(aa).sum().backward()
    assert torch.isfinite(aa.grad).all()
    # d/daa of R(aa) at zero is the skew generator: R ~ I + [aa]x, so d(R[2,1])/d(aa_x) = 1
    aa1 = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    G.axis_angle_to_matrix(aa1)[0, 2, 1].backward()
    np.testing.assert_allclose(aa1.grad.numpy(), [[1.0, 0.0, 0.0]], atol=1e-12)


def test_procrustes_recovers_known_similarity() -> None:
    gen = torch.Generator().manual_seed(0)
    src = torch.randn(5, 30, 3, generator=gen, dtype=torch.float64)
    R = torch.from_numpy(Rotation.random(5, random_state=2).as_matrix())
    s = torch.tensor([0.5, 1.0, 2.0, 3.3, 0.01], dtype=torch.float64)
    t = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    dst = G.apply_similarity(src, s, R, t)
    s_hat, R_hat, t_hat = G.similarity_procrustes(src, dst)
    np.testing.assert_allclose(s_hat.numpy(), s.numpy(), rtol=1e-10)
    np.testing.assert_allclose(R_hat.numpy(), R.numpy(), atol=1e-10)
    np.testing.assert_allclose(t_hat.numpy(), t.numpy(), atol=1e-10)


def test_procrustes_reflection_fix_and_weights() -> None:
    gen = torch.Generator().manual_seed(1)
    src = torch.randn(1, 50, 3, generator=gen, dtype=torch.float64)
    mirrored = src * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    _, R, _ = G.similarity_procrustes(src, mirrored)
    np.testing.assert_allclose(torch.det(R).numpy(), [1.0], atol=1e-12)
    # outliers with zero weight must not change the fit
    R_true = torch.from_numpy(Rotation.from_rotvec([0.3, -0.2, 0.5]).as_matrix())[None]
    scale = torch.tensor([1.5], dtype=torch.float64)
    dst = G.apply_similarity(src, scale, R_true, torch.zeros(1, 3, dtype=torch.float64))
    dst[:, :10] += 5.0
    weights = torch.ones(1, 50, dtype=torch.float64)
    weights[:, :10] = 0.0
    s, R_hat, _ = G.similarity_procrustes(src, dst, weights)
    np.testing.assert_allclose(R_hat.numpy(), R_true.numpy(), atol=1e-10)
    np.testing.assert_allclose(s.numpy(), [1.5], rtol=1e-10)


def test_procrustes_rotation_matches_scipy_align_vectors() -> None:
    rng = np.random.default_rng(3)
    src = rng.normal(size=(40, 3))
    dst = src @ Rotation.random(random_state=4).as_matrix().T + rng.normal(scale=0.1, size=(40, 3))
    w = rng.uniform(0.1, 1.0, size=40)
    _, R, _ = G.similarity_procrustes(torch.from_numpy(src)[None], torch.from_numpy(dst)[None],
                                      torch.from_numpy(w)[None])
    mu_s, mu_d = (w[:, None] * src).sum(0) / w.sum(), (w[:, None] * dst).sum(0) / w.sum()
    ref, _ = Rotation.align_vectors(dst - mu_d, src - mu_s, weights=w)
    np.testing.assert_allclose(R[0].numpy(), ref.as_matrix(), atol=1e-8)


def test_project_unproject_closed_form() -> None:
    K = torch.tensor([[500.0, 0.0, 320.0], [0.0, 520.0, 240.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    pts = torch.tensor([[[0.1, -0.2, 2.0], [0.0, 0.0, 1.0], [-0.5, 0.3, 4.0]]], dtype=torch.float64)
    uv = G.project(pts, K)
    expected = torch.stack([500 * pts[..., 0] / pts[..., 2] + 320, 520 * pts[..., 1] / pts[..., 2] + 240], -1)
    np.testing.assert_allclose(uv.numpy(), expected.numpy(), atol=1e-12)
    np.testing.assert_allclose(G.unproject(uv, pts[..., 2], K).numpy(), pts.numpy(), atol=1e-12)
    batched_K = K.expand(2, 3, 3)
    assert G.project(pts.expand(2, 3, 3), batched_K).shape == (2, 3, 2)


def test_rigid_transforms() -> None:
    R = torch.from_numpy(Rotation.random(4, random_state=5).as_matrix())
    t = torch.randn(4, 3, dtype=torch.float64)
    T = G.make_rigid(R, t)
    pts = torch.randn(4, 7, 3, dtype=torch.float64)
    homog = torch.cat([pts, torch.ones(4, 7, 1, dtype=torch.float64)], -1) @ T.transpose(1, 2)
    np.testing.assert_allclose(G.rigid_transform(pts, R, t).numpy(), homog[..., :3].numpy(), atol=1e-12)
    eye = torch.eye(4, dtype=torch.float64).expand(4, 4, 4)
    np.testing.assert_allclose((G.invert_rigid(T) @ T).numpy(), eye.numpy(), atol=1e-12)
    np.testing.assert_allclose(G.invert_rigid(T).numpy(), torch.linalg.inv(T).numpy(), atol=1e-12)
