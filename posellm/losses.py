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
    place = torch.zeros_like(targets)
    for t in range(1, targets.shape[1]):
        place[:, t] = torch.where(digit[:, t] & digit[:, t - 1], place[:, t - 1] + 1, 0)
    table = torch.as_tensor(weights, dtype=torch.float32, device=targets.device)
    return torch.where(digit, table[place.clamp(max=len(weights) - 1)], 1.0)


def answer_loss(logits: Tensor, labels: Tensor, is_digit: Tensor, weights: Sequence[float]) -> Tensor:
    """Weighted mean next-token cross-entropy (nats) over labelled tokens; all-ones weights = the HF LM loss."""
    targets = labels[:, 1:]
    valid = targets != IGNORE_INDEX
    ce = F.cross_entropy(logits[:, :-1].float().transpose(1, 2), targets.clamp(min=0), reduction="none")
    w = digit_place_weights(targets, is_digit, weights) * valid
    return (ce * w).sum() / w.sum().clamp(min=1e-8)
