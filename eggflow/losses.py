"""EggHand's geometry-aware objective (L1 abs + L1 wrist-relative + squared pairwise, 0.6/0.2/0.2)."""

from __future__ import annotations

import torch
from torch import Tensor

from eggflow.canonical import WRISTS


def _masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    return (values * mask).sum() / mask.sum().clamp(min=1)


def absolute_l1(pred: Tensor, gt: Tensor, valid: Tensor) -> Tensor:
    """Masked L1 over coordinates of valid joints; pred/gt (B,H,42,3), valid (B,H,42)."""
    return _masked_mean((pred - gt).abs(), valid[..., None].expand_as(pred).float())


def wrist_relative_l1(pred: Tensor, gt: Tensor, valid: Tensor) -> Tensor:
    """L1 of (joint - its hand's wrist) for the 20 finger joints, where joint and wrist are valid."""
    losses, masks = [], []
    for wrist in WRISTS:
        fingers = slice(wrist + 1, wrist + 21)
        rel_p = pred[:, :, fingers] - pred[:, :, wrist:wrist + 1]
        rel_g = gt[:, :, fingers] - gt[:, :, wrist:wrist + 1]
        mask = (valid[:, :, fingers] & valid[:, :, wrist:wrist + 1])[..., None].expand_as(rel_p).float()
        losses.append((rel_p - rel_g).abs() * mask)
        masks.append(mask)
    return torch.cat(losses, 2).sum() / torch.cat(masks, 2).sum().clamp(min=1)


def pairwise_distance_loss(pred: Tensor, gt: Tensor, valid: Tensor) -> Tensor:
    """Squared difference of intra-hand pairwise joint distances (torch.cdist), over valid pairs."""
    total, count = pred.new_zeros(()), pred.new_zeros(())
    for wrist in WRISTS:
        hand = slice(wrist, wrist + 21)
        d_p = torch.cdist(pred[:, :, hand], pred[:, :, hand])
        d_g = torch.cdist(gt[:, :, hand], gt[:, :, hand])
        v = valid[:, :, hand]
        mask = (v[..., :, None] & v[..., None, :]).float()
        total = total + ((d_p - d_g) ** 2 * mask).sum()
        count = count + mask.sum()
    return total / count.clamp(min=1)


def egghand_loss(pred: Tensor, gt: Tensor, valid: Tensor,
                 weights: tuple[float, float, float] | list[float] = (0.6, 0.2, 0.2)) -> tuple[Tensor, dict]:
    """Weighted sum of the three terms on (B,H,42,3) poses (EggHand computes them in normalised space)."""
    terms = {"loss_abs": absolute_l1(pred, gt, valid), "loss_rel": wrist_relative_l1(pred, gt, valid),
             "loss_pair": pairwise_distance_loss(pred, gt, valid)}
    total = sum(w * t for w, t in zip(weights, terms.values()))
    return total, {k: float(v.detach()) for k, v in terms.items()}
