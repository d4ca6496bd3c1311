"""PoseLLM reproduction: `linear (LocLLM) vs mlp (PoseLLM)` COCO AP, mean-pose baseline, zero-shot MPII."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from common.reproduce import PaperResult, Table, register_paper
from posellm.config import PoseLLMDataConfig, PoseLLMModelConfig
from posellm.data import KeypointTrainSet
from posellm.figures import prediction_grid
from posellm.folder import load_posellm as load_checkpoint
from posellm.inference import mean_pose_predictions, predict, prior_x_tenths_nll, x_tenths_nll
from posellm.keypoints import COCO_KEYPOINTS, NOVEL_KEYPOINTS
from posellm.model import build_posellm
from posellm.pipeline import Splits, evaluate_model, load_splits, mean_pose_baseline
from posellm.training import fit

log = logging.getLogger(__name__)
PUBLISHED_AP = {"linear (LocLLM)": 77.4, "mlp (PoseLLM)": 77.8}
NLL = "x 1st-decimal NLL"
CONNECTORS = {"linear (LocLLM)": "linear", "mlp (PoseLLM)": "mlp"}


def synthetic_setup() -> tuple[PoseLLMModelConfig, PoseLLMDataConfig, dict]:
    """Model, data and trainer settings of the embedded default (read from the posellm/synthetic configs)."""
    root = Path(__file__).resolve().parents[1] / "configs"
    model = OmegaConf.load(root / "model/posellm/tiny.yaml")
    data = OmegaConf.load(root / "data/posellm/synthetic.yaml")
    trainer = OmegaConf.merge(OmegaConf.load(root / "trainer/default.yaml"),
                              OmegaConf.load(root / "experiment/posellm/synthetic.yaml").trainer)
    model_cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(PoseLLMModelConfig), model))
    data_cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(PoseLLMDataConfig), data))
    trainer.progress_bar, trainer.resume = False, "none"
    return model_cfg, data_cfg, trainer


def _pct(stats: dict[str, float], key: str) -> float:
    return 100.0 * stats[key]


def _zero_shot_rows(table: Table, name: str, metrics: dict[str, float]) -> None:
    novel = {f"{k} (novel)": metrics[f"mpii_PCKh_novel_{k}"] for k in NOVEL_KEYPOINTS}
    table.add(name, "ours", **{"PCKh@0.5": metrics["mpii_PCKh@0.5"], **novel,
                               "unparsed %": 100.0 * metrics["mpii_unparsed_rate"]})


def _tables() -> tuple[Table, Table]:
    main = Table("linear (LocLLM) vs mlp (PoseLLM): COCO keypoint AP (GT boxes, no flip)",
                 {"AP": "higher", "AP50": "higher", "AP75": "higher", "AR": "higher", "unparsed %": "lower",
                  NLL: "lower"})
    zero = Table("zero-shot MPII PCKh@0.5 (novel keypoints queried by name and description)",
                 {"PCKh@0.5": "higher", **{f"{k} (novel)": "higher" for k in NOVEL_KEYPOINTS},
                  "unparsed %": "lower"})
    return main, zero


def _synthetic(results_dir: Path) -> PaperResult:
    model_cfg, data_cfg, trainer = synthetic_setup()
    cache_dir = Path(os.environ.get("EHP_CACHE_DIR", ".cache"))
    splits = load_splits(data_cfg, cache_dir)
    main, zero = _tables()
    baseline, pose = mean_pose_baseline(splits, data_cfg.image_size)
    columns, notes = {}, []
    for label, connector in CONNECTORS.items():
        cfg = PoseLLMModelConfig(**{**model_cfg.__dict__, "connector": connector})
        built = build_posellm(cfg, data_cfg.image_size, seed=0)
        train_set = KeypointTrainSet(splits.train, built.codec, data_cfg, cfg.image_mean, cfg.image_std)
        start = time.perf_counter()
        _ = fit(built, train_set, trainer, data_cfg, cache_dir / "posellm_reproduce" / f"run_{connector}", 0,
            connector_lr_scale=cfg.connector_lr_scale)
        metrics = evaluate_model(built.model, built.codec, splits, cfg, data_cfg.image_size)
        notes.append(f"{label}: {trainer.max_steps} steps x batch {trainer.batch_size}, train+eval "
                     f"{time.perf_counter() - start:.0f} s on CPU")
        nll = x_tenths_nll(built.model, built.codec, splits.val, data_cfg.image_size, cfg.image_mean,
                           cfg.image_std)
        main.add(label, "ours", AP=_pct(metrics, "AP"), AP50=_pct(metrics, "AP50"),
                 AP75=_pct(metrics, "AP75"), AR=_pct(metrics, "AR"),
                 **{"unparsed %": 100.0 * metrics["unparsed_rate"], NLL: float(nll.mean())})
        _zero_shot_rows(zero, label, metrics)
        preds = predict(built.model, built.codec, splits.val[:4], list(COCO_KEYPOINTS), data_cfg.image_size,
                        cfg.image_mean, cfg.image_std, cfg.max_new_tokens)
        columns[label] = preds.keypoints
    main.add("mean training pose in the GT box", "baseline", AP=_pct(baseline, "AP"),
             AP50=_pct(baseline, "AP50"), AP75=_pct(baseline, "AP75"), AR=_pct(baseline, "AR"),
             **{NLL: float(prior_x_tenths_nll(splits.train, splits.val, data_cfg.image_size).mean())})
    for label, ap in PUBLISHED_AP.items():
        main.add(label, "published", AP=ap)
    main.note = ("Ours: tiny random-init Dinov2+Llama on stand-in SMPL synthetic people (COCO-format json, "
                 "pycocotools, AP in %). Published: DINOv2 ViT-L/14 + Vicuna-7B on COCO val2017. "
                 f"'{NLL}': nats of the true first decimal of x given image+question; the baseline row gives "
                 "the image-blind prior p_train(digit | keypoint).")
    zero.note = "Synthetic MPII-format split of the stand-in renders; the four novel joints never occur in training."
    columns["mean pose"] = mean_pose_predictions(splits.val[:4], pose, data_cfg.image_size).keypoints
    figure = prediction_grid(splits.val[:4], columns, results_dir / "posellm" / "predictions.png",
                             "PoseLLM synthetic val (stand-in SMPL): ground truth vs predictions")
    return PaperResult("posellm", "synthetic (stand-in SMPL renders, COCO format)", [main, zero], [figure],
                       notes)


def _real(results_dir: Path) -> PaperResult:
    ckpts = {label: os.environ.get(f"POSELLM_CKPT_{c.upper()}") for label, c in CONNECTORS.items()}
    data_root = Path(os.environ.get("EHP_DATA_ROOT", "data"))
    missing = [f"POSELLM_CKPT_{c.upper()}" for label, c in CONNECTORS.items()
               if not ckpts[label] or not Path(ckpts[label]).is_dir()]
    if missing or not (data_root / "coco").is_dir():
        raise FileNotFoundError(
            f"data=real needs COCO at {data_root / 'coco'} and checkpoints trained with "
            f"`scripts/train.py experiment=posellm/coco[_locllm]` named by {missing or list(ckpts)}; "
            "see docs/posellm.md")
    data_cfg = PoseLLMDataConfig(train="coco", root=str(data_root / "coco"),
                                 humanart_root=str(data_root / "HumanArt"), mpii_root=str(data_root / "mpii"))
    splits: Splits = load_splits(data_cfg)
    main, zero = _tables()
    for label, path in ckpts.items():
        built, cfg, size = load_checkpoint(path)
        metrics = evaluate_model(built.model, built.codec, splits, cfg, size)
        main.add(label, "ours", AP=_pct(metrics, "AP"), AP50=_pct(metrics, "AP50"), AP75=_pct(metrics, "AP75"),
                 AR=_pct(metrics, "AR"), **{"unparsed %": 100.0 * metrics["unparsed_rate"]})
        if "mpii_PCKh@0.5" in metrics:
            _zero_shot_rows(zero, label, metrics)
    baseline, _ = mean_pose_baseline(splits, data_cfg.image_size)
    main.add("mean training pose in the GT box", "baseline", AP=_pct(baseline, "AP"))
    for label, ap in PUBLISHED_AP.items():
        main.add(label, "published", AP=ap)
    return PaperResult("posellm", "real (COCO val2017, Human-Art, MPII)", [main, zero])


@register_paper("posellm")
def reproduce(data: str, results_dir: Path) -> PaperResult:
    """Train/evaluate both connectors (synthetic) or evaluate trained checkpoints (real)."""
    np.seterr(all="ignore")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # tiny models: one intra-op thread is faster than two on a shared box
    try:
        return _synthetic(Path(results_dir)) if data == "synthetic" else _real(Path(results_dir))
    finally:
        torch.set_num_threads(threads)
