"""Device selection: the one place that decides between CUDA and CPU."""

from __future__ import annotations

import torch


def default_device(spec: str | torch.device | None = None) -> torch.device:
    """`spec` as a torch.device when given ("cpu", "cuda:1", ...); otherwise CUDA if available, else CPU.

    An explicit CUDA spec on a machine without CUDA raises instead of silently running on the CPU.
    """
    if spec is None or spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {spec!r} requested but CUDA is not available; use 'cpu' or 'auto'")
    return device
