"""DGCNN (Wang et al.) in the key layout of the reference PyTorch checkpoints (WangYueFt/dgcnn `pytorch/model.py`),
used only to score prior quality (Table 4(c) / Fig. 8): cosine similarity of the pooled 2*emb_dims features.

As in the reference, each BatchNorm is registered twice (`bn1` and `conv1.1`), so the state dict carries both
names; checkpoints saved from DataParallel need `prefix: module.`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from common.models.loading import PretrainedInit


def graph_features(x: Tensor, k: int) -> Tensor:
    """EdgeConv input (B,2C,N,k): [x_j - x_i, x_i] over the k nearest neighbours (feature space) of each x_i."""
    inner = -2 * torch.matmul(x.transpose(2, 1), x)
    sq = (x ** 2).sum(dim=1, keepdim=True)
    idx = (-sq - inner - sq.transpose(2, 1)).topk(k=k, dim=-1).indices          # (B,N,k)
    b = x.shape[0]
    points = x.transpose(2, 1)                                                    # (B,N,C)
    neighbours = points[torch.arange(b, device=x.device)[:, None, None], idx]    # (B,N,k,C)
    centre = points[:, :, None].expand(-1, -1, k, -1)
    return torch.cat([neighbours - centre, centre], dim=3).permute(0, 3, 1, 2).contiguous()


class DGCNN(nn.Module):
    """DGCNN classifier trunk; `features` returns the (B, 2*emb_dims) max||avg pooled embedding."""

    def __init__(self, k: int = 20, emb_dims: int = 1024, classes: int = 40,
                 pretrained: PretrainedInit | None = None) -> None:
        super().__init__()
        self.k = k
        widths = [(6, 64), (128, 64), (128, 128), (256, 256)]
        for i, (cin, cout) in enumerate(widths, start=1):
            bn = nn.BatchNorm2d(cout)
            setattr(self, f"bn{i}", bn)
            setattr(self, f"conv{i}", nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), bn, nn.LeakyReLU(0.2)))
        self.bn5 = nn.BatchNorm1d(emb_dims)
        self.conv5 = nn.Sequential(nn.Conv1d(512, emb_dims, 1, bias=False), self.bn5, nn.LeakyReLU(0.2))
        self.linear1 = nn.Linear(emb_dims * 2, 512, bias=False)
        self.bn6 = nn.BatchNorm1d(512)
        self.linear2 = nn.Linear(512, 256)
        self.bn7 = nn.BatchNorm1d(256)
        self.linear3 = nn.Linear(256, classes)
        if pretrained is not None:
            pretrained.load_into(self)

    def features(self, points: Tensor) -> Tensor:
        """Points (B,N,3), unit-sphere normalised -> pooled embedding (B, 2*emb_dims)."""
        x = points.transpose(1, 2)
        outs = []
        for i in range(1, 5):
            x = getattr(self, f"conv{i}")(graph_features(x, self.k)).max(dim=-1).values
            outs.append(x)
        x = self.conv5(torch.cat(outs, dim=1))
        return torch.cat([x.amax(dim=-1), x.mean(dim=-1)], dim=1)
