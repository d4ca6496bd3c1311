"""PoseLLM reproduction hooks (tables: configs/reproduce/posellm.yaml): the prediction figure, and the embedded
default's settings composed from its experiment config (for tests and the benchmark, which call `fit` directly)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from common.reproduce import ReproduceContext
from posellm.api import FINAL_FOLDER
from posellm.config import PoseLLMDataConfig, PoseLLMModelConfig, data_config, model_config
from posellm.figures import prediction_grid
from posellm.folder import load_posellm
from posellm.inference import mean_pose_predictions, predict
from posellm.keypoints import COCO_KEYPOINTS
from posellm.pipeline import load_splits, mean_pose_baseline

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
FIGURE_ROWS = {"linear (LocLLM)": "linear", "mlp (PoseLLM)": "mlp"}


def synthetic_setup() -> tuple[PoseLLMModelConfig, PoseLLMDataConfig, DictConfig]:
    """Model, data and trainer settings of `experiment=posellm/synthetic`, composed by Hydra as train.py does."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=posellm/synthetic"])
    GlobalHydra.instance().clear()
    trainer = OmegaConf.create(OmegaConf.to_container(cfg.trainer, resolve=True))
    trainer.progress_bar, trainer.resume = False, "none"
    return model_config(cfg.model), data_config(cfg.data), trainer


def figures(ctx: ReproduceContext) -> list[Path]:
    """Ground truth vs the seed-0 models of both connectors and the mean pose on four validation persons."""
    records = {label: ctx.runs[row][0] for label, row in FIGURE_ROWS.items() if ctx.runs.get(row)}
    if not records:
        return []
    saved = OmegaConf.load(next(iter(records.values())).run_dir / "config.yaml")
    data_cfg = data_config(saved.data)
    splits = load_splits(data_cfg, saved.paths.cache_dir)
    persons = splits.val[:4]
    columns = {}
    for label, record in records.items():
        built, cfg, size = load_posellm(record.run_dir / FINAL_FOLDER)
        columns[label] = predict(built.model, built.codec, persons, list(COCO_KEYPOINTS), size, cfg.image_mean,
                                 cfg.image_std, cfg.max_new_tokens).keypoints
    _, pose = mean_pose_baseline(splits, data_cfg.image_size)
    columns["mean pose"] = mean_pose_predictions(persons, pose, data_cfg.image_size).keypoints
    return [prediction_grid(persons, columns, ctx.out_dir / "predictions.png",
                            f"PoseLLM {ctx.data} val: ground truth vs predictions (seed 0)")]
