"""Fixtures of the every-experiment smoke test (tests/test_experiments_smoke.py) for taihri experiments."""

from __future__ import annotations

import importlib.util
import pathlib

from tests.taihri.real_layout import write_egobody_release, write_qwen3vl_checkpoint

REPO = pathlib.Path(__file__).resolve().parents[2]


def smoke_overrides(experiment: str, tmp: pathlib.Path) -> list[str]:
    """Paper experiments: a tiny real-layout Qwen3-VL and an EgoBody-like release (prepared) under `tmp`."""
    if experiment.split("/")[1].startswith("synthetic"):
        return []
    folder = write_qwen3vl_checkpoint(tmp / "qwen3vl", sharded=True)
    root = write_egobody_release(tmp / "egobody")
    spec = importlib.util.spec_from_file_location("prepare_egobody", REPO / "scripts" / "prepare_egobody.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for split in ("train", "val"):
        module.prepare(root, split, None)
    return [f"model.pretrained_path={folder}", f"data.root={root}", "model.min_pixels=1024",
            "model.max_pixels=4096", "model.max_new_tokens=12", "model.grpo.max_completion_length=12",
            "model.gradient_checkpointing=false"]
