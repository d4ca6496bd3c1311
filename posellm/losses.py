"""Answer loss: causal-LM cross-entropy on answer tokens, optionally weighted by a digit's place in its number."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from posellm.text import IGNORE_INDEX


def digit_place_weights(targets: Tensor, is_digit: Tensor, weights: Sequence[float]) -> Tensor:
    """(B, T) weight of each target: the k-th digit of a digit run gets weights[min(k, len-1)], others 1.

    In '[0.512,0.334]' the digits after '.' are places 0, 1, 2 (tenths, hundredths, thousandths).
    """
    digit = is_digit[targets.clamp(min=0)] & (targets != IGNORE_INDEX)
    index = torch.arange(targets.shape[1], device=targets.device).expand_as(targets)
    run_start = torch.where(digit, -1, index).cummax(1).values      # last non-digit position at or before t
    place = (index - run_start - 1).clamp(min=0)
    table = torch.as_tensor(weights, dtype=torch.float32, device=targets.device)
    return torch.where(digit, table[place.clamp(max=len(weights) - 1)], 1.0)


def labelled_loss(logits: Tensor, targets: Tensor, weights: Tensor) -> Tensor:
    """Weighted mean cross-entropy (nats) of logits (N, V) at the labelled positions only, targets (N,)."""
    ce = F.cross_entropy(logits.float(), targets, reduction="none")
    return (ce * weights).sum() / weights.sum().clamp(min=1e-8)
