"""Every TAIHRI experiment composes with Hydra and validates against the typed model/data configs."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from taihri.api import check_required
from taihri.config import data_config, model_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["sft", "rft", "synthetic_sft", "synthetic_rft", "regression", "eval_official"])
def test_experiment_composes_and_validates(name: str) -> None:
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment=taihri/{name}"], return_hydra_config=True)
    assert cfg.paper == "taihri"
    declared = OmegaConf.load(CONFIGS / "experiment" / "taihri" / f"{name}.yaml")
    assert (declared.optimized_metric, declared.optimized_direction) == ("g_mpjpe_mean", "minimize")
    model, data = model_config(cfg.model), data_config(cfg.data)
    assert model.stage == {"rft": "rft", "synthetic_rft": "rft", "regression": "regression"}.get(name, "sft")
    assert model.grpo.num_generations >= 2 and model.grpo.loss_type in ("grpo", "dapo", "dr_grpo", "bnpo")
    assert data.source == ("synthetic" if name.startswith("synthetic") else "egobody")
    assert model.random_init == name.startswith("synthetic")
    assert cfg.trainer.max_steps > 0 and cfg.trainer.lr > 0


def test_paper_config_without_base_model_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAIHRI_BASE_MODEL", raising=False)
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=taihri/sft"])
    with pytest.raises(ValueError, match="TAIHRI_BASE_MODEL"):
        check_required(model_config(cfg.model), data_config(cfg.data))


def test_unknown_model_key_fails_at_start_up() -> None:
    with pytest.raises(Exception, match="not_a_key"):
        model_config({"not_a_key": 1})
