"""The paper configuration: EgoVideo + GR00T N1.5 at their real sizes (meta device), required paths, and the
model folder contract (a committed tiny folder still loads and forecasts the same)."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from common.models import load_model_folder
from eggflow.api import parse_configs
from eggflow.config import HAND_DIM, STATE_DIM
from eggflow.model import EggFlowModel
from tests.eggflow.test_egovideo import egovideo_shapes
from tests.eggflow.test_flow_head import groot_shapes

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
FOLDER = Path(__file__).resolve().parent / "data" / "tiny_model"
BERT_LARGE_UNCASED = 335_141_888      # BertModel("bert-large-uncased") with pooler, the published count


def compose_experiment(name: str, overrides: list[str]):
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        return compose("train", overrides=[f"experiment=eggflow/{name}", *overrides])


def test_paper_config_fails_at_start_up_naming_the_unset_paths():
    unset = r"model\.encoder\.weights\.path.*model\.encoder\.tokenizer.*model\.groot\.path"
    with pytest.raises(ValueError, match=unset):
        parse_configs(compose_experiment("egoexo4d", []))


def test_paper_model_has_egovideo_and_groot_n15_sizes(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hand"]))
    cfg = compose_experiment("egoexo4d", [f"model.encoder.weights.path={tmp_path}/EgoVideo_model.pth",
                                          f"model.encoder.tokenizer={tmp_path}", f"model.groot.path={tmp_path}"])
    model_cfg, _ = parse_configs(cfg)
    with torch.device("meta"):
        model = EggFlowModel(model_cfg)
    encoder = dict(model.backbone.egovideo.model.named_parameters())
    expected = {k: math.prod(s) for k, s in egovideo_shapes(model_cfg.encoder).items()}
    assert {k: v.numel() for k, v in encoder.items()} == expected                # every EgoVideo tensor, exact
    vision = sum(v for k, v in expected.items() if k.startswith("visual.blocks."))
    assert 1.00e9 < vision < 1.02e9                                                # "ViT-1B" blocks
    text = [k for k in expected if k.startswith("textual.") and ".crossattention." not in k]
    assert sum(expected[k] for k in text) == BERT_LARGE_UNCASED
    head = dict(model.action_head.named_parameters())
    groot = {k[len("action_head."):]: math.prod(s) for k, s in groot_shapes(model_cfg.head).items()}
    groot.pop("future_tokens.weight")                                               # dropped by EggHand
    adapters = {"state_proj_in.weight": 64 * STATE_DIM, "state_proj_in.bias": 64,
                "action_proj_in.weight": 32 * HAND_DIM, "action_proj_in.bias": 32,
                "action_proj_out.weight": HAND_DIM * 32, "action_proj_out.bias": HAND_DIM}
    assert {k: v.numel() for k, v in head.items()} == {**groot, **adapters}
    assert head["position_embedding.weight"].shape == (1024, 1536)
    assert model.action_head.model.gradient_checkpointing


def test_committed_model_folder_loads_and_forecasts_the_same():
    """A folder saved by an earlier version of the code (tests/eggflow/data/tiny_model) must keep loading."""
    model = load_model_folder(FOLDER)
    assert isinstance(model, EggFlowModel)
    with np.load(FOLDER / "expected.npz") as saved:
        batch = {k: torch.from_numpy(saved[k]) for k in saved.files if k not in ("forecast", "text")}
        batch["text"] = [str(t) for t in saved["text"]]
        forecast = model.forecast(batch, torch.Generator().manual_seed(0))
        np.testing.assert_allclose(forecast.numpy(), saved["forecast"], atol=1e-5)
