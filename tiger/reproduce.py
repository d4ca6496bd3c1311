"""Figures of the TIGeR reproduction (configs/reproduce/tiger.yaml holds the tables): the occlusion analysis
(Fig. 5) and a picture of predictions, drawn from the runs' saved outputs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from omegaconf import OmegaConf

from common.reproduce import ReproduceContext
from tiger.api import EVAL_SAMPLES, build_task, load_tiger
from tiger.evaluation import occlusion_groups, plot_occlusion
from tiger.figures import plot_predictions

log = logging.getLogger(__name__)


def _samples(ctx: ReproduceContext, row: str) -> list[dict] | None:
    records = ctx.runs.get(row, [])
    path = records[0].run_dir / EVAL_SAMPLES if records else None
    return json.loads(path.read_text()) if path is not None and path.is_file() else None


def _occlusion(ctx: ReproduceContext) -> list[Path]:
    ours, sphere = _samples(ctx, "retrieval"), _samples(ctx, "sphere")
    if ours is None:
        return []
    occlusion = [s["occlusion"] for s in ours]
    curves = {"TIGeR (retrieval prior)": occlusion_groups(occlusion, [s["refined/cd_o"] for s in ours]),
              "raw retrieval prior": occlusion_groups(occlusion, [s["raw_prior/cd_o"] for s in ours])}
    if sphere is not None:
        curves["TIGeR (unit-sphere prior)"] = occlusion_groups(occlusion, [s["refined/cd_o"] for s in sphere])
    return [plot_occlusion(curves, ctx.out_dir / "occlusion.png",
                           f"Median CD_o per occlusion group (10 equal groups), {ctx.data}, seed 0")]


def _predictions(ctx: ReproduceContext) -> list[Path]:
    records = ctx.runs.get("retrieval", [])
    if not records:
        return []
    run_dir = records[0].run_dir
    task = build_task(OmegaConf.load(run_dir / "config.yaml"))
    model = load_tiger(run_dir / "checkpoints" / "final", task).eval()
    dataset, chosen, seen = task.eval_dataset(), [], set()
    for i in range(len(dataset)):
        category = dataset.frame(i)["category_text"]
        if category not in seen and len(chosen) < 4:
            seen.add(category)
            chosen.append(i)
    items = [dataset[i] for i in chosen]
    _, refined, prior, hands = task.forward_batch(model, torch.utils.data.default_collate(items))
    gt_hands = [dataset.gt_meshes(i)[1] for i in chosen]
    return [plot_predictions(items, list(refined.numpy()), list(prior.numpy()), list(hands.numpy()), gt_hands,
                             ctx.out_dir / "predictions.png",
                             f"TIGeR ({ctx.data}): GT, raw retrieval prior, refinement, seed 0")]


def figures(ctx: ReproduceContext) -> list[Path]:
    """Occlusion curves and the predictions picture of the seed-0 runs."""
    return _occlusion(ctx) + _predictions(ctx)
