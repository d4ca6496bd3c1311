"""Offline TIGeR prior stage: caption, text-to-image, image-to-points once, into the versioned prior cache.

`python scripts/make_priors.py experiment=tiger/dexycb_paper [model.prior.* / data.* overrides]` runs the
configured InstructBLIP -> FLUX -> Point-E pipeline (GPU when present) over the training and test frames and
writes the cache that `scripts/train.py` / `scripts/evaluate.py` with the same overrides then read.
"""

import logging

import hydra
from omegaconf import DictConfig

from tiger.api import build_task

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def main(cfg: DictConfig) -> None:
    """Write the generated-prior cache of the composed TIGeR config and log its folder."""
    if cfg.paper != "tiger":
        raise ValueError(f"make_priors.py is TIGeR's prior stage; got paper={cfg.paper!r} (use experiment=tiger/...)")
    task = build_task(cfg)
    if task.model_cfg.prior.source != "generated":
        raise ValueError(f"model.prior.source={task.model_cfg.prior.source!r}: only the generated prior has an "
                         "offline stage (retrieval and sphere priors need none)")
    log.info("generated prior cache written to %s", task.make_priors())


if __name__ == "__main__":
    main()
