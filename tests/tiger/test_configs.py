"""The paper configs compose, and on real data fail at start-up when a required real input is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from common.body import standin_dir
from tiger.api import build_task
from tiger.config import METRICS, SCHEMAS, data_config_from, model_config_from

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _compose(*overrides: str):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("train", overrides=list(overrides))


@pytest.mark.parametrize("experiment", ["dexycb_paper", "dexycb_finetune", "obman_paper", "synthetic"])
def test_experiments_compose_into_the_schemas(experiment: str, tmp_path: Path) -> None:
    cfg = _compose(f"experiment=tiger/{experiment}", "model.require_pretrained=false")
    assert isinstance(model_config_from(cfg.model), SCHEMAS["model"])
    assert isinstance(data_config_from(cfg.data), SCHEMAS["data"])
    assert cfg.optimized_metric in METRICS and cfg.optimized_direction == "minimize"
    assert "best.pt" not in (CONFIGS / "experiment" / "tiger" / f"{experiment}.yaml").read_text()


def test_paper_model_requires_every_pretrained_file(tmp_path: Path) -> None:
    cfg = _compose("experiment=tiger/dexycb_paper", f"data.root={tmp_path}")
    with pytest.raises(FileNotFoundError, match=r"model\.hrnet_init\.path.*model\.object_pose_init\.path"):
        build_task(cfg)


def test_real_data_without_body_models_fails_at_start_up(tmp_path: Path) -> None:
    cfg = _compose("experiment=tiger/dexycb_paper", "model.require_pretrained=false", f"data.root={tmp_path}",
                   "paths.body_models=null", f"paths.cache_dir={tmp_path}")
    with pytest.raises(FileNotFoundError, match=r"paths\.body_models"):
        build_task(cfg)


def test_real_data_retrieval_without_bank_fails_at_start_up(tmp_path: Path) -> None:
    cfg = _compose("experiment=tiger/obman_paper", "model.require_pretrained=false", f"data.root={tmp_path}",
                   f"paths.body_models={standin_dir()}", "data.allow_standin_mano=true",
                   "model.prior.source=retrieval", f"paths.cache_dir={tmp_path}")
    with pytest.raises(FileNotFoundError, match=r"model\.prior\.bank_dir"):
        build_task(cfg)


def test_real_data_generated_prior_without_cache_fails_at_start_up(tmp_path: Path) -> None:
    cfg = _compose("experiment=tiger/dexycb_paper", "model.require_pretrained=false", f"data.root={tmp_path}",
                   f"paths.body_models={standin_dir()}", "data.allow_standin_mano=true", f"paths.cache_dir={tmp_path}")
    with pytest.raises(FileNotFoundError, match=r"make_priors\.py"):
        build_task(cfg)


def test_real_data_refuses_the_standin_mano_unless_asked_by_name(tmp_path: Path) -> None:
    from common.body import load_mano

    load_mano()                                           # writes the stand-in files if needed
    cfg = _compose("experiment=tiger/dexycb_paper", "model.require_pretrained=false", f"data.root={tmp_path}",
                   f"paths.body_models={standin_dir()}", f"paths.cache_dir={tmp_path}")
    with pytest.raises(ValueError, match=r"data\.allow_standin_mano=true"):
        build_task(cfg)
