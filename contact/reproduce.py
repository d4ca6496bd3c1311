"""Hooks of the contact reproduction (tables: configs/reproduce/contact.yaml): its figures."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from common.models import load_model_folder
from common.reproduce import ReproduceContext
from contact.api import synthetic_clips
from contact.config import data_config
from contact.figures import contact_figure, pipeline_figure
from contact.pipeline_eval import middle_predictions
from contact.task import ClipDataset

TABLE1_ROWS = {"rough input": "rough", "ours (paper-faithful)": "ours", "PiCR contacts": "picr_contacts",
               "gate (ablation)": "gate", "joint offset (ablation)": "joint_offset",
               "short chains (ablation)": "short_chains", "GT contacts (oracle)": "gt_contacts"}


def _prediction_figure(ctx: ReproduceContext) -> Path:
    """CRRNet and PiCR-style labels beside the GT on six held-out synthetic clips (seed-0 models)."""
    runs = {name: ctx.runs[row][0].run_dir for name, row in (("CRRNet", "crrnet"), ("PiCR-style", "picr"))}
    cfg = OmegaConf.load(runs["CRRNet"] / "config.yaml")
    dcfg = data_config(cfg.data)
    _, held_out = synthetic_clips(dcfg, OmegaConf.select(cfg, "paths.cache_dir"),
                                  OmegaConf.select(cfg, "paths.body_models"))
    shown = held_out[:6]
    predictions = {}
    for name, run_dir in runs.items():
        frames = data_config(OmegaConf.load(run_dir / "config.yaml").data).frames
        model = load_model_folder(run_dir / "checkpoints" / "final").eval()
        predictions[name] = middle_predictions(model, ClipDataset(shown, frames))[0]
    return contact_figure(ctx.out_dir / "contact_predictions.png", shown, predictions,
                          "Contact labels on the rough object points (middle frame; stand-in SMPL, synthetic clips)")


def figures(ctx: ReproduceContext) -> list[Path]:
    """Table 1 over seeds (both data choices) and, on synthetic data, the contact predictions."""
    rows = {name: [r.metrics["rough/pa_chamfer_human" if row == "rough" else "pa_chamfer_human"]
                   for r in ctx.runs.get("ours" if row == "rough" else row, [])]
            for name, row in TABLE1_ROWS.items()}
    data = "BEHAVE, CHORE protocol" if ctx.data == "real" else "synthetic clips, stand-in SMPL"
    out = [pipeline_figure(ctx.out_dir / "table1_seeds.png", rows, f"Table 1 ({data}); dots = seeds")]
    if ctx.data == "synthetic":
        out.append(_prediction_figure(ctx))
    return out
