"""COCO keypoint AP/AR through pycocotools' COCOeval (OKS is not reimplemented here)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

COCO_KEYPOINT_STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
COCO_KEYPOINT_SIGMAS = np.array(
    [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89]
) / 10.0


def _load_gt(gt: dict | str | Path) -> COCO:
    """A silent pycocotools COCO object from an annotation dict or a json path.

    COCOeval writes keys into the annotation dicts ('ignore'), so each one is copied (shallowly: no value
    is modified in place); the caller's dict is left as it was.
    """
    if isinstance(gt, str | Path):
        dataset = json.loads(Path(gt).read_text())
    else:
        dataset = {key: [dict(a) for a in value] if key == "annotations" else value for key, value in gt.items()}
    coco = COCO()
    coco.dataset = dataset
    coco.createIndex()
    return coco


def coco_keypoint_eval(gt: dict | str | Path, results: list[dict], sigmas: Any = None) -> dict[str, float]:
    """The 10 COCOeval keypoint stats (AP .. ARl, maxDets=20) of `results` against `gt`.

    `results` are COCO result dicts (image_id, category_id, keypoints [x, y, v]*K, score); `sigmas`
    (K,) replaces COCO's 17 OKS sigmas for other keypoint sets. An empty result list scores 0.
    pycocotools' prints are silenced; the inputs are not modified.
    """
    if not results:
        return dict.fromkeys(COCO_KEYPOINT_STAT_NAMES, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = _load_gt(gt)
        coco_dt = coco_gt.loadRes([dict(r) for r in results])  # loadRes adds area/bbox/id to each dict
        evaluator = COCOeval(coco_gt, coco_dt, iouType="keypoints")
        if sigmas is not None:
            evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(v) for name, v in zip(COCO_KEYPOINT_STAT_NAMES, evaluator.stats)}
