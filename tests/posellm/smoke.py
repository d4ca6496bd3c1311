"""Fixtures of the every-experiment smoke test (tests/test_experiments_smoke.py) for posellm experiments."""

from __future__ import annotations

import pathlib

from tests.posellm.fixtures import write_coco, write_humanart, write_mpii
from tests.posellm.paper_run import paper_overrides
from tests.posellm.real_layout import write_dinov2, write_vicuna


def smoke_overrides(experiment: str, tmp: pathlib.Path) -> list[str]:
    """Paper experiments: COCO/MPII/Human-Art fixtures and tiny real-layout Vicuna + DINOv2 folders under `tmp`."""
    if experiment.split("/")[1].startswith("synthetic"):
        return []
    write_coco(tmp / "coco")
    write_humanart(tmp)
    write_mpii(tmp / "mpii")
    return paper_overrides(tmp, write_vicuna(tmp / "vicuna-7b-v1.5"), write_dinov2(tmp / "dinov2-large"), steps=2)
