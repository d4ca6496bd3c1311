"""The checkpoint contract: strict reported loading (files, shards, prefixes) and self-describing folders."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from common.models import (
    ModelCardInfo,
    ModelFolderMixin,
    PretrainedInit,
    WeightLoadError,
    hub,
    load_model_folder,
    load_pretrained,
    read_state_dict,
)
from tests.common.sharded_checkpoint import write_sharded


class Head(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(4, 3)
        self.norm = torch.nn.LayerNorm(3)


def _full_model_state(head: Head, prefix: str) -> dict[str, torch.Tensor]:
    other = {"backbone.layer.weight": torch.randn(5, 5), "backbone.layer.bias": torch.randn(5)}
    return {**other, **{prefix + k: torch.randn_like(v) for k, v in head.state_dict().items()}}


def test_sharded_checkpoint_with_prefix_loads_fully(tmp_path: Path) -> None:
    head = Head()
    state = _full_model_state(head, "model.action_head.")
    write_sharded(tmp_path, state, shards=3)
    report = load_pretrained(head, tmp_path, prefix="model.action_head.")
    assert report.complete and len(report.loaded) == 4
    for k, v in head.state_dict().items():
        assert torch.equal(v, state["model.action_head." + k])


def test_missing_tensor_fails_naming_it(tmp_path: Path) -> None:
    head = Head()
    state = {k: v for k, v in head.state_dict().items() if k != "norm.bias"}
    save_file(state, str(tmp_path / "w.safetensors"))
    with pytest.raises(WeightLoadError, match=r"norm\.bias"):
        load_pretrained(Head(), tmp_path / "w.safetensors")


def test_allow_missing_loads_and_reports(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = Head()
    save_file({k: v for k, v in source.state_dict().items() if not k.startswith("norm.")},
              str(tmp_path / "w.safetensors"))
    target = Head()
    with caplog.at_level(logging.WARNING):
        report = PretrainedInit(path=str(tmp_path / "w.safetensors"), allow_missing=["norm.*"]).load_into(target)
    assert report is not None and sorted(report.missing) == ["norm.bias", "norm.weight"]
    assert torch.equal(target.proj.weight, source.proj.weight)
    assert "norm.weight" in caplog.text and "2 missing" in caplog.text


def test_wrong_shape_fails_even_when_allowed(tmp_path: Path) -> None:
    state = Head().state_dict()
    state["proj.weight"] = torch.randn(3, 5)
    save_file(state, str(tmp_path / "w.safetensors"))
    with pytest.raises(WeightLoadError, match=r"proj\.weight \(file \(3, 5\) vs module \(3, 4\)\)"):
        load_pretrained(Head(), tmp_path / "w.safetensors", allow_missing=["*"])


def test_unexpected_tensor_fails_unless_allowed(tmp_path: Path) -> None:
    state = {**Head().state_dict(), "future_tokens.weight": torch.randn(2, 3)}
    torch.save(state, tmp_path / "w.pt")
    with pytest.raises(WeightLoadError, match=r"future_tokens\.weight"):
        load_pretrained(Head(), tmp_path / "w.pt")
    report = load_pretrained(Head(), tmp_path / "w.pt", allow_unexpected=["future_tokens.*"])
    assert report.unexpected == ["future_tokens.weight"]


def test_prefix_that_matches_nothing_names_the_keys(tmp_path: Path) -> None:
    save_file(Head().state_dict(), str(tmp_path / "model.safetensors"))
    with pytest.raises(WeightLoadError, match=r"no tensor whose name starts with 'action_head\.'.*proj\.bias"):
        read_state_dict(tmp_path, prefix="action_head.")


class _Payload:
    def __reduce__(self):  # a crafted pickle that would run code on a weights_only=False load
        return (print, ("pwned",))


def test_crafted_pickle_is_refused(tmp_path: Path) -> None:
    torch.save({"proj.weight": _Payload()}, tmp_path / "evil.pt")
    with pytest.raises(WeightLoadError, match="weights-only"):
        load_pretrained(Head(), tmp_path / "evil.pt")


def test_missing_shard_names_the_file(tmp_path: Path) -> None:
    head = Head()
    write_sharded(tmp_path, _full_model_state(head, "action_head."), shards=2)
    (tmp_path / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"model-00002-of-00002\.safetensors"):
        load_pretrained(head, tmp_path, prefix="action_head.")


@dataclass
class _Inner:
    width: int = 4
    names: list[str] = field(default_factory=lambda: ["a"])


@dataclass
class _Config:
    depth: int = 2
    inner: _Inner = field(default_factory=_Inner)
    scale: float | None = None


class TinyNet(torch.nn.Module, ModelFolderMixin):
    def __init__(self, config: _Config, out_dim: int = 2) -> None:
        super().__init__()
        self.config = config
        self.layers = torch.nn.Sequential(*[torch.nn.Linear(config.inner.width, config.inner.width)
                                            for _ in range(config.depth)])
        self.out = torch.nn.Linear(config.inner.width, out_dim)
        self.register_buffer("stat", torch.arange(3.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.layers(x))


def test_model_folder_round_trip_is_bit_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "ALLOWED_PACKAGES", (*hub.ALLOWED_PACKAGES, "tests"))
    torch.manual_seed(0)
    model = TinyNet(_Config(depth=3, inner=_Inner(width=5, names=["x", "y"]), scale=0.5), out_dim=7)
    model.save_pretrained(tmp_path / "m", card=ModelCardInfo(paper="test", data="none", metrics={"loss": 0.25},
                                                             standin_body_models=True))
    for loaded in (TinyNet.from_pretrained(tmp_path / "m"), load_model_folder(tmp_path / "m")):
        assert loaded.config == model.config and isinstance(loaded.config.inner, _Inner)
        for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
            assert torch.equal(a, b), k
        x = torch.randn(2, 5)
        assert torch.equal(model.eval()(x), loaded(x))
    card = (tmp_path / "m" / "README.md").read_text()
    assert "STAND-INS" in card and "| loss | 0.25 |" in card


def test_folder_with_unknown_config_key_fails(tmp_path: Path) -> None:
    TinyNet(_Config()).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["init"]["config"]["inner"]["colour"] = "red"
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"init\.config\.inner: keys \['colour'\]"):
        TinyNet.from_pretrained(tmp_path)


def test_folder_without_config_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="save_pretrained"):
        load_model_folder(tmp_path)
