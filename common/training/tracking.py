"""Run logging: a log file in the run dir, and Weights & Biases (offline by default) on rank 0."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)


class RunLogger:
    """Writes `<run_dir>/trainer.log` and, when `logger_cfg['name'] == 'wandb'`, logs to wandb."""

    def __init__(self, run_dir: Path, logger_cfg: dict | None, full_config: dict | None, enabled: bool):
        self.enabled = enabled
        self.wandb_run = None
        self.handler: logging.Handler | None = None
        if not enabled:
            return
        self.handler = logging.FileHandler(run_dir / "trainer.log")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
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
        mode = cfg.get("mode") or os.environ.get("WANDB_MODE", "offline")
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
