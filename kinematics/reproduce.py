"""Hooks of the kinematics reproduction (tables: configs/reproduce/kinematics.yaml): its figures."""

from __future__ import annotations

from common.reproduce import ReproduceContext
from kinematics.figures import chain_figure, gamma_figure

PUBLISHED_PA_CHAMFER = {30.0: 5.12, 60.0: 6.31, 90.0: 6.51}
"""Paper Table 2 (BEHAVE test set): gamma -> PA-Chamfer (cm), drawn on its own panel."""
GAMMA_ROWS = {30.0: "neural", 60.0: "gamma60", 90.0: "gamma90"}
CHAIN_ROWS = {"neural IK": ("neural", "neural_short"), "trust region": ("trf", "trf_short"),
              "neural IK, trunk 2 deg": ("neural_trunk", None)}


def figures(ctx: ReproduceContext) -> list:
    """Gamma trend (ours and published on separate panels) and paper vs short chains, over seeds."""
    def per_seed(row: str | None, metric: str) -> list[float]:
        return [] if row is None else [r.metrics[metric] for r in ctx.runs.get(row, [])]

    label = "BEHAVE (CHORE protocol)" if ctx.data == "real" else "synthetic interactions, stand-in SMPL"
    metric = "pa_chamfer_cm"
    gamma = gamma_figure({g: per_seed(row, metric) for g, row in GAMMA_ROWS.items()},
                         {g: per_seed(row, "mpjpe_mm") for g, row in GAMMA_ROWS.items()}, PUBLISHED_PA_CHAMFER,
                         label, ctx.out_dir / "gamma.png")
    chains = chain_figure({name: (per_seed(paper, "mpjpe_mm"), per_seed(short, "mpjpe_mm"))
                           for name, (paper, short) in CHAIN_ROWS.items()}, per_seed("neural", "rough/mpjpe_mm"),
                          label, ctx.out_dir / "chains.png")
    return [gamma, chains]
