"""Writes tests/tiger/data/tigernet_tiny (a committed model folder) and its reference outputs; run from the repo root
only when the folder format changes on purpose (tests/tiger/test_model_folder.py keeps old folders loading)."""
from pathlib import Path

import numpy as np
import torch

from common.models import ModelCardInfo
from tiger.config import PriorConfig, TigerModelConfig
from tiger.model.network import TigerNet

torch.manual_seed(0)
cfg = TigerModelConfig(prior=PriorConfig(num_points=32), input_size=32, hrnet_width=4, hrnet_stem=8,
                       pose_widths=[4, 8], sa1=[8, 8, 16], sa2=[16, 16, 32], sa1_points=16, sa2_points=4,
                       sa1_samples=8, sa2_samples=8, attention_hidden=16, decoder_widths=[16, 16], heatmap_size=8,
                       depth_bins=4, deconv_width=8)
model = TigerNet(cfg).eval()
with torch.no_grad():   # non-trivial heads so the reference output depends on every branch
    for p in model.parameters():
        p.add_(0.05 * torch.randn_like(p))
out_dir = Path("tests/tiger/data/tigernet_tiny")
model.save_pretrained(out_dir, card=ModelCardInfo(paper="tiger", data="none (random weights)",
                                                  notes="Committed format fixture (compatibility test)."))
g = torch.Generator().manual_seed(1)
image = torch.randn(2, 3, 32, 32, generator=g)
K = torch.tensor([[64.0, 0, 16], [0, 64.0, 16], [0, 0, 1]]).expand(2, 3, 3).contiguous()
prior = torch.nn.functional.normalize(torch.randn(2, 32, 3, generator=g), dim=-1)
root = torch.tensor([0.5, 0.6])
with torch.no_grad():
    o = model(image, K, prior, root)
np.savez(out_dir.parent / "tigernet_tiny_reference.npz", image=image.numpy(), K=K.numpy(), prior=prior.numpy(),
         root_depth=root.numpy(), object_points=o.object_points.numpy(), hand_joints=o.hand_joints.numpy())
