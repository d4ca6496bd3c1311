"""Every TAIHRI experiment composes with Hydra and validates against the typed model/data configs."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from taihri.config import data_config, model_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["sft", "rft", "synthetic_sft", "synthetic_rft"])
def test_experiment_composes_and_validates(name: str) -> None:
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment=taihri/{name}"], return_hydra_config=True)
    assert cfg.paper == "taihri"
    model, data = model_config(cfg.model), data_config(cfg.data)
    assert model.stage == ("rft" if name.endswith("rft") else "sft")
    assert model.grpo.num_generations >= 2 and model.grpo.loss_type in ("grpo", "dapo", "dr_grpo", "bnpo")
    assert data.name == ("synthetic" if name.startswith("synthetic") else "egobody")
    assert cfg.trainer.max_steps > 0 and cfg.trainer.lr > 0


def test_unknown_model_key_fails_at_start_up() -> None:
    with pytest.raises(Exception, match="not_a_key"):
        model_config({"not_a_key": 1})
