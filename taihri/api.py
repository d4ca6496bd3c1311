"""Hydra entry points of TAIHRI: `train(cfg)` (SFT or GRPO RFT) and `evaluate(cfg)` (G-MPJPE per part set)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig

from taihri.baselines import copy_vision_tower, train_regressor
from taihri.config import TaihriDataConfig, TaihriModelConfig, data_config, model_config
from taihri.data import eval_rows, preprocess, synthetic_samples, train_rows
from taihri.evaluation import evaluate_answers, generate_answers
from taihri.real_data import EgoBodyEgocentric, Harmony4DEgocentric
from taihri.trl_training import run_grpo, run_sft, save_final
from taihri.vlm import build_model_and_processor, load_trained

log = logging.getLogger(__name__)
FALLBACK_FILE = "fallback_pose.npy"
_REAL = {"egobody": EgoBodyEgocentric, "harmony4d": Harmony4DEgocentric}


def device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_samples(dc: TaihriDataConfig, split: str, count: int, seed: int) -> list[dict]:
    """Preprocessed samples (canonical focal, optional crop) of the configured dataset; count<=0 = all."""
    if dc.name == "synthetic":
        return synthetic_samples(dc, count, seed + (0 if split == dc.train_split else 10_000))
    if dc.name not in _REAL:
        raise ValueError(f"data.name={dc.name!r}: choose synthetic, egobody or harmony4d")
    if not dc.root:
        raise FileNotFoundError(f"data.root is not set for {dc.name}; see docs/taihri.md#{dc.name}")
    dataset = _REAL[dc.name](dc.root, split)
    indices = range(len(dataset)) if count <= 0 else np.linspace(0, len(dataset) - 1, min(count, len(dataset)))
    return [preprocess(dataset[int(i)], dc.canonical_focal, dc.crop_size) for i in indices]


def mean_pose(samples: list[dict]) -> np.ndarray:
    """(22,3) mean camera-frame joints (m): the mean-pose baseline and the fallback for unparsed joints."""
    return np.stack([s["joints_cam"] for s in samples]).mean(0)


def evaluate_model(model: torch.nn.Module, processor, samples: list[dict], mc: TaihriModelConfig,
                   dc: TaihriDataConfig, fallback: np.ndarray) -> tuple[dict[str, float], list[str], list[dict]]:
    """(metrics, answers, rows) of greedy answers to the evaluation prompt of every part set."""
    rows = eval_rows(samples, dc)
    answers = generate_answers(model, processor, rows, mc.eval_batch_size, mc.max_new_tokens,
                               mc.constrained_decoding, dc.bin_stride)
    gt = np.stack([s["joints_cam"] for s in samples])
    return evaluate_answers(answers, rows, gt, fallback, mc.rewards), answers, rows


def _initial_model(cfg: DictConfig, mc: TaihriModelConfig, samples: list[dict], rows: list[dict],
                   run_dir: Path):
    """Model to train: cfg.ckpt (a saved `final` folder) if given; for RFT without one, a bootstrap SFT."""
    if cfg.ckpt:
        return load_trained(cfg.ckpt, mc)
    model, processor = build_model_and_processor(mc)
    if mc.regression.init_vlm_vision and not mc.pretrained_path:
        copy_vision_tower(train_regressor(mc, samples, samples[:8], run_dir / "vision_init", int(cfg.seed)), model)
    if mc.stage == "rft":
        if mc.grpo.bootstrap_sft_steps <= 0:
            raise ValueError("RFT starts from an SFT checkpoint: pass ckpt=<sft run_dir>/final "
                             "(or set model.grpo.bootstrap_sft_steps > 0)")
        model, _ = run_sft(model, processor, rows, cfg, mc, run_dir / "bootstrap_sft",
                           max_steps=mc.grpo.bootstrap_sft_steps)
        model = save_final(model, processor, run_dir / "bootstrap_sft" / "final")
    return model, processor


def train(cfg: DictConfig) -> dict[str, float]:
    """SFT (model.stage=sft) or GRPO RFT (model.stage=rft); saves `<run_dir>/final`; returns eval metrics."""
    mc, dc = model_config(cfg.model), data_config(cfg.data)
    run_dir = Path(cfg.run_dir)
    train_samples = load_samples(dc, dc.train_split, dc.num_train, int(cfg.seed))
    rows = train_rows(train_samples, dc, int(cfg.seed))
    model, processor = _initial_model(cfg, mc, train_samples, rows, run_dir)
    if mc.stage == "sft":
        model, logs = run_sft(model, processor, rows, cfg, mc, run_dir)
    elif mc.stage == "rft":
        model, logs = run_grpo(model, processor, rows, cfg, mc, run_dir)
    else:
        raise ValueError(f"model.stage={mc.stage!r}: choose sft or rft")
    model = save_final(model, processor, run_dir / "final")
    fallback = mean_pose(train_samples)
    np.save(run_dir / "final" / FALLBACK_FILE, fallback)
    eval_samples = load_samples(dc, dc.eval_split, dc.num_eval, int(cfg.seed))
    metrics, _, _ = evaluate_model(model.to(device()), processor, eval_samples, mc, dc, fallback)
    log.info("saved %s", run_dir / "final")
    return {**metrics, **logs}


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """G-MPJPE per part set (mm), parse-failure rate and mean reward of the checkpoint cfg.ckpt."""
    mc, dc = model_config(cfg.model), data_config(cfg.data)
    model, processor = load_trained(cfg.ckpt, mc, device())
    fallback_path = Path(cfg.ckpt) / FALLBACK_FILE
    eval_samples = load_samples(dc, dc.eval_split, dc.num_eval, int(cfg.seed))
    fallback = np.load(fallback_path) if fallback_path.exists() else mean_pose(eval_samples)
    metrics, _, _ = evaluate_model(model, processor, eval_samples, mc, dc, fallback)
    return metrics
