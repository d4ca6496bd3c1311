"""Fixtures of the every-experiment smoke test (tests/test_experiments_smoke.py) for contact experiments."""

from __future__ import annotations

import pathlib

from tests.contact.behave_fixture import write_behave_fixture

TINY_MODEL = ["model.img_channels=4", "model.hourglass_stacks=1", "model.hourglass_depth=1", "model.point_hidden=8",
              "model.gru_hidden=8"]


def smoke_overrides(experiment: str, tmp: pathlib.Path) -> list[str]:
    """BEHAVE experiments: write the BEHAVE-format fixture (stand-in SMPL-H, VisTracker-format rough fits) under
    `tmp` and point the data config at it, at tiny sizes; pipeline experiments: fewer clips and samples."""
    out = []
    if experiment.endswith("_behave"):
        root = tmp / "behave"
        write_behave_fixture(root, tmp / "cache", root / "recon_vistracker")
        out += [f"data.root={root}", f"data.rough_dir={root / 'recon_vistracker'}", "data.smplh_standin=true",
                f"paths.cache_dir={tmp / 'cache'}", "data.max_test_frames=2", "data.image_size=32",
                "data.frames=3", *TINY_MODEL]
    if experiment.startswith("contact/pipeline"):
        out += ["pipeline.clips=2", "pipeline.eval_samples=300", "pipeline.ik_steps=10"]
    return out
