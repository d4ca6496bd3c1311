"""Self-describing model folders: config.json + model.safetensors + README.md model card.

Built on huggingface_hub.PyTorchModelHubMixin (model card, push_to_hub); loading is strict and decodes
nested config dataclasses by their type hints, so a folder reloads with no experiment config at all.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import tempfile
import types
import typing
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Self

import torch
from huggingface_hub import ModelCard, ModelCardData, PyTorchModelHubMixin
from safetensors.torch import save_file

from common.models.loading import load_pretrained

CONFIG_NAME, WEIGHTS_NAME, CARD_NAME = "config.json", "model.safetensors", "README.md"
FORMAT_VERSION = 1
"""Bump when the folder layout changes, and migrate older folders in `_migrate`."""
ALLOWED_PACKAGES = ("common", "taihri", "kinematics", "contact", "eggflow", "tiger", "posellm")


@dataclass
class ModelCardInfo:
    """What the generated README.md says: paper, data, metrics, whether stand-in body models were used."""

    paper: str = ""
    data: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    standin_body_models: bool | None = None
    notes: str = ""


def _encode(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def decode_value(hint: Any, value: Any, where: str) -> Any:
    """Rebuild `value` (json) as type `hint`: nested dataclasses strictly (unknown keys are an error)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        dataclass_options = [a for a in options if is_dataclass(a)]
        return decode_value(dataclass_options[0], value, where) if dataclass_options and isinstance(value, dict) \
            else value
    if is_dataclass(hint) and isinstance(value, dict):
        hints = typing.get_type_hints(hint)
        names = {f.name for f in dataclasses.fields(hint)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ValueError(f"{where}: keys {unknown} are not fields of {hint.__name__}; the folder was saved by "
                             "a different version of the code (migrate it or use that version)")
        return hint(**{k: decode_value(hints[k], v, f"{where}.{k}") for k, v in value.items()})
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    return value


class ModelFolderMixin(PyTorchModelHubMixin, library_name="embodied-human-perception"):
    """Mix into an nn.Module whose __init__ takes jsonable values or dataclasses (annotated)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        instance = super().__new__(cls, *args, **kwargs)
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
        bound.apply_defaults()
        object.__setattr__(instance, "_folder_init_args", dict(list(bound.arguments.items())[1:]))
        return instance

    def _init_kwargs(self) -> dict[str, Any]:
        """The __init__ arguments this model was built with, as json (dataclasses as dicts)."""
        encoded = {k: _encode(v) for k, v in self._folder_init_args.items()}
        for name, value in encoded.items():
            try:
                json.dumps(value)
            except TypeError as err:
                raise TypeError(f"{type(self).__name__} cannot describe itself: __init__ argument {name!r} is not "
                                f"jsonable ({err}); pass configs (dataclasses, numbers, lists), not objects") from err
        return encoded

    def save_pretrained(self, save_directory: str | Path, *, card: ModelCardInfo | None = None,
                        **kwargs: Any) -> None:
        """Write config.json (class, format version, init arguments), model.safetensors and README.md."""
        folder = Path(save_directory)
        folder.mkdir(parents=True, exist_ok=True)
        config = {"model_class": f"{type(self).__module__}.{type(self).__qualname__}",
                  "format_version": FORMAT_VERSION, "init": self._init_kwargs()}
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        _atomic_write(folder / WEIGHTS_NAME, lambda tmp: save_file(state, tmp, metadata={"format": "pt"}))
        _atomic_write(folder / CONFIG_NAME, lambda tmp: Path(tmp).write_text(json.dumps(config, indent=2)))
        text = str(self.model_card(card or ModelCardInfo(), config))
        _atomic_write(folder / CARD_NAME, lambda tmp: Path(tmp).write_text(text))

    def model_card(self, info: ModelCardInfo, config: dict) -> ModelCard:
        """The README.md of a model folder."""
        data = ModelCardData(library_name="embodied-human-perception", tags=[t for t in (info.paper,) if t])
        n_params = sum(p.numel() for p in self.parameters())
        lines = [f"# {type(self).__name__}", "", f"- paper: {info.paper or 'n/a'}", f"- data: {info.data or 'n/a'}",
                 f"- parameters: {n_params:,}"]
        if info.standin_body_models is not None:
            lines.append("- body models: " + ("generated STAND-INS (not SMPL/MANO; numbers not comparable)"
                                              if info.standin_body_models else "licensed SMPL/MANO files"))
        if info.metrics:
            lines += ["", "| metric | value |", "|---|---|", *[f"| {k} | {v:.6g} |" for k, v in info.metrics.items()]]
        if info.notes:
            lines += ["", info.notes]
        lines += ["", "Load with:", "", "```python", "from common.models import load_model_folder",
                  "model = load_model_folder('<this folder>')", "```", "",
                  f"Class `{config['model_class']}`, folder format {config['format_version']}."]
        return ModelCard(f"---\n{data.to_yaml()}\n---\n" + "\n".join(lines) + "\n")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, *, map_location: str | torch.device = "cpu",
                        **overrides: Any) -> Self:
        """Rebuild from a folder's config.json and load its weights strictly (no experiment config needed)."""
        folder = Path(pretrained_model_name_or_path)
        config = read_folder_config(folder)
        expected = f"{cls.__module__}.{cls.__qualname__}"
        if config["model_class"] != expected:
            raise TypeError(f"{folder / CONFIG_NAME} holds a {config['model_class']}, not a {expected}; use "
                            "common.models.load_model_folder to load whatever class it is")
        hints = typing.get_type_hints(cls.__init__)
        kwargs = {k: decode_value(hints.get(k, Any), v, f"{folder / CONFIG_NAME}:init.{k}")
                  for k, v in config["init"].items()}
        model = cls(**{**kwargs, **overrides})
        load_pretrained(model, folder / WEIGHTS_NAME)
        return model.to(map_location).eval()


def _atomic_write(path: Path, write: typing.Callable[[str], object]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_folder_config(folder: str | Path) -> dict[str, Any]:
    """config.json of a model folder, checked for the fields and version this code reads."""
    path = Path(folder) / CONFIG_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: `ckpt` must be a model folder written by save_pretrained "
                                "(e.g. <run_dir>/checkpoints/final)")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); the folder is corrupt, re-save it") from err
    for key in ("model_class", "format_version", "init"):
        if key not in config:
            raise ValueError(f"{path} lacks {key!r}: not a project model folder")
    if config["format_version"] > FORMAT_VERSION:
        raise ValueError(f"{path} has format {config['format_version']}, newer than this code's {FORMAT_VERSION}; "
                         "update the code")
    return config


def load_model_folder(folder: str | Path, map_location: str | torch.device = "cpu") -> torch.nn.Module:
    """Load any project model from its folder alone (the class is read from config.json)."""
    config = read_folder_config(folder)
    module_name, _, cls_name = config["model_class"].rpartition(".")
    if module_name.split(".")[0] not in ALLOWED_PACKAGES:
        raise ValueError(f"{Path(folder) / CONFIG_NAME}: model_class {config['model_class']!r} is not in this "
                         f"project's packages {ALLOWED_PACKAGES}")
    cls = getattr(importlib.import_module(module_name), cls_name)
    if not (isinstance(cls, type) and issubclass(cls, ModelFolderMixin)):
        raise TypeError(f"{config['model_class']} is not a ModelFolderMixin model")
    return cls.from_pretrained(folder, map_location=map_location)
