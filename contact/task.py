"""CRRNet training task for `common.training.Trainer`: clip datasets, eq. 18 loss, IoU/accuracy evaluation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from common.training import TrainTask
from contact.config import ContactDataConfig, ContactModelConfig
from contact.evaluation import confusion_matrix, contact_scores
from contact.labels import NUM_CLASSES
from contact.model import CRRNet, crr_loss

NETWORK_KEYS = ("images", "K", "object_points", "labels")


def centre_window(total: int, frames: int) -> slice:
    """Frames of the centred window of length `frames` inside a clip of `total` frames."""
    if frames > total or frames < 1:
        raise ValueError(f"window of {frames} frames does not fit a clip of {total} frames")
    start = (total - frames) // 2
    return slice(start, start + frames)


class ClipDataset(Dataset):
    """Network inputs of clips (dicts of numpy arrays), cut to the centred `frames`-frame window.

    Items: images (T,3,S,S) float [0,1], K (T,3,3), object_points (T,N,3) m (rough fit, camera frame),
    labels (T,N) int64; the window's middle frame is the clip's middle frame for every odd T.
    """

    def __init__(self, clips: list[dict], frames: int) -> None:
        self.clips, self.frames = clips, frames

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        clip = self.clips[index]
        window = centre_window(len(clip["labels"]), self.frames)
        images = torch.as_tensor(np.asarray(clip["images"][window]))
        points = np.asarray(clip["object_points"][window])
        return {"images": images.float() / 255.0 if images.dtype == torch.uint8 else images.float(),
                "K": torch.as_tensor(np.asarray(clip["K"][window]), dtype=torch.float32),
                "object_points": torch.as_tensor(points, dtype=torch.float32),
                "labels": torch.as_tensor(np.asarray(clip["labels"][window]), dtype=torch.int64)}


def middle_frame_confusion(predict: Callable[[dict[str, torch.Tensor]], torch.Tensor], loader: DataLoader,
                           device: torch.device) -> np.ndarray:
    """Confusion matrix of `predict(batch) -> (B,T,N) class ids` on the middle frame of every clip."""
    conf = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    for batch in loader:
        batch = {k: batch[k].to(device) for k in NETWORK_KEYS}
        pred = predict(batch)
        mid = pred.shape[1] // 2
        conf += confusion_matrix(pred[:, mid], batch["labels"][:, mid])
    return conf


def init_bias_to_prior(model: CRRNet, labels: np.ndarray) -> None:
    """Set the last classifier bias to log class frequencies (+1 smoothing), so training starts at the prior."""
    counts = np.bincount(labels, minlength=model.cfg.num_classes).astype(np.float64) + 1.0
    with torch.no_grad():
        model.classifier[-1].bias.copy_(torch.as_tensor(np.log(counts / counts.sum()), dtype=torch.float32))


class ContactTask(TrainTask):
    """CRRNet (or the PiCR-style baseline) on pre-generated clips."""

    def __init__(self, model_cfg: ContactModelConfig, data_cfg: ContactDataConfig, train_clips: list[dict],
                 eval_clips: list[dict] | None) -> None:
        self.model_cfg, self.data_cfg = model_cfg, data_cfg
        self.train_clips, self.eval_clips = train_clips, eval_clips

    def build_model(self) -> nn.Module:
        """CRRNet; on synthetic clips the classifier bias starts at the training labels' log frequencies."""
        model = CRRNet(self.model_cfg)
        train = self.train_dataset()
        if isinstance(train, ClipDataset) and train.clips:             # (BEHAVE clips: default init)
            init_bias_to_prior(model, np.concatenate([np.asarray(c["labels"]).reshape(-1) for c in train.clips]))
        return model

    def train_dataset(self) -> Dataset:
        return ClipDataset(self.train_clips, self.data_cfg.frames)

    def eval_dataset(self) -> Dataset | None:
        return None if self.eval_clips is None else ClipDataset(self.eval_clips, self.data_cfg.frames)

    def training_step(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        logits = model(batch["images"], batch["object_points"], batch["K"])
        loss = crr_loss(logits, batch["labels"], self.model_cfg.loss_weight)
        return loss, {"loss": float(loss.detach())}

    def predict(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per clip: middle-frame predicted and true classes (B,N) int64 and the clip's L_CRR (B,) (eq. 18)."""
        logits = model(batch["images"], batch["object_points"], batch["K"])
        labels, mid = batch["labels"], logits.shape[1] // 2
        weight = self.model_cfg.loss_weight
        per_clip = torch.stack([crr_loss(logits[i:i + 1], labels[i:i + 1], weight) for i in range(len(logits))])
        return {"pred": logits[:, mid].argmax(dim=-1).cpu(), "labels": labels[:, mid].cpu(),
                "l_crr": per_clip.detach().double().cpu()}

    def compute_metrics(self, outputs: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        """mIoU first (primary), accuracy and IoUs on the clips' middle frames, and the mean held-out L_CRR."""
        conf = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
        loss_sum, clips = 0.0, 0
        for out in outputs:
            conf += confusion_matrix(out["pred"], out["labels"])
            loss_sum += float(out["l_crr"].sum())
            clips += len(out["l_crr"])
        return {**contact_scores(conf), "l_crr": loss_sum / max(clips, 1)}
