"""Atomic checkpoint files and directories, rotation of the last K, and model-weight loading."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file

CKPT_PREFIX = "step_"


def atomic_save(obj: object, path: str | Path) -> Path:
    """`torch.save` to a temporary file in the same folder, then rename it onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def publish_dir(tmp_dir: Path, final_dir: Path) -> None:
    """Atomically move a fully written checkpoint folder into place (replacing an older one)."""
    if final_dir.exists():
        old = final_dir.with_name(final_dir.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final_dir, old)
        os.replace(tmp_dir, final_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp_dir, final_dir)


def step_checkpoints(ckpt_root: Path) -> list[Path]:
    """Complete step checkpoints under `ckpt_root`, oldest first (temporary folders are ignored)."""
    if not ckpt_root.is_dir():
        return []
    dirs = [d for d in ckpt_root.iterdir() if d.is_dir() and d.name.startswith(CKPT_PREFIX)
            and d.name[len(CKPT_PREFIX):].isdigit() and (d / "trainer_state.pt").exists()]
    return sorted(dirs, key=lambda d: int(d.name[len(CKPT_PREFIX):]))


def rotate(ckpt_root: Path, keep_last: int) -> None:
    """Delete all but the newest `keep_last` step checkpoints."""
    for old in step_checkpoints(ckpt_root)[:-keep_last] if keep_last > 0 else []:
        shutil.rmtree(old, ignore_errors=True)


def load_model_weights(model: torch.nn.Module, path: str | Path, strict: bool = True) -> torch.nn.Module:
    """Load weights from a checkpoint folder (model.safetensors), a .safetensors or a .pt state dict."""
    path = Path(path)
    if path.is_dir():
        candidates = [path / "model.safetensors", path / "pytorch_model.bin", path / "model.pt"]
        found = [c for c in candidates if c.exists()]
        if not found:
            raise FileNotFoundError(f"checkpoint folder {path} has none of "
                                    f"{[c.name for c in candidates]}; pass a step_*/best/final folder")
        path = found[0]
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist; set ckpt=<run_dir>/checkpoints/final")
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = state.get("model", state) if isinstance(state, dict) else state
    except Exception as err:  # truncated file, not a checkpoint, or a pickle that would run code
        raise ValueError(f"cannot read checkpoint {path}: {type(err).__name__}: {str(err).splitlines()[0]} "
                         "(truncated or not a weights file; pass a step_*/best/final folder)") from err
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {path} holds a {type(state).__name__}, not a state dict")
    try:
        model.load_state_dict(state, strict=strict)
    except RuntimeError as err:
        raise ValueError(f"checkpoint {path} does not fit {type(model).__name__} (was it trained with another "
                         f"model config?): {err}") from err
    return model
