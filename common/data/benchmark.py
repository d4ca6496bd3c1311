"""`python scripts/benchmark.py data`: generator throughput, body render time and loader throughput (CPU)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from common.benchmarking import BenchRow, best_time, register_benchmark
from common.data.render import render_mesh
from common.data.synthetic import (
    BodyClipGenerator,
    BodySceneGenerator,
    HandMotionGenerator,
    HandObjectGenerator,
    SyntheticDataset,
    write_dataset,
)
from common.data.synthetic.scene import world_to_cam


def _rate(make: Callable[[int], object], count: int) -> float:
    """Items per second of make(0..count-1) after one warm-up item."""
    make(0)
    start = time.perf_counter()
    for i in range(count):
        make(i + 1)
    return count / (time.perf_counter() - start)


@register_benchmark("data")
def run() -> list[BenchRow]:
    """Samples per second of each generator (one core) and of a 2-worker DataLoader over a written set."""
    torch.set_num_threads(1)
    rows = []
    bodies = BodySceneGenerator(seed=0, num_samples=10_000)
    start = time.perf_counter()
    streamed = sum(1 for _ in bodies.stream(stop=256))
    rows.append(BenchRow("bodies stream, no render", streamed / (time.perf_counter() - start), "samples/s",
                         target=">= 50 (3000/min)"))
    rows.append(BenchRow("bodies getitem, no render", _rate(bodies.__getitem__, 64), "samples/s"))
    with_objects = BodySceneGenerator(seed=0, num_samples=10_000, object_prob=1.0)
    rows.append(BenchRow("bodies + touching object, no render", _rate(with_objects.__getitem__, 64), "samples/s"))
    rendered = BodySceneGenerator(seed=0, num_samples=10_000, render=True)
    rows.append(BenchRow("bodies, render 224x224", _rate(rendered.__getitem__, 32), "samples/s"))
    scene = bodies.scenes([0])[0]
    verts_cam = world_to_cam(scene.verts, scene.T_world_cam)
    seconds = best_time(lambda: render_mesh(verts_cam, bodies.faces, scene.K, (224, 224)), repeat=5, number=3)
    rows.append(BenchRow("render_mesh body 224x224", seconds * 1e3, "ms", target="< 50 ms"))
    clips = BodyClipGenerator(seed=0, num_samples=10_000, num_frames=16, object_prob=1.0)
    rows.append(BenchRow("body clips (16 frames) + object, no render", _rate(clips.__getitem__, 16), "clips/s"))
    hands = HandMotionGenerator(seed=0, num_samples=10_000, num_frames=30)
    rows.append(BenchRow("hand clips (30 frames), no render", _rate(hands.__getitem__, 32), "clips/s"))
    rendered_hands = HandMotionGenerator(seed=0, num_samples=10_000, num_frames=30, render=True)
    rows.append(BenchRow("hand clips (30 frames), render 224x224", _rate(rendered_hands.__getitem__, 4),
                         "clips/s"))
    grasps = HandObjectGenerator(seed=0, num_samples=10_000)
    rows.append(BenchRow("hand-object grasps, no render", _rate(grasps.__getitem__, 64), "samples/s"))
    rendered_grasps = HandObjectGenerator(seed=0, num_samples=10_000, render=True)
    rows.append(BenchRow("hand-object grasps, render 256x256", _rate(rendered_grasps.__getitem__, 32),
                         "samples/s"))
    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(BodySceneGenerator(seed=1, num_samples=128, render=True), Path(tmp), "train")
        dataset = SyntheticDataset(Path(tmp), "train", cache_dir=Path(tmp) / "cache")
        loader = DataLoader(dataset, batch_size=16, num_workers=2, persistent_workers=False)
        start = time.perf_counter()
        count = sum(len(batch["K"]) for batch in loader)
        rows.append(BenchRow("SyntheticDataset (written bodies, jpg) DataLoader 2 workers",
                             count / (time.perf_counter() - start), "samples/s",
                             extra={"batch_size": 16, "samples": count}))
    return rows
