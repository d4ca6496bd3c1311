"""TIGeR refinement losses: L_rec (Chamfer), L_mask, L_ph, L_po, L_weight and L_proj (units in docstrings)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from tiger.config import TigerModelConfig
from tiger.model.attention import expected_region
from tiger.model.network import TigerOutput
from tiger.model.pose import camera_to_uvd

M_TO_CM = 100.0


def chamfer_squared(pred: Tensor, gt: Tensor) -> Tensor:
    """Per-sample squared Chamfer (B,): mean_i min_j |p_i-g_j|^2 + mean_j min_i |g_j-p_i|^2 (input units^2)."""
    d2 = torch.cdist(pred, gt).pow(2)
    return d2.min(2).values.mean(1) + d2.min(1).values.mean(1)


def attention_weight_loss(out: TigerOutput, gt_points: Tensor, prior_to_gt: Tensor, K: Tensor) -> Tensor:
    """L_weight: squared distance (W_2 cells^2) between each level-2 patch's soft-argmax region and the
    projection of its pseudo-corresponding GT point (paper uses argmax; soft-argmax keeps it differentiable)."""
    target_idx = torch.gather(prior_to_gt, 1, out.sa2_index)
    target = torch.gather(gt_points, 1, target_idx.unsqueeze(-1).expand(-1, -1, 3))
    uv, _ = camera_to_uvd(target, K)
    target_cells = (uv + 0.5) / out.grid2_stride - 0.5
    pred_cells = expected_region(out.attention2, out.grid2_hw)
    return (pred_cells - target_cells).pow(2).sum(-1).mean()


def projection_loss(out: TigerOutput, gt_points: Tensor, gt_to_prior: Tensor, gt_centre: Tensor,
                    K: Tensor) -> Tensor:
    """L_proj: mean pixel distance between phi(V_i) and phi(V~_J(i)); V~ placed at the GT centre."""
    refined = out.object_local + gt_centre.unsqueeze(1)
    matched = torch.gather(refined, 1, gt_to_prior.unsqueeze(-1).expand(-1, -1, 3))
    uv_pred, _ = camera_to_uvd(matched, K)
    uv_gt, _ = camera_to_uvd(gt_points, K)
    return (uv_pred - uv_gt).norm(dim=-1).mean()


def mask_loss(logits: Tensor, amodal_mask: Tensor) -> Tensor:
    """L_mask: BCE between predicted mask logits (B,1,h,w) and the area-resized amodal mask (B,H,W)."""
    target = F.adaptive_avg_pool2d(amodal_mask.unsqueeze(1).float(), logits.shape[-2:])
    return F.binary_cross_entropy_with_logits(logits, target)


def tiger_losses(out: TigerOutput, batch: dict[str, Tensor], cfg: TigerModelConfig) -> dict[str, Tensor]:
    """All terms (3D terms in cm^2) and their weighted sum under 'total'; the fine-tune stage uses L_rec on the
    assembled (centre-translated) object only."""
    gt_points, gt_centre = batch["object_points"], batch["object_centre"]
    if cfg.stage == "finetune":
        rec = chamfer_squared(out.object_points * M_TO_CM, gt_points * M_TO_CM).mean()
        return {"rec": rec, "total": rec}
    losses = {
        "rec": chamfer_squared(out.object_local * M_TO_CM, (gt_points - gt_centre.unsqueeze(1)) * M_TO_CM).mean(),
        "mask": mask_loss(out.mask_logits, batch["mask_amodal"]),
        "ph": ((out.hand_joints - batch["hand_joints"]) * M_TO_CM).pow(2).sum(-1).mean(),
        "po": ((out.object_centre - gt_centre) * M_TO_CM).pow(2).sum(-1).mean(),
    }
    if cfg.w_weight > 0:
        losses["weight"] = attention_weight_loss(out, gt_points, batch["prior_to_gt"], batch["K"])
    if cfg.w_proj > 0:
        losses["proj"] = projection_loss(out, gt_points, batch["gt_to_prior"], gt_centre, batch["K"])
    weights = {"rec": cfg.w_rec, "mask": cfg.w_mask, "ph": cfg.w_hand, "po": cfg.w_centre,
               "weight": cfg.w_weight, "proj": cfg.w_proj}
    losses["total"] = sum(weights[k] * v for k, v in losses.items())
    return losses
