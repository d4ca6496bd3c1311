"""Base class for datasets read from their real on-disk layout: layout check, cached index, lazy decoding.

A subclass names the files it needs (`expected_files`), builds a JSON-serialisable index of records
(`build_index`, run once and cached on disk) and turns one record into a schema sample (`load_sample`,
decoding images lazily with OpenCV). Every returned sample is checked with `validate_sample`.
"""

from __future__ import annotations

import abc
import glob
import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
from torch.utils.data import Dataset

from common.data.schema import validate_sample

log = logging.getLogger(__name__)
Sample = dict[str, Any]


class LayoutError(FileNotFoundError):
    """The dataset root does not have the layout the loader expects."""


def default_cache_dir() -> Path:
    """Where dataset indices are cached: env `EHP_DATA_CACHE`, else `<repo>/.cache/data_index`."""
    env = os.environ.get("EHP_DATA_CACHE")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".cache" / "data_index"


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file with OpenCV -> (H,W,3) uint8 RGB (channels swapped in place: one full-size buffer)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read image {path} (missing or not an image)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image)


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file with OpenCV -> (3,H,W) float32 RGB in [0,1]."""
    return (read_rgb(path).transpose(2, 0, 1) / np.float32(255.0)).astype(np.float32)


def read_mask(path: str | Path) -> np.ndarray:
    """Decode a single-channel mask image -> (H,W) bool (pixel > 127)."""
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        raise FileNotFoundError(f"cannot read mask {path}")
    return gray > 127


class RealFormatDataset(Dataset, abc.ABC):
    """A dataset in its published layout under `root` for one `split`; subclasses fill three methods."""

    docs: ClassVar[str] = "README.md"
    """Docs section explaining how to prepare this dataset, e.g. 'docs/tiger.md#dexycb'."""
    index_version: ClassVar[int] = 1
    """Bump when `build_index` changes so stale cached indices are rebuilt."""

    def __init__(self, root: str | Path, split: str = "train",
                 transform: Callable[[Sample], Sample] | None = None, cache_dir: str | Path | None = None,
                 validate: bool = True) -> None:
        self.root = Path(root).expanduser()
        self.split = split
        self.transform = transform
        self.validate = validate
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.check_layout()
        self.index_from_cache = False
        self.index: list[dict[str, Any]] = self._load_or_build_index()

    @abc.abstractmethod
    def expected_files(self) -> list[str]:
        """Paths relative to `root` (glob patterns allowed) that must exist for this split."""

    @abc.abstractmethod
    def build_index(self) -> list[dict[str, Any]]:
        """One JSON-serialisable record per sample (paths relative to root, ids, small annotations)."""

    @abc.abstractmethod
    def load_sample(self, record: dict[str, Any]) -> Sample:
        """Decode one record into a schema sample (numpy arrays; images via `read_image`)."""

    def check_layout(self) -> None:
        """Raise `LayoutError` listing every expected file, the first missing one and the docs section."""
        expected = self.expected_files()
        present = [bool(glob.glob(str(self.root / rel))) for rel in expected]
        if all(present) and self.root.is_dir():
            return
        first = next((rel for rel, ok in zip(expected, present) if not ok), "")
        listing = "\n".join(f"  [{'ok' if ok else 'MISSING'}] {rel}" for rel, ok in zip(expected, present))
        where = f"root {self.root} does not exist" if not self.root.is_dir() else f"first missing: {first}"
        raise LayoutError(f"{type(self).__name__}(root={self.root}, split={self.split!r}): wrong layout, "
                          f"{where}\nexpected under root:\n{listing}\nsee {self.docs} for how to prepare it")

    def _cache_path(self) -> Path:
        """Index cache file keyed by class, root, split, index version and expected-file mtimes."""
        stamps = []
        for rel in self.expected_files():
            stamps += [f"{p}:{os.stat(p).st_mtime_ns}" for p in sorted(glob.glob(str(self.root / rel)))]
        key = json.dumps([type(self).__qualname__, str(self.root.resolve()), self.split, self.index_version,
                          stamps])
        digest = hashlib.sha1(key.encode()).hexdigest()[:16]
        return self.cache_dir / f"{type(self).__name__}-{self.split}-{digest}.json"

    def _load_or_build_index(self) -> list[dict[str, Any]]:
        """Read the cached index if present, else build it and write it atomically."""
        path = self._cache_path()
        if path.is_file():
            self.index_from_cache = True
            return json.loads(path.read_text())
        index = self.build_index()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(index))
        os.replace(tmp, path)
        log.info("indexed %d samples of %s into %s", len(index), self.root, path)
        return index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> Sample:
        record = self.index[i]
        sample = self.load_sample(record)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.validate:
            name = f"{type(self).__name__}(root={self.root}, split={self.split!r})[{i}]"
            validate_sample(sample, source=f"{name} {record.get('file', '')}".strip())
        return sample
