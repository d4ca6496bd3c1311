"""`scripts/train.py experiment=eggflow/synthetic` composes, validates and trains a couple of steps."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from eggflow.api import parse_configs, train

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def compose_experiment(name: str, overrides: list[str]):
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        return compose("train", overrides=[f"experiment=eggflow/{name}", *overrides], return_hydra_config=False)


def test_experiment_trains_two_steps(tmp_path):
    cfg = compose_experiment("synthetic", ["trainer.max_steps=2", "trainer.batch_size=4", "data.train_clips=4",
                                           "data.eval_clips=2", "trainer.progress_bar=false",
                                           f"paths.cache_dir={tmp_path}"])
    with open_dict(cfg):
        cfg.run_dir = str(tmp_path / "run")
    metrics = train(cfg)
    assert list(metrics)[:4] == ["ade", "fde", "mpjpe", "mpjpe_f"]
    assert all(v == v and v > 0 for v in metrics.values())
    assert (tmp_path / "run" / "checkpoints" / "final").is_dir()


def test_wrong_key_fails_at_start_up():
    for name in ("noisy_vision", "pretrained_head", "egomotion_top10", "egoexo4d", "velocity_loss"):
        parse_configs(compose_experiment(name, []))
    with pytest.raises(Exception, match="not_a_field"):
        parse_configs(compose_experiment("synthetic", ["+model.not_a_field=1"]))
