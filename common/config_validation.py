"""Validation of a whole run config before any work: every error names the full key and the fix.

Checked: `paper`, `seed`, every interpolation, `trainer.*` (types and ranges, `common.training.TrainerConfig`),
`model.*` / `data.*` against the paper's registered dataclasses (`<paper>.config.SCHEMAS`), the metric names
(`trainer.best_metric`, `optimized_metric` among `<paper>.config.METRICS`; fnmatch patterns allowed),
`optimized_direction`, and `ckpt` for evaluation.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from common import PAPERS

log = logging.getLogger(__name__)
DIRECTIONS = ("minimize", "maximize")
STRICT = True
"""Papers must expose SCHEMAS and METRICS, experiments optimized_metric/direction (False: warnings only)."""


class ConfigError(ValueError):
    """A config value is missing, of the wrong type or out of range (the message names key and fix)."""


def _omegaconf_message(err: OmegaConfBaseException, section: str) -> str:
    key = getattr(err, "full_key", None) or ""
    full = f"{section}.{key}" if key and key != section and not key.startswith(f"{section}.") else (key or section)
    first = str(err).splitlines()[0]
    return f"{full}: {first}"


def _check_schema(cfg: DictConfig, section: str, schema: type) -> None:
    """Merge `cfg.<section>` into the dataclass `schema` (unknown keys, types, __post_init__ checks)."""
    node = OmegaConf.to_container(cfg[section], resolve=True) if section in cfg and cfg[section] is not None else {}
    try:
        OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), node))
    except ConfigKeyError as err:
        fields = sorted(f.name for f in dataclasses.fields(schema))
        raise ConfigError(f"{_omegaconf_message(err, section)}\n  fix: use one of the {schema.__name__} keys "
                          f"{fields}") from None
    except OmegaConfBaseException as err:
        raise ConfigError(f"{_omegaconf_message(err, section)}\n  fix: give it a value of the type declared in "
                          f"{schema.__module__}.{schema.__name__}") from None
    except (ValueError, TypeError, FileNotFoundError) as err:  # the dataclass's own __post_init__ checks
        message = str(err)
        prefix = "" if message.startswith(f"{section}.") else f"{section}: "
        raise ConfigError(f"{prefix}{message}") from None


def _resolve_all(cfg: DictConfig) -> None:
    """Resolve every interpolation outside `hydra` so a missing env var or key fails now, named."""
    for key in cfg:
        if key in ("hydra", "ckpt", "run_dir"):
            continue
        try:
            node = cfg[key]
            if isinstance(node, DictConfig):
                OmegaConf.to_container(node, resolve=True)
        except OmegaConfBaseException as err:
            if "???" in str(err) or "Missing mandatory value" in str(err):
                raise ConfigError(f"{_omegaconf_message(err, str(key))} is required: set it on the command line "
                                  f"({err.full_key if hasattr(err, 'full_key') else key}=...)") from None
            raise ConfigError(f"{_omegaconf_message(err, str(key))}") from None


def paper_registry(paper: str) -> tuple[dict[str, type], tuple[str, ...] | None]:
    """(`SCHEMAS`, `METRICS`) of `<paper>.config` (empty / None when a paper does not declare them)."""
    module = importlib.import_module(f"{paper}.config")
    return dict(getattr(module, "SCHEMAS", {}) or {}), getattr(module, "METRICS", None)


def metric_known(name: str, metrics: tuple[str, ...]) -> bool:
    """Whether `name` is one of the declared metric names (entries may be fnmatch patterns)."""
    return any(fnmatchcase(name, pattern) for pattern in metrics)


def validate_run_config(cfg: DictConfig, action: str) -> None:
    """Raise ConfigError on the first invalid value of a train/evaluate run config."""
    from common.training.config import trainer_config_from

    paper = OmegaConf.select(cfg, "paper", throw_on_missing=False)
    if paper not in PAPERS:
        raise ConfigError(f"paper: {paper!r} is not one of {list(PAPERS)}; pick an experiment with "
                          "`experiment=<paper>/<name>` (see configs/experiment/)")
    _resolve_all(cfg)
    seed = cfg.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"seed: {seed!r} is not an integer; pass seed=<int>")
    try:
        tcfg = trainer_config_from(OmegaConf.to_container(cfg.trainer, resolve=True) if "trainer" in cfg else {})
    except OmegaConfBaseException as err:
        raise ConfigError(f"{_omegaconf_message(err, 'trainer')}\n  fix: see configs/trainer/default.yaml for "
                          "the keys and their types") from None
    except ValueError as err:
        raise ConfigError(str(err)) from None
    schemas, metrics = paper_registry(paper)
    missing = [s for s in ("model", "data") if s not in schemas]
    if missing or metrics is None:
        message = (f"{paper}/config.py must expose SCHEMAS = {{'model': <dataclass>, 'data': <dataclass>}} and "
                   f"METRICS = (<metric names>,) (missing: {missing + (['METRICS'] if metrics is None else [])})")
        if STRICT:
            raise ConfigError(message)
        log.warning("%s; %s config not fully validated", message, paper)
    for section in ("model", "data"):
        if section in schemas:
            _check_schema(cfg, section, schemas[section])
    direction = OmegaConf.select(cfg, "optimized_direction", throw_on_missing=False)
    optimized = OmegaConf.select(cfg, "optimized_metric", throw_on_missing=False)
    if direction is not None and direction not in DIRECTIONS:
        raise ConfigError(f"optimized_direction: {direction!r} must be one of {DIRECTIONS}")
    if metrics is not None:
        named = {"trainer.best_metric": tcfg.best_metric, "optimized_metric": optimized}
        for key, name in named.items():
            if name is not None and not metric_known(name, tuple(metrics)):
                raise ConfigError(f"{key}: {name!r} is not a metric of {paper}; choose one of {list(metrics)}")
    if action == "train" and (optimized is None or direction is None):
        message = (f"optimized_metric / optimized_direction: not set for this {paper} experiment; every experiment "
                   "declares `optimized_metric: <metric>` and `optimized_direction: minimize|maximize`")
        if STRICT:
            raise ConfigError(message)
        log.warning(message)
    if action == "evaluate":
        _check_ckpt(cfg)


def _check_ckpt(cfg: DictConfig) -> None:
    ckpt: Any = OmegaConf.select(cfg, "ckpt", throw_on_missing=False)
    if ckpt in (None, "", "???"):
        raise ConfigError("ckpt: required for evaluation; pass ckpt=<run_dir>/checkpoints/final (or best/, or "
                          "a model folder)")
    if not Path(str(ckpt)).exists():
        raise ConfigError(f"ckpt: {ckpt} does not exist; pass ckpt=<run_dir>/checkpoints/final (or best/)")
