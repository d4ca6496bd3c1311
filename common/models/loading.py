"""Strict, reported loading of pretrained weights: files, folders, sharded safetensors, key prefixes.

Hand-written because neither `load_state_dict(strict=...)` nor transformers' loader covers plain
`nn.Module`s initialised from a slice (prefix) of a foreign, possibly sharded checkpoint with declared gaps.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open

log = logging.getLogger(__name__)

FOLDER_FILES = ("model.safetensors", "model.safetensors.index.json", "diffusion_pytorch_model.safetensors",
                "pytorch_model.bin", "pytorch_model.bin.index.json")
"""Weight files looked for, in this order, when a folder is given."""
_SHOWN = 12


class WeightLoadError(RuntimeError):
    """A checkpoint does not fit the module: names the file and the offending tensors."""


@dataclass
class LoadReport:
    """What a load did: tensor names loaded, missing (module has, file lacks), unexpected, shape-mismatched."""

    source: str
    prefix: str = ""
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every tensor of the module was loaded and the file had nothing else."""
        return not (self.missing or self.unexpected or self.mismatched)

    def summary(self) -> str:
        """One paragraph naming counts and (the first) tensor names of every category."""
        where = f"{self.source}" + (f" (prefix {self.prefix!r} stripped)" if self.prefix else "")
        total = len(self.loaded) + len(self.missing) + len(self.mismatched)
        parts = [f"{where}: loaded {len(self.loaded)} of {total} module tensors"]
        for name, items in (("missing", self.missing), ("unexpected", self.unexpected)):
            if items:
                parts.append(f"{len(items)} {name}: {_names(items)}")
        if self.mismatched:
            shown = ", ".join(f"{k} (file {tuple(f)} vs module {tuple(m)})" for k, f, m in self.mismatched[:_SHOWN])
            parts.append(f"{len(self.mismatched)} shape-mismatched: {shown}")
        return "; ".join(parts)


def _names(items: Sequence[str]) -> str:
    more = f" ... (+{len(items) - _SHOWN} more)" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def resolve_weight_file(source: str | Path) -> Path:
    """The weight file (or index json) a path names: a file as is, a folder through FOLDER_FILES."""
    path = Path(source)
    if path.is_dir():
        for name in FOLDER_FILES:
            if (path / name).exists():
                return path / name
        raise FileNotFoundError(f"{path} holds none of {list(FOLDER_FILES)}: point the config at a weights file "
                                "or at a folder saved with save_pretrained")
    if not path.exists():
        raise FileNotFoundError(f"pretrained weights {path} do not exist: fix the path in the config")
    return path


