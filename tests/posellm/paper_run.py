"""Compose a posellm experiment exactly as `scripts/train.py` / `evaluate.py` would and run it (common.entry.run).

Also the worker of the 2-process DDP test: `torchrun ... tests/posellm/paper_run.py <json args>`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def paper_overrides(root: Path, vicuna: Path, dinov2: Path, steps: int = 3) -> list[str]:
    """Only paths, sizes and step counts: the towers, the data root, a short schedule and small batches."""
    return [f"model.llm_path={vicuna}", f"model.vision_path={dinov2}", f"paths.data_root={root}",
            f"paths.cache_dir={root / 'cache'}", "data.epochs=null", f"trainer.max_steps={steps}",
            "trainer.batch_size=2", "trainer.grad_accum=1", "trainer.eval_batch_size=2", "data.image_size=56",
            "trainer.log_every=1", "trainer.progress_bar=false", "model.max_new_tokens=6"]


def compose_run(action: str, experiment: str, overrides: list[str], run_dir: Path) -> DictConfig:
    """The composed config of `scripts/<action>.py experiment=<experiment> <overrides>` with run_dir set."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose(action, overrides=[f"experiment={experiment}", *overrides], return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run_dir)
        cfg.hydra.job.name = action
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra
    return cfg


def run(action: str, experiment: str, overrides: list[str], run_dir: Path) -> dict[str, float]:
    from common.entry import run as entry_run

    return entry_run(compose_run(action, experiment, overrides, run_dir), action)


if __name__ == "__main__":
    import faulthandler
    import os

    import torch

    torch.set_num_threads(1)
    faulthandler.dump_traceback_later(float(os.environ.get("POSELLM_TEST_HANG_S", "500")), exit=True)
    spec = json.loads(sys.argv[1])
    metrics = run(spec["action"], spec["experiment"], spec["overrides"], Path(spec["run_dir"]))
    rank = int(os.environ.get("RANK", "0"))
    Path(spec["run_dir"], f"metrics_rank{rank}.json").write_text(json.dumps(metrics))
