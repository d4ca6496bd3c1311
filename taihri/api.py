"""Hydra entry points of TAIHRI: `train(cfg)` (SFT or GRPO RFT) and `evaluate(cfg)` (G-MPJPE per part set)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from common.models import load_model_folder as load_project_folder
from common.training.hf_dist import barrier, broadcast, is_main
from taihri.baselines import JointRegressor, copy_vision_tower, predict_regressor, train_regressor
from taihri.config import TaihriDataConfig, TaihriModelConfig, data_config, model_config
from taihri.data import eval_rows, synthetic_frames, train_rows
from taihri.evaluation import evaluate_answers, evaluate_constant, sharded_answers
from taihri.frames import Frames, preprocessed_frames
from taihri.real_data import EgoBodyEgocentric, Harmony4DEgocentric
from taihri.trl_training import run_grpo, run_sft
from taihri.vlm import build_model_and_processor, load_model_folder, load_processor

log = logging.getLogger(__name__)
FINAL = Path("checkpoints") / "final"
"""Where `train` writes the trained model (+ processor) inside a run dir, as every shared-runtime paper does."""
EVAL_FILE = "taihri_eval.json"
"""Written next to the weights: the fallback pose (m) for joints an answer misses, and how it was made."""
_REAL = {"egobody": EgoBodyEgocentric, "harmony4d": Harmony4DEgocentric}


def device() -> torch.device:
    """This process's CUDA device (LOCAL_RANK under torchrun) when available, else CPU."""
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if torch.cuda.is_available() else \
        torch.device("cpu")


def check_required(mc: TaihriModelConfig, dc: TaihriDataConfig) -> None:
    """Fail at start-up, naming the key and the fix, when a required paper path is missing."""
    if not mc.pretrained_path and not mc.random_init:
        raise ValueError("model.pretrained_path is not set: export TAIHRI_BASE_MODEL=<downloaded Qwen3-VL folder> "
                         "or pass model.pretrained_path=<folder> (model.random_init=true builds the tiny CPU model)")
    if mc.pretrained_path and not (Path(mc.pretrained_path) / "config.json").is_file():
        raise FileNotFoundError(f"model.pretrained_path={mc.pretrained_path} holds no config.json; point it at "
                                "the downloaded Qwen3-VL folder (docs/taihri.md#checkpoints)")
    if dc.source not in ("synthetic", *_REAL):
        raise ValueError(f"data.source={dc.source!r}: choose synthetic, egobody or harmony4d")
    if dc.source in _REAL and not dc.root:
        raise FileNotFoundError(f"data.root is not set for {dc.source}; see docs/taihri.md#{dc.source}")


def load_frames(dc: TaihriDataConfig, split: str, count: int, seed: int) -> Frames:
    """Preprocessed frames (canonical focal, optional crop) of the configured dataset; count<=0 = all.

    Real datasets keep annotations only: images are read from disk when a batch needs them.
    """
    if dc.source == "synthetic":
        return synthetic_frames(dc, count, seed + (0 if split == dc.train_split else 10_000))
    dataset = _REAL[dc.source](dc.root, split)
    indices = range(len(dataset)) if count <= 0 else np.linspace(0, len(dataset) - 1, min(count, len(dataset)))
    return preprocessed_frames(dataset, [int(i) for i in indices], dc.canonical_focal, dc.crop_size)


def checkpoint_folder(ckpt: str | Path) -> Path:
    """`ckpt` as a model folder; a missing one raises, naming `<run_dir>/checkpoints/final` when it was a run's."""
    path = Path(ckpt)
    if (path / "config.json").is_file():
        return path
    hint = ""
    if path.name == "final" and path.parent.name != "checkpoints":
        hint = (f"; runs now save their final model to <run_dir>/{FINAL.as_posix()}: pass "
                f"ckpt={path.parent / FINAL}")
    elif (path / FINAL / "config.json").is_file():
        hint = f"; {path} looks like a run dir: pass ckpt={path / FINAL}"
    raise FileNotFoundError(f"ckpt={path} holds no model (config.json){hint}")


