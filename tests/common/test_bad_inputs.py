"""Bad-input table: configs, checkpoints, caches and common loaders. Each case must fail (or recover) with a
message naming the key or file, before any training work where the input is a config value."""

from __future__ import annotations

import json
import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict
from safetensors.torch import save_file

from common.cache import cache_dir_from, cache_key, cached_json, cached_npz, cached_tensors, cached_torch
from common.config_validation import ConfigError, validate_run_config
from common.training import Trainer, TrainerConfig, load_model_weights
from tests.common.toy_task import ToyTask

REPO = Path(__file__).resolve().parents[2]
CONTACT = "contact/crrnet_synthetic"
TAIHRI = "taihri/synthetic_sft"

# (experiment, action, overrides, regex the ConfigError message must match)
CONFIG_CASES = [
    (CONTACT, "train", ["trainer.lr=-1"], r"trainer\.lr=-1\.0 must be a finite number > 0"),
    (CONTACT, "train", ["trainer.lr=0"], r"trainer\.lr=0\.0 must be"),
    (CONTACT, "train", ["trainer.lr=abc"], r"trainer\.lr: Value 'abc'"),
    (CONTACT, "train", ["trainer.grad_clip=-1"], r"trainer\.grad_clip=-1\.0 must be >= 0"),
    (CONTACT, "train", ["trainer.log_every=0"], r"trainer\.log_every=0 must be >= 1"),
    (CONTACT, "train", ["trainer.eval_every=-1"], r"trainer\.eval_every=-1 must be >= 0"),
    (CONTACT, "train", ["trainer.ckpt_every=-2"], r"trainer\.ckpt_every=-2 must be >= 0"),
    (CONTACT, "train", ["trainer.ckpt_every_minutes=-1"], r"trainer\.ckpt_every_minutes=-1\.0 must be >= 0"),
    (CONTACT, "train", ["trainer.weight_decay=-0.1"], r"trainer\.weight_decay=-0\.1 must be >= 0"),
    (CONTACT, "train", ["trainer.max_steps=-5"], r"trainer\.max_steps=-5 must be >= 0"),
    (CONTACT, "train", ["trainer.eval_batch_size=0"], r"trainer\.eval_batch_size=0 must be >= 1"),
    (CONTACT, "train", ["trainer.batch_size=0"], r"trainer\.batch_size=0 must be >= 1"),
    (CONTACT, "train", ["trainer.grad_accum=0"], r"trainer\.grad_accum=0 must be >= 1"),
    (CONTACT, "train", ["trainer.optimizer=sgd"], r"trainer\.optimizer='sgd': choose one of"),
    (CONTACT, "train", ["trainer.scheduler=linear"], r"trainer\.scheduler='linear': choose one of"),
    (CONTACT, "train", ["trainer.precision=fp16"], r"trainer\.precision='fp16': choose one of"),
    (CONTACT, "train", ["trainer.best_mode=lowest"], r"trainer\.best_mode='lowest': choose one of"),
    (CONTACT, "train", ["trainer.warmup_ratio=1.5"], r"trainer\.warmup_ratio=1\.5 must be in \[0, 1\)"),
    (CONTACT, "train", ["trainer.min_lr_ratio=2"], r"trainer\.min_lr_ratio=2\.0 must be in \[0, 1\]"),
    (CONTACT, "train", ["trainer.betas=[0.9]"], r"trainer\.betas=\[0\.9\] must be two numbers"),
    (CONTACT, "train", ["trainer.num_workers=-1"], r"trainer\.num_workers=-1 must be >= 0"),
    (CONTACT, "train", ["trainer.keep_last=0"], r"trainer\.keep_last=0 must be >= 1"),
    (CONTACT, "train", ["trainer.global_batch_size=0"], r"trainer\.global_batch_size=0 must be >= 1"),
    (CONTACT, "train", ["trainer.collective_timeout_minutes=0"], r"trainer\.collective_timeout_minutes=0\.0"),
    (CONTACT, "train", ["trainer.max_steps=many"], r"trainer\.max_steps: Value 'many'"),
    (CONTACT, "train", ["+trainer.lrr=1"], r"trainer\.lrr: Key 'lrr' not in 'TrainerConfig'"),
    (CONTACT, "train", ["seed=abc"], r"seed: 'abc' is not an integer"),
    (CONTACT, "train", ["seed=1.5"], r"seed: 1\.5 is not an integer"),
    (CONTACT, "train", ["model.window=abc"], r"model\.window: Value 'abc'[\s\S]*ContactModelConfig"),
    (CONTACT, "train", ["+model.no_such=1"], r"model\.no_such: Key 'no_such'[\s\S]*fix: use one of"),
    (CONTACT, "train", ["data.train_clips=abc"], r"data\.train_clips: Value 'abc'"),
    (CONTACT, "train", ["+data.nope=1"], r"data\.nope: Key 'nope'"),
    (CONTACT, "train", ["optimized_direction=up"], r"optimized_direction: 'up' must be one of"),
    (CONTACT, "train", ["trainer.best_metric=mioux"], r"trainer\.best_metric: 'mioux' is not a metric of contact"),
    (TAIHRI, "train", ["optimized_metric=bogus"], r"optimized_metric: 'bogus' is not a metric of taihri"),
    (CONTACT, "train", ["paper=bogus"], r"paper: 'bogus' is not one of"),
    (CONTACT, "train", ["paths.data_root=${oc.env:EHP_SURELY_UNSET_VAR}"], r"paths\.data_root.*EHP_SURELY_UNSET_VAR"),
    (CONTACT, "evaluate", [], r"ckpt: required for evaluation; pass ckpt="),
    ("tiger/obman_paper", "train", [], r"model\.require_pretrained=true but model\.hrnet_init\.path.* not set"),
    (CONTACT, "evaluate", ["ckpt=/no/such/folder"], r"ckpt: /no/such/folder does not exist"),
]


