"""Every posellm experiment composes with Hydra and validates against the typed model/data configs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from posellm.config import data_config, model_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("experiment", ["synthetic", "coco", "coco_locllm"])
def test_experiment_composes(experiment: str) -> None:
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment=posellm/{experiment}"], return_hydra_config=True)
    model, data = model_config(cfg.model), data_config(cfg.data)
    assert cfg.paper == "posellm"
    assert model.connector == ("linear" if experiment == "coco_locllm" else "mlp")
    assert (model.lora.r, model.lora.alpha, model.lora.dropout) == (8, 16, 0.05)
    if experiment != "synthetic":
        assert model.freeze_base and data.image_size == 224 and data.epochs == 12 and data.max_turns == 5
        assert cfg.trainer.lr == 5e-4 and cfg.trainer.batch_size * cfg.trainer.grad_accum == 64
        assert cfg.trainer.warmup_ratio == 0.03 and cfg.trainer.scheduler == "cosine"


def test_wrong_key_fails_at_start_up() -> None:
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=posellm/synthetic", "+model.conector=mlp"])
    with pytest.raises(Exception, match="conector"):
        model_config(cfg.model)
