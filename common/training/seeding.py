"""Seeding of python, numpy and torch, and deterministic per-epoch data order for every rank."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler


def seed_everything(seed: int) -> None:
    """Seed python `random`, numpy's global RNG and torch (CPU and all CUDA devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_worker(worker_id: int) -> None:
    """DataLoader `worker_init_fn`: derive python and numpy seeds from the worker's torch seed."""
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


class EpochShardedSampler(Sampler[int]):
    """Shuffles with a (seed, epoch)-keyed permutation, shards it over ranks and can start mid-epoch.

    Every rank gets the same number of indices (the permutation is wrapped around to pad), so a
    resumed run that skips `start` indices sees exactly the indices an uninterrupted run would.
    """

    def __init__(self, size: int, seed: int, rank: int = 0, world_size: int = 1, shuffle: bool = True):
        if size <= 0:
            raise ValueError("the training dataset is empty: check the data config (root, split, size)")
        self.size, self.seed, self.rank, self.world_size, self.shuffle = size, seed, rank, world_size, shuffle
        self.per_rank = math.ceil(size / world_size)
        self.epoch, self.start = 0, 0

    def set_position(self, epoch: int, start: int) -> None:
        """Iterate epoch `epoch` from this rank's `start`-th index on."""
        self.epoch, self.start = epoch, start

    def __len__(self) -> int:
        return self.per_rank - self.start

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.size, generator=gen).tolist()
        else:
            order = list(range(self.size))
        total = self.per_rank * self.world_size
        order = (order * math.ceil(total / self.size))[:total]
        return iter(order[self.rank:total:self.world_size][self.start:])