def compose_cfg(experiment: str, action: str, overrides: list[str]):
    """The config scripts/<action>.py would see (HydraConfig set, as in a real launch)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO / "configs"), version_base="1.3"):
        cfg = compose(action, overrides=[f"experiment={experiment}", *overrides], return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = "/tmp/unused-run-dir"
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra
    return cfg


@pytest.mark.parametrize(("experiment", "action", "overrides", "message"), CONFIG_CASES,
                         ids=[" ".join(c[2]) or f"{c[1]}-no-ckpt" for c in CONFIG_CASES])
def test_bad_config_value_fails_at_start_naming_the_key(experiment, action, overrides, message):
    cfg = compose_cfg(experiment, action, overrides)
    with pytest.raises(ConfigError, match=message):
        validate_run_config(cfg, action)


@pytest.mark.parametrize("experiment", [CONTACT, TAIHRI])
def test_shipped_experiment_passes_validation(experiment):
    validate_run_config(compose_cfg(experiment, "train", []), "train")


# ---------------------------------------------------------------- checkpoints
def _model() -> torch.nn.Module:
    return ToyTask().build_model()


def test_checkpoint_folder_without_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"checkpoint folder {tmp_path} has none of"):
        load_model_weights(_model(), tmp_path)


def test_checkpoint_path_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist; set ckpt=<run_dir>/checkpoints/final"):
        load_model_weights(_model(), tmp_path / "final.safetensors")


def test_truncated_safetensors_names_the_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file(_model().state_dict(), str(path))
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(ValueError, match=rf"cannot read checkpoint {path}"):
        load_model_weights(_model(), tmp_path)


def test_weights_of_another_model_name_the_file_and_the_cause(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"weight": torch.zeros(3, 3)}, str(path))
    with pytest.raises(ValueError, match=rf"checkpoint {path} does not fit Sequential \(was it trained with another"):
        load_model_weights(_model(), path)


def test_crafted_pickle_weights_are_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"model": Payload()}))
    with pytest.raises(ValueError, match=rf"cannot read checkpoint {path}: UnpicklingError"):
        load_model_weights(_model(), path)
    assert not marker.exists()


def test_resume_path_without_trainer_state(tmp_path):
    cfg = TrainerConfig(max_steps=2, progress_bar=False, resume=str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"trainer\.resume=.*no trainer_state\.pt there"):
        Trainer(cfg, ToyTask(), tmp_path / "run").fit()


# --------------------------------------------------------------------- caches
def _corrupt(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])


@pytest.mark.parametrize(("reader", "value", "suffix"), [
    (cached_npz, {"a": np.arange(6.0)}, ".npz"),
    (cached_tensors, {"a": torch.arange(6.0)}, ".safetensors"),
    (cached_json, {"a": [1, 2, 3]}, ".json"),
    (cached_torch, {"a": torch.arange(6.0)}, ".pt"),
])
def test_corrupt_cache_is_rebuilt_with_a_warning_naming_the_file(tmp_path, caplog, reader, value, suffix):
    path = tmp_path / "ns" / f"{cache_key('case', suffix)}{suffix}"
    builds = []

    def build():
        builds.append(1)
        return value

    reader(path, build)
    assert reader(path, build).keys() == value.keys() and len(builds) == 1  # second call reads the cache
    _corrupt(path)
    with caplog.at_level(logging.WARNING):
        again = reader(path, build)
    assert len(builds) == 2 and str(path) in caplog.text and "rebuilding" in caplog.text
    assert again.keys() == value.keys()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left behind


def test_crafted_pickle_in_a_cache_is_not_executed(tmp_path, caplog):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "features.pt"
    path.write_bytes(pickle.dumps(Payload()))
    with caplog.at_level(logging.WARNING):
        out = cached_torch(path, lambda: {"x": torch.ones(2)})
    assert torch.equal(out["x"], torch.ones(2)) and not marker.exists() and str(path) in caplog.text


def test_cache_key_covers_every_part_and_rejects_unhashable_values():
    from dataclasses import dataclass

    @dataclass
    class Cfg:
        seed: int
        size: int

    base = cache_key("v1", Cfg(0, 64), Path("/data"))
    assert base == cache_key("v1", Cfg(0, 64), Path("/data"))
    assert len({base, cache_key("v1", Cfg(1, 64), Path("/data")), cache_key("v1", Cfg(0, 32), Path("/data")),
                cache_key("v2", Cfg(0, 64), Path("/data"))}) == 4
    with pytest.raises(TypeError, match="cache_key cannot hash a object"):
        cache_key(object())


def test_cache_dir_unset_names_the_key():
    with pytest.raises(ValueError, match=r"paths\.cache_dir is not set"):
        cache_dir_from({"paths": {}})


# -------------------------------------------------------------------- loaders
def test_image_loader_names_a_corrupt_file(tmp_path):
    from common.data.base import read_image, read_mask

    bad = tmp_path / "frame_000001.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(FileNotFoundError, match=rf"cannot read image {bad}"):
        read_image(bad)
    with pytest.raises(FileNotFoundError, match=rf"cannot read mask {tmp_path / 'missing.png'}"):
        read_mask(tmp_path / "missing.png")


def test_body_model_loader_refuses_a_foreign_pickle(tmp_path):
    from common.body import read_model_pickle

    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps({"v_template": np.zeros((3, 3)), "evil": Path("/")}))
    with pytest.raises(pickle.UnpicklingError):
        read_model_pickle(path)


def test_model_folder_with_corrupt_config_json_names_the_file(tmp_path):
    from common.models.hub import read_folder_config

    (tmp_path / "config.json").write_text('{"model_class": "contact.model.CRRNet", ')
    with pytest.raises(ValueError, match=rf"{tmp_path / 'config.json'} is not valid JSON"):
        read_folder_config(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_class": "x"}))
    with pytest.raises(ValueError, match="lacks 'format_version'"):
        read_folder_config(tmp_path)
