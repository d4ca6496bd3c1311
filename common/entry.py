"""Dispatch of the Hydra entry points to the paper packages (`<paper>.api.train` / `.evaluate`).

Before any work: the whole config is validated (common.config_validation), then the run dir is
locked (one live run per dir) and this launch's resolved config is kept (`config.yaml` for the first launch,
`config.resume-<n>.yaml` after; resuming checkpoints under changed model/optimiser/data keys is refused).
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from common.config_validation import validate_run_config
from common.training.rundir import drop_lock, hold_lock, launch_id, record_config
from common.training.tracking import LOG_NAME, QUIET_LOGGERS, write_json
from common.training.trainer import set_run_config

log = logging.getLogger(__name__)
_CACHE_ENV = {"EHP_BODY_MODELS_STANDIN": "body_models_standin", "EHP_DATA_CACHE": "data_index"}
_USER_SET = {var for var in _CACHE_ENV if var in os.environ}


def set_launch_id() -> str | None:
    """Agree on this launch's id on every rank (before Hydra builds the run dir from `EHP_LAUNCH_ID`);
    nothing to agree on when the command line names the run dir itself."""
    import sys

    if any(arg.startswith(("hydra.run.dir=", "hydra.sweep.dir=")) for arg in sys.argv[1:]):
        return None
    os.environ["EHP_LAUNCH_ID"] = launch_id()
    return os.environ["EHP_LAUNCH_ID"]


def _export_submitit_ranks() -> None:
    """Inside a multi-task submitit job (hydra/launcher=slurm_*), export RANK/WORLD_SIZE/MASTER_* for env://."""
    if os.environ.get("SUBMITIT_EXECUTOR") == "slurm" and int(os.environ.get("SLURM_NTASKS", "1")) > 1 \
            and "RANK" not in os.environ:
        from submitit.helpers import TorchDistributedEnvironment

        TorchDistributedEnvironment().export(set_cuda_visible_devices=False)


def _is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _file_log(run_dir: Path, action: str) -> logging.Handler | None:
    """The run's single log file `<run_dir>/<train|evaluate>.log` (rank 0), unless one already logs there."""
    root = logging.getLogger()
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if not _is_main() or any(getattr(h, "baseFilename", None) for h in root.handlers
                             if Path(getattr(h, "baseFilename", "/")).parent == run_dir.resolve()):
        return None
    handler = logging.FileHandler(run_dir / (LOG_NAME if action == "train" else f"{action}.log"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def _use_cache_dir(cfg: DictConfig) -> None:
    """Point the common stand-in body models and data-index caches at `paths.cache_dir` (unless set by the user)."""
    cache = OmegaConf.select(cfg, "paths.cache_dir", throw_on_missing=False)
    if cache:
        for var, sub in _CACHE_ENV.items():
            if var not in _USER_SET:
                os.environ[var] = str(Path(cache) / sub)


def paper_of_checkpoint(ckpt: str | Path) -> str | None:
    """The paper a checkpoint belongs to: its model folder's config.json, else the run's config.yaml."""
    import json

    from common import PAPERS

    folder = Path(ckpt)
    config_json = folder / "config.json"
    if config_json.is_file():
        try:
            package = str(json.loads(config_json.read_text()).get("model_class", "")).split(".")[0]
        except (json.JSONDecodeError, AttributeError):
            package = ""
        if package in PAPERS:
            return package
    for parent in (folder.parent, folder.parent.parent, folder.parent.parent.parent):
        if (parent / "config.yaml").is_file():
            paper = (OmegaConf.load(parent / "config.yaml") or {}).get("paper")
            if paper in PAPERS:
                return str(paper)
    return None


def _infer_paper(cfg: DictConfig) -> None:
    """`evaluate.py ckpt=<folder>` without `experiment=`: take the paper from the checkpoint."""
    if OmegaConf.select(cfg, "paper", throw_on_missing=False) is not None:
        return
    ckpt = OmegaConf.select(cfg, "ckpt", throw_on_missing=False)
    paper = paper_of_checkpoint(ckpt) if ckpt else None
    if paper is not None:
        with open_dict(cfg):
            cfg.paper = paper
        log.info("paper %s inferred from ckpt=%s", paper, ckpt)


def run(cfg: DictConfig, action: str) -> dict[str, float]:
    """Run `action` ('train' or 'evaluate') of the paper named by `cfg.paper`; save config and metrics."""
    _export_submitit_ranks()
    if action == "evaluate":
        _infer_paper(cfg)
    validate_run_config(cfg, action)
    _use_cache_dir(cfg)
    api = importlib.import_module(f"{cfg.paper}.api")
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    lock = hold_lock(run_dir) if _is_main() else None
    handler = _file_log(run_dir, action)
    set_run_config(resolved)
    try:
        if _is_main():
            record_config(run_dir, resolved, allow_change=bool(cfg.trainer.get("allow_config_change", False)))
        metrics = getattr(api, action)(cfg)
        if _is_main():
            write_json(run_dir / f"{action}_metrics.json", metrics)
        log.info("%s %s finished: %s", cfg.paper, action, metrics)
        return metrics
    finally:
        set_run_config(None)
        drop_lock(lock)
        if handler is not None:
            logging.getLogger().removeHandler(handler)
            handler.close()
