"""Rank-correct saving and sharded evaluation after HF-trainer training (torch.distributed or single process)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch.distributed as dist

T = TypeVar("T")


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) without an initialised process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    """True on the process that writes shared files and computes the metrics (rank 0)."""
    return world()[0] == 0


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    if world()[1] > 1:
        dist.barrier()


def shard(items: Sequence[T]) -> list[T]:
    """This rank's share of `items` (interleaved: rank r gets items r, r + W, ...)."""
    rank, size = world()
    return list(items[rank::size])


def gather_shards(local: list[T]) -> list[T] | None:
    """The interleaved shards of every rank put back in the original order on rank 0; None elsewhere."""
    rank, size = world()
    if size == 1:
        return local
    parts: list[list[T]] | None = [[] for _ in range(size)] if rank == 0 else None
    dist.gather_object(local, parts, dst=0)
    if parts is None:
        return None
    out: list[T] = []
    for i in range(max(map(len, parts))):
        out.extend(part[i] for part in parts if i < len(part))
    return out


def evaluate_sharded(items: Sequence[T], predict: Callable[[list[T]], list[Any]],
                     score: Callable[[list[Any]], dict[str, float]]) -> dict[str, float] | None:
    """`predict` on this rank's shard, predictions gathered to rank 0 and scored there once (None elsewhere)."""
    gathered = gather_shards(predict(shard(items)))
    return score(gathered) if gathered is not None else None


def broadcast(obj: T) -> T:
    """Rank 0's `obj` on every rank."""
    if world()[1] == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def full_state_dict(trainer: Any) -> dict | None:
    """The trained model's full state dict through the trainer's accelerator (ZeRO-3 gathered) on rank 0.

    Call on every rank (it is a collective under ZeRO-3); returns None on the other ranks.
    """
    state = trainer.accelerator.get_state_dict(trainer.model)
    return state if is_main() else None
