"""A tiny regression task for the runtime tests (dropout and index-seeded augmentation exercise RNG)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset

from common.training import TrainTask


class NoisyLinearData(Dataset):
    """y = x @ W + noise, with x drawn from a generator keyed by the sample index."""

    def __init__(self, size: int, offset: int = 0):
        self.size, self.offset = size, offset
        self.w = torch.linspace(-1, 1, 8).reshape(4, 2)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(i + self.offset)
        x = torch.randn(4, generator=g)
        return {"x": x, "y": x @ self.w + 0.01 * torch.randn(2, generator=g)}


class ToyTask(TrainTask):
    """MLP with dropout trained with MSE; eval reports mse (lower is better)."""

    def __init__(self, fail_at_step: int | None = None, train_size: int = 37):
        self.fail_at_step, self.train_size, self.calls = fail_at_step, train_size, 0

    def build_model(self) -> nn.Module:
        return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))

    def train_dataset(self) -> Dataset:
        return NoisyLinearData(self.train_size)

    def eval_dataset(self) -> Dataset:
        return NoisyLinearData(16, offset=10_000)

    def training_step(self, model, batch):
        self.calls += 1
        if self.fail_at_step is not None and self.calls == self.fail_at_step:
            raise KeyboardInterrupt("simulated interruption")
        loss = ((model(batch["x"]) - batch["y"]) ** 2).mean()
        return loss, {}

    def evaluate(self, model, loader):
        errs = [((model(b["x"]) - b["y"]) ** 2).mean(dim=1) for b in loader]
        return {"mse": torch.cat(errs).mean().item()}
