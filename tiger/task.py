"""TigerTask: TIGeR's model, data, losses and gSDF evaluation for the shared `common.training.Trainer`."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from common.body.mano_ik import mano_joints_from_pose, solve_mano_ik
from common.cache import atomic_write
from common.training import TrainTask
from tiger.config import PriorConfig, TigerDataConfig, TigerModelConfig
from tiger.data.dataset import TigerDataset
from tiger.evaluation import Prediction, sample_metrics, summarise
from tiger.model.losses import tiger_losses
from tiger.model.network import TigerNet, TigerOutput
from tiger.prior import PriorSource, build_prior_source

log = logging.getLogger(__name__)
MODEL_INPUTS = ("image", "K", "prior", "root_depth")


def check_real_data_inputs(data: TigerDataConfig) -> None:
    """Fail at start-up when a released dataset would silently meet a stand-in (MANO) or lack a required path."""
    if not data.real:
        return
    if data.root is None:
        raise FileNotFoundError(f"data.source={data.source} needs data.root (docs/tiger.md#{data.source})")
    if data.mano_dir is None and not data.allow_standin_mano:
        raise FileNotFoundError(
            f"data.source={data.source} needs the real MANO model: set paths.body_models (env EHP_BODY_MODELS) or "
            "data.mano_dir to the folder holding mano/MANO_RIGHT.pkl; data.allow_standin_mano=true uses the "
            "generated stand-in on purpose (docs/tiger.md)")
    if data.mano_dir is not None and not data.allow_standin_mano:
        from common.body import is_standin

        found = [p for p in (Path(data.mano_dir) / "mano" / "MANO_RIGHT.pkl", Path(data.mano_dir) / "MANO_RIGHT.pkl")
                 if p.is_file()]
        if not found:
            raise FileNotFoundError(f"no MANO_RIGHT.pkl under data.mano_dir={data.mano_dir} (expected "
                                    "mano/MANO_RIGHT.pkl; see docs/tiger.md)")
        if is_standin(found[0]):
            raise ValueError(f"{found[0]} is the generated stand-in MANO, not the real model; on "
                             f"data.source={data.source} set data.allow_standin_mano=true to use it on purpose")
    if data.source == "obman" and None in (data.shapenet_root, data.train_ids, data.eval_ids):
        raise FileNotFoundError("ObMan needs data.shapenet_root (ShapeNetCore.v2) and gSDF's split lists "
                                "data.train_ids / data.eval_ids (train_87k.json / test_6k.json), docs/tiger.md#obman")


def synthetic_root(data: TigerDataConfig, cache_root: Path) -> Path:
    """Root of the synthetic set: data.root as written (by any spec), else a cache folder keyed by everything
    that determines the set (layout version, seed, image size), written on first use."""
    from common.cache import cache_key, cache_path
    from tiger.data.synthetic import LAYOUT_VERSION, SPEC_FILE, SceneSpec, ensure_synthetic_dexycb

    spec = SceneSpec(image_hw=list(data.image_hw), seed=data.seed)
    if data.root is not None and (Path(data.root) / SPEC_FILE).is_file():
        return Path(data.root)
    root = Path(data.root) if data.root else cache_path(cache_root, "tiger_synthetic",
                                                        cache_key(LAYOUT_VERSION, spec), "")
    return ensure_synthetic_dexycb(root, spec)


def build_sources(data: TigerDataConfig, cache_root: Path) -> tuple[Any, Any]:
    """(train, eval) frame sources of the configured dataset (writing the synthetic set when needed)."""
    check_real_data_inputs(data)
    if data.source == "obman":
        from tiger.data.obman import ObManHandObject

        return tuple(ObManHandObject(data.root, split, data.shapenet_root, ids, max_samples=data.max_samples)
                     for split, ids in ((data.train_split, data.train_ids), (data.eval_split, data.eval_ids)))
    from tiger.data.dexycb import DexYCBHandObject

    if data.source == "dexycb":
        return tuple(DexYCBHandObject(data.root, split, data.mano_dir, data.max_samples)
                     for split in (data.train_split, data.eval_split))
    root = synthetic_root(data, cache_root)
    sizes = [n for n in (data.max_samples, data.num_train) if n is not None], \
        [n for n in (data.max_samples, data.num_test) if n is not None]
    return tuple(DexYCBHandObject(root, split, data.mano_dir, min(n) if n else None)
                 for split, n in zip((data.train_split, data.eval_split), sizes))


class TigerTask(TrainTask):
    """Trains TigerNet on TigerDataset frames; evaluates with the gSDF protocol through common.metrics."""

    def __init__(self, model_cfg: TigerModelConfig, data_cfg: TigerDataConfig, cache_root: str | Path,
                 datasets: tuple[TigerDataset, TigerDataset] | None = None) -> None:
        self.model_cfg, self.data_cfg = model_cfg, data_cfg
        self.cache_root = Path(cache_root)
        self._datasets = datasets
        self._mano: nn.Module | None = None
        self.samples_path: Path | None = None
        """Where `evaluate` writes per-sample records (occlusion, category, metrics of every variant); None = not."""

    def prior_config(self) -> PriorConfig:
        """model.prior with the generated-prior cache folder defaulting to <paths.cache_dir>/tiger_priors."""
        prior_cfg = self.model_cfg.prior
        if prior_cfg.cache_dir is None:
            prior_cfg = replace(prior_cfg, cache_dir=str(self.cache_root / "tiger_priors"))
        return prior_cfg

    def vocabulary(self) -> list[str] | None:
        """Category vocabulary captions are mapped onto: the synthetic categories, or free text on real data."""
        from common.data.synthetic import OBJECT_CATEGORIES

        return None if self.data_cfg.real else list(OBJECT_CATEGORIES)

    def prior_source(self) -> PriorSource:
        """The configured prior source (the generated prior is read from its offline cache, which is built
        here first only when model.prior.build_cache asks for it)."""
        try:
            return build_prior_source(self.prior_config(), self.data_cfg, self.vocabulary())
        except FileNotFoundError:
            if not (self.model_cfg.prior.source == "generated" and self.model_cfg.prior.build_cache):
                raise
        log.info("model.prior.build_cache=true: running the offline prior stage now")
        self.make_priors()
        return build_prior_source(self.prior_config(), self.data_cfg, self.vocabulary())

    def make_priors(self, components: Any = None) -> Path:
        """Run the offline generated-prior stage on both splits (in this process, GPU when present)."""
        from common.device import default_device
        from tiger.prior import make_prior_cache

        sources = build_sources(self.data_cfg, self.cache_root)
        return make_prior_cache(self.prior_config(), self.data_cfg, list(sources), self.vocabulary(),
                                str(default_device()), components)

    def datasets(self) -> tuple[TigerDataset, TigerDataset]:
        """(train, eval) TigerDatasets, built once."""
        if self._datasets is None:
            train_src, eval_src = build_sources(self.data_cfg, self.cache_root)
            prior = self.prior_source()
            memoise = not self.data_cfg.real
            args = (prior, self.model_cfg.input_size, self.data_cfg.gt_points, self.data_cfg.crop_scale,
                    self.model_cfg.prior.icp_starts, self.model_cfg.prior.icp_iterations, memoise, self.cache_root)
            self._datasets = (TigerDataset(train_src, *args), TigerDataset(eval_src, *args))
        return self._datasets

    def check_inputs(self) -> None:
        """Start-up checks: real data has its real inputs, the prior source can be built (cache, bank)."""
        check_real_data_inputs(self.data_cfg)
        self.prior_source()

    def build_model(self) -> nn.Module:
        """TigerNet with its encoders initialised from the configured published weights (model.*_init)."""
        model = TigerNet(self.model_cfg)
        model.init_encoders()
        return model

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
        check_real_data_inputs(self.data_cfg)
        if self._mano is None:
            from common.body import load_mano

            self._mano = load_mano(self.data_cfg.mano_dir)
        return self._mano

    @torch.no_grad()
    def forward_batch(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[TigerOutput, Tensor, Tensor, Tensor]:
        """(network output, refined object points (B,N,3), raw prior scaled and placed at the predicted centre
        (B,N,3) -- the no-refinement baseline --, hand vertices (B,778,3) from IK of the predicted joints)."""
        batch = {k: v.to(next(model.parameters()).device) for k, v in batch.items()}
        out = model(*(batch[k] for k in MODEL_INPUTS))
        raw_prior = self.model_cfg.object_scale * batch["prior"] + out.object_centre.unsqueeze(1)
        mano = self.mano()
        ik = solve_mano_ik(out.hand_joints.float().cpu(), mano)
        verts, _ = mano_joints_from_pose(mano, ik)
        return out, out.object_points.float().cpu(), raw_prior.float().cpu(), verts

    def predictions(self, model: nn.Module, loader: DataLoader) -> list[Prediction]:
        """Refined and raw-prior predictions with their ground truth for every sample of the loader."""
        dataset: TigerDataset = loader.dataset
        faces = np.asarray(self.mano().faces, np.int64)
        preds = []
        for batch in loader:
            _, objects, priors, hands = self.forward_batch(model, batch)
            for k, idx in enumerate(batch["index"].tolist()):
                gt_obj, gt_hand, category = dataset.gt_meshes(idx)
                preds.append(Prediction({"refined": objects[k].numpy(), "raw_prior": priors[k].numpy()},
                                        (hands[k].numpy(), faces), gt_obj, (gt_hand, faces),
                                        float(batch["occlusion"][k]), category))
        return preds

    def score(self, preds: list[Prediction]) -> tuple[dict[str, float], list[dict[str, dict[str, float]]]]:
        """(summary: refined metrics, CD_o median first, then the raw prior's under `raw_prior/`; per-sample
        metrics of every variant)."""
        per_sample = [sample_metrics(p, self.data_cfg.eval_num_samples, self.data_cfg.eval_icp, seed=i)
                      for i, p in enumerate(preds)]
        categories = [p.category for p in preds]
        refined = summarise([s["refined"] for s in per_sample], categories)
        raw = summarise([s["raw_prior"] for s in per_sample], categories)
        return {**refined, **{f"raw_prior/{k}": v for k, v in raw.items()}}, per_sample

    def prior_quality(self, dataset: TigerDataset) -> dict[str, float]:
        """Table 4(c) Sim.: DGCNN similarity of each (object model, prior) pair of the set to the GT shape,
        averaged per sub-category, for the prior and for the unit sphere (the pair does not depend on the pose)."""
        from tiger.prior_quality import prior_similarity

        pairs = {}
        for i in range(len(dataset)):
            info = dataset.source.describe(i)
            category = dataset.prior.category_for(dataset.source.split, info["sample_id"], info["object_model"],
                                                  info["category"])
            pairs[(info["object_model"], category)] = info["category"]
        return prior_similarity(self.model_cfg.dgcnn_init, [dataset.prior.points(c) for _, c in pairs],
                                [dataset.model_points(m) for m, _ in pairs], list(pairs.values()))

    @torch.no_grad()
    def evaluate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        """Refined-shape metrics, then the same metrics of the raw prior at the predicted centre (`raw_prior/`)."""
        preds = self.predictions(model, loader)
        summary, per_sample = self.score(preds)
        if self.model_cfg.dgcnn_init.path is not None:
            summary |= self.prior_quality(loader.dataset)
        if self.samples_path is not None:
            records = [{"occlusion": p.occlusion, "category": p.category, **{f"{variant}/{k}": v for variant, m in
                                                                            s.items() for k, v in m.items()}}
                       for p, s in zip(preds, per_sample)]
            atomic_write(self.samples_path, lambda tmp: Path(tmp).write_text(json.dumps(records)))
        return summary
