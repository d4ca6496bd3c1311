"""Column storage of per-frame records: stacked numpy arrays and one string buffer instead of a dict per frame.

A list of N small dicts costs ~1-5 KB per frame in Python objects (and fragments the heap); `Records` holds
the same values in a few arrays and rebuilds record i as a dict when it is read. Written by hand because Arrow
tables (pyarrow, datasets) give numpy arrays and tuples back as lists, and the frame code reads them typed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

import numpy as np

CHUNK = 1024
"""Records converted to columns at a time while building (bounds the transient per-record objects)."""


class StringColumn(Sequence[str]):
    """Strings stored as one UTF-8 byte buffer and (N+1,) int64 offsets."""

    def __init__(self, data: bytes | np.ndarray, offsets: np.ndarray) -> None:
        self.data = np.frombuffer(data, np.uint8) if isinstance(data, bytes) else data
        self.offsets = offsets

    @classmethod
    def from_strings(cls, values: Iterable[str]) -> StringColumn:
        """Column of `values` (encoded once)."""
        encoded = [v.encode() for v in values]
        offsets = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return cls(b"".join(encoded), offsets)

    @classmethod
    def concat(cls, columns: Sequence[StringColumn]) -> StringColumn:
        """One column holding `columns` one after the other."""
        shifts = np.cumsum([0] + [len(c.data) for c in columns[:-1]])
        offsets = np.concatenate([[0]] + [c.offsets[1:] + s for c, s in zip(columns, shifts)]).astype(np.int64)
        return cls(np.concatenate([c.data for c in columns]), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.data[self.offsets[i]:self.offsets[i + 1]].tobytes().decode()

    def take(self, indices: np.ndarray) -> StringColumn:
        """Column of the strings at `indices`."""
        return StringColumn.from_strings(self[int(i)] for i in indices)


def _stackable(value: Any) -> bool:
    """Whether `value` is a number, a numeric array or a (nested) list/tuple of numbers."""
    if isinstance(value, str) or value is None:
        return False
    try:
        array = np.asarray(value)
    except ValueError:
        return False
    return array.dtype.kind in "biuf"


class _Column:
    """One key of the records: an array (kind 'array', 'list', 'tuple', 'scalar'), a StringColumn or a list."""

    def __init__(self, kind: str, values: Any) -> None:
        self.kind, self.values = kind, values

    @classmethod
    def build(cls, values: list[Any]) -> _Column:
        """The most compact column that gives back `values` (same types, same numbers)."""
        first = values[0]
        if all(isinstance(v, str) for v in values):
            return cls("str", StringColumn.from_strings(values))
        kind = ("array" if isinstance(first, np.ndarray | np.generic) else "list" if isinstance(first, list) else
                "tuple" if isinstance(first, tuple) else "scalar")
        if kind != "array" and not isinstance(first, bool | int | float | list | tuple):
            kind = "object"
        if kind != "object" and all(_stackable(v) for v in values):
            arrays = [np.asarray(v) for v in values]
            same = all(a.shape == arrays[0].shape and a.dtype == arrays[0].dtype for a in arrays)
            if same and all(type(v) is type(first) for v in values):
                return cls(kind, np.stack(arrays))
        return cls("object", [sys.intern(v) if isinstance(v, str) else v for v in values])

    @classmethod
    def concat(cls, columns: list[_Column]) -> _Column:
        """Chunks of one key joined; mixed kinds fall back to a list."""
        kinds = {c.kind for c in columns}
        if len(kinds) == 1 and kinds != {"object"}:
            kind = kinds.pop()
            if kind == "str":
                return cls(kind, StringColumn.concat([c.values for c in columns]))
            shapes = {(c.values.shape[1:], c.values.dtype) for c in columns}
            if len(shapes) == 1:
                return cls(kind, np.concatenate([c.values for c in columns]))
        return cls("object", [v for c in columns for v in (c.get(i) for i in range(len(c)))])

    def __len__(self) -> int:
        return len(self.values)

    def get(self, i: int) -> Any:
        """Value of record i, of the type it was stored with."""
        value = self.values[i]
        if self.kind == "list":
            return value.tolist()
        if self.kind == "tuple":
            return tuple(value.tolist())
        if self.kind == "scalar":
            return value.item()
        return value.copy() if self.kind == "array" else value

    def take(self, indices: np.ndarray) -> _Column:
        """Column of the records at `indices`."""
        if self.kind == "str":
            return _Column("str", self.values.take(indices))
        if self.kind == "object":
            return _Column("object", [self.values[int(i)] for i in indices])
        return _Column(self.kind, self.values[indices])


class Records(Sequence[dict[str, Any]]):
    """Records with one key set stored column-wise; `records[i]` is a new dict (with its own array copies)."""

    def __init__(self, columns: dict[str, _Column], length: int) -> None:
        self.columns, self.length = columns, length

    @classmethod
    def from_dicts(cls, records: Iterable[dict[str, Any]]) -> Records:
        """Columns of `records` (consumed `CHUNK` at a time); every record must have the keys of the first."""
        iterator, chunks = iter(records), []
        while chunk := list(islice(iterator, CHUNK)):
            keys = list(chunk[0])
            for record in chunk:
                if list(record) != keys:
                    raise ValueError(f"record keys {sorted(record)} differ from the first record's {sorted(keys)}")
            chunks.append({k: _Column.build([r[k] for r in chunk]) for k in keys})
        if not chunks:
            return cls({}, 0)
        keys = list(chunks[0])
        if any(list(c) != keys for c in chunks):
            raise ValueError("records of different chunks have different keys")
        columns = {k: _Column.concat([c[k] for c in chunks]) for k in keys}
        return cls(columns, len(columns[keys[0]]))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not -self.length <= i < self.length:
            raise IndexError(f"record {i} of {self.length}")
        i %= max(self.length, 1)
        return {k: c.get(i) for k, c in self.columns.items()}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self[i] for i in range(self.length))

    def value(self, i: int, key: str) -> Any:
        """The `key` value of record i alone."""
        return self.columns[key].get(i)

    def values_of(self, key: str, default: Any = None) -> list[Any]:
        """Every record's `key` value (`default` for each when the records have no such key)."""
        if key not in self.columns:
            return [default] * self.length
        return [self.columns[key].get(i) for i in range(self.length)]

    def column(self, key: str) -> np.ndarray:
        """The stacked (N, ...) array of `key` (every record's value has the same shape and dtype)."""
        values = self.columns[key].values
        if not isinstance(values, np.ndarray):
            raise TypeError(f"column {key!r} is not one array (values of different shapes or types)")
        return values

    def take(self, indices: Sequence[int] | np.ndarray) -> Records:
        """Records at `indices` (a copy of those rows only)."""
        indices = np.asarray(indices, np.int64)
        return Records({k: c.take(indices) for k, c in self.columns.items()}, len(indices))
