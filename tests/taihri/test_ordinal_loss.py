"""Ordinal bin loss: plain cross-entropy as sigma -> 0; a near-miss bin costs less than a far one; SFT with it."""

from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from taihri.ordinal_loss import IGNORE_INDEX, ordinal_bin_loss
from taihri.trl_training import run_sft
from taihri.vlm import build_model_and_processor
from tests.taihri.test_trl_steps import _cfg, _model_cfg, _rows

VOCAB, BINS = 40, list(range(10, 40))


def test_small_sigma_is_cross_entropy() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 6, VOCAB)
    labels = torch.tensor([[IGNORE_INDEX, 3, 12, 25, 39, 5], [IGNORE_INDEX, IGNORE_INDEX, 11, 2, 30, IGNORE_INDEX]])
    got = ordinal_bin_loss(BINS, VOCAB, 1e-3)(SimpleNamespace(logits=logits), labels)
    want = F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), labels[:, 1:].reshape(-1), ignore_index=IGNORE_INDEX)
    torch.testing.assert_close(got, want)


def test_near_bin_beats_far_bin() -> None:
    loss = ordinal_bin_loss(BINS, VOCAB, 2.0)
    labels = torch.tensor([[IGNORE_INDEX, 20]])

    def peaked_at(token: int) -> torch.Tensor:
        logits = torch.zeros(1, 2, VOCAB)
        logits[0, 0, token] = 8.0
        return loss(SimpleNamespace(logits=logits), labels)

    assert peaked_at(20) < peaked_at(21) < peaked_at(26)


def test_sft_with_ordinal_targets_trains(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model_cfg = _model_cfg()
    model_cfg.sft.bin_label_sigma = 15.0
    model, processor = build_model_and_processor(model_cfg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model, logs = run_sft(model, processor, _rows(1) * 2, _cfg(10, 1e-2, 2), model_cfg, tmp_path)
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert logs["sft_loss_last"] < 0.7 * logs["sft_loss_first"]
