"""TAIHRI reproduction hook: the predictions figure of seed 0 (the table is configs/reproduce/taihri.yaml)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from common.models import load_model_folder as load_project_folder
from common.reproduce_report import ReproduceContext
from taihri.api import FINAL, load_frames
from taihri.baselines import predict_regressor
from taihri.config import data_config, model_config
from taihri.data import eval_rows
from taihri.evaluation import generate_answers
from taihri.figures import plot_predictions
from taihri.vlm import load_model_folder

FIGURE_FRAMES = 4


def figures(ctx: ReproduceContext) -> list[Path]:
    """Skeletons of ground truth, SFT, SFT+RFT and regression on the first evaluation images of seed 0."""
    record = ctx.runs["rft"][0]
    cfg = OmegaConf.load(record.run_dir / "config.yaml")
    mc, dc = model_config(cfg.model), data_config(cfg.data)
    frames = load_frames(dc, dc.eval_split, FIGURE_FRAMES, record.seed)
    rows = eval_rows(frames, dc, mc.answer_format, mc.system_prompt)
    answers = []
    for folder in (record.run_dir / "bootstrap_sft" / FINAL, record.run_dir / FINAL):
        model, processor = load_model_folder(folder, mc)
        answers.append(generate_answers(model, processor, rows, mc, dc.bin_stride, frames))
    regressor = load_project_folder(record.run_dir / "vision_init" / FINAL)
    regression = predict_regressor(regressor, frames, processor.image_processor)
    return [plot_predictions(frames, rows, answers[0], answers[1], regression, ctx.out_dir / "predictions.png",
                             data_label=ctx.data + (" egocentric renders, stand-in SMPL" if ctx.data == "synthetic"
                                                    else ""),
                             model_label=f"{'tiny random-init' if mc.random_init else mc.pretrained_path} "
                                         f"Qwen3-VL, seed {record.seed}")]
