"""CRRNet building blocks: k x k fusion against bilinear references, GRU shapes over T, loss of eq. 18."""

import numpy as np
import torch
import torch.nn.functional as F

from contact.config import ContactModelConfig
from contact.model import CRRNet, crr_loss, window_sample


def bilinear_reference(feat: np.ndarray, x: float, y: float) -> np.ndarray:
    """Bilinear interpolation of feat (C,h,w) at feature-pixel (x, y), zero outside (independent loop)."""
    c, h, w = feat.shape
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    out = np.zeros(c)
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= xx < w and 0 <= yy < h:
                out += wy * wx * feat[:, yy, xx]
    return out


def test_window_k1_equals_bilinear_sampling_at_the_point() -> None:
    torch.manual_seed(0)
    feat = torch.randn(1, 5, 8, 8, dtype=torch.float64)
    uv = torch.rand(1, 40, 2, dtype=torch.float64) * 36 - 2          # image 32x32, some outside
    got = window_sample(feat, uv, (32, 32), k=1)[0].numpy()
    for n in range(40):
        x, y = (uv[0, n] + 0.5).numpy() / 4 - 0.5                     # stride-4 feature pixels
        np.testing.assert_allclose(got[n], bilinear_reference(feat[0].numpy(), x, y), atol=1e-10)


def test_window_k3_is_mean_of_nine_shifted_samples_and_avg_pool_at_centres() -> None:
    torch.manual_seed(1)
    feat = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    uv = torch.rand(1, 10, 2, dtype=torch.float64) * 32
    got = window_sample(feat, uv, (32, 32), k=3)[0].numpy()
    for n in range(10):
        x, y = (uv[0, n] + 0.5).numpy() / 4 - 0.5
        ref = np.mean([bilinear_reference(feat[0].numpy(), x + dx, y + dy)
                       for dx in (-1, 0, 1) for dy in (-1, 0, 1)], axis=0)
        np.testing.assert_allclose(got[n], ref, atol=1e-10)
    centres = torch.tensor([[[2.0, 3.0], [5.0, 5.0]]], dtype=torch.float64)   # feature pixel centres
    pooled = F.avg_pool2d(feat, 5, stride=1, padding=2, count_include_pad=True)[0]
    got5 = window_sample(feat, (centres + 0.5) * 4 - 0.5, (32, 32), k=5)[0]
    for n, (x, y) in enumerate(centres[0].long().tolist()):
        torch.testing.assert_close(got5[n], pooled[:, y, x])


def test_crrnet_shapes_over_T_and_temporal_coupling() -> None:
    torch.manual_seed(0)
    cfg = ContactModelConfig(img_channels=8, point_hidden=16, gru_hidden=8, window=3)
    model = CRRNet(cfg).eval()
    for t in (1, 3):
        images, points = torch.rand(2, t, 3, 32, 32), torch.randn(2, t, 20, 3) * 0.1
        points[..., 2] += 2.0
        K = torch.tensor([[30.0, 0, 16], [0, 30, 16], [0, 0, 1]]).expand(2, t, 3, 3)
        logits = model(images, points, K)
        assert logits.shape == (2, t, 20, 15)
    changed = images.clone()
    changed[:, 2] = 0.0                                  # edit only the last frame ...
    with torch.no_grad():
        delta = (model(changed, points, K) - model(images, points, K)).abs().amax(dim=(0, 2, 3))
    assert delta[0] > 0                                  # ... the bidirectional GRU changes frame 0 too
    picr = CRRNet(ContactModelConfig(img_channels=8, point_hidden=16, window=1, temporal="none")).eval()
    with torch.no_grad():
        delta = (picr(changed, points, K) - picr(images, points, K)).abs().amax(dim=(0, 2, 3))
    assert delta[0] == 0 and delta[2] > 0                # the PiCR-style baseline is per frame


def test_loss_is_weighted_sum_over_points_mean_over_frames() -> None:
    torch.manual_seed(0)
    logits, labels = torch.randn(2, 3, 5, 15), torch.randint(0, 15, (2, 3, 5))
    logp = torch.log_softmax(logits, dim=-1).gather(-1, labels[..., None])[..., 0]
    expected = 0.006 * (-logp).sum(dim=2).mean(dim=1).mean()
    torch.testing.assert_close(crr_loss(logits, labels, 0.006), expected)