def mean_pose(frames: Frames) -> np.ndarray:
    """(22,3) mean camera-frame joints (m): the mean-pose baseline and the fallback for unparsed joints."""
    return frames.joints_cam().mean(0)


def evaluate_model(model: torch.nn.Module, processor, frames: Frames, mc: TaihriModelConfig,
                   dc: TaihriDataConfig, fallback: np.ndarray) -> tuple[dict[str, float], list[str], list[dict]]:
    """(metrics, answers, rows) of greedy answers to the evaluation prompt of every part set.

    Under torch.distributed every rank answers its shard; rank 0 scores, and every rank gets the result.
    """
    rows = eval_rows(frames, dc, mc.answer_format, mc.system_prompt)
    answers = sharded_answers(model, processor, rows, mc, dc.bin_stride, frames)
    metrics = (evaluate_answers(answers, rows, frames.joints_cam(), fallback, mc.rewards)
               if answers is not None else None)
    answers, metrics = broadcast((answers, metrics))
    return metrics, answers, rows


def write_eval_file(folder: Path, fallback: np.ndarray, dc: TaihriDataConfig) -> None:
    """`taihri_eval.json`: the training mean pose (m) used for joints an answer does not give."""
    (folder / EVAL_FILE).write_text(json.dumps({
        "fallback_pose_m": np.asarray(fallback).round(6).tolist(),
        "fallback_from": f"mean camera-frame pose of data.source={dc.source} split={dc.train_split}"}, indent=1))


def read_fallback(folder: Path, dc: TaihriDataConfig, seed: int) -> np.ndarray:
    """The folder's fallback pose, or (a downloaded checkpoint without one) the mean pose of the train split."""
    path = folder / EVAL_FILE
    if path.is_file():
        return np.asarray(json.loads(path.read_text())["fallback_pose_m"], np.float64)
    log.warning("%s has no %s: joints an answer misses are scored at the mean pose of data.source=%s split=%s",
                folder, EVAL_FILE, dc.source, dc.train_split)
    return mean_pose(load_frames(dc, dc.train_split, dc.num_train, seed))


def _prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    """Metrics renamed `<prefix><name>` (baselines reported beside the trained model)."""
    return {f"{prefix}{k}": v for k, v in metrics.items()}


def _initial_model(cfg: DictConfig, mc: TaihriModelConfig, dc: TaihriDataConfig, frames: Frames,
                   eval_frames: Frames, rows: list[dict], run_dir: Path):
    """(model, processor, baseline metrics) to train from: cfg.ckpt if given, else a new backbone.

    A tiny backbone with `regression.init_vlm_vision` gets the vision tower of a regression baseline trained
    here (its G-MPJPE and the mean pose's are reported under `regression/` and `mean_pose/`); RFT without
    ckpt first runs the bootstrap SFT (reported under `sft/`).
    """
    if cfg.ckpt:
        return (*load_model_folder(checkpoint_folder(cfg.ckpt), mc, device()), {})
    model, processor = build_model_and_processor(mc, device())
    baselines: dict[str, float] = {}
    if mc.regression.init_vlm_vision and not mc.pretrained_path:
        regressor = train_regressor(mc, frames, eval_frames.head(8), run_dir / "vision_init", int(cfg.seed))
        copy_vision_tower(regressor, model)
        fallback = np.repeat(mean_pose(frames)[None], len(eval_frames), 0)
        baselines |= _prefixed("regression/", evaluate_regressor(regressor, processor, eval_frames, dc))
        baselines |= _prefixed("mean_pose/", evaluate_constant(fallback, eval_rows(eval_frames, dc),
                                                               eval_frames.joints_cam()))
    if mc.stage == "rft":
        if mc.grpo.bootstrap_sft_steps <= 0:
            raise ValueError(f"RFT starts from an SFT checkpoint: pass ckpt=<sft run_dir>/{FINAL.as_posix()} "
                             "(or set model.grpo.bootstrap_sft_steps > 0)")
        sft_cfg = OmegaConf.merge(cfg, {"trainer": {**mc.grpo.bootstrap_trainer,
                                                    "max_steps": mc.grpo.bootstrap_sft_steps}})
        model, logs = run_sft(model, processor, rows, sft_cfg, mc, run_dir / "bootstrap_sft", frames=frames,
                              final_dir=run_dir / "bootstrap_sft" / FINAL)
        metrics, _, _ = evaluate_model(model, processor, eval_frames, mc, dc, mean_pose(frames))
        baselines |= _prefixed("sft/", {**metrics, **logs})
    return model, processor, baselines


