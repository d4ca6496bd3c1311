"""Write a state dict as sharded safetensors laid out as transformers / GR00T write them (written by hand from
the documented format: `model-0000k-of-0000n.safetensors` + `model.safetensors.index.json` with a weight_map)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file


def write_sharded(folder: Path, state: dict[str, torch.Tensor], shards: int = 3) -> None:
    """Round-robin the sorted tensor names over `shards` files and write the index json beside them."""
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(state)
    weight_map = {}
    for k in range(shards):
        file = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: state[n].contiguous() for n in names[k::shards]}
        save_file(part, str(folder / file))
        weight_map.update(dict.fromkeys(part, file))
    index = {"metadata": {"total_size": sum(v.numel() * v.element_size() for v in state.values())},
             "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
