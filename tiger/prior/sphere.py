"""The unit-sphere prior (the baseline start of template-free methods)."""

from __future__ import annotations

import numpy as np

from tiger.prior.base import PriorSource


def fibonacci_sphere(num_points: int) -> np.ndarray:
    """Evenly spread points (N,3) on the unit sphere (unitless)."""
    k = np.arange(num_points) + 0.5
    polar = np.arccos(1.0 - 2.0 * k / num_points)
    azimuth = np.pi * (1.0 + 5.0 ** 0.5) * k
    return np.stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)],
                    1).astype(np.float32)


class SpherePrior(PriorSource):
    """Same unit sphere for every category."""

    name = "sphere"

    def _make(self, category: str) -> np.ndarray:
        return fibonacci_sphere(max(self.num_points * 4, 2048))
