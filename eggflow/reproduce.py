"""Reproduction hooks of eggflow (tables are configs/reproduce/eggflow.yaml): the forecast figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.reproduce import ReproduceContext
from eggflow.api import PREDICTIONS
from eggflow.figures import plot_forecasts


def figures(ctx: ReproduceContext) -> list[Path]:
    """Wrist forecasts of the headline run's first seed (predictions saved by `eggflow.api`)."""
    record = ctx.runs["main"][0]
    with np.load(Path(record.run_dir) / PREDICTIONS) as saved:
        out = {k: saved[k] for k in saved.files}
    return [plot_forecasts(ctx.out_dir / "forecasts.png", out, out["cvm"], out["frames"], list(out["texts"]),
                           title_data=ctx.data)]
