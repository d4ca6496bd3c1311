"""PointNet++ blocks, collaborative attention, uvd <-> camera, soft-argmax and the full network's shapes."""

from __future__ import annotations

import numpy as np
import torch

from tiger.config import TigerModelConfig
from tiger.model.attention import CollaborativeAttention, expected_region
from tiger.model.losses import chamfer_squared, tiger_losses
from tiger.model.network import TigerNet
from tiger.model.pointnet2 import (
    FeaturePropagation,
    SetAbstraction,
    farthest_point_sample,
    query_ball_point,
)
from tiger.model.pose import camera_to_uvd, soft_argmax_3d, uvd_to_camera


def _brute_force_fps(points: np.ndarray, npoint: int) -> list[int]:
    chosen = [0]
    dist = np.full(len(points), np.inf)
    for _ in range(npoint - 1):
        dist = np.minimum(dist, ((points - points[chosen[-1]]) ** 2).sum(1))
        chosen.append(int(dist.argmax()))
    return chosen


def test_farthest_point_sample_matches_brute_force() -> None:
    xyz = torch.rand(2, 100, 3, generator=torch.Generator().manual_seed(0))
    idx = farthest_point_sample(xyz, 12)
    for b in range(2):
        assert idx[b].tolist() == _brute_force_fps(xyz[b].numpy().astype(np.float64), 12)


def test_ball_query_returns_points_inside_the_radius() -> None:
    xyz = torch.rand(2, 200, 3, generator=torch.Generator().manual_seed(1))
    centres = xyz[:, :10]
    idx = query_ball_point(0.2, 8, xyz, centres)
    assert idx.shape == (2, 10, 8)
    picked = torch.gather(xyz, 1, idx.reshape(2, -1, 1).expand(-1, -1, 3)).reshape(2, 10, 8, 3)
    assert float((picked - centres.unsqueeze(2)).norm(dim=-1).max()) <= 0.2 + 1e-6
    inside = ((xyz.unsqueeze(1) - centres.unsqueeze(2)).norm(dim=-1) <= 0.2).sum(-1)
    distinct = torch.tensor([[len(set(idx[b, s].tolist())) for s in range(10)] for b in range(2)])
    assert torch.equal(distinct, inside.clamp(max=8))


def test_set_abstraction_and_propagation_shapes() -> None:
    xyz = torch.randn(3, 128, 3)
    sa1 = SetAbstraction(32, 0.5, 16, 0, [16, 32])
    sa2 = SetAbstraction(8, 1.0, 8, 32, [32, 64])
    c1, f1, i1 = sa1(xyz, None)
    c2, f2, i2 = sa2(c1, f1)
    assert c1.shape == (3, 32, 3) and f1.shape == (3, 32, 32) and i1.shape == (3, 32)
    assert c2.shape == (3, 8, 3) and f2.shape == (3, 8, 64) and i2.shape == (3, 8)
    assert torch.equal(torch.gather(xyz, 1, i1.unsqueeze(-1).expand(-1, -1, 3)), c1)
    up = FeaturePropagation(32 + 64, [48])(c1, c2, f1, f2)
    assert up.shape == (3, 32, 48)
    full = FeaturePropagation(3 + 48, [24])(xyz, c1, xyz, up)
    assert full.shape == (3, 128, 24)


def test_collaborative_attention_shapes_and_weights() -> None:
    att = CollaborativeAttention(geo_channels=32, vis_channels=16, global_channels=48, num_regions=64)
    fused, weights = att(torch.randn(2, 10, 32), torch.randn(2, 16, 8, 8), torch.randn(2, 48))
    assert fused.shape == (2, 10, 48) and weights.shape == (2, 10, 64)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 10))
    one_hot = torch.zeros(1, 1, 64)
    one_hot[0, 0, 8 * 5 + 3] = 1.0                       # row 5, column 3
    torch.testing.assert_close(expected_region(one_hot, (8, 8)), torch.tensor([[[3.0, 5.0]]]))


def test_uvd_camera_round_trip_with_intrinsics() -> None:
    gen = torch.Generator().manual_seed(2)
    K = torch.tensor([[[600.0, 0.0, 320.0], [0.0, 610.0, 240.0], [0.0, 0.0, 1.0]]]).repeat(4, 1, 1)
    points = torch.randn(4, 21, 3, generator=gen) * 0.1 + torch.tensor([0.0, 0.0, 0.6])
    uv, depth = camera_to_uvd(points, K)
    np_uv = (points[0].numpy() @ K[0].numpy().T)[:, :2] / points[0, :, 2:].numpy()
    np.testing.assert_allclose(uv[0].numpy(), np_uv, rtol=1e-5)
    torch.testing.assert_close(uvd_to_camera(uv, depth, K), points, rtol=1e-5, atol=1e-6)


def test_soft_argmax_of_a_peaked_volume() -> None:
    logits = torch.full((1, 2, 4, 6, 5), -50.0)
    logits[0, 0, 1, 2, 3] = 50.0                         # d=1, y=2, x=3
    logits[0, 1, 3, 5, 0] = 50.0
    torch.testing.assert_close(soft_argmax_3d(logits), torch.tensor([[[3.0, 2.0, 1.0], [0.0, 5.0, 3.0]]]))


def test_network_forward_shapes_and_losses_backprop() -> None:
    cfg = TigerModelConfig()
    model = TigerNet(cfg)
    b, n = 2, cfg.prior.num_points
    K = torch.tensor([[128.0, 0, 32], [0, 128.0, 32], [0, 0, 1]]).expand(b, 3, 3).contiguous()
    prior = torch.nn.functional.normalize(torch.randn(b, n, 3), dim=-1)
    out = model(torch.randn(b, 3, 64, 64), K, prior, torch.full((b,), 0.5))
    assert out.object_local.shape == (b, n, 3) and out.object_centre.shape == (b, 3)
    assert out.hand_joints.shape == (b, 21, 3) and out.attention2.shape == (b, cfg.sa2_points, 64)
    assert out.mask_logits.shape == (b, 1, 8, 8) and out.sa2_index.shape == (b, cfg.sa2_points)
    batch = {"object_points": torch.randn(b, 64, 3) * 0.05 + torch.tensor([0, 0, 0.5]),
             "object_centre": torch.tensor([[0, 0, 0.5]] * b), "hand_joints": torch.randn(b, 21, 3) * 0.05,
             "mask_amodal": torch.ones(b, 64, 64), "K": K, "prior_to_gt": torch.randint(0, 64, (b, n)),
             "gt_to_prior": torch.randint(0, n, (b, 64))}
    losses = tiger_losses(out, batch, cfg)
    assert set(losses) == {"rec", "mask", "ph", "po", "weight", "proj", "total"}
    losses["total"].backward()
    assert model.att2.score[0].weight.grad is not None


def test_chamfer_matches_brute_force() -> None:
    a, b = torch.randn(1, 30, 3), torch.randn(1, 20, 3)
    d = ((a[0, :, None] - b[0, None]) ** 2).sum(-1)
    expected = d.min(1).values.mean() + d.min(0).values.mean()
    torch.testing.assert_close(chamfer_squared(a, b)[0], expected)