def _read_safetensors(path: Path, prefix: str) -> dict[str, torch.Tensor]:
    """Only the tensors under `prefix` are read (so a head can be taken from a multi-GB model)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}  # noqa: SIM118
    except Exception as err:
        raise WeightLoadError(f"{path} is not a readable safetensors file ({err}); re-download or re-save it") from err


def _read_index(path: Path, prefix: str) -> dict[str, torch.Tensor]:
    """A sharded checkpoint: read the shards the index json names for keys under `prefix`."""
    try:
        weight_map = json.loads(path.read_text())["weight_map"]
    except (json.JSONDecodeError, KeyError) as err:
        raise WeightLoadError(f"{path} is not a shard index (needs a 'weight_map' object): {err}") from err
    shards = sorted({shard for key, shard in weight_map.items() if key.startswith(prefix)})
    state: dict[str, torch.Tensor] = {}
    for shard in shards:
        shard_path = path.parent / shard
        if not shard_path.exists():
            raise FileNotFoundError(f"shard {shard_path} named by {path} is missing: download every shard")
        part = _read_safetensors(shard_path, prefix) if shard.endswith(".safetensors") else _read_pickle(
            shard_path, None)
        state.update({k: v for k, v in part.items() if k.startswith(prefix) and weight_map.get(k) == shard})
    return state


def _read_pickle(path: Path, container_key: str | None) -> dict[str, torch.Tensor]:
    """A torch.save'd state dict, loaded with weights_only=True (a crafted pickle cannot run code)."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise WeightLoadError(f"{path} could not be read as a weights-only torch checkpoint ({err}); convert it "
                              "to safetensors or re-save its state_dict") from err
    if container_key is not None:
        if not isinstance(obj, dict) or container_key not in obj:
            keys = list(obj)[:_SHOWN] if isinstance(obj, dict) else type(obj).__name__
            raise WeightLoadError(f"{path} has no entry {container_key!r} (container_key); top level: {keys}")
        obj = obj[container_key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        top = list(obj)[:_SHOWN] if isinstance(obj, dict) else type(obj).__name__
        raise WeightLoadError(f"{path} is not a flat state dict (top level: {top}); set container_key to the "
                              "entry that holds the tensors")
    return obj


def read_state_dict(source: str | Path, prefix: str = "", container_key: str | None = None) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint under `prefix`, with the prefix stripped from their names."""
    path = resolve_weight_file(source)
    if path.name.endswith(".index.json"):
        state = _read_index(path, prefix)
    elif path.suffix == ".safetensors":
        state = _read_safetensors(path, prefix)
    else:
        state = {k: v for k, v in _read_pickle(path, container_key).items() if k.startswith(prefix)}
    if prefix and not state:
        raise WeightLoadError(f"{path} has no tensor whose name starts with {prefix!r}: check the prefix "
                              f"(first keys of the file: {_names(_first_keys(path))})")
    return {k[len(prefix):]: v for k, v in state.items()}


def _first_keys(path: Path) -> list[str]:
    if path.name.endswith(".index.json"):
        return sorted(json.loads(path.read_text())["weight_map"])[:_SHOWN]
    if path.suffix == ".safetensors":
        with safe_open(str(path), framework="pt") as f:
            return sorted(f.keys())[:_SHOWN]
    return []


def load_pretrained(module: torch.nn.Module, source: str | Path, *, prefix: str = "",
                    allow_missing: Sequence[str] = (), allow_unexpected: Sequence[str] = (),
                    container_key: str | None = None) -> LoadReport:
    """Load `source` into `module` strictly; gaps pass only when they match the allow_* glob patterns.

    Shape mismatches always fail. The report is logged (WARNING when anything was left out) and returned.
    """
    state = read_state_dict(source, prefix, container_key)
    own = module.state_dict()
    report = LoadReport(source=str(source), prefix=prefix)
    for name, tensor in own.items():
        if name not in state:
            report.missing.append(name)
        elif tuple(state[name].shape) != tuple(tensor.shape):
            report.mismatched.append((name, tuple(state[name].shape), tuple(tensor.shape)))
        else:
            report.loaded.append(name)
    report.unexpected = sorted(set(state) - set(own))
    bad_missing = [n for n in report.missing if not _matches(n, allow_missing)]
    bad_unexpected = [n for n in report.unexpected if not _matches(n, allow_unexpected)]
    if report.mismatched or bad_missing or bad_unexpected:
        fix = []
        if bad_missing:
            fix.append(f"not allowed missing: {_names(bad_missing)} (declare deliberate gaps in allow_missing)")
        if bad_unexpected:
            fix.append(f"not allowed unexpected: {_names(bad_unexpected)} (check `prefix`, or allow_unexpected)")
        raise WeightLoadError(f"weights do not fit {type(module).__name__}: {report.summary()}. " + "; ".join(fix))
    module.load_state_dict({k: state[k] for k in report.loaded}, strict=False)
    log.log(logging.INFO if report.complete else logging.WARNING, "pretrained weights %s", report.summary())
    return report


@dataclass
class PretrainedInit:
    """Config block for initialising a module from pretrained weights (path: file or folder; None = random)."""

    path: str | None = None
    prefix: str = ""
    container_key: str | None = None
    allow_missing: list[str] = field(default_factory=list)
    allow_unexpected: list[str] = field(default_factory=list)

    def load_into(self, module: torch.nn.Module) -> LoadReport | None:
        """Load into `module` if a path is set (strictly, with this block's declared gaps)."""
        if self.path is None:
            return None
        return load_pretrained(module, self.path, prefix=self.prefix, allow_missing=self.allow_missing,
                               allow_unexpected=self.allow_unexpected, container_key=self.container_key)
