"""TigerTask: TIGeR's model, data, losses and gSDF evaluation for the shared `common.training.Trainer`."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from common.body.mano_ik import mano_joints_from_pose, solve_mano_ik
from common.training import TrainTask
from tiger.config import TigerDataConfig, TigerModelConfig
from tiger.data.dataset import TigerDataset
from tiger.evaluation import Prediction, sample_metrics, summarise
from tiger.model.losses import tiger_losses
from tiger.model.network import TigerNet, TigerOutput
from tiger.prior import PriorSource, build_prior_source

log = logging.getLogger(__name__)
MODEL_INPUTS = ("image", "K", "prior", "root_depth")


def build_sources(data: TigerDataConfig, cache_root: Path) -> tuple[Any, Any]:
    """(train, eval) frame sources of the configured dataset (writing the synthetic set when needed)."""
    if data.name == "obman":
        from tiger.data.obman import ObManHandObject

        if data.root is None or data.shapenet_root is None:
            raise FileNotFoundError("ObMan needs data.root and data.shapenet_root (docs/tiger.md#obman)")
        return tuple(ObManHandObject(data.root, split, data.shapenet_root, max_samples=data.max_samples)
                     for split in (data.train_split, data.eval_split))
    from tiger.data.dexycb import DexYCBHandObject

    root = data.root
    if data.name == "synthetic":
        from tiger.data.synthetic import SPEC_FILE, SceneSpec, ensure_synthetic_dexycb

        root = root or str(cache_root / "tiger_synthetic")
        if not (Path(root) / SPEC_FILE).is_file():
            ensure_synthetic_dexycb(root, SceneSpec(image_hw=list(data.image_hw), seed=data.seed))
    elif root is None:
        raise FileNotFoundError("DexYCB needs data.root (docs/tiger.md#dexycb)")
    return tuple(DexYCBHandObject(root, split, data.mano_dir, data.max_samples)
                 for split in (data.train_split, data.eval_split))


class TigerTask(TrainTask):
    """Trains TigerNet on TigerDataset frames; evaluates with the gSDF protocol through common.metrics."""

    def __init__(self, model_cfg: TigerModelConfig, data_cfg: TigerDataConfig, cache_root: str | Path,
                 datasets: tuple[TigerDataset, TigerDataset] | None = None) -> None:
        self.model_cfg, self.data_cfg = model_cfg, data_cfg
        self.cache_root = Path(cache_root)
        self._datasets = datasets
        self._mano: nn.Module | None = None

    def prior_source(self) -> PriorSource:
        """The configured prior source (cached per category under the cache root unless configured)."""
        from common.data.synthetic import OBJECT_CATEGORIES

        prior_cfg = self.model_cfg.prior
        if prior_cfg.cache_dir is None:
            prior_cfg = replace(prior_cfg, cache_dir=str(self.cache_root / "tiger_priors"))
        device = "cuda" if torch.cuda.is_available() else "cpu"
        vocabulary = list(OBJECT_CATEGORIES) if self.data_cfg.name == "synthetic" else None
        return build_prior_source(prior_cfg, vocabulary, device)

    def datasets(self) -> tuple[TigerDataset, TigerDataset]:
        """(train, eval) TigerDatasets, built once."""
        if self._datasets is None:
            train_src, eval_src = build_sources(self.data_cfg, self.cache_root)
            prior = self.prior_source()
            memoise = self.data_cfg.name == "synthetic"
            args = (prior, self.model_cfg.input_size, self.data_cfg.gt_points, self.data_cfg.crop_scale,
                    self.model_cfg.prior.icp_starts, self.model_cfg.prior.icp_iterations, memoise)
            self._datasets = (TigerDataset(train_src, *args), TigerDataset(eval_src, *args))
        return self._datasets

    def build_model(self) -> nn.Module:
        return TigerNet(self.model_cfg)

    def train_dataset(self) -> Dataset:
        return self.datasets()[0]

    def eval_dataset(self) -> Dataset | None:
        return self.datasets()[1]

    def training_step(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        out = model(*(batch[k] for k in MODEL_INPUTS))
        losses = tiger_losses(out, batch, self.model_cfg)
        return losses["total"], {k: float(v.detach()) for k, v in losses.items()}

    def parameters_to_train(self, model: nn.Module) -> list[nn.Parameter]:
        """All parameters, except the object shape visual encoder and hand pose encoder in the fine-tune stage."""
        frozen: set[int] = set()
        if self.model_cfg.stage == "finetune":
            frozen = {id(p) for m in (model.visual, model.hand_pose.encoder) for p in m.parameters()}
        return [p for p in model.parameters() if p.requires_grad and id(p) not in frozen]

    def mano(self) -> nn.Module:
        """MANO (flat mean, zero shape as gSDF's IK) turning predicted joints into hand vertices."""
        if self._mano is None:
            from common.body import load_mano

            self._mano = load_mano(self.data_cfg.mano_dir)
        return self._mano

    @torch.no_grad()
    def predict(self, model: nn.Module, batch: dict[str, Tensor], prior_only: bool = False
                ) -> tuple[TigerOutput, Tensor, Tensor]:
        """(network output, object points (B,N,3), hand vertices (B,778,3)); `prior_only` places the scaled
        raw prior at the predicted centre instead of the refined shape (the no-refinement baseline)."""
        batch = {k: v.to(next(model.parameters()).device) for k, v in batch.items()}
        out = model(*(batch[k] for k in MODEL_INPUTS))
        objects = out.object_points
        if prior_only:
            objects = self.model_cfg.object_scale * batch["prior"] + out.object_centre.unsqueeze(1)
        mano = self.mano()
        ik = solve_mano_ik(out.hand_joints.float().cpu(), mano)
        verts, _ = mano_joints_from_pose(mano, ik)
        return out, objects.float().cpu(), verts

    def predictions(self, model: nn.Module, loader: DataLoader, prior_only: bool = False) -> list[Prediction]:
        """Predictions with their ground truth for every sample of the loader."""
        dataset: TigerDataset = loader.dataset
        faces = np.asarray(self.mano().faces, np.int64)
        preds = []
        for batch in loader:
            _, objects, hands = self.predict(model, batch, prior_only)
            for k, idx in enumerate(batch["index"].tolist()):
                gt_obj, gt_hand, category = dataset.gt_meshes(idx)
                preds.append(Prediction(objects[k].numpy(), (hands[k].numpy(), faces), gt_obj, (gt_hand, faces),
                                        float(batch["occlusion"][k]), category))
        return preds

    def score(self, preds: list[Prediction]) -> tuple[dict[str, float], list[dict[str, float]]]:
        """(summary with CD_o median first, per-sample metrics)."""
        per_sample = [sample_metrics(p, self.data_cfg.eval_num_samples, self.data_cfg.eval_icp, seed=i)
                      for i, p in enumerate(preds)]
        return summarise(per_sample), per_sample

    @torch.no_grad()
    def evaluate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        summary, _ = self.score(self.predictions(model, loader))
        return summary