def _processor(mc: TaihriModelConfig):
    """The backbone's processor alone (from the folder; the tiny model's is built)."""
    return load_processor(mc.pretrained_path, mc) if mc.pretrained_path else build_model_and_processor(mc)[1]


def evaluate_regressor(model: JointRegressor, processor, frames: Frames, dc: TaihriDataConfig) -> dict[str, float]:
    """G-MPJPE per part set (mm) of the regression baseline on `frames`."""
    rows = eval_rows(frames, dc)
    return evaluate_constant(predict_regressor(model, frames, processor.image_processor), rows, frames.joints_cam())


def train(cfg: DictConfig) -> dict[str, float]:
    """SFT (model.stage=sft), GRPO RFT (rft) or the regression baseline (regression); saves `<run_dir>/<FINAL>`."""
    mc, dc = model_config(cfg.model), data_config(cfg.data)
    check_required(mc, dc)
    if mc.stage not in ("sft", "rft", "regression"):
        raise ValueError(f"model.stage={mc.stage!r}: choose sft, rft or regression")
    run_dir = Path(cfg.run_dir)
    frames = load_frames(dc, dc.train_split, dc.num_train, int(cfg.seed))
    eval_frames = load_frames(dc, dc.eval_split, dc.num_eval, int(cfg.seed))
    if mc.stage == "regression":
        regressor = train_regressor(mc, frames, eval_frames, run_dir, int(cfg.seed))
        processor = _processor(mc)
        fallback = np.repeat(mean_pose(frames)[None], len(eval_frames), 0)
        return {**evaluate_regressor(regressor, processor, eval_frames, dc),
                **_prefixed("mean_pose/", evaluate_constant(fallback, eval_rows(eval_frames, dc),
                                                            eval_frames.joints_cam()))}
    rows = train_rows(frames, dc, int(cfg.seed), mc.answer_format, mc.system_prompt)
    model, processor, baselines = _initial_model(cfg, mc, dc, frames, eval_frames, rows, run_dir)
    final = run_dir / FINAL
    run = run_sft if mc.stage == "sft" else run_grpo
    model, logs = run(model, processor, rows, cfg, mc, run_dir, frames=frames, final_dir=final)
    fallback = mean_pose(frames)
    if is_main():
        write_eval_file(final, fallback, dc)
    barrier()
    metrics, _, _ = evaluate_model(model.to(device()), processor, eval_frames, mc, dc, fallback)
    log.info("saved %s", final)
    return {**metrics, **logs, **baselines}


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """G-MPJPE per part set (mm), parse-failure rate and mean reward of the checkpoint cfg.ckpt."""
    mc, dc = model_config(cfg.model), data_config(cfg.data)
    if dc.source not in ("synthetic", *_REAL):
        raise ValueError(f"data.source={dc.source!r}: choose synthetic, egobody or harmony4d")
    ckpt = checkpoint_folder(cfg.ckpt)
    if "model_class" in json.loads((ckpt / "config.json").read_text()):
        regressor = load_project_folder(ckpt)
        processor = _processor(mc)
        return evaluate_regressor(regressor, processor, load_frames(dc, dc.eval_split, dc.num_eval, int(cfg.seed)),
                                  dc)
    model, processor = load_model_folder(ckpt, mc, device())
    fallback = read_fallback(ckpt, dc, int(cfg.seed))
    frames = load_frames(dc, dc.eval_split, dc.num_eval, int(cfg.seed))
    metrics, _, _ = evaluate_model(model, processor, frames, mc, dc, fallback)
    return metrics
