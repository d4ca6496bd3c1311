"""TIGeR refinement network: prior + image -> refined object points, object centre and 21 hand joints."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from common.geometry.rotations import rot6d_to_matrix
from common.models.hub import ModelFolderMixin
from common.models.loading import LoadReport
from tiger.config import TigerModelConfig
from tiger.model.attention import CollaborativeAttention
from tiger.model.hrnet import HRNet
from tiger.model.pointnet2 import FeaturePropagation, PointNet2Encoder
from tiger.model.pose import VolumetricPoseHead

NUM_HAND_JOINTS = 21


@dataclass
class TigerOutput:
    """Network outputs; points in metres, camera orientation; `object_local` is centred on the object centre."""

    object_local: Tensor        # (B,N,3) refined object points relative to the object centre
    object_centre: Tensor       # (B,3) camera frame
    hand_joints: Tensor         # (B,21,3) camera frame
    mask_logits: Tensor         # (B,1,h,w) amodal object mask logits
    attention2: Tensor          # (B,S2,h2*w2) second-block attention weights W_2
    attention1: Tensor          # (B,S1,h1*w1)
    sa2_index: Tensor           # (B,S2) prior point index of each level-2 patch centre
    grid2_hw: tuple[int, int]   # (h2, w2) of the W_2 region grid
    grid2_stride: float         # input pixels per W_2 cell

    @property
    def object_points(self) -> Tensor:
        """(B,N,3) refined object translated to the predicted centre, camera frame."""
        return self.object_local + self.object_centre.unsqueeze(1)


class TigerNet(nn.Module, ModelFolderMixin):
    """Object shape branch (HRNet + PointNet++ + 2D-3D attention + U-Net decoder) and the two pose branches.

    A model folder (`save_pretrained` / `common.models.load_model_folder`). Published encoder weights are
    loaded by `init_encoders()` (the training task calls it), never by the constructor, so a saved folder
    rebuilds without the pretraining files.
    """

    def __init__(self, cfg: TigerModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.visual = HRNet(cfg.hrnet_width, cfg.hrnet_stem, cfg.hrnet_stage1_blocks, tuple(cfg.hrnet_modules),
                            tuple(cfg.hrnet_blocks))
        c1, c2 = self.visual.channels[:2]
        cg = sum(self.visual.channels)
        s1, s2 = cfg.input_size // 4, cfg.input_size // 8
        self.grid1, self.grid2 = (s1, s1), (s2, s2)
        self.geometry = PointNet2Encoder((cfg.sa1_points, cfg.sa2_points), (cfg.sa1_radius, cfg.sa2_radius),
                                         (cfg.sa1_samples, cfg.sa2_samples), (cfg.sa1, cfg.sa2))
        self.att1 = CollaborativeAttention(cfg.sa1[-1], c1, cg, s1 * s1, cfg.attention_hidden)
        self.att2 = CollaborativeAttention(cfg.sa2[-1], c2, cg, s2 * s2, cfg.attention_hidden)
        d1, d2 = cfg.decoder_widths
        self.fp2 = FeaturePropagation(self.att1.out_channels + self.att2.out_channels, [d1, d1])
        self.fp1 = FeaturePropagation(3 + d1, [d1, d2])
        self.coord_head = nn.Sequential(nn.Linear(d2, d2), nn.ReLU(inplace=True), nn.Linear(d2, 3))
        nn.init.zeros_(self.coord_head[-1].weight)
        nn.init.zeros_(self.coord_head[-1].bias)
        self.pose_head = nn.Linear(cg + cfg.sa2[-1], 7)
        nn.init.zeros_(self.pose_head.weight)
        nn.init.zeros_(self.pose_head.bias)
        self.mask_head = nn.Sequential(nn.Conv2d(c2, c2, 3, 1, 1), nn.MaxPool2d(3, 1, 1), nn.Conv2d(c2, 1, 1))
        pose_args = dict(widths=cfg.pose_widths, layers=cfg.pose_layers, bottleneck=cfg.pose_bottleneck,
                         heatmap_size=cfg.heatmap_size, depth_bins=cfg.depth_bins, depth_range=cfg.depth_range,
                         input_size=cfg.input_size, deconv_width=cfg.deconv_width)
        self.hand_pose = VolumetricPoseHead(NUM_HAND_JOINTS, **pose_args)
        self.object_pose = VolumetricPoseHead(1, **pose_args)

    def init_encoders(self) -> list[LoadReport]:
        """Load the configured published weights (model.*_init) into the four encoders, strictly."""
        cfg = self.cfg
        pairs = ((cfg.hrnet_init, self.visual), (cfg.pointnet_init, self.geometry),
                 (cfg.hand_init, self.hand_pose.encoder), (cfg.object_pose_init, self.object_pose.encoder))
        return [report for init, module in pairs if (report := init.load_into(module)) is not None]

    def forward(self, image: Tensor, K: Tensor, prior: Tensor, root_depth: Tensor) -> TigerOutput:
        """image (B,3,H,W), crop K (B,3,3), canonical prior (B,N,3), wrist depth (B,) m -> TigerOutput."""
        branches, global_feat = self.visual(image)
        f1, f2 = branches[:2]
        xyz1, g1, sa1_index = self.geometry.sa1(prior, None)
        xyz2, g2, idx2_in1 = self.geometry.sa2(xyz1, g1)
        fused1, w1 = self.att1(g1, f1, global_feat)
        fused2, w2 = self.att2(g2, f2, global_feat)
        up1 = self.fp2(xyz1, xyz2, fused1, fused2)
        per_point = self.fp1(prior, xyz1, prior, up1)
        offsets = self.coord_head(per_point)
        similarity = self.pose_head(torch.cat([global_feat, g2.max(1).values], -1))
        rotation = rot6d_to_matrix(similarity[:, :6] + IDENTITY_6D.to(image))
        scale = self.cfg.object_scale * similarity[:, 6:].exp()
        local = scale.unsqueeze(-1) * (prior + offsets) @ rotation.transpose(1, 2)
        hand_joints, _ = self.hand_pose(image, K, root_depth)
        centre, _ = self.object_pose(image, K, root_depth)
        sa2_index = torch.gather(sa1_index, 1, idx2_in1)
        return TigerOutput(object_local=local, object_centre=centre[:, 0], hand_joints=hand_joints,
                           mask_logits=self.mask_head(f2), attention2=w2, attention1=w1, sa2_index=sa2_index,
                           grid2_hw=self.grid2, grid2_stride=self.cfg.input_size / self.grid2[0])


IDENTITY_6D = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
"""6D code of the identity in the project convention (first two rows, common.geometry.rot6d_to_matrix)."""
