"""A tiny regression task for the runtime tests (dropout and index-seeded augmentation exercise RNG)."""

from __future__ import annotations

import os
import signal

import torch
from torch import nn
from torch.utils.data import Dataset

from common.training import TrainerConfig, TrainTask


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

    def __init__(self, fail_at_step: int | None = None, train_size: int = 37, signal_at: int | None = None,
                 nan_at: int | None = None, nan_eval: bool = False, fail_eval_call: int | None = None):
        self.fail_at_step, self.train_size, self.calls = fail_at_step, train_size, 0
        self.signal_at, self.nan_at, self.nan_eval = signal_at, nan_at, nan_eval
        self.fail_eval_call, self.eval_calls = fail_eval_call, 0

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
        if self.calls == self.signal_at:
            os.kill(os.getpid(), signal.SIGTERM)  # delivered to the Trainer's handler: checkpoint at the step end
        loss = ((model(batch["x"]) - batch["y"]) ** 2).mean()
        return (loss * float("nan") if self.calls == self.nan_at else loss), {}

    def evaluate(self, model, loader):
        self.eval_calls += 1
        if self.eval_calls == self.fail_eval_call:
            raise MemoryError("simulated crash during evaluation")
        errs = [((model(b["x"]) - b["y"]) ** 2).mean(dim=1) for b in loader]
        return {"mse": float("nan") if self.nan_eval else torch.cat(errs).mean().item()}


class ShardedToyTask(ToyTask):
    """ToyTask evaluated through predict/compute_metrics (the Trainer shards it over ranks)."""

    def eval_dataset(self) -> Dataset:
        return NoisyLinearData(21, offset=10_000)  # not a multiple of 2 ranks x batch size

    def predict(self, model, batch):
        return {"err": ((model(batch["x"]) - batch["y"]) ** 2).mean(dim=1).cpu(), "x0": batch["x"][:, 0].cpu()}

    def compute_metrics(self, outputs):
        err = torch.cat([o["err"] for o in outputs])
        x0 = torch.cat([o["x0"] for o in outputs])
        return {"mse": err.mean().item(), "n": float(len(err)), "order": float((x0 * torch.arange(len(x0))).sum())}


def small_cfg(keep_last: int = 2, **kw) -> TrainerConfig:
    """A short accumulating schedule with evaluations and checkpoints every 8 steps."""
    base = dict(max_steps=24, batch_size=4, grad_accum=2, lr=3e-2, warmup_ratio=0.1, eval_every=8,
                ckpt_every=8, keep_last=keep_last, best_metric="mse", progress_bar=False, log_every=4)
    return TrainerConfig(**{**base, **kw})


def weights(model: torch.nn.Module) -> list[torch.Tensor]:
    """Detached copies of every state-dict tensor."""
    return [p.detach().clone() for p in model.state_dict().values()]
