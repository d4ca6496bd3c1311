"""Dataset subsetting: the one `max_samples` rule (the first N records, in index order)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def first_samples(records: Sequence[T], max_samples: int | None) -> Sequence[T]:
    """The first `max_samples` records (all of them when None); deterministic, so resume and seeds agree.

    A `max_samples` below 1 is a configuration error and raises, naming the key.
    """
    if max_samples is None:
        return records
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1:
        raise ValueError(f"data.max_samples must be a positive integer or null, got {max_samples!r}")
    return records[:max_samples]
