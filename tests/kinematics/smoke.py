"""Fixtures of the every-experiment smoke test (tests/test_experiments_smoke.py) for kinematics experiments."""

from __future__ import annotations

import pathlib

from tests.contact.behave_fixture import write_behave_fixture


def smoke_overrides(experiment: str, tmp: pathlib.Path) -> list[str]:
    """BEHAVE experiments: the BEHAVE-format fixture (stand-in SMPL-H, VisTracker-format rough fits) under `tmp`."""
    if not experiment.endswith("_behave"):
        return []
    root = tmp / "behave"
    write_behave_fixture(root, tmp / "cache", root / "recon_vistracker")
    return [f"data.root={root}", f"data.rough_dir={root / 'recon_vistracker'}", "data.smplh_standin=true",
            f"data.cache_dir={tmp / 'cache'}", "data.eval_samples=300"]
