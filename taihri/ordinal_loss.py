"""Optional SFT loss with ordinal soft targets on bin tokens (tiny synthetic config; the paper uses plain CE)."""

from __future__ import annotations

from collections.abc import Callable

import torch

IGNORE_INDEX = -100


def ordinal_bin_loss(bin_ids: list[int], vocab_size: int, sigma_bins: float) -> Callable[..., torch.Tensor]:
    """Loss for TRL's `compute_loss_func`: CE whose target at a bin label is a Gaussian over bin values.

    Non-bin labels keep one-hot targets; sigma is in bins; labels are unshifted (-100 = ignored).
    """
    values = torch.arange(len(bin_ids), dtype=torch.float32)
    kernel = torch.exp(-0.5 * ((values[:, None] - values[None]) / sigma_bins) ** 2)
    kernel = kernel / kernel.sum(-1, keepdim=True)
    ids = torch.as_tensor(bin_ids, dtype=torch.long)
    bin_index = torch.full((vocab_size,), -1, dtype=torch.long)
    bin_index[ids] = torch.arange(len(bin_ids))

    def loss(outputs, labels: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None) -> torch.Tensor:
        target = labels[:, 1:]
        valid = target != IGNORE_INDEX
        log_probs = outputs.logits[:, :-1][valid].float().log_softmax(-1)
        target = target[valid]
        per_token = -log_probs.gather(-1, target[:, None])[:, 0]
        index = bin_index.to(target.device)[target]
        is_bin = index >= 0
        soft = kernel.to(log_probs.device)[index[is_bin]]
        per_token = per_token.masked_scatter(is_bin, -(soft * log_probs[is_bin][:, ids.to(log_probs.device)]).sum(-1))
        count = valid.sum() if num_items_in_batch is None else num_items_in_batch
        return per_token.sum() / torch.as_tensor(count, device=per_token.device).clamp(min=1)

    return loss
