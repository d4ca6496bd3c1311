"""Fixtures for running eggflow's experiment configs at debug size (tests/test_experiments_smoke.py convention).

The Ego-Exo4D experiments get real-format data (official annotation jsons -> scripts/prepare_egoexo4d.py ->
LeRobot v2.1 with videos), a tiny EgoVideo checkpoint in the official key layout, a BERT vocab folder and a tiny
GR00T N1.5 checkpoint in the official sharded layout; only paths, sizes and step counts are overridden.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from eggflow.config import EncoderConfig, HeadConfig

ENCODER = {"image_size": 28, "patch_size": 14, "vision_width": 16, "vision_depth": 1, "vision_heads": 2,
           "vision_mlp_dim": 24, "attn_pool_heads": 2, "clip_embed_dim": 8, "clip_teacher_embed_dim": 8,
           "clip_teacher_final_dim": 8, "clip_return_layer": 1, "text_width": 16, "text_layers": 2, "text_heads": 2,
           "text_intermediate": 32, "fusion_layer": 1, "vocab_size": 64, "max_position_embeddings": 32,
           "embed_dim": 8, "max_text_len": 16}
HEAD = {"backbone_embedding_dim": 16, "input_embedding_dim": 16, "hidden_size": 16, "num_layers": 2,
        "num_attention_heads": 2, "vl_layers": 1, "vl_heads": 2, "max_state_dim": 64, "max_action_dim": 32,
        "max_num_embodiments": 32, "max_seq_len": 32, "num_inference_timesteps": 2}
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "open", "the", "test", "kit", "and", "remove", "components",
         "carefully", ".", "covid", "-", "19", "rapid", "antigen"]


def write_paper_fixtures(tmp: Path) -> dict[str, str]:
    """Ego-Exo4D LeRobot root, EgoVideo checkpoint, tokenizer folder and sharded GR00T folder under `tmp`."""
    from tests.common.sharded_checkpoint import write_sharded
    from tests.eggflow.test_egoexo4d_loader import prepare, write_egoexo
    from tests.eggflow.test_egovideo import egovideo_state_dict
    from tests.eggflow.test_flow_head import groot_state_dict

    root = prepare([*write_egoexo(tmp / "egoexo"), "--out", str(tmp / "egoexo4d_lerobot")])
    encoder = dataclasses.replace(EncoderConfig(), **ENCODER)
    torch.save(egovideo_state_dict(encoder), tmp / "EgoVideo_model.pth")
    (tmp / "bert").mkdir(exist_ok=True)
    (tmp / "bert" / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    write_sharded(tmp / "GR00T-N1.5-3B", groot_state_dict(dataclasses.replace(HeadConfig(), **HEAD)))
    return {"root": str(root), "egovideo": str(tmp / "EgoVideo_model.pth"), "tokenizer": str(tmp / "bert"),
            "groot": str(tmp / "GR00T-N1.5-3B")}


def smoke_overrides(experiment: str, tmp: Path) -> list[str]:
    """Overrides (paths, sizes, steps) that run `experiment` at debug size; writes what it needs under `tmp`."""
    if not experiment.startswith("eggflow/egoexo4d"):
        return []
    paths = write_paper_fixtures(Path(tmp))
    sizes = [f"model.encoder.{k}={v}" for k, v in ENCODER.items()] + [f"model.head.{k}={v}" for k, v in HEAD.items()]
    groot = [] if experiment.endswith("random_head") else [f"model.groot.path={paths['groot']}"]
    return [f"data.root={paths['root']}", "data.eval_split=train", f"model.encoder.weights.path={paths['egovideo']}",
            f"model.encoder.tokenizer={paths['tokenizer']}", *groot, *sizes, "trainer.max_steps=2",
            "trainer.batch_size=2", "trainer.grad_accum=1", "trainer.eval_batch_size=4", "trainer.ckpt_every=0",
            "trainer.progress_bar=false"]
