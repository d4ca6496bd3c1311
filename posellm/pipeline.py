"""Train/evaluate glue shared by the Hydra API, the reproduction and the tests."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from common.training.hf_dist import broadcast, gather_shards, shard
from posellm.config import PoseLLMDataConfig, PoseLLMModelConfig
from posellm.data import PersonInstance, coco_paths, humanart_paths, load_coco_instances, load_mpii_instances
from posellm.inference import Predictions, coco_ap, mean_pose, mean_pose_predictions, mpii_scores, predict
from posellm.keypoints import COCO_KEYPOINTS, MPII_KEYPOINTS
from posellm.synthetic import ensure_synthetic
from posellm.text import PromptCodec

log = logging.getLogger(__name__)


@dataclass
class Splits:
    """Training instances and the evaluation sets that exist for this data config."""

    train: list[PersonInstance]
    val: list[PersonInstance]
    val_gt: dict
    mpii: list[PersonInstance] | None
    humanart: tuple[list[PersonInstance], dict] | None


def data_root(data: PoseLLMDataConfig, cache_dir: str | Path = ".cache") -> Path:
    """Dataset root: `data.root`, else the synthetic cache folder."""
    if data.root is not None:
        return Path(data.root)
    return Path(cache_dir) / f"posellm_synthetic_{data.synthetic_train}_{data.synthetic_render_size}"


def load_splits(data: PoseLLMDataConfig, cache_dir: str | Path = ".cache") -> Splits:
    """Instances for training and evaluation (synthetic data is rendered on first use)."""
    root = data_root(data, cache_dir)
    if data.source == "synthetic":
        ensure_synthetic(root, data.synthetic_train, data.synthetic_val, data.synthetic_render_size,
                         data.seed)
    train, _ = load_coco_instances(*coco_paths(root, "train2017"))
    val, val_gt = load_coco_instances(*coco_paths(root, "val2017"))
    if data.max_eval_instances is not None:
        val = val[:data.max_eval_instances]
    synthetic = data.source == "synthetic"
    mpii_root = root / "mpii" if synthetic else _optional(data.mpii_root, "MPII")
    mpii = load_mpii_instances(mpii_root, "val2017" if synthetic else "valid") if mpii_root else None
    if mpii is not None and data.max_eval_instances is not None:
        mpii = mpii[:data.max_eval_instances]
    humanart_root = _optional(data.humanart_root, "Human-Art")
    humanart = load_coco_instances(*humanart_paths(humanart_root), "Human-Art") if humanart_root else None
    return Splits(train, val, val_gt, mpii, humanart)


def _optional(root: str | None, name: str) -> Path | None:
    """A zero-shot dataset root, or None (logged) when it is not configured or not on disk."""
    if root is None:
        return None
    if not Path(root).exists():
        log.warning("%s root %s does not exist: skipping its zero-shot evaluation", name, root)
        return None
    return Path(root)


def predict_sharded(model: nn.Module, codec: PromptCodec, instances: list[PersonInstance], names: list[str],
                    **kw: object) -> Predictions | None:
    """`predict` on this rank's share of the instances, gathered in order on rank 0 (None on other ranks)."""
    local = predict(model, codec, shard(instances), names, **kw)
    rows = gather_shards(list(zip(local.keypoints, local.confidence, local.parsed, local.texts, strict=True)))
    if rows is None:
        return None
    if not rows:
        return Predictions(np.zeros((0, len(names), 2)), np.zeros((0, len(names))), np.zeros((0, len(names)), bool), [])
    kp, conf, parsed, texts = zip(*rows, strict=True)
    return Predictions(np.stack(kp), np.stack(conf), np.stack(parsed), list(texts))


def evaluate_model(model: nn.Module, codec: PromptCodec, splits: Splits, model_cfg: PoseLLMModelConfig,
                   image_size: int) -> dict[str, float]:
    """COCO AP (GT boxes, no flip), Human-Art AP and MPII PCKh zero-shot where available.

    Under torch.distributed each rank predicts its share, rank 0 scores once, every rank returns the metrics.
    """
    kw = {"image_size": image_size, "mean": model_cfg.image_mean, "std": model_cfg.image_std,
          "max_new_tokens": model_cfg.max_new_tokens}
    coco_names = list(COCO_KEYPOINTS)
    preds = predict_sharded(model, codec, splits.val, coco_names, **kw)
    ha_preds = predict_sharded(model, codec, splits.humanart[0], coco_names, **kw) if splits.humanart else None
    mp_preds = predict_sharded(model, codec, splits.mpii, list(MPII_KEYPOINTS), **kw) if splits.mpii else None
    metrics = None
    if preds is not None:
        metrics = coco_ap(splits.val, splits.val_gt, preds)
        if ha_preds is not None:
            metrics["humanart_AP"] = coco_ap(splits.humanart[0], splits.humanart[1], ha_preds)["AP"]
        if mp_preds is not None:
            metrics.update({f"mpii_{k}": v for k, v in mpii_scores(splits.mpii, mp_preds).items()})
    return broadcast(metrics)


def mean_pose_baseline(splits: Splits, image_size: int) -> tuple[dict[str, float], np.ndarray]:
    """COCO stats of the mean training pose placed in every GT box, and that pose (K, 2) normalised."""
    pose = mean_pose(splits.train, image_size)
    return coco_ap(splits.val, splits.val_gt, mean_pose_predictions(splits.val, pose, image_size)), pose
