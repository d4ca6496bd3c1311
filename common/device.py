"""Device selection: the one place that decides between CUDA and CPU."""

from __future__ import annotations

import os

import torch


def default_device(spec: str | torch.device | None = None) -> torch.device:
    """`spec` as a torch.device when given ("cpu", "cuda:1", ...); otherwise this rank's GPU if CUDA is available
    (cuda:LOCAL_RANK under torchrun / accelerate, cuda:0 alone), else CPU.

    An explicit CUDA spec on a machine without CUDA raises instead of silently running on the CPU.
    """
    if spec is None or spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {spec!r} requested but CUDA is not available; use 'cpu' or 'auto'")
    return device
