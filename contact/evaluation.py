"""Contact-region recognition scores: accuracy, per-class IoU, mean IoU, and the majority-class baseline."""

from __future__ import annotations

import numpy as np
import torch

from contact.labels import CLASS_NAMES, NO_CONTACT, NUM_CLASSES


def confusion_matrix(pred: np.ndarray | torch.Tensor, gt: np.ndarray | torch.Tensor,
                     num_classes: int = NUM_CLASSES) -> np.ndarray:
    """(C,C) int64 counts, rows = ground truth class, columns = predicted class."""
    p = np.asarray(torch.as_tensor(pred).cpu()).reshape(-1).astype(np.int64)
    g = np.asarray(torch.as_tensor(gt).cpu()).reshape(-1).astype(np.int64)
    return np.bincount(g * num_classes + p, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def contact_scores(conf: np.ndarray) -> dict[str, float]:
    """Accuracy, mIoU (classes present in GT or prediction), part-only mIoU, binary contact IoU, recall of
    the right part on GT contact points, and `iou/<class>` per class (NaN when absent from both)."""
    tp = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
    parts = np.delete(iou, NO_CONTACT)
    binary_tp = conf[:NO_CONTACT, :NO_CONTACT].sum()
    binary_union = conf[:NO_CONTACT, :].sum() + conf[NO_CONTACT, :NO_CONTACT].sum()
    scores = {
        "miou": float(np.nanmean(iou)),
        "part_miou": float(np.nanmean(parts)) if np.isfinite(parts).any() else 0.0,
        "accuracy": float(tp.sum() / max(conf.sum(), 1)),
        "contact_iou": float(binary_tp / binary_union) if binary_union > 0 else 0.0,
        "contact_recall": float(tp[:NO_CONTACT].sum() / max(conf[:NO_CONTACT].sum(), 1)),
    }
    scores.update({f"iou/{name}": float(v) for name, v in zip(CLASS_NAMES, iou)})
    return scores


def majority_class(labels: np.ndarray | torch.Tensor) -> int:
    """Most frequent class id of the training labels (the trivial baseline's constant prediction)."""
    counts = np.bincount(np.asarray(torch.as_tensor(labels).cpu()).reshape(-1), minlength=NUM_CLASSES)
    return int(counts.argmax())
