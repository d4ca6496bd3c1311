"""On-disk caches: atomic writes, keys hashed from everything that determines the content, rebuild if corrupt.

Layout: `<paths.cache_dir>/<namespace>/<key><suffix>`. A reader that fails for any reason (truncated
file from a killed writer, old format, disk error) logs a warning naming the file, deletes it and rebuilds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

log = logging.getLogger(__name__)
T = TypeVar("T")


def _canonical(obj: Any) -> Any:
    """A JSON-serialisable, order-independent view of `obj` (dataclasses, mappings, paths, arrays, ...)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__dataclass__": type(obj).__name__, **_canonical(dataclasses.asdict(obj))}
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, np.ndarray | torch.Tensor):
        arr = obj.detach().cpu().numpy() if isinstance(obj, torch.Tensor) else obj
        return {"shape": list(arr.shape), "dtype": str(arr.dtype),
                "sha256": hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(obj, DictConfig | ListConfig):
            return _canonical(OmegaConf.to_container(obj, resolve=True))
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    raise TypeError(f"cache_key cannot hash a {type(obj).__name__}; pass plain values, dataclasses or paths")


def cache_key(*parts: Any) -> str:
    """First 20 hex digits of the sha256 of the canonical JSON of `parts` (include a format version)."""
    text = json.dumps(_canonical(list(parts)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cache_dir_from(cfg: Any) -> Path:
    """`cfg.paths.cache_dir` of a run config (the only place caches go)."""
    from omegaconf import OmegaConf

    value = OmegaConf.select(cfg, "paths.cache_dir") if not isinstance(cfg, Mapping) else \
        (cfg.get("paths") or {}).get("cache_dir")
    if not value:
        raise ValueError("paths.cache_dir is not set: set paths.cache_dir=<folder> or EHP_CACHE_DIR")
    return Path(value)


def cache_path(cache_dir: str | Path, namespace: str, key: str, suffix: str) -> Path:
    """`<cache_dir>/<namespace>/<key><suffix>`."""
    return Path(cache_dir) / namespace / f"{key}{suffix}"


def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call `writer(tmp)` on a temporary file next to `path`, fsync it, then rename it onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _stamped(stamp: Path, content: str) -> bool:
    return stamp.is_file() and stamp.read_text() == content


def cached_dir(path: str | Path, write: Callable[[Path], None], marker: str, content: str) -> Path:
    """Folder `path` whose file `marker` holds `content`; else `write(tmp)` into a temporary sibling folder, add
    the marker last and rename it onto `path`, so readers and concurrent writers (parallel runs on one cache)
    only ever see a finished folder: the first finished copy wins, the others are discarded.

    A non-empty `path` without the marker is not ours and raises; one with another `content` (an older set of
    the same writer) is replaced.
    """
    path = Path(path)
    stamp = path / marker
    if _stamped(stamp, content):
        return path
    if path.is_dir() and any(path.iterdir()) and not stamp.is_file():
        raise FileExistsError(f"{path} is not empty and holds no {marker}: choose an empty folder (or null for "
                              "the cache)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        write(tmp)
        (tmp / marker).write_text(content)
        if _stamped(stamp, content):
            return path
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            with contextlib.suppress(FileNotFoundError):      # another writer moved it away first
                os.replace(path, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, path)
        except OSError:                            # a concurrent writer published first
            if not _stamped(stamp, content):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def cached(path: str | Path, build: Callable[[], T], save: Callable[[T, Path], None],
           load: Callable[[Path], T]) -> T:
    """Load `path`; if missing build and save it atomically; if unreadable warn (naming it) and rebuild."""
    path = Path(path)
    if path.exists():
        try:
            return load(path)
        except Exception as err:  # any failure to read a cache: rebuild it
            log.warning("cache file %s is unreadable (%s: %s); deleting and rebuilding it",
                        path, type(err).__name__, err)
            path.unlink(missing_ok=True)
    value = build()
    atomic_write(path, lambda tmp: save(value, tmp))
    return value


def _save_tensors(value: dict[str, torch.Tensor], tmp: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in value.items()}, str(tmp))


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


def cached_tensors(path: str | Path, build: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """A dict of tensors cached as safetensors."""
    return cached(path, build, _save_tensors, _load_tensors)


def _save_npz(value: dict[str, np.ndarray], tmp: Path) -> None:
    with open(tmp, "wb") as fh:
        np.savez(fh, **value)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def cached_npz(path: str | Path, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """A dict of numpy arrays cached as .npz (no pickles)."""
    return cached(path, build, _save_npz, _load_npz)


def cached_json(path: str | Path, build: Callable[[], Any]) -> Any:
    """A JSON-serialisable value cached as strict JSON."""
    return cached(path, build, lambda v, tmp: tmp.write_text(json.dumps(v, allow_nan=False)),
                  lambda p: json.loads(p.read_text()))


def cached_torch(path: str | Path, build: Callable[[], T]) -> T:
    """Tensors / containers of tensors cached with torch.save, read back with `weights_only=True`."""
    return cached(path, build, lambda v, tmp: torch.save(v, tmp),
                  lambda p: torch.load(p, map_location="cpu", weights_only=True))
