"""Evaluation for the shared runtime: sharded over ranks (gathered to rank 0), and from a checkpoint."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import torch
from accelerate.utils import send_to_device
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from common.training.checkpoint import load_model_weights
from common.training.task import TrainTask

log = logging.getLogger(__name__)


def shard_indices(size: int, rank: int, world_size: int) -> range:
    """Contiguous block of the eval set for `rank` (blocks in rank order = dataset order; no padding)."""
    per = math.ceil(size / world_size) if size else 0
    return range(min(size, rank * per), min(size, (rank + 1) * per))


def eval_loader(task: TrainTask, dataset: Dataset, batch_size: int, num_workers: int = 0) -> DataLoader:
    """In-order loader over `dataset` (pinned memory and persistent workers on CUDA)."""
    cuda = torch.cuda.is_available()
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                      collate_fn=task.collate, pin_memory=cuda, persistent_workers=num_workers > 0,
                      prefetch_factor=4 if num_workers > 0 else None)


def predict_all(task: TrainTask, model: nn.Module, loader: DataLoader, device: torch.device) -> list[Any]:
    """`task.predict` on every batch of `loader` (model in eval mode, no_grad by the caller)."""
    return [task.predict(model, send_to_device(batch, device, non_blocking=True)) for batch in loader]


def gather_to_rank0(outputs: list[Any]) -> list[Any] | None:
    """Concatenate every rank's list of outputs in rank order on rank 0 (None elsewhere)."""
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return outputs
    rank, world = dist.get_rank(), dist.get_world_size()
    parts: list[list[Any]] | None = [[] for _ in range(world)] if rank == 0 else None
    dist.gather_object(outputs, parts, dst=0)
    return [item for part in parts for item in part] if parts is not None else None


def broadcast_buffers(module: nn.Module) -> None:
    """Rank 0's buffers on every rank: each rank's last training forward updated its own BatchNorm running
    statistics (DDP syncs them only at the start of a forward), and the saved model holds rank 0's."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        for buffer in module.buffers():
            dist.broadcast(buffer.data, src=0)


def evaluate_checkpoint(task: TrainTask, ckpt: str | Path | None, batch_size: int, num_workers: int = 0,
                        seed: int = 0, device: torch.device | str | None = None,
                        dataset: Dataset | None = None) -> dict[str, float]:
    """Metrics of the weights in `ckpt` on `dataset` (default: the task's eval set), one process.

    `ckpt` is a checkpoint folder (best/, final/, step_*), a .safetensors file or a .pt state dict.
    """
    if ckpt in (None, "", "???"):
        raise ValueError("ckpt is not set: pass ckpt=<run_dir>/checkpoints/final (or best/)")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = load_model_weights(task.build_model(), ckpt).to(device).eval()
    dataset = task.eval_dataset() if dataset is None else dataset
    if dataset is None:
        raise ValueError(f"{type(task).__name__} has no evaluation set (eval_dataset() returned None)")
    loader = eval_loader(task, dataset, batch_size, num_workers)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        if task.shards_evaluation():
            return {k: float(v) for k, v in task.compute_metrics(predict_all(task, model, loader, device)).items()}
        return {k: float(v) for k, v in task.evaluate(model, loader).items()}


def sharded_subset(dataset: Dataset, rank: int, world_size: int) -> Dataset:
    """This rank's contiguous block of `dataset`."""
    return Subset(dataset, list(shard_indices(len(dataset), rank, world_size)))
