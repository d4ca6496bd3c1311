"""End-to-end: train a tiny TIGeR on synthetic grasps and beat the raw retrieval prior and the unit sphere."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from torch.utils.data import DataLoader

from common.data import schema as S
from common.training import Trainer, TrainerConfig
from tiger.config import PriorConfig, TigerDataConfig, TigerModelConfig
from tiger.data.dexycb import DexYCBHandObject
from tiger.task import TigerTask


@pytest.mark.slow
def test_refinement_beats_raw_prior_and_sphere(tiny_synthetic_root: Path, tmp_path: Path) -> None:
    data_cfg = TigerDataConfig(root=str(tiny_synthetic_root), eval_num_samples=500, eval_icp=False)
    model_cfg = TigerModelConfig(prior=PriorConfig(source="retrieval", num_points=128, icp_starts=2,
                                                   icp_iterations=10), object_scale=0.06,
                                 sa1_points=32, sa2_points=8, pose_widths=[8, 16], heatmap_size=8,
                                 depth_bins=8)
    task = TigerTask(model_cfg, data_cfg, tmp_path)
    train_set, test_set = task.datasets()
    assert len(train_set) == 48 and len(test_set) == 4
    trainer = Trainer(TrainerConfig(max_steps=80, batch_size=8, eval_batch_size=8, lr=2e-3, grad_clip=None,
                                    progress_bar=False, log_every=20), task, tmp_path / "run")
    metrics = trainer.fit()
    assert next(iter(metrics)) == "cd_o"
    model = trainer.model.eval()
    loader = DataLoader(test_set, batch_size=8)
    summary, _ = task.score(task.predictions(model, loader))
    refined = {k: v for k, v in summary.items() if "/" not in k}
    raw_prior = {k[len("raw_prior/"):]: v for k, v in summary.items() if k.startswith("raw_prior/")}
    sphere_cfg = replace(model_cfg, prior=replace(model_cfg.prior, source="sphere"))
    sphere_task = TigerTask(sphere_cfg, data_cfg, tmp_path,
                            (train_set, test_set.with_prior(TigerTask(sphere_cfg, data_cfg, tmp_path).prior_source())))
    sphere_summary, _ = sphere_task.score(sphere_task.predictions(model, DataLoader(sphere_task.eval_dataset(), 8)))
    sphere = {k[len("raw_prior/"):]: v for k, v in sphere_summary.items() if k.startswith("raw_prior/")}
    for baseline in (raw_prior, sphere):
        assert refined["cd_o_centred"] < baseline["cd_o_centred"]
        assert refined["fs_o_10_centred"] > baseline["fs_o_10_centred"]


def test_synthetic_scenes_follow_the_dexycb_layout(tiny_synthetic_root: Path, tmp_path: Path) -> None:
    data = DexYCBHandObject(tiny_synthetic_root, "test", cache_dir=tmp_path)
    sample = data[0]
    assert sample[S.IMAGE].shape == (3, 72, 96)
    obj = data.contact_points(sample["object_model"]) @ sample[S.OBJECT_POSE][:3, :3].T + sample[S.OBJECT_POSE][:3, 3]
    gap = np.linalg.norm(obj[:, None] - sample[S.VERTICES_CAM][None], axis=-1).min()
    assert gap < 0.005                                   # kept by the 5 mm contact rule
    samples = [data[i] for i in range(len(data))]
    assert all((s[S.OBJECT_MASK] <= s[S.OBJECT_MASK_AMODAL]).all() and s[S.OBJECT_MASK].any() for s in samples)
    assert any(s[S.OBJECT_MASK_AMODAL].sum() > s[S.OBJECT_MASK].sum() for s in samples)   # hand occludes
