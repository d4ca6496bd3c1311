"""EggHand-protocol evaluation (ADE/FDE on wrists, wrist-relative MPJPE/MPJPE-F) and per-horizon errors."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from common.metrics import egghand_metrics, mpjpe
from eggflow.canonical import WRISTS
from eggflow.model import EggFlowModel

METRICS = ("ade", "fde", "mpjpe", "mpjpe_f")


def forecast_metrics(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> dict[str, float]:
    """Paper metrics (metres) plus per-horizon wrist errors `wrist_h{k}` for (N,H,42,3) poses."""
    out = egghand_metrics(pred, gt, valid)
    metrics = {k: out[k] for k in METRICS}
    metrics.update({"abs_mpjpe": out["abs_mpjpe"], "abs_mpjpe_f": out["abs_mpjpe_f"]})
    for h in range(pred.shape[1]):
        metrics[f"wrist_h{h + 1}"] = mpjpe(pred[:, h, WRISTS], gt[:, h, WRISTS], valid[:, h, WRISTS])
    return metrics


@torch.no_grad()
def predict(model: EggFlowModel, loader: DataLoader, seed: int = 42) -> dict[str, np.ndarray]:
    """Run the 4-step sampler over a loader; returns pred, gt, valid and past as numpy (metres)."""
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    out: dict[str, list[np.ndarray]] = {"pred": [], "gt": [], "valid": [], "past": [], "past_valid": []}
    for batch in loader:
        batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        out["pred"].append(model.forecast(batch, generator).float().cpu().numpy())
        out["gt"].append(batch["future"].cpu().numpy())
        out["valid"].append(batch["future_valid"].cpu().numpy())
        out["past"].append(batch["past"].cpu().numpy())
        out["past_valid"].append(batch["past_valid"].cpu().numpy())
    return {k: np.concatenate(v) for k, v in out.items()}
