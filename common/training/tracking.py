"""Run logging: one log file per run, Weights & Biases (offline by default) on rank 0, strict-JSON metrics."""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
LOG_NAME = "train.log"
QUIET_LOGGERS = ("accelerate", "smplx", "torch.distributed.elastic")
"""Libraries whose INFO lines (one per checkpoint for accelerate) are noise in a run log."""


def finite_or_none(obj: Any) -> Any:
    """`obj` with every NaN / inf float replaced by None (strict JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_or_none(v) for v in obj]
    return obj


def write_json(path: Path, obj: Any) -> None:
    """Strict JSON (NaN -> null) written atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(finite_or_none(obj), indent=2, allow_nan=False, default=float))
    os.replace(tmp, path)


def _logs_into(handler: logging.Handler, run_dir: Path) -> bool:
    filename = getattr(handler, "baseFilename", None)
    return filename is not None and Path(run_dir).resolve().is_relative_to(Path(filename).resolve().parent)


class RunLogger:
    """Logs to `<run_dir>/train.log` (unless a handler already logs into this run dir or a parent, as the
    entry point's does) and, when `logger_cfg['name'] == 'wandb'`, to wandb with the full config."""

    def __init__(self, run_dir: Path, logger_cfg: dict | None, full_config: dict | None, enabled: bool):
        self.enabled = enabled
        self.wandb_run = None
        self.handler: logging.Handler | None = None
        if not enabled:
            return
        root = logging.getLogger()
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        if not any(_logs_into(h, run_dir) for h in root.handlers):
            self.handler = logging.FileHandler(run_dir / LOG_NAME)
            self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            root.addHandler(self.handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        cfg = dict(logger_cfg or {})
        if cfg.get("name", "none") == "wandb":
            self.wandb_run = self._init_wandb(run_dir, cfg, full_config)

    @staticmethod
    def _init_wandb(run_dir: Path, cfg: dict, full_config: dict | None):
        import wandb

        id_file = run_dir / "wandb_id.txt"
        run_id = id_file.read_text().strip() if id_file.exists() else secrets.token_hex(4)
        id_file.write_text(run_id)
        mode = cfg.get("mode") or os.environ.get("WANDB_MODE") or "offline"
        return wandb.init(project=cfg.get("project"), entity=cfg.get("entity"), mode=mode, dir=str(run_dir),
                          config=full_config, tags=list(cfg.get("tags") or []), id=run_id, resume="allow")

    def log_metrics(self, metrics: dict[str, float], step: int, prefix: str) -> None:
        """Log scalars to the log file and wandb, keys prefixed with `prefix/`."""
        if not self.enabled:
            return
        log.info("step %d %s: %s", step, prefix, ", ".join(f"{k}={v:.5g}" for k, v in metrics.items()))
        if self.wandb_run is not None:
            self.wandb_run.log({f"{prefix}/{k}": v for k, v in metrics.items()}, step=step)

    def finish(self) -> None:
        """Close wandb and the log file handler."""
        if self.wandb_run is not None:
            self.wandb_run.finish()
            self.wandb_run = None
        if self.handler is not None:
            logging.getLogger().removeHandler(self.handler)
            self.handler.close()
            self.handler = None
