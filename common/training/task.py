"""The interface a paper implements to be trained by `common.training.Trainer`."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, default_collate


class TrainTask(abc.ABC):
    """Model, data, loss and evaluation of one experiment; the Trainer owns everything else."""

    @abc.abstractmethod
    def build_model(self) -> nn.Module:
        """A freshly initialised model (called once, after seeding)."""

    @abc.abstractmethod
    def train_dataset(self) -> Dataset:
        """Map-style training dataset; randomness should derive from the index (for exact resume)."""

    def eval_dataset(self) -> Dataset | None:
        """Held-out dataset passed to `evaluate`; None skips evaluation."""
        return None

    def collate(self, items: list[Any]) -> Any:
        """Batch a list of samples (torch's default collate unless overridden)."""
        return default_collate(items)

    @abc.abstractmethod
    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss of one micro-batch (already on the model's device) and scalars to log."""

    def evaluate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        """Metrics on the eval loader (under no_grad, in eval mode, on rank 0) when `predict` is not given."""
        return {}

    def predict(self, model: nn.Module, batch: Any) -> Any:
        """Optional: outputs of one eval batch (CPU tensors/arrays, first dim = batch; randomness from the
        sample index). With `compute_metrics` it lets the Trainer shard evaluation over all ranks."""
        raise NotImplementedError  # optional protocol: shards_evaluation() tells whether a task overrides it

    def compute_metrics(self, outputs: list[Any]) -> dict[str, float]:
        """Optional: metrics from every batch's `predict` output, in dataset order (called on rank 0)."""
        raise NotImplementedError  # optional protocol, paired with predict

    def shards_evaluation(self) -> bool:
        """Whether this task implements `predict` and `compute_metrics` (sharded evaluation)."""
        cls = type(self)
        return cls.predict is not TrainTask.predict and cls.compute_metrics is not TrainTask.compute_metrics

    def parameters_to_train(self, model: nn.Module) -> Iterable[nn.Parameter]:
        """Parameters given to the optimiser (default: those with requires_grad)."""
        return [p for p in model.parameters() if p.requires_grad]
