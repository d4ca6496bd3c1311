"""Experiment configs through the Hydra entry points: the synthetic default and the paper (Ego-Exo4D) experiment
on real-format fixtures with tiny checkpoints in the official layouts (only paths, sizes and steps overridden)."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from eggflow.api import evaluate, parse_configs, train
from tests.eggflow.smoke import smoke_overrides

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def compose_experiment(name: str, overrides: list[str], config: str = "train"):
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        return compose(config, overrides=[f"experiment=eggflow/{name}", *overrides], return_hydra_config=False)


def run(cfg, run_dir: Path, action=train, ckpt: Path | None = None) -> dict[str, float]:
    with open_dict(cfg):
        cfg.run_dir = str(run_dir)
        if ckpt is not None:
            cfg.ckpt = str(ckpt)
    return action(cfg)


def test_synthetic_experiment_trains_and_evaluates_from_its_folder(tmp_path):
    overrides = ["debug=eggflow", f"paths.cache_dir={tmp_path}", "model.pretrain_head_steps=2"]
    metrics = run(compose_experiment("synthetic", overrides), tmp_path / "run")
    assert list(metrics)[:4] == ["ade", "fde", "mpjpe", "mpjpe_f"]
    assert all(v == v and v > 0 for v in metrics.values())
    for prefix in ("static/", "cvm/", "zero_velocity/", "noisy_vision/", "dummy_language/", "top10/"):
        assert f"{prefix}ade" in metrics
    folder = tmp_path / "run" / "checkpoints" / "final"
    assert (folder / "config.json").exists() and (tmp_path / "run" / "predictions.npz").exists()
    again = run(compose_experiment("synthetic", overrides, "evaluate"), tmp_path / "eval", evaluate, folder)
    assert again["ade"] == pytest.approx(metrics["ade"], rel=1e-6)


def test_paper_experiment_runs_on_real_format_fixtures(tmp_path):
    overrides = smoke_overrides("eggflow/egoexo4d", tmp_path)
    cfg = compose_experiment("egoexo4d", [*overrides, f"paths.cache_dir={tmp_path}"])
    model_cfg, data_cfg = parse_configs(cfg)
    assert model_cfg.target == "absolute" and model_cfg.groot.path and data_cfg.source == "lerobot"
    metrics = run(cfg, tmp_path / "run")
    assert metrics["ade"] > 0 and "noisy_vision_dummy_language/ade" in metrics
    assert metrics["noisy_vision/ade"] != metrics["ade"]                     # the ablated inputs reach the model
    folder = tmp_path / "run" / "checkpoints" / "final"
    again = run(compose_experiment("egoexo4d", [*overrides, f"paths.cache_dir={tmp_path}"], "evaluate"),
                tmp_path / "eval", evaluate, folder)
    assert again["ade"] == pytest.approx(metrics["ade"], rel=1e-6)


def test_wrong_key_fails_at_start_up():
    for name in ("noisy_vision", "pretrained_head", "egomotion_top10", "velocity_loss", "dummy_language"):
        parse_configs(compose_experiment(name, []))
    with pytest.raises(Exception, match="not_a_field"):
        parse_configs(compose_experiment("synthetic", ["+model.not_a_field=1"]))
